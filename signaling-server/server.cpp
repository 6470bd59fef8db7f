#include "server.h"

#include "log_limiter.h"
#include "worker.h"

#include <cerrno>
#include <sys/socket.h>

namespace palaver::server {

namespace {

// GSocket's default backlog of 10 drops connections under churn.
constexpr int kListenBacklog = 4096;

} // namespace

Server::Server(Config config)
    : config_(std::move(config))
    , rooms_(config_.maxRoomPeers)
    , iceServers_(config_)
{
    if (config_.authSecret)
        tokens_.emplace(*config_.authSecret);
    // Before any worker exists: the workers only read it.
    if (config_.webRoot.empty())
        web_.emplace();
}

Server::~Server()
{
    shutdown();
}

GRef<GSocket> Server::bindSocket(GInetAddress* address, int port, std::string& error)
{
    GUnique<GError> gerror;
    GRef<GSocket> socket = adopt(g_socket_new(g_inet_address_get_family(address), G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, gerror.outPtr()));
    if (!socket) {
        error = gerror->message;
        return nullptr;
    }
    // Every worker listens on the same port; the kernel spreads new
    // connections between them.
    if (!g_socket_set_option(socket.get(), SOL_SOCKET, SO_REUSEPORT, 1, gerror.outPtr())) {
        error = std::string("SO_REUSEPORT: ") + gerror->message;
        return nullptr;
    }
    // bind(2) directly: g_socket_bind() resets SO_REUSEPORT on TCP sockets.
    int one = 1;
    setsockopt(g_socket_get_fd(socket.get()), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    GRef<GSocketAddress> socketAddress = adopt(g_inet_socket_address_new(address, static_cast<guint16>(port)));
    sockaddr_storage native {};
    gssize nativeSize = g_socket_address_get_native_size(socketAddress.get());
    if (nativeSize < 0 || !g_socket_address_to_native(socketAddress.get(), &native, sizeof native, gerror.outPtr())) {
        error = gerror ? gerror->message : "unsupported address";
        return nullptr;
    }
    if (::bind(g_socket_get_fd(socket.get()), reinterpret_cast<sockaddr*>(&native), static_cast<socklen_t>(nativeSize)) < 0) {
        error = g_strerror(errno);
        return nullptr;
    }
    g_socket_set_listen_backlog(socket.get(), kListenBacklog);
    if (!g_socket_listen(socket.get(), gerror.outPtr())) {
        error = gerror->message;
        return nullptr;
    }
    return socket;
}

// SO_REUSEPORT lets any process of the same user bind a port that is in
// use, and the kernel then splits new connections, and so rooms, between the
// two servers. A socket without it cannot bind a port that something listens
// on, so one is bound (and closed again) before the workers share the port.
bool Server::portIsFree(GInetAddress* address, int port, std::string& error)
{
    GUnique<GError> gerror;
    GRef<GSocket> socket = adopt(g_socket_new(g_inet_address_get_family(address), G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, gerror.outPtr()));
    GRef<GSocketAddress> socketAddress = adopt(g_inet_socket_address_new(address, static_cast<guint16>(port)));
    // allow_reuse: SO_REUSEADDR, so a restart is not held up by TIME_WAIT.
    if (!socket || !g_socket_bind(socket.get(), socketAddress.get(), TRUE, gerror.outPtr())) {
        error = gerror->message;
        return false;
    }
    return true;
}

bool Server::start(std::string& error, int& exitCode)
{
    exitCode = 2;
    if (config_.tlsCert) {
        if (!g_tls_backend_supports_tls(g_tls_backend_get_default())) {
            error = "TLS is not available: install glib-networking";
            return false;
        }
        GUnique<GError> gerror;
        tlsCertificate_ = adopt(g_tls_certificate_new_from_files(config_.tlsCert->c_str(), config_.tlsKey->c_str(), gerror.outPtr()));
        if (!tlsCertificate_) {
            error = "cannot use the TLS certificate " + *config_.tlsCert + " and key " + *config_.tlsKey + ": " + gerror->message;
            return false;
        }
    }

    GRef<GInetAddress> address = adopt(g_inet_address_new_from_string(config_.host.c_str()));
    if (!address) {
        GUnique<GError> gerror;
        GList* found = g_resolver_lookup_by_name(g_resolver_get_default(), config_.host.c_str(), nullptr, gerror.outPtr());
        if (!found) {
            error = "--host: cannot resolve '" + config_.host + "': " + gerror->message;
            return false;
        }
        address = GRef<GInetAddress>(static_cast<GInetAddress*>(found->data));
        g_resolver_free_addresses(found);
    }

    exitCode = 1;
    std::vector<GRef<GSocket>> sockets;
    int port = config_.port;
    if (std::string why; port != 0 && !portIsFree(address.get(), port, why)) {
        error = "cannot listen on " + config_.host + ":" + std::to_string(port) + ": " + why;
        return false;
    }
    for (int i = 0; i < config_.workers; ++i) {
        std::string why;
        GRef<GSocket> socket = bindSocket(address.get(), port, why);
        if (!socket) {
            error = "cannot listen on " + config_.host + ":" + std::to_string(port) + ": " + why;
            return false;
        }
        if (i == 0) {
            GRef<GSocketAddress> local = adopt(g_socket_get_local_address(socket.get(), nullptr));
            port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(local.get()));
        }
        sockets.push_back(std::move(socket));
    }
    boundPort_ = port;

    std::vector<Worker*> placement;
    for (int i = 0; i < config_.workers; ++i) {
        workers_.push_back(std::make_unique<Worker>(*this, i, std::move(sockets[static_cast<size_t>(i)])));
        placement.push_back(workers_.back().get());
    }
    rooms_.setWorkers(std::move(placement));
    for (int i = 0; i < config_.workers; ++i) {
        std::string why;
        bool ok = workers_[static_cast<size_t>(i)]->start(why);
        if (!ok) {
            error = "worker " + std::to_string(i) + ": " + why;
            shutdown();
            return false;
        }
    }
    return true;
}

void Server::shutdown()
{
    for (auto& worker : workers_)
        worker->requestShutdown();
    for (auto& worker : workers_)
        worker->joinThread();
    workers_.clear();
}

std::string Server::url() const
{
    bool v6 = config_.host.find(':') != std::string::npos;
    std::string host = v6 ? "[" + config_.host + "]" : config_.host;
    return std::string(tlsCertificate_ ? "https://" : "http://") + host + ":" + std::to_string(boundPort_);
}

std::string Server::healthJson()
{
    auto counts = rooms_.counts();
    return "{\"status\":\"ok\",\"rooms\":" + std::to_string(counts.rooms) + ",\"peers\":" + std::to_string(counts.peers) + "}";
}

std::string Server::metricsText()
{
    std::vector<const WorkerMetrics*> metrics;
    for (const auto& worker : workers_)
        metrics.push_back(&worker->metrics());
    std::vector<WorkerRooms> workerRooms;
    for (const auto& c : rooms_.countsPerWorker())
        workerRooms.push_back({ c.rooms, c.peers });
    auto counts = rooms_.counts();
    std::string text = renderMetrics(metrics, workerRooms, counts.rooms, counts.peers);
    appendLogMetrics(text);
    return text;
}

} // namespace palaver::server
