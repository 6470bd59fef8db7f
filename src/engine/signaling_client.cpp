#include "signaling_client.h"

#include "debug.h"

#include <gst/gst.h>

#include <algorithm>

#define GST_CAT_DEFAULT palaver_signaling_debug

namespace palaver::engine {

namespace {

// Backoff between reconnects: 250 ms doubling to 5 s, so a restarted server
// is found again within seconds without hammering a dead one.
constexpr unsigned kFirstRetryMs = 250;
constexpr unsigned kMaxRetryMs = 5000;

// Liveness: a `ping` after 10 s without a frame from the server, the
// connection given up after 25 s (the server answers every ping with a
// `pong`; libsoup answers the server's WebSocket pings without telling us).
constexpr gint64 kPingAfterUs = 10 * G_USEC_PER_SEC;
constexpr gint64 kSilenceLimitUs = 25 * G_USEC_PER_SEC;

} // namespace

std::shared_ptr<SignalingClient> SignalingClient::create(std::string url, Callbacks callbacks)
{
    return std::shared_ptr<SignalingClient>(new SignalingClient(std::move(url), std::move(callbacks)));
}

SignalingClient::SignalingClient(std::string url, Callbacks callbacks)
    : url_(std::move(url))
    , callbacks_(std::move(callbacks))
    , context_(g_main_context_ref_thread_default())
    , session_(adopt(soup_session_new()))
{
    initDebug();
    // A server that accepts TCP but never answers the upgrade (a hung
    // process) fails the attempt after 10 s instead of never.
    g_object_set(session_.get(), "timeout", 10u, nullptr);
}

SignalingClient::~SignalingClient()
{
    stopped_ = true;
    if (cancellable_)
        g_cancellable_cancel(cancellable_.get());
    messageConn_.disconnect();
    closedConn_.disconnect();
    errorConn_.disconnect();
    if (connection_ && soup_websocket_connection_get_state(connection_.get()) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close(connection_.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
}

void SignalingClient::start()
{
    stopped_ = false;
    connect();
}

void SignalingClient::stop(std::function<void()> closed)
{
    stopped_ = true;
    reconnect_ = false;
    retrySource_.cancel();
    livenessSource_.cancel();
    if (cancellable_)
        g_cancellable_cancel(cancellable_.get());
    if (closed)
        closed_ = std::move(closed);
    if (connection_ && soup_websocket_connection_get_state(connection_.get()) == SOUP_WEBSOCKET_STATE_OPEN) {
        // onClosed() follows the server's answer (or libsoup's own close
        // timeout when the server never answers).
        soup_websocket_connection_close(connection_.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
        return;
    }
    if (!connection_ || soup_websocket_connection_get_state(connection_.get()) == SOUP_WEBSOCKET_STATE_CLOSED)
        notifyClosed();
    // else CLOSING already: onClosed() follows.
}

void SignalingClient::notifyClosed()
{
    if (!closed_ || closedSource_)
        return;
    closedSource_ = Source::idle(context_.get(), [this] {
        if (auto closed = std::exchange(closed_, nullptr))
            closed();
    });
}

bool SignalingClient::isOpen() const
{
    return connection_ && soup_websocket_connection_get_state(connection_.get()) == SOUP_WEBSOCKET_STATE_OPEN;
}

void SignalingClient::connect()
{
    GUnique<GError> error;
    GRef<SoupMessage> msg = adopt(soup_message_new_from_uri(SOUP_METHOD_GET,
        GRef<GUri>(adopt(g_uri_parse(url_.c_str(), G_URI_FLAGS_ENCODED, error.outPtr()))).get()));
    if (!msg) {
        // Only a malformed URL gets here; retrying cannot help.
        lastError_ = "invalid server URL " + url_ + ": " + errorMessage(error);
        reconnect_ = false;
        if (callbacks_.disconnected)
            callbacks_.disconnected(lastError_, false);
        return;
    }
    cancellable_ = adopt(g_cancellable_new());
    GST_INFO("connecting to %s (attempt %u)", url_.c_str(), attempt_ + 1);
    // The weak_ptr box outlives us if we are destroyed mid-connect: the
    // callback then finds it expired.
    auto* box = new std::weak_ptr<SignalingClient>(weak_from_this());
    soup_session_websocket_connect_async(session_.get(), msg.get(), nullptr, nullptr, G_PRIORITY_DEFAULT,
        cancellable_.get(), &SignalingClient::onConnectFinished, box);
}

void SignalingClient::onConnectFinished(GObject* source, GAsyncResult* result, gpointer data)
{
    std::unique_ptr<std::weak_ptr<SignalingClient>> box(static_cast<std::weak_ptr<SignalingClient>*>(data));
    GUnique<GError> error;
    GRef<SoupWebsocketConnection> connection
        = adopt(soup_session_websocket_connect_finish(SOUP_SESSION(source), result, error.outPtr()));
    if (auto self = box->lock())
        self->connectFinished(connection.get(), error.get());
}

void SignalingClient::connectFinished(SoupWebsocketConnection* connection, GError* error)
{
    cancellable_ = nullptr;
    if (!connection) {
        if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            return;
        lost(std::string("could not connect to ") + url_ + ": " + (error ? error->message : "unknown error"));
        return;
    }
    connection_ = GRef<SoupWebsocketConnection>(connection);
    // SDP with many candidates can pass libsoup's 128 KiB default; the
    // server's own frame limit (64 KiB by default) is the real bound.
    soup_websocket_connection_set_max_incoming_payload_size(connection, 4 * 1024 * 1024);
    // Pings let a dead TCP path be noticed even when the server sends nothing.
    soup_websocket_connection_set_keepalive_interval(connection, 10);
    messageConn_ = connectSignal(connection, "message", this, &SignalingClient::onMessage);
    closedConn_ = connectSignal(connection, "closed", this, &SignalingClient::onClosed);
    errorConn_ = connectSignal(connection, "error", this, &SignalingClient::onError);
    attempt_ = 0;
    lastReceivedUs_ = g_get_monotonic_time();
    if (!livenessSource_)
        livenessSource_ = Source::every(context_.get(), std::chrono::seconds(1), [this] { checkLiveness(); }, "palaver-signaling-liveness");
    GST_INFO("connected to %s", url_.c_str());
    if (callbacks_.connected)
        callbacks_.connected();
}

bool SignalingClient::send(const protocol::ClientMessage& message)
{
    if (!isOpen()) {
        GST_WARNING("not connected: dropping %s", protocol::typeName(message));
        return false;
    }
    std::string text = protocol::serialize(message);
    GST_DEBUG("-> %s", text.c_str());
    soup_websocket_connection_send_text(connection_.get(), text.c_str());
    return true;
}

void SignalingClient::checkLiveness()
{
    if (!isOpen())
        return;
    gint64 now = g_get_monotonic_time();
    gint64 quiet = now - lastReceivedUs_;
    if (quiet > kSilenceLimitUs) {
        // Drop it without waiting for a close handshake the server will not
        // answer, and reconnect. Closed asynchronously: a TLS stream's
        // close may wait on the network, the main loop must not.
        GRef<SoupWebsocketConnection> connection = std::move(connection_);
        messageConn_.disconnect();
        closedConn_.disconnect();
        errorConn_.disconnect();
        GIOStream* stream = soup_websocket_connection_get_io_stream(connection.get());
        // The connection (and so its stream) lives until the close is done;
        // libsoup does not close the stream again once it is closed.
        g_io_stream_close_async(stream, G_PRIORITY_DEFAULT, nullptr,
            [](GObject* stream, GAsyncResult* result, gpointer connection) {
                g_io_stream_close_finish(G_IO_STREAM(stream), result, nullptr);
                g_object_unref(connection);
            },
            connection.release());
        lost("the server at " + url_ + " stopped answering (" + std::to_string(quiet / G_USEC_PER_SEC) + " s)");
        return;
    }
    if (quiet > kPingAfterUs && now - lastPingUs_ > kPingAfterUs) {
        lastPingUs_ = now;
        send(protocol::Ping {});
    }
}

void SignalingClient::onMessage(SoupWebsocketConnection*, gint type, GBytes* payload)
{
    lastReceivedUs_ = g_get_monotonic_time();
    if (type != SOUP_WEBSOCKET_DATA_TEXT) {
        GST_WARNING("ignoring a binary frame from the server");
        return;
    }
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(payload, &size));
    std::string_view text(data ? data : "", size);
    GST_DEBUG("<- %.*s", int(std::min<gsize>(size, 2000)), text.data());
    auto parsed = protocol::parseServerMessage(text);
    if (!parsed.ok()) {
        GST_WARNING("ignoring a server message that does not parse (%s): %.*s", parsed.error().message.c_str(),
            int(std::min<gsize>(size, 200)), text.data());
        return;
    }
    if (callbacks_.message)
        callbacks_.message(parsed.message());
}

void SignalingClient::onError(SoupWebsocketConnection*, GError* error)
{
    lastError_ = error ? error->message : "WebSocket error";
    GST_WARNING("WebSocket error: %s", lastError_.c_str());
}

void SignalingClient::onClosed(SoupWebsocketConnection* connection)
{
    gushort code = soup_websocket_connection_get_close_code(connection);
    const char* data = soup_websocket_connection_get_close_data(connection);
    std::string reason = "connection to " + url_ + " closed";
    if (code)
        reason += " (" + std::to_string(code) + (data && *data ? std::string(" ") + data : std::string()) + ")";
    else if (!lastError_.empty())
        reason += ": " + lastError_;
    messageConn_.disconnect();
    closedConn_.disconnect();
    errorConn_.disconnect();
    // Dropping the last reference from inside its own "closed" emission is
    // safe: GObject keeps the instance alive until the emission ends.
    connection_ = nullptr;
    if (stopped_) {
        notifyClosed();
        return;
    }
    lost(reason);
}

void SignalingClient::lost(const std::string& reason)
{
    lastError_ = reason;
    bool retry = reconnect_ && !stopped_;
    GST_WARNING("%s%s", reason.c_str(), retry ? "; reconnecting" : "");
    if (retry)
        scheduleReconnect();
    if (callbacks_.disconnected)
        callbacks_.disconnected(reason, retry);
}

void SignalingClient::scheduleReconnect()
{
    unsigned delay = std::min(kMaxRetryMs, kFirstRetryMs << std::min(attempt_, 5u));
    // Jitter so that every peer of a room does not hit a restarted server in
    // the same millisecond.
    delay += g_random_int_range(0, int(delay / 4) + 1);
    ++attempt_;
    retrySource_ = Source::once(context_.get(), std::chrono::milliseconds(delay), [this] {
        if (!stopped_)
            connect();
    }, "palaver-signaling-retry");
}

} // namespace palaver::engine
