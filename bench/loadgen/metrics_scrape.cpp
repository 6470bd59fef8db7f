#include "metrics_scrape.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <string>

#include "clock.h"

namespace loadgen {

namespace {

constexpr std::string_view kRelayed = "palaver_messages_relayed_total";
constexpr std::string_view kWorkerMessages = "palaver_worker_messages_received_total";

// The value of label `name` in `{a="x",b="y"}`, or empty. Our servers never
// escape a quote inside these label values.
std::string_view labelValue(std::string_view labels, std::string_view name)
{
    size_t from = 0;
    while (from < labels.size()) {
        auto p = labels.find(name, from);
        if (p == std::string_view::npos)
            return {};
        from = p + 1;
        bool startsLabel = p > 0 && (labels[p - 1] == '{' || labels[p - 1] == ',' || labels[p - 1] == ' ');
        size_t eq = p + name.size();
        if (!startsLabel || eq + 1 >= labels.size() || labels[eq] != '=' || labels[eq + 1] != '"')
            continue;
        auto end = labels.find('"', eq + 2);
        if (end == std::string_view::npos)
            return {};
        return labels.substr(eq + 2, end - eq - 2);
    }
    return {};
}

// Joins a chunked body (RFC 9112 7.1) in place; false when it is cut short.
bool dechunk(std::string &body)
{
    std::string out;
    size_t p = 0;
    for (;;) {
        auto eol = body.find("\r\n", p);
        if (eol == std::string::npos)
            return false;
        size_t size = std::strtoul(body.c_str() + p, nullptr, 16);
        p = eol + 2;
        if (size == 0)
            break;
        if (p + size > body.size())
            return false;
        out.append(body, p, size);
        p += size + 2;
    }
    body = std::move(out);
    return true;
}

} // namespace

MetricsSample parseMetrics(std::string_view text)
{
    MetricsSample m;
    while (!text.empty()) {
        auto nl = text.find('\n');
        std::string_view line = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        if (!line.empty() && line.back() == '\r')
            line.remove_suffix(1);
        if (line.empty() || line[0] == '#')
            continue;
        // name[{labels}] value [timestamp]
        size_t nameEnd = line.find_first_of("{ ");
        if (nameEnd == std::string_view::npos)
            continue;
        std::string_view name = line.substr(0, nameEnd);
        std::string_view labels;
        size_t valueStart = nameEnd;
        if (line[nameEnd] == '{') {
            auto close = line.find('}', nameEnd);
            if (close == std::string_view::npos)
                continue;
            labels = line.substr(nameEnd, close - nameEnd + 1);
            valueStart = close + 1;
        }
        while (valueStart < line.size() && line[valueStart] == ' ')
            valueStart++;
        // Counters are integers here; a float form ("1e+06") is read as a double.
        std::string value(line.substr(valueStart, line.find(' ', valueStart) - valueStart));
        char *endp = nullptr;
        double v = std::strtod(value.c_str(), &endp);
        if (value.empty() || endp == value.c_str() || v < 0)
            continue;
        if (name == kRelayed) {
            m.hasRelayed = true;
            m.relayed += uint64_t(v);
        } else if (name == kWorkerMessages) {
            std::string_view worker = labelValue(labels, "worker");
            if (!worker.empty())
                m.workerMessages[std::string(worker)] += uint64_t(v);
        }
    }
    return m;
}

MetricsSample scrapeMetrics(const Target &target, double timeoutSec)
{
    MetricsSample none;
    const int64_t deadline = nowNs() + int64_t(timeoutSec * double(kNsPerSec));
    auto waitFor = [deadline](int fd, short events) {
        int64_t left = deadline - nowNs();
        if (left <= 0)
            return false;
        pollfd p { fd, events, 0 };
        int rc;
        while ((rc = ::poll(&p, 1, int(left / 1'000'000) + 1)) < 0 && errno == EINTR) {
        }
        return rc > 0;
    };

    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return none;
    std::string response;
    bool done = false;
    if (::connect(fd, reinterpret_cast<const sockaddr *>(&target.addr), sizeof(target.addr)) == 0 ||
        (errno == EINPROGRESS && waitFor(fd, POLLOUT))) {
        int err = 0;
        socklen_t len = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
        // HTTP/1.1 with Connection: close, so the end of the body is EOF.
        std::string request = "GET /metrics HTTP/1.1\r\nHost: " + target.host +
            "\r\nConnection: close\r\nAccept: text/plain\r\n\r\n";
        size_t off = 0;
        while (err == 0 && off < request.size()) {
            ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
            if (n > 0)
                off += size_t(n);
            else if (n < 0 && errno == EAGAIN && waitFor(fd, POLLOUT))
                continue;
            else
                break;
        }
        char buf[16384];
        while (off == request.size() && response.size() < (1u << 22)) {
            ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
            if (n > 0) {
                response.append(buf, size_t(n));
            } else if (n == 0) {
                done = true;
                break;
            } else if (errno != EAGAIN || !waitFor(fd, POLLIN)) {
                break;
            }
        }
    }
    ::close(fd);
    if (!done || response.compare(0, 7, "HTTP/1.") != 0 || response.compare(8, 5, " 200 ") != 0)
        return none;
    auto bodyStart = response.find("\r\n\r\n");
    if (bodyStart == std::string::npos)
        return none;
    std::string head = response.substr(0, bodyStart);
    for (char &c : head)
        c = char(std::tolower(uint8_t(c)));
    std::string body = response.substr(bodyStart + 4);
    if (head.find("\r\ntransfer-encoding: chunked") != std::string::npos && !dechunk(body))
        return none;
    MetricsSample m = parseMetrics(body);
    m.ok = true;
    return m;
}

} // namespace loadgen
