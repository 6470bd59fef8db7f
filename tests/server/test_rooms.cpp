// Rooms across worker threads (--workers): the kernel spreads connections
// over the workers by SO_REUSEPORT hashing, so with a few dozen clients every
// worker gets some and rooms span workers. Plus mesh negotiation in larger
// rooms and isolation between rooms.
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
    std::vector<std::pair<std::unique_ptr<TestClient>, std::unique_ptr<TestClient>>> pairs;
    for (int r = 0; r < 20; ++r) {
        auto a = std::make_unique<TestClient>(server);
        auto b = std::make_unique<TestClient>(server);
        std::string room = format("room-%d", r);
        joinPair(*a, *b, room);
        pairs.emplace_back(std::move(a), std::move(b));
    }
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
    addTest("/rooms/case-sensitive", testRoomNamesAreCaseSensitive);
}
