#!/usr/bin/env python3
"""Makes the README's screenshot of the web client in a call with a native
peer, with the chat and the statistics open: web-call.png next to this
script.

It runs what the interop suite runs (tests/interop/interop.py): a network
namespace of its own, palaver-server serving web/,
`palaver --headless` as "desk" and Debian's Chromium as "ana", so it needs
root, a build and tests/interop/install.sh's drivers.

Usage: sudo docs/screenshots/make-web-screenshot.py [BUILDDIR]
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
build = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
os.environ["PALAVER_SERVER"] = os.path.join(build, "signaling-server", "palaver-server")
os.environ["PALAVER"] = os.path.join(build, "src", "app", "palaver")
sys.path.insert(0, os.path.join(ROOT, "tests", "interop"))

import interop  # noqa: E402


def main():
    logs = interop.LogDir("web-screenshot")
    cleanup = []
    try:
        ns = interop.Netns()
        cleanup.append(ns)
        server = interop.Server(ns, logs)
        cleanup.append(server)
        browsers = interop.Browsers(ns, logs)
        cleanup.append(browsers)
        desk = interop.Palaver(ns, logs, server.url, "team", "desk", "--send-chat",
                               "Hello from the desktop app!", "--duration", "60",
                               "--width", "640", "--height", "480",
                               video="videotestsrc is-live=true pattern=smpte")
        cleanup.append(desk)
        desk.wait_log(r"joined room \S+ as", 20, "joined")
        browsers.launch("chromium", "chromium")
        page = interop.Page(browsers, "chromium", server, "team", "ana")
        cleanup.append(page)
        page.wait_joined()
        interop.wait_until(lambda: (page.stats("desk")["video"]["framesDecoded"] or 0) > 60, 30,
                           "no video from desk in the page")
        page.send_chat("Hi! I'm in Chromium, the web client.")
        page.eval("(document.getElementById('chat-btn').click(), "
                  "document.getElementById('stats-btn').click(), true)")
        time.sleep(4)  # a few stats refreshes, past the join notices
        path = os.path.join(HERE, "web-call.png")
        browsers.call(timeout=30, op="screenshot", name="chromium", path=path, width=1280, height=800)
        print(f"wrote {path}")
    finally:
        for thing in reversed(cleanup):
            try:
                if isinstance(thing, interop.Browsers):
                    thing.quit()
                thing.remove() if isinstance(thing, interop.Netns) else thing.kill()
            except Exception as e:  # a screenshot script: say it, go on cleaning
                print(f"cleanup: {e}", file=sys.stderr)
        interop.reap()
    return 0


if __name__ == "__main__":
    sys.exit(main())
