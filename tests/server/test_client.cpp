#include "test_client.h"

#include "server_process.h"

#include <memory>

namespace palaver::test {

namespace {

gboolean acceptAny(SoupMessage*, GTlsCertificate*, GTlsCertificateFlags, gpointer)
{
    return TRUE;
}

} // namespace

TestClient::TestClient(const ServerProcess& server) : TestClient(server, Options {}) {}

TestClient::TestClient(const ServerProcess& server, Options options)
    : url_(options.url.empty() ? server.wsUrl(options.path) : options.url)
    , options_(std::move(options))
{
    session_ = options_.session ? GRef<SoupSession>(options_.session) : adopt(soup_session_new());
    if (options_.connectNow) {
        startConnect();
        waitConnected(options_.connectTimeoutMs);
    }
}

TestClient::~TestClient()
{
    if (pending_) {
        g_cancellable_cancel(pending_.get());
        pumpUntil([this] { return !pending_; }, 10000);
    }
    if (conn_) {
        if (isOpen())
            soup_websocket_connection_close(conn_.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
        // libsoup gives up on a silent peer after 5 s by itself.
        pumpUntil([this] { return closed_; }, 8000);
    }
    release();
    if (session_ && !options_.session)
        soup_session_abort(session_.get());
}

void TestClient::release()
{
    if (conn_) {
        g_signal_handlers_disconnect_by_data(conn_.get(), this);
        conn_ = nullptr;
    }
}

void TestClient::startConnect()
{
    if (pending_ || conn_)
        return;
    auto msg = adopt(soup_message_new("GET", url_.c_str()));
    if (!msg)
        fail("bad URL " + url_);
    if (options_.acceptAnyCertificate)
        g_signal_connect(msg.get(), "accept-certificate", G_CALLBACK(acceptAny), nullptr);
    pending_ = adopt(g_cancellable_new());
    // The callback runs before `this` goes: the destructor cancels and waits.
    soup_session_websocket_connect_async(session_.get(), msg.get(), nullptr, nullptr, G_PRIORITY_DEFAULT,
        pending_.get(), onConnected, this);
}

void TestClient::onConnected(GObject* source, GAsyncResult* result, gpointer data)
{
    auto* self = static_cast<TestClient*>(data);
    GError* error = nullptr;
    auto conn = adopt(soup_session_websocket_connect_finish(SOUP_SESSION(source), result, &error));
    self->pending_ = nullptr;
    if (!conn) {
        self->connectError_ = error ? error->message : "unknown error";
        g_clear_error(&error);
        return;
    }
    self->conn_ = conn;
    // The server decides what is too large; we accept whatever it sends.
    soup_websocket_connection_set_max_incoming_payload_size(conn.get(), 0);
    // Disconnected in release(), before the client goes.
    g_signal_connect(conn.get(), "message", G_CALLBACK(onMessage), self);
    g_signal_connect(conn.get(), "closed", G_CALLBACK(onClosed), self);
    g_signal_connect(conn.get(), "error", G_CALLBACK(onError), self);
}

void TestClient::onMessage(SoupWebsocketConnection*, gint type, GBytes* bytes, gpointer data)
{
    auto* self = static_cast<TestClient*>(data);
    Message m;
    m.binary = type == SOUP_WEBSOCKET_DATA_BINARY;
    gsize size = 0;
    const char* p = static_cast<const char*>(g_bytes_get_data(bytes, &size));
    m.raw.assign(p ? p : "", size);
    if (!m.binary)
        m.node = parseJson(m.raw);
    self->queue_.push_back(std::move(m));
}

void TestClient::onClosed(SoupWebsocketConnection* conn, gpointer data)
{
    auto* self = static_cast<TestClient*>(data);
    self->closed_ = true;
    self->closeCode_ = soup_websocket_connection_get_close_code(conn);
}

void TestClient::onError(SoupWebsocketConnection*, GError* error, gpointer data)
{
    static_cast<TestClient*>(data)->errors_.emplace_back(error->message);
}

void TestClient::waitConnected(int timeoutMs, std::source_location loc)
{
    if (!conn_ && !pending_)
        startConnect();
    if (!pumpUntil([this] { return !pending_; }, timeoutMs))
        fail(format("WebSocket connection to %s not established within %d ms", url_.c_str(), timeoutMs), loc);
    if (!conn_)
        fail(format("WebSocket connection to %s failed: %s", url_.c_str(), connectError_.c_str()), loc);
}

void TestClient::send(std::string_view text, std::source_location loc)
{
    if (!isOpen())
        fail("send on a connection that is not open (closed by the server?)", loc);
    // send_text needs a NUL-terminated string.
    std::string copy(text);
    soup_websocket_connection_send_text(conn_.get(), copy.c_str());
}

void TestClient::sendBinary(std::string_view bytes, std::source_location loc)
{
    if (!isOpen())
        fail("send on a connection that is not open", loc);
    soup_websocket_connection_send_binary(conn_.get(), bytes.data(), bytes.size());
}

Received TestClient::next(int timeoutMs, std::source_location loc)
{
    if (!conn_)
        fail("expecting from a client that is not connected", loc);
    pumpUntil([this] { return !queue_.empty() || closed_; }, timeoutMs);
    Received r;
    if (!queue_.empty()) {
        r.kind = Received::Kind::Message;
        r.message = std::move(queue_.front());
        queue_.pop_front();
    } else if (closed_) {
        r.kind = Received::Kind::Close;
        r.closeCode = closeCode_;
    }
    return r;
}

Message TestClient::joinRaw(std::string_view room, std::optional<std::string> peer, std::optional<std::string> token,
    std::source_location loc)
{
    Obj join;
    join.s("type", "join").s("room", room);
    if (peer)
        join.s("peer", *peer);
    if (token)
        join.s("token", *token);
    send(join.str(), loc);
    Message m = expect(kExpectTimeoutMs, loc);
    if (!m.isObject() || !m.has("type") || m.type(loc) != "joined")
        fail("expected `joined`, got " + m.raw, loc);
    checkMembers(m, { "type", "room", "peer", "peers", "iceServers" }, loc);
    if (m.str("room", loc) != room)
        fail("`joined` names another room: " + m.raw, loc);
    id_ = m.str("peer", loc);
    if (peer && id_ != *peer)
        fail("`joined` gives another peer id: " + m.raw, loc);
    if (!isValidId(id_))
        fail("`joined` gives an invalid peer id: " + m.raw, loc);
    return m;
}

std::string TestClient::join(std::string_view room, std::optional<std::string> peer,
    std::vector<std::string> expectedPeers, std::source_location loc)
{
    Message m = joinRaw(room, peer, std::nullopt, loc);
    std::string peersJson = "[";
    for (size_t i = 0; i < expectedPeers.size(); ++i)
        peersJson += (i ? "," : "") + jstr(expectedPeers[i]);
    peersJson += "]";
    checkJson(m,
        Obj().s("type", "joined").s("room", room).s("peer", id_).raw("peers", peersJson).raw("iceServers", "[]").str(),
        loc);
    return id_;
}

void TestClient::close(int code)
{
    if (isOpen())
        soup_websocket_connection_close(conn_.get(), (gushort)code, nullptr);
}

void TestClient::abort()
{
    if (!conn_)
        return;
    GIOStream* stream = soup_websocket_connection_get_io_stream(conn_.get());
    g_io_stream_close(stream, nullptr, nullptr);
    pumpUntil([this] { return closed_; }, 5000);
}

std::vector<Message> TestClient::drain()
{
    std::vector<Message> out;
    while (!queue_.empty()) {
        out.push_back(std::move(queue_.front()));
        queue_.pop_front();
    }
    return out;
}

// ---- HTTP ---------------------------------------------------------------------

std::optional<std::string> HttpResponse::header(std::string_view name) const
{
    for (const auto& [n, v] : headers)
        if (n.size() == name.size() && g_ascii_strncasecmp(n.c_str(), name.data(), name.size()) == 0)
            return v;
    return std::nullopt;
}

HttpResponse httpGet(const ServerProcess& server, std::string_view path, std::source_location loc)
{
    return httpRequest(server, "GET", path, {}, loc);
}

HttpResponse httpRequest(const ServerProcess& server, std::string_view method, std::string_view path,
    const std::vector<std::pair<std::string, std::string>>& requestHeaders, std::source_location loc)
{
    std::string url = server.httpUrl(path);
    auto session = adopt(soup_session_new());
    auto msg = adopt(soup_message_new(std::string(method).c_str(), url.c_str()));
    if (!msg)
        fail("bad URL " + url, loc);
    for (const auto& [name, value] : requestHeaders)
        soup_message_headers_append(soup_message_get_request_headers(msg.get()), name.c_str(), value.c_str());
    g_signal_connect(msg.get(), "accept-certificate", G_CALLBACK(acceptAny), nullptr);
    struct State {
        bool done = false;
        GBytes* body = nullptr;
        std::string error;
    } state;
    auto cancellable = adopt(g_cancellable_new());
    soup_session_send_and_read_async(
        session.get(), msg.get(), G_PRIORITY_DEFAULT, cancellable.get(),
        [](GObject* source, GAsyncResult* result, gpointer data) {
            auto* s = static_cast<State*>(data);
            GError* error = nullptr;
            s->body = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &error);
            if (error) {
                s->error = error->message;
                g_error_free(error);
            }
            s->done = true;
        },
        &state);
    // `state` lives on this stack: wait for the callback whatever happens.
    bool inTime = pumpUntil([&] { return state.done; }, kExpectTimeoutMs);
    if (!inTime) {
        g_cancellable_cancel(cancellable.get());
        pumpUntil([&] { return state.done; }, 10000);
    }
    HttpResponse response;
    response.status = (int)soup_message_get_status(msg.get());
    if (const char* type = soup_message_headers_get_content_type(soup_message_get_response_headers(msg.get()), nullptr))
        response.contentType = type;
    soup_message_headers_foreach(
        soup_message_get_response_headers(msg.get()),
        [](const char* name, const char* value, gpointer out) {
            static_cast<HttpResponse*>(out)->headers.emplace_back(name, value);
        },
        &response);
    if (state.body) {
        gsize size = 0;
        const char* data = static_cast<const char*>(g_bytes_get_data(state.body, &size));
        response.body.assign(data ? data : "", size);
        g_bytes_unref(state.body);
    }
    soup_session_abort(session.get());
    if (!inTime)
        fail(format("%s %s: no response within %d ms", std::string(method).c_str(), url.c_str(), kExpectTimeoutMs), loc);
    if (!state.error.empty())
        fail(format("%s %s failed: %s", std::string(method).c_str(), url.c_str(), state.error.c_str()), loc);
    return response;
}

Health healthz(const ServerProcess& server, std::source_location loc)
{
    HttpResponse r = httpGet(server, "/healthz", loc);
    if (r.status != 200)
        fail(format("GET /healthz: status %d", r.status), loc);
    Message m;
    m.raw = r.body;
    m.node = parseJson(r.body);
    if (!m.isObject())
        fail("GET /healthz: body is not a JSON object: " + r.body, loc);
    checkMembers(m, { "status", "rooms", "peers" }, loc);
    if (m.str("status", loc) != "ok")
        fail("GET /healthz: status is not \"ok\": " + r.body, loc);
    Health h;
    for (const char* name : { "rooms", "peers" }) {
        JsonNode* n = json_object_get_member(m.object(), name);
        if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
            fail(format("GET /healthz: \"%s\" is not an integer: %s", name, r.body.c_str()), loc);
        (std::string_view(name) == "rooms" ? h.rooms : h.peers) = json_node_get_int(n);
    }
    return h;
}

void waitHealth(const ServerProcess& server, int64_t rooms, int64_t peers, int timeoutMs, std::source_location loc)
{
    const int64_t deadline = nowMs() + timeoutMs;
    Health h;
    while (true) {
        h = healthz(server, loc);
        if (h.rooms == rooms && h.peers == peers)
            return;
        if (nowMs() > deadline)
            break;
        pumpFor(20);
    }
    fail(format("/healthz reports rooms=%" G_GINT64_FORMAT " peers=%" G_GINT64_FORMAT
                ", expected rooms=%" G_GINT64_FORMAT " peers=%" G_GINT64_FORMAT,
             h.rooms, h.peers, rooms, peers),
        loc);
}

std::vector<std::pair<std::string, double>> metrics(const ServerProcess& server, std::source_location loc)
{
    HttpResponse r = httpGet(server, "/metrics", loc);
    if (r.status != 200)
        fail(format("GET /metrics: status %d", r.status), loc);
    std::vector<std::pair<std::string, double>> out;
    char** lines = g_strsplit(r.body.c_str(), "\n", -1);
    for (char** l = lines; *l; ++l) {
        std::string line = g_strstrip(*l);
        if (line.empty() || line[0] == '#')
            continue;
        // "name{labels} value [timestamp]"; label values may hold spaces, so
        // split after the closing brace when there is one.
        size_t nameEnd = line.find('}');
        nameEnd = nameEnd == std::string::npos ? line.find(' ') : nameEnd + 1;
        if (nameEnd == std::string::npos || nameEnd >= line.size()) {
            g_strfreev(lines);
            fail("GET /metrics: malformed line: " + line, loc);
        }
        std::string name = line.substr(0, nameEnd);
        std::string rest = line.substr(nameEnd);
        char* end = nullptr;
        double value = g_ascii_strtod(rest.c_str(), &end);
        if (end == rest.c_str()) {
            g_strfreev(lines);
            fail("GET /metrics: malformed value: " + line, loc);
        }
        out.emplace_back(name, value);
    }
    g_strfreev(lines);
    return out;
}

bool hasMetric(const std::vector<std::pair<std::string, double>>& all, std::string_view series)
{
    for (const auto& [name, value] : all)
        if (name == series)
            return true;
    return false;
}

double metric(const std::vector<std::pair<std::string, double>>& all, std::string_view series)
{
    for (const auto& [name, value] : all)
        if (name == series)
            return value;
    return 0;
}

} // namespace palaver::test
