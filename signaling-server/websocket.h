// RFC 6455 framing for the server side: parsing masked client frames,
// writing unmasked server frames, and UTF-8 validation of text messages.
//
// libsoup 3.2's SoupWebsocketConnection cannot do what docs/protocol.md asks: it
// pings only on a whole-second timer, does not report the pings it receives
// (they count toward the rate limit), and closes an oversized frame with no
// close frame at all. libsoup still does HTTP, TLS and the upgrade
// handshake; see docs/architecture.md ("Why frames are parsed by hand").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace palaver::server::ws {

enum class Opcode : uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

inline bool isControl(Opcode op)
{
    return static_cast<uint8_t>(op) & 0x8;
}

struct FrameHeader {
    bool fin = false;
    Opcode opcode = Opcode::Text;
    bool masked = false;
    uint8_t mask[4] = {};
    uint64_t payloadLength = 0;
    size_t headerLength = 0; // bytes before the payload, mask included
};

enum class HeaderStatus {
    NeedMore,
    Ok,
    ProtocolError, // reserved bits, unknown opcode, bad control frame, unmasked
};

// Reads a client frame header at the start of `data`.
HeaderStatus parseHeader(const uint8_t* data, size_t length, FrameHeader& header);

// Unmasks `length` payload bytes in place; `offset` is the position of
// data[0] within the frame's payload (the mask repeats every 4 bytes).
void unmask(uint8_t* data, size_t length, const uint8_t mask[4], uint64_t offset = 0);

// Appends one unfragmented server frame (FIN set, no mask).
void appendFrame(std::string& out, Opcode opcode, std::string_view payload);
void appendCloseFrame(std::string& out, uint16_t code, std::string_view reason = {});

// Strict UTF-8 (no overlongs, surrogates or code points above U+10FFFF);
// NUL is valid, unlike g_utf8_validate_len's reading.
bool isValidUtf8(const uint8_t* data, size_t length);

// Close codes a peer may send (RFC 6455 7.4.1 and 7.4.2).
bool isValidReceivedCloseCode(uint16_t code);

} // namespace palaver::server::ws
