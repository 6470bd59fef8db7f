#!/usr/bin/env python3
"""Runs the Palaver signaling benchmark: palaver-server (--workers 1 and 2) and
the Node + ws relay of bench/node-relay/, side by side in the same run.

Builds nothing: it expects palaver-server and palaver-loadgen in the build
folder (meson setup build && meson compile -C build). Every repetition starts
all servers afresh and runs each phase against each server in turn, rotating
the order per repetition, so that noise on this machine hits them all. Prints
every measurement as one JSON line, then one summary line (medians over the
repetitions) per server and phase, then one line of ratios per palaver-server
variant against the Node relay. Everything printed is also written to
bench/results/run-DATE.jsonl.

See bench/README.md for the method and the meaning of each number.
"""

import argparse
import datetime
import json
import os
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
PHASES = ['idle', 'throughput-fixed', 'throughput-max', 'churn', 'combined']


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
        if key in out or key in ('rep', 'waited_quiet_s') or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        values = [ln[key] for ln in lines if isinstance(ln.get(key), (int, float))]
        if values:
            out[key] = round(statistics.median(values), 2)
    errs = [ln.get('first_error') for ln in lines if ln.get('first_error')]
    if errs:
        out['first_error'] = errs[0]
    return out


def ratios(summary, label, idle_conns, base='node'):
    """palaver/node for each headline number, and whether the issue's targets
    hold: more throughput, churn, less RSS per connection, p99 no worse."""
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
        out[f'fixed_p50_us{suffix}'] = ratio('throughput-fixed', idle, 'p50_us')
        p = out[f'fixed_p99_us{suffix}'] = ratio('throughput-fixed', idle, 'p99_us')
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--build-dir', default=os.path.join(ROOT, 'build'))
    ap.add_argument('--reps', type=int, default=3)
    ap.add_argument('--phases', default=','.join(PHASES))
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
    ap.add_argument('--rate', type=float, default=10000)
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

    phases = args.phases.split(',')
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
              '--rate', str(args.rate), '--window', str(args.window), '--idle-conns', str(args.idle_conns),
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
                    cmd = [loadgen_bin, phase, '--url', s.url, '--pid', str(s.proc.pid), '--label', s.label] + common
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
    for key in sorted(results, key=lambda k: (PHASES.index(k[1]) if k[1] in PHASES else 99, k[2], k[0])):
        summary[key] = median_line(results[key])
        emit(summary[key])
    if any(s.label == 'node' for s in servers):
        for s in servers:
            if s.label != 'node':
                emit(ratios(summary, s.label, args.idle_conns))
    if incidents:
        emit({'incidents': incidents})
    out.close()
    print(f'results: {out_path}', file=sys.stderr)


if __name__ == '__main__':
    main()
