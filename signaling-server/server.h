// palaver-server as a whole: the settings, the room registry shared by the
// workers, the listening sockets and the worker threads.
#pragma once

#include "config.h"
#include "gref.h"
#include "ice_servers.h"
#include "room_registry.h"
#include "token_verifier.h"
#include "web_content.h"

#include <gio/gio.h>

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace palaver::server {

class Worker;

class Server {
public:
    explicit Server(Config config);
    ~Server();

    // Loads the TLS certificate, binds one SO_REUSEPORT socket per worker and
    // starts the workers. On failure `error` says why and `exitCode` is 2 for
    // a bad setting (unusable certificate, unknown host), 1 otherwise.
    bool start(std::string& error, int& exitCode);
    // Closes every WebSocket with 1001 and waits for the workers to end.
    void shutdown();

    std::string url() const;

    // Any thread.
    const Config& config() const { return config_; }
    RoomRegistry& rooms() { return rooms_; }
    const IceServerList& iceServers() const { return iceServers_; }
    const TokenVerifier* tokens() const { return tokens_ ? &*tokens_ : nullptr; }
    GTlsCertificate* tlsCertificate() const { return tlsCertificate_.get(); }
    // The compiled-in browser client; nullptr with --web-root.
    const WebContent* web() const { return web_ ? &*web_ : nullptr; }
    uint64_t newConnectionId() { return nextConnectionId_.fetch_add(1, std::memory_order_relaxed); }
    std::string healthJson();
    std::string metricsText();

private:
    GRef<GSocket> bindSocket(GInetAddress* address, int port, std::string& error);
    static bool portIsFree(GInetAddress* address, int port, std::string& error);

    Config config_;
    RoomRegistry rooms_;
    IceServerList iceServers_;
    std::optional<TokenVerifier> tokens_;
    std::optional<WebContent> web_;
    GRef<GTlsCertificate> tlsCertificate_;
    std::vector<std::unique_ptr<Worker>> workers_;
    int boundPort_ = 0;
    // Connection ids are unique across workers: a connection keeps its id
    // when it moves to its room's worker.
    std::atomic<uint64_t> nextConnectionId_ { 1 };
};

} // namespace palaver::server
