// Joining, relaying and leaving: every client and server message type of
// docs/protocol.md with its exact member set ("Every message from the server
// carries exactly the members listed for it, nothing more").
#include "fixtures.h"

using namespace palaver::test;

namespace {

void testJoinedExact()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    alice.send(R"({"type":"join","room":"demo","peer":"alice"})");
    alice.expectJson(R"({"type":"joined","room":"demo","peer":"alice","peers":[],"iceServers":[]})");
    bob.send(R"({"type":"join","room":"demo","peer":"bob"})");
    bob.expectJson(R"({"type":"joined","room":"demo","peer":"bob","peers":["alice"],"iceServers":[]})");
    alice.expectJson(R"({"type":"peer-joined","peer":"bob"})");
    bob.expectNothing();
    alice.expectNothing();
}

void testThreePeersOldestFirst()
{
    ServerProcess server;
    TestClient alice(server), bob(server), carol(server);
    // Ids chosen so that join order differs from sort order.
    alice.join("r", "zed");
    bob.join("r", "amy", { "zed" });
    alice.expectJson(R"({"type":"peer-joined","peer":"amy"})");
    carol.join("r", "mid", { "zed", "amy" });
    alice.expectJson(R"({"type":"peer-joined","peer":"mid"})");
    bob.expectJson(R"({"type":"peer-joined","peer":"mid"})");
    carol.expectNothing();
}

void testAssignedIds()
{
    ServerProcess server;
    TestClient a(server), b(server), c(server);
    a.send(R"({"type":"join","room":"r"})");
    Message ja = a.expect();
    checkMembers(ja, { "type", "room", "peer", "peers", "iceServers" });
    std::string ida = ja.str("peer");
    PT_CHECK_MSG(isValidId(ida), "assigned id is not a valid id: %s", ida.c_str());
    checkJson(ja, Obj().s("type", "joined").s("room", "r").s("peer", ida).raw("peers", "[]").raw("iceServers", "[]"));
    // `"peer": null` counts as absent.
    b.send(R"({"type":"join","room":"r","peer":null})");
    Message jb = b.expect();
    std::string idb = jb.has("peer") ? jb.str("peer") : "";
    PT_CHECK_MSG(isValidId(idb), "assigned id is not a valid id: %s", jb.raw.c_str());
    PT_CHECK_MSG(ida != idb, "two assigned ids are equal: %s", ida.c_str());
    checkJson(jb, Obj().s("type", "joined").s("room", "r").s("peer", idb).raw("peers", "[" + jstr(ida) + "]")
                      .raw("iceServers", "[]"));
    a.expectJson(Obj().s("type", "peer-joined").s("peer", idb).str());
    // A third, named peer sees both assigned ids, oldest first.
    c.join("r", "carol", { ida, idb });
    // Relay with the assigned ids.
    c.send(Obj().s("type", "send-offer").s("to", ida).s("sdp", "v=0"));
    a.expectJson(R"({"type":"peer-joined","peer":"carol"})");
    b.expectJson(R"({"type":"peer-joined","peer":"carol"})");
    a.expectJson(R"({"type":"send-offer","from":"carol","sdp":"v=0"})");
    b.expectNothing();
}

void testOfferWithoutTo()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    bob.send(R"({"type":"send-offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n"})");
    bob.expectNothing();
}

void testOfferAnswerWithTo()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    bob.send(R"({"type":"send-offer","to":"alice","sdp":"offer-sdp"})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"offer-sdp"})");
    alice.send(R"({"type":"send-answer","to":"bob","sdp":"answer-sdp"})");
    bob.expectJson(R"({"type":"send-answer","from":"alice","sdp":"answer-sdp"})");
    // And without `to` in a two-peer room.
    alice.send(R"({"type":"send-answer","sdp":"answer-2"})");
    bob.expectJson(R"({"type":"send-answer","from":"alice","sdp":"answer-2"})");
    alice.expectNothing(100);
    bob.expectNothing(100);
}

void testToNullCountsAsAbsent()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    bob.send(R"({"type":"send-offer","sdp":"x","to":null})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"x"})");
    bob.send(R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":0,"to":null})");
    alice.expectJson(R"({"type":"ice-candidate","from":"bob","candidate":"c","sdpMLineIndex":0})");
}

void testCandidateWithMid()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    alice.send(R"({"type":"ice-candidate","to":"bob","candidate":"candidate:1 1 UDP 2122252543 192.0.2.1 54400 typ host","sdpMLineIndex":0,"sdpMid":"0"})");
    bob.expectJson(R"({"type":"ice-candidate","from":"alice","candidate":"candidate:1 1 UDP 2122252543 192.0.2.1 54400 typ host","sdpMLineIndex":0,"sdpMid":"0"})");
    alice.send(R"({"type":"ice-candidate","candidate":"candidate:2 1 UDP 1 192.0.2.2 9 typ host","sdpMLineIndex":1,"sdpMid":"video"})");
    bob.expectJson(R"({"type":"ice-candidate","from":"alice","candidate":"candidate:2 1 UDP 1 192.0.2.2 9 typ host","sdpMLineIndex":1,"sdpMid":"video"})");
}

void testCandidateWithoutMid()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    alice.send(R"({"type":"ice-candidate","candidate":"candidate:1 1 UDP 1 192.0.2.1 9 typ host","sdpMLineIndex":3})");
    Message m = bob.expect();
    checkMembers(m, { "type", "from", "candidate", "sdpMLineIndex" });
    checkJson(m, R"({"type":"ice-candidate","from":"alice","candidate":"candidate:1 1 UDP 1 192.0.2.1 9 typ host","sdpMLineIndex":3})");
}

void testCandidateMidNull()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    // What a browser's RTCIceCandidate.toJSON() gives for a candidate without mid.
    alice.send(R"({"type":"ice-candidate","candidate":"candidate:1 1 UDP 1 192.0.2.1 9 typ host","sdpMLineIndex":0,"sdpMid":null,"usernameFragment":null})");
    Message m = bob.expect();
    checkMembers(m, { "type", "from", "candidate", "sdpMLineIndex" });
    checkJson(m, R"({"type":"ice-candidate","from":"alice","candidate":"candidate:1 1 UDP 1 192.0.2.1 9 typ host","sdpMLineIndex":0})");
}

void testEndOfCandidates()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    alice.send(R"({"type":"ice-candidate","to":"bob","candidate":"","sdpMLineIndex":0,"sdpMid":"0"})");
    bob.expectJson(R"({"type":"ice-candidate","from":"alice","candidate":"","sdpMLineIndex":0,"sdpMid":"0"})");
    alice.send(R"({"type":"ice-candidate","candidate":"","sdpMLineIndex":1})");
    bob.expectJson(R"({"type":"ice-candidate","from":"alice","candidate":"","sdpMLineIndex":1})");
}

void testSpoofedFromReplaced()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    bob.send(R"({"type":"send-offer","from":"mallory","sdp":"x"})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"x"})");
    bob.send(R"({"type":"send-answer","from":"alice","sdp":"y"})");
    alice.expectJson(R"({"type":"send-answer","from":"bob","sdp":"y"})");
    bob.send(R"({"type":"ice-candidate","from":"mallory","candidate":"c","sdpMLineIndex":0})");
    alice.expectJson(R"({"type":"ice-candidate","from":"bob","candidate":"c","sdpMLineIndex":0})");
    // `from` of a wrong type is an unknown member: ignored.
    bob.send(R"({"type":"send-offer","from":42,"sdp":"z"})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"z"})");
}

void testExtraMembersNotForwarded()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    bob.send(R"({"type":"send-offer","to":"alice","sdp":"x","extra":{"a":[1,2]},"room":"other","peer":"p","n":1})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"x"})");
    bob.send(R"({"sdp":"y","x":null,"type":"send-answer","to":"alice","version":2})");
    alice.expectJson(R"({"type":"send-answer","from":"bob","sdp":"y"})");
    bob.send(R"({"type":"ice-candidate","to":"alice","candidate":"c","sdpMLineIndex":0,"sdpMid":"0","usernameFragment":"abcd","foo":true})");
    alice.expectJson(R"({"type":"ice-candidate","from":"bob","candidate":"c","sdpMLineIndex":0,"sdpMid":"0"})");
    // Extra members on join and ping are ignored too.
    TestClient carol(server);
    carol.send(R"({"type":"ping","seq":5})");
    carol.expectJson(R"({"type":"pong"})");
}

void testLargeUnicodeSdp()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    // ~60 KB (once escaped) of SDP-like lines with 2-, 3- and 4-byte UTF-8 characters, quotes,
    // backslashes, tabs and CRLF; the frame stays under the 65536 default.
    std::string sdp;
    for (int i = 0; sdp.size() < 56000; ++i)
        sdp += format("a=x-line:%d caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \"q\" \\b\\ \t end\r\n", i);
    std::string frame = Obj().s("type", "send-offer").s("sdp", sdp).str();
    PT_CHECK_MSG(frame.size() < 65536, "test frame too large: %zu", frame.size());
    bob.send(frame);
    Message m = alice.expect();
    checkMembers(m, { "type", "from", "sdp" });
    PT_CHECK_EQ(m.str("from"), std::string("bob"));
    std::string got = m.str("sdp");
    PT_CHECK_MSG(got == sdp, "sdp not relayed byte for byte (sent %zu bytes, got %zu)", sdp.size(), got.size());
}

void testEscapedSdp()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    // JSON escapes on the way in must decode to the same string on the way out.
    bob.send(R"({"type":"send-offer","sdp":"a\u00e9\u20ac\ud83d\ude00\/\"\\\b\f\n\r\t\u0001\u001f\u007f z"})");
    Message m = alice.expect();
    checkMembers(m, { "type", "from", "sdp" });
    PT_CHECK_EQ(m.str("sdp"), std::string("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/\"\\\b\f\n\r\t\x01\x1f\x7f z"));
}

void testNulInSdp()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    // "SDP and candidate strings never contain U+0000; a message with one may
    // be refused with bad-message." What must not happen: a truncated relay.
    bob.send(R"({"type":"send-offer","sdp":"before\u0000after"})");
    pumpUntil([&] { return alice.queued() > 0 || bob.queued() > 0; }, kExpectTimeoutMs);
    if (bob.queued() > 0) {
        bob.expectError("bad-message", std::string("send-offer"));
        alice.expectNothing(200);
    } else {
        // json-glib stops at U+0000, so check the raw text.
        Message m = alice.expect();
        PT_CHECK_MSG(m.raw.find("send-offer") != std::string::npos && m.raw.find("after") != std::string::npos,
            "sdp truncated at U+0000: %s", m.raw.c_str());
    }
    roundTrip(bob);
}

void testThreePeersTo()
{
    ServerProcess server;
    TestClient alice(server), bob(server), carol(server);
    alice.join("r", "alice");
    bob.join("r", "bob", { "alice" });
    alice.expectJson(R"({"type":"peer-joined","peer":"bob"})");
    carol.join("r", "carol", { "alice", "bob" });
    alice.expectJson(R"({"type":"peer-joined","peer":"carol"})");
    bob.expectJson(R"({"type":"peer-joined","peer":"carol"})");
    // The newcomer offers to every id in `peers`.
    carol.send(R"({"type":"send-offer","to":"alice","sdp":"o1"})");
    carol.send(R"({"type":"send-offer","to":"bob","sdp":"o2"})");
    alice.expectJson(R"({"type":"send-offer","from":"carol","sdp":"o1"})");
    bob.expectJson(R"({"type":"send-offer","from":"carol","sdp":"o2"})");
    alice.send(R"({"type":"send-answer","to":"carol","sdp":"a1"})");
    bob.send(R"({"type":"send-answer","to":"carol","sdp":"a2"})");
    Message first = carol.expect();
    Message second = carol.expect();
    if (first.str("from") == "bob")
        std::swap(first, second);
    checkJson(first, R"({"type":"send-answer","from":"alice","sdp":"a1"})");
    checkJson(second, R"({"type":"send-answer","from":"bob","sdp":"a2"})");
    bob.send(R"({"type":"ice-candidate","to":"alice","candidate":"c","sdpMLineIndex":0,"sdpMid":"0"})");
    alice.expectJson(R"({"type":"ice-candidate","from":"bob","candidate":"c","sdpMLineIndex":0,"sdpMid":"0"})");
    alice.expectNothing(100);
    bob.expectNothing(100);
    carol.expectNothing(100);
}

void testOrderPreserved()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    for (int i = 0; i < 100; ++i)
        alice.send(Obj().s("type", "ice-candidate").s("candidate", format("candidate:%d", i)).i("sdpMLineIndex", i % 2));
    for (int i = 0; i < 100; ++i)
        bob.expectJson(Obj().s("type", "ice-candidate").s("from", "alice").s("candidate", format("candidate:%d", i))
                           .i("sdpMLineIndex", i % 2).str());
}

void testPing()
{
    ServerProcess server;
    TestClient alice(server);
    // Before join.
    alice.send(R"({"type":"ping"})");
    alice.expectJson(R"({"type":"pong"})");
    alice.join("r", "alice");
    alice.send(R"({"type":"ping"})");
    alice.expectJson(R"({"type":"pong"})");
    alice.expectNothing(100);
}

void testLeaveAndRejoin()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    alice.send(R"({"type":"leave"})");
    bob.expectJson(R"({"type":"peer-left","peer":"alice"})");
    // `leave` has no reply.
    alice.expectNothing(200);
    // Not in a room any more.
    alice.send(R"({"type":"send-offer","sdp":"x"})");
    alice.expectError("not-joined", std::string("send-offer"));
    alice.send(R"({"type":"leave"})");
    alice.expectError("not-joined", std::string("leave"));
    // bob is alone: no `to` is not enough.
    bob.send(R"({"type":"send-offer","sdp":"x"})");
    bob.expectError("unknown-peer", std::string("send-offer"));
    bob.send(R"({"type":"send-offer","to":"alice","sdp":"x"})");
    bob.expectError("unknown-peer", std::string("send-offer"));
    // Join again on the same connection with the same id.
    alice.join("room", "alice", { "bob" });
    bob.expectJson(R"({"type":"peer-joined","peer":"alice"})");
    alice.send(R"({"type":"send-offer","sdp":"again"})");
    bob.expectJson(R"({"type":"send-offer","from":"alice","sdp":"again"})");
}

void testSecondRoom()
{
    ServerProcess server;
    TestClient alice(server), bob(server), carol(server);
    joinPair(alice, bob, "one");
    carol.join("two", "carol");
    alice.send(R"({"type":"leave"})");
    bob.expectJson(R"({"type":"peer-left","peer":"alice"})");
    alice.join("two", "alice", { "carol" });
    carol.expectJson(R"({"type":"peer-joined","peer":"alice"})");
    alice.send(R"({"type":"send-offer","sdp":"x"})");
    carol.expectJson(R"({"type":"send-offer","from":"alice","sdp":"x"})");
    bob.expectNothing(100);
}

void testSameIdInTwoRooms()
{
    ServerProcess server;
    TestClient a1(server), a2(server);
    a1.join("one", "alice");
    a2.join("two", "alice");
    a1.expectNothing(100);
}

void testIdsAtTheLimits()
{
    ServerProcess server;
    TestClient a(server), b(server);
    const std::string longRoom(64, 'r');
    const std::string longPeer = "A-z_0.9" + std::string(57, 'p');
    PT_CHECK_EQ(longPeer.size(), size_t(64));
    a.join(longRoom, longPeer);
    b.join(longRoom, "x", { longPeer });
    a.expectJson(R"({"type":"peer-joined","peer":"x"})");
    b.send(Obj().s("type", "send-offer").s("to", longPeer).s("sdp", "s"));
    a.expectJson(R"({"type":"send-offer","from":"x","sdp":"s"})");
    TestClient c(server);
    c.join("._-", "-");
}

void testNormalClose()
{
    ServerProcess server;
    TestClient alice(server), bob(server);
    joinPair(alice, bob);
    alice.close(1000);
    alice.expectClose(1000);
    bob.expectJson(R"({"type":"peer-left","peer":"alice"})");
    bob.expectNothing(100);
}

void testRawNormalClose()
{
    ServerProcess server;
    TestClient bob(server);
    RawClient alice(server);
    bob.join("r", "bob");
    alice.sendText(R"({"type":"join","room":"r","peer":"alice"})");
    alice.expectJson(R"({"type":"joined","room":"r","peer":"alice","peers":["bob"],"iceServers":[]})");
    bob.expectJson(R"({"type":"peer-joined","peer":"alice"})");
    alice.sendClose(1000);
    // The server echoes the close (RFC 6455 5.5.1) and then drops TCP.
    auto frame = alice.readFrame();
    PT_CHECK_MSG(frame.has_value(), "no close frame in reply");
    PT_CHECK_EQ(int(frame->opcode), int(kClose));
    PT_CHECK_EQ(frame->closeCode(), 1000);
    PT_CHECK_MSG(alice.waitEof(kExpectTimeoutMs), "server kept TCP open after the closing handshake");
    bob.expectJson(R"({"type":"peer-left","peer":"alice"})");
}

void testWorkersOne()
{
    ServerProcess server({ "--workers", "1" });
    TestClient alice(server), bob(server), carol(server);
    joinPair(alice, bob);
    bob.send(R"({"type":"send-offer","sdp":"x"})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"x"})");
    alice.send(R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":0,"sdpMid":null})");
    bob.expectJson(R"({"type":"ice-candidate","from":"alice","candidate":"c","sdpMLineIndex":0})");
    carol.join("room", "carol", { "alice", "bob" });
    alice.expectJson(R"({"type":"peer-joined","peer":"carol"})");
    bob.expectJson(R"({"type":"peer-joined","peer":"carol"})");
    carol.close();
    carol.expectClose(1000);
    alice.expectJson(R"({"type":"peer-left","peer":"carol"})");
    bob.expectJson(R"({"type":"peer-left","peer":"carol"})");
    waitHealth(server, 1, 2);
}

} // namespace

void registerTests()
{
    addTest("/messages/join/exact", testJoinedExact);
    addTest("/messages/join/three-peers-oldest-first", testThreePeersOldestFirst);
    addTest("/messages/join/assigned-ids", testAssignedIds);
    addTest("/messages/join/ids-at-the-limits", testIdsAtTheLimits);
    addTest("/messages/join/same-id-two-rooms", testSameIdInTwoRooms);
    addTest("/messages/relay/offer-without-to", testOfferWithoutTo);
    addTest("/messages/relay/offer-answer-with-to", testOfferAnswerWithTo);
    addTest("/messages/relay/to-null", testToNullCountsAsAbsent);
    addTest("/messages/relay/candidate-with-mid", testCandidateWithMid);
    addTest("/messages/relay/candidate-without-mid", testCandidateWithoutMid);
    addTest("/messages/relay/candidate-mid-null", testCandidateMidNull);
    addTest("/messages/relay/end-of-candidates", testEndOfCandidates);
    addTest("/messages/relay/spoofed-from", testSpoofedFromReplaced);
    addTest("/messages/relay/extra-members", testExtraMembersNotForwarded);
    addTest("/messages/relay/large-unicode-sdp", testLargeUnicodeSdp);
    addTest("/messages/relay/escaped-sdp", testEscapedSdp);
    addTest("/messages/relay/nul-in-sdp", testNulInSdp);
    addTest("/messages/relay/three-peers-to", testThreePeersTo);
    addTest("/messages/relay/order", testOrderPreserved);
    addTest("/messages/ping", testPing);
    addTest("/messages/leave/rejoin", testLeaveAndRejoin);
    addTest("/messages/leave/second-room", testSecondRoom);
    addTest("/messages/close/normal", testNormalClose);
    addTest("/messages/close/raw-normal", testRawNormalClose);
    addTest("/messages/workers-1", testWorkersOne);
}
