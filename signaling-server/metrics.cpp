#include "metrics.h"

namespace palaver::server {

namespace {

template<typename Field>
uint64_t sum(const std::vector<const WorkerMetrics*>& workers, Field field)
{
    uint64_t total = 0;
    for (const auto* w : workers)
        total += static_cast<uint64_t>(field(*w).load(std::memory_order_relaxed));
    return total;
}

void metric(std::string& out, const char* name, const char* type, const char* help)
{
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, const char* name, uint64_t value, const char* label = nullptr, const char* labelValue = nullptr)
{
    out.append(name);
    if (label)
        out.append("{").append(label).append("=\"").append(labelValue).append("\"}");
    out.append(" ").append(std::to_string(value)).append("\n");
}

} // namespace

std::string renderMetrics(const std::vector<const WorkerMetrics*>& workers, size_t rooms, size_t peers)
{
    std::string out;
    out.reserve(2048);
    metric(out, "palaver_connections", "gauge", "Open WebSocket connections.");
    sample(out, "palaver_connections", sum(workers, [](const WorkerMetrics& m) -> auto& { return m.connections; }));
    metric(out, "palaver_rooms", "gauge", "Rooms with at least one peer.");
    sample(out, "palaver_rooms", rooms);
    metric(out, "palaver_peers", "gauge", "Peers joined to a room.");
    sample(out, "palaver_peers", peers);
    metric(out, "palaver_connections_total", "counter", "WebSocket connections accepted.");
    sample(out, "palaver_connections_total", sum(workers, [](const WorkerMetrics& m) -> auto& { return m.connectionsTotal; }));
    metric(out, "palaver_messages_received_total", "counter", "Data frames received.");
    sample(out, "palaver_messages_received_total", sum(workers, [](const WorkerMetrics& m) -> auto& { return m.messagesReceived; }));
    metric(out, "palaver_joins_total", "counter", "Successful joins.");
    sample(out, "palaver_joins_total", sum(workers, [](const WorkerMetrics& m) -> auto& { return m.joins; }));
    metric(out, "palaver_leaves_total", "counter", "Peers that left a room (leave, close or drop).");
    sample(out, "palaver_leaves_total", sum(workers, [](const WorkerMetrics& m) -> auto& { return m.leaves; }));
    metric(out, "palaver_keepalive_drops_total", "counter", "Connections dropped for not answering keepalive pings.");
    sample(out, "palaver_keepalive_drops_total", sum(workers, [](const WorkerMetrics& m) -> auto& { return m.keepaliveDrops; }));

    metric(out, "palaver_messages_relayed_total", "counter", "Messages relayed between peers, by type.");
    static constexpr const char* relayNames[] = { "send-offer", "send-answer", "ice-candidate" };
    for (size_t i = 0; i < std::size(relayNames); ++i)
        sample(out, "palaver_messages_relayed_total", sum(workers, [i](const WorkerMetrics& m) -> auto& { return m.relayed[i]; }), "type", relayNames[i]);
    metric(out, "palaver_errors_total", "counter", "Error messages sent, by code.");
    for (int i = 0; i < protocol::kErrorCodeCount; ++i) {
        auto code = static_cast<protocol::ErrorCode>(i);
        sample(out, "palaver_errors_total", sum(workers, [i](const WorkerMetrics& m) -> auto& { return m.errors[i]; }), "code", protocol::errorCodeName(code));
    }
    return out;
}

} // namespace palaver::server
