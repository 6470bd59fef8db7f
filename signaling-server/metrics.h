// Counters for GET /metrics. Each worker owns one WorkerMetrics and is its
// only writer (relaxed atomics, no shared cache line between workers); the
// HTTP handler sums them when scraped.
#pragma once

#include "messages.h"

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace palaver::server {

enum class RelayType { Offer, Answer, Candidate, Count };

struct alignas(64) WorkerMetrics {
    std::atomic<int64_t> connections { 0 };        // open WebSocket connections
    std::atomic<uint64_t> connectionsTotal { 0 };  // accepted since start
    std::atomic<uint64_t> messagesReceived { 0 };  // data frames read
    std::atomic<uint64_t> joins { 0 };
    std::atomic<uint64_t> leaves { 0 };            // leave, close and drop
    std::array<std::atomic<uint64_t>, static_cast<size_t>(RelayType::Count)> relayed {};
    std::array<std::atomic<uint64_t>, protocol::kErrorCodeCount> errors {};
    std::atomic<uint64_t> keepaliveDrops { 0 };

    static void add(std::atomic<uint64_t>& counter, uint64_t n = 1)
    {
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
};

// Prometheus text exposition format 0.0.4.
std::string renderMetrics(const std::vector<const WorkerMetrics*>& workers, size_t rooms, size_t peers);

} // namespace palaver::server
