// A WebSocket client on libsoup 3 for black-box tests, living on the test's
// thread-default main context.
//
//   TestClient alice(server);              // connects or fails the test
//   alice.join("room", "alice");           // join + expect the exact `joined`
//   alice.send(R"({"type":"ping"})");
//   alice.expectJson(R"({"type":"pong"})");
//   alice.expectClose(1000);
//
// Received frames are queued; expect() pops the next one or fails the test
// after a deadline. libsoup answers the server's pings by itself.
#pragma once

#include "harness.h"
#include "inbox.h"

#include "gref.h"

#include <libsoup/soup.h>

#include <deque>
#include <string>
#include <vector>

namespace palaver::test {

using palaver::GRef;
using palaver::adopt;

class ServerProcess;

class TestClient : public Inbox {
public:
    struct Options {
        std::string path = "/ws";
        // A whole URL instead of the server's ws(s)://HOST:PORT + path.
        std::string url;
        // A session shared by many clients (load tests); null: one of our own.
        SoupSession* session = nullptr;
        // Connect in the constructor and fail the test unless it works.
        bool connectNow = true;
        int connectTimeoutMs = kExpectTimeoutMs;
        // Accept any TLS certificate (self-signed test certificates).
        bool acceptAnyCertificate = true;
    };

    explicit TestClient(const ServerProcess& server);
    TestClient(const ServerProcess& server, Options options);
    // Closes with 1000 if still open (waiting briefly for the handshake).
    ~TestClient();
    TestClient(const TestClient&) = delete;
    TestClient& operator=(const TestClient&) = delete;

    // Asynchronous connection, for many clients at once.
    void startConnect();
    bool connecting() const { return bool(pending_); }
    bool connected() const { return bool(conn_); }
    // The connection error, if connecting failed.
    const std::string& connectError() const { return connectError_; }
    void waitConnected(int timeoutMs = kExpectTimeoutMs, std::source_location loc = std::source_location::current());

    void send(std::string_view text, std::source_location loc = std::source_location::current());
    void sendBinary(std::string_view bytes, std::source_location loc = std::source_location::current());

    // expect(), expectJson(), expectError(), expectNothing(), expectClose():
    // see inbox.h.

    // Sends {"type":"join",...} and checks the exact `joined` reply with
    // `peers` and an empty iceServers unless `expectedPeers` is null. Returns
    // the id the server gave.
    std::string join(std::string_view room, std::optional<std::string> peer = std::nullopt,
        std::vector<std::string> expectedPeers = {}, std::source_location loc = std::source_location::current());
    // join() without checking peers/iceServers; returns the `joined` message.
    Message joinRaw(std::string_view room, std::optional<std::string> peer = std::nullopt,
        std::optional<std::string> token = std::nullopt, std::source_location loc = std::source_location::current());

    // Starts the closing handshake with `code`.
    void close(int code = 1000);
    // Drops the TCP connection without a close frame.
    void abort();

    bool closed() const { return closed_; }
    // Connected, and neither side has started the closing handshake.
    bool isOpen() const
    {
        return conn_ && soup_websocket_connection_get_state(conn_.get()) == SOUP_WEBSOCKET_STATE_OPEN;
    }
    int closeCode() const { return closeCode_; }
    size_t queued() const { return queue_.size(); }
    // Pops every queued frame.
    std::vector<Message> drain();
    SoupWebsocketConnection* connection() const { return conn_.get(); }
    const std::string& id() const { return id_; }

private:
    // The next queued frame, else the close, once either is there.
    Received next(int timeoutMs, std::source_location loc) override;
    static void onConnected(GObject* source, GAsyncResult* result, gpointer data);
    static void onMessage(SoupWebsocketConnection*, gint type, GBytes* message, gpointer self);
    static void onClosed(SoupWebsocketConnection*, gpointer self);
    static void onError(SoupWebsocketConnection*, GError* error, gpointer self);
    void release();

    std::string url_;
    Options options_;
    GRef<SoupSession> session_;
    GRef<GCancellable> pending_; // while connecting
    GRef<SoupWebsocketConnection> conn_;
    std::string connectError_;
    std::deque<Message> queue_;
    bool closed_ = false;
    int closeCode_ = 0;
    std::vector<std::string> errors_;
    std::string id_;
};

// ---- HTTP beside the WebSocket ------------------------------------------------

struct HttpResponse {
    int status = 0;
    std::string body;
    std::string contentType;
    // Every response header, in order, as received.
    std::vector<std::pair<std::string, std::string>> headers;
    // The value of header `name` (case-insensitive); nullopt when absent.
    std::optional<std::string> header(std::string_view name) const;
};
// GET server URL path; fails the test on a transport error or timeout.
HttpResponse httpGet(const ServerProcess& server, std::string_view path,
    std::source_location loc = std::source_location::current());
// `method` (GET, HEAD...) with extra request headers.
HttpResponse httpRequest(const ServerProcess& server, std::string_view method, std::string_view path,
    const std::vector<std::pair<std::string, std::string>>& requestHeaders,
    std::source_location loc = std::source_location::current());

struct Health {
    int64_t rooms = -1;
    int64_t peers = -1;
};
// GET /healthz, checking status 200 and the exact member set.
Health healthz(const ServerProcess& server, std::source_location loc = std::source_location::current());
// Polls /healthz until it reports rooms/peers (fails after timeoutMs).
void waitHealth(const ServerProcess& server, int64_t rooms, int64_t peers, int timeoutMs = kExpectTimeoutMs,
    std::source_location loc = std::source_location::current());

// GET /metrics parsed into "name{labels}" -> value (comments skipped).
std::vector<std::pair<std::string, double>> metrics(const ServerProcess& server,
    std::source_location loc = std::source_location::current());
// The value of one series; 0 when absent (a counter not yet touched).
double metric(const std::vector<std::pair<std::string, double>>& all, std::string_view series);
bool hasMetric(const std::vector<std::pair<std::string, double>>& all, std::string_view series);

} // namespace palaver::test
