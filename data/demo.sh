#!/usr/bin/env bash
# `make demo`: a local palaver-server and a call in room `demo` between two
# palaver peers: "you" (camera and microphone where present, test pattern
# and tone otherwise) and "test" (test pattern and tone).
#
# With a display both open a call window (one process, two windows); without
# one the call runs headless and prints live stats. Ctrl+C ends everything:
# each window hangs up (the others get a bye) before it closes.
#
# Usage: data/demo.sh BUILDDIR HOST PORT
set -u
build=${1:-build}
host=${2:-127.0.0.1}
port=${3:-8080}
server="$build/signaling-server/palaver-server"
palaver="$build/src/app/palaver"
url="ws://$host:$port/ws"

pids=()
# Ctrl+C reaches every process of the group, and the windows hang up by
# themselves (a second signal would make them quit at once): they get a
# moment to go before the rest is stopped. (The server's own Ctrl+C can be
# what brought us here, before the trap for it ran.)
cleanup() {
  trap - INT TERM EXIT
  for _ in $(seq 30); do
    alive=
    for pid in "${pids[@]:1}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ -z "$alive" ] && break
    sleep 0.1
  done
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null; done
  wait 2>/dev/null
  echo
  echo "demo: stopped."
  exit 0
}
trap cleanup INT TERM EXIT

log=$(mktemp -t palaver-demo-server.XXXXXX)
"$server" --host "$host" --port "$port" >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
  if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then break; fi
  if ! kill -0 "${pids[0]}" 2>/dev/null; then
    cat "$log" >&2
    echo "demo: palaver-server did not start (is port $port in use? try: make demo PORT=8090)" >&2
    exit 1
  fi
  sleep 0.1
done

echo "demo: room 'demo' on $url. Others can join with:"
echo "        $palaver --server $url --room demo"
echo "      or in a browser on this machine (the web client palaver-server serves):"
echo "        http://$host:$port/?room=demo"
if [ "$host" = 127.0.0.1 ] || [ "$host" = localhost ]; then
  echo "      (browsers on other machines: make demo HOST=0.0.0.0, and serve https with"
  echo "       --tls-cert/--tls-key, since browsers give camera access only to secure origins)"
fi
echo "demo: press Ctrl+C to stop."
echo

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "demo: two call windows open: 'you' (camera and microphone where present)"
  echo "      and 'test' (a test pattern and tone)."
  # One GTK process: the second `palaver` hands its window to the first and
  # exits at once (without a session bus each window is its own process).
  "$palaver" --server "$url" --room demo --peer you &
  pids+=($!)
  sleep 1
  "$palaver" --server "$url" --room demo --peer test \
    --video-source "videotestsrc is-live=true pattern=smpte" \
    --audio-source "audiotestsrc is-live=true wave=ticks volume=0.3" &
  second=$!
else
  echo "demo: no display found: the call runs headless; stats follow every 3 s."
  # "you" reports on stderr (joins, states, chat, stats); the summary line
  # that --headless prints on stdout at the end is not needed here.
  "$palaver" --headless --server "$url" --room demo --peer you --real-sinks \
    --stats-interval 3 --send-chat "hello from you" >/dev/null &
  pids+=($!)
  sleep 0.5
  "$palaver" --headless --server "$url" --room demo --peer test \
    --video-source "videotestsrc is-live=true pattern=smpte" \
    --audio-source "audiotestsrc is-live=true wave=ticks volume=0.3" \
    --stats-interval 0 --send-chat "hello from test" >/dev/null 2>&1 &
  pids+=($!)
  second=
fi

# Ends when any of them ends (closing the last window ends the demo), or on
# Ctrl+C.
while :; do
  if [ -n "$second" ] && ! kill -0 "$second" 2>/dev/null; then
    wait "$second"; rc=$?
    second=
    if [ $rc -ne 0 ]; then
      echo "demo: the second window could not start (exit $rc)" >&2
      exit 1
    fi
  fi
  for pid in "${pids[@]}"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "demo: a process ended (server log: $log)"
      exit 0
    fi
  done
  sleep 0.5
done
