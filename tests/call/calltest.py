"""Helpers for the `call` suite: real palaver-server and palaver processes
on 127.0.0.1, their JSON summary lines and stderr logs.

Every process is started with a hard timeout and killed at the end of the
test, so a hang fails the test instead of holding the suite.
"""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

SERVER = os.environ.get("PALAVER_SERVER", "palaver-server")
CLIENT = os.environ.get("PALAVER", "palaver")
WITHOUT = os.environ.get("PALAVER_WITHOUT", "palaver-without")

# Small frames keep two or three encoders and decoders well inside a shared
# 2-core CI machine; 60 frames take 2 s at 30 fps.
VIDEO = "videotestsrc is-live=true pattern=ball"
AUDIO = "audiotestsrc is-live=true wave=sine freq=440"
SIZE = ["--width", "320", "--height", "240", "--framerate", "30", "--bitrate", "300"]


class TestFailure(Exception):
    pass


def check(condition, message):
    if not condition:
        raise TestFailure(message)


def wait_until(condition, timeout, message, poll=0.1):
    """Polls condition() until it is true; fails with message after timeout s."""
    deadline = time.monotonic() + timeout
    while not condition():
        check(time.monotonic() < deadline, message() if callable(message) else message)
        time.sleep(poll)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, *args, port=0):
        self.log = tempfile.NamedTemporaryFile(prefix="palaver-server-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([SERVER, "--host", "127.0.0.1", "--port", str(port), *args],
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        m = re.match(r"listening on http://127\.0\.0\.1:(\d+)", line)
        check(m, f"palaver-server did not start: {line!r}")
        self.port = int(m.group(1))
        self.url = f"ws://127.0.0.1:{self.port}/ws"

    def health(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=5) as r:
            return json.loads(r.read())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


class Peer:
    """One `palaver --headless` process."""

    def __init__(self, url, room, peer, *args, video=VIDEO, audio=AUDIO, timeout=60, without=None, env=None):
        self.name = peer
        self.err = tempfile.NamedTemporaryFile(prefix=f"palaver-{peer}-", suffix=".log", delete=False)
        # without: element factories taken out of GStreamer's registry first
        # (tests/call/palaver_without.cpp).
        program = [WITHOUT, ",".join(without)] if without else [CLIENT]
        cmd = [*program, "--headless", "--server", url, "--room", room]
        if peer:
            cmd += ["--peer", peer]
        if video is not None:
            cmd += ["--video-source", video]
        if audio is not None:
            cmd += ["--audio-source", audio]
        # Media stays on loopback (libnice skips it unless told).
        cmd += SIZE + ["--stats-interval", "1", "--ice-address", "127.0.0.1", *args]
        env = {**os.environ, **(env or {})}
        env.setdefault("GST_DEBUG", "palaver-*:4")
        env["GST_DEBUG_NO_COLOR"] = "1"
        self.cmd = cmd
        self.timeout = timeout
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, text=True, env=env)
        self.summary = None
        self.code = None

    def wait(self):
        """Waits for the exit; returns (exit code, summary dict)."""
        left = max(1.0, self.timeout - (time.monotonic() - self.started))
        try:
            out, _ = self.proc.communicate(timeout=left)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            out, _ = self.proc.communicate()
            raise TestFailure(f"{self.name}: no exit within {self.timeout} s (hang)\n{self.stderr_tail()}")
        self.code = self.proc.returncode
        lines = [l for l in out.splitlines() if l.strip()]
        check(len(lines) == 1, f"{self.name}: expected one JSON line on stdout, got {out!r}\n{self.stderr_tail()}")
        try:
            self.summary = json.loads(lines[0])
        except ValueError as e:
            raise TestFailure(f"{self.name}: stdout is not JSON ({e}): {lines[0]!r}")
        return self.code, self.summary

    def signal(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)

    def stderr(self):
        with open(self.err.name, encoding="utf-8", errors="replace") as f:
            return f.read()

    def stderr_tail(self, n=4000):
        text = self.stderr()
        return text[-n:]

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def remote(summary, peer):
    peers = summary.get("peers", {})
    check(peer in peers, f"{summary.get('peer')}: no entry for {peer} in {json.dumps(summary)}")
    return peers[peer]


def check_media(summary, peer, min_frames=60, codec="VP8", width=320, height=240, audio_level=True):
    """The summary of `summary['peer']` shows real media from `peer`."""
    me = summary.get("peer")
    r = remote(summary, peer)
    check(r["video_frames"] >= min_frames,
          f"{me} decoded {r['video_frames']} video frames from {peer}, expected >= {min_frames}")
    check(r["audio_buffers"] > 0, f"{me} decoded no audio from {peer}")
    # audiotestsrc's sine at its default volume 0.8: about -2 dBFS.
    if audio_level:
        check(r["audio_level_db"] is not None and r["audio_level_db"] > -20,
              f"{me} hears {peer} at {r['audio_level_db']} dBFS, expected the tone")
    check(r["video_codec"] == codec, f"{me} received {r['video_codec']} from {peer}, expected {codec}")
    check((r["width"], r["height"]) == (width, height),
          f"{me} received {r['width']}x{r['height']} from {peer}, expected {width}x{height}")
    check(r["connected_ms"] is not None and r["connected_ms"] > 0, f"{me}: no connected_ms for {peer}")
    check(r["first_frame_ms"] is not None and r["first_frame_ms"] >= r["connected_ms"] - 1000,
          f"{me}: first_frame_ms {r['first_frame_ms']} for {peer} is not after the connection")
    s = r["stats"]
    check(s["bitrate_in_kbps"] is not None and s["bitrate_in_kbps"] > 10,
          f"{me}: bitrate_in_kbps from {peer} is {s['bitrate_in_kbps']}")
    check(s["bitrate_out_kbps"] is not None and s["bitrate_out_kbps"] > 10,
          f"{me}: bitrate_out_kbps to {peer} is {s['bitrate_out_kbps']}")
    # libnice may settle on the TCP pair of loopback; either is a real path.
    check(s["candidate_pair"] and re.search(r"/(udp|tcp) <-> \w+/(udp|tcp)", s["candidate_pair"]),
          f"{me}: no selected candidate pair with {peer}: {s['candidate_pair']}")
    return r


def have_element(name):
    # `gst-inspect-1.0 --exists` says no for libnice's elements in 1.22.
    return subprocess.run(["gst-inspect-1.0", name], stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


class FakePeer:
    """A peer written by someone else: a bare WebSocket client that speaks
    docs/protocol.md and sends whatever the test tells it to."""

    def __init__(self, port):
        import base64
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(4096)
            check(chunk, "fake peer: no upgrade answer")
            data += chunk
        head, self.buf = data.split(b"\r\n\r\n", 1)
        check(b" 101 " in head.split(b"\r\n")[0], f"fake peer: upgrade refused: {head[:80]!r}")

    def _frame(self, opcode, payload):
        import struct
        mask = os.urandom(4)
        n = len(payload)
        head = bytes([0x80 | opcode])
        if n < 126:
            head += bytes([0x80 | n])
        elif n < 65536:
            head += bytes([0x80 | 126]) + struct.pack("!H", n)
        else:
            head += bytes([0x80 | 127]) + struct.pack("!Q", n)
        return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

    def send(self, message):
        self.sock.sendall(self._frame(1, json.dumps(message).encode()))

    def _need(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("closed")
            self.buf += chunk

    def recv(self, timeout):
        import struct
        self.sock.settimeout(timeout)
        while True:
            self._need(2)
            opcode, n, off = self.buf[0] & 0x0F, self.buf[1] & 0x7F, 2
            if n == 126:
                self._need(4)
                n, off = struct.unpack("!H", self.buf[2:4])[0], 4
            elif n == 127:
                self._need(10)
                n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
            self._need(off + n)
            payload, self.buf = self.buf[off:off + n], self.buf[off + n:]
            if opcode == 1:
                return json.loads(payload)
            if opcode == 9:
                self.sock.sendall(self._frame(10, payload))
            if opcode == 8:
                raise EOFError("closed")

    def until(self, type_, timeout=15):
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            check(left > 0, f"fake peer: no {type_} within {timeout} s")
            m = self.recv(left)
            if m.get("type") == type_:
                return m

    def kill(self):
        self.sock.close()


TESTS = {}


def test(fn):
    TESTS[fn.__name__.removeprefix("test_").replace("_", "-")] = fn
    return fn


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in TESTS:
        print(f"usage: {sys.argv[0]} {{{','.join(TESTS)}}}", file=sys.stderr)
        return 2
    name = sys.argv[1]
    missing = [e for e in ("webrtcbin", "nicesrc", "vp8enc", "vp8dec", "opusenc")
               if not have_element(e)]
    if missing:
        print(f"SKIP: GStreamer elements missing: {missing}")
        return 77
    cleanup = []
    try:
        result = TESTS[name](cleanup)
        if result == 77:
            return 77
        print(f"PASS {name}")
        return 0
    except TestFailure as e:
        print(f"FAIL {name}: {e}")
        return 1
    finally:
        for thing in reversed(cleanup):
            try:
                thing.kill()
            except Exception:
                pass
