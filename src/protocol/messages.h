// Palaver signaling protocol, version 1 (docs/protocol.md): typed messages,
// parsing that maps every malformed input to the protocol's error code, and
// serialising. Shared by palaver-server, the call engine and the tests.
//
// Thread-safe: no shared state; every function may run on any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace palaver::protocol {

enum class ErrorCode {
    BadJson,
    BadMessage,
    UnknownType,
    NotJoined,
    AlreadyJoined,
    PeerIdTaken,
    RoomFull,
    UnknownPeer,
    RateLimited,
    Unauthorized,
    TooLarge,
};
inline constexpr int kErrorCodeCount = 11;

// "bad-json", "bad-message", ... as on the wire.
const char* errorCodeName(ErrorCode code);
std::optional<ErrorCode> errorCodeFromName(std::string_view name);

// WebSocket close codes the protocol uses.
enum CloseCode : uint16_t {
    kCloseNormal = 1000,
    kCloseGoingAway = 1001,
    kCloseProtocolError = 1002,
    kCloseBadData = 1007,
    kClosePolicy = 1008,
    kCloseTooLarge = 1009,
    kCloseInternalError = 1011,
};

// Room and peer ids: 1 to 64 characters of [A-Za-z0-9._-].
bool isValidId(std::string_view id);

// ---- Client to server ----------------------------------------------------

struct Join {
    std::string room;
    std::optional<std::string> peer;
    std::optional<std::string> token;
};
struct Leave {};
// send-offer and send-answer share a shape.
struct SendOffer {
    std::string sdp;
    std::optional<std::string> to;
};
struct SendAnswer {
    std::string sdp;
    std::optional<std::string> to;
};
struct SendCandidate {
    std::string candidate; // "" means end of candidates
    int64_t sdpMLineIndex = 0;
    std::optional<std::string> sdpMid;
    std::optional<std::string> to;
};
struct Ping {};

using ClientMessage = std::variant<Join, Leave, SendOffer, SendAnswer, SendCandidate, Ping>;

// The wire `type` of a message ("join", "send-offer", ...).
const char* typeName(const ClientMessage& message);

// ---- Server to client ----------------------------------------------------

struct IceServer {
    std::vector<std::string> urls;
    std::optional<std::string> username;
    std::optional<std::string> credential;
};
struct Joined {
    std::string room;
    std::string peer;
    std::vector<std::string> peers; // oldest first
    std::vector<IceServer> iceServers;
};
struct PeerJoined {
    std::string peer;
};
struct PeerLeft {
    std::string peer;
};
struct RelayedOffer {
    std::string from;
    std::string sdp;
};
struct RelayedAnswer {
    std::string from;
    std::string sdp;
};
struct RelayedCandidate {
    std::string from;
    std::string candidate;
    int64_t sdpMLineIndex = 0;
    std::optional<std::string> sdpMid;
};
struct Pong {};
struct Error {
    ErrorCode code = ErrorCode::BadMessage;
    std::string message;
    std::optional<std::string> ref;
};

using ServerMessage = std::variant<Joined, PeerJoined, PeerLeft, RelayedOffer, RelayedAnswer,
    RelayedCandidate, Pong, Error>;

const char* typeName(const ServerMessage& message);

// ---- Parsing -------------------------------------------------------------

// Why a frame was refused: the code, a sentence for a person, and `ref` (the
// message's `type` when one was read, per "Fine points").
struct ParseError {
    ErrorCode code = ErrorCode::BadJson;
    std::string message;
    std::optional<std::string> ref;
};

template<typename Message>
struct Parsed {
    std::variant<Message, ParseError> value;

    bool ok() const { return value.index() == 0; }
    const Message& message() const { return std::get<0>(value); }
    Message& message() { return std::get<0>(value); }
    const ParseError& error() const { return std::get<1>(value); }
};

// Parses one text frame sent by a client. Errors are bad-json, bad-message
// or unknown-type, exactly as docs/protocol.md says; state-dependent errors
// (not-joined, room-full, ...) are the server's business.
Parsed<ClientMessage> parseClientMessage(std::string_view text);

namespace detail {
// The two ways parseClientMessage() goes: first the fast path, for the
// usual flat objects (nullopt: not one it takes), then the general parser.
// They must agree on everything the fast path takes
// (tests/unit/test_protocol.cpp).
std::optional<ClientMessage> parseFlatClientMessage(std::string_view text);
Parsed<ClientMessage> parseClientMessageInGeneral(std::string_view text);
} // namespace detail

// Parses one text frame sent by the server (for clients and tests). Any
// malformed input is reported as bad-json/bad-message/unknown-type too.
Parsed<ServerMessage> parseServerMessage(std::string_view text);

// ---- Serialising ---------------------------------------------------------

// Compact JSON holding exactly the members the protocol lists, in a fixed
// order. Strings are escaped minimally (", \, control characters); other
// UTF-8 passes through untouched, so SDP is relayed byte for byte.
std::string serialize(const ClientMessage& message);
std::string serialize(const ServerMessage& message);

// Appends `s` as a JSON string literal (with quotes) to `out`.
void appendJsonString(std::string& out, std::string_view s);

// ---- Data channel (peer to peer, `chat` label) -----------------------------

struct ChatMessage {
    std::string text;
};
// nullopt for anything that is not {"type":"chat","text":"..."} (unknown
// types are ignored by the receiver, as the protocol says).
std::optional<ChatMessage> parseChatMessage(std::string_view text);
// The `type` of any data-channel message, or nullopt for one that is not a
// JSON object with a string type.
std::optional<std::string> dataMessageType(std::string_view text);
// Palaver's own data-channel message, sent on `chat` just before a peer
// leaves: {"type":"bye"}. Other peers ignore it (unknown type); Palaver
// peers tear that connection down at once instead of waiting out the grace
// they give a peer that only lost the server.
inline constexpr const char* kByeMessage = "{\"type\":\"bye\"}";
std::string serialize(const ChatMessage& message);

} // namespace palaver::protocol
