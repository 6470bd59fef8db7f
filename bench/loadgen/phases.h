#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "histogram.h"
#include "ws_connection.h"

namespace loadgen {

struct Options {
    Target target;
    pid_t pid = 0;
    std::string label = "server";
    int threads = 1;           // load threads (relay and churn phases)
    int rooms = 50;            // relay phases: rooms of 2 peers
    double rate = 10000;       // throughput-fixed: messages per second, all peers together
    int window = 64;           // throughput-max: messages in flight per peer
    int refillAt = 1 << 30;    // throughput-max: top up when in flight <= this (clamped to window - 1)
    double warmupSec = 1;
    double durationSec = 5;
    int idleConns = 10000;     // idle and combined phases
    int workers = 32;          // churn: parallel connect-join-close loops
    double settleSec = 2;      // idle: wait before reading RSS
    int sourceIps = 16;        // loopback source addresses 127.0.0.2.. (0: let the kernel pick)
    int connectConcurrency = 256;
    std::string tag;           // prefix of room ids, unique per run
};

// Source addresses to spread connections over (empty: none bound).
std::vector<sockaddr_in> sourceAddresses(const Options &options);

// Start line shared by the load threads of one measurement.
struct Schedule {
    std::atomic<int> ready { 0 };
    std::atomic<bool> failed { false };
    std::atomic<bool> go { false };
    int64_t t0 = 0;            // load starts
    int64_t measureStart = 0;  // after the warm-up
    int64_t measureEnd = 0;    // load stops
};

// Finds a JSON string member's value the cheap way (our own messages and the
// server's answers only; no escapes inside the values we look at).
std::string_view jsonString(std::string_view json, std::string_view quotedKey);

// R rooms x 2 peers relaying ice-candidate messages to each other, at a fixed
// total rate or as fast as a window of in-flight messages per peer allows.
// The send time (CLOCK_MONOTONIC ns) travels as the candidate's foundation.
class RelayLoad : public WsHandler {
public:
    enum class Mode { FixedRate, Flood };

    RelayLoad(const Options &options, Mode mode, int threadIndex, std::vector<int> rooms,
        double rate, Schedule &schedule);
    void run();

    uint64_t sent = 0, received = 0;
    uint64_t sentInWindow = 0, deliveredInWindow = 0;
    uint64_t errors = 0;       // error messages, wrong `from`, unexpected closes
    std::string firstError;
    Histogram latency;
    // The same to when the kernel had the frame (WsConnection::rxKernelNs):
    // the server's share without this process's own delay in reading it.
    Histogram kernelLatency;
    // FixedRate: how late each message of the window left against its due
    // time, i.e. whether this thread kept up with the rate.
    Histogram sendLag;

    void onOpen(WsConnection &conn) override;
    void onText(WsConnection &conn, std::string_view payload) override;
    void onClosed(WsConnection &conn, bool clean) override;

private:
    struct Peer {
        std::unique_ptr<WsConnection> conn;
        uint32_t partner = 0;
        std::string id, partnerId, room;
        bool joined = false, partnerHere = false, dirty = false;
        uint32_t inflight = 0;
    };

    void sendCandidate(Peer &peer, int64_t now, bool defer);
    void refill(int64_t now);
    void noteError(std::string what);
    bool allReady() const;

    const Options &options_;
    Mode mode_;
    int threadIndex_;
    double rate_;
    Schedule &schedule_;
    Reactor reactor_;
    std::vector<std::unique_ptr<Peer>> peers_;
    std::vector<uint32_t> dirty_;
    bool running_ = false;
};

// K workers, each looping connect -> join -> joined -> close handshake.
class ChurnLoad : public WsHandler {
public:
    ChurnLoad(const Options &options, int threadIndex, int workers, Schedule &schedule);
    void run();

    uint64_t cyclesInWindow = 0, failures = 0, errors = 0, connectErrors = 0;
    std::string firstError;
    Histogram cycleTime;  // connect() to the server's close frame

    void onOpen(WsConnection &conn) override;
    void onText(WsConnection &conn, std::string_view payload) override;
    void onClosed(WsConnection &conn, bool clean) override;

private:
    struct Worker {
        std::unique_ptr<WsConnection> conn;
        int64_t startNs = 0;
        bool joined = false;
        std::string join;
    };
    void start(uint32_t index);

    const Options &options_;
    int threadIndex_;
    Schedule &schedule_;
    Reactor reactor_;
    std::vector<Worker> workers_;
    std::vector<uint32_t> restart_;
    std::vector<sockaddr_in> sources_;
    size_t nextSource_ = 0;
};

// N connections joined two by two into rooms and left idle on a thread of
// their own, which answers the server's pings until stop().
class IdleHold : public WsHandler {
public:
    explicit IdleHold(const Options &options);
    ~IdleHold() override;

    void start();
    // Blocks until every connection is joined and sees its partner, or fails.
    bool waitReady(double timeoutSec);
    void stop();

    std::atomic<bool> ready { false };
    std::atomic<bool> failed { false };
    double openSec = 0;
    uint64_t failures = 0, errors = 0, peerLeft = 0;
    std::string firstError;

    void onOpen(WsConnection &conn) override;
    void onText(WsConnection &conn, std::string_view payload) override;
    void onClosed(WsConnection &conn, bool clean) override;

private:
    struct Conn {
        std::unique_ptr<WsConnection> conn;
        bool joined = false, partnerHere = false, counted = false;
    };
    void run();
    void connectNext();
    void settled(Conn &c);

    const Options &options_;
    Reactor reactor_;
    std::vector<Conn> conns_;
    std::vector<sockaddr_in> sources_;
    size_t next_ = 0;
    int pending_ = 0;   // started, not yet joined with partner
    int complete_ = 0;
    bool closing_ = false;
    std::atomic<bool> stop_ { false };
    std::thread thread_;
};

} // namespace loadgen
