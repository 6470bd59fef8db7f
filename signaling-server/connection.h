// One WebSocket client of the server: RFC 6455 framing over a raw socket
// (or a TLS stream), and the peer's protocol state (room, id, rate limit).
// Touched only by the thread of the worker that serves it: the one that
// accepted it, then the one that owns its room (worker.h).
#pragma once

#include "gref.h"
#include "messages.h"
#include "websocket.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

namespace palaver::server {

class Worker;
enum class RelayType;

class Connection {
public:
    // `fd` is polled by the worker's epoll. Plain connections own `fd` and
    // read and write it directly; TLS ones go through `tlsStream` (which owns
    // the socket) and `fd` is only for polling.
    Connection(Worker& worker, uint64_t id, int fd, GRef<GIOStream> tlsStream, std::string remote);
    ~Connection();
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    uint64_t id() const { return id_; }
    int fd() const { return fd_; }
    bool isDead() const { return state_ == State::Dead; }
    bool isOpen() const { return state_ == State::Open; }
    bool hasJoinedOnce() const { return everJoined_; }
    // Handed to its room's worker at the end of this dispatch (worker.h).
    bool isMoving() const { return moving_; }
    int64_t lastSeen() const { return lastSeen_; }

    // Bytes the HTTP layer had already read past the upgrade request.
    void start(std::string_view early);
    void onReadable();
    void onWritable();
    // Writes what is queued; at most one syscall round per call.
    void flush();

    // A message routed to this peer while in join session `session`.
    void deliver(uint64_t session, std::string_view text);
    // Starts the closing handshake (close frame now, socket closed when the
    // peer answers or after 5 s). Leaves the room at once.
    void close(uint16_t code, std::string_view reason);
    // Tears down without a handshake (dead peer, socket error).
    void drop(const char* why);
    void sendPing();
    // Fired by the worker's deadline queues.
    void onJoinDeadline();
    void onCloseDeadline();
    // On the worker it was handed to: joins the room it came for, then
    // goes on with the bytes it had read past the join.
    void resumeAfterMove();
    // Gives up the room held for a join on its way to another worker.
    void abandonPendingJoin();

private:
    enum class State : uint8_t { Open, Closing, Dead };

    bool readSome(size_t& n, bool& eof);
    void consume(uint8_t* data, size_t length);
    size_t processFrames(uint8_t* data, size_t length);
    void handleFrame(const ws::FrameHeader& header, uint8_t* payload);
    void handleMessage(ws::Opcode opcode, std::string_view data);
    void handleText(std::string_view text);
    void onJoin(protocol::Join& join);
    void joinRoom(std::string room, std::optional<std::string> peer, bool reserved);
    void onLeave();
    template<typename Build>
    void relay(RelayType type, const std::optional<std::string>& to, Build&& build);
    bool allowFrame(); // the token bucket
    void tooLarge();
    void protocolError(uint16_t code, const char* why);

    void sendText(std::string_view json);
    void sendError(protocol::ErrorCode code, std::string message, std::optional<std::string> ref);
    void leaveRoom(const char* why);
    void teardown();

    // Small fields first, together: 10,000 idle connections cost their
    // padding too.
    Worker* worker_; // changes when the connection moves to its room's worker
    const uint64_t id_;
    int fd_;
    State state_ = State::Open;
    bool closeReceived_ = false;
    // RFC 6455 7.1.7, failing the connection (a protocol error): nothing
    // more is processed; our side of TCP is shut as soon as the close frame
    // (and what was queued before it) is out, and what the peer still
    // sends is read and discarded until it closes, so that unread bytes
    // never turn our close into a reset.
    bool failing_ = false;
    bool shutDown_ = false;
    bool wantWrite_ = false;
    // A join for a room owned by another worker: no more frames are
    // processed here (what was read stays in in_) until that worker has
    // the connection and has joined it (resumeAfterMove).
    bool moving_ = false;
    // The room held for the join on its way (in room_, with the peer id
    // asked for in peer_ if pendingPeer_): no allocation per move, whose
    // leftovers in the first worker's heap cost idle connections RSS.
    bool pendingJoin_ = false;
    bool pendingPeer_ = false;
    bool queuedDirty_ = false;
    bool everJoined_ = false;
    ws::Opcode fragmentOpcode_ = ws::Opcode::Continuation; // fragments_ being joined; Continuation: none
    GRef<GIOStream> tlsStream_;
    std::string remote_;
    int64_t joinDeadline_ = 0; // monotonic µs; 0: none
    size_t keepaliveIndex_ = 0; // position in the worker's keepalive slot (id % ticks)

    // Framing.
    std::string in_;          // an incomplete frame, and only that
    uint64_t skip_ = 0;       // payload bytes still to discard (refused frame)
    std::string fragments_;   // a fragmented message being joined
    std::string out_;
    size_t outOffset_ = 0;

    // Protocol.
    std::string room_;
    std::string peer_;
    uint64_t session_ = 0;    // 0: not in a room
    int64_t lastSeen_ = 0;

    // Token bucket (docs/protocol.md "Rate limit").
    double tokens_ = 0;
    int64_t refilledAt_ = 0;
    int64_t rateErrorAt_ = -1;
    struct DropHistory;       // allocated on the first drop only
    std::unique_ptr<DropHistory> drops_;

    friend class Worker;
};

} // namespace palaver::server
