// HTTP beside the WebSocket: /healthz, /metrics, 404s, /ws with a query
// string, the browser client compiled in (web/'s files, byte for byte, with
// their types, validators and security headers), and / from --web-root (read
// asynchronously by the server: several at once, clients that go away first,
// a shutdown in the middle; revalidation from the file's metadata).
#include "fixtures.h"

#include <csignal>
#include <glib/gstdio.h>
#include <sys/stat.h>

using namespace palaver::test;
using palaver::adopt;
using palaver::GRef;
using palaver::GUnique;

namespace {

using Ref = std::optional<std::string>;

// The largest file the server serves (StaticFile::kMaxSize).
constexpr size_t kMaxStaticFile = 8 * 1024 * 1024;

// A folder to serve: root() is --web-root, with its parent's secret.txt
// beside it (outside the root).
class WebRoot {
public:
    WebRoot()
    {
        dir_.write("secret.txt", "root:secret\n");
        g_mkdir_with_parents(root().c_str(), 0755);
    }
    std::string root() const { return dir_.file("web"); }
    void write(std::string_view name, std::string_view contents) const
    {
        std::string path = root() + "/" + std::string(name);
        GUnique<char> folder(g_path_get_dirname(path.c_str()));
        g_mkdir_with_parents(folder.get(), 0755);
        dir_.write("web/" + std::string(name), contents);
    }

private:
    TempDir dir_;
};

// Bytes 0-255 over and over, so that an offset or a lost NUL shows.
std::string binary(size_t size)
{
    std::string out(size, '\0');
    for (size_t i = 0; i < size; ++i)
        out[i] = static_cast<char>((i * 7 + i / 251) & 0xff);
    return out;
}

struct RawResponse {
    int status = 0;
    std::string contentType;
    long contentLength = -1; // -1: no Content-Length header
    std::string body;
};

// Sends one request on a fresh connection that the server closes after
// answering (so the response ends at end of stream).
void sendRequest(RawClient& client, std::string_view method, std::string_view path,
    std::source_location loc = std::source_location::current())
{
    client.sendBytes(std::string(method) + " " + std::string(path) + " HTTP/1.1\r\nHost: palaver.test\r\nConnection: close\r\n\r\n", loc);
}

RawResponse readResponse(RawClient& client, int timeoutMs = kExpectTimeoutMs,
    std::source_location loc = std::source_location::current())
{
    if (!pumpUntil([&] { return client.eof(); }, timeoutMs))
        fail(format("no whole response within %d ms (%zu bytes so far)", timeoutMs, client.buffered().size()), loc);
    const std::string& in = client.buffered();
    size_t end = in.find("\r\n\r\n");
    if (end == std::string::npos)
        fail("no HTTP response head: " + in.substr(0, 200), loc);
    RawResponse r;
    if (sscanf(in.c_str(), "HTTP/1.%*d %d", &r.status) != 1)
        fail("malformed status line: " + in.substr(0, 200), loc);
    GUnique<char*> lines(g_strsplit(in.substr(0, end).c_str(), "\r\n", -1));
    for (char** line = lines.get() + 1; *line; ++line) {
        char* colon = strchr(*line, ':');
        if (!colon)
            continue;
        *colon = '\0';
        const char* name = *line;
        std::string value = g_strstrip(colon + 1);
        if (g_ascii_strcasecmp(name, "Content-Type") == 0)
            r.contentType = value;
        else if (g_ascii_strcasecmp(name, "Content-Length") == 0)
            r.contentLength = std::stol(value);
    }
    r.body = in.substr(end + 4);
    return r;
}

// ---- The browser client's headers (docs/protocol.md, "The browser client") ----

const char* const kCspStart = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
                              "media-src 'self' blob:; connect-src 'self'";
const char* const kCspEnd = "; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

// The type docs/protocol.md promises for a name, written out again here
// rather than taken from the server's table.
std::string expectedType(std::string_view name)
{
    auto ends = [&](std::string_view suffix) {
        return name.size() >= suffix.size() && name.substr(name.size() - suffix.size()) == suffix;
    };
    if (ends(".html"))
        return "text/html; charset=utf-8";
    if (ends(".css"))
        return "text/css; charset=utf-8";
    if (ends(".js") || ends(".mjs"))
        return "text/javascript; charset=utf-8";
    if (ends(".svg"))
        return "image/svg+xml";
    if (ends(".json"))
        return "application/json";
    if (ends(".webmanifest"))
        return "application/manifest+json";
    if (ends(".png"))
        return "image/png";
    if (ends(".txt"))
        return "text/plain; charset=utf-8";
    return "application/octet-stream";
}

std::string header(const HttpResponse& r, std::string_view name, std::source_location loc = std::source_location::current())
{
    std::optional<std::string> v = r.header(name);
    if (!v)
        fail(format("no %s header", std::string(name).c_str()), loc);
    return *v;
}

// The headers of every 200 and 304 from the client's files.
void checkWebHeaders(const HttpResponse& r, const ServerProcess& server, std::string_view name,
    std::source_location loc = std::source_location::current())
{
    std::string what = std::string(name) + ": ";
    if (header(r, "Content-Type", loc) != expectedType(name))
        fail(what + "Content-Type " + header(r, "Content-Type") + ", expected " + expectedType(name), loc);
    std::string etag = header(r, "ETag", loc);
    // Strong: a quoted string, no W/.
    if (etag.size() < 3 || etag.front() != '"' || etag.back() != '"')
        fail(what + "ETag is not a strong entity tag: " + etag, loc);
    std::string modified = header(r, "Last-Modified", loc);
    if (!GRef<GDateTime>(adopt(soup_date_time_new_from_http_string(modified.c_str()))))
        fail(what + "Last-Modified is not an HTTP date: " + modified, loc);
    if (header(r, "Cache-Control", loc) != "no-cache")
        fail(what + "Cache-Control " + header(r, "Cache-Control"), loc);
    // connect-src also names the request's own host for ws: and wss: (Safari
    // before WebKit bug 235873 did not read 'self' as covering them).
    std::string host = format("127.0.0.1:%d", server.port());
    std::string csp = std::string(kCspStart) + " ws://" + host + " wss://" + host + kCspEnd;
    if (header(r, "Content-Security-Policy", loc) != csp)
        fail(what + "Content-Security-Policy\n  got:      " + header(r, "Content-Security-Policy") + "\n  expected: " + csp, loc);
    if (header(r, "X-Content-Type-Options", loc) != "nosniff")
        fail(what + "X-Content-Type-Options " + header(r, "X-Content-Type-Options"), loc);
    if (header(r, "Referrer-Policy", loc) != "no-referrer")
        fail(what + "Referrer-Policy " + header(r, "Referrer-Policy"), loc);
    bool html = g_str_has_suffix(std::string(name).c_str(), ".html");
    std::optional<std::string> permissions = r.header("Permissions-Policy");
    if (html && permissions != std::optional<std::string>("camera=(self), microphone=(self), display-capture=(self)"))
        fail(what + "Permissions-Policy " + permissions.value_or("(absent)"), loc);
}

// web/ (the source folder) and the files compiled in (web_files), from
// meson: PALAVER_WEB_DIR and PALAVER_WEB_FILES_LIST.
std::string webDir()
{
    const char* dir = g_getenv("PALAVER_WEB_DIR");
    if (!dir || !*dir)
        skip("PALAVER_WEB_DIR is not set (run through meson test)");
    return dir;
}

std::vector<std::string> webFiles()
{
    const char* list = g_getenv("PALAVER_WEB_FILES_LIST");
    if (!list || !*list)
        skip("PALAVER_WEB_FILES_LIST is not set (run through meson test)");
    GUnique<char> text;
    GUnique<GError> error;
    if (!g_file_get_contents(list, text.outPtr(), nullptr, error.outPtr()))
        fail(std::string("cannot read the web file list: ") + error->message);
    std::vector<std::string> names;
    GUnique<char*> lines(g_strsplit(text.get(), "\n", -1));
    for (char** line = lines.get(); *line; ++line)
        if (**line)
            names.emplace_back(*line);
    if (names.empty())
        fail(std::string("the web file list is empty: ") + list);
    return names;
}

std::string readFile(const std::string& path)
{
    GUnique<char> text;
    gsize size = 0;
    GUnique<GError> error;
    if (!g_file_get_contents(path.c_str(), text.outPtr(), &size, error.outPtr()))
        fail("cannot read " + path + ": " + error->message);
    return std::string(text.get(), size);
}

bool isJavaScript(const std::string& type)
{
    // shared-mime-info says application/javascript up to 2.2, text/javascript after.
    return g_str_has_prefix(type.c_str(), "application/javascript") || g_str_has_prefix(type.c_str(), "text/javascript");
}

void testHealthzCountsPeersInRooms()
{
    ServerProcess server;
    HttpResponse r = httpGet(server, "/healthz");
    PT_CHECK_EQ(r.status, 200);
    Message m;
    m.raw = r.body;
    m.node = parseJson(r.body);
    checkJson(m, R"({"status":"ok","rooms":0,"peers":0})");
    // Open connections that are not in a room do not count.
    TestClient a(server), b(server), c(server), d(server);
    roundTrip(a);
    roundTrip(b);
    Health h = healthz(server);
    PT_CHECK_EQ(h.rooms, int64_t(0));
    PT_CHECK_EQ(h.peers, int64_t(0));
    c.join("r1", "c");
    d.join("r2", "d");
    a.join("r1", "a", { "c" });
    h = healthz(server);
    PT_CHECK_EQ(h.rooms, int64_t(2));
    PT_CHECK_EQ(h.peers, int64_t(3));
}

using Metrics = std::vector<std::pair<std::string, double>>;

void testMetricsNames()
{
    ServerProcess server;
    HttpResponse r = httpGet(server, "/metrics");
    PT_CHECK_EQ(r.status, 200);
    PT_CHECK_MSG(g_str_has_prefix(r.contentType.c_str(), "text/plain"), "Content-Type: %s", r.contentType.c_str());
    Metrics all = metrics(server);
    for (const char* gauge : { "palaver_connections", "palaver_rooms", "palaver_peers" }) {
        PT_CHECK_MSG(hasMetric(all, gauge), "gauge %s missing from /metrics", gauge);
        PT_CHECK_MSG(r.body.find(std::string("# TYPE ") + gauge + " gauge") != std::string::npos,
            "no `# TYPE %s gauge` line", gauge);
    }
    for (const char* counter : { "palaver_messages_relayed_total", "palaver_errors_total" })
        PT_CHECK_MSG(r.body.find(std::string("# TYPE ") + counter + " counter") != std::string::npos,
            "no `# TYPE %s counter` line", counter);
    PT_CHECK_EQ(metric(all, "palaver_rooms"), 0.0);
    PT_CHECK_EQ(metric(all, "palaver_peers"), 0.0);
}

void testMetricsMove()
{
    ServerProcess server;
    Metrics before = metrics(server);
    TestClient alice(server), bob(server), idle(server);
    joinPair(alice, bob);
    roundTrip(idle);
    Metrics joined = metrics(server);
    PT_CHECK_EQ(metric(joined, "palaver_connections") - metric(before, "palaver_connections"), 3.0);
    PT_CHECK_EQ(metric(joined, "palaver_rooms"), 1.0);
    PT_CHECK_EQ(metric(joined, "palaver_peers"), 2.0);

    bob.send(R"({"type":"send-offer","sdp":"o"})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"o"})");
    alice.send(R"({"type":"send-answer","sdp":"a"})");
    bob.expectJson(R"({"type":"send-answer","from":"alice","sdp":"a"})");
    for (int i = 0; i < 3; ++i) {
        alice.send(R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":0})");
        bob.expectJson(R"({"type":"ice-candidate","from":"alice","candidate":"c","sdpMLineIndex":0})");
    }
    idle.send("nope");
    idle.expectError("bad-json", std::nullopt);
    idle.send(R"({"type":"what"})");
    idle.expectError("unknown-type", Ref("what"));
    idle.send(R"({"type":"leave"})");
    idle.expectError("not-joined", Ref("leave"));
    idle.send(R"({"type":"leave"})");
    idle.expectError("not-joined", Ref("leave"));
    // Refused relays are not counted as relayed.
    alice.send(R"({"type":"send-offer","to":"nobody","sdp":"o"})");
    alice.expectError("unknown-peer", Ref("send-offer"));

    Metrics after = metrics(server);
    auto delta = [&](const char* series) { return metric(after, series) - metric(joined, series); };
    PT_CHECK_EQ(delta(R"(palaver_messages_relayed_total{type="send-offer"})"), 1.0);
    PT_CHECK_EQ(delta(R"(palaver_messages_relayed_total{type="send-answer"})"), 1.0);
    PT_CHECK_EQ(delta(R"(palaver_messages_relayed_total{type="ice-candidate"})"), 3.0);
    PT_CHECK_EQ(delta(R"(palaver_errors_total{code="bad-json"})"), 1.0);
    PT_CHECK_EQ(delta(R"(palaver_errors_total{code="unknown-type"})"), 1.0);
    PT_CHECK_EQ(delta(R"(palaver_errors_total{code="not-joined"})"), 2.0);
    PT_CHECK_EQ(delta(R"(palaver_errors_total{code="unknown-peer"})"), 1.0);
    for (const char* series : { R"(palaver_messages_relayed_total{type="send-offer"})",
             R"(palaver_errors_total{code="bad-json"})" })
        PT_CHECK_MSG(hasMetric(after, series), "%s missing after it moved", series);

    bob.close();
    bob.expectClose(1000);
    alice.expectJson(R"({"type":"peer-left","peer":"bob"})");
    idle.abort();
    Metrics closed;
    PT_CHECK_MSG(pumpUntil(
                     [&] {
                         closed = metrics(server);
                         return metric(closed, "palaver_connections") == metric(before, "palaver_connections") + 1;
                     },
                     kExpectTimeoutMs),
        "palaver_connections did not go back down: %g", metric(closed, "palaver_connections"));
    PT_CHECK_EQ(metric(closed, "palaver_rooms"), 1.0);
    PT_CHECK_EQ(metric(closed, "palaver_peers"), 1.0);
}

void testNotFound()
{
    ServerProcess server;
    for (const char* path : { "/nope", "/wsx", "/ws/foo", "/ws/", "/healthz/x", "/metrics/x", "/WS" }) {
        HttpResponse r = httpGet(server, path);
        PT_CHECK_MSG(r.status == 404, "GET %s: status %d, expected 404", path, r.status);
    }
    for (const char* path : { "/wsx", "/ws/foo", "/ws/", "/", "/healthz" }) {
        RawClient raw(server, path, false);
        int status = raw.upgrade(path);
        PT_CHECK_MSG(status != 101, "WebSocket upgrade accepted at %s", path);
        if (std::string_view(path) != "/" && std::string_view(path) != "/healthz")
            PT_CHECK_MSG(status == 404, "upgrade at %s: status %d, expected 404", path, status);
    }
}

void testWsQueryString()
{
    ServerProcess server;
    TestClient::Options o;
    o.path = "/ws?x=1";
    TestClient alice(server, o);
    o.path = "/ws?room=abc&peer=zz&token=";
    TestClient bob(server, o);
    joinPair(alice, bob);
    bob.send(R"({"type":"send-offer","sdp":"q"})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"q"})");
    RawClient raw(server, "/ws?");
    roundTrip(raw);
}

void testWebRoot()
{
    TempDir root;
    root.write("index.html", "<!doctype html><title>palaver test</title>\n");
    ServerProcess server({ "--web-root", root.path() });
    HttpResponse r = httpGet(server, "/");
    PT_CHECK_EQ(r.status, 200);
    PT_CHECK_EQ(r.body, std::string("<!doctype html><title>palaver test</title>\n"));
    PT_CHECK_MSG(g_str_has_prefix(r.contentType.c_str(), "text/html"), "Content-Type: %s", r.contentType.c_str());
    // Nothing outside the root.
    HttpResponse up = httpGet(server, "/../../../../etc/passwd");
    PT_CHECK_MSG(up.status != 200 || up.body.find("root:") == std::string::npos, "served a file outside --web-root");
    HttpResponse missing = httpGet(server, "/missing.js");
    PT_CHECK_EQ(missing.status, 404);
    // The WebSocket and the other endpoints are unaffected.
    TestClient c(server);
    roundTrip(c);
    PT_CHECK_EQ(healthz(server).rooms, int64_t(0));
}

// Without --web-root: every file of web_files at its path below web/, byte
// for byte, with its type and headers; GET / is index.html; HEAD the same
// without a body.
void testBuiltinFiles()
{
    std::string dir = webDir();
    std::vector<std::string> names = webFiles();
    ServerProcess server;
    for (const std::string& name : names) {
        std::string path = "/" + name;
        std::string bytes = readFile(dir + "/" + name);
        HttpResponse r = httpGet(server, path);
        PT_CHECK_MSG(r.status == 200, "GET %s: status %d", path.c_str(), r.status);
        PT_CHECK_MSG(r.body == bytes, "GET %s: %zu bytes, not web/%s's %zu (or other bytes)", path.c_str(), r.body.size(),
            name.c_str(), bytes.size());
        checkWebHeaders(r, server, name);

        HttpResponse h = httpRequest(server, "HEAD", path, {});
        PT_CHECK_MSG(h.status == 200, "HEAD %s: status %d", path.c_str(), h.status);
        PT_CHECK_MSG(h.body.empty(), "HEAD %s: a body of %zu bytes", path.c_str(), h.body.size());
        PT_CHECK_EQ(header(h, "Content-Length"), std::to_string(bytes.size()));
        PT_CHECK_EQ(header(h, "ETag"), header(r, "ETag"));
        checkWebHeaders(h, server, name);
    }
    HttpResponse root = httpGet(server, "/");
    PT_CHECK_EQ(root.status, 200);
    PT_CHECK_MSG(root.body == readFile(dir + "/index.html"), "GET /: not web/index.html");
    PT_CHECK_EQ(header(root, "ETag"), header(httpGet(server, "/index.html"), "ETag"));
    checkWebHeaders(root, server, "index.html");
    // Distinct files, distinct tags (a hash of each file's bytes).
    std::vector<std::string> tags;
    for (const std::string& name : names) {
        std::string etag = header(httpGet(server, "/" + name), "ETag");
        for (size_t i = 0; i < tags.size(); ++i)
            if (tags[i] == etag && readFile(dir + "/" + names[i]) != readFile(dir + "/" + name))
                fail(format("%s and %s have different bytes and the same ETag %s", names[i].c_str(), name.c_str(), etag.c_str()));
        tags.push_back(etag);
    }
}

// Revalidation of the compiled-in copy: If-None-Match decides when present
// (RFC 9110 §13.2.2), else If-Modified-Since; a 304 has the headers and no
// body.
void testBuiltinRevalidation()
{
    ServerProcess server;
    HttpResponse first = httpGet(server, "/");
    PT_CHECK_EQ(first.status, 200);
    const std::string etag = header(first, "ETag");
    const std::string modified = header(first, "Last-Modified");
    GRef<GDateTime> lastModified = adopt(soup_date_time_new_from_http_string(modified.c_str()));
    GRef<GDateTime> dayBefore = adopt(g_date_time_add_days(lastModified.get(), -1));
    GRef<GDateTime> dayAfter = adopt(g_date_time_add_days(lastModified.get(), 1));
    GUnique<char> before(soup_date_time_to_string(dayBefore.get(), SOUP_DATE_HTTP));
    GUnique<char> after(soup_date_time_to_string(dayAfter.get(), SOUP_DATE_HTTP));

    using Headers = std::vector<std::pair<std::string, std::string>>;
    struct Case {
        const char* what;
        Headers headers;
        int status;
    };
    const Case cases[] = {
        { "its ETag", { { "If-None-Match", etag } }, 304 },
        { "its ETag, weak", { { "If-None-Match", "W/" + etag } }, 304 },
        { "a list with its ETag", { { "If-None-Match", "\"old\", W/\"older\", " + etag } }, 304 },
        { "*", { { "If-None-Match", "*" } }, 304 },
        { "another ETag", { { "If-None-Match", "\"not-it\"" } }, 200 },
        { "a malformed ETag", { { "If-None-Match", etag.substr(1) } }, 200 },
        { "Last-Modified itself", { { "If-Modified-Since", modified } }, 304 },
        { "a day after", { { "If-Modified-Since", after.get() } }, 304 },
        { "a day before", { { "If-Modified-Since", before.get() } }, 200 },
        { "a date that is not one", { { "If-Modified-Since", "yesterday" } }, 200 },
        // If-None-Match wins: another tag with a current date is a 200, its
        // tag with an old date a 304.
        { "another ETag, current date", { { "If-None-Match", "\"not-it\"" }, { "If-Modified-Since", after.get() } }, 200 },
        { "its ETag, old date", { { "If-None-Match", etag }, { "If-Modified-Since", before.get() } }, 304 },
    };
    for (const char* method : { "GET", "HEAD" }) {
        for (const Case& c : cases) {
            HttpResponse r = httpRequest(server, method, "/", c.headers);
            PT_CHECK_MSG(r.status == c.status, "%s / with %s: status %d, expected %d", method, c.what, r.status, c.status);
            PT_CHECK_MSG(r.body == (c.status == 200 && std::string_view(method) == "GET" ? first.body : std::string()),
                "%s / with %s: a body of %zu bytes", method, c.what, r.body.size());
            checkWebHeaders(r, server, "index.html");
            PT_CHECK_EQ(header(r, "ETag"), etag);
            PT_CHECK_EQ(header(r, "Last-Modified"), modified);
            // RFC 9110 §8.6: a 304's Content-Length, if any, is the 200's.
            if (std::optional<std::string> length = r.header("Content-Length"))
                PT_CHECK_MSG(*length == std::to_string(first.body.size()), "%s / with %s: Content-Length %s in a %d",
                    method, c.what, length->c_str(), r.status);
        }
    }
}

// RFC 9110 §13.1.5 on one file (`body`: its bytes, at least 5): a Range is
// honoured (206) without If-Range or with one naming the current ETag; with
// any other validator (an older file's ETag, a weak one, a date) the whole
// file goes out with a 200, not a slice of the new one.
void checkIfRange(ServerProcess& server, const std::string& path, const std::string& body)
{
    HttpResponse first = httpGet(server, path);
    PT_CHECK_EQ(first.body, body);
    const std::string etag = header(first, "ETag");
    const std::string range = "bytes=0-4";
    using Headers = std::vector<std::pair<std::string, std::string>>;
    struct Case {
        const char* what;
        Headers headers;
        bool partial;
    };
    const Case cases[] = {
        { "no If-Range", { { "Range", range } }, true },
        { "If-Range with its ETag", { { "Range", range }, { "If-Range", etag } }, true },
        { "If-Range with another ETag", { { "Range", range }, { "If-Range", "\"not-it\"" } }, false },
        { "If-Range with its ETag, weak", { { "Range", range }, { "If-Range", "W/" + etag } }, false },
        { "If-Range with a date", { { "Range", range }, { "If-Range", header(first, "Last-Modified") } }, false },
    };
    for (const Case& c : cases) {
        HttpResponse r = httpRequest(server, "GET", path, c.headers);
        if (c.partial) {
            PT_CHECK_MSG(r.status == 206 && r.body == body.substr(0, 5), "GET %s, Range with %s: status %d, %zu bytes",
                path.c_str(), c.what, r.status, r.body.size());
            PT_CHECK_EQ(header(r, "Content-Range"), "bytes 0-4/" + std::to_string(body.size()));
        } else {
            PT_CHECK_MSG(r.status == 200 && r.body == body, "GET %s, Range with %s: status %d, %zu bytes, not the whole %zu",
                path.c_str(), c.what, r.status, r.body.size(), body.size());
            PT_CHECK_MSG(!r.header("Content-Range"), "GET %s, Range with %s: a Content-Range in the 200", path.c_str(), c.what);
        }
        PT_CHECK_EQ(header(r, "ETag"), etag);
    }
}

void testBuiltinIfRange()
{
    ServerProcess server;
    checkIfRange(server, "/index.html", readFile(webDir() + "/index.html"));
}

// Only the listed files: web/'s other files (its meson.build), unknown
// paths, hidden names and ways up are 404, as with --web-root.
void testBuiltinNotFound()
{
    ServerProcess server;
    for (const char* path : { "/meson.build", "/web/index.html", "/index.htm", "/index.html/", "/missing.js", "/.hidden",
             "/../../../../etc/passwd", "/%2e%2e/meson.build", "/.%2e/.%2e/etc/passwd" }) {
        RawClient client(server, "/", false);
        sendRequest(client, "GET", path);
        RawResponse r = readResponse(client);
        PT_CHECK_MSG(r.status == 404, "GET %s: status %d, expected 404 (%s)", path, r.status, r.body.substr(0, 80).c_str());
        PT_CHECK_MSG(r.body.find("root:") == std::string::npos && r.body.find("project(") == std::string::npos,
            "GET %s served a file it must not: %s", path, r.body.c_str());
    }
    // Other methods are not served at all.
    PT_CHECK_EQ(httpRequest(server, "POST", "/", {}).status, 404);
    PT_CHECK_EQ(httpRequest(server, "DELETE", "/index.html", {}).status, 404);
}

// --web-root: the same headers, validators from the file's metadata (a
// changed file gets a new ETag, also when its size is the same), and the
// same revalidation.
void testWebRootRevalidation()
{
    WebRoot web;
    web.write("index.html", "<!doctype html><title>one</title>\n");
    web.write("app.mjs", "export const one = 1;\n");
    web.write("icon.svg", "<svg xmlns=\"http://www.w3.org/2000/svg\"/>\n");
    web.write("app.webmanifest", "{\"name\":\"Palaver\"}\n");
    web.write("data/x.json", "{}\n");
    web.write("style.css", "body { margin: 0 }\n");
    web.write("logo.png", "\x89PNG\r\n\x1a\n");
    ServerProcess server({ "--web-root", web.root() });
    for (const char* name : { "index.html", "app.mjs", "icon.svg", "app.webmanifest", "data/x.json", "style.css", "logo.png" }) {
        std::string path = std::string("/") + name;
        HttpResponse r = httpGet(server, path);
        PT_CHECK_MSG(r.status == 200, "GET %s: status %d", path.c_str(), r.status);
        checkWebHeaders(r, server, name);
        HttpResponse again = httpRequest(server, "GET", path, { { "If-None-Match", header(r, "ETag") } });
        PT_CHECK_MSG(again.status == 304 && again.body.empty(), "GET %s with its ETag: status %d, %zu bytes", path.c_str(),
            again.status, again.body.size());
        checkWebHeaders(again, server, name);
    }

    HttpResponse first = httpGet(server, "/");
    std::string etag = header(first, "ETag");
    std::string modified = header(first, "Last-Modified");
    // Last-Modified is the file's modification time.
    GStatBuf st;
    PT_CHECK(g_stat((web.root() + "/index.html").c_str(), &st) == 0);
    GRef<GDateTime> parsed = adopt(soup_date_time_new_from_http_string(modified.c_str()));
    PT_CHECK_EQ(g_date_time_to_unix(parsed.get()), int64_t(st.st_mtime));
    PT_CHECK_EQ(httpRequest(server, "GET", "/", { { "If-None-Match", etag } }).status, 304);
    PT_CHECK_EQ(httpRequest(server, "GET", "/", { { "If-Modified-Since", modified } }).status, 304);
    PT_CHECK_EQ(httpRequest(server, "HEAD", "/", { { "If-None-Match", etag } }).status, 304);
    PT_CHECK_EQ(httpRequest(server, "GET", "/", { { "If-None-Match", "\"not-it\"" }, { "If-Modified-Since", modified } }).status,
        200);

    // Replaced with the same size (a new file renamed over it, as editors
    // and g_file_set_contents() do): a new ETag, the new bytes, and the old
    // tag no longer matches.
    web.write("index.html", "<!doctype html><title>two</title>\n");
    HttpResponse second = httpRequest(server, "GET", "/", { { "If-None-Match", etag } });
    PT_CHECK_EQ(second.status, 200);
    PT_CHECK_EQ(second.body, std::string("<!doctype html><title>two</title>\n"));
    PT_CHECK_MSG(header(second, "ETag") != etag, "the ETag stayed %s after the file changed", etag.c_str());
    // Rewritten in place, another size: a new ETag again.
    {
        std::string path = web.root() + "/index.html";
        FILE* f = fopen(path.c_str(), "w");
        PT_CHECK(f);
        fputs("<!doctype html><title>three, longer</title>\n", f);
        fclose(f);
    }
    HttpResponse third = httpRequest(server, "GET", "/", { { "If-None-Match", header(second, "ETag") } });
    PT_CHECK_EQ(third.status, 200);
    PT_CHECK_EQ(third.body, std::string("<!doctype html><title>three, longer</title>\n"));
    PT_CHECK_MSG(header(third, "ETag") != header(second, "ETag") && header(third, "ETag") != etag, "the ETag did not change");
    checkWebHeaders(third, server, "index.html");
}

// --web-root, If-Range as for the compiled-in copy; and the case it is for:
// a client holding the start of the old file asks for the rest of it after
// the file changed, and gets the new file whole.
void testWebRootIfRange()
{
    WebRoot web;
    web.write("app.js", "export const one = 1;\n");
    ServerProcess server({ "--web-root", web.root() });
    checkIfRange(server, "/app.js", "export const one = 1;\n");
    std::string old = header(httpGet(server, "/app.js"), "ETag");
    web.write("app.js", "export const two = 2;\n");
    HttpResponse r = httpRequest(server, "GET", "/app.js", { { "Range", "bytes=5-" }, { "If-Range", old } });
    PT_CHECK_MSG(r.status == 200 && r.body == "export const two = 2;\n", "Range after a change, If-Range with the old ETag: "
        "status %d, body %s", r.status, r.body.c_str());
    PT_CHECK_MSG(header(r, "ETag") != old, "the ETag stayed %s after the file changed", old.c_str());
}

void testStaticFiles()
{
    WebRoot web;
    const std::string page = "<!doctype html><title>palaver</title>\n";
    const std::string script = "console.log('palaver');\n";
    const std::string png = "\x89PNG\r\n\x1a\n" + binary(3000);
    const std::string large = binary(1024 * 1024 + 17);
    web.write("index.html", page);
    web.write("app.js", script);
    web.write("style.css", "body { margin: 0 }\n");
    web.write("data/rooms.json", "{\"rooms\":[]}\n");
    web.write("img/logo.png", png);
    web.write("empty.txt", "");
    web.write("large.bin", large);
    web.write("at-limit.bin", binary(kMaxStaticFile));
    web.write("over-limit.bin", binary(kMaxStaticFile + 1));
    ServerProcess server({ "--web-root", web.root() });

    struct Case {
        const char* path;
        std::string body;
        const char* type; // prefix; nullptr: JavaScript
    };
    const Case cases[] = {
        { "/", page, "text/html" },
        { "/index.html", page, "text/html" },
        { "/app.js", script, nullptr },
        { "/style.css", "body { margin: 0 }\n", "text/css" },
        { "/data/rooms.json", "{\"rooms\":[]}\n", "application/json" },
        { "/img/logo.png", png, "image/png" },
        { "/empty.txt", "", "text/plain" },
        { "/large.bin", large, "application/octet-stream" },
    };
    for (const Case& c : cases) {
        HttpResponse r = httpGet(server, c.path);
        PT_CHECK_MSG(r.status == 200, "GET %s: status %d", c.path, r.status);
        PT_CHECK_MSG(r.body == c.body, "GET %s: %zu bytes, not the file's %zu (or other bytes)", c.path, r.body.size(), c.body.size());
        bool typeOk = c.type ? g_str_has_prefix(r.contentType.c_str(), c.type) : isJavaScript(r.contentType);
        PT_CHECK_MSG(typeOk, "GET %s: Content-Type %s, expected %s", c.path, r.contentType.c_str(), c.type ? c.type : "JavaScript");
    }

    // HEAD: the headers of GET, no body.
    RawClient head(server, "/", false);
    sendRequest(head, "HEAD", "/index.html");
    RawResponse h = readResponse(head);
    PT_CHECK_EQ(h.status, 200);
    PT_CHECK_MSG(g_str_has_prefix(h.contentType.c_str(), "text/html"), "HEAD: Content-Type %s", h.contentType.c_str());
    PT_CHECK_EQ(h.contentLength, long(page.size()));
    PT_CHECK_EQ(h.body, std::string());

    // Up to the limit in full; one byte more is refused, not truncated.
    HttpResponse atLimit = httpGet(server, "/at-limit.bin");
    PT_CHECK_EQ(atLimit.status, 200);
    PT_CHECK_MSG(atLimit.body == binary(kMaxStaticFile), "GET /at-limit.bin: %zu bytes or other bytes", atLimit.body.size());
    HttpResponse overLimit = httpGet(server, "/over-limit.bin");
    PT_CHECK_EQ(overLimit.status, 500);
    PT_CHECK_MSG(overLimit.body.size() < 100, "GET /over-limit.bin: %zu bytes in the error", overLimit.body.size());
}

void testStaticNotFound()
{
    WebRoot web;
    web.write("index.html", "hello\n");
    web.write(".hidden", "hidden\n");
    web.write(".git/config", "[core]\n");
    web.write("sub/.env", "KEY=1\n");
    web.write("sub/page.html", "page\n");
    PT_CHECK(mkfifo((web.root() + "/pipe").c_str(), 0644) == 0);
    ServerProcess server({ "--web-root", web.root() });
    // Missing, hidden (file, folder, below a folder), a folder, a FIFO (not
    // opened: that would block), and ways out of the root: 404. Encoded
    // slashes never reach us (libsoup answers 400).
    struct Case {
        const char* path;
        int status;
    };
    for (Case c : std::initializer_list<Case> { { "/missing.js", 404 }, { "/.hidden", 404 }, { "/.git/config", 404 },
             { "/sub/.env", 404 }, { "/sub", 404 }, { "/sub/", 404 }, { "/pipe", 404 }, { "/../secret.txt", 404 },
             { "/sub/../../secret.txt", 404 }, { "/%2e%2e/secret.txt", 404 }, { "/.%2e/secret.txt", 404 },
             { "/sub/%2e%2e/.hidden", 404 }, { "/..%2fsecret.txt", 400 }, { "/sub%2f..%2f..%2fsecret.txt", 400 } }) {
        RawClient client(server, "/", false);
        // Raw, so that the dots reach the server as written.
        sendRequest(client, "GET", c.path);
        RawResponse r = readResponse(client);
        PT_CHECK_MSG(r.status == c.status, "GET %s: status %d, expected %d (%s)", c.path, r.status, c.status,
            r.body.substr(0, 80).c_str());
        PT_CHECK_MSG(r.body.find("secret") == std::string::npos && r.body.find("hidden") == std::string::npos,
            "GET %s served a file it must not: %s", c.path, r.body.c_str());
    }
    // Still served: the files that are there.
    PT_CHECK_EQ(httpGet(server, "/sub/page.html").body, std::string("page\n"));
    PT_CHECK_EQ(httpGet(server, "/").body, std::string("hello\n"));
}

void testStaticConcurrent()
{
    WebRoot web;
    const std::string page = "<!doctype html><title>palaver</title>\n";
    const std::string large = binary(2 * 1024 * 1024 + 5);
    web.write("index.html", page);
    web.write("style.css", "body { margin: 0 }\n");
    web.write("large.bin", large);
    ServerProcess server({ "--web-root", web.root(), "--workers", "2" });
    TestClient alice(server), bob(server);
    joinPair(alice, bob);

    struct Request {
        const char* path;
        const std::string* body;
        std::unique_ptr<RawClient> client;
    };
    const std::string css = "body { margin: 0 }\n";
    std::vector<Request> requests;
    for (int i = 0; i < 12; ++i) {
        const char* path = i % 3 == 0 ? "/large.bin" : i % 3 == 1 ? "/" : "/style.css";
        const std::string* body = i % 3 == 0 ? &large : i % 3 == 1 ? &page : &css;
        requests.push_back({ path, body, std::make_unique<RawClient>(server, "/", false) });
    }
    // Every request is out before any answer is read.
    for (auto& r : requests)
        sendRequest(*r.client, "GET", r.path);
    // Relaying goes on meanwhile.
    for (int i = 0; i < 5; ++i) {
        bob.send(R"({"type":"send-offer","sdp":"o"})");
        alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"o"})");
    }
    for (auto& r : requests) {
        RawResponse response = readResponse(*r.client, 3 * kExpectTimeoutMs);
        PT_CHECK_MSG(response.status == 200, "GET %s: status %d", r.path, response.status);
        PT_CHECK_MSG(response.body == *r.body, "GET %s: %zu bytes, not the file's %zu (or other bytes)", r.path,
            response.body.size(), r.body->size());
        PT_CHECK_EQ(response.contentLength, long(r.body->size()));
    }
    roundTrip(alice);
}

void testStaticClientGone()
{
    WebRoot web;
    web.write("index.html", "hello\n");
    web.write("large.bin", binary(kMaxStaticFile));
    ServerProcess server({ "--web-root", web.root() });
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    // Clients that ask and vanish at once, after a moment, or halfway
    // through their request line. The read may be in flight, finished, or
    // the answer half written when the server notices.
    for (int round = 0; round < 3; ++round) {
        std::vector<std::unique_ptr<RawClient>> gone;
        for (int i = 0; i < 8; ++i) {
            gone.push_back(std::make_unique<RawClient>(server, "/", false));
            if (i == 7)
                gone.back()->sendBytes("GET /large.bin HTTP/1.1\r\nHo");
            else
                sendRequest(*gone.back(), "GET", i % 2 ? "/large.bin" : "/index.html");
        }
        pumpFor(round * 5);
        gone.clear(); // closes each socket
        bob.send(R"({"type":"send-offer","sdp":"o"})");
        alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"o"})");
    }
    // The server is whole: files, endpoints and relaying still work.
    PT_CHECK_EQ(httpGet(server, "/").body, std::string("hello\n"));
    PT_CHECK_EQ(httpGet(server, "/large.bin").body.size(), kMaxStaticFile);
    waitHealth(server, 1, 2);
    roundTrip(bob);
    PT_CHECK_MSG(server.stderrText().find("CRITICAL") == std::string::npos, "the server complained:\n%s",
        server.stderrText().c_str());
}

void testStaticShutdownWhileReading()
{
    WebRoot web;
    web.write("large.bin", binary(kMaxStaticFile));
    ServerProcess server({ "--web-root", web.root() });
    TestClient alice(server);
    alice.join("r", "alice");
    std::vector<std::unique_ptr<RawClient>> readers;
    for (int i = 0; i < 16; ++i) {
        readers.push_back(std::make_unique<RawClient>(server, "/", false));
        sendRequest(*readers.back(), "GET", "/large.bin");
    }
    // Stopped with reads in flight (or answers being written): it goes
    // cleanly and in time; under ASan with no leak.
    server.sendSignal(SIGTERM);
    alice.expectClose(1001);
    ExitStatus s = server.waitExit();
    PT_CHECK_MSG(s.exited && s.code == 0, "%s", s.describe().c_str());
    std::string err = server.stderrText();
    PT_CHECK_MSG(err.find("CRITICAL") == std::string::npos && err.find("abandoned") == std::string::npos,
        "the server complained:\n%s", err.c_str());
    // What the readers got, if anything, is whole or cut short, never garbage.
    for (auto& r : readers) {
        pumpUntil([&] { return r->eof(); }, kExpectTimeoutMs);
        const std::string& in = r->buffered();
        PT_CHECK_MSG(in.empty() || g_str_has_prefix(in.c_str(), "HTTP/1.1 200") || g_str_has_prefix(in.c_str(), "HTTP/1.1 503"),
            "a reader got: %s", in.substr(0, 80).c_str());
    }
}

} // namespace

void registerTests()
{
    addTest("/http/healthz", testHealthzCountsPeersInRooms);
    addTest("/http/metrics/names", testMetricsNames);
    addTest("/http/metrics/move", testMetricsMove);
    addTest("/http/not-found", testNotFound);
    addTest("/http/ws-query-string", testWsQueryString);
    addTest("/http/builtin/files", testBuiltinFiles);
    addTest("/http/builtin/revalidation", testBuiltinRevalidation);
    addTest("/http/builtin/if-range", testBuiltinIfRange);
    addTest("/http/builtin/not-found", testBuiltinNotFound);
    addTest("/http/web-root", testWebRoot);
    addTest("/http/web-root/revalidation", testWebRootRevalidation);
    addTest("/http/web-root/if-range", testWebRootIfRange);
    addTest("/http/static/files", testStaticFiles);
    addTest("/http/static/not-found", testStaticNotFound);
    addTest("/http/static/concurrent", testStaticConcurrent);
    addTest("/http/static/client-gone", testStaticClientGone);
    addTest("/http/static/shutdown-while-reading", testStaticShutdownWhileReading);
}
