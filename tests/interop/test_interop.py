#!/usr/bin/env python3
"""Suite `interop`: palaver and the web client in real Chromium and Firefox.

Run one test: test_interop.py NAME (meson registers each NAME as a test).
Needs root (a network namespace), node with tests/interop/node_modules
(install.sh), /usr/bin/chromium and /usr/bin/firefox-esr; see README.md.
"""
import re
import time

from interop import (Browsers, Netns, Page, Palaver, Server, TestFailure, check, log, main, make_certificate,
                     test, wait_until)

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


def start_palaver(cleanup, ns, logs, server, room, peer, *args, ca_file=None):
    p = Palaver(ns, logs, server.url, room, peer, "--send-chat", f"hello from {peer}", "--duration", "120", *args,
                ca_file=ca_file)
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


def check_summary(summary, peer, chat=None, media=True, audio=None):
    """palaver's summary shows `peer`'s video (and audio: by default when
    media) and the chat it sent."""
    me = summary.get("peer")
    r = summary.get("peers", {}).get(peer)
    check(r is not None, f"palaver {me}: no entry for {peer} in its summary {summary}")
    if media:
        check((r["video_frames"] or 0) >= MIN_FRAMES,
              f"palaver {me} decoded {r['video_frames']} video frames from {peer}, expected >= {MIN_FRAMES}")
        check(r["video_codec"] in ("VP8", "H264"), f"palaver {me}: video codec from {peer}: {r['video_codec']}")
    if media if audio is None else audio:
        check((r["audio_buffers"] or 0) > 0, f"palaver {me} decoded no audio from {peer}: {r}")
    check(r["connected_ms"] is not None, f"palaver {me}: never connected to {peer}: {r}")
    if chat is not None:
        check(r["chat"] == chat, f"palaver {me} got chat {r['chat']} from {peer}, expected {chat}")
    return r


def pair(logs, cleanup, browser, offerer, mdns, codec=None, answerer_codec=None, tls=False):
    """palaver <-> one browser; `offerer` joins second (the newcomer offers).
    `codec` ('h264', 'vp8'): the offerer puts it first (palaver
    --video-codec, the page &codec=), `answerer_codec` the same for the
    answerer; with `codec`, both sides must have decoded that codec.
    `tls`: the server has a self-signed certificate: the page loads from
    https:// and signals over wss://, and so does palaver (trusting it)."""
    cert = make_certificate(logs) if tls else None
    ns, server, browsers = setup(logs, cleanup, *(["--tls-cert", cert[0], "--tls-key", cert[1]] if tls else []))
    check(server.tls == tls, f"palaver-server: TLS {server.tls}, expected {tls}")
    # Chromium hides its host addresses only from pages without camera and
    # microphone permission: with the fake permission UI (which grants it)
    # it hands out real addresses whatever the mDNS setting. So Chromium's
    # mDNS-on runs join receive-only without that permission; Firefox hides
    # them while sending too (media.navigator.permission.disabled is no
    # grant).
    receive_only = browser == "chromium" and mdns
    browsers.launch("b", browser, mdns=mdns, grant_media=not receive_only, insecure_certs=tls)
    room, me = "pair", f"{browser}1"
    query = {"send": "none"} if receive_only else {}
    page_codec, pal_codec = (answerer_codec, codec) if offerer == "palaver" else (codec, answerer_codec)
    if page_codec:
        query["codec"] = page_codec
    pal_args = ["--video-codec", pal_codec] if pal_codec else []
    ca_file = cert[0] if tls else None
    if offerer == "palaver":
        page = open_page(cleanup, browsers, "b", server, room, me, **query)
        page.wait_joined()
        pal = start_palaver(cleanup, ns, logs, server, room, "pal", *pal_args, ca_file=ca_file)
    else:
        pal = start_palaver(cleanup, ns, logs, server, room, "pal", *pal_args, ca_file=ca_file)
        page = open_page(cleanup, browsers, "b", server, room, me, **query)
        page.wait_joined()
    if tls:
        check_tls(page, pal, server)
    s = browser_receives(page, "pal")
    want = {"h264": "H264", "vp8": "VP8"}.get(codec)
    if want:
        check(s["video"].get("codec") == want,
              f"{me} ({browser}) decodes {s['video'].get('codec')!r} from pal, expected {want}")
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
    if want and not receive_only:
        check(r["video_codec"] == want, f"palaver decoded {r['video_codec']} from {me}, expected {want}")
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


def check_tls(page, pal, server):
    """The page was loaded over https and signals over wss, and so does
    palaver."""
    where = page.eval("({protocol: location.protocol, secure: window.isSecureContext})")
    check(where == {"protocol": "https:", "secure": True},
          f"{page.peer} ({page.kind}): loaded as {where}, expected https: and a secure context")
    wss = f"signaling: connecting to {server.url}"
    check(server.url.startswith("wss://") and any(wss in line for line in page.eval("window.palaver.log")),
          f"{page.peer} ({page.kind}): no {wss!r} in the page's log")
    pal.wait_log(rf"connecting to {re.escape(server.url)}", 1, f"connecting to {server.url}")
    log(f"{page.peer} ({page.kind}) at {server.http} over {server.url}; palaver over {server.url}")


# H.264 constrained baseline packetization-mode=1 with Chromium (issue 9),
# each side offering it first; mDNS hiding off so that both sides send.
@test
def test_palaver_to_chromium_h264(logs, cleanup):
    pair(logs, cleanup, "chromium", "palaver", mdns=False, codec="h264")


@test
def test_chromium_to_palaver_h264(logs, cleanup):
    pair(logs, cleanup, "chromium", "browser", mdns=False, codec="h264")


# https:// and wss:// (palaver-server --tls-cert/--tls-key, a self-signed
# certificate): the browser loads the page and signals over TLS and offers;
# palaver joins over wss:// too. Both browsers send (Chromium with media
# permission, so mDNS hiding off; Firefox with its default, on).
@test
def test_https_chromium_to_palaver(logs, cleanup):
    pair(logs, cleanup, "chromium", "browser", mdns=False, tls=True)


@test
def test_https_firefox_to_palaver(logs, cleanup):
    pair(logs, cleanup, "firefox", "browser", mdns=True, tls=True)


def browser_to_browser(logs, cleanup, first, second):
    """The web client in two browsers, each with its default privacy
    settings and a fake camera; `second` joins last and offers."""
    ns, server, browsers = setup(logs, cleanup)
    browsers.launch(first, first)
    browsers.launch(second, second)
    a = open_page(cleanup, browsers, first, server, "bb", f"{first}1")
    a.wait_joined()
    b = open_page(cleanup, browsers, second, server, "bb", f"{second}1")
    b.wait_joined()
    browser_receives(a, b.peer)
    browser_receives(b, a.peer)
    for me, other in ((a, b), (b, a)):
        wait_until(lambda: (me.peers().get(other.peer) or {}).get("connectionState") == "connected", 10,
                   f"{me.peer}: not connected to {other.peer}")
    # The chat channel is open once both ends are connected; give it a moment.
    time.sleep(0.5)
    a.send_chat(f"hello from {a.peer}")
    b.send_chat(f"hello from {b.peer}")
    wait_chat(b, a.peer, f"hello from {a.peer}")
    wait_chat(a, b.peer, f"hello from {b.peer}")


@test
def test_chromium_to_firefox(logs, cleanup):
    browser_to_browser(logs, cleanup, "firefox", "chromium")


@test
def test_firefox_to_chromium(logs, cleanup):
    browser_to_browser(logs, cleanup, "chromium", "firefox")


def mesh(logs, cleanup, order):
    """palaver, Chromium and Firefox in one room, joining in `order`: every
    one decodes the two others' video and audio; palaver's chat reaches both
    browsers, theirs reach palaver and each other."""
    ns, server, browsers = setup(logs, cleanup)
    for b in ("chromium", "firefox"):
        browsers.launch(b, b)
    room = "mesh"
    pages, pal = {}, None
    names = {"palaver": "pal", "chromium": "chromium1", "firefox": "firefox1"}
    for who in order:
        if who == "palaver":
            pal = start_palaver(cleanup, ns, logs, server, room, "pal")
        else:
            pages[who] = open_page(cleanup, browsers, who, server, room, names[who])
            pages[who].wait_joined()
        time.sleep(0.5)
    for who, page in pages.items():
        for other in order:
            if other != who:
                browser_receives(page, names[other], timeout=30)
        wait_chat(page, "pal", "hello from pal")
    for who, page in pages.items():
        page.send_chat(f"hello from {page.peer}")
    for who, page in pages.items():
        other = pages["firefox" if who == "chromium" else "chromium"]
        wait_chat(page, other.peer, f"hello from {other.peer}")
    for who in pages:
        palaver_receives(pal, names[who], timeout=30)
    time.sleep(1)
    code, summary = pal.stop()
    check(code == 0 and summary["exit"] == "signal", f"palaver exited with {code}: {summary}")
    for who, page in pages.items():
        r = check_summary(summary, page.peer, chat=[f"hello from {page.peer}"])
        check(pal.connections_to(page.peer) == 1,
              f"palaver made {pal.connections_to(page.peer)} connections to {page.peer}, expected 1")
        log(f"palaver <- {page.peer}: {r['video_frames']} frames, {r['audio_buffers']} audio buffers, "
            f"first frame at {r['first_frame_ms']} ms")


ORDERS = [("palaver", "chromium", "firefox"), ("palaver", "firefox", "chromium"),
          ("chromium", "palaver", "firefox"), ("chromium", "firefox", "palaver"),
          ("firefox", "palaver", "chromium"), ("firefox", "chromium", "palaver")]
for _order in ORDERS:
    def _make(order=_order):
        def fn(logs, cleanup):
            mesh(logs, cleanup, order)
        fn.__name__ = "test_mesh_" + "_".join(order)
        return fn
    test(_make())


def camera_on(logs, cleanup, browser, page_first=False):
    """A browser joins receive-only (`send=none`), then turns its camera on
    in the call: palaver decodes its video on the same connection (one
    webrtcbin for that peer, never replaced), and the browser goes on
    decoding palaver's. `page_first`: the page joins first, so palaver
    offers and is the DTLS server; the browser's re-offer (actpass) must be
    answered passive, or Chrome refuses the answer ("SSL Role can't be
    reversed") and the page replaces the connection."""
    ns, server, browsers = setup(logs, cleanup)
    browsers.launch("b", browser)  # media permission granted, for cameraOn()
    if page_first:
        page = open_page(cleanup, browsers, "b", server, "cam", f"{browser}1", send="none")
        page.wait_joined()
        pal = start_palaver(cleanup, ns, logs, server, "cam", "pal")
    else:
        pal = start_palaver(cleanup, ns, logs, server, "cam", "pal")
        page = open_page(cleanup, browsers, "b", server, "cam", f"{browser}1", send="none")
        page.wait_joined()
    browser_receives(page, "pal")
    wait_chat(page, "pal", "hello from pal")
    sending = page.eval("window.palaver.sending()")
    check(not sending.get("video") and not sending.get("audio"), f"{page.peer}: send=none, but sending {sending}")
    check(palaver_frames(pal, page.peer) == 0, f"palaver decodes video from the receive-only {page.peer}")
    before = page.stats("pal")["video"]["framesDecoded"]
    page.eval("window.palaver.cameraOn()", timeout=30)
    sending = page.eval("window.palaver.sending()")
    check(sending.get("video"), f"{page.peer}: cameraOn() resolved, but sending() is {sending}")
    try:
        palaver_receives(pal, page.peer, timeout=25)
    except TestFailure as e:
        n = pal.connections_to(page.peer)
        raise TestFailure(f"{e}; palaver made {n} peer connection(s) to {page.peer}"
                          + (" (the renegotiation replaced the connection: 'replacing the connection' in its log)"
                             if n > 1 else ""))
    p = page.peers().get("pal") or {}
    check(p.get("connectionState") == "connected", f"{page.peer}: connection to pal after cameraOn(): {p}")
    # The page goes on decoding palaver's video after the renegotiation.
    # (Firefox restarts its framesDecoded count when the answer names a new
    # RTX SSRC, so growth is measured after cameraOn(), not against before.)
    after = page.stats("pal")["video"]["framesDecoded"]
    time.sleep(2)
    later = page.stats("pal")["video"]["framesDecoded"]
    check(later >= after + 20,
          f"{page.peer}: video from pal stalled after cameraOn(): {after} then {later} frames decoded 2 s later")
    if after < before:
        log(f"note: {page.peer}'s framesDecoded from pal went from {before} to {after} across the "
            "renegotiation (its receive stream was recreated)")
    page.send_chat(f"hello from {page.peer}")
    time.sleep(1)
    code, summary = pal.stop()
    check(code == 0 and summary["exit"] == "signal", f"palaver exited with {code}: {summary}")
    # cameraOn() is the camera: the microphone may stay off.
    check_summary(summary, page.peer, chat=[f"hello from {page.peer}"], audio=False)
    n = pal.connections_to(page.peer)
    check(n == 1, f"palaver made {n} peer connections to {page.peer}: the camera's renegotiation replaced "
                  f"the connection instead of being answered on it (log {pal.err_path})")


@test
def test_camera_on_chromium(logs, cleanup):
    camera_on(logs, cleanup, "chromium")


@test
def test_camera_on_firefox(logs, cleanup):
    camera_on(logs, cleanup, "firefox")


@test
def test_camera_on_chromium_after_palaver(logs, cleanup):
    camera_on(logs, cleanup, "chromium", page_first=True)


@test
def test_camera_on_firefox_after_palaver(logs, cleanup):
    camera_on(logs, cleanup, "firefox", page_first=True)


def visible_text(page):
    return page.eval("document.body.innerText")


def page_room_full(logs, cleanup, browser):
    """The room is full: window.palaver.lastError and the page say so."""
    ns, server, browsers = setup(logs, cleanup, "--max-room-peers", "1")
    browsers.launch("b", browser)
    pal = start_palaver(cleanup, ns, logs, server, "small", "pal")
    page = open_page(cleanup, browsers, "b", server, "small", f"{browser}1")
    err = wait_until(lambda: page.eval("window.palaver.lastError"), 15,
                     lambda: f"no lastError on a full room; state {page.state()!r}")
    check(err.get("code") == "room-full", f"lastError {err}, expected code room-full")
    check(page.state() != "joined", "the page says joined in a full room")
    wait_until(lambda: re.search(r"\bfull\b", visible_text(page), re.I), 5,
               lambda: f"the page does not say the room is full: {visible_text(page)!r}")
    code, summary = pal.stop()
    check(code == 0, f"palaver exited with {code}: {summary}")


def page_server_gone(logs, cleanup, browser):
    """The server dies in a call: the page says it cannot reach it and
    retries; once the server is back on its port the page joins again."""
    ns, server, browsers = setup(logs, cleanup)
    browsers.launch("b", browser)
    page = open_page(cleanup, browsers, "b", server, "gone", f"{browser}1")
    page.wait_joined()
    check(page.eval("window.palaver.lastError") is None, f"lastError before anything failed: "
          f"{page.eval('window.palaver.lastError')}")
    port = server.port
    server.kill()
    err = wait_until(lambda: page.eval("window.palaver.lastError"), 15,
                     lambda: f"no lastError after the server died; state {page.state()!r}")
    check(re.search(r"unreachable|lost|disconnect|connection", err.get("code", ""), re.I),
          f"lastError after the server died: {err}")
    check(page.state() != "joined", "the page still says joined with the server gone")
    wait_until(lambda: re.search(r"unreachable|cannot reach|can't reach|could not reach|lost|retry|reconnect",
                                 visible_text(page), re.I), 5,
               lambda: f"the page does not say the server is gone: {visible_text(page)!r}")
    server.start(port)
    page.wait_joined(timeout=40)
    log(f"rejoined after the server came back; lastError now {page.eval('window.palaver.lastError')}")


@test
def test_page_room_full(logs, cleanup):
    page_room_full(logs, cleanup, "chromium")


@test
def test_page_room_full_firefox(logs, cleanup):
    page_room_full(logs, cleanup, "firefox")


@test
def test_page_server_gone(logs, cleanup):
    page_server_gone(logs, cleanup, "chromium")


@test
def test_page_server_gone_firefox(logs, cleanup):
    page_server_gone(logs, cleanup, "firefox")


def jwt(secret, **claims):
    """An HS256 JSON Web Token (docs/protocol.md, "Tokens")."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data):
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
    head = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = b64(json.dumps(claims).encode())
    sig = hmac.new(secret.encode(), f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{b64(sig)}"


def refused(page, code, text, what):
    """The page was refused with `code`: lastError says so, the page is not
    joined, and `text` (a regular expression) is on the page."""
    err = wait_until(lambda: page.eval("window.palaver.lastError"), 15,
                     lambda: f"{page.peer} ({page.kind}) {what}: no lastError; state {page.state()!r}")
    check(err.get("code") == code, f"{page.peer} ({page.kind}) {what}: lastError {err}, expected code {code}")
    check(page.state() == "error", f"{page.peer} ({page.kind}) {what}: state {page.state()!r}, expected error")
    wait_until(lambda: re.search(text, visible_text(page)), 5,
               lambda: f"{page.peer} ({page.kind}) {what}: {text!r} not on the page: {visible_text(page)!r}")
    log(f"{page.peer} ({page.kind}) {what}: {err['code']}: {err['message']!r}")
    return err


def page_unauthorized(logs, cleanup, browser):
    """A server with --auth-secret: the page without a token is refused
    (unauthorized, "needs an access token"), with a wrong one too ("did not
    accept the access token"); with a valid token it joins."""
    ns, server, browsers = setup(logs, cleanup, "--auth-secret", "s")
    browsers.launch("b", browser, grant_media=False)
    page = open_page(cleanup, browsers, "b", server, "locked", f"{browser}1", send="none")
    refused(page, "unauthorized", r"needs an access token to join room locked", "without a token")
    bad = jwt("not-s", exp=int(time.time()) + 600, room="locked")
    page = open_page(cleanup, browsers, "b", server, "locked", f"{browser}1", send="none", token=bad)
    refused(page, "unauthorized", r"did not accept the access token for room locked", "with a wrong token")
    good = jwt("s", exp=int(time.time()) + 600, room="locked")
    page = open_page(cleanup, browsers, "b", server, "locked", f"{browser}1", send="none", token=good)
    page.wait_joined()
    check(page.eval("window.palaver.lastError") is None,
          f"joined with a valid token, but lastError {page.eval('window.palaver.lastError')}")


def page_name_taken(logs, cleanup, browser):
    """Two pages ask for the same name in one room: the second is refused
    (peer-id-taken), says so and shows the join form with the name
    selected; another name from the form joins."""
    ns, server, browsers = setup(logs, cleanup)
    browsers.launch("b1", browser, grant_media=False)
    browsers.launch("b2", browser, grant_media=False)
    first = open_page(cleanup, browsers, "b1", server, "names", "ana", send="none")
    first.wait_joined()
    second = open_page(cleanup, browsers, "b2", server, "names", "ana", send="none")
    refused(second, "peer-id-taken", r"Someone in room names already uses the name ana", "with ana taken")
    form = second.eval("({shown: !document.getElementById('join-view').hidden, "
                       "name: document.getElementById('name-input').value, "
                       "room: document.getElementById('room-input').value, "
                       "focused: document.activeElement && document.activeElement.id})")
    check(form == {"shown": True, "name": "ana", "room": "names", "focused": "name-input"},
          f"{second.peer} ({second.kind}): after peer-id-taken the form is {form}, expected it shown with "
          "room names and the name ana focused")
    check(first.state() == "joined", f"the first ana left: state {first.state()!r}")
    second.eval("(() => { document.getElementById('name-input').value = 'ana2'; "
                "document.getElementById('join-form').requestSubmit(); return true; })()")
    second.wait_joined()
    check(second.eval("window.palaver.peerId") == "ana2", f"joined as {second.eval('window.palaver.peerId')}")
    check(second.eval("window.palaver.lastError") is None,
          f"joined again, but lastError {second.eval('window.palaver.lastError')}")
    wait_until(lambda: "ana" in second.peers(), 15, lambda: f"ana2 does not see ana: {second.peers()}")


for _browser in BROWSERS:
    def _make(b=_browser):
        def unauthorized(logs, cleanup):
            page_unauthorized(logs, cleanup, b)
        unauthorized.__name__ = f"test_page_unauthorized_{b}"

        def name_taken(logs, cleanup):
            page_name_taken(logs, cleanup, b)
        name_taken.__name__ = f"test_page_name_taken_{b}"
        return unauthorized, name_taken
    for _fn in _make():
        test(_fn)


if __name__ == "__main__":
    raise SystemExit(main())
