// Rooms across worker threads (--workers): the kernel spreads connections
// over the workers by SO_REUSEPORT hashing, so with a few dozen clients every
// worker accepts some, and a room's peers accepted by different workers all
// end up served by the worker that owns the room (seen in /metrics' per-worker
// series). Plus mesh negotiation in larger rooms and isolation between rooms.
#include "fixtures.h"

using namespace palaver::test;

namespace {

using Clients = std::vector<std::unique_ptr<TestClient>>;

// n clients join `room` as p00, p01, ... checking joined/peer-joined exactly.
Clients fillRoom(const ServerProcess& server, std::string_view room, int n)
{
    Clients clients;
    std::vector<std::string> ids;
    for (int i = 0; i < n; ++i) {
        clients.push_back(std::make_unique<TestClient>(server));
        std::string id = format("p%02d", i);
        clients.back()->join(room, id, ids);
        for (int j = 0; j < i; ++j)
            clients[j]->expectJson(Obj().s("type", "peer-joined").s("peer", id).str());
        ids.push_back(id);
    }
    return clients;
}

void fullMesh(Clients& clients)
{
    const int n = (int)clients.size();
    // Every newcomer offered to everyone before it; answers go back.
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < i; ++j)
            clients[i]->send(Obj().s("type", "send-offer").s("to", format("p%02d", j)).s("sdp", format("offer %d>%d", i, j)));
    for (int j = 0; j < n; ++j) {
        // p_j receives offers from every later peer, in the order each sender
        // sent them (senders interleave freely).
        std::vector<bool> seen(n, false);
        for (int k = j + 1; k < n; ++k) {
            Message m = clients[j]->expect();
            checkMembers(m, { "type", "from", "sdp" });
            int from = std::atoi(m.str("from").c_str() + 1);
            PT_CHECK_MSG(from > j && from < n && !seen[from], "unexpected offer %s at p%02d", m.raw.c_str(), j);
            seen[from] = true;
            checkJson(m, Obj().s("type", "send-offer").s("from", format("p%02d", from)).s("sdp", format("offer %d>%d", from, j)).str());
        }
    }
    // Only then the answers, so that offers and answers do not interleave.
    for (int j = 0; j < n; ++j)
        for (int from = j + 1; from < n; ++from)
            clients[j]->send(Obj().s("type", "send-answer").s("to", format("p%02d", from)).s("sdp", format("answer %d>%d", j, from)));
    for (int i = 0; i < n; ++i) {
        std::vector<bool> seen(n, false);
        for (int k = 0; k < i; ++k) {
            Message m = clients[i]->expect();
            int from = std::atoi(m.str("from").c_str() + 1);
            PT_CHECK_MSG(from < i && !seen[from], "unexpected answer %s at p%02d", m.raw.c_str(), i);
            seen[from] = true;
            checkJson(m, Obj().s("type", "send-answer").s("from", format("p%02d", from)).s("sdp", format("answer %d>%d", from, i)).str());
        }
        clients[i]->expectNothing(1);
    }
}

void testCrossWorkerRoom()
{
    raiseFileLimit();
    ServerProcess server({ "--workers", "2", "--max-room-peers", "64" });
    Clients clients = fillRoom(server, "big", 24);
    fullMesh(clients);
    // Leaving is announced to everyone, whatever their worker.
    for (int i = 0; i < 24; i += 2)
        clients[i]->close();
    for (int i = 0; i < 24; i += 2) {
        TestClient& c = *clients[i];
        PT_CHECK_MSG(pumpUntil([&] { return c.closed(); }, kExpectTimeoutMs), "p%02d not closed", i);
        // Those closing at the same time may see each other leave first.
        for (Message& m : c.drain())
            PT_CHECK_EQ(m.type(), std::string("peer-left"));
        c.expectClose(1000, 1);
    }
    for (int i = 1; i < 24; i += 2) {
        std::vector<std::string> left;
        for (int j = 0; j < 24; j += 2)
            left.push_back(Obj().s("type", "peer-left").s("peer", format("p%02d", j)).str());
        expectUnordered(*clients[i], left);
    }
    waitHealth(server, 1, 12);
}

void testManyRoomsManyWorkers()
{
    raiseFileLimit();
    ServerProcess server({ "--workers", "4" });
    ClientPairs pairs = joinPairs(server, 20, "room");
    waitHealth(server, 20, 40);
    for (int r = 0; r < 20; ++r)
        pairs[r].second->send(Obj().s("type", "send-offer").s("sdp", format("offer-%d", r)));
    for (int r = 0; r < 20; ++r) {
        pairs[r].first->expectJson(Obj().s("type", "send-offer").s("from", "bob").s("sdp", format("offer-%d", r)).str());
        pairs[r].first->send(Obj().s("type", "send-answer").s("sdp", format("answer-%d", r)));
    }
    for (int r = 0; r < 20; ++r) {
        pairs[r].second->expectJson(Obj().s("type", "send-answer").s("from", "alice").s("sdp", format("answer-%d", r)).str());
        pairs[r].first->expectNothing(1);
    }
    pairs.clear();
    waitHealth(server, 0, 0);
}

void testMeshOneWorker()
{
    ServerProcess server({ "--workers", "1" });
    Clients clients = fillRoom(server, "mesh", 4);
    fullMesh(clients);
}

void testMeshDefaultWorkers()
{
    ServerProcess server;
    Clients clients = fillRoom(server, "mesh", 6);
    fullMesh(clients);
}

// /metrics' per-worker series, by worker index.
std::vector<double> perWorker(const std::vector<std::pair<std::string, double>>& all, const char* name, int workers)
{
    std::vector<double> values;
    for (int i = 0; i < workers; ++i) {
        std::string series = format("%s{worker=\"%d\"}", name, i);
        PT_CHECK_MSG(hasMetric(all, series), "%s missing from /metrics", series.c_str());
        values.push_back(metric(all, series));
    }
    return values;
}

// Each room's messages are received by one worker only, and the rooms are
// spread evenly: the peers of a room, wherever the kernel put them, are
// served by the room's worker.
void testRoomLivesOnOneWorker()
{
    constexpr int kRooms = 12;
    constexpr int kEach = 20;
    ServerProcess server({ "--workers", "2" });
    ClientPairs pairs = joinPairs(server, kRooms, "placed");
    waitHealth(server, kRooms, 2 * kRooms);
    auto m = metrics(server);
    for (const char* name : { "palaver_worker_rooms", "palaver_worker_peers", "palaver_worker_connections" }) {
        auto values = perWorker(m, name, 2);
        double want = std::string(name) == "palaver_worker_rooms" ? kRooms / 2 : kRooms;
        PT_CHECK_MSG(values[0] == want && values[1] == want, "%s: %g and %g, expected %g each", name, values[0], values[1], want);
    }
    for (int r = 0; r < kRooms; ++r) {
        auto& [alice, bob] = pairs[r];
        auto before = perWorker(metrics(server), "palaver_worker_messages_received_total", 2);
        for (int k = 0; k < kEach; ++k) {
            bob->send(Obj().s("type", "send-offer").s("sdp", format("offer-%d-%d", r, k)));
            alice->send(Obj().s("type", "send-answer").s("sdp", format("answer-%d-%d", r, k)));
        }
        for (int k = 0; k < kEach; ++k) {
            alice->expectJson(Obj().s("type", "send-offer").s("from", "bob").s("sdp", format("offer-%d-%d", r, k)).str());
            bob->expectJson(Obj().s("type", "send-answer").s("from", "alice").s("sdp", format("answer-%d-%d", r, k)).str());
        }
        auto after = perWorker(metrics(server), "palaver_worker_messages_received_total", 2);
        double d0 = after[0] - before[0];
        double d1 = after[1] - before[1];
        PT_CHECK_MSG((d0 == 2 * kEach && d1 == 0) || (d0 == 0 && d1 == 2 * kEach),
            "room %d: worker 0 received %g and worker 1 %g of its %d messages; expected all on one", r, d0, d1, 2 * kEach);
    }
    m = metrics(server);
    PT_CHECK_EQ(metric(m, "palaver_messages_crossed_workers_total"), 0.0);
    // 24 connections each accepted by either worker: some had to move.
    PT_CHECK_MSG(metric(m, "palaver_connections_moved_total") > 0, "no connection was moved to its room's worker");
    pairs.clear();
    waitHealth(server, 0, 0);
}

// A join for a room on the other worker, with messages right behind it in
// the same TCP segment (even in the upgrade request's): the connection
// moves with those bytes and they are relayed in order after `joined`; the
// peer already there can answer at once.
void testMoveKeepsOrder()
{
    constexpr int kOffers = 10;
    ServerProcess server({ "--workers", "2" });
    bool moved = false;
    // The kernel picks the worker that accepts: try until one had to move.
    for (int attempt = 0; attempt < 40 && !moved; ++attempt) {
        std::string room = format("order-%d", attempt);
        TestClient alice(server);
        alice.join(room, "alice");
        double before = metric(metrics(server), "palaver_connections_moved_total");
        RawClient bob(server, "/ws", false);
        std::string frames = RawClient::frame(kText, Obj().s("type", "join").s("room", room).s("peer", "bob"));
        for (int k = 0; k < kOffers; ++k)
            frames += RawClient::frame(kText, Obj().s("type", "send-offer").s("sdp", format("offer-%d", k)));
        PT_CHECK_EQ(bob.upgrade("/ws", frames), 101);
        bob.expectJson(Obj().s("type", "joined").s("room", room).s("peer", "bob").raw("peers", R"(["alice"])").raw("iceServers", "[]").str());
        alice.expectJson(R"({"type":"peer-joined","peer":"bob"})");
        alice.send(R"({"type":"send-answer","sdp":"early"})");
        for (int k = 0; k < kOffers; ++k)
            alice.expectJson(Obj().s("type", "send-offer").s("from", "bob").s("sdp", format("offer-%d", k)).str());
        bob.expectJson(R"({"type":"send-answer","from":"alice","sdp":"early"})");
        roundTrip(bob);
        moved = metric(metrics(server), "palaver_connections_moved_total") > before;
    }
    PT_CHECK_MSG(moved, "in 40 tries, no connection was accepted by the worker not owning its room");
    PT_CHECK_EQ(metric(metrics(server), "palaver_messages_crossed_workers_total"), 0.0);
}

// A connection that leaves one room and joins another moves to the new
// room's worker. Rooms go to the least loaded worker: x to either, then y
// to the other one.
void testMoveWithNextRoom()
{
    ServerProcess server({ "--workers", "2" });
    TestClient a(server), b(server), c(server);
    a.join("x", "a");
    b.join("y", "b");
    c.join("x", "c", { "a" });
    a.expectJson(R"({"type":"peer-joined","peer":"c"})");
    auto connections = perWorker(metrics(server), "palaver_worker_connections", 2);
    // x's worker serves a and c.
    PT_CHECK_MSG((connections[0] == 2 && connections[1] == 1) || (connections[0] == 1 && connections[1] == 2),
        "connections per worker: %g and %g, expected 2 and 1 in some order", connections[0], connections[1]);
    const int x = connections[0] == 2 ? 0 : 1;
    c.send(R"({"type":"leave"})");
    a.expectJson(R"({"type":"peer-left","peer":"c"})");
    c.join("y", "c", { "b" });
    b.expectJson(R"({"type":"peer-joined","peer":"c"})");
    connections = perWorker(metrics(server), "palaver_worker_connections", 2);
    PT_CHECK_MSG(connections[x] == 1 && connections[1 - x] == 2, "connections per worker after the move: %g and %g, expected x's (%d) to have 1",
        connections[0], connections[1], x);
    c.send(R"({"type":"send-offer","sdp":"o"})");
    b.expectJson(R"({"type":"send-offer","from":"c","sdp":"o"})");
    b.send(R"({"type":"send-answer","sdp":"a"})");
    c.expectJson(R"({"type":"send-answer","from":"b","sdp":"a"})");
    a.expectNothing(100);
    auto m = metrics(server);
    PT_CHECK_EQ(metric(m, "palaver_messages_crossed_workers_total"), 0.0);
    auto rooms = perWorker(m, "palaver_worker_rooms", 2);
    PT_CHECK_MSG(rooms[0] == 1 && rooms[1] == 1, "rooms per worker: %g and %g", rooms[0], rooms[1]);
}

void testRoomIsolation()
{
    ServerProcess server;
    TestClient a1(server), b1(server), a2(server), b2(server);
    joinPair(a1, b1, "one");
    joinPair(a2, b2, "two");
    b1.send(R"({"type":"send-offer","sdp":"one"})");
    b2.send(R"({"type":"send-offer","sdp":"two"})");
    a1.expectJson(R"({"type":"send-offer","from":"bob","sdp":"one"})");
    a2.expectJson(R"({"type":"send-offer","from":"bob","sdp":"two"})");
    b1.close();
    b1.expectClose(1000);
    a1.expectJson(R"({"type":"peer-left","peer":"bob"})");
    a2.expectNothing(200);
    b2.expectNothing(1);
}

void testRoomNamesAreCaseSensitive()
{
    ServerProcess server;
    TestClient a(server), b(server);
    a.join("Room", "a");
    b.join("room", "b");
    a.expectNothing(100);
    Health h = healthz(server);
    PT_CHECK_EQ(h.rooms, int64_t(2));
}

} // namespace

void registerTests()
{
    addTest("/rooms/cross-worker", testCrossWorkerRoom);
    addTest("/rooms/many-rooms-many-workers", testManyRoomsManyWorkers);
    addTest("/rooms/mesh-one-worker", testMeshOneWorker);
    addTest("/rooms/mesh-default-workers", testMeshDefaultWorkers);
    addTest("/rooms/isolation", testRoomIsolation);
    addTest("/rooms/one-worker-per-room", testRoomLivesOnOneWorker);
    addTest("/rooms/move-keeps-order", testMoveKeepsOrder);
    addTest("/rooms/move-with-next-room", testMoveWithNextRoom);
    addTest("/rooms/case-sensitive", testRoomNamesAreCaseSensitive);
}
