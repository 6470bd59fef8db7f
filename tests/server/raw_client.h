// A WebSocket client written by hand on a plain TCP socket, for what libsoup
// will not send: fragmented, invalid UTF-8, oversized or odd frames, and a
// peer that never answers pings.
//
//   RawClient raw(server);                 // TCP connect + HTTP upgrade
//   raw.sendFrame(kText, "{\"type\":", false);
//   raw.sendFrame(kContinuation, "\"ping\"}");
//   raw.expectJson(R"({"type":"pong"})");
//   raw.sendText("\xff");
//   raw.expectClose(1007);
//
// Reading is event driven on the test's main context (a GSocket source), so
// other clients in the same test keep being served while it waits. Writes
// block with a deadline.
#pragma once

#include "harness.h"
#include "inbox.h"
#include "source.h"

#include "gref.h"

#include <gio/gio.h>

#include <string>

namespace palaver::test {

class ServerProcess;

enum Opcode : uint8_t {
    kContinuation = 0x0,
    kText = 0x1,
    kBinary = 0x2,
    kClose = 0x8,
    kPing = 0x9,
    kPong = 0xA,
};

struct Frame {
    uint8_t opcode = 0;
    bool fin = true;
    std::string payload;
    // For close frames: the status code (0 when the payload is empty).
    int closeCode() const;
};

class RawClient : public Inbox {
public:
    // Connects and upgrades at `path` unless upgrade is false.
    explicit RawClient(const ServerProcess& server, std::string_view path = "/ws", bool upgrade = true);
    ~RawClient();
    RawClient(const RawClient&) = delete;
    RawClient& operator=(const RawClient&) = delete;

    // Writes a request line + headers; returns the status of the response
    // and leaves anything after the header block in the input buffer.
    int upgrade(std::string_view path, std::source_location loc = std::source_location::current());
    // The same, with `behind` (e.g. frames) in the same write as the request.
    int upgrade(std::string_view path, std::string_view behind, std::source_location loc = std::source_location::current());

    // One frame from client to server (masked unless mask is false).
    void sendFrame(uint8_t opcode, std::string_view payload, bool fin = true, bool mask = true,
        std::source_location loc = std::source_location::current());
    // The bytes of one frame, to send several in one write.
    static std::string frame(uint8_t opcode, std::string_view payload, bool fin = true, bool mask = true);
    void sendText(std::string_view text, std::source_location loc = std::source_location::current())
    {
        sendFrame(kText, text, true, true, loc);
    }
    void sendClose(int code, std::source_location loc = std::source_location::current());
    void sendBytes(std::string_view bytes, std::source_location loc = std::source_location::current());

    // The next frame (pings included); nullopt on timeout or end of stream.
    std::optional<Frame> readFrame(int timeoutMs = kExpectTimeoutMs);
    // expect(), expectJson(), expectError(), expectNothing(), expectClose():
    // see inbox.h. They skip pings (counted, and answered when autoPong) and
    // pongs, join fragments, and answer the close expectClose() waited for.

    // Waits for end of stream (the server dropped us, with or without a close
    // frame); returns false on timeout. Frames read meanwhile are discarded.
    bool waitEof(int timeoutMs, bool* sawClose = nullptr, int* closeCode = nullptr);

    // Closes the socket without a close frame.
    void drop();

    bool eof() const { return eof_; }
    // Pings received so far.
    int pings() const { return pings_; }
    void setAutoPong(bool on) { autoPong_ = on; }
    // Raw bytes received and not yet parsed (e.g. the HTTP response).
    const std::string& buffered() const { return in_; }

private:
    Received next(int timeoutMs, std::source_location loc) override;
    void closeExpected(int code, std::source_location loc) override;
    static gboolean onReadable(GSocket*, GIOCondition, gpointer self);
    bool parseFrame(Frame& out);

    palaver::GRef<GSocketConnection> connection_;
    GSocket* socket_ = nullptr; // borrowed from connection_
    palaver::Source source_;
    std::string in_;
    bool eof_ = false;
    bool autoPong_ = false;
    int pings_ = 0;
    std::string host_;
};

} // namespace palaver::test
