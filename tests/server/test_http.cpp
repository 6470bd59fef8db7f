// HTTP beside the WebSocket: /healthz, /metrics, 404s, /ws with a query
// string, and / from --web-root.
#include "fixtures.h"

using namespace palaver::test;

namespace {

using Ref = std::optional<std::string>;

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

} // namespace

void registerTests()
{
    addTest("/http/healthz", testHealthzCountsPeersInRooms);
    addTest("/http/metrics/names", testMetricsNames);
    addTest("/http/metrics/move", testMetricsMove);
    addTest("/http/not-found", testNotFound);
    addTest("/http/ws-query-string", testWsQueryString);
    addTest("/http/web-root", testWebRoot);
}
