#!/usr/bin/env python3
"""Main-loop stalls of the call window (bench/gui/README.md, "Main-loop
stalls"; issue 8: no stall over 50 ms from a join, a hang-up or a failed
call).

The window (`palaver` without --headless) runs with
libpalaver-stall-monitor.so preloaded (bench/gui/stall_monitor.cpp): a 5 ms
timeout on the default main context that logs how late it runs. This
script drives the window through scenarios with the gui suite's harness
(tests/gui/test_gui.py: D-Bus actions, log lines), marks each phase with
time.monotonic() (CLOCK_MONOTONIC, the clock of g_get_monotonic_time; the
monitor's first line gives both and is checked), and attributes each stall
to the phase in which it began.

Scenarios (each in a fresh window that starts on its start view, the room
in GSettings, so that a phase never includes GTK's startup):
  call        a peer waits in the room; join (until its first video), a
              steady call, hang up (win.hang-up), join again, SIGINT (the
              app hangs up and closes). No source options: the camera and
              microphone are probed, as for a user (quick here: no camera,
              no sound server).
  unreachable nobody listens on the server's port: join, the error view,
              Try Again (win.retry), the error again.
  room-full   palaver-server --max-room-peers 1 with a peer in: join, the
              error view, Back.
  slow-sound  the microphone probe meets a sound server that accepts and
              never answers (PULSE_SERVER=tcp:127.0.0.1:PORT, closed after
              --pulse-hold s): join an empty room.
  hung-server (--hung, slow) in a call, palaver-server is stopped
              (SIGSTOP) until the window's liveness check gives it up
              (25 s), then continued.

Builds are interleaved (before, after, after, before, ...). The server and
the headless peers come from the --after build in every run: only the
window differs.

Usage (from the repository):
  xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \\
    python3 bench/gui/stall_bench.py --before /work/wt-before/build --after build -n 5
"""
import argparse
import json
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "gui"))
sys.path.insert(0, os.path.join(ROOT, "tests", "call"))
import calltest  # noqa: E402
import test_gui  # noqa: E402
from calltest import Peer, Server, TestFailure, free_port, wait_until  # noqa: E402
from test_gui import MOVING_BARS, SMALL, App  # noqa: E402

SCENARIOS = ["call", "unreachable", "room-full", "slow-sound"]
# Phases reported per scenario, in order; (phase, what its latency is).
REPORTED = {
    "call": [("join", "to the peer's first video"), ("in-call", None), ("hang-up", "to the start view"),
             ("rejoin", "to the peer's first video"), ("quit", "SIGINT to exit")],
    "unreachable": [("join", "to the error view"), ("retry", "to the error view")],
    "room-full": [("join", "to the error view"), ("back", "to the start view")],
    "slow-sound": [("join", "to \"joined room\"")],
    "hung-server": [("server-stopped", "to \"server lost\"")],
}


class Build:
    def __init__(self, label, path):
        self.label = label
        self.dir = os.path.abspath(path)
        self.palaver = os.path.join(self.dir, "src", "app", "palaver")
        self.server = os.path.join(self.dir, "signaling-server", "palaver-server")
        for f in (self.palaver,):
            if not os.access(f, os.X_OK):
                sys.exit(f"{label}: no {f} (meson compile -C {path} src/app/palaver data/gschemas.compiled)")


class Run:
    """One scenario in one window: its phase marks and what the monitor saw."""

    def __init__(self, scenario, build, monitor, threshold_ms):
        self.scenario = scenario
        self.build = build
        self.marks = []        # (phase, monotonic s)
        self.latency = {}      # phase -> s
        self.error = None
        fd, self.stall_log = tempfile.mkstemp(prefix=f"stalls-{scenario}-{build.label}-", suffix=".txt")
        os.close(fd)
        os.unlink(self.stall_log)  # the monitor appends; start empty
        self.env = {
            "LD_PRELOAD": monitor,
            "STALL_LOG": self.stall_log,
            "STALL_THRESHOLD_MS": str(threshold_ms),
        }

    def interval_ms(self):
        return self.start[3] / 1000 if self.start else None

    def mark(self, phase):
        self.marks.append((phase, time.monotonic()))

    def done(self, phase):
        """The phase's latency: from its mark to now."""
        start = dict(self.marks)[phase]
        self.latency[phase] = time.monotonic() - start

    def window(self, settings, env=None, args=()):
        test_gui.CLIENT = self.build.palaver
        self.mark("startup")
        app = App("--ice-address", "127.0.0.1", *SMALL, *args, settings=settings, env={**self.env, **(env or {})})
        app.wait_log(r"view: start", 20)
        return app

    # ---- what the monitor wrote ----------------------------------------------

    def read(self):
        self.start = self.end = None
        self.stalls = []   # (due s, lateness ms)
        self.premain = None
        self.stuck = {}    # due µs -> last seen still stuck, µs
        if not os.path.exists(self.stall_log):
            return
        seen = set()
        with open(self.stall_log) as f:
            for line in f:
                w = line.split()
                if w[0] == "stuck":
                    self.stuck[int(w[1])] = int(w[2])
                elif w[0] == "start":
                    self.start = [int(x) for x in w[1:]]
                elif w[0] == "late":
                    due, ran, late, gap = (int(x) for x in w[1:])
                    seen.add(due)
                    if gap == 0:
                        # The first dispatch: the time from the monitor's
                        # constructor to the main loop's first iteration
                        # (process startup), not a stall of a running loop.
                        self.premain = late / 1000
                    else:
                        self.stalls.append((due / 1e6, late / 1000))
                elif w[0] == "end":
                    self.end = [int(x) for x in w[1:]]
        # A loop still blocked when the process was killed: at least until
        # the watchdog's last word.
        for due, now in self.stuck.items():
            if due not in seen:
                self.stalls.append((due / 1e6, (now - due) / 1000))

    def phases(self):
        """{phase: (max ms, n > 16 ms, n > 50 ms)}; a stall belongs to the
        phase in which it began (its due time)."""
        out = {p: [0.0, 0, 0] for p, _ in self.marks}
        for due, late in self.stalls:
            phase = None
            for p, t in self.marks:
                if t <= due:
                    phase = p
            if phase is None:
                continue
            s = out[phase]
            s[0] = max(s[0], late)
            s[1] += late > 16
            s[2] += late > 50
        return out


# ---- scenarios ---------------------------------------------------------------

def settle(seconds):
    time.sleep(seconds)


def phase(run, app, name, action, until, timeout):
    """One measured phase: mark it, activate the window action, wait for the
    log line that ends it, keep its latency."""
    m = app.mark()
    run.mark(name)
    app.action(action)
    app.wait_log(until, timeout, m)
    run.done(name)


def window_with_peer(run, cleanup, room):
    """A server, a headless peer `bob` in `room`, and the window on its start
    view with that room filled in; returns (server, app)."""
    server = Server()
    cleanup.append(server)
    bob = Peer(server.url, room, "bob", "--duration", "300", video=MOVING_BARS, timeout=300)
    cleanup.append(bob)
    wait_until(lambda: server.health()["peers"] >= 1, 20, "bob never joined")
    app = run.window({"server-url": f"'{server.url}'", "room": f"'{room}'", "display-name": "'win'"})
    cleanup.append(app)
    settle(1.0)
    return server, app


def scenario_call(run, cleanup, opts):
    server, app = window_with_peer(run, cleanup, "stalls")
    phase(run, app, "join", "join", r"peer bob: video \d+x\d+", 40)
    run.mark("in-call")
    settle(opts.call_seconds)
    phase(run, app, "hang-up", "hang-up", r"view: start", 10)
    settle(1.5)
    phase(run, app, "rejoin", "join", r"peer bob: video \d+x\d+", 40)
    run.mark("in-call-2")
    settle(2.0)
    run.mark("quit")
    code = app.stop()
    run.done("quit")
    if code != 0:
        raise TestFailure(f"exit code {code} after SIGINT")


def scenario_unreachable(run, cleanup, opts):
    port = free_port()
    app = run.window({"server-url": f"'ws://127.0.0.1:{port}/ws'", "room": "'gone'", "display-name": "'win'"})
    cleanup.append(app)
    settle(1.0)
    phase(run, app, "join", "join", r"error: server-unreachable", 30)
    settle(1.5)
    phase(run, app, "retry", "retry", r"error: server-unreachable", 30)
    settle(1.5)
    run.mark("quit")
    app.stop()


def scenario_room_full(run, cleanup, opts):
    server = Server("--max-room-peers", "1")
    cleanup.append(server)
    first = Peer(server.url, "small", "first", "--duration", "120", video=MOVING_BARS, timeout=120)
    cleanup.append(first)
    wait_until(lambda: server.health()["peers"] >= 1, 20, "the first peer never joined")
    app = run.window({"server-url": f"'{server.url}'", "room": "'small'", "display-name": "'win'"})
    cleanup.append(app)
    settle(1.0)
    phase(run, app, "join", "join", r"error: room-full", 30)
    settle(1.5)
    phase(run, app, "back", "back", r"view: start", 10)
    settle(1.0)
    run.mark("quit")
    app.stop()


class MuteSoundServer:
    """A TCP port that accepts and never answers; each connection is closed
    after `hold` s (libpulse then gives up). What a hung sound server looks
    like to the device monitor's pulse provider."""

    def __init__(self, hold):
        self.hold = hold
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            threading.Timer(self.hold, c.close).start()

    def kill(self):
        self.sock.close()


def scenario_slow_sound(run, cleanup, opts):
    pulse = MuteSoundServer(opts.pulse_hold)
    cleanup.append(pulse)
    server = Server()
    cleanup.append(server)
    app = run.window({"server-url": f"'{server.url}'", "room": "'quiet'", "display-name": "'win'"},
                     env={"PULSE_SERVER": f"tcp:127.0.0.1:{pulse.port}"})
    cleanup.append(app)
    settle(1.0)
    before = pulse.connections
    phase(run, app, "join", "join", r"joined room quiet as win", 30)
    settle(1.5)
    run.pulse_connections = pulse.connections - before
    run.mark("quit")
    app.stop()


def scenario_hung_server(run, cleanup, opts):
    server, app = window_with_peer(run, cleanup, "hung")
    phase(run, app, "join", "join", r"peer bob: video \d+x\d+", 40)
    settle(1.0)
    m = app.mark()
    run.mark("server-stopped")
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        app.wait_log(r"server lost", 45, m)
        run.done("server-stopped")
        settle(1.5)
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    run.mark("quit")
    app.stop()


RUNNERS = {
    "call": scenario_call,
    "unreachable": scenario_unreachable,
    "room-full": scenario_room_full,
    "slow-sound": scenario_slow_sound,
    "hung-server": scenario_hung_server,
}


def run_one(scenario, build, opts):
    run = Run(scenario, build, opts.monitor, opts.threshold)
    cleanup = []
    try:
        RUNNERS[scenario](run, cleanup, opts)
    except (TestFailure, OSError, ValueError, subprocess.TimeoutExpired) as e:
        run.error = str(e).splitlines()[0][:300]
        app = next((c for c in cleanup if isinstance(c, App)), None)
        if app and app.proc.poll() is None:
            # What the window is doing: every thread's stack.
            stacks = run.stall_log.replace(".txt", ".gdb.txt")
            with open(stacks, "w") as f:
                subprocess.run(["gdb", "-p", str(app.proc.pid), "-batch", "-ex", "thread apply all bt 30"],
                               stdout=f, stderr=subprocess.STDOUT, timeout=60)
            run.error += f" (stacks: {stacks})"
        print(f"  FAILED {scenario} {build.label}: {run.error}\n{app.tail(1500) if app else ''}", file=sys.stderr)
    finally:
        for thing in reversed(cleanup):
            try:
                thing.kill()
            except Exception:
                pass
    run.read()
    if run.start:
        mono, clock = run.start[0], run.start[1]
        if abs(mono - clock) > 2000:
            sys.exit(f"g_get_monotonic_time ({mono}) is not CLOCK_MONOTONIC ({clock})")
        launched = dict(run.marks).get("startup")
        if launched is not None and not (0 <= mono / 1e6 - launched < 10):
            sys.exit(f"the monitor's clock ({mono / 1e6:.3f}) is not Python's time.monotonic() ({launched:.3f})")
    elif not run.error:
        run.error = "the monitor wrote nothing (not preloaded?)"
    return run


# ---- report ------------------------------------------------------------------

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt_ms(x, threshold):
    if x is None:
        return "–"
    return f"<{threshold:g}" if x < threshold else f"{x:.0f}"


def report(runs, builds, scenarios, opts):
    th = opts.threshold
    opts.interval_ms = next((r.interval_ms() for r in runs if r.start), 5)
    lines = [f"Medians of {opts.runs} runs (stall = lateness of a {opts.interval_ms:g} ms timeout on the default main context; "
             f"samples below {th:g} ms are not recorded).", "",
             "| scenario | phase | build | max stall ms | stalls > 16 ms | stalls > 50 ms | worst run ms | latency s |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for scenario in scenarios:
        for phase, what in REPORTED[scenario]:
            for b in builds:
                rs = [r for r in runs if r.scenario == scenario and r.build is b and not r.error]
                if not rs:
                    lines.append(f"| {scenario} | {phase} | {b.label} | failed | | | | |")
                    continue
                ph = [r.phases().get(phase, [0, 0, 0]) for r in rs]
                mx = median([p[0] for p in ph])
                worst = max(p[0] for p in ph)
                n16 = median([p[1] for p in ph])
                n50 = median([p[2] for p in ph])
                lat = median([r.latency.get(phase) for r in rs])
                lat_s = f"{lat:.2f}" if lat is not None and what else ""
                lines.append(f"| {scenario} | {phase} | {b.label} | {fmt_ms(mx, th)} | {n16:g} | {n50:g} | "
                             f"{fmt_ms(worst, th)} | {lat_s} |")
    failed = [r for r in runs if r.error]
    lines.append("")
    lines.append(f"{len(runs) - len(failed)} runs measured, {len(failed)} failed"
                 + "".join(f"\n  failed: {r.scenario} {r.build.label}: {r.error}" for r in failed))
    premain = {b.label: median([r.premain for r in runs if r.build is b]) for b in builds}
    lines.append("startup to the first main-loop iteration (median, not a stall of a running loop): "
                 + ", ".join(f"{k} {v:.0f} ms" for k, v in premain.items() if v is not None))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--before", help="build directory of the old window (optional)")
    ap.add_argument("--after", default=os.path.join(ROOT, "build"), help="build directory of the new window")
    ap.add_argument("-n", "--runs", type=int, default=5)
    ap.add_argument("--scenarios", default=",".join(SCENARIOS),
                    help=f"comma-separated, of {','.join(RUNNERS)} (default: {','.join(SCENARIOS)})")
    ap.add_argument("--hung", action="store_true", help="add hung-server (about 35 s a run)")
    ap.add_argument("--monitor", help="libpalaver-stall-monitor.so (default: the --after build's)")
    ap.add_argument("--threshold", type=float, default=10, help="ms; lateness below is not recorded")
    ap.add_argument("--pulse-hold", type=float, default=0.5, help="s the mute sound server holds a connection")
    ap.add_argument("--call-seconds", type=float, default=3.0, help="steady call between join and hang-up")
    ap.add_argument("--warmup", type=int, default=1, help="unmeasured call runs per build first")
    ap.add_argument("--json", help="write every run's marks and stalls here")
    opts = ap.parse_args()

    after = Build("after", opts.after)
    builds = ([Build("before", opts.before)] if opts.before else []) + [after]
    opts.monitor = os.path.abspath(opts.monitor or os.path.join(after.dir, "bench", "libpalaver-stall-monitor.so"))
    if not os.path.exists(opts.monitor):
        sys.exit(f"no {opts.monitor} (meson compile -C {opts.after} bench/libpalaver-stall-monitor.so)")
    if not os.environ.get("DISPLAY") or not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        sys.exit("run under xvfb-run -a -s '-screen 0 1280x800x24' dbus-run-session -- (see --help)")
    scenarios = [s for s in opts.scenarios.split(",") if s]
    if opts.hung and "hung-server" not in scenarios:
        scenarios.append("hung-server")
    for s in scenarios:
        if s not in RUNNERS:
            sys.exit(f"unknown scenario {s}")
    # The server and the headless peers: the --after build's, in every run.
    calltest.SERVER = after.server
    calltest.CLIENT = after.palaver
    # As the gui suite runs the window (tests/gui/meson.build), and no
    # accessibility bus in this private session (window_bench.py too).
    os.environ.update({"GIO_USE_PROXY_RESOLVER": "dummy", "NO_AT_BRIDGE": "1", "GTK_A11Y": "none",
                       "PYTHONDONTWRITEBYTECODE": "1"})

    for _ in range(opts.warmup):
        for b in builds:
            print(f"warm-up: call {b.label}", file=sys.stderr)
            run_one("call", b, opts)

    runs = []
    began = time.monotonic()
    for i in range(opts.runs):
        order = builds if i % 2 == 0 else list(reversed(builds))
        for scenario in scenarios:
            for b in order:
                r = run_one(scenario, b, opts)
                runs.append(r)
                worst = max((late for _, late in r.stalls), default=0)
                print(f"[{time.monotonic() - began:5.0f} s] run {i + 1}/{opts.runs} {scenario:12} {b.label:6} "
                      f"worst {worst:6.1f} ms  " + "  ".join(
                          f"{p}={v[0]:.0f}" for p, v in r.phases().items() if v[0] > 0)
                      + (f"  FAILED {r.error}" if r.error else ""), file=sys.stderr)
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump([{"scenario": r.scenario, "build": r.build.label, "error": r.error, "marks": r.marks,
                        "latency": r.latency, "stalls": r.stalls, "premain_ms": r.premain, "end": r.end,
                        "stall_log": r.stall_log, "pulse_connections": getattr(r, "pulse_connections", None)}
                       for r in runs], f, indent=1)
    print(report(runs, builds, scenarios, opts))


if __name__ == "__main__":
    main()
