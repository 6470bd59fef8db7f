#include "proc_stats.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

namespace loadgen {

ProcSample sampleProcess(pid_t pid)
{
    ProcSample s;
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string line;
    if (!std::getline(stat, line))
        return s;
    // The command name (field 2) may hold spaces: fields are counted after
    // the last ')'. Field 3 is the state; utime and stime are fields 14, 15.
    auto close = line.rfind(')');
    if (close == std::string::npos)
        return s;
    std::istringstream fields(line.substr(close + 1));
    std::string tok;
    unsigned long long utime = 0, stime = 0;
    for (int field = 3; field <= 15 && fields >> tok; field++) {
        if (field == 14)
            utime = std::stoull(tok);
        else if (field == 15)
            stime = std::stoull(tok);
    }
    s.cpuSec = double(utime + stime) / double(sysconf(_SC_CLK_TCK));
    s.userSec = double(utime) / double(sysconf(_SC_CLK_TCK));

    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            s.rssKiB = std::stol(line.substr(6));
        else if (line.rfind("Threads:", 0) == 0)
            s.threads = std::stoi(line.substr(8));
    }
    s.ok = true;
    return s;
}

TaskTimes sampleTaskTimes(pid_t pid)
{
    TaskTimes t;
    std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR *d = opendir(dir.c_str());
    if (!d)
        return t;
    while (dirent *e = readdir(d)) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        std::ifstream f(dir + "/" + e->d_name + "/schedstat");
        unsigned long long ns = 0;
        if (f >> ns)  // a thread that ended since readdir() has no file left
            t.runNs.emplace_back(std::atoi(e->d_name), uint64_t(ns));
    }
    closedir(d);
    std::sort(t.runNs.begin(), t.runNs.end());
    t.ok = !t.runNs.empty();
    return t;
}

bool cpuSecBetween(const TaskTimes &start, const TaskTimes &end, double &seconds)
{
    if (!start.ok || !end.ok)
        return false;
    uint64_t total = 0;
    size_t i = 0;
    for (const auto &[tid, ns] : end.runNs) {
        if (i < start.runNs.size() && start.runNs[i].first < tid)
            return false;  // a thread of start is gone
        if (i < start.runNs.size() && start.runNs[i].first == tid) {
            total += ns - std::min(ns, start.runNs[i].second);
            i++;
        } else {
            total += ns;  // started inside the window
        }
    }
    if (i != start.runNs.size())
        return false;
    seconds = double(total) / 1e9;
    return true;
}

MachineSample sampleMachine()
{
    MachineSample m;
    std::ifstream stat("/proc/stat");
    std::string cpu;
    stat >> cpu;  // "cpu": the sum over all CPUs
    unsigned long long v[10] = {};
    for (auto &x : v)
        stat >> x;
    // user nice system idle iowait irq softirq steal guest guest_nice; guest
    // time is already inside user.
    unsigned long long idle = v[3] + v[4];
    unsigned long long total = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    double tick = double(sysconf(_SC_CLK_TCK));
    m.busySec = double(total - idle) / tick;
    m.totalSec = double(total) / tick;
    return m;
}

double selfCpuSec()
{
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
        double(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

double selfUserSec()
{
    rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return double(ru.ru_utime.tv_sec) + double(ru.ru_utime.tv_usec) / 1e6;
}

long raiseFileLimit(long wanted)
{
    rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rlim_t(wanted) > rl.rlim_max) {
        // Only root may raise the hard limit; try, and fall back to it.
        rlimit more = { rlim_t(wanted), rlim_t(wanted) };
        if (setrlimit(RLIMIT_NOFILE, &more) == 0)
            return wanted;
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
    getrlimit(RLIMIT_NOFILE, &rl);
    return long(rl.rlim_cur);
}

} // namespace loadgen
