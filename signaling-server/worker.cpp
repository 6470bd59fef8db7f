#include "worker.h"

#include "connection.h"
#include "server.h"
#include "static_file.h"
#include "web_response.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

namespace palaver::server {

using namespace palaver::protocol;

namespace {

constexpr int64_t kCloseGraceUs = 5 * G_USEC_PER_SEC;
constexpr std::chrono::milliseconds kShutdownGrace { 2000 };
// How long a stopping worker waits for static file reads to call back once
// cancelled. GIO cannot interrupt a read(2) or stat(2) already under way in
// its thread pool; a disk that does not answer within this is abandoned.
constexpr std::chrono::milliseconds kStaticFileDrain { 2000 };
// Keepalive. Pinging all of a worker's connections at once (one send() each:
// ~5,000 back to back with 10,000 idle connections on two workers, 120-150 ms,
// then 50-80 ms reading the pongs) stalls every relayed message behind the
// burst. So the interval is cut into ticks of about 50 ms (at least 8, at most
// 1024 per interval), and each tick pings one slot, the connections whose
// id % ticks is the tick's number: every connection is still pinged once per
// interval, always at the same phase, and a tick costs about
// connections / ticks sends (~60 per worker at --keepalive 4 in the
// benchmark: ~2 ms, not 150).
//
// The ticks follow the clock, not the number of times the timer fired: a
// busy worker dispatches its timer late, and counting firings would stretch
// every connection's ping period with the load. An idle peer only speaks
// when pinged, so a period stretched past two intervals would drop peers
// that answer every ping. A late timer catches up instead (one interval at
// most per dispatch).
constexpr double kKeepaliveTickSeconds = 0.05;
constexpr uint64_t kKeepaliveMinTicks = 8;
constexpr uint64_t kKeepaliveMaxTicks = 1024;

struct EpollSource {
    GSource base;
    Worker* worker;
};

void respond(SoupServerMessage* msg, guint status, const char* contentType, const std::string& body)
{
    soup_server_message_set_status(msg, status, nullptr);
    soup_server_message_set_response(msg, contentType, SOUP_MEMORY_COPY, body.data(), body.size());
}

} // namespace

Worker::Worker(Server& server, int index, GRef<GSocket> listenSocket)
    : server_(server)
    , index_(index)
    , listenSocket_(std::move(listenSocket))
    , joinDeadlines_ { &Connection::onJoinDeadline, "palaver-join-deadlines", {}, {} }
    , closeDeadlines_ { &Connection::onCloseDeadline, "palaver-close-deadlines", {}, {} }
{
    // Made now, not when the thread starts: workers that are already
    // running may hand connections to this one before it does.
    epollFd_ = epoll_create1(EPOLL_CLOEXEC);
    mailboxFd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (epollFd_ < 0 || mailboxFd_ < 0)
        descriptorsErrno_ = errno;
}

Worker::~Worker()
{
    joinThread();
    // Closed only now: until every worker has stopped, others may still
    // post here, and a reused descriptor number would get their wake-ups.
    if (epollFd_ >= 0)
        ::close(epollFd_);
    if (mailboxFd_ >= 0)
        ::close(mailboxFd_);
}

bool Worker::start(std::string& error)
{
    std::promise<std::string> started;
    auto result = started.get_future();
    thread_ = std::thread([this, &started] { run(&started); });
    error = result.get();
    return error.empty();
}

void Worker::joinThread()
{
    if (thread_.joinable())
        thread_.join();
}

void Worker::run(std::promise<std::string>* started)
{
    context_ = adopt(g_main_context_new());
    g_main_context_push_thread_default(context_.get());
    std::string error;
    bool ok = setUp(error);
    started->set_value(error);
    if (ok) {
        loop_ = adopt(g_main_loop_new(context_.get(), FALSE));
        g_main_loop_run(loop_.get());
    }
    tearDown();
    g_main_context_pop_thread_default(context_.get());
}

bool Worker::setUp(std::string& error)
{
    readBuffer_ = std::make_unique<uint8_t[]>(kReadBufferSize);
    if (epollFd_ < 0 || mailboxFd_ < 0) {
        error = std::string("cannot create the worker's event descriptors: ") + g_strerror(descriptorsErrno_);
        return false;
    }
    epoll_event ev {};
    ev.events = EPOLLIN;
    ev.data.ptr = nullptr; // the mailbox
    epoll_ctl(epollFd_, EPOLL_CTL_ADD, mailboxFd_, &ev);

    static GSourceFuncs funcs = { nullptr, nullptr, &Worker::dispatchEpoll, nullptr, nullptr, nullptr };
    GSource* source = g_source_new(&funcs, sizeof(EpollSource));
    reinterpret_cast<EpollSource*>(source)->worker = this;
    g_source_add_unix_fd(source, epollFd_, G_IO_IN);
    // GLib blocks a source that cannot recurse while it is dispatched, by
    // taking its descriptor out of the context's poll set and putting it
    // back, and each of those writes the context's wake-up eventfd: two
    // writes and a read per dispatch, three system calls per message at
    // everyday load. This source never iterates the context, so it need
    // not be blocked.
    g_source_set_can_recurse(source, TRUE);
    epollSource_ = Source::adopt(context_.get(), source, "palaver-epoll");

    GTlsCertificate* certificate = server_.tlsCertificate();
    soup_ = adopt(SOUP_SERVER(g_object_new(SOUP_TYPE_SERVER, "server-header", "palaver-server", "tls-certificate", certificate, nullptr)));
    soup_server_add_handler(soup_.get(), nullptr, &Worker::handleRequest, this, nullptr);
    GUnique<GError> gerror;
    if (!soup_server_listen_socket(soup_.get(), listenSocket_.get(), certificate ? SOUP_SERVER_LISTEN_HTTPS : SoupServerListenOptions(0),
            gerror.outPtr())) {
        error = std::string("cannot serve HTTP: ") + gerror->message;
        return false;
    }

    const Config& config = server_.config();
    if (config.keepalive > 0) {
        keepaliveTicks_ = std::clamp(static_cast<uint64_t>(std::llround(config.keepalive / kKeepaliveTickSeconds)), kKeepaliveMinTicks,
            kKeepaliveMaxTicks);
        keepaliveTickUs_ = std::max<int64_t>(1, std::llround(config.keepalive * G_USEC_PER_SEC / static_cast<double>(keepaliveTicks_)));
        keepaliveLimitUs_ = std::llround(2 * config.keepalive * G_USEC_PER_SEC);
        keepaliveSlots_.resize(keepaliveTicks_);
        keepaliveSuspects_.resize(keepaliveTicks_);
        // Due at a monotonic time in µs, not a GLib timeout: those count
        // whole milliseconds from each dispatch and so drift.
        keepaliveDueAt_ = g_get_monotonic_time() + keepaliveTickUs_;
        keepaliveTimer_ = Source::at(context_.get(), keepaliveDueAt_, [this] { return onKeepalive(); }, "palaver-keepalive");
    }
    updateNow();
    return true;
}

void Worker::tearDown()
{
    // Connections handed over from now on are closed by their sender. Any
    // still in the mailbox came to a worker whose thread failed to start
    // (others refuse them once shutdown is requested): dropped.
    std::vector<std::unique_ptr<Connection>> late;
    {
        std::lock_guard lock(mailboxMutex_);
        stopped_ = true;
        late.swap(arrivals_);
    }
    for (auto& c : late)
        c->abandonPendingJoin();
    late.clear();
    departing_.clear();
    keepaliveTimer_.cancel();
    shutdownTimer_.cancel();
    joinDeadlines_.timer.cancel();
    closeDeadlines_.timer.cancel();
    pendingUpgrades_.clear();
    // Whoever is still here (shutdown grace over) leaves its room first.
    std::vector<Connection*> remaining;
    for (auto& [id, c] : connections_)
        remaining.push_back(c.get());
    for (Connection* c : remaining)
        c->drop("worker stopping");
    dirty_.clear();
    retired_.clear();
    connections_.clear();
    // No more epoll dispatches: the drain below iterates this context, and
    // the mailbox and connections are gone.
    epollSource_.cancel();
    // Static file reads stop answering; disconnecting the server then lets
    // go of their messages. Each is freed by its own callback, which comes
    // (cancelled) from the thread pool: wait for those, within reason.
    for (auto& [raw, file] : staticFiles_)
        file->cancel();
    if (soup_)
        soup_server_disconnect(soup_.get());
    soup_.reset();
    if (!staticFiles_.empty()) {
        g_debug("worker %d: waiting for %zu cancelled static file read(s)", index_, staticFiles_.size());
        bool late = false;
        Source limit = Source::once(context_.get(), kStaticFileDrain, [&late] { late = true; });
        while (!staticFiles_.empty() && !late)
            g_main_context_iteration(context_.get(), TRUE);
        if (!staticFiles_.empty()) {
            // Their callbacks would use them, and would come only if this
            // context ran again, which it will not: leave them be.
            g_warning("worker %d: %zu static file read(s) still blocked in the disk; abandoned", index_, staticFiles_.size());
            for (auto& [raw, file] : staticFiles_)
                [[maybe_unused]] StaticFile* leaked = file.release();
            staticFiles_.clear();
        }
    }
    loop_.reset();
    // Let libsoup's pending closes and TLS close_notify finish.
    while (g_main_context_iteration(context_.get(), FALSE)) {
    }
}

void Worker::updateNow()
{
    now_ = g_get_monotonic_time();
}

// ---- HTTP ------------------------------------------------------------------

void Worker::handleRequest(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*, gpointer self)
{
    static_cast<Worker*>(self)->onRequest(msg, path);
}

void Worker::onRequest(SoupServerMessage* msg, const char* path)
{
    updateNow();
    const char* method = soup_server_message_get_method(msg);
    bool get = method == SOUP_METHOD_GET || g_strcmp0(method, "GET") == 0;
    bool head = g_strcmp0(method, "HEAD") == 0;
    if (shuttingDown_) {
        respond(msg, SOUP_STATUS_SERVICE_UNAVAILABLE, "text/plain", "shutting down\n");
        return;
    }
    if (g_strcmp0(path, "/ws") == 0) {
        onWebSocketRequest(msg);
        return;
    }
    if (g_strcmp0(path, "/healthz") == 0 || g_strcmp0(path, "/metrics") == 0) {
        if (!get && !head) {
            soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow", "GET, HEAD");
            respond(msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n");
            return;
        }
        if (path[1] == 'h')
            respond(msg, SOUP_STATUS_OK, "application/json", server_.healthJson());
        else
            respond(msg, SOUP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8", server_.metricsText());
        return;
    }
    if (get || head) {
        serveFile(msg, path);
        return;
    }
    respond(msg, SOUP_STATUS_NOT_FOUND, "text/plain", "not found\n");
}

void Worker::serveFile(SoupServerMessage* msg, const char* path)
{
    std::string relative = g_strcmp0(path, "/") == 0 ? std::string("/index.html") : std::string(path);
    // Only plain names: no "..", no hidden files. The compiled-in copy could
    // hold none anyway (web_gresource.py refuses them); checked for both.
    bool safe = relative.find("/.") == std::string::npos && relative.find('\\') == std::string::npos;
    if (!safe) {
        respond(msg, SOUP_STATUS_NOT_FOUND, "text/plain", "not found\n");
        return;
    }
    if (const WebContent* web = server_.web()) {
        // From memory: a lookup, then libsoup writes the binary's own bytes.
        const WebContent::File* file = web->find(relative);
        if (!file)
            respond(msg, SOUP_STATUS_NOT_FOUND, "text/plain", "not found\n");
        else if (!respondIfNotModified(msg, file->type, file->etag, web->lastModified(),
                     static_cast<goffset>(g_bytes_get_size(file->bytes.get()))))
            respondWebFile(msg, file->bytes.get(), file->type, file->etag, web->lastModified());
        return;
    }
    const std::string& root = server_.config().webRoot;
    // The disk is touched only from here on, and never on this thread.
    GUnique<char> file(g_build_filename(root.c_str(), relative.c_str(), nullptr));
    auto request = std::make_unique<StaticFile>(*this, msg, file.get());
    StaticFile* raw = request.get();
    staticFiles_.emplace(raw, std::move(request));
    raw->start();
}

void Worker::staticFileDone(StaticFile* file)
{
    staticFiles_.erase(file);
}

void Worker::onWebSocketRequest(SoupServerMessage* msg)
{
    GUnique<GError> error;
    // No extensions are offered: permessage-deflate costs CPU on every
    // relayed SDP for little gain on a signaling channel.
    if (!soup_websocket_server_check_handshake(msg, nullptr, nullptr, nullptr, error.outPtr())) {
        respond(msg, SOUP_STATUS_BAD_REQUEST, "text/plain", std::string("WebSocket upgrade required: ") + error->message + "\n");
        return;
    }
    soup_websocket_server_process_handshake(msg, nullptr, nullptr, nullptr, nullptr);
    pendingUpgrades_[msg] = connectSignal(msg, "wrote-informational", this, &Worker::onUpgradeWritten);
}

void Worker::onUpgradeWritten(SoupServerMessage* msg)
{
    updateNow();
    auto it = pendingUpgrades_.find(msg);
    if (it == pendingUpgrades_.end())
        return;
    pendingUpgrades_.erase(it);
    GRef<GIOStream> stream = adopt(soup_server_message_steal_connection(msg));
    if (stream)
        adoptConnection(msg, stream.get());
    endOfDispatch();
}

void Worker::adoptConnection(SoupServerMessage* msg, GIOStream* stream)
{
    auto* socket = static_cast<GSocket*>(g_object_get_data(G_OBJECT(stream), "GSocket"));
    if (!socket) {
        g_warning("upgraded connection has no socket; closing it");
        g_io_stream_close(stream, nullptr, nullptr);
        return;
    }
    // From the socket, not the message: libsoup logs a warning each time
    // it cannot get the address, and a client that has already reset the
    // connection makes it fail (libsoup tried once in the steal already).
    std::string remote;
    {
        GRef<GSocketAddress> address = adopt(g_socket_get_remote_address(socket, nullptr));
        if (!address) {
            g_debug("worker %d: the client closed the connection during the upgrade", index_);
            g_io_stream_close(stream, nullptr, nullptr);
            return;
        }
        if (G_IS_INET_SOCKET_ADDRESS(address.get())) {
            auto* inet = G_INET_SOCKET_ADDRESS(address.get());
            GUnique<char> host(g_inet_address_to_string(g_inet_socket_address_get_address(inet)));
            remote = std::string(host.get()) + ":" + std::to_string(g_inet_socket_address_get_port(inet));
        } else {
            remote = "?";
        }
    }

    // Bytes the client sent right behind its upgrade request may sit in
    // libsoup's input buffer, where epoll cannot see them: take them now.
    std::string early;
    GInputStream* input = g_io_stream_get_input_stream(stream);
    for (;;) {
        GUnique<GError> error;
        gssize n = g_pollable_input_stream_read_nonblocking(G_POLLABLE_INPUT_STREAM(input), readBuffer_.get(), kReadBufferSize, nullptr, error.outPtr());
        if (n <= 0)
            break;
        early.append(reinterpret_cast<char*>(readBuffer_.get()), static_cast<size_t>(n));
    }

    int fd;
    GRef<GIOStream> tls;
    if (server_.tlsCertificate()) {
        fd = g_socket_get_fd(socket);
        tls = GRef<GIOStream>(stream);
    } else {
        // A plain connection keeps only a descriptor: no GObjects per idle
        // peer. GLib made it non-blocking; the dup shares that flag.
        fd = fcntl(g_socket_get_fd(socket), F_DUPFD_CLOEXEC, 0);
        g_io_stream_close(stream, nullptr, nullptr);
        if (fd < 0) {
            g_warning("cannot take over the connection from %s: %s", remote.c_str(), g_strerror(errno));
            return;
        }
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

    uint64_t id = server_.newConnectionId();
    Connection* raw = attach(std::make_unique<Connection>(*this, id, fd, std::move(tls), remote));
    if (!raw)
        return;
    WorkerMetrics::add(metrics_.connectionsTotal);
    g_debug("worker %d: WebSocket connection %" G_GUINT64_FORMAT " from %s", index_, id, remote.c_str());

    if (double timeout = server_.config().joinTimeout; timeout > 0)
        addJoinDeadline(raw, now_ + static_cast<int64_t>(timeout * G_USEC_PER_SEC));
    raw->start(early);
}

Connection* Worker::attach(std::unique_ptr<Connection> connection)
{
    Connection* raw = connection.get();
    epoll_event ev {};
    ev.events = EPOLLIN | EPOLLRDHUP | (raw->wantWrite_ ? uint32_t(EPOLLOUT) : 0u);
    ev.data.ptr = raw;
    if (epoll_ctl(epollFd_, EPOLL_CTL_ADD, raw->fd(), &ev) < 0) {
        g_warning("cannot watch the connection from %s: %s", raw->remote_.c_str(), g_strerror(errno));
        raw->abandonPendingJoin();
        return nullptr;
    }
    connections_.emplace(raw->id(), std::move(connection));
    keepaliveAdd(raw);
    metrics_.connections.fetch_add(1, std::memory_order_relaxed);
    return raw;
}

std::unique_ptr<Connection> Worker::detach(Connection* connection)
{
    epoll_ctl(epollFd_, EPOLL_CTL_DEL, connection->fd(), nullptr);
    auto it = connections_.find(connection->id());
    if (it == connections_.end())
        return nullptr;
    keepaliveRemove(connection);
    std::unique_ptr<Connection> owned = std::move(it->second);
    connections_.erase(it);
    metrics_.connections.fetch_sub(1, std::memory_order_relaxed);
    if (shuttingDown_ && connections_.empty() && loop_)
        g_main_loop_quit(loop_.get());
    return owned;
}

void Worker::moveTo(Connection* connection, Worker* to)
{
    departing_.emplace_back(connection, to);
}

// After the dispatch's output is flushed: what the connection still has to
// write goes with it, and its new worker writes it.
void Worker::sendDepartures()
{
    std::vector<std::pair<Connection*, Worker*>> departing;
    departing.swap(departing_);
    for (auto [connection, to] : departing) {
        // Torn down meanwhile (its hold was released then), or closed by a
        // shutdown (the move was given up).
        if (connection->isDead() || !connection->isMoving())
            continue;
        std::unique_ptr<Connection> owned = detach(connection);
        if (!owned)
            continue;
        owned->worker_ = to;
        owned = to->handOver(std::move(owned));
        if (!owned)
            continue;
        // `to` has stopped: the server is shutting down.
        owned->worker_ = this;
        if (Connection* back = attach(std::move(owned)))
            back->close(kCloseGoingAway, "server shutting down");
    }
}

std::unique_ptr<Connection> Worker::handOver(std::unique_ptr<Connection> connection)
{
    bool wake;
    {
        std::lock_guard lock(mailboxMutex_);
        // Stopping: the sender closes it with 1001 itself, as this worker
        // does with its own; one that came before the request is closed
        // by beginShutdown with the rest.
        if (stopped_ || shutdownRequested_)
            return connection;
        wake = mailbox_.empty() && arrivals_.empty();
        arrivals_.push_back(std::move(connection));
    }
    if (wake) {
        uint64_t one = 1;
        [[maybe_unused]] ssize_t r = ::write(mailboxFd_, &one, sizeof one);
    }
    return nullptr;
}

void Worker::receive(std::unique_ptr<Connection> connection)
{
    Connection* c = attach(std::move(connection));
    if (!c)
        return;
    WorkerMetrics::add(metrics_.movedIn);
    g_debug("worker %d: connection %" G_GUINT64_FORMAT " from %s came to join a room here", index_, c->id(), c->remote_.c_str());
    if (shuttingDown_) {
        c->close(kCloseGoingAway, "server shutting down");
        return;
    }
    c->resumeAfterMove();
    // Its join was refused here: the join timeout it started with goes on.
    if (!c->isDead() && c->isOpen() && !c->hasJoinedOnce() && !c->isMoving() && c->joinDeadline_)
        addJoinDeadline(c, c->joinDeadline_);
}

void Worker::addJoinDeadline(Connection* connection, int64_t at)
{
    connection->joinDeadline_ = at;
    auto& entries = joinDeadlines_.entries;
    // Kept in deadline order; one that came from another worker may be
    // older than some here.
    auto position = std::upper_bound(entries.begin(), entries.end(), at,
        [](int64_t deadline, const std::pair<int64_t, uint64_t>& entry) { return deadline < entry.first; });
    bool newHead = position == entries.begin();
    entries.emplace(position, at, connection->id());
    if (newHead)
        joinDeadlines_.timer.cancel();
    armDeadline(joinDeadlines_);
}

Connection* Worker::find(uint64_t id)
{
    auto it = connections_.find(id);
    return it == connections_.end() ? nullptr : it->second.get();
}

// ---- Event loop ------------------------------------------------------------

gboolean Worker::dispatchEpoll(GSource* source, GSourceFunc, gpointer)
{
    reinterpret_cast<EpollSource*>(source)->worker->onEpoll();
    return G_SOURCE_CONTINUE;
}

void Worker::onEpoll()
{
    updateNow();
    epoll_event events[256];
    int n = epoll_wait(epollFd_, events, G_N_ELEMENTS(events), 0);
    for (int i = 0; i < n; ++i) {
        auto* connection = static_cast<Connection*>(events[i].data.ptr);
        if (!connection) {
            drainMailbox();
            continue;
        }
        if (connection->isDead())
            continue;
        if (events[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            connection->onReadable();
        if (!connection->isDead() && (events[i].events & EPOLLOUT))
            connection->onWritable();
    }
    if (shutdownPending_ && !shuttingDown_)
        beginShutdown();
    endOfDispatch();
}

void Worker::post(uint64_t connectionId, uint64_t session, std::string text)
{
    bool wake;
    {
        std::lock_guard lock(mailboxMutex_);
        wake = mailbox_.empty() && arrivals_.empty();
        mailbox_.push_back({ connectionId, session, std::move(text) });
    }
    if (wake) {
        uint64_t one = 1;
        [[maybe_unused]] ssize_t r = ::write(mailboxFd_, &one, sizeof one);
    }
}

void Worker::requestShutdown()
{
    {
        std::lock_guard lock(mailboxMutex_);
        shutdownRequested_ = true;
    }
    uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(mailboxFd_, &one, sizeof one);
}

void Worker::drainMailbox()
{
    // Read the eventfd before taking the queue: a post that lands after the
    // swap writes it again, so nothing waits unseen.
    uint64_t count;
    [[maybe_unused]] ssize_t r = ::read(mailboxFd_, &count, sizeof count);
    std::vector<Delivery> batch;
    std::vector<std::unique_ptr<Connection>> arrivals;
    bool shutdown;
    {
        std::lock_guard lock(mailboxMutex_);
        batch.swap(mailbox_);
        arrivals.swap(arrivals_);
        shutdown = shutdownRequested_;
    }
    for (auto& c : arrivals)
        receive(std::move(c));
    for (auto& d : batch) {
        if (Connection* c = find(d.connectionId))
            c->deliver(d.session, d.text);
    }
    // Not from here: this runs inside onEpoll's walk over the events, and
    // shutting down frees connections that later events still point to.
    if (shutdown)
        shutdownPending_ = true;
}

void Worker::deliver(const PeerRef& to, std::string text)
{
    if (to.worker == this) {
        if (Connection* c = find(to.connectionId))
            c->deliver(to.session, text);
        return;
    }
    WorkerMetrics::add(metrics_.crossWorker);
    to.worker->post(to.connectionId, to.session, std::move(text));
}

void Worker::deliverAll(const std::vector<PeerRef>& to, const std::string& text)
{
    for (const auto& ref : to)
        deliver(ref, text);
}

void Worker::markDirty(Connection* connection)
{
    if (!connection->queuedDirty_) {
        connection->queuedDirty_ = true;
        dirty_.push_back(connection);
    }
}

void Worker::setWantWrite(Connection* connection, bool want)
{
    epoll_event ev {};
    ev.events = EPOLLIN | EPOLLRDHUP | (want ? uint32_t(EPOLLOUT) : 0u);
    ev.data.ptr = connection;
    epoll_ctl(epollFd_, EPOLL_CTL_MOD, connection->fd(), &ev);
}

void Worker::retire(Connection* connection)
{
    if (std::unique_ptr<Connection> owned = detach(connection))
        retired_.push_back(std::move(owned));
}

void Worker::endOfDispatch()
{
    do {
        // Flushing may tear a connection down, which tells its room and so
        // queues output on others: the list can grow while it is walked.
        for (size_t i = 0; i < dirty_.size(); ++i) {
            if (!dirty_[i]->isDead())
                dirty_[i]->flush();
        }
        dirty_.clear();
        // A departure that cannot be taken is closed here, with output.
        sendDepartures();
    } while (!dirty_.empty());
    retired_.clear();
}

// ---- Timers ----------------------------------------------------------------

void Worker::armDeadline(DeadlineQueue& queue)
{
    if (queue.timer || queue.entries.empty())
        return;
    int64_t wait = queue.entries.front().first - now_;
    // Rounded up: a timer that fires before the head's deadline finds
    // nothing due and would only re-arm.
    std::chrono::milliseconds delay { wait <= 0 ? 0 : (wait + 999) / 1000 };
    queue.timer = Source::once(context_.get(), delay, [this, &queue] { fireDeadlines(queue); }, queue.name);
}

void Worker::fireDeadlines(DeadlineQueue& queue)
{
    updateNow();
    // This one-shot is spent; let armDeadline() set the next one.
    queue.timer.cancel();
    while (!queue.entries.empty() && queue.entries.front().first <= now_) {
        uint64_t id = queue.entries.front().second;
        queue.entries.pop_front();
        if (Connection* c = find(id))
            (c->*queue.expire)();
    }
    armDeadline(queue);
    endOfDispatch();
}

void Worker::addCloseDeadline(Connection* connection)
{
    closeDeadlines_.entries.emplace_back(now_ + kCloseGraceUs, connection->id());
    armDeadline(closeDeadlines_);
}

void Worker::keepaliveAdd(Connection* connection)
{
    if (keepaliveTicks_ == 0)
        return;
    auto& slot = keepaliveSlots_[connection->id() % keepaliveTicks_];
    connection->keepaliveIndex_ = slot.size();
    slot.push_back(connection);
}

void Worker::keepaliveRemove(Connection* connection)
{
    if (keepaliveTicks_ == 0)
        return;
    // Swap with the last: order inside a slot does not matter, only the slot.
    auto& slot = keepaliveSlots_[connection->id() % keepaliveTicks_];
    size_t index = connection->keepaliveIndex_;
    if (index >= slot.size() || slot[index] != connection)
        return;
    slot[index] = slot.back();
    slot[index]->keepaliveIndex_ = index;
    slot.pop_back();
}

// docs/protocol.md: a peer that sent nothing, not even a pong, for two intervals
// is dropped. Returns false if `connection` has been silent that long.
// Otherwise, when that limit would pass before its slot's next turn (one
// interval on), it is noted for the first tick after the limit, so a silent
// peer goes two intervals plus at most one tick after its last byte, as if
// every connection were checked on every tick, without looking at all of
// them each time: a peer that answers its pings is heard from within one
// interval and never becomes a suspect. `tickAt` is when tick `tick` was due.
bool Worker::keepaliveCheck(Connection* connection, uint64_t tick, int64_t tickAt)
{
    int64_t deadline = connection->lastSeen() + keepaliveLimitUs_;
    if (now_ > deadline)
        return false;
    // Tick tick + ahead is due more than (deadline - tickAt) after this one.
    auto ahead = static_cast<uint64_t>((deadline - tickAt) / keepaliveTickUs_) + 1;
    if (ahead < keepaliveTicks_)
        keepaliveSuspects_[(tick + ahead) % keepaliveTicks_].push_back(connection->id());
    return true;
}

int64_t Worker::onKeepalive()
{
    updateNow();
    std::vector<Connection*> dead;
    for (uint64_t n = 0; n < keepaliveTicks_ && keepaliveDueAt_ <= now_; ++n) {
        const uint64_t tick = keepaliveTick_++;
        const int64_t tickAt = keepaliveDueAt_;
        keepaliveDueAt_ += keepaliveTickUs_;
        const size_t index = tick % keepaliveTicks_;
        // Suspects first: their limit has passed unless they spoke since
        // (then keepaliveCheck notes them again if needed, or leaves them to
        // their slot). Ids, not pointers: a suspect may be gone by now. A
        // connection may be noted twice; the second look is harmless.
        std::vector<uint64_t> suspects;
        suspects.swap(keepaliveSuspects_[index]);
        for (uint64_t id : suspects) {
            Connection* c = find(id);
            if (c && c->isOpen() && !keepaliveCheck(c, tick, tickAt))
                dead.push_back(c);
        }
        // Then this tick's slot: ping, or drop if silent too long.
        for (Connection* c : keepaliveSlots_[index]) {
            if (!c->isOpen())
                continue;
            if (keepaliveCheck(c, tick, tickAt))
                c->sendPing();
            else
                dead.push_back(c);
        }
    }
    // More than an interval behind (a stalled worker): every slot had its
    // turn in this dispatch; start afresh rather than replay.
    if (keepaliveDueAt_ <= now_)
        keepaliveDueAt_ = now_ + keepaliveTickUs_;
    // Dropped only now: dropping retires the connection, which takes it out
    // of the slot being walked.
    for (Connection* c : dead) {
        if (!c->isOpen())
            continue; // noted twice
        WorkerMetrics::add(metrics_.keepaliveDrops);
        g_info("dropping %s (%s): no answer to keepalive pings", c->remote_.c_str(), c->peer_.c_str());
        c->drop("keepalive timeout");
    }
    endOfDispatch();
    return keepaliveDueAt_;
}

void Worker::beginShutdown()
{
    shuttingDown_ = true;
    soup_server_disconnect(soup_.get());
    std::vector<Connection*> all;
    all.reserve(connections_.size());
    for (auto& [id, c] : connections_)
        all.push_back(c.get());
    for (Connection* c : all) {
        if (c->isOpen())
            c->close(kCloseGoingAway, "server shutting down");
        else
            c->drop("server shutting down");
    }
    endOfDispatch();
    if (connections_.empty())
        g_main_loop_quit(loop_.get());
    else
        shutdownTimer_ = Source::once(context_.get(), kShutdownGrace, [this] { onShutdownTimeout(); }, "palaver-shutdown");
}

void Worker::onShutdownTimeout()
{
    g_main_loop_quit(loop_.get());
}

} // namespace palaver::server
