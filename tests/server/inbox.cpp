#include "inbox.h"

namespace palaver::test {

Message Inbox::expect(int timeoutMs, std::source_location loc)
{
    Received r = next(timeoutMs, loc);
    switch (r.kind) {
    case Received::Kind::Message:
        return std::move(r.message);
    case Received::Kind::Close:
        fail(format("connection closed (code %d) while a message was expected", r.closeCode), loc);
    case Received::Kind::End:
        fail("connection closed while a message was expected", loc);
    case Received::Kind::Partial:
        fail(format("no whole message within %d ms (a fragmented one began: %s)", timeoutMs, r.message.raw.c_str()), loc);
    case Received::Kind::Timeout:
        break;
    }
    fail(format("no message within %d ms", timeoutMs), loc);
}

void Inbox::expectJson(std::string_view json, int timeoutMs, std::source_location loc)
{
    checkJson(expect(timeoutMs, loc), json, loc);
}

void Inbox::expectError(std::string_view code, std::optional<std::string> ref, int timeoutMs, std::source_location loc)
{
    checkError(expect(timeoutMs, loc), code, std::move(ref), loc);
}

void Inbox::expectNothing(int ms, std::source_location loc)
{
    Received r = next(ms, loc);
    switch (r.kind) {
    case Received::Kind::Message:
    case Received::Kind::Partial:
        fail("unexpected message: " + r.message.raw, loc);
    case Received::Kind::Close:
        fail(format("unexpected close (code %d)", r.closeCode), loc);
    case Received::Kind::End:
        fail("connection closed unexpectedly", loc);
    case Received::Kind::Timeout:
        break;
    }
}

void Inbox::expectClose(int code, int timeoutMs, std::source_location loc)
{
    Received r = next(timeoutMs, loc);
    switch (r.kind) {
    case Received::Kind::Message:
    case Received::Kind::Partial:
        fail(format("message before the close (expected close code %d): %s", code, r.message.raw.c_str()), loc);
    case Received::Kind::End:
        fail(format("connection dropped without a close frame (expected close code %d)", code), loc);
    case Received::Kind::Timeout:
        fail(format("connection not closed within %d ms (expected close code %d)", timeoutMs, code), loc);
    case Received::Kind::Close:
        break;
    }
    if (r.closeCode != code)
        fail(format("close code %d, expected %d", r.closeCode, code), loc);
    closeExpected(code, loc);
}

} // namespace palaver::test
