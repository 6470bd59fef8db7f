// One worker thread: its own GMainContext, a SoupServer on its own
// SO_REUSEPORT listening socket (HTTP, TLS, the WebSocket upgrade), and one
// epoll set for the WebSocket connections it owns.
//
// Threads: everything here runs on the worker's thread except post(),
// handOver(), requestShutdown() and metrics() reads.
//
// A room lives on one worker (room_registry.h), so a relayed message stays
// on one thread. A connection is served by the worker that accepted it
// until it joins a room owned by another worker; then, at the end of that
// dispatch, it is handed over whole (descriptor or TLS stream, what it had
// read past the join, what it still had to write) through the other
// worker's mailbox, and joins there. Messages for a connection from
// another worker (not expected while rooms stay on one worker, and
// counted) also come through the mailbox, in the order they were posted.
//
// Why epoll and not a GSource per connection: GLib polls every descriptor
// of a context on each wake-up, so with 10,000 quiet connections every
// relayed message would pay for all of them. One epoll descriptor in the
// context costs the same whatever the number of connections.
#pragma once

#include "gref.h"
#include "metrics.h"
#include "room_registry.h"
#include "signal_connection.h"
#include "source.h"

#include <libsoup/soup.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace palaver::server {

class Connection;
class Server;
class StaticFile;

class Worker {
public:
    Worker(Server& server, int index, GRef<GSocket> listenSocket);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    // Starts the thread and waits until its SoupServer accepts.
    bool start(std::string& error);
    // Any thread: close every WebSocket with 1001 and end the thread (at
    // most ~2 s later). joinThread() waits for it.
    void requestShutdown();
    void joinThread();

    // Any thread: a message for one of this worker's connections.
    void post(uint64_t connectionId, uint64_t session, std::string text);
    // Any thread: a connection coming to join a room this worker owns.
    // Returns it if this worker has stopped and cannot take it.
    std::unique_ptr<Connection> handOver(std::unique_ptr<Connection> connection);

    const WorkerMetrics& metrics() const { return metrics_; }

    // ---- Owner thread only ----
    Server& server() { return server_; }
    WorkerMetrics& counters() { return metrics_; }
    int64_t now() const { return now_; } // monotonic µs, refreshed per dispatch
    uint64_t newSession() { return ++sessionCounter_ * 64 + static_cast<uint64_t>(index_); }

    // Sends `text` to a peer wherever it lives.
    void deliver(const PeerRef& to, std::string text);
    void deliverAll(const std::vector<PeerRef>& to, const std::string& text);

    // A connection with output to write at the end of this dispatch.
    void markDirty(Connection* connection);
    // Hands `connection` to `to` once this dispatch ends (see above).
    void moveTo(Connection* connection, Worker* to);
    void setWantWrite(Connection* connection, bool want);
    // Forgets a connection; it is freed once the current dispatch ends.
    void retire(Connection* connection);
    void addCloseDeadline(Connection* connection);
    // A static file request answered or given up (static_file.h); frees it.
    void staticFileDone(StaticFile* file);
    // The shared read buffer (connections only keep what a partial frame needs).
    uint8_t* readBuffer() { return readBuffer_.get(); }
    static constexpr size_t kReadBufferSize = 64 * 1024;

private:
    struct Delivery {
        uint64_t connectionId;
        uint64_t session;
        std::string text;
    };
    // Deadlines that are all the same distance from their start are kept in
    // FIFO order, so one timer for the head serves them all. (A join
    // deadline that comes with a moved connection is older: it is put in
    // its place, addJoinDeadline.)
    struct DeadlineQueue {
        void (Connection::*expire)(); // called on each connection whose deadline passed
        const char* name;             // of the timer, for debugging
        std::deque<std::pair<int64_t, uint64_t>> entries; // (deadline µs, connection id)
        Source timer;                 // due with the head entry
    };

    void run(std::promise<std::string>* started);
    bool setUp(std::string& error);
    void tearDown();

    // SoupServer handlers.
    static void handleRequest(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer self);
    void onRequest(SoupServerMessage* msg, const char* path);
    void onWebSocketRequest(SoupServerMessage* msg);
    void onUpgradeWritten(SoupServerMessage* msg);
    void serveFile(SoupServerMessage* msg, const char* path);

    void adoptConnection(SoupServerMessage* msg, GIOStream* stream);
    // Makes `connection` this worker's (epoll, keepalive, the map); null
    // (and it is freed, its hold given back) if epoll refuses it.
    Connection* attach(std::unique_ptr<Connection> connection);
    std::unique_ptr<Connection> detach(Connection* connection);
    void sendDepartures();
    void receive(std::unique_ptr<Connection> connection);
    void addJoinDeadline(Connection* connection, int64_t at);
    Connection* find(uint64_t id);

    // The epoll GSource.
    static gboolean dispatchEpoll(GSource*, GSourceFunc, gpointer);
    void onEpoll();
    void drainMailbox();
    void endOfDispatch(); // flush dirty connections, free retired ones

    void armDeadline(DeadlineQueue& queue);
    void fireDeadlines(DeadlineQueue& queue);
    int64_t onKeepalive(); // returns when the next tick is due
    void keepaliveAdd(Connection* connection);
    void keepaliveRemove(Connection* connection);
    bool keepaliveCheck(Connection* connection, uint64_t tick, int64_t tickAt);
    void beginShutdown();
    void onShutdownTimeout();
    void updateNow();

    Server& server_;
    const int index_;
    GRef<GSocket> listenSocket_;
    std::thread thread_;

    // Owned by the worker thread once started.
    GRef<GMainContext> context_;
    GRef<GMainLoop> loop_;
    GRef<SoupServer> soup_;
    Source epollSource_;
    // Keepalive, spread over the interval (see worker.cpp): keepaliveTicks_
    // ticks per --keepalive, kept by the clock; tick t pings slot
    // t % keepaliveTicks_ and looks again at the suspects due then.
    Source keepaliveTimer_;         // due at keepaliveDueAt_
    uint64_t keepaliveTicks_ = 0;   // ticks per interval; 0: keepalive off
    int64_t keepaliveTickUs_ = 0;   // interval / ticks
    uint64_t keepaliveTick_ = 0;    // ticks so far
    int64_t keepaliveDueAt_ = 0;    // when tick keepaliveTick_ is due (monotonic µs)
    int64_t keepaliveLimitUs_ = 0;  // two intervals
    std::vector<std::vector<Connection*>> keepaliveSlots_;  // [id % ticks]: open and closing connections
    std::vector<std::vector<uint64_t>> keepaliveSuspects_;  // [tick % ticks]: ids whose silence limit ends before that tick
    Source shutdownTimer_;
    int epollFd_ = -1;
    int mailboxFd_ = -1; // eventfd
    int descriptorsErrno_ = 0; // why they could not be made
    std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
    std::unordered_map<SoupServerMessage*, SignalConnection> pendingUpgrades_;
    std::vector<Connection*> dirty_;
    std::vector<std::pair<Connection*, Worker*>> departing_; // sent at the end of the dispatch
    std::vector<std::unique_ptr<Connection>> retired_;
    // GETs of files below --web-root, each until its last GIO callback.
    std::unordered_map<StaticFile*, std::unique_ptr<StaticFile>> staticFiles_;
    DeadlineQueue joinDeadlines_;
    DeadlineQueue closeDeadlines_;
    std::unique_ptr<uint8_t[]> readBuffer_;
    uint64_t sessionCounter_ = 0;
    int64_t now_ = 0;
    bool shuttingDown_ = false;

    // mailboxMutex_ guards mailbox_, arrivals_, shutdownRequested_ and
    // stopped_; a leaf lock.
    std::mutex mailboxMutex_;
    std::vector<Delivery> mailbox_;
    std::vector<std::unique_ptr<Connection>> arrivals_;
    bool shutdownRequested_ = false;
    bool shutdownPending_ = false; // owner thread: seen in the mailbox, begun after the event walk
    bool stopped_ = false; // the thread is past its last dispatch: no arrivals

    WorkerMetrics metrics_;
};

} // namespace palaver::server
