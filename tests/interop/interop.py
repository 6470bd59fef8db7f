"""Helpers for the `interop` suite: a network namespace per test, and in it
palaver-server, `palaver --headless` peers and the system's Chromium and
Firefox (driven by browsers.js), with every log kept in one folder.

The namespace (README of this folder): browsers gather no ICE candidates on
loopback alone, so the test's processes run in a namespace of their own with
one veth address (10.77.0.2/24) and a default route through the veth's other
end (10.77.0.1), which sits in a second namespace of its own with forwarding
off: packets to anywhere else go nowhere, nothing reaches the host's network
or another test's, and the host's routes are never touched. Pages load from
http://127.0.0.1 (a secure context, so getUserMedia works) and media flows
over 10.77.0.2.

Everything started is killed at the end, also on failure and on SIGTERM
(meson's timeout): every process left in the namespace, then both
namespaces are deleted.
"""
import atexit
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SERVER = os.environ.get("PALAVER_SERVER", "palaver-server")
CLIENT = os.environ.get("PALAVER", "palaver")
# meson sets PALAVER_WEB_ROOT to the source tree's web/; INTEROP_WEB_ROOT
# points a run at another copy (`INTEROP_WEB_ROOT=... meson test ...`).
WEB_ROOT = os.environ.get("INTEROP_WEB_ROOT") or os.environ.get("PALAVER_WEB_ROOT") or \
    os.path.join(HERE, "..", "..", "web")
NODE = os.environ.get("NODE", "node")
NODE_MODULES = os.path.join(HERE, "node_modules")

VIDEO = "videotestsrc is-live=true pattern=ball"
AUDIO = "audiotestsrc is-live=true wave=sine freq=440"
SIZE = ["--width", "320", "--height", "240", "--framerate", "30", "--bitrate", "300"]

ADDRESS = "10.77.0.2"
GATEWAY = "10.77.0.1"


class TestFailure(Exception):
    pass


class Unavailable(TestFailure):
    """Something the suite needs is not there: a failure, with the reason."""


def check(condition, message):
    if not condition:
        raise TestFailure(message() if callable(message) else message)


def wait_until(condition, timeout, message, poll=0.25):
    """Polls condition() until it returns a true value, which is returned;
    fails with message after timeout s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        check(time.monotonic() < deadline, message)
        time.sleep(poll)


def log(text):
    print(f"[{time.strftime('%H:%M:%S')}] {text}", flush=True)


class LogDir:
    def __init__(self, test):
        self.path = tempfile.mkdtemp(prefix=f"palaver-interop-{test}-")

    def file(self, name):
        return os.path.join(self.path, name)


def _run(cmd, what):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        raise Unavailable(f"{what}: `{' '.join(cmd)}` failed ({r.returncode}): {r.stdout.strip()}")
    return r.stdout


class Netns:
    """Two namespaces joined by a veth pair: NAME (the test's, ADDRESS, a
    default route) and NAME-gw (GATEWAY, nothing else)."""

    def __init__(self):
        if os.geteuid() != 0:
            raise Unavailable(
                "the interop suite makes a network namespace (ip netns add, veth) and needs root: "
                f"it runs as uid {os.geteuid()}. Run it as root (CI does), e.g. "
                "`sudo meson test -C build --suite interop`; browsers gather no ICE candidates "
                "on loopback alone, so there is no unprivileged fallback")
        if not shutil.which("ip"):
            raise Unavailable("`ip` not found: install iproute2")
        pid = os.getpid()
        self.name = f"palaver-interop-{pid}"
        self.gw = f"{self.name}-gw"
        self.veth = (f"pvi{pid}a", f"pvi{pid}b")
        self.made = False
        atexit.register(self.remove)
        try:
            _run(["ip", "netns", "add", self.name], "making the network namespace")
            self.made = True
            _run(["ip", "netns", "add", self.gw], "making the gateway namespace")
            _run(["ip", "link", "add", self.veth[0], "netns", self.name, "type", "veth",
                  "peer", "name", self.veth[1], "netns", self.gw], "making the veth pair")
            for ns, dev, addr in ((self.name, self.veth[0], ADDRESS), (self.gw, self.veth[1], GATEWAY)):
                _run(["ip", "-n", ns, "addr", "add", f"{addr}/24", "dev", dev], "addressing the veth")
                _run(["ip", "-n", ns, "link", "set", dev, "up"], "bringing the veth up")
                _run(["ip", "-n", ns, "link", "set", "lo", "up"], "bringing loopback up")
            _run(["ip", "-n", self.name, "route", "add", "default", "via", GATEWAY], "adding the default route")
            # No forwarding in the gateway: nothing goes further than it.
            _run(["ip", "netns", "exec", self.gw, "sysctl", "-q", "-w", "net.ipv4.ip_forward=0"],
                 "turning forwarding off in the gateway namespace")
        except Exception:
            self.remove()
            raise

    def prefix(self):
        return ["ip", "netns", "exec", self.name]

    def pids(self):
        pids = []
        for ns in (self.name, self.gw):
            r = subprocess.run(["ip", "netns", "pids", ns], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
            pids += [int(p) for p in r.stdout.split()]
        return pids

    def remove(self):
        """Kills what still runs in the namespaces and deletes them
        (idempotent)."""
        if not self.made:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            if not pids:
                break
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.monotonic() + 3
            while self.pids() and time.monotonic() < deadline:
                time.sleep(0.1)
        for ns in (self.name, self.gw):
            subprocess.run(["ip", "netns", "delete", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.made = False


# Where GnuTLS (glib-networking, under libsoup: palaver's WebSocket) reads
# the system's trusted certificates on Debian.
SYSTEM_CA_FILE = "/etc/ssl/certs/ca-certificates.crt"


def make_certificate(logs):
    """A throwaway self-signed certificate for 127.0.0.1 in the log folder
    (as tests/server/test_tls.cpp makes one): (cert, key) paths."""
    if not shutil.which("openssl"):
        raise Unavailable("openssl not found: install openssl")
    cert, key = logs.file("cert.pem"), logs.file("key.pem")
    _run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
          "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1", "-keyout", key, "-out", cert],
         "making a self-signed certificate")
    return cert, key


class Proc:
    """A process in the namespace, in a process group of its own."""

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=10)


class Server(Proc):
    def __init__(self, ns, logs, *args, name="server"):
        self.ns, self.logs, self.args, self.name = ns, logs, args, name
        self.start()

    def start(self, port=0):
        self.log = open(self.logs.file(f"{self.name}.log"), "a")
        cmd = [*self.ns.prefix(), SERVER, "--host", "127.0.0.1", "--port", str(port),
               "--web-root", os.path.abspath(WEB_ROOT), *self.args]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.log, text=True,
                                     start_new_session=True)
        line = self.proc.stdout.readline()
        # https with --tls-cert/--tls-key: then wss:// and https://.
        m = re.match(r"listening on (https?)://127\.0\.0\.1:(\d+)", line)
        check(m, f"palaver-server did not start: {line!r} (log {self.log.name})")
        self.tls = m.group(1) == "https"
        self.port = int(m.group(2))
        self.url = f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/ws"
        self.http = f"{m.group(1)}://127.0.0.1:{self.port}"

    def page(self, room, peer, **extra):
        q = f"room={room}&peer={peer}" + "".join(f"&{k}={v}" for k, v in extra.items())
        return f"{self.http}/?{q}"


class Palaver(Proc):
    """One `palaver --headless` in the namespace, gathering on the veth.

    `ca_file`: a certificate palaver trusts for wss:// (a self-signed
    server's). palaver has no option for that: it trusts what GnuTLS trusts,
    the system's SYSTEM_CA_FILE, so this palaver runs in a mount namespace of
    its own where that file is `ca_file` (a bind mount nothing else sees;
    the host's file is never touched)."""

    def __init__(self, ns, logs, url, room, peer, *args, timeout=90, video=VIDEO, audio=AUDIO, ca_file=None):
        self.name = peer
        self.err_path = logs.file(f"palaver-{peer}.log")
        self.err = open(self.err_path, "a")
        trust = []
        if ca_file:
            trust = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                     f'mount --bind "$0" {SYSTEM_CA_FILE} && exec "$@"', os.path.abspath(ca_file)]
        cmd = [*ns.prefix(), *trust, CLIENT, "--headless", "--server", url, "--room", room, "--peer", peer,
               "--video-source", video, "--audio-source", audio, *SIZE, "--stats-interval", "2", *args]
        env = {**os.environ, "GST_DEBUG": os.environ.get("GST_DEBUG", "palaver-*:5,webrtcbin:4"),
               "GST_DEBUG_NO_COLOR": "1"}
        self.err.write(f"$ {' '.join(cmd)}\n")
        self.err.flush()
        self.timeout = timeout
        self.started = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.err, text=True, env=env,
                                     start_new_session=True)
        self.summary = None

    def stderr(self):
        with open(self.err_path, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_log(self, pattern, timeout, what):
        return wait_until(lambda: re.search(pattern, self.stderr()), timeout,
                          lambda: f"palaver {self.name}: {what} not within {timeout} s (log {self.err_path})")

    def stop(self):
        """SIGTERM, then the summary."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait()

    def wait(self):
        left = max(1.0, self.timeout - (time.monotonic() - self.started))
        try:
            out, _ = self.proc.communicate(timeout=left)
        except subprocess.TimeoutExpired:
            self.kill()
            raise TestFailure(f"palaver {self.name}: no exit within {self.timeout} s (log {self.err_path})")
        lines = [l for l in out.splitlines() if l.strip()]
        check(len(lines) == 1, f"palaver {self.name}: expected one JSON line on stdout, got {out!r}")
        self.summary = json.loads(lines[0])
        with open(self.err_path + ".summary.json", "w") as f:
            f.write(lines[0] + "\n")
        return self.proc.returncode, self.summary

    def connections_to(self, peer):
        """How many webrtcbins this palaver made for `peer` (the engine's
        'new peer connection' line)."""
        return len(re.findall(rf"peer {re.escape(peer)}: new peer connection", self.stderr()))


class Browsers(Proc):
    """browsers.js: Chromium and Firefox in the namespace, as its children."""

    def __init__(self, ns, logs):
        self.logs = logs
        if not os.path.isdir(os.path.join(NODE_MODULES, "playwright-core")) or \
                not os.path.isdir(os.path.join(NODE_MODULES, "puppeteer-core")):
            raise Unavailable(f"the browser drivers are not installed in {NODE_MODULES}: "
                              "run tests/interop/install.sh (make check does)")
        if not shutil.which(NODE):
            raise Unavailable("node not found: install nodejs")
        for exe, pkg in (("/usr/bin/chromium", "chromium"), ("/usr/bin/firefox-esr", "firefox-esr")):
            if not os.access(exe, os.X_OK):
                raise Unavailable(f"{exe} not found: install the Debian package {pkg}")
        self.err_path = logs.file("browsers.log")
        self.err = open(self.err_path, "a")
        env = {**os.environ, "INTEROP_LOGDIR": logs.path, "NODE_PATH": NODE_MODULES,
               "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1", "PUPPETEER_SKIP_DOWNLOAD": "1",
               "PLAYWRIGHT_BROWSERS_PATH": "/nonexistent", "PUPPETEER_CACHE_DIR": logs.file("puppeteer-cache"),
               "DEBUG": "pw:browser", "HOME": logs.file("home")}
        os.makedirs(env["HOME"], exist_ok=True)
        # No display: the browsers run headless.
        env.pop("DISPLAY", None)
        env.pop("WAYLAND_DISPLAY", None)
        # Answers come on a pipe of their own: the browsers write to stdout.
        rfd, wfd = os.pipe()
        env["INTEROP_ANSWER_FD"] = str(wfd)
        self.proc = subprocess.Popen([*ns.prefix(), NODE, os.path.join(HERE, "browsers.js")],
                                     stdin=subprocess.PIPE, stdout=self.err, stderr=self.err, pass_fds=(wfd,),
                                     text=True, env=env, cwd=HERE, start_new_session=True)
        os.close(wfd)
        self.answers = os.fdopen(rfd, "r")
        self.sel = selectors.DefaultSelector()
        self.sel.register(self.answers, selectors.EVENT_READ)
        self.next_id = 0
        self.kinds = {}

    def call(self, timeout=30, **request):
        self.next_id += 1
        request["id"] = self.next_id
        try:
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
        except BrokenPipeError:
            raise TestFailure(f"the browser driver died (log {self.err_path}):\n{self.tail()}")
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TestFailure(f"browser driver: no answer to {request['op']} {request.get('name', '')} "
                                  f"within {timeout} s (log {self.err_path})")
            if not self.sel.select(left):
                continue
            line = self.answers.readline()
            if not line:
                raise TestFailure(f"the browser driver exited ({self.proc.poll()}) during {request['op']} "
                                  f"(log {self.err_path}):\n{self.tail()}")
            answer = json.loads(line)
            if answer.get("id") != request["id"]:
                continue
            if not answer["ok"]:
                raise TestFailure(f"browser driver: {request['op']} {request.get('name', '')}: {answer['error']}")
            return answer["value"]

    def tail(self, n=3000):
        with open(self.err_path, encoding="utf-8", errors="replace") as f:
            return f.read()[-n:]

    def launch(self, name, browser, mdns=True, grant_media=True, insecure_certs=False):
        """A browser that cannot be started fails the test with the reason.
        `insecure_certs`: accept any certificate (a self-signed server's)."""
        try:
            version = self.call(timeout=90, op="launch", name=name, browser=browser, mdns=mdns,
                                grantMedia=grant_media, insecureCerts=insecure_certs)
        except TestFailure as e:
            raise Unavailable(f"{browser} could not be started: {e}")
        self.kinds[name] = browser
        log(f"{name}: {version} (mDNS hiding {'on' if mdns else 'off'}, media permission "
            f"{'granted' if grant_media else 'not granted'}"
            f"{', any certificate accepted' if insecure_certs else ''})")
        return version

    def open(self, name, url):
        self.call(timeout=45, op="open", name=name, url=url)

    def eval(self, name, expr, timeout=30):
        return self.call(timeout=timeout, op="eval", name=name, expr=expr)

    def close(self, name):
        self.call(timeout=30, op="close", name=name)

    def quit(self):
        if self.proc.poll() is None:
            try:
                self.call(timeout=20, op="quit")
            except TestFailure:
                pass


class Page:
    """The web client in one browser, through window.palaver (the
    automation contract of web/)."""

    def __init__(self, browsers, name, server, room, peer, **query):
        self.b, self.name, self.peer = browsers, name, peer
        self.kind = browsers.kinds[name]
        browsers.open(name, server.page(room, peer, **query))
        # The client may take a moment to define window.palaver.
        wait_until(lambda: self.eval("typeof window.palaver === 'object' && window.palaver !== null"), 15,
                   f"{peer} ({self.kind}): no window.palaver on the page")

    def eval(self, expr, timeout=30):
        return self.b.eval(self.name, expr, timeout)

    def state(self):
        return self.eval("window.palaver.state")

    def wait_joined(self, timeout=20):
        wait_until(lambda: self.state() == "joined", timeout,
                   lambda: f"{self.peer} ({self.kind}): state {self.state()!r}, not joined within {timeout} s; "
                           f"lastError {self.eval('window.palaver.lastError')}")

    def peers(self):
        return {p["id"]: p for p in self.eval("window.palaver.peers()")}

    def stats(self, peer):
        return self.eval(f"window.palaver.stats({json.dumps(peer)})")

    def chat(self):
        return self.eval("window.palaver.chat")

    def send_chat(self, text):
        self.eval(f"window.palaver.sendChat({json.dumps(text)})")

    def kill(self):
        """At the end of a test (cleanup): what the page knows goes to the
        log folder."""
        if self.b.proc.poll() is None:
            self.dump()

    def dump(self):
        """What the page knows, for the log folder."""
        try:
            state = self.eval("({state: window.palaver.state, peerId: window.palaver.peerId, "
                              "peers: window.palaver.peers(), chat: window.palaver.chat, "
                              "lastError: window.palaver.lastError, log: window.palaver.log, "
                              "text: document.body.innerText})", timeout=10)
            for p in state.get("peers") or []:
                try:
                    p["stats"] = self.stats(p["id"])
                except TestFailure as e:
                    p["stats"] = str(e)
        except TestFailure as e:
            state = {"error": str(e)}
        with open(self.b.logs.file(f"{self.name}-{self.peer}-page.json"), "w") as f:
            json.dump(state, f, indent=1)
        return state


def show(logs):
    """The summaries and page states, then where the full logs are."""
    for f in sorted(os.listdir(logs.path)):
        if f.endswith(".summary.json") or f.endswith("-page.json"):
            with open(logs.file(f), encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            print(f"--- {f}\n{text[:3000]}")
    print(f"logs of the browsers, palaver and the server: {logs.path}")


TESTS = {}


def test(fn):
    TESTS[fn.__name__.removeprefix("test_").replace("_", "-")] = fn
    return fn


def become_subreaper():
    """Browsers whose driver died are reparented to this process rather
    than to init, so that the end of the test reaps them."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except Exception:
        pass


def reap():
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in TESTS:
        print(f"usage: {sys.argv[0]} {{{','.join(TESTS)}}}", file=sys.stderr)
        return 2
    name = sys.argv[1]
    become_subreaper()
    # meson's timeout sends SIGTERM: unwind so that everything is cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"FAIL {name}: SIGTERM (timeout?)"))
    logs = LogDir(name)
    log(f"logs: {logs.path}")
    cleanup = []
    ok = failed = False
    fail_message = None
    start = time.monotonic()
    try:
        TESTS[name](logs, cleanup)
        ok = True
        print(f"PASS {name} in {time.monotonic() - start:.1f} s")
        return 0
    except TestFailure as e:
        print(f"FAIL {name}: {e}")
        fail_message = str(e)
        failed = True
        return 1
    except SystemExit:
        failed = True
        raise
    except Exception:
        import traceback
        traceback.print_exc()
        print(f"FAIL {name}: an error in the test itself (above)")
        failed = True
        return 1
    finally:
        t0 = time.monotonic()
        for thing in reversed(cleanup):
            try:
                thing.quit() if isinstance(thing, Browsers) else None
            except Exception:
                pass
            try:
                thing.remove() if isinstance(thing, Netns) else thing.kill()
            except Exception as e:
                print(f"cleanup: {e}")
        reap()
        log(f"cleanup took {time.monotonic() - t0:.1f} s")
        if failed:
            show(logs)
            # Again at the end, where meson's last-100-lines excerpt shows it.
            if fail_message:
                print(f"FAIL {name}: {fail_message}")
        if ok and not os.environ.get("INTEROP_KEEP_LOGS"):
            shutil.rmtree(logs.path, ignore_errors=True)
