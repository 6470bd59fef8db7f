#!/usr/bin/env python3
"""Call engine benchmark (bench/call/README.md).

Runs headless palaver peers against a local palaver-server and reports, as
JSON lines and a table:
  setup     join sent -> first remote frame decoded, newcomer side (median of N)
  cost      CPU share and peak RSS of each peer in a 1:1 call, per codec and size
  latency   capture-to-decode latency of stamped frames (--latency-probe)
  mesh      CPU per peer in rooms of 2, 3 and 4
CPU and RSS come from wait4()'s rusage of each palaver process, so they are
the process's own numbers, children included, over its whole life.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
# Moving colour bars: detail and motion in every frame, unlike a static
# pattern that an encoder skips for free.
VIDEO = "videotestsrc is-live=true pattern=smpte horizontal-speed=4"
AUDIO = "audiotestsrc is-live=true wave=sine freq=440"


def wait_quiet(limit_s=60, busy_pct=25):
    """Waits until the machine is mostly idle (a shared 2-core box)."""
    def snap():
        with open("/proc/stat") as f:
            v = [int(x) for x in f.readline().split()[1:]]
        return sum(v), v[3] + v[4]
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        t0, i0 = snap()
        time.sleep(1)
        t1, i1 = snap()
        busy = 100.0 * (1 - (i1 - i0) / max(1, t1 - t0))
        if busy < busy_pct:
            return busy
    return None


class Server:
    def __init__(self, exe):
        self.proc = subprocess.Popen([exe, "--host", "127.0.0.1", "--port", "0"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        m = re.match(r"listening on http://127\.0\.0\.1:(\d+)", self.proc.stdout.readline())
        if not m:
            raise SystemExit("palaver-server did not start")
        self.url = f"ws://127.0.0.1:{m.group(1)}/ws"

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


def start_peer(exe, url, room, name, args, log=None):
    cmd = [exe, "--headless", "--server", url, "--room", room, "--peer", name, "--video-source", VIDEO,
           "--audio-source", AUDIO, "--stats-interval", "0", "--ice-address", "127.0.0.1", *args]
    out = open(f"/tmp/palaver-bench-{name}.json", "w+")
    env = dict(os.environ)
    if log:
        env["GST_DEBUG"] = "palaver-*:4"
        env["GST_DEBUG_NO_COLOR"] = "1"
    proc = subprocess.Popen(cmd, stdout=out, stderr=open(log, "w") if log else subprocess.DEVNULL, env=env)
    return proc, out, time.monotonic()


def finish_peer(proc, out, started):
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.monotonic() - started
    out.seek(0)
    text = out.read().strip()
    out.close()
    summary = json.loads(text.splitlines()[-1]) if text else {}
    return {
        "summary": summary,
        "summary_duration_s": wall - 0.2,
        "cpu_pct": 100.0 * (usage.ru_utime + usage.ru_stime) / wall,
        "user_pct": 100.0 * usage.ru_utime / wall,
        "max_rss_mib": usage.ru_maxrss / 1024.0,
        "wall_s": wall,
        "exit": proc.returncode,
    }


def call(exes, n, size, codec, duration, extra=()):
    """A room of n peers, joined 0.3 s apart; returns each peer's result."""
    server = Server(exes["server"])
    w, h = size
    room = f"bench{os.getpid()}{int(time.monotonic() * 1000) % 100000}"
    peers = []
    try:
        for i in range(n):
            name = f"p{i}"
            # Everyone leaves at about the same moment.
            d = duration + 0.3 * (n - 1 - i)
            args = ["--width", str(w), "--height", str(h), "--framerate", "30", "--video-codec", codec,
                    "--bitrate", str(2000 if w >= 1280 else 1000), "--duration", f"{d:.1f}", *extra]
            peers.append(start_peer(exes["palaver"], server.url, room, name, args))
            time.sleep(0.3)
        return [finish_peer(*p) for p in peers]
    finally:
        for proc, _, _ in peers:
            if proc.poll() is None:
                proc.kill()
        server.stop()


def remote_of(result):
    peers = result["summary"].get("peers", {})
    return list(peers.values())


def bench_setup(exes, reps):
    times = []
    for _ in range(reps):
        wait_quiet(20)
        a, b = call(exes, 2, (640, 480), "vp8", 3)
        # b is the newcomer: it offers; its first_frame_ms counts from its join.
        r = remote_of(b)
        if r and r[0]["first_frame_ms"] is not None:
            times.append(r[0]["first_frame_ms"])
    line = {"bench": "setup", "reps": reps, "samples": times,
            "median_ms": statistics.median(times) if times else None,
            "min_ms": min(times) if times else None, "max_ms": max(times) if times else None}
    print(json.dumps(line), flush=True)
    return line


def gst_time(line):
    h, m, rest = line.split()[0].split(":")
    return int(h) * 3600 + int(m) * 60 + float(rest)


def bench_setup_warm(exes, reps):
    """Setup in a process that is already running (the DTLS certificate made,
    plugins loaded): SIGUSR1 makes the newcomer replace its connection with a
    fresh webrtcbin and offer; from that moment to the first frame decoded
    on the new connection."""
    import signal
    times = []
    for _ in range(reps):
        wait_quiet(20)
        server = Server(exes["server"])
        log = "/tmp/palaver-bench-warm.log"
        try:
            a = start_peer(exes["palaver"], server.url, "warm", "a", ["--duration", "7"])
            time.sleep(0.3)
            b = start_peer(exes["palaver"], server.url, "warm", "b", ["--duration", "6.5"], log=log)
            time.sleep(3.5)
            b[0].send_signal(signal.SIGUSR1)
            for p in (b, a):
                finish_peer(*p)
        finally:
            server.stop()
        lines = open(log).read().splitlines()
        restart = [gst_time(l) for l in lines if "restarting the connection to a" in l]
        frames = [gst_time(l) for l in lines if "peer a: first video frame decoded" in l]
        after = [t for t in frames if restart and t > restart[0]]
        if restart and after:
            times.append(round((after[0] - restart[0]) * 1000, 1))
    line = {"bench": "setup-warm", "reps": reps, "samples": times,
            "median_ms": statistics.median(times) if times else None,
            "min_ms": min(times) if times else None, "max_ms": max(times) if times else None}
    print(json.dumps(line), flush=True)
    return line


def bench_cost(exes, duration, sizes, codecs, reps):
    lines = []
    for codec in codecs:
        for size in sizes:
            cpu, rss, fps, p50, p99 = [], [], [], [], []
            for _ in range(reps):
                wait_quiet(30)
                results = call(exes, 2, size, codec, duration, ["--latency-probe"])
                for r in results:
                    cpu.append(r["cpu_pct"])
                    rss.append(r["max_rss_mib"])
                    for peer in remote_of(r):
                        # Frames over the time media flowed: from the first
                        # decoded frame to the end of the call.
                        first = (peer["first_frame_ms"] or 0) / 1000.0
                        fps.append(peer["video_frames"] / max(1.0, r["summary_duration_s"] - first))
                        lat = peer.get("latency_ms", {})
                        if lat.get("p50") is not None:
                            p50.append(lat["p50"])
                            p99.append(lat["p99"])
            line = {"bench": "call", "codec": codec, "width": size[0], "height": size[1], "duration_s": duration,
                    "reps": reps,
                    "cpu_pct_per_peer_median": round(statistics.median(cpu), 1),
                    "cpu_pct_per_peer_max": round(max(cpu), 1),
                    "max_rss_mib_median": round(statistics.median(rss), 1),
                    "fps_received_median": round(statistics.median(fps), 1) if fps else None,
                    "latency_p50_ms_median": statistics.median(p50) if p50 else None,
                    "latency_p99_ms_median": statistics.median(p99) if p99 else None}
            print(json.dumps(line), flush=True)
            lines.append(line)
    return lines


def bench_mesh(exes, duration, reps, size=(640, 480)):
    lines = []
    for n in (2, 3, 4):
        cpu = []
        for _ in range(reps):
            wait_quiet(30)
            cpu += [r["cpu_pct"] for r in call(exes, n, size, "vp8", duration)]
        line = {"bench": "mesh", "peers": n, "width": size[0], "height": size[1], "reps": reps,
                "cpu_pct_per_peer_median": round(statistics.median(cpu), 1)}
        print(json.dumps(line), flush=True)
        lines.append(line)
    return lines


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--only", default="setup,cost,mesh", help="comma-separated: setup, cost, mesh")
    ap.add_argument("--setup-reps", type=int, default=10)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--duration", type=float, default=20)
    ap.add_argument("--mesh-duration", type=float, default=12)
    ap.add_argument("--codecs", default="vp8,h264")
    ap.add_argument("--sizes", default="640x480,1280x720")
    a = ap.parse_args()
    exes = {"server": os.path.join(a.build_dir, "signaling-server", "palaver-server"),
            "palaver": os.path.join(a.build_dir, "src", "app", "palaver")}
    only = a.only.split(",")
    sizes = [tuple(int(x) for x in s.split("x")) for s in a.sizes.split(",")]
    print(json.dumps({"machine": {"nproc": os.cpu_count(), "date": time.strftime("%Y-%m-%d %H:%M")}}), flush=True)
    if "setup" in only:
        bench_setup(exes, a.setup_reps)
    if "setup" in only or "setup-warm" in only:
        bench_setup_warm(exes, a.setup_reps)
    if "cost" in only:
        bench_cost(exes, a.duration, sizes, a.codecs.split(","), a.reps)
    if "mesh" in only:
        bench_mesh(exes, a.mesh_duration, a.reps)


if __name__ == "__main__":
    sys.exit(main())
