#!/usr/bin/env python3
"""Suite `interop`: palaver and the web client in real Chromium and Firefox.

Run one test: test_interop.py NAME (meson registers each NAME as a test).
Needs root (a network namespace), node with tests/interop/node_modules
(install.sh), /usr/bin/chromium and /usr/bin/firefox-esr; see README.md.
"""
import re
import time

from interop import (Browsers, Netns, Page, Palaver, Server, TestFailure, check, log, main, test,
                     wait_until)

BROWSERS = {"chromium": "chromium", "firefox": "firefox"}
# Frames the browser must have decoded from palaver, and palaver from the
# browser, before the call is judged: about 2 s of video at 30 fps.
MIN_FRAMES = 60


def setup(logs, cleanup, *server_args):
    ns = Netns()
    cleanup.append(ns)
    server = Server(ns, logs, *server_args)
    cleanup.append(server)
    browsers = Browsers(ns, logs)
    cleanup.append(browsers)
    return ns, server, browsers


def open_page(cleanup, browsers, name, server, room, peer, **query):
    page = Page(browsers, name, server, room, peer, **query)
    cleanup.append(page)
    return page


def start_palaver(cleanup, ns, logs, server, room, peer, *args):
    p = Palaver(ns, logs, server.url, room, peer, "--send-chat", f"hello from {peer}", "--duration", "120", *args)
    cleanup.append(p)
    p.wait_log(r"joined room \S+ as", 20, "joined")
    return p


def palaver_frames(pal, peer):
    """The latest frame count for `peer` in palaver's stats lines."""
    counts = re.findall(rf"palaver: stats {re.escape(peer)}: \w+, \d+x\d+ \S*, frames (\d+)", pal.stderr())
    return int(counts[-1]) if counts else 0


def browser_receives(page, peer, timeout=25, video=True):
    """The page's connection to `peer` is up and it decodes `peer`'s video
    (framesDecoded >= MIN_FRAMES, then growing) and receives its audio."""
    def connected():
        p = page.peers().get(peer)
        return p and p["connectionState"] == "connected"
    wait_until(connected, timeout,
               lambda: f"{page.peer} ({page.kind}): no connection to {peer} within {timeout} s: {page.peers()}")

    def media():
        s = page.stats(peer)
        v, a = s.get("video") or {}, s.get("audio") or {}
        if (a.get("packetsReceived") or 0) > 0 and (not video or (v.get("framesDecoded") or 0) >= MIN_FRAMES):
            return s
        return None
    s1 = wait_until(media, timeout, lambda: f"{page.peer} ({page.kind}) receives from {peer}: "
                    f"{page.stats(peer)} (expected >= {MIN_FRAMES} frames decoded and audio packets)")
    time.sleep(1.5)
    s2 = page.stats(peer)
    if video:
        check(s2["video"]["framesDecoded"] > s1["video"]["framesDecoded"],
              f"{page.peer} ({page.kind}): video from {peer} stopped at {s2['video']['framesDecoded']} frames")
    check(s2["audio"]["packetsReceived"] > s1["audio"]["packetsReceived"],
          f"{page.peer} ({page.kind}): audio from {peer} stopped at {s2['audio']['packetsReceived']} packets")
    log(f"{page.peer} ({page.kind}) <- {peer}: video {s2['video']}, audio {s2['audio']}, pair {s2.get('pair')}")
    return s2


def wait_chat(page, sender, text, timeout=15):
    wait_until(lambda: {"from": sender, "text": text} in (page.chat() or []), timeout,
               lambda: f"{page.peer} ({page.kind}): no chat {text!r} from {sender} within {timeout} s: {page.chat()}")


def palaver_receives(pal, peer, timeout=25):
    wait_until(lambda: palaver_frames(pal, peer) >= MIN_FRAMES, timeout,
               lambda: f"palaver {pal.name} decoded {palaver_frames(pal, peer)} frames from {peer} "
                       f"within {timeout} s, expected >= {MIN_FRAMES} (log {pal.err_path})")


def check_summary(summary, peer, chat=None, media=True):
    me = summary.get("peer")
    r = summary.get("peers", {}).get(peer)
    check(r is not None, f"palaver {me}: no entry for {peer} in its summary {summary}")
    if media:
        check((r["video_frames"] or 0) >= MIN_FRAMES,
              f"palaver {me} decoded {r['video_frames']} video frames from {peer}, expected >= {MIN_FRAMES}")
        check(r["video_codec"] in ("VP8", "H264"), f"palaver {me}: video codec from {peer}: {r['video_codec']}")
        check((r["audio_buffers"] or 0) > 0, f"palaver {me} decoded no audio from {peer}: {r}")
    check(r["connected_ms"] is not None, f"palaver {me}: never connected to {peer}: {r}")
    if chat is not None:
        check(r["chat"] == chat, f"palaver {me} got chat {r['chat']} from {peer}, expected {chat}")
    return r


def pair(logs, cleanup, browser, offerer, mdns):
    """palaver <-> one browser; `offerer` joins second (the newcomer offers)."""
    ns, server, browsers = setup(logs, cleanup)
    # Chromium hides its host addresses only from pages without camera and
    # microphone permission: with the fake permission UI (which grants it)
    # it hands out real addresses whatever the mDNS setting. So Chromium's
    # mDNS-on runs join receive-only without that permission; Firefox hides
    # them while sending too (media.navigator.permission.disabled is no
    # grant).
    receive_only = browser == "chromium" and mdns
    browsers.launch("b", browser, mdns=mdns, grant_media=not receive_only)
    room, me = "pair", f"{browser}1"
    query = {"send": "none"} if receive_only else {}
    if offerer == "palaver":
        page = open_page(cleanup, browsers, "b", server, room, me, **query)
        page.wait_joined()
        pal = start_palaver(cleanup, ns, logs, server, room, "pal")
    else:
        pal = start_palaver(cleanup, ns, logs, server, room, "pal")
        page = open_page(cleanup, browsers, "b", server, room, me, **query)
        page.wait_joined()
    browser_receives(page, "pal")
    wait_chat(page, "pal", "hello from pal")
    page.send_chat(f"hello from {me}")
    if not receive_only:
        palaver_receives(pal, me)
        out = page.stats("pal").get("outbound") or {}
        check((out.get("videoFramesSent") or 0) > 0 and (out.get("audioPacketsSent") or 0) > 0,
              f"{me}: outbound {out}")
    time.sleep(1)  # the chat's way to palaver
    code, summary = pal.stop()
    check(code == 0 and summary["exit"] == "signal", f"palaver exited with {code}: {summary}")
    r = check_summary(summary, me, chat=[f"hello from {me}"], media=not receive_only)
    check(r["state"] == "connected", f"palaver: connection to {me} ended {r['state']}")
    check(pal.connections_to(me) == 1, f"palaver made {pal.connections_to(me)} connections to {me}, expected 1")
    skipped = len(re.findall(rf"peer {me}: skipping mDNS candidate", pal.stderr()))
    if mdns:
        check(skipped > 0, f"mDNS hiding on, but palaver got no .local candidate from {me} (log {pal.err_path})")
        check("prflx" in (r["stats"]["candidate_pair"] or ""),
              f"mDNS hiding on: palaver's pair with {me} is {r['stats']['candidate_pair']}, expected peer-reflexive")
    else:
        check(skipped == 0, f"mDNS hiding off, but {me} sent {skipped} .local candidates")
    log(f"palaver <- {me}: {r['video_frames']} frames {r['video_codec']}, {r['audio_buffers']} audio buffers, "
        f"pair {r['stats']['candidate_pair']}, connected at {r['connected_ms']} ms, first frame {r['first_frame_ms']} ms")


for _browser in BROWSERS:
    for _offerer in ("palaver", "browser"):
        for _mdns in (True, False):
            def _make(b=_browser, o=_offerer, m=_mdns):
                def fn(logs, cleanup):
                    pair(logs, cleanup, b, o, m)
                # The offerer first: palaver-to-chromium-mdns-on is palaver offering.
                a, z = ("palaver", b) if o == "palaver" else (b, "palaver")
                fn.__name__ = f"test_{a}_to_{z}_mdns_{'on' if m else 'off'}"
                return fn
            test(_make())


if __name__ == "__main__":
    raise SystemExit(main())
