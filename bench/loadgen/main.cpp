// palaver-loadgen: the benchmark's load generator. It drives any server that
// speaks Palaver signaling protocol 1 (palaver-server, bench/node-relay) and
// prints one JSON line per measurement. See bench/README.md.
//
// Plain POSIX sockets, epoll and hand-made masked frames, so that the load
// generator costs far less CPU than the servers it measures; it reports its
// own CPU time beside the server's for every measurement.

#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "clock.h"
#include "metrics_scrape.h"
#include "phases.h"
#include "proc_stats.h"

using namespace loadgen;

namespace {

const char kUsage[] =
    "usage: palaver-loadgen PHASE --url ws://HOST:PORT/ws --pid SERVER_PID [options]\n"
    "PHASE: throughput-fixed | throughput-max | idle | churn | combined\n"
    "  combined: idle connections held open while throughput-fixed,\n"
    "            throughput-max and churn run again\n"
    "options:\n"
    "  --label NAME        name of the server in the JSON lines\n"
    "  --threads N         load threads (default 1)\n"
    "  --rooms R           rooms of 2 peers for the throughput phases (50)\n"
    "  --rate N            total messages/s for throughput-fixed (10000)\n"
    "                      (run.py's fixed-1k, fixed-10k, fixed-50k are this phase)\n"
    "  --window N          messages in flight per peer for throughput-max (64)\n"
    "  --refill-at N       throughput-max: top the window up when in flight <= N\n"
    "                      (default window - 1: top up after every delivery)\n"
    "  --warmup S          seconds of load before measuring (1)\n"
    "  --duration S        seconds measured (5)\n"
    "  --idle-conns N      idle joined connections (10000)\n"
    "  --workers K         churn loops in parallel (32)\n"
    "  --settle S          idle: seconds before reading the RSS (2)\n"
    "  --source-ips N      spread over 127.0.0.2..  (16; 0: kernel's choice)\n";

class JsonLine {
public:
    JsonLine &str(const char *key, const std::string &value)
    {
        sep();
        out_ << '"' << key << "\":\"";
        for (char c : value) {
            if (c == '"' || c == '\\')
                out_ << '\\' << c;
            else if (uint8_t(c) < 0x20)
                out_ << ' ';
            else
                out_ << c;
        }
        out_ << '"';
        return *this;
    }
    JsonLine &num(const char *key, double value, int decimals = 1)
    {
        sep();
        char buf[64];
        if (std::isfinite(value))
            snprintf(buf, sizeof(buf), "%.*f", decimals, value);
        else
            snprintf(buf, sizeof(buf), "null");
        out_ << '"' << key << "\":" << buf;
        return *this;
    }
    JsonLine &integer(const char *key, long long value)
    {
        sep();
        out_ << '"' << key << "\":" << value;
        return *this;
    }
    JsonLine &boolean(const char *key, bool value)
    {
        sep();
        out_ << '"' << key << "\":" << (value ? "true" : "false");
        return *this;
    }
    // A value already in JSON (a list).
    JsonLine &raw(const char *key, const std::string &json)
    {
        sep();
        out_ << '"' << key << "\":" << json;
        return *this;
    }
    void print()
    {
        printf("{%s}\n", out_.str().c_str());
        fflush(stdout);
    }

private:
    void sep()
    {
        if (!first_)
            out_ << ',';
        first_ = false;
    }
    std::ostringstream out_;
    bool first_ = true;
};

// CPU and RSS of the server and CPU of this process over one window; for
// the relay phases also the server's /metrics counters at both ends.
struct Window {
    int64_t startNs = 0, endNs = 0;
    ProcSample serverStart, serverEnd;
    TaskTimes tasksStart, tasksEnd;
    MetricsSample metricsStart, metricsEnd;
    int64_t metricsStartNs = 0, metricsEndNs = 0;  // when each answer came
    double selfStart = 0, selfEnd = 0;
    double selfUserStart = 0, selfUserEnd = 0;
    MachineSample machineStart, machineEnd;

    double seconds() const { return double(endNs - startNs) / double(kNsPerSec); }
    double serverCpuPct() const { return 100.0 * (serverEnd.cpuSec - serverStart.cpuSec) / seconds(); }
    double selfCpuPct() const { return 100.0 * (selfEnd - selfStart) / seconds(); }
    double serverUserPct() const { return 100.0 * (serverEnd.userSec - serverStart.userSec) / seconds(); }
    double selfUserPct() const { return 100.0 * (selfUserEnd - selfUserStart) / seconds(); }
    // Of all CPUs together (200 % on two), like the other shares.
    double machineBusyPct() const { return 100.0 * (machineEnd.busySec - machineStart.busySec) / seconds(); }
    // Server CPU seconds over the window: per-thread schedstat (ns) when the
    // same threads ran throughout, else the 10 ms ticks of /proc/PID/stat.
    double serverCpuSec(bool *exact = nullptr) const
    {
        double sec = 0;
        bool fine = cpuSecBetween(tasksStart, tasksEnd, sec);
        if (exact)
            *exact = fine;
        return fine ? sec : serverEnd.cpuSec - serverStart.cpuSec;
    }

    void addTo(JsonLine &line) const;
};

// `scrape`: also read the server's /metrics, 200 ms before the window's first
// CPU sample and after its last, so that the request's own CPU stays outside.
// The first answer must come before the window starts, or the counters are
// left out: a slow one (a backlogged server) must not move the window.
Window measureWindow(pid_t pid, int64_t start, int64_t end, const Target *scrape = nullptr)
{
    Window w;
    timespec ts;
    if (scrape) {
        int64_t lead = start - 200'000'000;
        ts = { time_t(lead / kNsPerSec), long(lead % kNsPerSec) };
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
        }
        double left = double(start - nowNs()) / double(kNsPerSec);
        if (left > 0.001)
            w.metricsStart = scrapeMetrics(*scrape, left);
        w.metricsStartNs = nowNs();
    }
    ts = { time_t(start / kNsPerSec), long(start % kNsPerSec) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    w.machineStart = sampleMachine();
    w.tasksStart = sampleTaskTimes(pid);
    w.serverStart = sampleProcess(pid);
    w.selfStart = selfCpuSec();
    w.selfUserStart = selfUserSec();
    w.startNs = nowNs();
    ts = { time_t(end / kNsPerSec), long(end % kNsPerSec) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
    w.machineEnd = sampleMachine();
    w.tasksEnd = sampleTaskTimes(pid);
    w.serverEnd = sampleProcess(pid);
    w.selfEnd = selfCpuSec();
    w.selfUserEnd = selfUserSec();
    w.endNs = nowNs();
    if (scrape) {
        w.metricsEnd = scrapeMetrics(*scrape, 0.5);
        w.metricsEndNs = nowNs();
    }
    return w;
}

// CPU shares: user+system, and user alone (on loopback much of the system
// time is the TCP path of the other end, run in the sender's context).
void Window::addTo(JsonLine &line) const
{
    line.num("server_cpu_pct", serverCpuPct())
        .num("server_user_pct", serverUserPct())
        .num("loadgen_cpu_pct", selfCpuPct())
        .num("loadgen_user_pct", selfUserPct())
        .num("machine_busy_pct", machineBusyPct())
        .num("other_cpu_pct", machineBusyPct() - serverCpuPct() - selfCpuPct())
        .integer("server_rss_kib", serverEnd.rssKiB);
}

std::string jsonList(const std::vector<double> &values, int decimals)
{
    std::string out = "[";
    for (size_t i = 0; i < values.size(); i++) {
        char buf[64];
        snprintf(buf, sizeof(buf), "%s%.*f", i ? "," : "", decimals, values[i]);
        out += buf;
    }
    return out + "]";
}

// The cost of a message and, from /metrics, what the server counted itself:
// messages relayed and each worker's share of the data frames received.
//
// CPU per message is server CPU per second over the CPU window divided by
// messages delivered per second over the schedule's window: the two windows
// are the same 5 s give or take the time the samples take.
void addPerMessage(JsonLine &line, const Window &w, uint64_t delivered, double seconds)
{
    bool exact = false;
    double cpuSec = w.serverCpuSec(&exact);
    double perSec = double(delivered) / seconds;
    line.num("server_cpu_s", cpuSec, 4)
        .boolean("server_cpu_exact", exact)
        .num("cpu_window_s", w.seconds(), 3)
        .num("server_cpu_us_per_msg", delivered ? cpuSec / w.seconds() * 1e6 / perSec : NAN, 2);
    const MetricsSample &a = w.metricsStart, &b = w.metricsEnd;
    if (!a.ok || !b.ok)
        return;
    // The server's own count, over the time between the two answers (up to
    // 200 ms longer than the window): beside msgs_per_s, a check that every
    // message delivered was relayed once, and at saturation how far the
    // server's reading lags the load.
    if (a.hasRelayed && b.hasRelayed) {
        double between = double(w.metricsEndNs - w.metricsStartNs) / double(kNsPerSec);
        line.num("server_relayed_per_s", double(b.relayed - std::min(b.relayed, a.relayed)) / between, 0);
    }
    if (b.workerMessages.empty() || a.workerMessages.size() != b.workerMessages.size())
        return;
    // Worker labels in numeric order ("10" after "9").
    std::vector<std::string> workers;
    for (const auto &[worker, n] : b.workerMessages)
        workers.push_back(worker);
    std::sort(workers.begin(), workers.end(), [](const std::string &x, const std::string &y) {
        return x.size() != y.size() ? x.size() < y.size() : x < y;
    });
    std::vector<double> counts, shares;
    double total = 0;
    for (const auto &worker : workers) {
        auto before = a.workerMessages.find(worker);
        if (before == a.workerMessages.end())
            return;
        uint64_t end = b.workerMessages.at(worker);
        counts.push_back(double(end - std::min(end, before->second)));
        total += counts.back();
    }
    for (double n : counts)
        shares.push_back(total > 0 ? n / total : NAN);
    line.raw("worker_messages", jsonList(counts, 0)).raw("worker_message_share", jsonList(shares, 3));
}

// Waits for the load threads to be set up, then starts them all at once.
bool startSchedule(Schedule &schedule, int threads, const Options &options)
{
    while (schedule.ready.load() < threads)
        usleep(1000);
    if (schedule.failed)
        return false;
    schedule.t0 = nowNs() + 20'000'000;
    schedule.measureStart = schedule.t0 + int64_t(options.warmupSec * double(kNsPerSec));
    schedule.measureEnd = schedule.measureStart + int64_t(options.durationSec * double(kNsPerSec));
    schedule.go.store(true, std::memory_order_release);
    return true;
}

void common(JsonLine &line, const Options &options, const char *phase, int idle)
{
    line.str("label", options.label).str("phase", phase).integer("idle_conns", idle);
}

bool runRelay(const Options &options, RelayLoad::Mode mode, int idle)
{
    Schedule schedule;
    std::vector<std::unique_ptr<RelayLoad>> loads;
    for (int t = 0; t < options.threads; t++) {
        std::vector<int> rooms;
        for (int r = t; r < options.rooms; r += options.threads)
            rooms.push_back(r);
        loads.push_back(std::make_unique<RelayLoad>(options, mode, t, rooms, options.rate / options.threads, schedule));
    }
    std::vector<std::thread> threads;
    for (auto &l : loads)
        threads.emplace_back([&l] { l->run(); });
    bool ok = startSchedule(schedule, options.threads, options);
    Window w;
    if (ok)
        w = measureWindow(options.pid, schedule.measureStart, schedule.measureEnd, &options.target);
    for (auto &t : threads)
        t.join();

    Histogram latency, kernelLatency, sendLag;
    uint64_t sent = 0, sentInWindow = 0, received = 0, delivered = 0, errors = 0;
    std::string firstError;
    for (auto &l : loads) {
        latency.merge(l->latency);
        kernelLatency.merge(l->kernelLatency);
        sendLag.merge(l->sendLag);
        sent += l->sent;
        sentInWindow += l->sentInWindow;
        received += l->received;
        delivered += l->deliveredInWindow;
        errors += l->errors;
        if (firstError.empty())
            firstError = l->firstError;
    }
    const bool fixed = mode == RelayLoad::Mode::FixedRate;
    JsonLine line;
    common(line, options, fixed ? "throughput-fixed" : "throughput-max", idle);
    line.integer("rooms", options.rooms).integer("threads", options.threads);
    if (fixed)
        line.num("target_rate", options.rate, 0);
    else
        line.integer("window", options.window).integer("refill_at", options.refillAt);
    if (ok) {
        double secs = double(options.durationSec);
        line.num("seconds", secs, 2)
            .integer("delivered", (long long)delivered)
            .num("msgs_per_s", double(delivered) / secs, 0)
            .integer("sent", (long long)sent)
            .integer("lost", (long long)(sent - std::min(sent, received)))
            .integer("errors", (long long)errors)
            .num("p50_us", latency.percentileUs(0.50), 0)
            .num("p99_us", latency.percentileUs(0.99), 0)
            .num("max_us", latency.maxUs(), 0)
            .num("mean_us", latency.meanUs(), 1)
            .num("kernel_p50_us", kernelLatency.percentileUs(0.50), 0)
            .num("kernel_p99_us", kernelLatency.percentileUs(0.99), 0)
            .integer("server_threads", w.serverEnd.threads);
        w.addTo(line);
        if (fixed) {
            // The rate this process really sent at in the window, and how
            // late messages left: at 50,000 msg/s one load thread is near
            // a core, so this says whether the load generator kept up.
            line.integer("sent_in_window", (long long)sentInWindow)
                .num("achieved_rate", double(sentInWindow) / secs, 0)
                .num("send_lag_p99_us", sendLag.percentileUs(0.99), 0)
                .num("send_lag_max_us", sendLag.maxUs(), 0);
        }
        addPerMessage(line, w, delivered, secs);
    }
    if (!firstError.empty())
        line.str("first_error", firstError);
    if (!ok)
        line.str("failed", "setup");
    line.print();
    return ok;
}

bool runChurn(const Options &options, int idle)
{
    Schedule schedule;
    std::vector<std::unique_ptr<ChurnLoad>> loads;
    for (int t = 0; t < options.threads; t++) {
        int k = options.workers / options.threads + (t < options.workers % options.threads ? 1 : 0);
        loads.push_back(std::make_unique<ChurnLoad>(options, t, k, schedule));
    }
    std::vector<std::thread> threads;
    for (auto &l : loads)
        threads.emplace_back([&l] { l->run(); });
    bool ok = startSchedule(schedule, options.threads, options);
    Window w = measureWindow(options.pid, schedule.measureStart, schedule.measureEnd);
    for (auto &t : threads)
        t.join();
    Histogram cycle;
    uint64_t cycles = 0, failures = 0, errors = 0, connectErrors = 0;
    std::string firstError;
    for (auto &l : loads) {
        cycle.merge(l->cycleTime);
        cycles += l->cyclesInWindow;
        failures += l->failures;
        errors += l->errors;
        connectErrors += l->connectErrors;
        if (firstError.empty())
            firstError = l->firstError;
    }
    JsonLine line;
    common(line, options, "churn", idle);
    double secs = options.durationSec;
    line.integer("workers", options.workers)
        .integer("threads", options.threads)
        .num("seconds", secs, 2)
        .integer("cycles", (long long)cycles)
        .num("cycles_per_s", double(cycles) / secs, 0)
        .num("cycle_p50_us", cycle.percentileUs(0.5), 0)
        .num("cycle_p99_us", cycle.percentileUs(0.99), 0)
        .num("cycle_max_us", cycle.maxUs(), 0)
        .integer("failures", (long long)failures)
        .integer("connect_errors", (long long)connectErrors)
        .integer("errors", (long long)errors);
    w.addTo(line);
    if (!firstError.empty())
        line.str("first_error", firstError);
    line.print();
    return ok;
}

// Opens the idle connections, reports the server's RSS per connection, and
// leaves them open (the caller stops the hold).
bool runIdle(const Options &options, IdleHold &hold, const char *phase)
{
    ProcSample before = sampleProcess(options.pid);
    double selfBefore = selfCpuSec();
    int64_t t0 = nowNs();
    hold.start();
    bool ok = hold.waitReady(120);
    double openSec = double(nowNs() - t0) / double(kNsPerSec);
    ProcSample opened = sampleProcess(options.pid);
    double selfOpened = selfCpuSec();
    if (ok)
        usleep(useconds_t(options.settleSec * 1e6));
    ProcSample after = sampleProcess(options.pid);
    const int n = options.idleConns;
    double perConn = double(after.rssKiB - before.rssKiB) * 1024.0 / double(n);
    JsonLine line;
    line.str("label", options.label).str("phase", phase).integer("idle_conns", n);
    line.integer("rooms", n / 2)
        .num("open_s", openSec, 2)
        .num("opens_per_s", double(n) / openSec, 0)
        .integer("rss_before_kib", before.rssKiB)
        .integer("rss_after_kib", after.rssKiB)
        .num("rss_per_conn_bytes", perConn, 0)
        .num("rss_per_conn_kib", perConn / 1024.0, 2)
        .num("server_cpu_s_open", opened.cpuSec - before.cpuSec, 2)
        .num("loadgen_cpu_s_open", selfOpened - selfBefore, 2)
        .integer("failures", (long long)hold.failures)
        .integer("errors", (long long)hold.errors);
    if (!hold.firstError.empty())
        line.str("first_error", hold.firstError);
    if (!ok)
        line.str("failed", "not all idle connections joined");
    line.print();
    return ok;
}

bool parseArgs(int argc, char **argv, std::string &phase, Options &options)
{
    if (argc < 2)
        return false;
    phase = argv[1];
    std::string url;
    for (int i = 2; i < argc; i++) {
        std::string name = argv[i];
        if (i + 1 >= argc) {
            fprintf(stderr, "palaver-loadgen: %s needs a value\n", name.c_str());
            return false;
        }
        std::string value = argv[++i];
        try {
            if (name == "--url")
                url = value;
            else if (name == "--pid")
                options.pid = pid_t(std::stol(value));
            else if (name == "--label")
                options.label = value;
            else if (name == "--threads")
                options.threads = std::max(1, std::stoi(value));
            else if (name == "--rooms")
                options.rooms = std::max(1, std::stoi(value));
            else if (name == "--rate")
                options.rate = std::stod(value);
            else if (name == "--window")
                options.window = std::max(1, std::stoi(value));
            else if (name == "--refill-at")
                options.refillAt = std::max(0, std::stoi(value));
            else if (name == "--warmup")
                options.warmupSec = std::stod(value);
            else if (name == "--duration")
                options.durationSec = std::stod(value);
            else if (name == "--idle-conns")
                options.idleConns = std::max(2, std::stoi(value) & ~1);
            else if (name == "--workers")
                options.workers = std::max(1, std::stoi(value));
            else if (name == "--settle")
                options.settleSec = std::stod(value);
            else if (name == "--source-ips")
                options.sourceIps = std::max(0, std::min(250, std::stoi(value)));
            else {
                fprintf(stderr, "palaver-loadgen: unknown option %s\n", name.c_str());
                return false;
            }
        } catch (const std::exception &) {
            fprintf(stderr, "palaver-loadgen: bad value for %s: %s\n", name.c_str(), value.c_str());
            return false;
        }
    }
    options.refillAt = std::min(options.refillAt, options.window - 1);
    std::string error;
    if (url.empty() || options.pid <= 0) {
        fprintf(stderr, "palaver-loadgen: --url and --pid are required\n");
        return false;
    }
    if (!parseUrl(url, options.target, error)) {
        fprintf(stderr, "palaver-loadgen: %s\n", error.c_str());
        return false;
    }
    return true;
}

} // namespace

int main(int argc, char **argv)
{
    std::string phase;
    Options options;
    if (!parseArgs(argc, argv, phase, options)) {
        fputs(kUsage, stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    if (!sampleProcess(options.pid).ok) {
        fprintf(stderr, "palaver-loadgen: no process %d\n", int(options.pid));
        return 2;
    }
    // Room ids unique to this run, so nothing collides with a previous run's
    // rooms that a slow server has not cleaned up yet.
    options.tag = "b" + std::to_string(getpid()) + "x" + std::to_string(nowNs() % 100000);

    long wanted = 1024 + options.idleConns + 2L * options.rooms + options.workers;
    long limit = raiseFileLimit(wanted);
    if (limit < wanted)
        fprintf(stderr, "palaver-loadgen: open-file limit %ld is below the %ld needed\n", limit, wanted);

    bool ok = true;
    if (phase == "throughput-fixed") {
        ok = runRelay(options, RelayLoad::Mode::FixedRate, 0);
    } else if (phase == "throughput-max") {
        ok = runRelay(options, RelayLoad::Mode::Flood, 0);
    } else if (phase == "churn") {
        ok = runChurn(options, 0);
    } else if (phase == "idle") {
        IdleHold hold(options);
        ok = runIdle(options, hold, "idle");
        hold.stop();
    } else if (phase == "combined") {
        IdleHold hold(options);
        ok = runIdle(options, hold, "idle-held");
        if (ok) {
            const int n = options.idleConns;
            ok = runRelay(options, RelayLoad::Mode::FixedRate, n) && ok;
            ok = runRelay(options, RelayLoad::Mode::Flood, n) && ok;
            ok = runChurn(options, n) && ok;
            if (hold.failures || hold.peerLeft) {
                fprintf(stderr, "palaver-loadgen: %llu idle connections lost, %llu peer-left seen\n",
                    (unsigned long long)hold.failures, (unsigned long long)hold.peerLeft);
            }
        }
        hold.stop();
    } else {
        fputs(kUsage, stderr);
        return 2;
    }
    return ok ? 0 : 1;
}
