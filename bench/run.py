#!/usr/bin/env python3
"""Runs the Palaver signaling benchmark: palaver-server (--workers 1 and 2) and
the Node + ws relay of bench/node-relay/, side by side in the same run.

Builds nothing: it expects palaver-server and palaver-loadgen in the build
folder (meson setup build && meson compile -C build). Every repetition starts
all servers afresh and runs each phase against each server in turn, rotating
the order per repetition, so that noise on this machine hits them all. Prints
every measurement as one JSON line, then one summary line (medians over the
repetitions) per server and phase, then lines of ratios per palaver-server
variant against the Node relay: one for the headline numbers and one per
fixed rate (--rates: fixed-1k, fixed-10k, fixed-50k; CPU per message, p50,
p99). Everything printed is also written to bench/results/run-DATE.jsonl.

See bench/README.md for the method and the meaning of each number.
"""

import argparse
import datetime
import json
import os
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
DEFAULT_RATES = '1000,10000,50000'
# Issue 13 ("palaver-server at everyday load"), judged at 10,000 msg/s in the
# same run against the Node relay, with the default worker count: server CPU
# per message, p50 and p99 at most these fractions of node's.
FIXED_TARGETS = {10000: {'server_cpu_us_per_msg': 0.6, 'p50_us': 0.75, 'p99_us': 0.3}}
# A fixed-rate line is "at rate" when both the load generator's sending rate
# and the server's delivery rate in the window are within this share of the
# target: below, one of them fell behind; above, a backlog from before the
# window was drained in it (the load generator or the server was stalled).
AT_RATE = 0.02


def fixed_phase(rate):
    """The phase name of a fixed-rate point: 1000 -> fixed-1k, 2500 -> fixed-2.5k,
    500 -> fixed-500."""
    rate = float(rate)
    if rate >= 1000:
        return f'fixed-{rate / 1000:g}k'
    return f'fixed-{rate:g}'


def fixed_rate(phase):
    """The rate of a fixed-N or fixed-Nk phase name, or None."""
    m = re.fullmatch(r'fixed-(\d+(?:\.\d+)?)(k?)', phase)
    if not m:
        return None
    return float(m.group(1)) * (1000 if m.group(2) else 1)


def phase_order(phase):
    """Summary lines in the order the phases run, fixed rates from low to high."""
    rate = fixed_rate(phase)
    if rate is not None:
        return (1, rate)
    return ({'idle': 0, 'throughput-max': 2, 'churn': 3}.get(phase, 4), 0)


def default_workers():
    """palaver-server's --workers default: one per CPU it may run on, 1 to 8."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:
        cpus = os.cpu_count() or 1
    return min(max(cpus, 1), 8)


def raise_file_limit(wanted=65536):
    """10,000 idle connections need as many descriptors in the server and in
    the load generator: take the hard limit, or more as root when allowed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
            return wanted
        except (ValueError, OSError):
            pass
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def machine_busy_pct(seconds=1.0):
    """CPU busy over all CPUs (200 % = both of two busy) during `seconds`."""
    def sample():
        with open('/proc/stat') as f:
            v = [int(x) for x in f.readline().split()[1:9]]
        return sum(v) - v[3] - v[4], sum(v)
    b0, t0 = sample()
    time.sleep(seconds)
    b1, t1 = sample()
    return 100.0 * os.cpu_count() * (b1 - b0) / max(1, t1 - t0)


def wait_quiet(max_busy_pct, timeout):
    """This is a shared 2-core machine: wait until nothing else (a compiler)
    is running before a measurement, so that it measures the servers."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if machine_busy_pct() <= max_busy_pct:
            break
    return round(time.monotonic() - start, 1)


class Server:
    def __init__(self, label, argv, env=None):
        self.label = label
        self.argv = argv
        self.env = env
        self.proc = None
        self.url = None
        self.log = None  # the server's stderr, for warnings and crashes

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=self.log or subprocess.DEVNULL,
                                     env=self.env, text=True)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            if line.startswith('listening on http://'):
                hostport = line.strip()[len('listening on http://'):]
                self.url = f'ws://{hostport}/ws'
                # Keep reading, so that a chatty stdout never blocks the server.
                threading.Thread(target=self.proc.stdout.read, daemon=True).start()
                return
        raise RuntimeError(f'{self.label} did not start: {" ".join(self.argv)}')

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.proc = None
        return rc


def machine():
    model = 'unknown'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                model = line.split(':', 1)[1].strip()
                break
    return {'nproc': os.cpu_count(), 'cpu': model, 'kernel': os.uname().release}


def median_line(lines):
    """Median of every numeric field over the repetitions of one measurement."""
    out = {'label': lines[0]['label'], 'phase': lines[0]['phase'],
           'idle_conns': lines[0]['idle_conns'], 'summary': 'median', 'reps': len(lines)}
    for key, value in lines[0].items():
        if key in out or key in ('rep', 'waited_quiet_s'):
            continue
        if isinstance(value, bool):
            out[key] = all(ln.get(key) is True for ln in lines)
        elif isinstance(value, (int, float)):
            values = [ln[key] for ln in lines if isinstance(ln.get(key), (int, float)) and not isinstance(ln.get(key), bool)]
            if values:
                m = statistics.median(values)
                out[key] = round(m, 2) if abs(m) >= 1 else round(m, 4)  # server_cpu_s at 1k msg/s: 0.25
        elif isinstance(value, list):
            # Element by element (worker shares), over the repetitions that
            # have a list of the same length.
            lists = [ln[key] for ln in lines if isinstance(ln.get(key), list) and len(ln[key]) == len(value)]
            medians = [statistics.median(col) if all(isinstance(x, (int, float)) for x in col) else None
                       for col in zip(*lists)]
            out[key] = [m if m is None or m == int(m) else round(m, 3) for m in medians]
    errs = [ln.get('first_error') for ln in lines if ln.get('first_error')]
    if errs:
        out['first_error'] = errs[0]
    return out


def ratios(summary, label, idle_conns, fixed, base='node'):
    """palaver/node for each headline number, and whether the issue's targets
    hold: more throughput, churn, less RSS per connection, p99 no worse.
    `fixed`: the fixed-rate phase of the headline p50/p99 (that of --rate,
    which `combined` runs as well)."""
    def ratio(phase, idle, key):
        a = summary.get((label, phase, idle), {}).get(key)
        b = summary.get((base, phase, idle), {}).get(key)
        if a is None or not b:
            return None
        return round(a / b, 3)

    out = {'ratios': f'{label}/{base}'}
    targets = {}
    for idle, suffix in ((0, ''), (idle_conns, f'_with_{idle_conns}_idle')):
        t = out[f'throughput_msgs_per_s{suffix}'] = ratio('throughput-max', idle, 'msgs_per_s')
        out[f'fixed_p50_us{suffix}'] = ratio(fixed, idle, 'p50_us')
        p = out[f'fixed_p99_us{suffix}'] = ratio(fixed, idle, 'p99_us')
        c = out[f'churn_cycles_per_s{suffix}'] = ratio('churn', idle, 'cycles_per_s')
        if t is not None:
            targets[f'throughput{suffix}'] = t > 1
        if p is not None:
            targets[f'p99{suffix}'] = p <= 1
        if c is not None:
            targets[f'churn{suffix}'] = c > 1
    r = out['rss_per_conn'] = ratio('idle', idle_conns, 'rss_per_conn_bytes')
    if r is not None:
        targets['rss_per_conn'] = r < 1
    out['targets_met'] = targets
    return out


def fixed_ratios(summary, label, phase, idle_conns=0, base='node'):
    """One fixed-rate point, palaver/node: server CPU per message, p50, p99;
    the rates both really ran at; for a point with issue-13 targets, whether
    they are met. None when either side has no line for it."""
    a = summary.get((label, phase, idle_conns))
    b = summary.get((base, phase, idle_conns))
    if not a or not b:
        return None
    rate = fixed_rate(phase)
    out = {'ratios': f'{label}/{base}', 'phase': phase, 'idle_conns': idle_conns}
    # kernel_p50_us/kernel_p99_us: latency to the kernel's receipt of the
    # frame, without the load generator's own delay in reading it; shown
    # beside the targets' p50/p99, which stay the load generator's receipt.
    for key in ('server_cpu_us_per_msg', 'p50_us', 'p99_us', 'kernel_p50_us', 'kernel_p99_us'):
        x, y = a.get(key), b.get(key)
        out[key] = round(x / y, 3) if isinstance(x, (int, float)) and isinstance(y, (int, float)) and y else None
    at_rate = {}
    for name, line in ((label, a), (base, b)):
        sent, delivered = line.get('achieved_rate'), line.get('msgs_per_s')
        out.setdefault('achieved_rate', {})[name] = sent
        out.setdefault('msgs_per_s', {})[name] = delivered
        # The Node relay's JavaScript runs on one thread: near 100 it is
        # saturated even while it still delivers the rate (with a queue).
        out.setdefault('server_cpu_pct', {})[name] = line.get('server_cpu_pct')
        # Milliseconds here: the load generator sent in bursts.
        out.setdefault('send_lag_p99_us', {})[name] = line.get('send_lag_p99_us')
        at_rate[name] = bool(sent and delivered and all(abs(x / rate - 1) <= AT_RATE for x in (sent, delivered)))
    # False: that side did not run at the rate (see AT_RATE), so the ratios
    # compare unlike loads.
    out['at_rate'] = at_rate
    targets = FIXED_TARGETS.get(rate)
    if targets and idle_conns == 0:
        workers = re.fullmatch(r'palaver-w(\d+)(-base)?', label)
        out['default_workers'] = bool(workers) and int(workers.group(1)) == default_workers()
        out['targets'] = targets
        out['targets_met'] = {key: out[key] is not None and out[key] <= limit for key, limit in targets.items()}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build-dir', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--phases', default=None,
                    help='comma-separated (default: idle, the --rates points, throughput-max, churn, combined); '
                         'fixed-N or fixed-Nk runs one fixed rate, throughput-fixed the one of --rate')
    ap.add_argument('--rates', default=DEFAULT_RATES,
                    help=f'fixed-rate points in msg/s, phases fixed-1k, fixed-10k... (default {DEFAULT_RATES})')
    ap.add_argument('--servers', default='palaver-w1,palaver-w2,node',
                    help='palaver-wN (palaver-server --workers N), palaver-wN-base (the same from '
                         '--base-build-dir) and/or node')
    ap.add_argument('--base-build-dir', default=None,
                    help='a second build folder (e.g. of the previous commit) whose palaver-server runs as '
                         'palaver-wN-base, to compare a change side by side')
    ap.add_argument('--keepalive', type=float, default=None,
                    help='--keepalive SECONDS for every server (default: theirs, 20 s)')
    ap.add_argument('--duration', type=float, default=5)
    ap.add_argument('--warmup', type=float, default=1)
    ap.add_argument('--rooms', type=int, default=50)
    ap.add_argument('--rate', type=float, default=10000,
                    help='the fixed rate of `combined` and of the old phase name throughput-fixed')
    ap.add_argument('--window', type=int, default=64)
    ap.add_argument('--idle-conns', type=int, default=10000)
    ap.add_argument('--workers', type=int, default=32, help='churn loops in parallel')
    ap.add_argument('--loadgen-threads', type=int, default=1)
    ap.add_argument('--quiet-busy-pct', type=float, default=20,
                    help='before each measurement wait (up to --quiet-timeout s) until the machine is '
                         'busier than this for no more than 1 s (percent of all CPUs together)')
    ap.add_argument('--quiet-timeout', type=float, default=120)
    ap.add_argument('--out', default=None)
    args = ap.parse_args()

    server_bin = os.path.join(args.build_dir, 'signaling-server', 'palaver-server')
    loadgen_bin = os.path.join(args.build_dir, 'bench', 'palaver-loadgen')
    for path in (loadgen_bin,):
        if not os.access(path, os.X_OK):
            sys.exit(f'run.py: {path} is missing: meson setup build && meson compile -C build')
    node = shutil.which('node') or sys.exit('run.py: node is not installed (apt-get install nodejs node-ws)')

    limit = raise_file_limit()
    needed = args.idle_conns + 2 * args.rooms + args.workers + 1024
    if limit < needed:
        print(f'run.py: open-file limit {limit} is below the {needed} needed', file=sys.stderr)

    # Debian's node-ws lives in /usr/share/nodejs; `npm install ws` in bench/
    # (git-ignored node_modules) works as well.
    env = dict(os.environ)
    env['NODE_PATH'] = os.pathsep.join(p for p in (os.path.join(BENCH, 'node_modules'), '/usr/share/nodejs',
                                                   env.get('NODE_PATH')) if p)

    keepalive = [] if args.keepalive is None else ['--keepalive', str(args.keepalive)]
    servers = []
    for label in args.servers.split(','):
        if label == 'node':
            servers.append(Server('node', [node, os.path.join(BENCH, 'node-relay', 'relay.js'),
                                           '--host', '127.0.0.1', '--port', '0', '--rate', '0'] + keepalive, env))
        elif label.startswith('palaver-w'):
            workers = label[len('palaver-w'):]
            binary = server_bin
            if workers.endswith('-base'):
                workers = workers[:-len('-base')]
                if not args.base_build_dir:
                    sys.exit(f'run.py: {label} needs --base-build-dir')
                binary = os.path.join(args.base_build_dir, 'signaling-server', 'palaver-server')
            if not os.access(binary, os.X_OK):
                sys.exit(f'run.py: {binary} is missing')
            # Same limits as the relay: no rate limit; join timeout, keepalive
            # and room size at their defaults, as a deployment would run it.
            servers.append(Server(label, [binary, '--host', '127.0.0.1', '--port', '0', '--rate', '0',
                                          '--max-room-peers', '16', '--workers', workers] + keepalive))
        else:
            sys.exit(f'run.py: unknown server {label}')

    try:
        rates = [float(r) for r in args.rates.split(',') if r.strip()]
    except ValueError:
        sys.exit(f'run.py: --rates wants numbers: {args.rates}')
    if args.phases is None:
        phases = ['idle'] + [fixed_phase(r) for r in rates] + ['throughput-max', 'churn', 'combined']
    else:
        phases = []
        for p in args.phases.split(','):
            # throughput-fixed, the name before the fixed-rate points, is the
            # point at --rate (10,000 msg/s by default, as it always was).
            p = fixed_phase(args.rate) if p == 'throughput-fixed' else p
            if p not in ('idle', 'throughput-max', 'churn', 'combined') and fixed_rate(p) is None:
                sys.exit(f'run.py: unknown phase {p}')
            if p not in phases:
                phases.append(p)
    os.makedirs(os.path.join(BENCH, 'results'), exist_ok=True)
    stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S')
    out_path = args.out or os.path.join(BENCH, 'results', f'run-{stamp}.jsonl')
    out = open(out_path, 'w')

    def emit(obj):
        line = json.dumps(obj, separators=(',', ':'))
        print(line, flush=True)
        out.write(line + '\n')
        out.flush()

    for s in servers:
        s.log = open(os.path.join(BENCH, 'results', f'{s.label}-{stamp}.stderr'), 'a')
    emit({'run': stamp, 'machine': machine(), 'nofile': limit, 'args': vars(args)})
    results = {}
    incidents = []
    common = ['--duration', str(args.duration), '--warmup', str(args.warmup), '--rooms', str(args.rooms),
              '--window', str(args.window), '--idle-conns', str(args.idle_conns),
              '--workers', str(args.workers), '--threads', str(args.loadgen_threads)]
    try:
        for rep in range(args.reps):
            for s in servers:
                s.start()
            order = servers[rep % len(servers):] + servers[:rep % len(servers)]
            for phase in phases:
                for s in order:
                    if not s.alive():
                        incidents.append(f'{s.label} died before {phase} (rep {rep + 1}), restarted')
                        emit({'incident': incidents[-1]})
                        s.stop()
                        s.start()
                    waited = wait_quiet(args.quiet_busy_pct, args.quiet_timeout)
                    rate = fixed_rate(phase)
                    cmd = [loadgen_bin, 'throughput-fixed' if rate is not None else phase, '--url', s.url,
                           '--pid', str(s.proc.pid), '--label', s.label, '--rate', f'{rate or args.rate:g}'] + common
                    try:
                        r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
                    except subprocess.TimeoutExpired:
                        incidents.append(f'loadgen timed out: {s.label} {phase} (rep {rep + 1})')
                        emit({'incident': incidents[-1]})
                        continue
                    for line in r.stdout.splitlines():
                        try:
                            obj = json.loads(line)
                        except json.JSONDecodeError:
                            continue
                        if obj.get('phase') == 'throughput-fixed':
                            obj['phase'] = fixed_phase(obj['target_rate'])  # also combined's
                        obj['rep'] = rep + 1
                        obj['waited_quiet_s'] = waited
                        emit(obj)
                        key = (obj['label'], obj['phase'], obj['idle_conns'])
                        results.setdefault(key, []).append(obj)
                    if r.stderr.strip():
                        emit({'loadgen_stderr': r.stderr.strip()[-500:], 'label': s.label, 'phase': phase})
                    if r.returncode != 0:
                        incidents.append(f'loadgen exit {r.returncode}: {s.label} {phase} (rep {rep + 1})')
                        emit({'incident': incidents[-1]})
                    if not s.alive():
                        incidents.append(f'{s.label} exited with {s.proc.returncode} during {phase} (rep {rep + 1})')
                        emit({'incident': incidents[-1]})
                    time.sleep(1)  # let closing sockets and the servers settle
            for s in servers:
                rc = s.stop()
                if rc not in (0, None):
                    incidents.append(f'{s.label} exit status {rc} on SIGTERM (rep {rep + 1})')
                    emit({'incident': incidents[-1]})
    finally:
        for s in servers:
            s.stop()

    summary = {}
    for key in sorted(results, key=lambda k: (phase_order(k[1]), k[2], k[0])):
        summary[key] = median_line(results[key])
        emit(summary[key])
    if any(s.label == 'node' for s in servers):
        fixed_points = sorted({(fixed_rate(k[1]), k[1], k[2]) for k in summary if fixed_rate(k[1]) is not None})
        for s in servers:
            if s.label != 'node':
                emit(ratios(summary, s.label, args.idle_conns, fixed_phase(args.rate)))
                for _, phase, idle in fixed_points:
                    line = fixed_ratios(summary, s.label, phase, idle)
                    if line:
                        emit(line)
    if incidents:
        emit({'incidents': incidents})
    out.close()
    print(f'results: {out_path}', file=sys.stderr)


if __name__ == '__main__':
    main()
