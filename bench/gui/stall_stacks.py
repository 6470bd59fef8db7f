#!/usr/bin/env python3
"""Where a main-loop stall's time went: the main thread's perf samples that
fall inside stalls seen by the stall monitor (bench/gui/README.md,
"Main-loop stalls").

  perf record -k CLOCK_MONOTONIC --call-graph dwarf,16384 -F 997 -t PID -o perf.data
  python3 bench/gui/stall_stacks.py perf.data STALL_LOG [--min-ms 30] [--top 25]

The perf clock must be CLOCK_MONOTONIC (-k) to share the monitor's times.
For each stall over --min-ms: how many samples it holds (about one per ms
at -F 997 while the thread is on CPU: a stall with far fewer samples than
milliseconds was waiting, not computing; look at it with gdb), then the
functions most often on the stacks (inclusive), and the most common leaf
frames.
"""
import argparse
import collections
import re
import subprocess


def read_stalls(path, min_ms):
    out = []
    with open(path) as f:
        for line in f:
            w = line.split()
            if w[0] == "late" and int(w[4]) > 0 and int(w[3]) >= min_ms * 1000:
                out.append((int(w[1]) / 1e6, int(w[2]) / 1e6))
    return out


def samples(perf_data):
    """(time s, [frames leaf first]) per sample."""
    text = subprocess.run(["perf", "script", "-i", perf_data, "-F", "tid,time,ip,sym,dso"],
                          capture_output=True, text=True, errors="replace").stdout
    cur = None
    for line in text.splitlines():
        if not line.strip():
            if cur:
                yield cur
            cur = None
            continue
        m = re.match(r"\s*(\d+)\s+(\d+\.\d+):", line)
        if m and cur is None:
            cur = (float(m.group(2)), [])
            continue
        if cur is not None:
            m = re.match(r"\s*[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
            if m:
                sym, dso = m.group(1), m.group(2).rsplit("/", 1)[-1]
                sym = re.sub(r"\+0x[0-9a-f]+$", "", sym)
                cur[1].append(f"{sym} [{dso}]")
    if cur:
        yield cur


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("perf_data")
    ap.add_argument("stall_log")
    ap.add_argument("--min-ms", type=float, default=30)
    ap.add_argument("--top", type=int, default=25)
    opts = ap.parse_args()
    stalls = read_stalls(opts.stall_log, opts.min_ms)
    per = {s: [] for s in stalls}
    for t, frames in samples(opts.perf_data):
        for s in stalls:
            if s[0] <= t <= s[1]:
                per[s].append(frames)
    for (due, ran), stacks in per.items():
        print(f"== stall {1000 * (ran - due):.0f} ms at {due:.3f}: {len(stacks)} samples")
        incl = collections.Counter()
        leaf = collections.Counter()
        for frames in stacks:
            for f in set(frames):
                incl[f] += 1
            if frames:
                leaf[frames[0]] += 1
        for f, n in incl.most_common(opts.top):
            print(f"  {n:4d}  {f}")
        print("  leaves:", "; ".join(f"{f} {n}" for f, n in leaf.most_common(6)))


if __name__ == "__main__":
    main()
