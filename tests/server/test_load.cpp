// Load: 1,000 clients in 500 rooms of two on one event loop; every pair
// relays messages both ways (each one delivered, counted, in order), then
// everyone closes and /healthz goes back to 0 rooms and 0 peers.
#include "fixtures.h"

using namespace palaver::test;

namespace {

constexpr int kRooms = 500;
constexpr int kMessagesEachWay = 10;
constexpr int kDeadlineMs = 60000;

void waitAll(std::vector<std::unique_ptr<TestClient>>& clients, const std::function<bool(TestClient&)>& done,
    const char* what, std::source_location loc = std::source_location::current())
{
    size_t ready = 0;
    bool ok = pumpUntil(
        [&] {
            while (ready < clients.size() && done(*clients[ready]))
                ++ready;
            return ready == clients.size();
        },
        kDeadlineMs);
    if (!ok)
        fail(format("%s: only %zu of %zu clients within %d ms", what, ready, clients.size(), kDeadlineMs), loc);
}

void testThousandClients()
{
    const uint64_t limit = raiseFileLimit();
    if (limit < 2 * 2 * kRooms + 200)
        skip(format("RLIMIT_NOFILE is %" G_GUINT64_FORMAT ", too low for %d sockets", limit, 2 * kRooms));
    ServerProcess server;
    const int64_t t0 = nowMs();

    SoupSession* session = soup_session_new_with_options("max-conns", 4 * kRooms, "max-conns-per-host", 4 * kRooms,
        "timeout", 60, nullptr);
    std::vector<std::unique_ptr<TestClient>> clients;
    TestClient::Options o;
    o.session = session;
    o.connectNow = false;
    for (int i = 0; i < 2 * kRooms; ++i) {
        clients.push_back(std::make_unique<TestClient>(server, o));
        clients.back()->startConnect();
    }
    g_object_unref(session); // each client holds a reference
    waitAll(clients, [](TestClient& c) { return !c.connecting(); }, "connected");
    for (auto& c : clients)
        if (!c->connected())
            fail("a client failed to connect: " + c->connectError());
    const int64_t tConnected = nowMs();

    // Client 2r is alice, 2r+1 bob, in room r. alice joins first.
    for (int r = 0; r < kRooms; ++r)
        clients[2 * r]->send(Obj().s("type", "join").s("room", format("load-%d", r)).s("peer", "alice"));
    for (int r = 0; r < kRooms; ++r)
        clients[2 * r]->expectJson(Obj().s("type", "joined").s("room", format("load-%d", r)).s("peer", "alice")
                                       .raw("peers", "[]").raw("iceServers", "[]").str(),
            kDeadlineMs);
    for (int r = 0; r < kRooms; ++r)
        clients[2 * r + 1]->send(Obj().s("type", "join").s("room", format("load-%d", r)).s("peer", "bob"));
    for (int r = 0; r < kRooms; ++r) {
        clients[2 * r + 1]->expectJson(Obj().s("type", "joined").s("room", format("load-%d", r)).s("peer", "bob")
                                           .raw("peers", R"(["alice"])").raw("iceServers", "[]").str(),
            kDeadlineMs);
        clients[2 * r]->expectJson(R"({"type":"peer-joined","peer":"bob"})", kDeadlineMs);
    }
    Health h = healthz(server);
    PT_CHECK_EQ(h.rooms, int64_t(kRooms));
    PT_CHECK_EQ(h.peers, int64_t(2 * kRooms));
    const int64_t tJoined = nowMs();

    // Both ways at once: bob offers, alice answers and trickles candidates.
    for (int i = 0; i < kMessagesEachWay; ++i) {
        for (int r = 0; r < kRooms; ++r) {
            clients[2 * r + 1]->send(Obj().s("type", "send-offer").s("sdp", format("offer %d/%d", r, i)));
            clients[2 * r]->send(Obj().s("type", "ice-candidate").s("candidate", format("cand %d/%d", r, i))
                                     .i("sdpMLineIndex", i % 2).s("sdpMid", "0"));
        }
    }
    waitAll(clients, [](TestClient& c) { return c.queued() >= (size_t)kMessagesEachWay || c.closed(); },
        "all messages delivered");
    long delivered = 0;
    for (int r = 0; r < kRooms; ++r) {
        for (int i = 0; i < kMessagesEachWay; ++i) {
            clients[2 * r]->expectJson(
                Obj().s("type", "send-offer").s("from", "bob").s("sdp", format("offer %d/%d", r, i)).str(), 1);
            clients[2 * r + 1]->expectJson(Obj().s("type", "ice-candidate").s("from", "alice")
                                               .s("candidate", format("cand %d/%d", r, i))
                                               .i("sdpMLineIndex", i % 2).s("sdpMid", "0").str(),
                1);
            delivered += 2;
        }
    }
    PT_CHECK_EQ(delivered, long(2 * kRooms * kMessagesEachWay));
    const int64_t tRelayed = nowMs();

    // Half leave first, then everyone closes.
    for (int r = 0; r < kRooms; r += 2)
        clients[2 * r]->send(R"({"type":"leave"})");
    for (int r = 0; r < kRooms; r += 2)
        clients[2 * r + 1]->expectJson(R"({"type":"peer-left","peer":"alice"})", kDeadlineMs);
    for (auto& c : clients)
        c->close();
    waitAll(clients, [](TestClient& c) { return c.closed(); }, "closed");
    for (auto& c : clients) {
        for (Message& m : c->drain())
            PT_CHECK_MSG(m.isObject() && m.has("type") && m.str("type") == "peer-left", "unexpected %s", m.raw.c_str());
        PT_CHECK_EQ(c->closeCode(), 1000);
    }
    waitHealth(server, 0, 0, kDeadlineMs);
    clients.clear();
    g_test_message("connect %" G_GINT64_FORMAT " ms, join %" G_GINT64_FORMAT " ms, relay %" G_GINT64_FORMAT
                   " ms, close %" G_GINT64_FORMAT " ms",
        tConnected - t0, tJoined - tConnected, tRelayed - tJoined, nowMs() - tRelayed);
}

} // namespace

void registerTests()
{
    addTest("/load/1000-clients-500-rooms", testThousandClients);
}
