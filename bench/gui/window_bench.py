#!/usr/bin/env python3
"""What the call window costs over the headless engine (bench/gui/README.md).

A 1:1 call: a headless sender (moving bars, VP8, SIZE@30) and the measured
client, either `palaver --headless` (fake sinks) or `palaver` with its
window (under Xvfb: no GPU here), as it picks its renderer (cairo without
a GPU render node) and forced to GTK's GL renderer (GSK_RENDERER=gl, Mesa's
llvmpipe here). The measured client's CPU is
read from /proc between 5 s and 5 + SECONDS s into the call (the call set
up and the first keyframe past). Modes are interleaved, repeated RUNS times;
medians and the ratio window/headless are printed.

Usage: xvfb-run -a -s "-screen 0 1280x800x24" dbus-run-session -- \
         python3 bench/gui/window_bench.py [--build build] [--runs 5] [--seconds 15] [--size 640x480]
"""
import argparse
import os
import re
import statistics
import subprocess
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BARS = "videotestsrc is-live=true pattern=smpte horizontal-speed=4"
TONE = "audiotestsrc is-live=true wave=sine freq=440"
TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    """utime + stime of the process and its threads, in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        m = re.search(r"VmRSS:\s+(\d+) kB", f.read())
    return int(m.group(1)) / 1024


def run(build, mode, seconds, width, height, room):
    server = subprocess.Popen([f"{build}/signaling-server/palaver-server", "--host", "127.0.0.1", "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    port = re.search(r":(\d+)", server.stdout.readline()).group(1)
    url = f"ws://127.0.0.1:{port}/ws"
    size = ["--width", str(width), "--height", str(height), "--framerate", "30", "--bitrate", "1000"]
    common = ["--server", url, "--room", room, "--ice-address", "127.0.0.1", *size]
    sender = subprocess.Popen([f"{build}/src/app/palaver", "--headless", *common, "--peer", "sender",
                               "--video-source", BARS, "--audio-source", TONE, "--stats-interval", "0"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = dict(os.environ, GSETTINGS_BACKEND="memory", NO_AT_BRIDGE="1", GTK_A11Y="none")
    if mode == "window-gl":
        env["GSK_RENDERER"] = "gl"
    cmd = [f"{build}/src/app/palaver", *common, "--peer", "measured", "--video-source", BARS, "--audio-source", TONE]
    if mode == "headless":
        cmd += ["--headless", "--stats-interval", "0"]
    measured = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        time.sleep(5)
        c0, t0 = cpu_seconds(measured.pid), time.monotonic()
        time.sleep(seconds)
        c1, t1 = cpu_seconds(measured.pid), time.monotonic()
        rss = rss_mib(measured.pid)
    finally:
        for p in (measured, sender, server):
            p.terminate()
        for p in (measured, sender, server):
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
    return 100 * (c1 - c0) / (t1 - t0), rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--size", default="640x480")
    a = ap.parse_args()
    width, height = map(int, a.size.split("x"))
    results = {"headless": [], "window": [], "window-gl": []}
    for i in range(a.runs):
        for mode in ("headless", "window", "window-gl"):
            cpu, rss = run(a.build, mode, a.seconds, width, height, f"bench{i}{mode}")
            results[mode].append((cpu, rss))
            print(f"run {i + 1} {mode:8s} cpu {cpu:5.1f} % of a core  rss {rss:5.0f} MiB", flush=True)
    med = {m: (statistics.median(c for c, _ in r), statistics.median(s for _, s in r)) for m, r in results.items()}
    print(f"\n{a.size}@30 VP8, medians of {a.runs}:")
    for m, (cpu, rss) in med.items():
        print(f"  {m:8s} cpu {cpu:5.1f} %  rss {rss:5.0f} MiB")
    for m in ("window", "window-gl"):
        print(f"  {m} / headless: cpu {med[m][0] / med['headless'][0]:.2f}x, "
              f"+{med[m][0] - med['headless'][0]:.1f} points; rss +{med[m][1] - med['headless'][1]:.0f} MiB")


if __name__ == "__main__":
    main()
