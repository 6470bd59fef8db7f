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

std::string renderMetrics(const std::vector<const WorkerMetrics*>& workers, const std::vector<WorkerRooms>& workerRooms, size_t rooms,
    size_t peers)
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

    metric(out, "palaver_connections_moved_total", "counter",
        "Connections handed to the worker that owns the room they joined.");
    sample(out, "palaver_connections_moved_total", sum(workers, [](const WorkerMetrics& m) -> auto& { return m.movedIn; }));
    metric(out, "palaver_messages_crossed_workers_total", "counter",
        "Messages passed from one worker thread to another (0 while every room lives on one worker).");
    sample(out, "palaver_messages_crossed_workers_total", sum(workers, [](const WorkerMetrics& m) -> auto& { return m.crossWorker; }));

    // Per worker, to see how rooms and load are spread.
    auto perWorker = [&](const char* name, const char* type, const char* help, auto value) {
        metric(out, name, type, help);
        for (size_t i = 0; i < workers.size(); ++i) {
            std::string index = std::to_string(i);
            sample(out, name, value(i), "worker", index.c_str());
        }
    };
    perWorker("palaver_worker_connections", "gauge", "Open WebSocket connections served by each worker thread.",
        [&](size_t i) { return static_cast<uint64_t>(workers[i]->connections.load(std::memory_order_relaxed)); });
    perWorker("palaver_worker_rooms", "gauge", "Rooms owned by each worker thread.",
        [&](size_t i) { return i < workerRooms.size() ? workerRooms[i].rooms : 0; });
    perWorker("palaver_worker_peers", "gauge", "Peers in the rooms each worker thread owns, with joins on their way to it.",
        [&](size_t i) { return i < workerRooms.size() ? workerRooms[i].peers : 0; });
    perWorker("palaver_worker_messages_received_total", "counter", "Data frames received by each worker thread.",
        [&](size_t i) { return workers[i]->messagesReceived.load(std::memory_order_relaxed); });
    return out;
}

} // namespace palaver::server
