// RFC 6455 framing as palaver-server parses and writes it.
#include "websocket.h"

#include <glib.h>

#include <string>
#include <vector>

using namespace palaver::server::ws;

namespace {

// A masked client frame, as a browser sends it.
std::string clientFrame(uint8_t firstByte, const std::string& payload, const uint8_t mask[4] = nullptr)
{
    static const uint8_t defaultMask[4] = { 0x12, 0x34, 0x56, 0x78 };
    if (!mask)
        mask = defaultMask;
    std::string out;
    out.push_back(static_cast<char>(firstByte));
    size_t n = payload.size();
    if (n < 126) {
        out.push_back(static_cast<char>(0x80 | n));
    } else if (n <= 0xffff) {
        out.push_back(static_cast<char>(0x80 | 126));
        out.push_back(static_cast<char>(n >> 8));
        out.push_back(static_cast<char>(n & 0xff));
    } else {
        out.push_back(static_cast<char>(0x80 | 127));
        for (int i = 7; i >= 0; --i)
            out.push_back(static_cast<char>((uint64_t(n) >> (8 * i)) & 0xff));
    }
    out.append(reinterpret_cast<const char*>(mask), 4);
    for (size_t i = 0; i < n; ++i)
        out.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
    return out;
}

void testParseAndUnmask()
{
    for (size_t size : { 0, 1, 125, 126, 127, 1000, 65535, 65536, 70000 }) {
        std::string payload(size, 'x');
        for (size_t i = 0; i < size; ++i)
            payload[i] = static_cast<char>('a' + i % 26);
        std::string frame = clientFrame(0x81, payload);
        FrameHeader h;
        // Every proper prefix of the header asks for more.
        for (size_t cut = 0; cut < 2; ++cut)
            g_assert_true(parseHeader(reinterpret_cast<const uint8_t*>(frame.data()), cut, h) == HeaderStatus::NeedMore);
        g_assert_true(parseHeader(reinterpret_cast<const uint8_t*>(frame.data()), frame.size(), h) == HeaderStatus::Ok);
        g_assert_true(h.fin);
        g_assert_true(h.opcode == Opcode::Text);
        g_assert_cmpuint(h.payloadLength, ==, size);
        g_assert_cmpuint(h.headerLength + size, ==, frame.size());
        std::string body = frame.substr(h.headerLength);
        // Unmasking in two pieces at an odd offset gives the same bytes.
        size_t split = size / 3;
        unmask(reinterpret_cast<uint8_t*>(body.data()), split, h.mask, 0);
        unmask(reinterpret_cast<uint8_t*>(body.data()) + split, size - split, h.mask, split);
        g_assert_true(body == payload);
    }
}

void testRejected()
{
    const std::vector<std::string> bad = {
        std::string("\xC1\x80\0\0\0\0", 6),  // RSV1 without an extension
        std::string("\x83\x80\0\0\0\0", 6),  // reserved opcode 3
        std::string("\x8B\x80\0\0\0\0", 6),  // reserved control opcode 0xB
        std::string("\x81\x05hello", 7),     // unmasked client frame
        std::string("\x09\x80\0\0\0\0", 6),  // fragmented ping
        std::string("\x89\xFE\x00\x7E\0\0\0\0", 8), // ping with a 126-byte body
    };
    for (const auto& frame : bad) {
        FrameHeader h;
        g_assert_true(parseHeader(reinterpret_cast<const uint8_t*>(frame.data()), frame.size(), h) == HeaderStatus::ProtocolError);
    }
}

void testServerFrames()
{
    for (size_t size : { 0, 125, 126, 65535, 65536 }) {
        std::string out;
        appendFrame(out, Opcode::Text, std::string(size, 'z'));
        size_t header = size < 126 ? 2 : size <= 0xffff ? 4 : 10;
        g_assert_cmpuint(out.size(), ==, header + size);
        g_assert_cmpuint(static_cast<uint8_t>(out[0]), ==, 0x81);
        g_assert_cmpuint(static_cast<uint8_t>(out[1]) & 0x80, ==, 0); // servers never mask
    }
    std::string close;
    appendCloseFrame(close, 1009, "too large");
    g_assert_cmpuint(static_cast<uint8_t>(close[0]), ==, 0x88);
    g_assert_cmpuint(static_cast<uint8_t>(close[1]), ==, 2 + 9);
    g_assert_cmpuint((static_cast<uint8_t>(close[2]) << 8) | static_cast<uint8_t>(close[3]), ==, 1009);
    std::string empty;
    appendCloseFrame(empty, 0);
    g_assert_cmpuint(empty.size(), ==, 2);
    // Control frame bodies stay within 125 bytes whatever the reason.
    std::string longReason;
    appendCloseFrame(longReason, 1000, std::string(300, 'r'));
    g_assert_cmpuint(static_cast<uint8_t>(longReason[1]), ==, 125);
}

void testUtf8()
{
    struct Case {
        std::string text;
        bool valid;
    };
    const Case cases[] = {
        { "", true },
        { "plain ascii that is longer than eight bytes", true },
        { std::string("nul \0 inside", 12), true },
        { "\u00e9\u20ac\U0001F600", true },
        { "\xed\x9f\xbf", true },            // U+D7FF
        { "\xf4\x8f\xbf\xbf", true },        // U+10FFFF
        { "\xc0\xaf", false },               // overlong '/'
        { "\xe0\x80\xaf", false },           // overlong
        { "\xed\xa0\x80", false },           // surrogate U+D800
        { "\xf4\x90\x80\x80", false },       // above U+10FFFF
        { "\xc3", false },                   // truncated
        { "abcdefgh\xc3", false },           // truncated after the fast path
        { "\x80", false },                   // lone continuation
        { "\xff", false },
    };
    for (const auto& c : cases)
        g_assert_cmpint(isValidUtf8(reinterpret_cast<const uint8_t*>(c.text.data()), c.text.size()), ==, c.valid);
}

void testCloseCodes()
{
    for (uint16_t ok : { 1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999 })
        g_assert_true(isValidReceivedCloseCode(ok));
    for (uint16_t bad : { 0, 999, 1004, 1005, 1006, 1015, 2000, 5000 })
        g_assert_false(isValidReceivedCloseCode(bad));
}

} // namespace

int main(int argc, char** argv)
{
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/websocket/parse-and-unmask", testParseAndUnmask);
    g_test_add_func("/websocket/rejected-frames", testRejected);
    g_test_add_func("/websocket/server-frames", testServerFrames);
    g_test_add_func("/websocket/utf8", testUtf8);
    g_test_add_func("/websocket/close-codes", testCloseCodes);
    return g_test_run();
}
