#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

#include "ws_connection.h"

namespace loadgen {

// The counters of a server's /metrics (Prometheus text format 0.0.4) that the
// fixed-rate phases report over their window. palaver-server and the Node
// relay both serve /metrics on the WebSocket port.
struct MetricsSample {
    bool ok = false;
    // palaver_messages_relayed_total summed over its `type` labels: the
    // messages the server relayed (both servers have it).
    bool hasRelayed = false;
    uint64_t relayed = 0;
    // palaver_worker_messages_received_total{worker="N"}: data frames each
    // worker received (palaver-server with per-worker counters only).
    std::map<std::string, uint64_t> workerMessages;
};

// Parses the exposition text; unknown metrics are ignored.
MetricsSample parseMetrics(std::string_view text);

// GET /metrics over a blocking socket, at most timeoutSec for the whole
// exchange. Not ok when the server does not answer 200 in time.
MetricsSample scrapeMetrics(const Target &target, double timeoutSec);

} // namespace loadgen
