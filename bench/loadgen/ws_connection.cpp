#include "ws_connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "clock.h"

namespace loadgen {

bool parseUrl(const std::string &url, Target &target, std::string &error)
{
    const std::string scheme = "ws://";
    if (url.rfind(scheme, 0) != 0) {
        error = "only ws:// URLs are supported: " + url;
        return false;
    }
    std::string rest = url.substr(scheme.size());
    auto slash = rest.find('/');
    std::string hostPort = rest.substr(0, slash);
    target.path = slash == std::string::npos ? "/" : rest.substr(slash);
    auto colon = hostPort.rfind(':');
    std::string host = colon == std::string::npos ? hostPort : hostPort.substr(0, colon);
    std::string port = colon == std::string::npos ? "80" : hostPort.substr(colon + 1);
    target.host = hostPort;

    addrinfo hints {};
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo *res = nullptr;
    int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res);
    if (rc != 0 || !res) {
        error = "cannot resolve " + hostPort + ": " + gai_strerror(rc);
        return false;
    }
    std::memcpy(&target.addr, res->ai_addr, sizeof(target.addr));
    freeaddrinfo(res);
    return true;
}

Reactor::Reactor()
    : epfd_(epoll_create1(EPOLL_CLOEXEC)), scratch_(256 * 1024), events_(512)
{
}

Reactor::~Reactor()
{
    ::close(epfd_);
}

int Reactor::poll(int64_t timeoutNs)
{
    timespec ts;
    timespec *timeout = nullptr;
    if (timeoutNs >= 0) {
        ts.tv_sec = timeoutNs / kNsPerSec;
        ts.tv_nsec = timeoutNs % kNsPerSec;
        timeout = &ts;
    }
    int n = epoll_pwait2(epfd_, events_.data(), int(events_.size()), timeout, nullptr);
    for (int i = 0; i < n; i++)
        static_cast<WsConnection *>(events_[i].data.ptr)->handleEvents(events_[i].events);
    return n;
}

WsConnection::WsConnection(Reactor &reactor, WsHandler &handler)
    : reactor_(reactor), handler_(handler), maskSeed_(uint32_t(uintptr_t(this) >> 4) | 1)
{
}

WsConnection::~WsConnection()
{
    if (fd_ >= 0)
        ::close(fd_);
}

bool WsConnection::connect(const Target &target, const sockaddr_in *source)
{
    in_.clear();
    out_.clear();
    outOff_ = 0;
    fragments_.clear();
    events_ = 0;
    closeReceived_ = false;

    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd_ < 0)
        return false;
    // Browsers and ws disable Nagle on WebSocket sockets; small signaling
    // messages would otherwise wait for ACKs.
    int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    setsockopt(fd_, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one));
    if (source) {
        // Lets connect() pick the port per destination, so each source
        // address has the whole ephemeral range for this server.
        setsockopt(fd_, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        if (bind(fd_, reinterpret_cast<const sockaddr *>(source), sizeof(*source)) < 0) {
            int err = errno;
            ::close(fd_);
            fd_ = -1;
            errno = err;
            return false;
        }
    }
    if (::connect(fd_, reinterpret_cast<const sockaddr *>(&target.addr), sizeof(target.addr)) < 0 &&
        errno != EINPROGRESS) {
        int err = errno;
        ::close(fd_);
        fd_ = -1;
        errno = err;
        return false;
    }
    // The key is fixed: the server only checks its form, and the answer's
    // Sec-WebSocket-Accept is not checked here either (101 is enough).
    out_ = "GET " + target.path + " HTTP/1.1\r\nHost: " + target.host +
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    state_ = State::Connecting;
    epoll_event ev {};
    ev.events = EPOLLIN | EPOLLOUT;
    ev.data.ptr = this;
    epoll_ctl(reactor_.fd(), EPOLL_CTL_ADD, fd_, &ev);
    events_ = ev.events;
    return true;
}

void WsConnection::setEvents(uint32_t events)
{
    if (events == events_ || fd_ < 0)
        return;
    epoll_event ev {};
    ev.events = events;
    ev.data.ptr = this;
    epoll_ctl(reactor_.fd(), EPOLL_CTL_MOD, fd_, &ev);
    events_ = events;
}

void WsConnection::appendFrame(uint8_t opcode, std::string_view payload)
{
    uint8_t header[14];
    size_t h = 0;
    header[h++] = 0x80 | opcode;
    size_t len = payload.size();
    if (len < 126) {
        header[h++] = 0x80 | uint8_t(len);
    } else if (len < 65536) {
        header[h++] = 0x80 | 126;
        header[h++] = uint8_t(len >> 8);
        header[h++] = uint8_t(len);
    } else {
        header[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            header[h++] = uint8_t(uint64_t(len) >> (8 * i));
    }
    // Client frames must be masked (RFC 6455 5.3); xorshift32 gives a fresh
    // key per frame at no cost.
    uint32_t x = maskSeed_;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    maskSeed_ = x;
    uint8_t key[4];
    std::memcpy(key, &x, 4);
    std::memcpy(header + h, key, 4);
    h += 4;

    size_t start = out_.size();
    out_.append(reinterpret_cast<const char *>(header), h);
    out_.append(payload);
    char *p = out_.data() + start + h;
    uint64_t key8;
    uint8_t k8[8] = { key[0], key[1], key[2], key[3], key[0], key[1], key[2], key[3] };
    std::memcpy(&key8, k8, 8);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        std::memcpy(&w, p + i, 8);
        w ^= key8;
        std::memcpy(p + i, &w, 8);
    }
    for (; i < len; i++)
        p[i] ^= char(key[i & 3]);
}

void WsConnection::sendText(std::string_view payload, bool defer)
{
    if (state_ != State::Open)
        return;
    appendFrame(0x1, payload);
    if (!defer)
        flush();
}

void WsConnection::flush()
{
    if (fd_ < 0 || state_ == State::Connecting)
        return;
    while (outOff_ < out_.size()) {
        ssize_t n = send(fd_, out_.data() + outOff_, out_.size() - outOff_, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) {
                setEvents(EPOLLIN | EPOLLOUT);
                return;
            }
            finish(false);
            return;
        }
        outOff_ += size_t(n);
    }
    out_.clear();
    outOff_ = 0;
    setEvents(EPOLLIN);
}

void WsConnection::close(uint16_t code)
{
    if (state_ != State::Open && state_ != State::Handshake) {
        if (state_ == State::Connecting)
            abort();
        return;
    }
    if (state_ == State::Handshake) {
        abort();
        return;
    }
    char payload[2] = { char(code >> 8), char(code & 0xff) };
    appendFrame(0x8, std::string_view(payload, 2));
    state_ = State::Closing;
    flush();
}

void WsConnection::abort()
{
    if (fd_ >= 0)
        finish(false);
}

void WsConnection::finish(bool clean)
{
    if (fd_ < 0)
        return;
    ::close(fd_);  // also removes it from the epoll set
    fd_ = -1;
    generation_++;
    state_ = State::Closed;
    in_.clear();
    in_.shrink_to_fit();
    out_.clear();
    out_.shrink_to_fit();
    outOff_ = 0;
    handler_.onClosed(*this, clean);
}

void WsConnection::handleEvents(uint32_t events)
{
    if (fd_ < 0)
        return;  // closed earlier in this batch of events
    if (state_ == State::Connecting) {
        if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
            int err = 0;
            socklen_t len = sizeof(err);
            getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                errno = err;
                finish(false);
                return;
            }
            state_ = State::Handshake;
            flush();
        }
        return;
    }
    if (events & EPOLLOUT)
        flush();
    if (fd_ >= 0 && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
        onReadable();
}

bool WsConnection::parseHandshake()
{
    auto end = in_.find("\r\n\r\n");
    if (end == std::string::npos) {
        if (in_.size() < 8192)
            return true;  // wait for the rest of the headers
        finish(false);
        return false;
    }
    if (in_.compare(0, 12, "HTTP/1.1 101") != 0) {
        finish(false);
        return false;
    }
    in_.erase(0, end + 4);
    state_ = State::Open;
    const uint32_t generation = generation_;
    handler_.onOpen(*this);
    return generation == generation_;
}

void WsConnection::onReadable()
{
    std::vector<char> &buf = reactor_.scratch();
    for (;;) {
        iovec iov { buf.data(), buf.size() };
        alignas(cmsghdr) char control[CMSG_SPACE(sizeof(timespec))];
        msghdr msg {};
        msg.msg_iov = &iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control;
        msg.msg_controllen = sizeof(control);
        ssize_t n = recvmsg(fd_, &msg, 0);
        rxKernelNs_ = 0;
        for (cmsghdr* c = CMSG_FIRSTHDR(&msg); n > 0 && c; c = CMSG_NXTHDR(&msg, c)) {
            if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_TIMESTAMPNS)
                continue;
            timespec rx;
            std::memcpy(&rx, CMSG_DATA(c), sizeof(rx));
            // The stamp is CLOCK_REALTIME: moved onto CLOCK_MONOTONIC by
            // the two clocks' offset now.
            timespec real;
            clock_gettime(CLOCK_REALTIME, &real);
            int64_t mono = nowNs();
            int64_t offset = (int64_t(real.tv_sec) * kNsPerSec + real.tv_nsec) - mono;
            rxKernelNs_ = int64_t(rx.tv_sec) * kNsPerSec + rx.tv_nsec - offset;
        }
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN)
                return;
            finish(closeReceived_);
            return;
        }
        if (n == 0) {
            finish(closeReceived_);
            return;
        }
        if (state_ == State::Handshake) {
            in_.append(buf.data(), size_t(n));
            if (!parseHandshake() || state_ == State::Handshake)
                return;
            std::string pending;
            pending.swap(in_);
            size_t used = parseFrames(pending.data(), pending.size());
            if (used == SIZE_MAX)
                return;
            in_.assign(pending, used);
        } else if (in_.empty()) {
            size_t used = parseFrames(buf.data(), size_t(n));
            if (used == SIZE_MAX)
                return;
            in_.assign(buf.data() + used, size_t(n) - used);
        } else {
            in_.append(buf.data(), size_t(n));
            std::string pending;
            pending.swap(in_);
            size_t used = parseFrames(pending.data(), pending.size());
            if (used == SIZE_MAX)
                return;
            in_.assign(pending, used);
        }
        if (size_t(n) < buf.size())
            return;  // drained; a full buffer means there may be more
    }
}

size_t WsConnection::parseFrames(const char *data, size_t len)
{
    const uint32_t generation = generation_;
    size_t off = 0;
    while (len - off >= 2) {
        auto b0 = uint8_t(data[off]);
        auto b1 = uint8_t(data[off + 1]);
        bool fin = b0 & 0x80;
        uint8_t opcode = b0 & 0x0f;
        bool masked = b1 & 0x80;
        uint64_t plen = b1 & 0x7f;
        size_t h = 2;
        if (plen == 126) {
            if (len - off < 4)
                break;
            plen = (uint64_t(uint8_t(data[off + 2])) << 8) | uint8_t(data[off + 3]);
            h = 4;
        } else if (plen == 127) {
            if (len - off < 10)
                break;
            plen = 0;
            for (int i = 0; i < 8; i++)
                plen = (plen << 8) | uint8_t(data[off + 2 + i]);
            h = 10;
        }
        if (masked)
            h += 4;  // servers must not mask; tolerated anyway
        if (len - off < h + plen)
            break;
        std::string_view payload(data + off + h, size_t(plen));
        std::string unmasked;
        if (masked) {
            unmasked.assign(payload);
            for (size_t i = 0; i < unmasked.size(); i++)
                unmasked[i] ^= data[off + h - 4 + (i & 3)];
            payload = unmasked;
        }
        off += h + size_t(plen);

        switch (opcode) {
        case 0x1:  // text
            if (fin) {
                handler_.onText(*this, payload);
            } else {
                fragments_.assign(payload);
            }
            break;
        case 0x0:  // continuation
            fragments_.append(payload);
            if (fin) {
                std::string whole;
                whole.swap(fragments_);
                handler_.onText(*this, whole);
            }
            break;
        case 0x9:  // ping
            if (state_ == State::Open) {
                appendFrame(0xA, payload);
                flush();
            }
            break;
        case 0xA:  // pong
            break;
        case 0x8:  // close
            if (state_ == State::Open) {
                // Echo the code, as RFC 6455 5.5.1 asks.
                appendFrame(0x8, payload.substr(0, 2));
                state_ = State::Closing;
                flush();
            }
            // RFC 6455 7.1.1: the server closes TCP first (and keeps the
            // TIME_WAIT); a client waits for that EOF, as browsers do.
            closeReceived_ = true;
            break;
        default:  // binary or unknown: not expected from a signaling server
            break;
        }
        if (generation != generation_)
            return SIZE_MAX;  // ended (and maybe reconnected) in the handler
    }
    return off;
}

} // namespace loadgen
