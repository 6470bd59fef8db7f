#!/usr/bin/env python3
"""Palaver against browsers, side by side (bench/interop/README.md, issue 9).

In one run, so that the numbers compare, for the pairs palaver <-> palaver,
palaver <-> Chromium, palaver <-> Firefox and Chromium <-> Chromium, each
joined in both orders (the newcomer offers):
  setup  on each side, the start of the call -> first remote video frame
         decoded (newcomer: from its join; the peer already in the room:
         from the server's peer-joined)
  cpu    CPU seconds of each peer over a 20 s window of a 1280x720 30 fps
         call, both sides sending: palaver's process, the browser's whole
         process tree
Every call does both: setup is measured as the call starts, then the CPU
window runs. Pairs are interleaved within each repetition, medians over the
repetitions. Before each call it waits for a quiet machine (bench/call's
wait_quiet) and records the load.

It runs the interop suite's harness (tests/interop/interop.py, browsers.js):
a network namespace, palaver-server, `palaver --headless` and the browsers in
it. Needs root, a build (meson compile -C build) and tests/interop/node_modules
(bash tests/interop/install.sh).

  sudo python3 bench/interop/run.py                 # 5 repetitions, 20 s windows
  sudo python3 bench/interop/run.py --quick         # 1 repetition, 5 s windows
"""
import argparse
import importlib.util
import json
import os
import re
import signal
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
INTEROP = os.path.join(ROOT, "tests", "interop")

# What palaver sends in every call (the issue: 720p30, both sides sending).
VIDEO = "videotestsrc is-live=true pattern=smpte horizontal-speed=4"
SIZE = ["--width", "1280", "--height", "720", "--framerate", "30", "--bitrate", "2000"]

# (first to join, newcomer = offerer)
PAIRS = [("palaver", "palaver"), ("palaver", "chromium"), ("chromium", "palaver"),
         ("palaver", "firefox"), ("firefox", "palaver"), ("chromium", "chromium")]

# Installed in the page right after it loads: polls window.palaver.stats()
# of every peer every 20 ms until each has a decoded frame and notes, in the
# page's own clock (milliseconds since local midnight, like the log's
# 'HH:MM:SS.mmm'), when it first saw video bytes, a received frame and a
# decoded frame. firstPoll* say whether the first poll already saw frames
# (then the time is only an upper bound).
POLLER = r"""(() => {
  if (window.__bench) return true;
  const msOfDay = () => { const d = new Date();
    return ((d.getHours() * 60 + d.getMinutes()) * 60 + d.getSeconds()) * 1000 + d.getMilliseconds(); };
  const b = window.__bench = { peers: {}, polls: 0, installed: msOfDay(), stopped: null };
  const until = Date.now() + 60000;
  const tick = async () => {
    const p = window.palaver;
    let pending = true;
    if (p) {
      const ids = p.peers().map((x) => x.id);
      pending = ids.length === 0;
      for (const id of ids) {
        const f = b.peers[id] || (b.peers[id] = {});
        if (f.decoded) continue;
        let s;
        try { s = await p.stats(id); } catch (e) { pending = true; continue; }
        const now = msOfDay();
        b.polls++;
        const v = s.video || {};
        if (f.firstPoll === undefined) { f.firstPoll = now; f.firstPollFrames = v.framesDecoded || 0; }
        if (!f.rtp && (v.bytesReceived || 0) > 0) f.rtp = now;
        if (!f.received && (v.framesReceived || 0) > 0) f.received = now;
        if (!f.decoded && (v.framesDecoded || 0) > 0) f.decoded = now;
        if (!f.decoded) pending = true;
      }
    }
    if (pending && Date.now() < until) setTimeout(tick, 20); else b.stopped = msOfDay();
  };
  tick();
  return true;
})()"""


def load_module(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def wait_quiet_fn():
    """bench/call's wait_quiet (one definition of 'quiet' for both benchmarks)."""
    return load_module("bench_call_run", os.path.join(ROOT, "bench", "call", "run.py")).wait_quiet


# ---------------------------------------------------------------- /proc

CLK_TCK = os.sysconf("SC_CLK_TCK")


def proc_stat(pid):
    """(ppid, utime+stime, cutime+cstime) in clock ticks, or None."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            text = f.read()
    except OSError:
        return None
    rest = text[text.rindex(")") + 2:].split()
    return int(rest[1]), int(rest[11]) + int(rest[12]), int(rest[13]) + int(rest[14])


def all_stats():
    out = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            s = proc_stat(int(d))
            if s:
                out[int(d)] = s
    return out


def children(pid, stats=None):
    stats = stats or all_stats()
    return {p for p, s in stats.items() if s[0] == pid}


def tree_cpu(root):
    """CPU seconds of root and every descendant alive now, each with the
    times of its children that were reaped (cutime+cstime): a process that
    exits between two samples is counted in its parent's cutime once reaped.
    Returns (seconds, number of processes)."""
    stats = all_stats()
    kids = {}
    for p, s in stats.items():
        kids.setdefault(s[0], []).append(p)
    todo, seen, ticks = [root], set(), 0
    while todo:
        p = todo.pop()
        if p in seen or p not in stats:
            continue
        seen.add(p)
        ticks += stats[p][1] + stats[p][2]
        todo += kids.get(p, [])
    return ticks / CLK_TCK, len(seen)


def proc_cpu(pid):
    s = proc_stat(pid)
    return (s[1] + s[2]) / CLK_TCK if s else None


# ---------------------------------------------------------------- logs

def gst_secs(line):
    """The time of a GST_DEBUG line (since gst_init), in seconds."""
    h, m, s = line.split()[0].split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


PALAVER_EVENTS = [
    ("join", r'-> \{"type":"join"'),
    ("joined", r'<- \{"type":"joined"'),
    ("peer_joined", r"peer \S+ joined the room"),
    ("offer_sent", r'-> \{"type":"(send-)?offer"'),
    ("offer_received", r'<- \{"type":"(send-)?offer"'),
    ("answer_sent", r'-> \{"type":"(send-)?answer"'),
    ("answer_received", r'<- \{"type":"(send-)?answer"'),
    ("ice_connected", r"ICE connection state (connected|completed)"),
    ("connected", r": connection state connected"),
    ("first_rtp", r": receiving video"),
    ("first_frame", r"first video frame decoded"),
]


def palaver_timeline(text):
    """Event -> ms since palaver's join (first occurrence of each)."""
    times = {}
    for line in text.splitlines():
        if not line[:1].isdigit():
            continue
        for name, pattern in PALAVER_EVENTS:
            if name not in times and re.search(pattern, line):
                try:
                    times[name] = gst_secs(line)
                except ValueError:
                    pass
    if "join" not in times:
        return {}
    t0 = times["join"]
    return {k: round((v - t0) * 1000, 1) for k, v in times.items()}


PAGE_EVENTS = [
    ("join", r"signaling: join room"),
    ("joined", r"signaling: joined room"),
    ("peer_joined", r": joined; waiting for its offer"),
    ("offer_sent", r": sending offer"),
    ("offer_received", r": applied offer"),
    ("answer_sent", r": sending answer"),
    ("answer_received", r": applied answer"),
    ("ice_connected", r": ICE connection state (connected|completed)"),
    ("connected", r": connection state connected"),
]


def ms_of_day(stamp):
    h, m, s = stamp.split(":")
    return (int(h) * 3600 + int(m) * 60) * 1000 + round(float(s) * 1000)


def page_timeline(lines, poll):
    """Event -> ms since the page's join, from window.palaver.log and the
    poller (first_rtp, first_received, first_frame)."""
    times = {}
    for line in lines:
        stamp, _, text = line.partition(" ")
        for name, pattern in PAGE_EVENTS:
            if name not in times and re.search(pattern, text):
                times[name] = ms_of_day(stamp)
    for peer in (poll or {}).get("peers", {}).values():
        for src, name in (("rtp", "first_rtp"), ("received", "first_received"), ("decoded", "first_frame")):
            if peer.get(src) is not None:
                times[name] = peer[src]
        break
    if "join" not in times:
        return {}
    t0 = times["join"]
    # Across midnight the page's clock wraps.
    return {k: float((v - t0) % 86400000) for k, v in times.items()}


def setup_ms(timeline, newcomer):
    """The side's setup: newcomer from its join, the other from peer-joined."""
    if "first_frame" not in timeline:
        return None
    start = 0.0 if newcomer else timeline.get("peer_joined")
    if start is None:
        return None
    return round(timeline["first_frame"] - start, 1)


# ---------------------------------------------------------------- one call

class Bench:
    def __init__(self, a, interop):
        self.a, self.io = a, interop
        self.wait_quiet = wait_quiet_fn()
        self.logs = interop.LogDir("bench")
        self.cleanup = []
        self.ns = interop.Netns()
        self.cleanup.append(self.ns)
        self.server = interop.Server(self.ns, self.logs)
        self.cleanup.append(self.server)
        self.browsers = None
        self.roots = {}  # browser instance name -> pid of its root process
        self.calls = 0

    def start_browsers(self, kinds):
        io = self.io
        # Chromium's fake camera runs at 20 fps unless told otherwise: the
        # suite's driver has no way to pass a flag, so a shim
        # (bench/interop/browsers.js) runs it with ours appended. Browsers()
        # starts HERE/browsers.js: HERE points at the shim while it starts.
        flags = [f"--use-fake-device-for-media-stream=fps={self.a.chromium_fps}"] if self.a.chromium_fps else []
        os.environ["BENCH_CHROMIUM_ARGS"] = json.dumps(flags)
        here = io.HERE
        io.HERE = HERE
        try:
            self.browsers = io.Browsers(self.ns, self.logs)
        finally:
            io.HERE = here
        self.cleanup.append(self.browsers)
        node = self.browsers.proc.pid
        # `ip netns exec` execs: the driver's pid becomes node's.
        comm = None
        for _ in range(100):
            with open(f"/proc/{node}/comm") as f:
                comm = f.read().strip()
            if comm == "node":
                break
            time.sleep(0.05)
        if comm != "node":
            raise io.TestFailure(f"expected the driver's pid {node} to be node, it is {comm!r}")
        self.versions = {}
        for name, kind in kinds:
            before = children(node)
            self.versions[kind] = self.browsers.launch(name, kind, mdns=self.a.mdns == "on", grant_media=True)
            new = children(node) - before
            # Shim (browsers.js does not say its browsers' pids): the
            # browser is the driver's one new child.
            if len(new) != 1:
                raise io.TestFailure(f"{name}: expected one new child of the driver, got {sorted(new)}")
            self.roots[name] = new.pop()

    def start_side(self, kind, instance, room, peer, duration):
        io = self.io
        if kind == "palaver":
            p = io.Palaver(self.ns, self.logs, self.server.url, room, peer, *SIZE, "--stats-interval", "1",
                           "--duration", str(duration), video=VIDEO, timeout=duration + 60)
            self.cleanup.append(p)
            return {"kind": kind, "peer": peer, "proc": p, "pid": p.proc.pid}
        b = self.browsers
        b.open(instance, self.server.page(room, peer))
        b.eval(instance, POLLER)
        page = io.Page.__new__(io.Page)
        page.b, page.name, page.peer, page.kind = b, instance, peer, kind
        io.wait_until(lambda: page.eval("typeof window.palaver === 'object' && window.palaver !== null"), 15,
                      f"{peer}: no window.palaver on the page", poll=0.05)
        return {"kind": kind, "peer": peer, "page": page, "instance": instance, "root": self.roots[instance]}

    def joined(self, side):
        if side["kind"] == "palaver":
            return re.search(r"joined room \S+ as", side["proc"].stderr())
        return side["page"].state() == "joined"

    def decoding(self, side):
        if side["kind"] == "palaver":
            return "first video frame decoded" in side["proc"].stderr()
        return bool(side["page"].eval("Object.values(window.__bench.peers).some((p) => p.decoded)"))

    def cpu(self, side):
        if side["kind"] == "palaver":
            return proc_cpu(side["pid"]), 1
        return tree_cpu(side["root"])

    def call(self, first, second, rep):
        io = self.io
        a = self.a
        self.calls += 1
        busy = self.wait_quiet(a.quiet_wait)
        load = os.getloadavg()
        room = f"r{rep}x{self.calls}"
        names = {}
        for i, kind in enumerate((first, second)):
            # Fresh names per call: the harness appends each peer's log to
            # palaver-<peer>.log, and the timelines read the whole file.
            names[i] = f"{kind[:3]}{i + 1}c{self.calls}"
        instances = {"chromium": ["c1", "c2"], "firefox": ["f1"]}
        duration = a.window + 60
        sides = []
        result = {"pair": f"{first}->{second}", "first": first, "newcomer": second, "rep": rep,
                  "room": room, "quiet_busy_pct": None if busy is None else round(busy, 1),
                  "loadavg": [round(x, 2) for x in load]}
        try:
            used = {"chromium": 0, "firefox": 0}
            for i, kind in enumerate((first, second)):
                inst = None
                if kind != "palaver":
                    inst = instances[kind][used[kind]]
                    used[kind] += 1
                side = self.start_side(kind, inst, room, names[i], duration)
                sides.append(side)
                if i == 0:
                    io.wait_until(lambda: self.joined(side), 20, f"{names[i]} did not join", poll=0.05)
                    # Someone already in a room has usually been there a
                    # while: a palaver process that old has its DTLS
                    # certificate (README, "Where the time goes").
                    time.sleep(a.settle)
            io.wait_until(lambda: all(self.decoding(s) for s in sides), 30,
                          lambda: "no first frame on every side within 30 s: " +
                          ", ".join(f"{s['peer']} {self.decoding(s)}" for s in sides), poll=0.1)
            # Let bandwidth estimation and the encoders settle.
            time.sleep(a.warmup)
            c0 = [self.cpu(s) for s in sides]
            off0 = [len(s["proc"].stderr()) if s["kind"] == "palaver" else None for s in sides]
            st0 = [self.page_stats(s) for s in sides]
            t0 = time.monotonic()
            time.sleep(a.window)
            c1 = [self.cpu(s) for s in sides]
            t1 = time.monotonic()
            st1 = [self.page_stats(s) for s in sides]
            window = t1 - t0
            result["window_s"] = round(window, 2)
            result["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
            result["sides"] = []
            for i, s in enumerate(sides):
                r = {"kind": s["kind"], "peer": s["peer"], "role": "newcomer" if i == 1 else "first",
                     "cpu_s": round(c1[i][0] - c0[i][0], 2), "processes": c1[i][1]}
                r["cpu_s_per_20s"] = round(r["cpu_s"] * 20.0 / window, 2)
                if s["kind"] == "palaver":
                    r.update(self.palaver_window(s, off0[i]))
                else:
                    r.update(self.browser_window(st0[i], st1[i], window))
                result["sides"].append(r)
        finally:
            for i, s in enumerate(sides):
                self.finish_side(s, result, i)
        for i, r in enumerate(result.get("sides", [])):
            r.update(result["timelines"][i])
        return result

    def page_stats(self, side):
        if side["kind"] == "palaver":
            return None
        other = side["page"].eval("window.palaver.peers().map((p) => p.id)")
        return side["page"].stats(other[0]) if other else None

    @staticmethod
    def browser_window(s0, s1, window):
        if not s0 or not s1:
            return {}
        v0, v1 = s0["video"], s1["video"]
        return {"recv_width": v1["frameWidth"], "recv_height": v1["frameHeight"], "recv_codec": v1["codec"],
                "recv_fps": round((v1["framesDecoded"] - v0["framesDecoded"]) / window, 1),
                "recv_kbps": round((v1["bytesReceived"] - v0["bytesReceived"]) * 8 / 1000 / window)}

    @staticmethod
    def palaver_window(side, off0):
        """From palaver's stats lines (one a second) printed in the window:
        frames decoded per second from the frame counter, the median of the
        per-second received bitrate, the last size and codec."""
        text = side["proc"].stderr()[off0:]
        frames, kbps, size = [], [], None
        for m in re.finditer(r"palaver: stats \S+: \w+, (\d+)x(\d+) (\S*), frames (\d+), fps [\d.]+, in (\d+) kbps",
                             text):
            size = (int(m.group(1)), int(m.group(2)), m.group(3))
            frames.append(int(m.group(4)))
            kbps.append(int(m.group(5)))
        if not size or len(frames) < 2:
            return {}
        return {"recv_width": size[0], "recv_height": size[1], "recv_codec": size[2],
                "recv_fps": round((frames[-1] - frames[0]) / (len(frames) - 1), 1),
                "recv_kbps": statistics.median(kbps)}

    def finish_side(self, s, result, i):
        tl = result.setdefault("timelines", [{}, {}])
        newcomer = i == 1
        if s["kind"] == "palaver":
            p = s["proc"]
            try:
                if p.proc.poll() is None:
                    p.proc.send_signal(signal.SIGTERM)
                _, summary = p.wait()
                peers = list(summary.get("peers", {}).values())
                timeline = palaver_timeline(p.stderr())
                ff = peers[0].get("first_frame_ms") if peers else None
                if ff is not None:
                    # The summary's number is the authority for first_frame.
                    timeline["first_frame"] = ff
                tl[i] = {"timeline_ms": timeline, "setup_ms": setup_ms(timeline, newcomer), "summary_first_frame_ms": ff}
            except Exception as e:
                tl[i] = {"error": str(e)}
            finally:
                p.kill()
        else:
            page = s["page"]
            try:
                state = page.eval("({log: window.palaver.log, poll: window.__bench})", timeout=10)
                timeline = page_timeline(state["log"], state["poll"])
                poll = next(iter((state["poll"] or {}).get("peers", {}).values()), {})
                tl[i] = {"timeline_ms": timeline, "setup_ms": setup_ms(timeline, newcomer),
                         "first_poll_saw_frames": (poll.get("firstPollFrames") or 0) > 0,
                         "poller_installed_ms": (state["poll"]["installed"] - ms_of_day(
                             next(l for l in state["log"] if "signaling: join room" in l).split()[0]))
                         if state["poll"] and any("signaling: join room" in l for l in state["log"]) else None}
                page.eval("window.palaver.hangUp()", timeout=15)
            except Exception as e:
                tl[i] = {"error": str(e)}
            finally:
                try:
                    self.browsers.close(s["instance"])
                except Exception:
                    pass

    def close(self):
        for thing in reversed(self.cleanup):
            try:
                if isinstance(thing, self.io.Browsers):
                    thing.quit()
            except Exception:
                pass
            try:
                thing.remove() if isinstance(thing, self.io.Netns) else thing.kill()
            except Exception as e:
                print(f"cleanup: {e}", file=sys.stderr)


# ---------------------------------------------------------------- report

def med(xs):
    xs = [x for x in xs if x is not None]
    return round(statistics.median(xs), 1) if xs else None


def summarize(calls):
    """Medians per (pair, side)."""
    out = {}
    for c in calls:
        for r in c.get("sides", []):
            key = (c["pair"], r["role"])
            e = out.setdefault(key, {"pair": c["pair"], "role": r["role"], "kind": r["kind"], "setup": [],
                                     "cpu": [], "fps": [], "kbps": [], "size": set(), "timelines": []})
            e["setup"].append(r.get("setup_ms"))
            e["cpu"].append(r.get("cpu_s_per_20s"))
            e["fps"].append(r.get("recv_fps"))
            e["kbps"].append(r.get("recv_kbps"))
            if r.get("recv_width"):
                e["size"].add(f"{r['recv_width']}x{r['recv_height']}")
            e["timelines"].append(r.get("timeline_ms", {}))
    rows = []
    for e in out.values():
        events = sorted({k for t in e["timelines"] for k in t}, key=lambda k: med([t.get(k) for t in e["timelines"]]))
        rows.append({"pair": e["pair"], "role": e["role"], "kind": e["kind"],
                     "setup_ms_median": med(e["setup"]), "setup_ms_samples": e["setup"],
                     "cpu_s_per_20s_median": med(e["cpu"]), "cpu_s_samples": e["cpu"],
                     "recv_fps_median": med(e["fps"]), "recv_kbps_median": med(e["kbps"]),
                     "recv_sizes": sorted(e["size"]),
                     "timeline_ms_median": {k: med([t.get(k) for t in e["timelines"]]) for k in events}})
    return rows


def cpu_ratios_per_call(calls):
    """palaver's CPU / the Chromium peer's, call by call (both measured over
    the same window, so the machine's load hits both), then the median."""
    out = []
    for pair in ("palaver->chromium", "chromium->palaver"):
        rs = []
        for c in calls:
            if c.get("pair") != pair or len(c.get("sides", [])) != 2:
                continue
            cpu = {r["kind"]: r.get("cpu_s") for r in c["sides"]}
            if cpu.get("palaver") and cpu.get("chromium"):
                rs.append(round(cpu["palaver"] / cpu["chromium"], 2))
        if rs:
            out.append({"pair": pair, "per_call": rs, "median": med(rs), "target": "<= 0.6"})
    return out


def ratios(rows):
    """palaver's setup against Chromium <-> Chromium's in the same role, and
    palaver's CPU against the Chromium peer's of the same call."""
    by = {(r["pair"], r["role"]): r for r in rows}
    cc = {role: by.get(("chromium->chromium", role)) for role in ("first", "newcomer")}
    setup, cpu = [], []
    for r in rows:
        if r["kind"] != "palaver" or r["setup_ms_median"] is None:
            continue
        ref = cc[r["role"]]
        if ref and ref["setup_ms_median"]:
            setup.append({"pair": r["pair"], "role": r["role"], "palaver_ms": r["setup_ms_median"],
                          "chromium_chromium_ms": ref["setup_ms_median"],
                          "ratio": round(r["setup_ms_median"] / ref["setup_ms_median"], 2),
                          "target": "<= 1.0"})
    for pair in ("palaver->chromium", "chromium->palaver"):
        p = next((r for r in rows if r["pair"] == pair and r["kind"] == "palaver"), None)
        c = next((r for r in rows if r["pair"] == pair and r["kind"] == "chromium"), None)
        if p and c and p["cpu_s_per_20s_median"] and c["cpu_s_per_20s_median"]:
            cpu.append({"pair": pair, "palaver_cpu_s": p["cpu_s_per_20s_median"],
                        "chromium_cpu_s": c["cpu_s_per_20s_median"],
                        "ratio": round(p["cpu_s_per_20s_median"] / c["cpu_s_per_20s_median"], 2),
                        "target": "<= 0.6"})
    return setup, cpu


def print_table(rows, setup, cpu, meta, per_call=None):
    print(f"\n{meta['date']}  reps {meta['reps']}  window {meta['window_s']} s  load before/after calls "
          f"(median 1-min): {meta['load1_median']} / {meta['load1_end_median']}")
    print(f"{'pair (first->newcomer)':24} {'side':9} {'kind':9} {'setup ms':>9} {'CPU s/20s':>10} "
          f"{'recv fps':>9} {'recv kbps':>10}  recv size")
    for r in sorted(rows, key=lambda r: (PAIR_ORDER.get(r["pair"], 99), r["role"])):
        print(f"{r['pair']:24} {r['role']:9} {r['kind']:9} {fmt(r['setup_ms_median']):>9} "
              f"{fmt(r['cpu_s_per_20s_median']):>10} {fmt(r['recv_fps_median']):>9} {fmt(r['recv_kbps_median']):>10}  "
              f"{','.join(r['recv_sizes'])}")
    print("\nsetup, palaver / Chromium<->Chromium in the same role (target <= 1.0):")
    for s in setup:
        print(f"  {s['pair']:24} {s['role']:9} {s['palaver_ms']:>7} / {s['chromium_chromium_ms']:<7} = {s['ratio']}")
    print("CPU per peer, palaver / the Chromium peer of the same call (target <= 0.6):")
    for c in cpu:
        print(f"  {c['pair']:24} {c['palaver_cpu_s']:>6} / {c['chromium_cpu_s']:<6} = {c['ratio']}")
    for c in per_call or []:
        print(f"  {c['pair']:24} call by call: median {c['median']} of {c['per_call']}")


STEPS = [("joined", "joined"), ("offer_sent", "offer sent"), ("offer_received", "offer in"),
         ("answer_sent", "answer sent"), ("answer_received", "answer in"), ("ice_connected", "ICE"),
         ("connected", "DTLS"), ("first_rtp", "1st RTP"), ("first_frame", "1st frame")]


def print_breakdown(rows):
    """Each side's timeline (medians over the calls), in ms from that side's
    start: its join (newcomer) or the peer-joined (first)."""
    print("\nsetup timeline per side, medians, ms from the side's start (newcomer: join sent; first: peer-joined):")
    print(f"{'pair (first->newcomer)':24} {'side':9} {'kind':9} " + " ".join(f"{label:>11}" for _, label in STEPS))
    for r in sorted(rows, key=lambda r: (PAIR_ORDER.get(r["pair"], 99), r["role"])):
        t = r["timeline_ms_median"]
        start = 0.0 if r["role"] == "newcomer" else t.get("peer_joined")
        cells = []
        for key, _ in STEPS:
            v = t.get(key)
            cells.append("-" if v is None or start is None or (key == "joined" and r["role"] == "first")
                         else str(round(v - start)))
        print(f"{r['pair']:24} {r['role']:9} {r['kind']:9} " + " ".join(f"{c:>11}" for c in cells))


PAIR_ORDER = {f"{a}->{b}": i for i, (a, b) in enumerate(PAIRS)}


def fmt(x):
    return "-" if x is None else str(x)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build-dir", default=os.path.join(ROOT, "build"))
    ap.add_argument("--web-root", default=os.path.join(ROOT, "web"),
                    help="the web client to serve (a folder with index.html and js/main.js)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--window", type=float, default=20.0, help="CPU window, seconds")
    ap.add_argument("--warmup", type=float, default=5.0, help="seconds between first frames and the window")
    ap.add_argument("--quiet-wait", type=float, default=30.0, help="longest wait for a quiet machine per call")
    ap.add_argument("--pairs", default=",".join(f"{a}-{b}" for a, b in PAIRS),
                    help="first-newcomer, comma-separated")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="seconds between the first peer's join and the newcomer's start")
    ap.add_argument("--chromium-fps", type=int, default=30,
                    help="frame rate of Chromium's fake camera (0: its default, 20)")
    ap.add_argument("--mdns", choices=("on", "off"), default="on", help="the browsers' mDNS hiding (default on)")
    ap.add_argument("--quick", action="store_true", help="smoke run: 1 repetition, 5 s windows, 1 s warm-up")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    ap.add_argument("--report", metavar="JSON", help="print the tables of an earlier run's results and exit")
    a = ap.parse_args()
    if a.report:
        with open(a.report) as f:
            r = json.load(f)
        print_table(r["summary"], r["setup_ratios"], r["cpu_ratios"], r["meta"], cpu_ratios_per_call(r["calls"]))
        print_breakdown(r["summary"])
        print(f"\n{r['meta']['uptime_end']}")
        return 0
    if a.quick:
        a.reps, a.window, a.warmup, a.quiet_wait = 1, 5.0, 1.0, 10.0
    pairs = [tuple(p.split("-")) for p in a.pairs.split(",")]
    if not os.path.isfile(os.path.join(a.web_root, "js", "main.js")):
        sys.exit(f"{a.web_root} holds no web client (js/main.js): pass --web-root DIR")
    os.environ["PALAVER"] = os.path.join(a.build_dir, "src", "app", "palaver")
    os.environ["PALAVER_SERVER"] = os.path.join(a.build_dir, "signaling-server", "palaver-server")
    os.environ["PALAVER_WEB_ROOT"] = os.path.abspath(a.web_root)
    # palaver-*:5 for the timelines; no webrtcbin:4 (the harness's default),
    # whose volume would be CPU in the window.
    os.environ.setdefault("GST_DEBUG", "palaver-*:5")
    for exe in (os.environ["PALAVER"], os.environ["PALAVER_SERVER"]):
        if not os.access(exe, os.X_OK):
            sys.exit(f"{exe} not built: meson setup build && meson compile -C build -j2")
    sys.path.insert(0, INTEROP)
    interop = load_module("interop", os.path.join(INTEROP, "interop.py"))

    # Clean up on SIGTERM and Ctrl+C too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("SIGTERM"))
    bench = None
    calls = []
    started = time.strftime("%Y%m%d-%H%M%S")
    try:
        bench = Bench(a, interop)
        kinds = set(k for p in pairs for k in p)
        launch = []
        if "chromium" in kinds:
            launch += [("c1", "chromium"), ("c2", "chromium")]
        if "firefox" in kinds:
            launch += [("f1", "firefox")]
        if launch:
            bench.start_browsers(launch)
        print(f"logs: {bench.logs.path}", flush=True)
        for rep in range(a.reps):
            for first, second in pairs:
                try:
                    c = bench.call(first, second, rep)
                except interop.TestFailure as e:
                    c = {"pair": f"{first}->{second}", "rep": rep, "error": str(e),
                         "loadavg_at_error": [round(x, 2) for x in os.getloadavg()]}
                calls.append(c)
                short = {k: c.get(k) for k in ("pair", "rep", "loadavg", "quiet_busy_pct", "error")}
                short["sides"] = [{k: r.get(k) for k in ("kind", "role", "setup_ms", "cpu_s_per_20s", "recv_fps",
                                                         "recv_width", "recv_height", "recv_kbps", "error")}
                                  for r in c.get("sides", [])]
                print(json.dumps(short), flush=True)
                write_results(a, started, calls, bench, final=False)
    finally:
        if bench:
            bench.close()
    path, rows, setup, cpu, meta = write_results(a, started, calls, bench, final=True)
    print_table(rows, setup, cpu, meta, cpu_ratios_per_call(calls))
    print_breakdown(rows)
    failed = [c for c in calls if "error" in c]
    if failed:
        print(f"\n{len(failed)} of {len(calls)} calls failed (not in the medians):")
        for c in failed:
            print(f"  rep {c['rep']} {c['pair']}: {c['error']}")
    print(f"\n{meta['uptime_end']}\nresults: {path}")
    return 0 if not meta["errors"] else 1


def write_results(a, started, calls, bench, final):
    """The JSON in bench/results/, rewritten after every call (a run cut
    short keeps what it measured)."""
    rows = summarize(calls)
    setup, cpu = ratios(rows)
    loads = [c["loadavg"][0] for c in calls if "loadavg" in c]
    loads_end = [c["loadavg_end"][0] for c in calls if "loadavg_end" in c]
    uptime = os.popen("uptime").read().strip()
    meta = {"date": time.strftime("%Y-%m-%d %H:%M"), "reps": a.reps, "window_s": a.window, "warmup_s": a.warmup,
            "mdns": a.mdns, "chromium_fps": a.chromium_fps, "settle_s": a.settle, "nproc": os.cpu_count(), "uptime_end": uptime, "load1_median": med(loads),
            "load1_end_median": med(loads_end), "versions": getattr(bench, "versions", {}),
            "palaver_args": SIZE + ["--video-source", VIDEO],
            "errors": sum(1 for c in calls if "error" in c), "logs": bench.logs.path if bench else None,
            "complete": final, "calls": len(calls)}
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, f"interop-{started}{'-quick' if a.quick else ''}.json")
    with open(path, "w") as f:
        json.dump({"meta": meta, "summary": rows, "setup_ratios": setup, "cpu_ratios": cpu,
                   "cpu_ratios_per_call": cpu_ratios_per_call(calls), "calls": calls}, f,
                  indent=1)
    return path, rows, setup, cpu, meta


if __name__ == "__main__":
    sys.exit(main())
