#pragma once

#include <sys/types.h>

#include <cstdint>
#include <utility>
#include <vector>

namespace loadgen {

// What the kernel says about another process (the server under test), read
// from /proc/PID/stat and /proc/PID/status.
struct ProcSample {
    bool ok = false;
    double cpuSec = 0;  // utime + stime of all its threads, 10 ms resolution
    double userSec = 0; // utime alone
    long rssKiB = 0;    // VmRSS
    int threads = 0;
};

ProcSample sampleProcess(pid_t pid);

// Time on CPU of each thread of another process, in nanoseconds, from
// /proc/PID/task/TID/schedstat (sum_exec_runtime: user and system together).
// utime+stime in /proc/PID/stat count 10 ms ticks, too coarse for the cost
// of a message at 1,000 msg/s (a 5 s window there is about 20 ticks).
struct TaskTimes {
    bool ok = false;
    std::vector<std::pair<int, uint64_t>> runNs;  // (tid, ns), sorted by tid
};
TaskTimes sampleTaskTimes(pid_t pid);

// CPU seconds of the process between two samples. False when a thread of
// `start` is gone at `end` (its time went with it): then the caller falls
// back to the ticks of /proc/PID/stat.
bool cpuSecBetween(const TaskTimes &start, const TaskTimes &end, double &seconds);

// CPU time of the whole machine from /proc/stat, in seconds summed over
// every CPU: to see whether something besides the server and the load
// generator ran during a measurement (a compiler, say).
struct MachineSample {
    double busySec = 0;
    double totalSec = 0;
};
MachineSample sampleMachine();

// CPU time of this process (every thread), from getrusage(RUSAGE_SELF).
double selfCpuSec();
double selfUserSec();

// Raises RLIMIT_NOFILE to at least `wanted` if it can (up to the hard limit,
// or past it as root), returns the soft limit in force afterwards.
long raiseFileLimit(long wanted);

} // namespace loadgen
