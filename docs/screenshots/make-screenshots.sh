#!/usr/bin/env bash
# Makes the README's screenshots of the call window: a three-person call,
# then the same call with the chat and statistics open. Needs a build
# (BUILDDIR, default build), xvfb-run and dbus-run-session; writes
# call.png and call-chat-stats.png next to this script.
#
# Usage: docs/screenshots/make-screenshots.sh [BUILDDIR]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-$here/../../build}" && pwd)
if [ -z "${PALAVER_SCREENSHOT_INNER:-}" ]; then
  PALAVER_SCREENSHOT_INNER=1 exec xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- "$0" "$build"
fi
server="$build/signaling-server/palaver-server"
palaver="$build/src/app/palaver"
port=$((20000 + RANDOM % 20000))
url="ws://127.0.0.1:$port/ws"
pids=()
trap 'kill "${pids[@]}" 2>/dev/null; wait 2>/dev/null' EXIT
"$server" --host 127.0.0.1 --port $port >/dev/null 2>&1 &
pids+=($!)
sleep 0.5
peer() {
  "$palaver" --headless --server "$url" --room team --peer "$1" --video-source "$2" \
    --audio-source "audiotestsrc is-live=true volume=0" --ice-address 127.0.0.1 \
    --stats-interval 0 --send-chat "$3" --duration 40 >/dev/null 2>&1 &
  pids+=($!)
}
export GSETTINGS_BACKEND=memory
log=$(mktemp)
"$palaver" --server "$url" --room team --peer you --ice-address 127.0.0.1 \
  --video-source "videotestsrc is-live=true pattern=ball motion=sweep background-color=0xff204a87" \
  --audio-source "audiotestsrc is-live=true volume=0" 2>"$log" &
pids+=($!)
sleep 1
peer alice "videotestsrc is-live=true pattern=smpte" "Hi! Can you see my bars?"
sleep 0.5
peer bob "videotestsrc is-live=true pattern=pinwheel" "Bob here, all good."
action() {
  gdbus call --session --dest org.palaver.Palaver --object-path /org/palaver/Palaver/window/1 \
    --method org.gtk.Actions.Activate "$@" "{}" >/dev/null
}
for _ in $(seq 100); do
  [ "$(grep -c 'video 640x480' "$log" || true)" -ge 2 ] && break
  sleep 0.2
done
sleep 10  # past the join and chat toasts
action screenshot "[<'$here/call.png'>]"
sleep 1
action chat "[]"
action stats "[]"
action send-chat "[<'Loud and clear, both of you.'>]"
sleep 5
action screenshot "[<'$here/call-chat-stats.png'>]"
sleep 1
grep -E 'screenshot:' "$log"
