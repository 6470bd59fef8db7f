#include "websocket.h"

#include <cstring>

namespace palaver::server::ws {

HeaderStatus parseHeader(const uint8_t* data, size_t length, FrameHeader& header)
{
    if (length < 2)
        return HeaderStatus::NeedMore;
    uint8_t b0 = data[0];
    uint8_t b1 = data[1];
    if (b0 & 0x70) // RSV1-3: no extension is negotiated
        return HeaderStatus::ProtocolError;
    uint8_t op = b0 & 0x0f;
    switch (op) {
    case 0x0: case 0x1: case 0x2: case 0x8: case 0x9: case 0xA:
        break;
    default:
        return HeaderStatus::ProtocolError;
    }
    header.fin = b0 & 0x80;
    header.opcode = static_cast<Opcode>(op);
    header.masked = b1 & 0x80;
    // RFC 6455 5.1: a server closes on an unmasked client frame.
    if (!header.masked)
        return HeaderStatus::ProtocolError;
    uint64_t len = b1 & 0x7f;
    size_t at = 2;
    if (len == 126) {
        if (length < 4)
            return HeaderStatus::NeedMore;
        len = (uint64_t(data[2]) << 8) | data[3];
        at = 4;
    } else if (len == 127) {
        if (length < 10)
            return HeaderStatus::NeedMore;
        len = 0;
        for (int i = 0; i < 8; ++i)
            len = (len << 8) | data[2 + i];
        if (len >> 63)
            return HeaderStatus::ProtocolError;
        at = 10;
    }
    if (isControl(header.opcode) && (!header.fin || len > 125))
        return HeaderStatus::ProtocolError;
    if (length < at + 4)
        return HeaderStatus::NeedMore;
    std::memcpy(header.mask, data + at, 4);
    header.payloadLength = len;
    header.headerLength = at + 4;
    return HeaderStatus::Ok;
}

void unmask(uint8_t* data, size_t length, const uint8_t mask[4], uint64_t offset)
{
    uint8_t m[4];
    for (int i = 0; i < 4; ++i)
        m[i] = mask[(offset + i) & 3];
    size_t i = 0;
    // Eight bytes at a time: SDP bodies are tens of kilobytes.
    uint64_t m8;
    uint8_t mb[8] = { m[0], m[1], m[2], m[3], m[0], m[1], m[2], m[3] };
    std::memcpy(&m8, mb, 8);
    for (; i + 8 <= length; i += 8) {
        uint64_t v;
        std::memcpy(&v, data + i, 8);
        v ^= m8;
        std::memcpy(data + i, &v, 8);
    }
    for (; i < length; ++i)
        data[i] ^= m[i & 3];
}

void appendFrame(std::string& out, Opcode opcode, std::string_view payload)
{
    char header[10];
    size_t n = 0;
    header[n++] = static_cast<char>(0x80 | static_cast<uint8_t>(opcode));
    uint64_t len = payload.size();
    if (len < 126) {
        header[n++] = static_cast<char>(len);
    } else if (len <= 0xffff) {
        header[n++] = 126;
        header[n++] = static_cast<char>(len >> 8);
        header[n++] = static_cast<char>(len & 0xff);
    } else {
        header[n++] = 127;
        for (int i = 7; i >= 0; --i)
            header[n++] = static_cast<char>((len >> (8 * i)) & 0xff);
    }
    out.append(header, n);
    out.append(payload);
}

void appendCloseFrame(std::string& out, uint16_t code, std::string_view reason)
{
    std::string payload;
    if (code) {
        payload.push_back(static_cast<char>(code >> 8));
        payload.push_back(static_cast<char>(code & 0xff));
        payload.append(reason.substr(0, 123));
    }
    appendFrame(out, Opcode::Close, payload);
}

bool isValidUtf8(const uint8_t* s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        // ASCII fast path, eight bytes at a time.
        if (i + 8 <= n) {
            uint64_t v;
            std::memcpy(&v, s + i, 8);
            if (!(v & 0x8080808080808080ull)) {
                i += 8;
                continue;
            }
        }
        uint8_t c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; ++k) {
            uint8_t cc = s[i + k];
            if ((cc & 0xC0) != 0x80)
                return false;
            cp = (cp << 6) | (cc & 0x3f);
        }
        if ((len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
            return false;
        i += len;
    }
    return true;
}

bool isValidReceivedCloseCode(uint16_t code)
{
    if (code >= 3000 && code <= 4999)
        return true;
    switch (code) {
    case 1000: case 1001: case 1002: case 1003: case 1007: case 1008:
    case 1009: case 1010: case 1011:
        return true;
    default:
        return false;
    }
}

} // namespace palaver::server::ws
