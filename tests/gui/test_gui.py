"""The `gui` suite: the GTK call window (`palaver` without --headless) in a
real call with headless peers, under Xvfb and a private session bus
(tests/gui/meson.build runs each test as
`xvfb-run dbus-run-session python3 test_gui.py NAME`).

The test drives the window through its actions, which GTK exports on the
session bus (org.gtk.Actions at /org/palaver/Palaver/window/N): the same
actions its buttons and shortcuts activate. It reads what happened from the
window's log lines and what is on screen from PNG screenshots the window
renders of itself (win.screenshot), decoded here.
"""
import os
import re
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zlib

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "call"))
from calltest import (CLIENT, WITHOUT, Peer, Server, TestFailure, check, check_media, free_port,  # noqa: E402
                      main, test, wait_until)

APP_ID = "org.palaver.Palaver"
# 15 fps: two or three encoders, decoders and software GL share 2 CI cores.
SMALL = ["--width", "320", "--height", "240", "--framerate", "15", "--bitrate", "400"]
# Bars of known colours that scroll sideways: a frozen frame shows.
MOVING_BARS = "videotestsrc is-live=true pattern=smpte horizontal-speed=4"
# Our own preview: a colour that is in no SMPTE bar.
ORANGE = "videotestsrc is-live=true pattern=solid-color foreground-color=0xffff8000"
TONE = "audiotestsrc is-live=true wave=sine freq=440"


# ---- PNG ---------------------------------------------------------------------

def read_png(path):
    """Decodes a non-interlaced 8- or 16-bit RGB(A) PNG: (width, height, rows
    of (r, g, b) tuples)."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG")
    pos, idat, header = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", chunk)
        elif kind == b"IDAT":
            idat += chunk
        elif kind == b"IEND":
            break
    width, height, depth, ctype, _, _, interlace = header
    check(ctype in (2, 6) and depth in (8, 16) and interlace == 0, f"unexpected PNG format {header}")
    channels = 4 if ctype == 6 else 3
    bpp = channels * depth // 8
    stride = width * bpp
    raw = zlib.decompress(idat)
    rows, prev = [], bytearray(stride)
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        prev = line
        step = depth // 8
        rows.append([(line[x * bpp], line[x * bpp + step], line[x * bpp + 2 * step]) for x in range(width)])
    return width, height, rows


def classify(rgb):
    r, g, b = rgb
    if r > 150 and g > 150 and b < 90:
        return "yellow"
    if r < 90 and g > 150 and b > 150:
        return "cyan"
    if r > 150 and g < 90 and b > 150:
        return "magenta"
    if r > 200 and 90 < g < 170 and b < 60:
        return "orange"
    if r < 40 and g < 40 and b < 40:
        return "black"
    return None


class Shot:
    def __init__(self, path):
        self.path = path
        self.width, self.height, self.rows = read_png(path)

    def count(self, colour, x0=0.0, y0=0.0, x1=1.0, y1=1.0, step=2):
        """How many sampled pixels of the area (fractions of the window) have
        the colour; as a fraction of the samples."""
        n = hits = 0
        for y in range(int(y0 * self.height), int(y1 * self.height), step):
            row = self.rows[y]
            for x in range(int(x0 * self.width), int(x1 * self.width), step):
                n += 1
                hits += classify(row[x]) == colour
        return hits / max(n, 1)

    def bars(self, **area):
        """The SMPTE colours seen (each on at least 1 % of the area)."""
        return {c for c in ("yellow", "cyan", "magenta") if self.count(c, **area) > 0.01}

    def changed(self, other, x0=0.0, y0=0.0, x1=1.0, y1=1.0, step=2):
        n = diff = 0
        for y in range(int(y0 * self.height), int(y1 * self.height), step):
            a, b = self.rows[y], other.rows[y]
            for x in range(int(x0 * self.width), int(x1 * self.width), step):
                n += 1
                diff += sum(abs(p - q) for p, q in zip(a[x], b[x])) > 60
        return diff / max(n, 1)


# ---- the window --------------------------------------------------------------

class App:
    """One `palaver` GTK process; more windows join it as second instances."""

    def __init__(self, *args, timeout=90, settings=None, env=None, without=None):
        """settings: {key: GVariant text} kept in a keyfile of the test's own
        (GSettings' keyfile backend), else nothing is stored."""
        self.log = tempfile.NamedTemporaryFile(prefix="palaver-gui-", suffix=".log", delete=False)
        self.dir = tempfile.mkdtemp(prefix="palaver-gui-shots-")
        self.env = dict(os.environ)
        self.keyfile = None
        if settings is not None:
            config = os.path.join(self.dir, "config")
            os.makedirs(os.path.join(config, "glib-2.0", "settings"))
            self.keyfile = os.path.join(config, "glib-2.0", "settings", "keyfile")
            with open(self.keyfile, "w") as f:
                f.write("[org/palaver/Palaver]\n" + "".join(f"{k}={v}\n" for k, v in settings.items()))
            self.env.update({"GSETTINGS_BACKEND": "keyfile", "XDG_CONFIG_HOME": config})
        self.env.update({
            "GSETTINGS_BACKEND": self.env.get("GSETTINGS_BACKEND") if settings is not None else "memory",
            "GDK_BACKEND": "x11",
            "GST_DEBUG": self.env.get("GST_DEBUG", "palaver-*:3"),
            "GST_DEBUG_NO_COLOR": "1",
        })
        self.env.update(env or {})
        # without: element factories taken out of GStreamer's registry first
        # (tests/call/palaver_without.cpp).
        program = [WITHOUT, ",".join(without)] if without else [CLIENT]
        self.proc = subprocess.Popen([*program, *args], stdout=subprocess.DEVNULL, stderr=self.log, env=self.env)
        self.timeout = timeout
        self.shots = 0
        self.wait_log(r"video sink: (\S+)", 20)

    def text(self):
        with open(self.log.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def tail(self, n=3000):
        return self.text()[-n:]

    def wait_log(self, pattern, timeout=30, after=0):
        """Waits for a log line matching pattern (after offset `after`);
        returns the match."""
        found = []

        def seen():
            if self.proc.poll() is not None:
                raise TestFailure(f"palaver exited ({self.proc.returncode}) waiting for {pattern!r}\n{self.tail()}")
            m = re.search(pattern, self.text()[after:])
            if m:
                found.append(m)
            return bool(m)
        wait_until(seen, timeout, lambda: f"no log line {pattern!r} within {timeout} s\n{self.tail()}")
        return found[0]

    def mark(self):
        return len(self.text())

    def another(self, *args):
        """A second `palaver`: it hands its arguments to this process, which
        opens another window; returns once that one exits."""
        out = subprocess.run([CLIENT, *args], env=self.env, capture_output=True, text=True, timeout=30)
        check(out.returncode == 0, f"second instance: exit {out.returncode}: {out.stderr}")

    def action(self, name, param=None, window=1):
        args = "[]" if param is None else f"[<{param!r}>]" if isinstance(param, str) else f"[<{param}>]"
        out = subprocess.run(["gdbus", "call", "--session", "--dest", APP_ID,
                              "--object-path", f"/org/palaver/Palaver/window/{window}",
                              "--method", "org.gtk.Actions.Activate", name, args, "{}"],
                             capture_output=True, text=True, timeout=20)
        check(out.returncode == 0, f"action win.{name}: {out.stderr.strip()}")

    def shot_until(self, predicate, timeout, what, window=1):
        """Screenshots until predicate(shot) holds: the first frames after a
        start or a loss can be a broken VP8 picture until the next key
        frame; the claim is about what the window settles on."""
        deadline = time.monotonic() + timeout
        while True:
            shot = self.screenshot(window)
            if predicate(shot):
                return shot
            check(time.monotonic() < deadline, f"{what} (within {timeout} s; last {shot.path})")
            time.sleep(0.5)

    def screenshot(self, window=1):
        self.shots += 1
        path = os.path.join(self.dir, f"shot-{window}-{self.shots}.png")
        mark = self.mark()
        self.action("screenshot", path, window)
        self.wait_log(r"screenshot: " + re.escape(path), 20, mark)
        return Shot(path)

    def stop(self):
        """Ctrl+C: hang up, close; returns the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(2)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise TestFailure(f"palaver did not exit within 15 s of SIGINT\n{self.tail()}")
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def window_args(server, room, peer, video=ORANGE, *extra):
    return ["--server", server.url, "--room", room, "--peer", peer, "--video-source", video,
            "--audio-source", TONE, "--ice-address", "127.0.0.1", *SMALL, *extra]


def start_call(cleanup, bob_args=(), bob_video=MOVING_BARS, env=None):
    server = Server()
    cleanup.append(server)
    app = App(*window_args(server, "gui", "win"), env=env)
    cleanup.append(app)
    bob = Peer(server.url, "gui", "bob", *bob_args, video=bob_video, timeout=90)
    cleanup.append(bob)
    app.wait_log(r"peer bob: video \d+x\d+", 40)
    return server, app, bob


# ---- tests -------------------------------------------------------------------

@test
def test_call(cleanup, env=None):
    """The remote tile shows the peer's moving bars, the preview our own
    colour; stats and state are on the tile."""
    server, app, bob = start_call(cleanup, ["--duration", "60"], env=env)
    app.wait_log(r"peer bob: connected", 20)
    # The remote tile fills the grid; the preview sits bottom right.
    stage = dict(x0=0.02, y0=0.12, x1=0.70, y1=0.80)
    a = app.shot_until(lambda s: len(s.bars(**stage)) == 3, 10, "remote tile: SMPTE bars not on screen")
    time.sleep(1.0)
    b = app.screenshot()
    check(a.count("black", **stage) < 0.6, f"remote tile mostly black {a.path}")
    moved = a.changed(b, **stage)
    check(moved > 0.05, f"remote tile frozen: {moved:.1%} of pixels changed in 1 s ({a.path}, {b.path})")
    preview = a.count("orange", x0=0.6, y0=0.5, x1=1.0, y1=0.95)
    check(preview > 0.03, f"local preview (orange) not on screen: {preview:.1%} ({a.path})")
    check(a.count("orange", **stage) < 0.01, f"our own colour in the remote tile {a.path}")
    # The stats overlay: the window logs what it shows while it is on
    # screen (test_chat checks its pixels over a still picture).
    app.action("stats", None)
    m = app.wait_log(r"stats bob: (\d+)×(\d+) · (\d+) fps · VP8 ↓ (\d+) kbit/s", 5)
    check(m.group(1, 2) == ("320", "240") and int(m.group(3)) > 5 and int(m.group(4)) > 10,
          f"stats overlay says {m.group(0)}")
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")
    bob.signal()
    code, summary = bob.wait()
    check(summary["peers"]["win"]["video_frames"] > 30, f"bob got no video from the window: {summary}")
    check(summary["peers"]["win"]["audio_buffers"] > 30, f"bob got no audio from the window: {summary}")
    # The window's tone (audiotestsrc volume 0.8: -2 dBFS) arrives.
    level = summary["peers"]["win"]["audio_level_db"]
    check(level is not None and level > -20, f"bob hears the window's tone at {level} dBFS")


@test
def test_call_gl(cleanup):
    """The same with GTK's GL renderer, which the window uses where there
    is a GPU (here: Mesa's software GL; the window picks cairo without a
    GPU unless told)."""
    return test_call(cleanup, env={"GSK_RENDERER": "gl"})


@test
def test_mute(cleanup):
    """Mute really stops what is sent: the other side hears silence while
    audio packets keep flowing (no renegotiation), then the tone again."""
    server, app, bob = start_call(cleanup, ["--duration", "60"])
    app.wait_log(r"peer bob: connected", 20)
    app.action("mute", None)
    app.wait_log(r"microphone muted", 5)
    time.sleep(2.0)  # past bob's jitterbuffer and a whole level window
    bob.signal()
    code, summary = bob.wait()
    win = summary["peers"]["win"]
    check(code == 0, f"bob exit {code}")
    check(win["audio_level_db"] is not None and win["audio_level_db"] < -60,
          f"the window is muted but bob hears {win['audio_level_db']} dBFS")
    check(win["audio_buffers"] > 50, f"no audio packets flow while muted: {win}")
    # Unmuted again, a second peer hears the tone.
    app.action("mute", None)
    app.wait_log(r"microphone on", 5)
    carol = Peer(server.url, "gui", "carol", "--duration", "4", video=MOVING_BARS, timeout=60)
    cleanup.append(carol)
    code, summary = carol.wait()
    level = summary["peers"]["win"]["audio_level_db"]
    check(level is not None and level > -20, f"unmuted, carol hears {level} dBFS")
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")


@test
def test_camera_off(cleanup):
    """Two windows in one process; one turns its camera off: the other's
    tile of it goes dark (and its own preview), and comes back on."""
    server = Server()
    cleanup.append(server)
    app = App(*window_args(server, "cam", "ann", MOVING_BARS))
    cleanup.append(app)
    app.another(*window_args(server, "cam", "ben", ORANGE))
    app.wait_log(r"peer ann: video", 40)
    app.wait_log(r"peer ben: video", 40)
    stage = dict(x0=0.02, y0=0.12, x1=0.70, y1=0.80)
    app.shot_until(lambda s: len(s.bars(**stage)) == 3, 10, "ben's window does not show ann's bars", window=2)
    app.action("camera-off", None, window=1)
    app.wait_log(r"camera off", 5)
    off = app.shot_until(lambda s: not s.bars(**stage) and s.count("black", **stage) > 0.5, 10,
                         "ann's camera is off but ben's tile of her is not dark", window=2)
    check(off.count("orange", x0=0.6, y0=0.5, x1=1.0, y1=0.95) > 0.03, f"ben's own preview went too {off.path}")
    preview = dict(x0=0.80, y0=0.66, x1=0.96, y1=0.84)
    app.shot_until(lambda s: s.count("black", **preview) > 0.6 and not s.bars(**preview), 5,
                   "ann's own preview does not show her camera off", window=1)
    app.action("camera-off", None, window=1)
    app.wait_log(r"camera on", 5)
    app.shot_until(lambda s: len(s.bars(**stage)) == 3, 10, "ann's camera is back on but ben sees no bars", window=2)
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")


def grey(rgb):
    """The stats box: black at 65 % over white video."""
    r, g, b = rgb
    return 60 <= r <= 120 and abs(r - g) < 12 and abs(r - b) < 12


@test
def test_chat(cleanup):
    """Chat from the headless peer shows in the window; chat typed in the
    window arrives there. With the chat open, the stats overlay shows over
    the peer's (white) picture."""
    server, app, bob = start_call(cleanup, ["--send-chat", "hello from bob", "--duration", "60"],
                                  bob_video="videotestsrc is-live=true pattern=white")
    app.wait_log(r"chat from bob: hello from bob", 20)
    app.action("chat", None)
    app.action("send-chat", "hi from the window ✓")
    app.wait_log(r"chat sent: hi from the window ✓", 10)
    # The tile's top left, where the overlay sits: white before, then the
    # overlay's grey box with white text.
    box = lambda s: sum(grey(s.rows[y][x]) for y in range(int(0.12 * s.height), int(0.22 * s.height), 2)
                        for x in range(int(0.03 * s.width), int(0.25 * s.width), 2))
    # (Once the chat has slid in and the first frames' artefacts are gone.)
    app.shot_until(lambda s: box(s) < 20, 10, "grey in the tile before the stats are on")
    app.action("stats", None)
    app.wait_log(r"stats bob: ", 5)
    shown = app.shot_until(lambda s: box(s) > 300, 5, "the stats overlay is not on screen")
    app.action("stats", None)
    app.shot_until(lambda s: box(s) < 20, 5, "the stats overlay stays after it was turned off")
    bob.signal()
    code, summary = bob.wait()
    check(code == 0, f"bob exit {code}")
    check(summary["peers"]["win"]["chat"] == ["hi from the window ✓"], f"bob's chat: {summary['peers']['win']['chat']}")
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")


@test
def test_no_sink(cleanup):
    """A window that cannot make a video sink says so on the peer's tile
    (and where the preview would be) and goes on with the call: never the
    engine's default sink in a window of its own, never a GLib critical."""
    server = Server()
    cleanup.append(server)
    app = App(*window_args(server, "nosink", "win"), without=["palaverpaintablesink"],
              env={"G_DEBUG": "fatal-criticals"})
    cleanup.append(app)
    bob = Peer(server.url, "nosink", "bob", "--duration", "12", video=MOVING_BARS, timeout=60)
    cleanup.append(bob)
    app.wait_log(r"no local preview: Palaver's own video sink \(palaverpaintablesink\) is not registered", 20)
    app.wait_log(r"tile bob: no video sink: Palaver's own video sink \(palaverpaintablesink\) is not registered", 40)
    # The call goes on: decoded (into nothing) on our side, both ways connected.
    app.wait_log(r"peer bob: video \d+x\d+", 40)
    check("video from bob is not shown" in app.text(), "the engine did not say why bob's video is not shown")
    check("autovideosink" not in app.text(), "the engine fell back to a sink of its own")
    code, s = bob.wait()
    check(code == 0, f"bob exit {code}")
    check_media(s, "win", min_frames=30)
    check("CRITICAL" not in app.text(), f"a GLib critical:\n{app.tail()}")
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")


@test
def test_peer_leaves(cleanup):
    """The peer leaves: its tile goes away, the window waits for others."""
    server, app, bob = start_call(cleanup, ["--duration", "6"])
    stage = dict(x0=0.02, y0=0.12, x1=0.70, y1=0.80)
    app.shot_until(lambda s: len(s.bars(**stage)) == 3, 10, "no bars before bob left")
    code, _ = bob.wait()
    check(code == 0, f"bob exit {code}")
    app.wait_log(r"tile removed: bob", 20)
    app.wait_log(r"toast: bob left", 5)
    time.sleep(0.5)
    after = app.screenshot()
    check(not after.bars(**stage), f"bob's video still on screen after he left {after.path}")
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")


@test
def test_unreachable(cleanup):
    """No server: the error view says so; Try Again joins once it runs. A
    server option that is no URL is refused before any window."""
    bad = subprocess.run([CLIENT, "--server", "127.0.0.1:8080", "--room", "x"], capture_output=True, text=True,
                         timeout=20)
    check(bad.returncode == 2 and "ws:// or wss://" in bad.stderr, f"bad --server: {bad.returncode} {bad.stderr}")
    port = free_port()
    url = f"ws://127.0.0.1:{port}/ws"
    app = App("--server", url, "--room", "gone", "--peer", "win", "--video-source", ORANGE,
              "--audio-source", TONE, "--ice-address", "127.0.0.1", *SMALL)
    cleanup.append(app)
    app.wait_log(r"error: server-unreachable: Can’t Reach the Server", 30)
    shot = app.screenshot()
    check(shot.count("orange") < 0.01, "the error view shows video")
    server = Server(port=port)
    cleanup.append(server)
    mark = app.mark()
    app.action("retry", None)
    app.wait_log(r"joined room gone as win", 20, mark)
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")


@test
def test_start_view(cleanup):
    """Without --room the start view comes first, filled with what GSettings
    remembers; Join uses those fields, and the preferred codec. GStreamer's
    own options go too."""
    server = Server()
    cleanup.append(server)
    # Bob waits in the room, so the window offers: with the codec it
    # prefers in GSettings.
    bob = Peer(server.url, "kept", "bob", "--duration", "60", video=MOVING_BARS)
    cleanup.append(bob)
    wait_until(lambda: server.health()["peers"] >= 1, 10, "bob never joined")
    # No source options: the camera and microphone, or test sources and a
    # word about it when there are none (CI has neither).
    app = App("--ice-address", "127.0.0.1", "--gst-debug-level=2", *SMALL,
              settings={"server-url": f"'{server.url}'", "room": "'kept'", "display-name": "'kim'",
                        "video-codec": "'h264'"})
    cleanup.append(app)
    app.wait_log(r"view: start", 10)
    app.action("join", None)
    app.wait_log(r"joined room kept as kim", 20)
    app.wait_log(r"peer bob: video \d+x\d+ H264", 30)
    if not any(n.startswith("video") for n in os.listdir("/dev")):
        app.wait_log(r"toast: No camera found: sending a test pattern", 5)
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")
    with open(app.keyfile) as f:
        kept = f.read()
    check("window-width=" in kept, f"the window size was not remembered: {kept}")


@test
def test_hang_up(cleanup):
    """Hang up: the peer hears a bye at once (no grace period), the window
    is back at the start view with the room filled in; Join again: a call
    again, with the controls reset."""
    server, app, bob = start_call(cleanup, ["--duration", "60"])
    app.wait_log(r"peer bob: connected", 20)
    app.action("mute", None)
    app.wait_log(r"microphone muted", 5)
    mark = app.mark()
    app.action("hang-up", None)
    app.wait_log(r"view: start", 5, mark)
    hung_up = time.monotonic()
    wait_until(lambda: "peer win is gone" in bob.stderr(), 5, lambda: f"bob did not see the window go\n{bob.stderr_tail()}")
    check(time.monotonic() - hung_up < 3, "bob kept the window for a grace period: no bye")
    mark = app.mark()
    app.action("join", None)
    app.wait_log(r"joined room gui as win", 20, mark)
    app.wait_log(r"microphone on", 5, mark)  # a new call starts unmuted
    app.wait_log(r"peer bob: video", 30, mark)
    stage = dict(x0=0.02, y0=0.12, x1=0.70, y1=0.80)
    app.shot_until(lambda s: len(s.bars(**stage)) == 3, 10, "no bars after rejoining")
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")


@test
def test_quit_twice(cleanup):
    """Ctrl+C twice (a user who does not wait): the second quits at once,
    with the hang-up still under way (the server is stopped, so its close
    handshake cannot finish). The Call is destroyed all the same, and with it
    the peer connection it was tearing down (this test also runs under
    ASan); the peer hears our bye. Then, with the server back, one Ctrl+C
    ends the process as soon as the teardown says it is done."""
    server, app, bob = start_call(cleanup, ["--duration", "60"], env={"GST_DEBUG": "palaver-*:3,palaver-call:4"})
    app.wait_log(r"peer bob: connected", 20)
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        mark = app.mark()
        app.proc.send_signal(signal.SIGINT)
        app.wait_log(r"signal: hanging up and closing", 5, mark)
        app.proc.send_signal(signal.SIGINT)
        try:
            app.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"palaver did not exit within 10 s of two SIGINTs\n{app.tail()}")
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    check(app.proc.returncode == 0, f"exit code {app.proc.returncode}\n{app.tail()}")
    check("signal: quitting" in app.text(), f"the second SIGINT did not quit at once\n{app.tail()}")
    check(re.search(r"call destroyed \(teardown cut short; 1 peer connection\(s\) finished here\)", app.text()),
          f"the hung-up Call was not destroyed with its peer\n{app.tail()}")
    wait_until(lambda: "peer win is gone" in bob.stderr(), 20, lambda: f"bob did not see the window go\n{bob.stderr_tail()}")

    app2 = App(*window_args(server, "gui", "win2"), env={"GST_DEBUG": "palaver-*:3,palaver-call:4"})
    cleanup.append(app2)
    # A bye needs an open chat channel: hanging up before it opened leaves
    # the peer to its grace period (15 s), by design.
    app2.wait_log(r"chat open with bob", 20)
    check(app2.stop() == 0, f"exit code {app2.proc.returncode}\n{app2.tail()}")
    check(re.search(r"torn down in [0-9.]+ ms", app2.text()), f"no teardown notification\n{app2.tail()}")
    check(re.search(r"call destroyed \(torn down; 0 peer connection", app2.text()), f"\n{app2.tail()}")
    wait_until(lambda: "peer win2 is gone" in bob.stderr(), 5, lambda: f"bob did not see win2 go\n{bob.stderr_tail()}")


@test
def test_refused(cleanup):
    """A full room and a server that wants a token: each says so in the
    window, in words; Back returns to the start view."""
    server = Server("--max-room-peers", "1")
    cleanup.append(server)
    first = Peer(server.url, "small", "first", "--duration", "30", video=MOVING_BARS)
    cleanup.append(first)
    wait_until(lambda: server.health()["peers"] >= 1, 10, "the first peer never joined")
    app = App(*window_args(server, "small", "win"))
    cleanup.append(app)
    app.wait_log(r"error: room-full: The Room Is Full", 20)
    app.action("back", None)
    app.wait_log(r"view: start", 5)
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")
    first.kill()

    locked = Server("--auth-secret", "s3cret-s3cret-s3cret-s3cret-s3cret")
    cleanup.append(locked)
    app = App(*window_args(locked, "locked", "win"))
    cleanup.append(app)
    app.wait_log(r"error: unauthorized: Not Allowed In", 20)
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")


@test
def test_narrow(cleanup):
    """A narrow window (a phone, half a screen) stacks the tiles in one
    column, and the chat folds over them instead of squeezing them."""
    server = Server()
    cleanup.append(server)
    app = App(*window_args(server, "narrow", "win"), settings={"window-width": "360", "window-height": "720"})
    cleanup.append(app)
    bob = Peer(server.url, "narrow", "bob", "--duration", "60", video=MOVING_BARS)
    cleanup.append(bob)
    carol = Peer(server.url, "narrow", "carol", "--duration", "60", video="videotestsrc is-live=true pattern=pinwheel")
    cleanup.append(carol)
    app.wait_log(r"peer bob: video", 40)
    app.wait_log(r"peer carol: video", 40)
    top = dict(x0=0.02, y0=0.1, x1=0.98, y1=0.45)
    bottom = dict(x0=0.02, y0=0.5, x1=0.98, y1=0.85)
    shot = app.shot_until(lambda s: len(s.bars(**top)) == 3, 10, "bob's bars not in the top half")
    check(shot.width <= 400, f"the window is {shot.width} wide, expected the remembered 360")
    check(not shot.bars(**bottom), f"bars in the bottom half: the tiles are not stacked {shot.path}")
    app.action("chat", None)
    app.action("send-chat", "narrow hello")
    app.wait_log(r"chat sent: narrow hello", 10)
    # A sliver of the tiles stays visible at the left edge, as AdwFlap does.
    folded = app.shot_until(lambda s: not s.bars(x0=0.2, y0=0.1, x1=0.98, y1=0.45), 5,
                            "the chat did not cover the tiles")
    check(folded.width <= 400, f"the chat widened the window to {folded.width}")
    check(app.stop() == 0, f"exit code {app.proc.returncode}\n{app.tail()}")


if __name__ == "__main__":
    sys.exit(main())
