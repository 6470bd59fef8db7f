/* Main-loop stall monitor for any build of `palaver` (bench/gui/README.md,
 * "Main-loop stalls"). Loaded with LD_PRELOAD; nothing in the program
 * changes:
 *
 *   STALL_LOG=/tmp/stalls.txt LD_PRELOAD=build/bench/libpalaver-stall-monitor.so palaver ...
 *
 * Its constructor attaches a source to the global default main context (the
 * one GApplication iterates on the main thread) that is due every
 * STALL_INTERVAL_MS (default 5) and, on each dispatch, compares the time it
 * runs with the time it was due (g_get_monotonic_time, CLOCK_MONOTONIC).
 * Its priority is G_PRIORITY_DEFAULT, that of a g_timeout_add(): what it
 * measures is how late a timeout of the application's would run.
 *
 * Every dispatch later than STALL_THRESHOLD_MS (default 10) is appended to a
 * preallocated buffer (no allocation, no I/O in the dispatch itself); the
 * buffer is written out about once a second and at exit (destructor), so a
 * killed process still leaves what it saw until the last second. Lines of
 * STALL_LOG (times in µs of CLOCK_MONOTONIC):
 *
 *   start MONO CLOCK_MONOTONIC PID INTERVAL_US THRESHOLD_US
 *   late DUE_US RAN_US LATENESS_US GAP_US
 *   end MONO DISPATCHES MAX_LATENESS_US MAX_GAP_US OVER16 OVER50 DROPPED
 *
 *   stuck DUE_US NOW_US
 *
 * `stuck` comes from a watchdog thread (it never touches the main loop):
 * once a dispatch is more than a second overdue, and every second after,
 * so that a loop blocked until the process is killed still shows.
 * LATENESS = RAN - DUE; GAP = RAN - the previous dispatch (the time between
 * two consecutive dispatches, INTERVAL plus the lateness when the next due
 * time is set from the previous run, as here). `start` gives both
 * g_get_monotonic_time() and clock_gettime(CLOCK_MONOTONIC) so that a reader
 * can check they are the same clock as its own.
 *
 * Only a process whose name is STALL_PROGRAM (default "palaver") is
 * monitored: LD_PRELOAD is inherited by children (gst-plugin-scanner, a
 * second `palaver` instance would truncate the log: it appends instead).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <glib.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

struct Sample {
    gint64 due;
    gint64 ran;
    gint64 gap;
};

enum { kCapacity = 1 << 16, kFlushEvery = 200 };

static Sample samples[kCapacity];
static guint nSamples;
static guint64 dropped;
static int fd = -1;
static gint64 intervalUs = 5000;
static gint64 thresholdUs = 10000;
static gint64 due;
static gint64 lastRan;
static guint64 dispatches;
static gint64 maxLateness;
static gint64 maxGap;
static guint64 over16;
static guint64 over50;
static guint sinceFlush;
static GSource* source;
// What the watchdog thread reads.
static std::atomic<gint64> watchedDue { G_MAXINT64 / 2 };

static void writeAll(const char* text, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, text, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        text += w;
        n -= static_cast<size_t>(w);
    }
}

static void flush(void)
{
    char line[160];
    for (guint i = 0; i < nSamples; i++) {
        const Sample* s = &samples[i];
        int n = snprintf(line, sizeof line, "late %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %" G_GINT64_FORMAT
                         " %" G_GINT64_FORMAT "\n", s->due, s->ran, s->ran - s->due, s->gap);
        writeAll(line, static_cast<size_t>(n));
    }
    nSamples = 0;
}

static gboolean dispatch(GSource* src, GSourceFunc callback, gpointer data)
{
    gint64 now = g_get_monotonic_time();
    gint64 lateness = now - due;
    gint64 gap = lastRan ? now - lastRan : 0;
    dispatches++;
    if (lateness > maxLateness)
        maxLateness = lateness;
    if (gap > maxGap)
        maxGap = gap;
    if (lateness > 16000)
        over16++;
    if (lateness > 50000)
        over50++;
    if (lateness > thresholdUs) {
        if (nSamples < kCapacity)
            samples[nSamples++] = Sample { due, now, gap };
        else
            dropped++;
    }
    if (++sinceFlush >= kFlushEvery) {
        sinceFlush = 0;
        if (nSamples)
            flush();
    }
    lastRan = now;
    due = now + intervalUs;
    watchedDue.store(due, std::memory_order_relaxed);
    g_source_set_ready_time(src, due);
    return G_SOURCE_CONTINUE;
}

static gpointer watchdog(gpointer)
{
    gint64 reported = 0;
    for (;;) {
        g_usleep(100000);
        gint64 d = watchedDue.load(std::memory_order_relaxed);
        gint64 now = g_get_monotonic_time();
        if (now - d > 1000000 && now - reported > 1000000 && fd >= 0) {
            char line[80];
            int n = snprintf(line, sizeof line, "stuck %" G_GINT64_FORMAT " %" G_GINT64_FORMAT "\n", d, now);
            writeAll(line, static_cast<size_t>(n));
            reported = now;
        }
    }
    return nullptr;
}

static GSourceFuncs funcs = { nullptr, nullptr, dispatch, nullptr, nullptr, nullptr };

static gint64 envNumber(const char* name, gint64 fallback)
{
    const char* v = getenv(name);
    if (!v || !*v)
        return fallback;
    double x = g_ascii_strtod(v, nullptr);
    return x > 0 ? static_cast<gint64>(x) : fallback;
}

__attribute__((constructor)) static void stallMonitorStart(void)
{
    const char* path = getenv("STALL_LOG");
    if (!path || !*path)
        return;
    const char* program = getenv("STALL_PROGRAM");
    if (strcmp(program_invocation_short_name, program && *program ? program : "palaver") != 0)
        return;
    fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    intervalUs = envNumber("STALL_INTERVAL_MS", 5) * 1000;
    thresholdUs = envNumber("STALL_THRESHOLD_MS", 10) * 1000;

    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    gint64 mono = g_get_monotonic_time();
    char line[160];
    int n = snprintf(line, sizeof line, "start %" G_GINT64_FORMAT " %" G_GINT64_FORMAT " %d %" G_GINT64_FORMAT
                     " %" G_GINT64_FORMAT "\n", mono, static_cast<gint64>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000,
                     static_cast<int>(getpid()), intervalUs, thresholdUs);
    writeAll(line, static_cast<size_t>(n));

    source = g_source_new(&funcs, sizeof(GSource));
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_name(source, "stall-monitor");
    due = mono + intervalUs;
    g_source_set_ready_time(source, due);
    g_source_attach(source, g_main_context_default());
    // Watched from the first dispatch on (process startup is no stall).
    g_thread_unref(g_thread_new("stall-watchdog", watchdog, nullptr));
}

__attribute__((destructor)) static void stallMonitorEnd(void)
{
    if (fd < 0)
        return;
    flush();
    char line[200];
    int n = snprintf(line, sizeof line, "end %" G_GINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GINT64_FORMAT
                     " %" G_GINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT " %" G_GUINT64_FORMAT "\n",
                     g_get_monotonic_time(), dispatches, maxLateness, maxGap, over16, over50, dropped);
    writeAll(line, static_cast<size_t>(n));
    // fd stays open: the watchdog thread may still write.
}
