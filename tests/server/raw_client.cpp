#include "raw_client.h"

#include "server_process.h"

#include <cstring>

namespace palaver::test {

namespace {

// RFC 6455 section 1.3's example key and its accept value.
constexpr const char* kKey = "dGhlIHNhbXBsZSBub25jZQ==";
constexpr const char* kAccept = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";
constexpr int kWriteTimeoutUs = 5 * G_USEC_PER_SEC;

std::string lower(std::string s)
{
    for (char& c : s)
        c = g_ascii_tolower(c);
    return s;
}

} // namespace

int Frame::closeCode() const
{
    if (payload.size() < 2)
        return 0;
    return (static_cast<uint8_t>(payload[0]) << 8) | static_cast<uint8_t>(payload[1]);
}

RawClient::RawClient(const ServerProcess& server, std::string_view path, bool doUpgrade)
{
    host_ = format("%s:%d", server.host().c_str(), server.port());
    auto client = palaver::adopt(g_socket_client_new());
    g_socket_client_set_timeout(client.get(), 5);
    GError* error = nullptr;
    connection_ = palaver::adopt(
        g_socket_client_connect_to_host(client.get(), server.host().c_str(), (guint16)server.port(), nullptr, &error));
    if (!connection_) {
        std::string m = error->message;
        g_error_free(error);
        fail("TCP connect to " + host_ + " failed: " + m);
    }
    socket_ = g_socket_connection_get_socket(connection_.get());
    g_socket_set_blocking(socket_, FALSE);
    GSource* readable = g_socket_create_source(socket_, (GIOCondition)(G_IO_IN | G_IO_HUP | G_IO_ERR), nullptr);
    // Destroyed in drop(), before the client goes.
    g_source_set_callback(readable, G_SOURCE_FUNC(onReadable), this, nullptr);
    source_ = palaver::Source::adopt(g_main_context_get_thread_default(), readable);
    if (doUpgrade) {
        int status = upgrade(path);
        if (status != 101)
            fail(format("WebSocket upgrade at %s answered %d, not 101", std::string(path).c_str(), status));
    }
}

RawClient::~RawClient()
{
    drop();
}

void RawClient::drop()
{
    if (source_) {
        source_.cancel();
    }
    if (connection_) {
        g_io_stream_close(G_IO_STREAM(connection_.get()), nullptr, nullptr);
        connection_ = nullptr;
        socket_ = nullptr;
    }
    eof_ = true;
}

gboolean RawClient::onReadable(GSocket* socket, GIOCondition, gpointer data)
{
    auto* self = static_cast<RawClient*>(data);
    char buffer[65536];
    while (true) {
        GError* error = nullptr;
        gssize n = g_socket_receive(socket, buffer, sizeof buffer, nullptr, &error);
        if (n > 0) {
            self->in_.append(buffer, (size_t)n);
            continue;
        }
        if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            g_error_free(error);
            return G_SOURCE_CONTINUE;
        }
        g_clear_error(&error);
        // End of stream or a reset: the server is gone.
        self->eof_ = true;
        return G_SOURCE_REMOVE;
    }
}

void RawClient::sendBytes(std::string_view bytes, std::source_location loc)
{
    if (!socket_)
        fail("send on a dropped RawClient", loc);
    size_t offset = 0;
    while (offset < bytes.size()) {
        GError* error = nullptr;
        gssize n = g_socket_send(socket_, bytes.data() + offset, bytes.size() - offset, nullptr, &error);
        if (n > 0) {
            offset += (size_t)n;
            continue;
        }
        if (n < 0 && g_error_matches(error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
            g_error_free(error);
            GError* waitError = nullptr;
            if (!g_socket_condition_timed_wait(socket_, G_IO_OUT, kWriteTimeoutUs, nullptr, &waitError)) {
                std::string m = waitError ? waitError->message : "timeout";
                g_clear_error(&waitError);
                fail("RawClient write blocked: " + m, loc);
            }
            continue;
        }
        // The server closed on us (too-large, a policy close...): what it
        // sent before is still read by expect*(); the write is just lost.
        g_clear_error(&error);
        return;
    }
}

void RawClient::sendFrame(uint8_t opcode, std::string_view payload, bool fin, bool mask, std::source_location loc)
{
    sendBytes(frame(opcode, payload, fin, mask), loc);
}

std::string RawClient::frame(uint8_t opcode, std::string_view payload, bool fin, bool mask)
{
    std::string frame;
    frame += (char)((fin ? 0x80 : 0x00) | (opcode & 0x0f));
    const uint8_t maskBit = mask ? 0x80 : 0x00;
    const uint64_t n = payload.size();
    if (n < 126) {
        frame += (char)(maskBit | n);
    } else if (n <= 0xffff) {
        frame += (char)(maskBit | 126);
        frame += (char)(n >> 8);
        frame += (char)(n & 0xff);
    } else {
        frame += (char)(maskBit | 127);
        for (int shift = 56; shift >= 0; shift -= 8)
            frame += (char)((n >> shift) & 0xff);
    }
    if (mask) {
        uint8_t key[4];
        guint32 r = g_random_int();
        memcpy(key, &r, 4);
        frame.append(reinterpret_cast<char*>(key), 4);
        size_t start = frame.size();
        frame.append(payload);
        for (size_t i = 0; i < n; ++i)
            frame[start + i] = (char)(frame[start + i] ^ key[i % 4]);
    } else {
        frame.append(payload);
    }
    return frame;
}

void RawClient::sendClose(int code, std::source_location loc)
{
    std::string payload;
    payload += (char)(code >> 8);
    payload += (char)(code & 0xff);
    sendFrame(kClose, payload, true, true, loc);
}

int RawClient::upgrade(std::string_view path, std::source_location loc)
{
    return upgrade(path, {}, loc);
}

int RawClient::upgrade(std::string_view path, std::string_view behind, std::source_location loc)
{
    std::string request = "GET " + std::string(path) + " HTTP/1.1\r\n"
        "Host: " + host_ + "\r\n"
        "Upgrade: websocket\r\n"
        "Connection: Upgrade\r\n"
        "Sec-WebSocket-Key: " + kKey + "\r\n"
        "Sec-WebSocket-Version: 13\r\n"
        "\r\n";
    request += behind;
    sendBytes(request, loc);
    if (!pumpUntil([this] { return in_.find("\r\n\r\n") != std::string::npos || eof_; }, kExpectTimeoutMs))
        fail("no HTTP response to the upgrade request", loc);
    size_t end = in_.find("\r\n\r\n");
    if (end == std::string::npos)
        fail("connection closed before an HTTP response: " + in_, loc);
    std::string head = in_.substr(0, end);
    in_.erase(0, end + 4);
    int status = 0;
    if (sscanf(head.c_str(), "HTTP/1.%*d %d", &status) != 1)
        fail("malformed HTTP response: " + head, loc);
    if (status == 101) {
        std::string h = lower(head);
        if (h.find(std::string("sec-websocket-accept: ") + lower(kAccept)) == std::string::npos)
            fail("101 response without the right Sec-WebSocket-Accept: " + head, loc);
    }
    return status;
}

bool RawClient::parseFrame(Frame& out)
{
    if (in_.size() < 2)
        return false;
    const auto* p = reinterpret_cast<const uint8_t*>(in_.data());
    size_t pos = 2;
    uint64_t n = p[1] & 0x7f;
    if (n == 126) {
        if (in_.size() < 4)
            return false;
        n = (uint64_t(p[2]) << 8) | p[3];
        pos = 4;
    } else if (n == 127) {
        if (in_.size() < 10)
            return false;
        n = 0;
        for (int i = 0; i < 8; ++i)
            n = (n << 8) | p[2 + i];
        pos = 10;
    }
    const bool masked = p[1] & 0x80;
    uint8_t key[4] = {};
    if (masked) {
        if (in_.size() < pos + 4)
            return false;
        memcpy(key, p + pos, 4);
        pos += 4;
    }
    if (in_.size() < pos + n)
        return false;
    out.fin = p[0] & 0x80;
    out.opcode = p[0] & 0x0f;
    out.payload = in_.substr(pos, n);
    if (masked)
        for (size_t i = 0; i < n; ++i)
            out.payload[i] = (char)(out.payload[i] ^ key[i % 4]);
    in_.erase(0, pos + n);
    return true;
}

std::optional<Frame> RawClient::readFrame(int timeoutMs)
{
    Frame frame;
    bool got = false;
    pumpUntil([&] { return (got = parseFrame(frame)) || eof_; }, timeoutMs);
    if (!got && eof_)
        got = parseFrame(frame); // data that came with the end of stream
    if (!got)
        return std::nullopt;
    return frame;
}

Received RawClient::next(int timeoutMs, std::source_location loc)
{
    const int64_t deadline = nowMs() + timeoutMs;
    Received r;
    bool inMessage = false;
    while (true) {
        auto frame = readFrame((int)std::max<int64_t>(0, deadline - nowMs()));
        if (!frame) {
            using enum Received::Kind;
            r.kind = eof_ ? End : inMessage ? Partial : Timeout;
            return r;
        }
        switch (frame->opcode) {
        case kPing:
            ++pings_;
            if (autoPong_)
                sendFrame(kPong, frame->payload, true, true, loc);
            continue;
        case kPong:
            continue;
        case kClose:
            r.kind = Received::Kind::Close;
            r.closeCode = frame->closeCode();
            return r;
        case kText:
        case kBinary:
            if (inMessage)
                fail("server started a new message inside a fragmented one", loc);
            r.message.binary = frame->opcode == kBinary;
            r.message.raw = std::move(frame->payload);
            inMessage = true;
            break;
        case kContinuation:
            if (!inMessage)
                fail("continuation frame without a message", loc);
            r.message.raw += frame->payload;
            break;
        default:
            fail(format("unknown opcode %d from the server", frame->opcode), loc);
        }
        if (frame->fin) {
            r.kind = Received::Kind::Message;
            if (!r.message.binary)
                r.message.node = parseJson(r.message.raw);
            return r;
        }
    }
}

void RawClient::closeExpected(int code, std::source_location loc)
{
    // Finish the handshake like a polite peer; the server then drops TCP.
    if (socket_)
        sendClose(code, loc);
}

bool RawClient::waitEof(int timeoutMs, bool* sawClose, int* closeCode)
{
    auto note = [&](const Frame& frame) {
        if (frame.opcode == kPing)
            ++pings_;
        if (frame.opcode == kClose) {
            if (sawClose)
                *sawClose = true;
            if (closeCode)
                *closeCode = frame.closeCode();
        }
    };
    const int64_t deadline = nowMs() + timeoutMs;
    while (!eof_) {
        int64_t left = deadline - nowMs();
        if (left <= 0)
            return false;
        if (auto frame = readFrame((int)left))
            note(*frame);
    }
    // Frames that came with the end of stream (or before it, while an
    // earlier expect() read) are still in the buffer.
    Frame frame;
    while (parseFrame(frame))
        note(frame);
    return true;
}

} // namespace palaver::test
