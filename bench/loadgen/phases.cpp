#include "phases.h"

#include <arpa/inet.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#include "clock.h"

namespace loadgen {

namespace {

// A realistic host candidate of ~115 bytes. Its foundation (1 to 32 ICE
// characters) carries the send time as 19 digits, so the server relays the
// timestamp byte for byte like any candidate string.
constexpr std::string_view kCandidateHead = R"({"type":"ice-candidate","candidate":"candidate:)";
constexpr std::string_view kCandidateTail =
    R"( 1 udp 2122260223 192.168.1.23 54321 typ host generation 0 ufrag EsAw network-id 1 network-cost 10","sdpMLineIndex":0,"sdpMid":"0"})";
constexpr std::string_view kMarker = "candidate:";

void sleepUntil(int64_t ns)
{
    timespec ts { time_t(ns / kNsPerSec), long(ns % kNsPerSec) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr) == EINTR) {
    }
}

void waitForGo(Schedule &schedule)
{
    while (!schedule.go.load(std::memory_order_acquire))
        usleep(200);
}

bool peersListHas(std::string_view json, std::string_view id)
{
    auto p = json.find("\"peers\"");
    if (p == std::string_view::npos)
        return false;
    auto end = json.find(']', p);
    std::string quoted = "\"" + std::string(id) + "\"";
    auto q = json.find(quoted, p);
    return q != std::string_view::npos && q < end;
}

} // namespace

std::vector<sockaddr_in> sourceAddresses(const Options &options)
{
    std::vector<sockaddr_in> sources;
    // Only on loopback, where all of 127/8 is local: more source addresses
    // mean more ephemeral ports for the 10,000 idle connections and for
    // churn's TIME_WAIT sockets.
    uint32_t dst = ntohl(options.target.addr.sin_addr.s_addr);
    if ((dst >> 24) != 127)
        return sources;
    for (int i = 0; i < options.sourceIps; i++) {
        sockaddr_in a {};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl((127u << 24) + 2 + uint32_t(i));
        sources.push_back(a);
    }
    return sources;
}

std::string_view jsonString(std::string_view json, std::string_view quotedKey)
{
    size_t from = 0;
    for (;;) {
        auto p = json.find(quotedKey, from);
        if (p == std::string_view::npos)
            return {};
        from = p + 1;
        if (p > 0 && json[p - 1] == '\\')
            continue;  // inside an escaped string, e.g. an error's message
        p += quotedKey.size();
        while (p < json.size() && (json[p] == ' ' || json[p] == '\t' || json[p] == '\n'))
            p++;
        if (p >= json.size() || json[p] != ':')
            continue;
        p++;
        while (p < json.size() && (json[p] == ' ' || json[p] == '\t' || json[p] == '\n'))
            p++;
        if (p >= json.size() || json[p] != '"')
            continue;
        p++;
        auto end = json.find('"', p);
        if (end == std::string_view::npos)
            return {};
        return json.substr(p, end - p);
    }
}

// ---------------------------------------------------------------- RelayLoad

RelayLoad::RelayLoad(const Options &options, Mode mode, int threadIndex, std::vector<int> rooms,
    double rate, Schedule &schedule)
    : options_(options), mode_(mode), threadIndex_(threadIndex), rate_(rate), schedule_(schedule)
{
    for (int room : rooms) {
        for (int side = 0; side < 2; side++) {
            auto peer = std::make_unique<Peer>();
            peer->conn = std::make_unique<WsConnection>(reactor_, *this);
            peer->conn->index = uint32_t(peers_.size());
            peer->partner = uint32_t(peers_.size()) ^ 1u;
            peer->id = side ? "b" : "a";
            peer->partnerId = side ? "a" : "b";
            peer->room = options.tag + "-r" + std::to_string(room);
            peers_.push_back(std::move(peer));
        }
    }
}

void RelayLoad::noteError(std::string what)
{
    errors++;
    if (firstError.empty())
        firstError = std::move(what);
}

bool RelayLoad::allReady() const
{
    for (auto &p : peers_) {
        if (!p->joined || !p->partnerHere)
            return false;
    }
    return true;
}

void RelayLoad::onOpen(WsConnection &conn)
{
    Peer &peer = *peers_[conn.index];
    conn.sendText(R"({"type":"join","room":")" + peer.room + R"(","peer":")" + peer.id + R"("})");
}

void RelayLoad::sendCandidate(Peer &peer, int64_t now, bool defer)
{
    char buf[256];
    size_t n = 0;
    std::memcpy(buf, kCandidateHead.data(), kCandidateHead.size());
    n += kCandidateHead.size();
    char digits[20];
    auto res = std::to_chars(digits, digits + sizeof(digits), uint64_t(now));
    size_t len = size_t(res.ptr - digits);
    for (size_t i = len; i < 19; i++)
        buf[n++] = '0';
    std::memcpy(buf + n, digits, len);
    n += len;
    std::memcpy(buf + n, kCandidateTail.data(), kCandidateTail.size());
    n += kCandidateTail.size();
    peer.conn->sendText(std::string_view(buf, n), defer);
    peer.inflight++;
    sent++;
    if (now >= schedule_.measureStart && now < schedule_.measureEnd)
        sentInWindow++;
}

void RelayLoad::onText(WsConnection &conn, std::string_view payload)
{
    Peer &peer = *peers_[conn.index];
    std::string_view type = jsonString(payload, "\"type\"");
    if (type == "ice-candidate") {
        int64_t now = nowNs();
        if (jsonString(payload, "\"from\"") != peer.partnerId)
            noteError("ice-candidate with a wrong from: " + std::string(payload));
        auto p = payload.find(kMarker);
        uint64_t ts = 0;
        if (p != std::string_view::npos) {
            const char *b = payload.data() + p + kMarker.size();
            std::from_chars(b, payload.data() + payload.size(), ts);
        }
        received++;
        Peer &sender = *peers_[peer.partner];
        if (sender.inflight)
            sender.inflight--;
        if (mode_ == Mode::Flood && running_ && !sender.dirty) {
            sender.dirty = true;
            dirty_.push_back(peer.partner);
        }
        if (now >= schedule_.measureStart && now < schedule_.measureEnd) {
            deliveredInWindow++;
            latency.add(now - int64_t(ts));
            if (int64_t rx = conn.rxKernelNs())
                kernelLatency.add(rx - int64_t(ts));
        }
    } else if (type == "joined") {
        peer.joined = true;
        if (peersListHas(payload, peer.partnerId))
            peer.partnerHere = true;
    } else if (type == "peer-joined") {
        if (jsonString(payload, "\"peer\"") == peer.partnerId)
            peer.partnerHere = true;
    } else if (type == "peer-left") {
        // At the end the partner's close comes first; during the load it
        // means the server dropped a peer.
        peer.partnerHere = false;
        if (running_)
            noteError("unexpected peer-left: " + std::string(payload));
    } else if (type == "error") {
        noteError(std::string(payload));
    }
}

void RelayLoad::onClosed(WsConnection &conn, bool clean)
{
    if (running_)
        noteError(std::string("connection closed during the load") + (clean ? "" : " (no close handshake)") +
            (errno ? std::string(": ") + strerror(errno) : std::string()));
}

void RelayLoad::refill(int64_t now)
{
    for (uint32_t i : dirty_) {
        Peer &peer = *peers_[i];
        peer.dirty = false;
        uint32_t want = uint32_t(options_.window);
        // By default (refillAt = window - 1) every delivery is answered by a
        // new message at once, the classic closed loop. A lower refillAt sends
        // in batches (fewer writes and segments); measured here it made the
        // Node relay slower (86k against 110k msg/s), so it is not the default.
        if (peer.inflight > uint32_t(options_.refillAt) || !peer.conn->isOpen())
            continue;
        while (peer.inflight < want)
            sendCandidate(peer, now, true);
        peer.conn->flush();
    }
    dirty_.clear();
}

void RelayLoad::run()
{
    prctl(PR_SET_TIMERSLACK, 1UL);  // the fixed rate wakes every 100 µs or so
    auto sources = sourceAddresses(options_);
    size_t s = 0;
    for (auto &peer : peers_) {
        const sockaddr_in *src = sources.empty() ? nullptr : &sources[s++ % sources.size()];
        if (!peer->conn->connect(options_.target, src))
            noteError(std::string("connect: ") + strerror(errno));
    }
    int64_t deadline = nowNs() + 30 * kNsPerSec;
    while (!allReady() && nowNs() < deadline && errors == 0)
        reactor_.poll(10'000'000);
    if (!allReady()) {
        if (firstError.empty())
            firstError = "peers did not all join within 30 s";
        schedule_.failed = true;
        schedule_.ready++;
        return;
    }
    schedule_.ready++;
    waitForGo(schedule_);

    // Until go, the server had nothing to say; now the load.
    running_ = true;
    const int64_t t0 = schedule_.t0;
    const int64_t end = schedule_.measureEnd;
    sleepUntil(t0);
    if (mode_ == Mode::Flood) {
        for (uint32_t i = 0; i < peers_.size(); i++) {
            peers_[i]->dirty = true;
            dirty_.push_back(i);
        }
        refill(nowNs());
        while (nowNs() < end) {
            reactor_.poll(end - nowNs());
            int64_t now = nowNs();
            if (now < end)
                refill(now);
        }
    } else {
        // Message j of this thread is due at t0 + j / rate, from peer j mod P:
        // an even stream, not bursts per peer.
        const double interval = double(kNsPerSec) / rate_;
        uint64_t j = 0;
        int64_t due = t0;
        const size_t count = peers_.size();
        for (;;) {
            int64_t now = nowNs();
            if (now >= end)
                break;
            while (due <= now) {
                if (now >= schedule_.measureStart && now < end)
                    sendLag.add(now - due);
                sendCandidate(*peers_[j % count], now, false);
                j++;
                due = t0 + int64_t(double(j) * interval);
            }
            reactor_.poll(std::max<int64_t>(0, std::min(due, end) - nowNs()));
        }
    }
    running_ = false;

    // Let what is in flight arrive: what never does is lost.
    int64_t drainEnd = nowNs() + 2 * kNsPerSec;
    while (received < sent && nowNs() < drainEnd)
        reactor_.poll(10'000'000);

    for (auto &peer : peers_)
        peer->conn->close(1000);
    int64_t closeEnd = nowNs() + 2 * kNsPerSec;
    auto anyOpen = [this] {
        for (auto &peer : peers_) {
            if (peer->conn->state() != WsConnection::State::Closed)
                return true;
        }
        return false;
    };
    while (anyOpen() && nowNs() < closeEnd)
        reactor_.poll(10'000'000);
    for (auto &peer : peers_)
        peer->conn->abort();
}

// ---------------------------------------------------------------- ChurnLoad

ChurnLoad::ChurnLoad(const Options &options, int threadIndex, int workers, Schedule &schedule)
    : options_(options), threadIndex_(threadIndex), schedule_(schedule), sources_(sourceAddresses(options))
{
    workers_.resize(size_t(workers));
    for (size_t i = 0; i < workers_.size(); i++) {
        workers_[i].conn = std::make_unique<WsConnection>(reactor_, *this);
        workers_[i].conn->index = uint32_t(i);
        // Each worker has a room to itself: a join creates the room, the close
        // removes it, the server's full path for a peer that comes and goes.
        workers_[i].join = R"({"type":"join","room":")" + options.tag + "-c" + std::to_string(threadIndex) +
            "-" + std::to_string(i) + R"(","peer":"p"})";
    }
    nextSource_ = size_t(threadIndex) * 7;
}

void ChurnLoad::start(uint32_t index)
{
    Worker &w = workers_[index];
    w.joined = false;
    w.startNs = nowNs();
    const sockaddr_in *src = sources_.empty() ? nullptr : &sources_[nextSource_++ % sources_.size()];
    if (!w.conn->connect(options_.target, src)) {
        connectErrors++;
        if (firstError.empty())
            firstError = std::string("connect: ") + strerror(errno);
        restart_.push_back(index);
    }
}

void ChurnLoad::onOpen(WsConnection &conn)
{
    conn.sendText(workers_[conn.index].join);
}

void ChurnLoad::onText(WsConnection &conn, std::string_view payload)
{
    std::string_view type = jsonString(payload, "\"type\"");
    Worker &w = workers_[conn.index];
    if (type == "joined") {
        w.joined = true;
        conn.close(1000);
    } else if (type == "error") {
        errors++;
        if (firstError.empty())
            firstError = std::string(payload);
        conn.close(1000);
    }
}

void ChurnLoad::onClosed(WsConnection &conn, bool clean)
{
    Worker &w = workers_[conn.index];
    int64_t now = nowNs();
    if (w.joined && clean) {
        if (now >= schedule_.measureStart && now < schedule_.measureEnd) {
            cyclesInWindow++;
            cycleTime.add(now - w.startNs);
        }
    } else {
        failures++;
        if (firstError.empty())
            firstError = std::string("cycle failed: ") + (w.joined ? "no close handshake" : "closed before joined");
    }
    // Reconnected after poll() returns, never from inside the reactor.
    restart_.push_back(conn.index);
}

void ChurnLoad::run()
{
    schedule_.ready++;
    waitForGo(schedule_);
    sleepUntil(schedule_.t0);
    const int64_t end = schedule_.measureEnd;
    for (uint32_t i = 0; i < workers_.size(); i++)
        start(i);
    std::vector<uint32_t> again;
    while (nowNs() < end) {
        reactor_.poll(restart_.empty() ? std::min<int64_t>(10'000'000, std::max<int64_t>(0, end - nowNs())) : 0);
        again.swap(restart_);
        restart_.clear();
        if (nowNs() < end) {
            for (uint32_t i : again)
                start(i);
        }
        again.clear();
    }
    int64_t closeEnd = nowNs() + 3 * kNsPerSec;
    auto anyOpen = [this] {
        for (auto &w : workers_) {
            if (w.conn->state() != WsConnection::State::Closed)
                return true;
        }
        return false;
    };
    while (anyOpen() && nowNs() < closeEnd)
        reactor_.poll(10'000'000);
    for (auto &w : workers_)
        w.conn->abort();
}

// ---------------------------------------------------------------- IdleHold

IdleHold::IdleHold(const Options &options) : options_(options), sources_(sourceAddresses(options))
{
    conns_.resize(size_t(options.idleConns));
    for (size_t i = 0; i < conns_.size(); i++) {
        conns_[i].conn = std::make_unique<WsConnection>(reactor_, *this);
        conns_[i].conn->index = uint32_t(i);
    }
}

IdleHold::~IdleHold()
{
    stop();
}

void IdleHold::start()
{
    thread_ = std::thread([this] { run(); });
}

bool IdleHold::waitReady(double timeoutSec)
{
    int64_t deadline = nowNs() + int64_t(timeoutSec * double(kNsPerSec));
    while (!ready && !failed && nowNs() < deadline)
        usleep(1000);
    return ready;
}

void IdleHold::stop()
{
    stop_ = true;
    if (thread_.joinable())
        thread_.join();
}

void IdleHold::connectNext()
{
    while (pending_ < options_.connectConcurrency && next_ < conns_.size()) {
        size_t i = next_++;
        const sockaddr_in *src = sources_.empty() ? nullptr : &sources_[i % sources_.size()];
        pending_++;
        if (!conns_[i].conn->connect(options_.target, src)) {
            failures++;
            if (firstError.empty())
                firstError = std::string("connect: ") + strerror(errno);
            failed = true;
            return;
        }
    }
}

void IdleHold::settled(Conn &c)
{
    if (c.counted || !c.joined || !c.partnerHere)
        return;
    c.counted = true;
    pending_--;
    complete_++;
}

void IdleHold::onOpen(WsConnection &conn)
{
    // Rooms of two, like a real call waiting for nothing: i and i^1 pair up.
    uint32_t i = conn.index;
    conn.sendText(R"({"type":"join","room":")" + options_.tag + "-i" + std::to_string(i / 2) +
        R"(","peer":")" + ((i & 1) ? "b" : "a") + R"("})");
}

void IdleHold::onText(WsConnection &conn, std::string_view payload)
{
    Conn &c = conns_[conn.index];
    std::string_view type = jsonString(payload, "\"type\"");
    std::string_view partner = (conn.index & 1) ? "a" : "b";
    if (type == "joined") {
        c.joined = true;
        if (peersListHas(payload, partner))
            c.partnerHere = true;
        settled(c);
    } else if (type == "peer-joined") {
        c.partnerHere = true;
        settled(c);
    } else if (type == "peer-left") {
        peerLeft++;
    } else if (type == "error") {
        errors++;
        if (firstError.empty())
            firstError = std::string(payload);
    }
}

void IdleHold::onClosed(WsConnection &conn, bool clean)
{
    if (closing_)
        return;
    failures++;
    if (firstError.empty())
        firstError = std::string("idle connection closed by the server") + (clean ? " (close frame)" : "");
    if (!ready)
        failed = true;
}

void IdleHold::run()
{
    int64_t begin = nowNs();
    connectNext();
    const int total = int(conns_.size());
    while (!stop_ && !failed && complete_ < total) {
        reactor_.poll(10'000'000);
        connectNext();
    }
    openSec = double(nowNs() - begin) / double(kNsPerSec);
    if (complete_ == total)
        ready = true;
    else
        failed = true;
    // Held: only pings (answered by WsConnection) and peer-left wake us.
    while (!stop_)
        reactor_.poll(50'000'000);

    closing_ = true;
    for (auto &c : conns_)
        c.conn->close(1000);
    int64_t closeEnd = nowNs() + 5 * kNsPerSec;
    auto anyOpen = [this] {
        for (auto &c : conns_) {
            if (c.conn->state() != WsConnection::State::Closed)
                return true;
        }
        return false;
    };
    while (anyOpen() && nowNs() < closeEnd)
        reactor_.poll(10'000'000);
    for (auto &c : conns_)
        c.conn->abort();
}

} // namespace loadgen
