// What a test client receives from the server, and the expect*() checks on
// it, written once for every kind of client. A client (TestClient on
// libsoup, RawClient on a bare socket) only says what comes next within a
// deadline: a message, the server's close, the end of the stream, or
// nothing. The checks and their failure messages are the same for both.
//
//   client.expectJson(R"({"type":"pong"})");
//   client.expectError("bad-json", std::nullopt);
//   client.expectNothing();
//   client.expectClose(1000);
#pragma once

#include "harness.h"

#include <optional>
#include <source_location>
#include <string>
#include <string_view>

namespace palaver::test {

// The next thing a client received.
struct Received {
    enum class Kind {
        Message, // a whole data message: `message`
        Close,   // the server's close (frame or handshake): `closeCode`
        End,     // the stream ended without a close frame
        Partial, // a fragmented message began but did not end in time: `message` so far
        Timeout, // nothing within the deadline
    };
    Kind kind = Kind::Timeout;
    Message message;
    int closeCode = 0;
};

class Inbox {
public:
    // The next message; fails the test on timeout or if the connection closed.
    Message expect(int timeoutMs = kExpectTimeoutMs, std::source_location loc = std::source_location::current());
    void expectJson(std::string_view json, int timeoutMs = kExpectTimeoutMs,
        std::source_location loc = std::source_location::current());
    void expectError(std::string_view code, std::optional<std::string> ref, int timeoutMs = kExpectTimeoutMs,
        std::source_location loc = std::source_location::current());
    // Fails if a message arrives or the connection closes within ms.
    void expectNothing(int ms = kQuietMs, std::source_location loc = std::source_location::current());
    // Waits for the server's close; fails unless its code is `code` and no
    // message came before it.
    void expectClose(int code, int timeoutMs = kExpectTimeoutMs,
        std::source_location loc = std::source_location::current());

protected:
    Inbox() = default;
    virtual ~Inbox() = default;

    // What came next within timeoutMs, pumping the thread-default context.
    // May fail the test itself (not connected, a malformed frame).
    virtual Received next(int timeoutMs, std::source_location loc) = 0;
    // The close expectClose() waited for has come.
    virtual void closeExpected(int /*code*/, std::source_location) {}
};

} // namespace palaver::test
