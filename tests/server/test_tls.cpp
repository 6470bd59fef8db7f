// TLS: --tls-cert/--tls-key serve https:// and wss:// ("Starting
// palaver-server"). A self-signed certificate is made for each test with
// openssl (a declared build dependency of the tests).
#include "fixtures.h"

#include <csignal>

using namespace palaver::test;

namespace {

struct Certificate {
    TempDir dir;
    std::string cert;
    std::string key;
};

// openssl req -x509 ... into a temporary directory, with a deadline.
std::unique_ptr<Certificate> makeCertificate()
{
    auto c = std::make_unique<Certificate>();
    c->cert = c->dir.file("cert.pem");
    c->key = c->dir.file("key.pem");
    GError* error = nullptr;
    GSubprocess* p = g_subprocess_new(
        (GSubprocessFlags)(G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE), &error, "openssl",
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-addext",
        "subjectAltName=IP:127.0.0.1", "-days", "1", "-keyout", c->key.c_str(), "-out", c->cert.c_str(), nullptr);
    if (!p) {
        std::string m = error->message;
        g_error_free(error);
        skip("openssl is not available: " + m);
    }
    bool done = false;
    g_subprocess_wait_async(
        p, nullptr, [](GObject*, GAsyncResult*, gpointer d) { *static_cast<bool*>(d) = true; }, &done);
    if (!pumpUntil([&] { return done; }, 30000)) {
        g_subprocess_force_exit(p);
        pumpUntil([&] { return done; }, 5000);
        g_object_unref(p);
        fail("openssl req did not finish within 30 s");
    }
    bool ok = g_subprocess_get_if_exited(p) && g_subprocess_get_exit_status(p) == 0;
    g_object_unref(p);
    if (!ok || !g_file_test(c->cert.c_str(), G_FILE_TEST_EXISTS) || !g_file_test(c->key.c_str(), G_FILE_TEST_EXISTS))
        fail("openssl req failed to make a certificate");
    return c;
}

void testTlsRelay()
{
    auto cert = makeCertificate();
    ServerProcess server({ "--tls-cert", cert->cert, "--tls-key", cert->key });
    PT_CHECK_MSG(server.tls(), "expected `listening on https://...`, got \"%s\"", server.listeningLine().c_str());
    PT_CHECK_EQ(server.listeningLine(), format("listening on https://127.0.0.1:%d", server.port()));
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    bob.send(R"({"type":"send-offer","sdp":"v=0 \u00e9"})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"v=0 é"})");
    alice.send(R"({"type":"send-answer","sdp":"a"})");
    bob.expectJson(R"({"type":"send-answer","from":"alice","sdp":"a"})");
    // HTTPS beside it.
    Health h = healthz(server);
    PT_CHECK_EQ(h.rooms, int64_t(1));
    PT_CHECK_EQ(h.peers, int64_t(2));
    // A too-large frame still gets its error and 1009 over TLS.
    bob.send(pingOfSize(70000));
    bob.expectError("too-large", std::nullopt);
    bob.expectClose(1009);
    alice.expectJson(R"({"type":"peer-left","peer":"bob"})");
}

// A TLS connection that joins a room owned by the other worker moves there
// with its TLS stream (and whatever the TLS layer had decrypted already).
void testTlsRoomsAcrossWorkers()
{
    auto cert = makeCertificate();
    ServerProcess server({ "--tls-cert", cert->cert, "--tls-key", cert->key, "--workers", "2" });
    constexpr int kRooms = 8;
    ClientPairs pairs = joinPairs(server, kRooms, "tls");
    for (int r = 0; r < kRooms; ++r) {
        for (int k = 0; k < 5; ++k)
            pairs[r].second->send(Obj().s("type", "send-offer").s("sdp", format("offer-%d-%d", r, k)));
        pairs[r].first->send(Obj().s("type", "send-answer").s("sdp", format("answer-%d", r)));
    }
    for (int r = 0; r < kRooms; ++r) {
        for (int k = 0; k < 5; ++k)
            pairs[r].first->expectJson(Obj().s("type", "send-offer").s("from", "bob").s("sdp", format("offer-%d-%d", r, k)).str());
        pairs[r].second->expectJson(Obj().s("type", "send-answer").s("from", "alice").s("sdp", format("answer-%d", r)).str());
    }
    auto m = metrics(server);
    // 16 connections, each accepted by either worker: some had to move.
    PT_CHECK_MSG(metric(m, "palaver_connections_moved_total") > 0, "no TLS connection was moved to its room's worker");
    PT_CHECK_EQ(metric(m, "palaver_messages_crossed_workers_total"), 0.0);
    pairs.clear();
    waitHealth(server, 0, 0);
}

// The join and the messages behind it sent at once over TLS: what the TLS
// layer had already decrypted when the connection moved is read by its new
// worker, in order.
void testTlsMoveKeepsOrder()
{
    auto cert = makeCertificate();
    ServerProcess server({ "--tls-cert", cert->cert, "--tls-key", cert->key, "--workers", "2" });
    bool moved = false;
    for (int attempt = 0; attempt < 40 && !moved; ++attempt) {
        std::string room = format("tls-order-%d", attempt);
        TestClient alice(server), bob(server);
        alice.join(room, "alice");
        double before = metric(metrics(server), "palaver_connections_moved_total");
        bob.send(Obj().s("type", "join").s("room", room).s("peer", "bob"));
        for (int k = 0; k < 10; ++k)
            bob.send(Obj().s("type", "send-offer").s("sdp", format("offer-%d", k)));
        bob.expectJson(Obj().s("type", "joined").s("room", room).s("peer", "bob").raw("peers", R"(["alice"])").raw("iceServers", "[]").str());
        alice.expectJson(R"({"type":"peer-joined","peer":"bob"})");
        for (int k = 0; k < 10; ++k)
            alice.expectJson(Obj().s("type", "send-offer").s("from", "bob").s("sdp", format("offer-%d", k)).str());
        moved = metric(metrics(server), "palaver_connections_moved_total") > before;
    }
    PT_CHECK_MSG(moved, "in 40 tries, no TLS connection was accepted by the worker not owning its room");
}

void testPlainClientOnTlsPort()
{
    auto cert = makeCertificate();
    ServerProcess server({ "--tls-cert", cert->cert, "--tls-key", cert->key });
    {
        TestClient::Options o;
        o.url = format("ws://127.0.0.1:%d/ws", server.port());
        o.connectNow = false;
        TestClient plain(server, o);
        plain.startConnect();
        PT_CHECK_MSG(pumpUntil([&] { return !plain.connecting(); }, 10000),
            "a ws:// client to the TLS port neither connected nor failed within 10 s");
        PT_CHECK_MSG(!plain.connected(), "ws:// (no TLS) was accepted on the TLS port");
    }
    {
        // Plain HTTP bytes on the TLS port: the server drops the connection.
        RawClient raw(server, "/ws", false);
        raw.sendBytes("GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        PT_CHECK_MSG(raw.waitEof(10000), "the server kept a non-TLS connection open on the TLS port");
    }
    {
        // A client that connects and sends nothing does not block others.
        RawClient idle(server, "/ws", false);
        TestClient alice(server), bob(server);
        joinPair(alice, bob);
        bob.send(R"({"type":"send-offer","sdp":"x"})");
        alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"x"})");
    }
    roundTrip(*std::make_unique<TestClient>(server));
}

std::string readFile(const std::string& path)
{
    GError* error = nullptr;
    char* text = nullptr;
    gsize size = 0;
    if (!g_file_get_contents(path.c_str(), &text, &size, &error)) {
        std::string m = error->message;
        g_error_free(error);
        fail("cannot read " + path + ": " + m);
    }
    std::string out(text, size);
    g_free(text);
    return out;
}

// The browser client at https:// (browsers give camera access only to
// secure origins or localhost): the compiled-in copy and a --web-root one,
// with their headers and revalidation, beside wss://.
void testTlsWebClient()
{
    const char* webDir = g_getenv("PALAVER_WEB_DIR");
    if (!webDir || !*webDir)
        skip("PALAVER_WEB_DIR is not set (run through meson test)");
    auto cert = makeCertificate();
    {
        ServerProcess server({ "--tls-cert", cert->cert, "--tls-key", cert->key });
        PT_CHECK(server.tls());
        HttpResponse r = httpGet(server, "/");
        PT_CHECK_EQ(r.status, 200);
        PT_CHECK_MSG(r.body == readFile(std::string(webDir) + "/index.html"), "GET https://.../: not web/index.html");
        PT_CHECK_EQ(r.header("Content-Type"), std::optional<std::string>("text/html; charset=utf-8"));
        PT_CHECK_EQ(r.header("X-Content-Type-Options"), std::optional<std::string>("nosniff"));
        std::string csp = r.header("Content-Security-Policy").value_or("");
        std::string wss = format("wss://127.0.0.1:%d", server.port());
        PT_CHECK_MSG(csp.find("connect-src 'self' ") != std::string::npos && csp.find(wss) != std::string::npos,
            "Content-Security-Policy without %s in connect-src: %s", wss.c_str(), csp.c_str());
        std::string etag = r.header("ETag").value_or("");
        HttpResponse again = httpRequest(server, "GET", "/", { { "If-None-Match", etag } });
        PT_CHECK_EQ(again.status, 304);
        PT_CHECK_EQ(again.body, std::string());
        TestClient alice(server);
        roundTrip(alice);
    }
    {
        TempDir root;
        root.write("index.html", "<!doctype html><title>tls</title>\n");
        ServerProcess server({ "--tls-cert", cert->cert, "--tls-key", cert->key, "--web-root", root.path() });
        HttpResponse r = httpGet(server, "/");
        PT_CHECK_EQ(r.status, 200);
        PT_CHECK_EQ(r.body, std::string("<!doctype html><title>tls</title>\n"));
        PT_CHECK_EQ(httpRequest(server, "HEAD", "/", { { "If-None-Match", r.header("ETag").value_or("") } }).status, 304);
    }
}

void testTlsShutdown()
{
    auto cert = makeCertificate();
    ServerProcess server({ "--tls-cert", cert->cert, "--tls-key", cert->key });
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    server.sendSignal(SIGTERM);
    for (TestClient* c : { &alice, &bob }) {
        pumpUntil([&] { return c->closed(); }, kExpectTimeoutMs);
        for (Message& m : c->drain())
            PT_CHECK_MSG(m.isObject() && m.has("type") && m.str("type") == "peer-left",
                "unexpected message during shutdown: %s", m.raw.c_str());
        c->expectClose(1001);
    }
    ExitStatus s = server.waitExit();
    PT_CHECK_MSG(s.exited && s.code == 0, "%s", s.describe().c_str());
}

void testTlsBadFiles()
{
    auto cert = makeCertificate();
    TempDir dir;
    for (auto args : std::vector<std::vector<std::string>> {
             { "--tls-cert", dir.file("nope.pem"), "--tls-key", cert->key },
             { "--tls-cert", cert->cert, "--tls-key", dir.file("nope.pem") },
             { "--tls-cert", dir.write("garbage.pem", "not a certificate\n"), "--tls-key", cert->key },
         }) {
        std::vector<std::string> full { "--host", "127.0.0.1", "--port", "0" };
        full.insert(full.end(), args.begin(), args.end());
        RunResult r = runServerToExit(full);
        PT_CHECK_MSG(r.status.exited && r.status.code == 2, "%s %s: %s", args[0].c_str(), args[1].c_str(),
            r.status.describe().c_str());
        PT_CHECK_MSG(!r.err.empty(), "nothing on stderr");
    }
}

} // namespace

void registerTests()
{
    addTest("/tls/relay", testTlsRelay);
    addTest("/tls/rooms-across-workers", testTlsRoomsAcrossWorkers);
    addTest("/tls/move-keeps-order", testTlsMoveKeepsOrder);
    addTest("/tls/plain-client-on-tls-port", testPlainClientOnTlsPort);
    addTest("/tls/web-client", testTlsWebClient);
    addTest("/tls/shutdown", testTlsShutdown);
    addTest("/tls/bad-files", testTlsBadFiles);
}
