// Start-up and shutdown of palaver-server ("Starting palaver-server"), and
// disconnects: the `listening on` line, SIGTERM/SIGINT (every WebSocket
// closed with 1001, exit 0), peers that vanish without a close (announced at
// once), rooms freed when empty.
#include "fixtures.h"

#include <csignal>

using namespace palaver::test;

namespace {

void testListeningLine()
{
    ServerProcess server;
    PT_CHECK_EQ(server.stdoutText(), format("listening on http://127.0.0.1:%d\n", server.port()));
}

void testExplicitPort()
{
    // Find a free port, then ask for it.
    GSocket* s = g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr);
    GInetAddress* lo = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress* any = g_inet_socket_address_new(lo, 0);
    PT_CHECK(g_socket_bind(s, any, FALSE, nullptr));
    GSocketAddress* bound = g_socket_get_local_address(s, nullptr);
    int port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    g_object_unref(any);
    g_object_unref(lo);
    g_socket_close(s, nullptr);
    g_object_unref(s);

    ServerProcess::Options o;
    o.defaultAddress = false;
    ServerProcess server({ "--host", "127.0.0.1", "--port", std::to_string(port) }, o);
    PT_CHECK_EQ(server.port(), port);
    PT_CHECK_EQ(server.listeningLine(), format("listening on http://127.0.0.1:%d", port));
    TestClient c(server);
    roundTrip(c);
}

void testPortInUse()
{
    // The workers share their port through SO_REUSEPORT, which once let a
    // second server bind a port the first listens on: the kernel then split
    // the connections (and rooms) between two processes. It must refuse.
    ServerProcess first;
    RunResult r = runServerToExit({ "--host", "127.0.0.1", "--port", std::to_string(first.port()) });
    PT_CHECK_MSG(r.status.exited && r.status.code != 0, "second server on port %d: %s", first.port(), r.status.describe().c_str());
    PT_CHECK_MSG(!r.err.empty(), "second server on port %d failed without a message", first.port());
    PT_CHECK(r.out.find("listening") == std::string::npos);
    TestClient c(first);
    roundTrip(c);
}

// Waits for c's close; only peer-left may come before it (others closing at
// the same moment).
void expectShutdownClose(TestClient& c, std::source_location loc = std::source_location::current())
{
    pumpUntil([&] { return c.closed(); }, kExpectTimeoutMs);
    for (Message& m : c.drain())
        if (!(m.isObject() && m.has("type") && m.str("type") == "peer-left"))
            fail("unexpected message during shutdown: " + m.raw, loc);
    c.expectClose(1001, 1, loc);
}

void shutdownWith(int signal)
{
    ServerProcess server;
    TestClient alice(server), bob(server), idle(server);
    RawClient raw(server);
    joinPair(alice, bob);
    roundTrip(idle);
    roundTrip(raw);
    server.sendSignal(signal);
    expectShutdownClose(alice);
    expectShutdownClose(bob);
    expectShutdownClose(idle);
    raw.expectClose(1001);
    ExitStatus s = server.waitExit();
    PT_CHECK_MSG(s.exited && s.code == 0, "after %s: %s", g_strsignal(signal), s.describe().c_str());
}

void testSigterm()
{
    shutdownWith(SIGTERM);
}

void testSigint()
{
    shutdownWith(SIGINT);
}

void testSigtermIdle()
{
    ServerProcess server;
    server.sendSignal(SIGTERM);
    ExitStatus s = server.waitExit(5000);
    PT_CHECK_MSG(s.exited && s.code == 0, "%s", s.describe().c_str());
}

void testSigtermManyClients()
{
    raiseFileLimit();
    ServerProcess server;
    std::vector<std::unique_ptr<TestClient>> clients;
    for (int i = 0; i < 60; ++i) {
        clients.push_back(std::make_unique<TestClient>(server));
        clients.back()->joinRaw(format("room%d", i % 10), format("p%d", i));
    }
    // Everyone has seen the later joiners of their room: 5+4+...+0 each.
    for (int i = 0; i < 60; ++i) {
        const size_t later = (size_t)(5 - i / 10);
        TestClient& c = *clients[i];
        PT_CHECK_MSG(pumpUntil([&] { return c.queued() >= later; }, kExpectTimeoutMs), "missing peer-joined");
        for (Message& m : c.drain())
            PT_CHECK_EQ(m.type(), std::string("peer-joined"));
    }
    server.sendSignal(SIGTERM);
    for (auto& c : clients)
        expectShutdownClose(*c);
    ExitStatus s = server.waitExit();
    PT_CHECK_MSG(s.exited && s.code == 0, "%s", s.describe().c_str());
}

void testAbruptDisconnect()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    const int64_t t0 = nowMs();
    bob.abort();
    alice.expectJson(R"({"type":"peer-left","peer":"bob"})", 2000);
    PT_CHECK_MSG(nowMs() - t0 < 1500, "peer-left after %" G_GINT64_FORMAT " ms", nowMs() - t0);
    // A raw peer that vanishes.
    RawClient raw(server);
    raw.sendText(R"({"type":"join","room":"room","peer":"carol"})");
    raw.expectJson(R"({"type":"joined","room":"room","peer":"carol","peers":["alice"],"iceServers":[]})");
    alice.expectJson(R"({"type":"peer-joined","peer":"carol"})");
    raw.drop();
    alice.expectJson(R"({"type":"peer-left","peer":"carol"})", 2000);
    // Dropped in the middle of a frame.
    RawClient half(server);
    half.sendText(R"({"type":"join","room":"room","peer":"dave"})");
    half.expectJson(R"({"type":"joined","room":"room","peer":"dave","peers":["alice"],"iceServers":[]})");
    alice.expectJson(R"({"type":"peer-joined","peer":"dave"})");
    half.sendBytes(std::string("\x81\xfe\x10\x00\x01\x02\x03\x04{\"type\":", 16));
    half.drop();
    alice.expectJson(R"({"type":"peer-left","peer":"dave"})", 2000);
    waitHealth(server, 1, 1);
}

void testRoomsFreed()
{
    ServerProcess server;
    waitHealth(server, 0, 0);
    TestClient alice(server), bob(server), carol(server), idle(server);
    alice.join("one", "alice");
    waitHealth(server, 1, 1);
    bob.join("one", "bob", { "alice" });
    waitHealth(server, 1, 2);
    carol.join("two", "carol");
    waitHealth(server, 2, 3);
    alice.send(R"({"type":"leave"})");
    waitHealth(server, 2, 2);
    bob.abort();
    waitHealth(server, 1, 1);
    carol.close();
    carol.expectClose(1000);
    waitHealth(server, 0, 0);
    // A room can be made again with the same name.
    alice.expectJson(R"({"type":"peer-joined","peer":"bob"})");
    alice.expectNothing(50);
    alice.join("one", "alice");
    waitHealth(server, 1, 1);
}

void testChurn()
{
    raiseFileLimit();
    ServerProcess server({ "--max-room-peers", "32" });
    for (int round = 0; round < 5; ++round) {
        std::vector<std::unique_ptr<TestClient>> clients;
        for (int i = 0; i < 20; ++i) {
            clients.push_back(std::make_unique<TestClient>(server));
            clients.back()->joinRaw("churn", std::nullopt);
        }
        for (size_t i = 0; i < clients.size(); ++i) {
            if (i % 2)
                clients[i]->abort();
            else
                clients[i]->close();
        }
        clients.clear();
        waitHealth(server, 0, 0);
    }
    // Connections that never upgrade or send half a request.
    for (int i = 0; i < 10; ++i) {
        RawClient r(server, "/ws", false);
        r.sendBytes("GET /ws HTTP/1.1\r\nHost: x\r\n");
    }
    TestClient c(server);
    c.join("churn", "last");
}

} // namespace

void registerTests()
{
    addTest("/lifecycle/listening-line", testListeningLine);
    addTest("/lifecycle/explicit-port", testExplicitPort);
    addTest("/lifecycle/port-in-use", testPortInUse);
    addTest("/lifecycle/sigterm", testSigterm);
    addTest("/lifecycle/sigint", testSigint);
    addTest("/lifecycle/sigterm-idle", testSigtermIdle);
    addTest("/lifecycle/sigterm-many-clients", testSigtermManyClients);
    addTest("/lifecycle/abrupt-disconnect", testAbruptDisconnect);
    addTest("/lifecycle/rooms-freed", testRoomsFreed);
    addTest("/lifecycle/churn", testChurn);
}
