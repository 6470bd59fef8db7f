// The client side of docs/protocol.md's WebSocket: connects, sends typed client
// messages, parses what the server sends, and on a lost connection
// reconnects with exponential backoff. Joining is the Call's business: it
// is told when a connection opens and sends `join` itself.
//
// Lives on one GMainContext (the one current when it is made) and must be
// used from it only.
#pragma once

#include "gref.h"
#include "messages.h"
#include "signal_connection.h"
#include "source.h"

#include <libsoup/soup.h>

#include <functional>
#include <memory>
#include <string>

namespace palaver::engine {

class SignalingClient : public std::enable_shared_from_this<SignalingClient> {
public:
    struct Callbacks {
        // The WebSocket is open (first time or after a reconnect).
        std::function<void()> connected;
        // One server message, already parsed. Frames that do not parse are
        // logged and dropped here.
        std::function<void(const protocol::ServerMessage&)> message;
        // The connection attempt or the open connection failed. `willRetry`
        // tells whether a reconnect is scheduled.
        std::function<void(const std::string& reason, bool willRetry)> disconnected;
    };

    static std::shared_ptr<SignalingClient> create(std::string url, Callbacks callbacks);
    ~SignalingClient();

    void start();
    // Closes with 1000 and stops reconnecting. `closed` (if given) runs once
    // the server answered the close, or the connection ended otherwise, on
    // a later turn of the loop (never inside stop()); not at all if this
    // object goes first.
    void stop(std::function<void()> closed = {});
    bool isOpen() const;
    bool send(const protocol::ClientMessage& message);
    // Whether a lost connection is retried (off until the Call has joined
    // once: a server that was never reached is an error for the user).
    void setReconnect(bool enabled) { reconnect_ = enabled && !stopped_; }
    const std::string& url() const { return url_; }

private:
    SignalingClient(std::string url, Callbacks callbacks);
    void connect();
    static void onConnectFinished(GObject* source, GAsyncResult* result, gpointer data);
    void connectFinished(SoupWebsocketConnection* connection, GError* error);
    void onMessage(SoupWebsocketConnection* connection, gint type, GBytes* payload);
    void onClosed(SoupWebsocketConnection* connection);
    void onError(SoupWebsocketConnection* connection, GError* error);
    void lost(const std::string& reason);
    void scheduleReconnect();
    void checkLiveness();
    void notifyClosed();

    std::string url_;
    Callbacks callbacks_;
    GRef<GMainContext> context_;
    GRef<SoupSession> session_;
    GRef<GCancellable> cancellable_;
    GRef<SoupWebsocketConnection> connection_;
    SignalConnection messageConn_, closedConn_, errorConn_;
    Source retrySource_;
    // libsoup 3.2 pings but never notices a missing pong: a server that hangs
    // (or a path that silently drops) would look connected for ever. We send
    // the protocol's `ping` when quiet and give up after kSilenceLimitS.
    Source livenessSource_;
    std::function<void()> closed_; // stop()'s
    Source closedSource_;
    gint64 lastReceivedUs_ = 0;
    gint64 lastPingUs_ = 0;
    std::string lastError_;
    unsigned attempt_ = 0;
    bool reconnect_ = false;
    bool stopped_ = false;
};

} // namespace palaver::engine
