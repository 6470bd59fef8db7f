#pragma once

#include <cstdint>
#include <ctime>

namespace loadgen {

// CLOCK_MONOTONIC in nanoseconds: the one clock of the load generator. Sender
// and receiver of a message live in this process, so one-way latency is a
// difference of two readings of the same clock.
inline int64_t nowNs()
{
    timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return int64_t(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

constexpr int64_t kNsPerSec = 1'000'000'000;

} // namespace loadgen
