#include "connection.h"

#include "room_registry.h"
#include "server.h"
#include "worker.h"

#include <array>
#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <unistd.h>

namespace palaver::server {

using namespace palaver::protocol;

using protocol::ErrorCode;

namespace {

// A reader that cannot keep up this far is cut off rather than letting its
// queue grow without bound.
constexpr size_t kMaxPendingOutput = 8 * 1024 * 1024;
constexpr int kDropsBeforeClose = 100;
constexpr int64_t kDropWindowUs = 10 * G_USEC_PER_SEC;

void logEvent(GLogLevelFlags level, const std::string& room, const std::string& peer, const char* format, ...) G_GNUC_PRINTF(4, 5);

void logEvent(GLogLevelFlags level, const std::string& room, const std::string& peer, const char* format, ...)
{
    va_list args;
    va_start(args, format);
    GUnique<char> message(g_strdup_vprintf(format, args));
    va_end(args);
    g_log_structured(G_LOG_DOMAIN, level, "PALAVER_ROOM", "%s", room.c_str(), "PALAVER_PEER", "%s", peer.c_str(),
        "MESSAGE", "%s", message.get());
}

} // namespace

// The times of the last kDropsBeforeClose dropped messages, oldest first.
struct Connection::DropHistory {
    std::array<int64_t, kDropsBeforeClose> times {};
    size_t next = 0;
    size_t count = 0;
};

Connection::Connection(Worker& worker, uint64_t id, int fd, GRef<GIOStream> tlsStream, std::string remote)
    : worker_(&worker)
    , id_(id)
    , fd_(fd)
    , tlsStream_(std::move(tlsStream))
    , remote_(std::move(remote))
{
    lastSeen_ = worker_->now();
    refilledAt_ = worker_->now();
    tokens_ = worker_->server().config().burst;
}

Connection::~Connection()
{
    if (tlsStream_) {
        // close_async: a TLS close_notify must not block the worker.
        g_io_stream_close_async(tlsStream_.get(), G_PRIORITY_DEFAULT, nullptr, nullptr, nullptr);
    } else if (fd_ >= 0) {
        ::close(fd_);
    }
}

void Connection::start(std::string_view early)
{
    if (!early.empty()) {
        std::string copy(early);
        consume(reinterpret_cast<uint8_t*>(copy.data()), copy.size());
    }
}

bool Connection::readSome(size_t& n, bool& eof)
{
    uint8_t* buffer = worker_->readBuffer();
    eof = false;
    n = 0;
    if (tlsStream_) {
        GInputStream* input = g_io_stream_get_input_stream(tlsStream_.get());
        GUnique<GError> error;
        gssize r = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(input), buffer,
            Worker::kReadBufferSize, nullptr, error.outPtr());
        if (r > 0) {
            n = static_cast<size_t>(r);
            return true;
        }
        if (r == 0) {
            eof = true;
            return true;
        }
        if (g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return true;
        g_debug("connection %s: TLS read failed: %s", remote_.c_str(), error->message);
        return false;
    }
    ssize_t r = ::recv(fd_, buffer, Worker::kReadBufferSize, 0);
    if (r > 0) {
        n = static_cast<size_t>(r);
        return true;
    }
    if (r == 0) {
        eof = true;
        return true;
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return true;
    g_debug("connection %s: read failed: %s", remote_.c_str(), g_strerror(errno));
    return false;
}

void Connection::onReadable()
{
    // A plain socket is level-triggered, so a few reads then yield to the
    // other connections; a TLS stream may hold decrypted bytes that epoll
    // cannot see, so it is read until it would block.
    for (int round = 0; tlsStream_ || round < 4; ++round) {
        // A moving connection is read again by its next worker.
        if (state_ == State::Dead || moving_)
            return;
        size_t n = 0;
        bool eof = false;
        if (!readSome(n, eof)) {
            drop("read error");
            return;
        }
        if (eof) {
            if (state_ == State::Closing)
                teardown();
            else
                drop("connection closed without a close frame");
            return;
        }
        if (n == 0)
            return;
        lastSeen_ = worker_->now(); // any byte is a sign of life, not only whole frames
        consume(worker_->readBuffer(), n);
        if (n < Worker::kReadBufferSize && !tlsStream_)
            return;
    }
}

void Connection::consume(uint8_t* data, size_t length)
{
    if (failing_) {
        std::string().swap(in_);
        return;
    }
    if (moving_) {
        in_.append(reinterpret_cast<char*>(data), length);
        return;
    }
    if (in_.empty()) {
        size_t used = processFrames(data, length);
        if (used < length && state_ != State::Dead)
            in_.assign(reinterpret_cast<char*>(data + used), length - used);
        return;
    }
    in_.append(reinterpret_cast<char*>(data), length);
    size_t used = processFrames(reinterpret_cast<uint8_t*>(in_.data()), in_.size());
    in_.erase(0, used);
    if (in_.empty() && in_.capacity() > 4096)
        std::string().swap(in_);
}

size_t Connection::processFrames(uint8_t* data, size_t length)
{
    size_t at = 0;
    const uint64_t maxFrame = worker_->server().config().maxFrameSize;
    while (at < length && state_ != State::Dead && !failing_ && !moving_) {
        if (skip_) {
            size_t n = static_cast<size_t>(std::min<uint64_t>(skip_, length - at));
            skip_ -= n;
            at += n;
            continue;
        }
        ws::FrameHeader header;
        switch (ws::parseHeader(data + at, length - at, header)) {
        case ws::HeaderStatus::NeedMore:
            return at;
        case ws::HeaderStatus::ProtocolError:
            protocolError(kCloseProtocolError, "invalid WebSocket frame");
            return length;
        case ws::HeaderStatus::Ok:
            break;
        }
        bool isData = !ws::isControl(header.opcode);
        bool refused = isData && state_ == State::Open && maxFrame && header.payloadLength > maxFrame;
        // Refused or ignored frames are skipped as they arrive, never buffered.
        if (refused || (isData && state_ != State::Open)) {
            if (refused)
                tooLarge();
            at += header.headerLength;
            skip_ = header.payloadLength;
            continue;
        }
        uint64_t total = header.headerLength + header.payloadLength;
        if (length - at < total)
            return at;
        uint8_t* payload = data + at + header.headerLength;
        ws::unmask(payload, static_cast<size_t>(header.payloadLength), header.mask);
        handleFrame(header, payload);
        at += static_cast<size_t>(total);
    }
    return at;
}

void Connection::handleFrame(const ws::FrameHeader& header, uint8_t* payload)
{
    std::string_view data(reinterpret_cast<char*>(payload), static_cast<size_t>(header.payloadLength));
    switch (header.opcode) {
    case ws::Opcode::Ping:
        if (state_ == State::Open && allowFrame()) {
            ws::appendFrame(out_, ws::Opcode::Pong, data);
            worker_->markDirty(this);
        }
        return;
    case ws::Opcode::Pong:
        return; // lastSeen_ is all a pong is for
    case ws::Opcode::Close: {
        closeReceived_ = true;
        if (state_ == State::Closing) {
            // The answer to our close: done once our close frame is out.
            worker_->markDirty(this);
            return;
        }
        uint16_t code = 0;
        if (data.size() == 1) {
            protocolError(kCloseProtocolError, "close frame with a 1-byte body");
            return;
        }
        if (data.size() >= 2) {
            code = static_cast<uint16_t>((static_cast<uint8_t>(data[0]) << 8) | static_cast<uint8_t>(data[1]));
            if (!ws::isValidReceivedCloseCode(code)) {
                protocolError(kCloseProtocolError, "invalid close code");
                return;
            }
            if (!ws::isValidUtf8(payload + 2, data.size() - 2)) {
                protocolError(kCloseBadData, "close reason is not UTF-8");
                return;
            }
        }
        // RFC 6455 5.5.1: answer with the same status code.
        leaveRoom("closed");
        ws::appendCloseFrame(out_, code);
        state_ = State::Closing;
        worker_->addCloseDeadline(this);
        worker_->markDirty(this);
        return;
    }
    case ws::Opcode::Continuation:
        if (fragmentOpcode_ == ws::Opcode::Continuation) {
            protocolError(kCloseProtocolError, "continuation frame without a message");
            return;
        }
        fragments_.append(data);
        if (uint64_t max = worker_->server().config().maxFrameSize; max && fragments_.size() > max) {
            std::string().swap(fragments_);
            fragmentOpcode_ = ws::Opcode::Continuation;
            tooLarge();
            return;
        }
        if (header.fin) {
            std::string message = std::move(fragments_);
            fragments_.clear();
            ws::Opcode opcode = fragmentOpcode_;
            fragmentOpcode_ = ws::Opcode::Continuation;
            handleMessage(opcode, message);
        }
        return;
    case ws::Opcode::Text:
    case ws::Opcode::Binary:
        if (fragmentOpcode_ != ws::Opcode::Continuation) {
            protocolError(kCloseProtocolError, "new message inside a fragmented one");
            return;
        }
        if (!header.fin) {
            fragmentOpcode_ = header.opcode;
            fragments_.assign(data);
            return;
        }
        handleMessage(header.opcode, data);
        return;
    }
}

bool Connection::allowFrame()
{
    const Config& config = worker_->server().config();
    if (config.rate <= 0)
        return true;
    int64_t now = worker_->now();
    tokens_ = std::min<double>(config.burst, tokens_ + (now - refilledAt_) * config.rate / G_USEC_PER_SEC);
    refilledAt_ = now;
    if (tokens_ >= 1) {
        tokens_ -= 1;
        return true;
    }
    if (!drops_)
        drops_ = std::make_unique<DropHistory>();
    DropHistory& h = *drops_;
    h.times[h.next] = now;
    h.next = (h.next + 1) % kDropsBeforeClose;
    h.count = std::min<size_t>(h.count + 1, kDropsBeforeClose);
    // The ring is full: times[next] is the oldest of the last 100 drops.
    bool tooMany = h.count == static_cast<size_t>(kDropsBeforeClose) && now - h.times[h.next] < kDropWindowUs;
    if (tooMany) {
        logEvent(G_LOG_LEVEL_INFO, room_, peer_, "closing %s: %d messages dropped within 10 s", remote_.c_str(), kDropsBeforeClose);
        close(kClosePolicy, "rate limit");
        return false;
    }
    if (rateErrorAt_ < 0 || now - rateErrorAt_ >= G_USEC_PER_SEC) {
        rateErrorAt_ = now;
        sendError(ErrorCode::RateLimited, "too many messages: this one was dropped", std::nullopt);
    }
    return false;
}

void Connection::handleMessage(ws::Opcode opcode, std::string_view data)
{
    WorkerMetrics::add(worker_->counters().messagesReceived);
    if (!allowFrame())
        return;
    if (opcode == ws::Opcode::Binary) {
        sendError(ErrorCode::BadMessage, "binary frames are not part of the protocol; send JSON text", std::nullopt);
        return;
    }
    if (!ws::isValidUtf8(reinterpret_cast<const uint8_t*>(data.data()), data.size())) {
        protocolError(kCloseBadData, "text message is not valid UTF-8");
        return;
    }
    handleText(data);
}

void Connection::handleText(std::string_view text)
{
    auto parsed = protocol::parseClientMessage(text);
    if (!parsed.ok()) {
        const auto& e = parsed.error();
        sendError(e.code, e.message, e.ref);
        return;
    }
    auto& message = parsed.message();
    if (auto* join = std::get_if<protocol::Join>(&message)) {
        onJoin(*join);
        return;
    }
    if (std::holds_alternative<protocol::Ping>(message)) {
        sendText(protocol::serialize(protocol::ServerMessage(protocol::Pong {})));
        return;
    }
    if (!session_) {
        sendError(ErrorCode::NotJoined, "join a room first", protocol::typeName(message));
        return;
    }
    if (std::holds_alternative<protocol::Leave>(message)) {
        onLeave();
        return;
    }
    if (auto* offer = std::get_if<protocol::SendOffer>(&message)) {
        relay(RelayType::Offer, offer->to, [&] { return protocol::ServerMessage(protocol::RelayedOffer { peer_, std::move(offer->sdp) }); });
    } else if (auto* answer = std::get_if<protocol::SendAnswer>(&message)) {
        relay(RelayType::Answer, answer->to, [&] { return protocol::ServerMessage(protocol::RelayedAnswer { peer_, std::move(answer->sdp) }); });
    } else if (auto* c = std::get_if<protocol::SendCandidate>(&message)) {
        relay(RelayType::Candidate, c->to, [&] {
            return protocol::ServerMessage(protocol::RelayedCandidate { peer_, std::move(c->candidate), c->sdpMLineIndex, std::move(c->sdpMid) });
        });
    }
}

template<typename Build>
void Connection::relay(RelayType type, const std::optional<std::string>& to, Build&& build)
{
    static constexpr const char* refs[] = { "send-offer", "send-answer", "ice-candidate" };
    const char* ref = refs[static_cast<size_t>(type)];
    auto target = worker_->server().rooms().resolve(room_, peer_, to);
    if (!target) {
        if (!to)
            sendError(ErrorCode::UnknownPeer, "'to' is required: the room does not hold exactly two peers", ref);
        else if (*to == peer_)
            sendError(ErrorCode::UnknownPeer, "'to' names yourself", ref);
        else
            sendError(ErrorCode::UnknownPeer, "no peer '" + *to + "' in room " + room_, ref);
        return;
    }
    WorkerMetrics::add(worker_->counters().relayed[static_cast<size_t>(type)]);
    worker_->deliver(*target, protocol::serialize(build()));
}

void Connection::onJoin(protocol::Join& join)
{
    if (session_) {
        sendError(ErrorCode::AlreadyJoined, "already in room " + room_ + "; leave it first", "join");
        return;
    }
    Server& server = worker_->server();
    std::optional<std::string> peer = join.peer;
    if (const TokenVerifier* verifier = server.tokens()) {
        std::string why;
        if (!join.token) {
            why = "this server requires a token";
        } else if (auto claims = verifier->verify(*join.token, g_get_real_time() / 1e6, why)) {
            if (claims->room != "*" && claims->room != join.room) {
                why = "the token is not valid for room " + join.room;
            } else if (claims->sub) {
                if (!protocol::isValidId(*claims->sub))
                    why = "the token's subject is not a valid peer id";
                else if (peer && *peer != *claims->sub)
                    why = "the token is for peer " + *claims->sub + ", not " + *peer;
                else
                    peer = claims->sub;
            }
        }
        if (!why.empty()) {
            logEvent(G_LOG_LEVEL_INFO, join.room, peer.value_or(""), "refused %s: unauthorized: %s", remote_.c_str(), why.c_str());
            sendError(ErrorCode::Unauthorized, why, "join");
            close(kClosePolicy, "unauthorized");
            return;
        }
    }
    joinRoom(std::move(join.room), std::move(peer), false);
}

void Connection::joinRoom(std::string room, std::optional<std::string> peer, bool reserved)
{
    Server& server = worker_->server();
    uint64_t session = worker_->newSession();
    auto result = server.rooms().join(room, peer, PeerRef { worker_, id_, session }, reserved);
    switch (result.status) {
    case RoomRegistry::JoinStatus::Elsewhere:
        // The room is served by another worker: the connection goes there
        // and joins on that thread, so that relaying in the room never
        // crosses threads. The registry holds the room for it meanwhile.
        // room_ and peer_ are free while in no room: they carry the join.
        room_ = std::move(room);
        pendingPeer_ = peer.has_value();
        peer_ = peer ? std::move(*peer) : std::string();
        pendingJoin_ = true;
        moving_ = true;
        worker_->moveTo(this, result.owner);
        return;
    case RoomRegistry::JoinStatus::PeerIdTaken:
        logEvent(G_LOG_LEVEL_INFO, room, *peer, "refused %s: peer id taken", remote_.c_str());
        sendError(ErrorCode::PeerIdTaken, "peer id '" + *peer + "' is in use in room " + room, "join");
        return;
    case RoomRegistry::JoinStatus::RoomFull:
        logEvent(G_LOG_LEVEL_INFO, room, peer.value_or(""), "refused %s: room full", remote_.c_str());
        sendError(ErrorCode::RoomFull, "room " + room + " is full", "join");
        return;
    case RoomRegistry::JoinStatus::Joined:
        break;
    }
    room_ = std::move(room);
    peer_ = std::move(result.peer);
    session_ = session;
    everJoined_ = true;
    WorkerMetrics::add(worker_->counters().joins);
    logEvent(G_LOG_LEVEL_INFO, room_, peer_, "%s joined room %s as %s (%zu already there)", remote_.c_str(), room_.c_str(),
        peer_.c_str(), result.existing.size());
    protocol::Joined joined { room_, peer_, std::move(result.existing), server.iceServers().forPeer(peer_, g_get_real_time() / G_USEC_PER_SEC) };
    sendText(protocol::serialize(protocol::ServerMessage(std::move(joined))));
    if (!result.others.empty())
        worker_->deliverAll(result.others, protocol::serialize(protocol::ServerMessage(protocol::PeerJoined { peer_ })));
}

void Connection::resumeAfterMove()
{
    moving_ = false;
    if (pendingJoin_) {
        pendingJoin_ = false;
        std::string room = std::move(room_);
        std::optional<std::string> peer;
        if (pendingPeer_)
            peer = std::move(peer_);
        room_.clear();
        peer_.clear();
        if (state_ == State::Open)
            joinRoom(std::move(room), std::move(peer), true);
        else
            worker_->server().rooms().release(room);
    }
    // What arrived behind the join, in order; then whatever the socket (or
    // the TLS layer, where epoll cannot see it) holds.
    if (!in_.empty() && state_ == State::Open && !moving_) {
        std::string rest;
        rest.swap(in_);
        consume(reinterpret_cast<uint8_t*>(rest.data()), rest.size());
    }
    if (state_ != State::Dead && !moving_)
        onReadable();
    if (state_ != State::Dead && outOffset_ < out_.size())
        worker_->markDirty(this);
}

void Connection::abandonPendingJoin()
{
    if (!pendingJoin_)
        return;
    worker_->server().rooms().release(room_);
    pendingJoin_ = false;
    moving_ = false;
}

void Connection::onLeave()
{
    leaveRoom("left");
}

void Connection::leaveRoom(const char* why)
{
    if (!session_)
        return;
    auto others = worker_->server().rooms().leave(room_, peer_);
    WorkerMetrics::add(worker_->counters().leaves);
    logEvent(G_LOG_LEVEL_INFO, room_, peer_, "%s left room %s (%s)", peer_.c_str(), room_.c_str(), why);
    if (!others.empty())
        worker_->deliverAll(others, protocol::serialize(protocol::ServerMessage(protocol::PeerLeft { peer_ })));
    session_ = 0;
}

void Connection::deliver(uint64_t session, std::string_view text)
{
    if (state_ == State::Open && session == session_)
        sendText(text);
}

void Connection::sendText(std::string_view json)
{
    if (state_ != State::Open)
        return;
    ws::appendFrame(out_, ws::Opcode::Text, json);
    worker_->markDirty(this);
}

void Connection::sendError(ErrorCode code, std::string message, std::optional<std::string> ref)
{
    WorkerMetrics::add(worker_->counters().errors[static_cast<size_t>(code)]);
    g_debug("error to %s (%s): %s: %s", remote_.c_str(), peer_.c_str(), protocol::errorCodeName(code), message.c_str());
    sendText(protocol::serialize(protocol::ServerMessage(protocol::Error { code, std::move(message), std::move(ref) })));
}

void Connection::tooLarge()
{
    sendError(ErrorCode::TooLarge, "the message is larger than " + std::to_string(worker_->server().config().maxFrameSize) + " bytes",
        std::nullopt);
    close(kCloseTooLarge, "message too large");
}

void Connection::protocolError(uint16_t code, const char* why)
{
    g_debug("failing %s with %u: %s", remote_.c_str(), code, why);
    failing_ = true;
    if (state_ == State::Open)
        close(code, why);
    else
        worker_->markDirty(this); // our close frame is queued or out: flush() shuts down
}

void Connection::close(uint16_t code, std::string_view reason)
{
    if (state_ != State::Open)
        return;
    abandonPendingJoin();
    leaveRoom("closed by the server");
    ws::appendCloseFrame(out_, code, reason);
    state_ = State::Closing;
    worker_->addCloseDeadline(this);
    worker_->markDirty(this);
}

void Connection::drop(const char* why)
{
    if (state_ == State::Dead)
        return;
    g_debug("dropping %s (%s): %s", remote_.c_str(), peer_.c_str(), why);
    teardown();
}

void Connection::sendPing()
{
    if (state_ != State::Open)
        return;
    ws::appendFrame(out_, ws::Opcode::Ping, {});
    worker_->markDirty(this);
}

void Connection::onJoinDeadline()
{
    if (state_ == State::Open && !everJoined_) {
        logEvent(G_LOG_LEVEL_INFO, "", "", "closing %s: no join within the join timeout", remote_.c_str());
        close(kClosePolicy, "join timeout");
    }
}

void Connection::onCloseDeadline()
{
    if (state_ == State::Closing)
        teardown();
}

void Connection::flush()
{
    queuedDirty_ = false;
    while (state_ != State::Dead && outOffset_ < out_.size()) {
        const char* data = out_.data() + outOffset_;
        size_t length = out_.size() - outOffset_;
        ssize_t written;
        if (tlsStream_) {
            GOutputStream* output = g_io_stream_get_output_stream(tlsStream_.get());
            GUnique<GError> error;
            written = g_pollable_output_stream_write_nonblocking(G_POLLABLE_OUTPUT_STREAM(output), data, length, nullptr, error.outPtr());
            if (written < 0) {
                if (!g_error_matches(error.get(), G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK)) {
                    drop("TLS write failed");
                    return;
                }
                written = 0;
            }
        } else {
            written = ::send(fd_, data, length, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (written < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                    drop("write failed");
                    return;
                }
                written = 0;
            }
        }
        if (written == 0) {
            if (out_.size() - outOffset_ > kMaxPendingOutput) {
                drop("the peer reads too slowly");
                return;
            }
            if (!wantWrite_) {
                wantWrite_ = true;
                worker_->setWantWrite(this, true);
            }
            return;
        }
        outOffset_ += static_cast<size_t>(written);
    }
    if (state_ == State::Dead)
        return;
    out_.clear();
    outOffset_ = 0;
    if (out_.capacity() > 16384)
        std::string().swap(out_);
    if (wantWrite_) {
        wantWrite_ = false;
        worker_->setWantWrite(this, false);
    }
    // Closing handshake complete on both sides: close the socket.
    if (state_ == State::Closing && closeReceived_ && !failing_) {
        teardown();
        return;
    }
    // Failing the connection: the close frame is out, so TCP closes now
    // (FIN); the descriptor stays until the peer's end of stream (or the
    // close deadline), its bytes discarded.
    if (state_ == State::Closing && failing_ && !shutDown_) {
        shutDown_ = true;
        ::shutdown(fd_, SHUT_WR);
    }
}

void Connection::onWritable()
{
    flush();
}

void Connection::teardown()
{
    if (state_ == State::Dead)
        return;
    abandonPendingJoin();
    leaveRoom("disconnected");
    state_ = State::Dead;
    worker_->retire(this);
}

} // namespace palaver::server
