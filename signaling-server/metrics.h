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
    std::atomic<uint64_t> movedIn { 0 };          // connections handed to this worker to join a room it owns
    std::atomic<uint64_t> crossWorker { 0 };      // messages posted to another worker's mailbox

    static void add(std::atomic<uint64_t>& counter, uint64_t n = 1)
    {
        counter.store(counter.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
};

// What the room registry says of one worker: the rooms it owns and their
// peers (with joins on their way to it).
struct WorkerRooms {
    size_t rooms = 0;
    size_t peers = 0;
};

// Prometheus text exposition format 0.0.4. `workerRooms` is parallel to
// `workers`.
std::string renderMetrics(const std::vector<const WorkerMetrics*>& workers, const std::vector<WorkerRooms>& workerRooms, size_t rooms,
    size_t peers);

} // namespace palaver::server
