#pragma once

#include <netinet/in.h>
#include <sys/epoll.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace loadgen {

class WsConnection;

// Where to connect: the server's address and the request line's path and Host.
struct Target {
    sockaddr_in addr {};
    std::string host;  // for the Host header, "HOST:PORT"
    std::string path;  // "/ws"
};

// Parses ws://HOST:PORT/PATH (IPv4 or a name that resolves to one).
bool parseUrl(const std::string &url, Target &target, std::string &error);

class WsHandler {
public:
    virtual ~WsHandler() = default;
    virtual void onOpen(WsConnection &conn) = 0;
    virtual void onText(WsConnection &conn, std::string_view payload) = 0;
    // The socket is closed by now. `clean`: both close frames were exchanged
    // and the server then closed TCP. A handler
    // may connect() the same object again, but better after the reactor's
    // poll() returns.
    virtual void onClosed(WsConnection &conn, bool clean) = 0;
};

// One epoll instance, driven by one thread; every connection of that thread
// is registered here with its own address as the event's data.
class Reactor {
public:
    Reactor();
    ~Reactor();
    Reactor(const Reactor &) = delete;
    Reactor &operator=(const Reactor &) = delete;

    // Waits at most timeoutNs (< 0: no limit) and dispatches what is ready.
    int poll(int64_t timeoutNs);

    int fd() const { return epfd_; }
    // Reads land here first; only a frame cut by the end of a read is copied
    // into its connection, so 10,000 idle connections cost no big buffers.
    std::vector<char> &scratch() { return scratch_; }

private:
    int epfd_;
    std::vector<char> scratch_;
    std::vector<epoll_event> events_;
};

// A client WebSocket (RFC 6455) over a non-blocking TCP socket: the upgrade
// request, masked frames out, unmasked frames in, ping answered with pong,
// the close handshake. Text messages go to the handler; nothing is parsed
// beyond framing. Not movable: the reactor holds its address.
class WsConnection {
public:
    enum class State { Closed, Connecting, Handshake, Open, Closing };

    WsConnection(Reactor &reactor, WsHandler &handler);
    ~WsConnection();
    WsConnection(const WsConnection &) = delete;
    WsConnection &operator=(const WsConnection &) = delete;

    // Starts a connection; false (and errno) when the socket cannot even be
    // started, e.g. out of file descriptors or source ports.
    bool connect(const Target &target, const sockaddr_in *source);

    // Appends one masked text frame; writes it at once unless `defer`, then
    // flush() writes everything queued (one write for a batch of frames).
    void sendText(std::string_view payload, bool defer = false);
    void flush();

    // Sends a close frame; the connection ends when the server answers.
    void close(uint16_t code = 1000);
    // Closes the socket now, without handshake, and tells the handler.
    void abort();

    State state() const { return state_; }
    bool isOpen() const { return state_ == State::Open; }
    size_t queuedBytes() const { return out_.size() - outOff_; }

    void handleEvents(uint32_t events);

    uint32_t index = 0;  // free for the handler: which peer or worker this is

    // When the kernel received the bytes of the frame being handed to
    // onText (CLOCK_MONOTONIC ns; SO_TIMESTAMPNS of the last segment of
    // that read, so never earlier than the frame's real arrival), or 0.
    // Latency to here leaves out how late this process got to the frame.
    int64_t rxKernelNs() const { return rxKernelNs_; }

private:
    void setEvents(uint32_t events);
    void onWritable();
    void onReadable();
    // Consumes whole frames from data, returns how many bytes it used, or
    // SIZE_MAX when the connection ended meanwhile.
    size_t parseFrames(const char *data, size_t len);
    bool parseHandshake();
    void appendFrame(uint8_t opcode, std::string_view payload);
    void finish(bool clean);

    Reactor &reactor_;
    WsHandler &handler_;
    int fd_ = -1;
    int64_t rxKernelNs_ = 0;
    State state_ = State::Closed;
    uint32_t events_ = 0;
    std::string in_;        // an incomplete frame (or the HTTP response) so far
    std::string out_;       // frames not yet written
    size_t outOff_ = 0;
    std::string fragments_; // a fragmented text message being joined
    uint32_t maskSeed_;
    bool closeReceived_ = false;  // the server's close frame came; EOF next
    uint32_t generation_ = 0;  // counts ends, so a parse loop sees its socket go
};

} // namespace loadgen
