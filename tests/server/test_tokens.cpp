// Tokens (docs/protocol.md "Tokens" and Fine points): HS256 JWTs minted here with
// GHmac; every refusal is `unauthorized` (ref "join") and the close 1008.
#include "fixtures.h"

using namespace palaver::test;

namespace {

using Ref = std::optional<std::string>;
const std::string kSecret = "s3cret-for-tests";

int64_t now()
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

std::string hs256(std::string_view payload, std::string_view secret = kSecret)
{
    return signJwt(R"({"alg":"HS256","typ":"JWT"})", payload, secret);
}

// Sends a join with `token` and expects unauthorized + close 1008.
void expectRefused(const ServerProcess& server, const std::string& token, std::optional<std::string> peer = "p",
    std::string_view room = "room", std::source_location loc = std::source_location::current())
{
    TestClient c(server);
    Obj join;
    join.s("type", "join").s("room", room);
    if (peer)
        join.s("peer", *peer);
    join.s("token", token);
    c.send(join, loc);
    c.expectError("unauthorized", Ref("join"), kExpectTimeoutMs, loc);
    c.expectClose(1008, kExpectTimeoutMs, loc);
}

void expectAccepted(const ServerProcess& server, const std::string& token, std::string_view room = "room",
    std::source_location loc = std::source_location::current())
{
    TestClient c(server);
    c.joinRaw(room, std::nullopt, token, loc);
    c.send(R"({"type":"leave"})", loc);
    roundTrip(c, loc);
}

void testValidToken()
{
    ServerProcess server({ "--auth-secret", kSecret });
    TestClient alice(server), bob(server);
    Message m = alice.joinRaw("room", std::string("alice"), makeToken(kSecret, "room"));
    checkJson(m, R"({"type":"joined","room":"room","peer":"alice","peers":[],"iceServers":[]})");
    bob.joinRaw("room", std::string("bob"), makeToken(kSecret, "room"));
    alice.expectJson(R"({"type":"peer-joined","peer":"bob"})");
    bob.send(R"({"type":"send-offer","sdp":"x"})");
    alice.expectJson(R"({"type":"send-offer","from":"bob","sdp":"x"})");
    // Without `peer` the id is assigned as usual.
    TestClient carol(server);
    Message j = carol.joinRaw("room", std::nullopt, makeToken(kSecret, "room"));
    PT_CHECK(isValidId(j.str("peer")));
    // A float exp is a number too.
    expectAccepted(server, hs256(Obj().raw("exp", format("%" G_GINT64_FORMAT ".5", now() + 60)).s("room", "room")));
    // Unknown claims and header members are ignored.
    expectAccepted(server, signJwt(R"({"typ":"JWT","alg":"HS256","kid":"k1"})",
                               Obj().i("exp", now() + 60).s("room", "room").i("iat", now()).s("iss", "x")
                                   .str(),
                               kSecret));
}

void testMissingToken()
{
    ServerProcess server({ "--auth-secret", kSecret });
    TestClient alice(server);
    alice.joinRaw("room", std::string("alice"), makeToken(kSecret, "room"));
    TestClient c(server);
    c.send(R"({"type":"join","room":"room","peer":"p"})");
    c.expectError("unauthorized", Ref("join"));
    c.expectClose(1008);
    TestClient d(server);
    d.send(R"({"type":"join","room":"room","token":null})");
    d.expectError("unauthorized", Ref("join"));
    d.expectClose(1008);
    // Nobody joined: alice saw nothing.
    alice.expectNothing(100);
}

void testExpiredToken()
{
    ServerProcess server({ "--auth-secret", kSecret });
    expectRefused(server, makeToken(kSecret, "room", -10));
    // "later than the server's clock (no leeway)"
    expectRefused(server, makeToken(kSecret, "room", -1));
}

void testWrongRoom()
{
    ServerProcess server({ "--auth-secret", kSecret });
    expectRefused(server, makeToken(kSecret, "other"));
    expectRefused(server, makeToken(kSecret, "Room"));
    expectRefused(server, makeToken(kSecret, "room "));
}

void testAnyRoom()
{
    ServerProcess server({ "--auth-secret", kSecret });
    expectAccepted(server, makeToken(kSecret, "*"), "room");
    expectAccepted(server, makeToken(kSecret, "*"), "another.room");
}

void testBadSignature()
{
    ServerProcess server({ "--auth-secret", kSecret });
    expectRefused(server, makeToken("not-the-secret", "room"));
    // A valid token with its payload swapped.
    std::string good = makeToken(kSecret, "room");
    std::string other = makeToken(kSecret, "*", 7200);
    size_t d1 = good.find('.'), d2 = good.rfind('.');
    size_t o1 = other.find('.'), o2 = other.rfind('.');
    expectRefused(server, good.substr(0, d1) + other.substr(o1, o2 - o1) + good.substr(d2));
    // Signature cut short, and missing.
    expectRefused(server, good.substr(0, good.size() - 3));
    expectRefused(server, good.substr(0, d2 + 1));
}

void testAlgNone()
{
    ServerProcess server({ "--auth-secret", kSecret });
    std::string payload = Obj().i("exp", now() + 3600).s("room", "room").str();
    expectRefused(server, base64url(R"({"alg":"none","typ":"JWT"})") + "." + base64url(payload) + ".");
    // "none" with a signature that is right for HS256 over the same input.
    expectRefused(server, signJwt(R"({"alg":"none","typ":"JWT"})", payload, kSecret));
    expectRefused(server, signJwt(R"({"typ":"JWT"})", payload, kSecret));
}

void testAlgHs512()
{
    ServerProcess server({ "--auth-secret", kSecret });
    std::string payload = Obj().i("exp", now() + 3600).s("room", "room").str();
    expectRefused(server, signJwt(R"({"alg":"HS512","typ":"JWT"})", payload, kSecret, G_CHECKSUM_SHA512));
    // HS256-signed but labelled otherwise.
    expectRefused(server, signJwt(R"({"alg":"HS384","typ":"JWT"})", payload, kSecret));
    expectRefused(server, signJwt(R"({"alg":"hs256","typ":"JWT"})", payload, kSecret));
}

void testBadClaims()
{
    ServerProcess server({ "--auth-secret", kSecret });
    expectRefused(server, hs256(R"({"room":"room"})"));                                           // no exp
    expectRefused(server, hs256(Obj().s("exp", std::to_string(now() + 3600)).s("room", "room"))); // exp string
    expectRefused(server, hs256(Obj().raw("exp", "null").s("room", "room")));
    expectRefused(server, hs256(Obj().i("exp", now() + 3600)));                                   // no room
    expectRefused(server, hs256(Obj().i("exp", now() + 3600).i("room", 5)));
    expectRefused(server, hs256("[1,2]"));
    expectRefused(server, hs256("not json"));
    expectRefused(server, "not-a-jwt");
    expectRefused(server, "");
    expectRefused(server, "a.b.c");
}

void testSubForcesPeerId()
{
    ServerProcess server({ "--auth-secret", kSecret });
    TestClient alice(server), bob(server);
    // No `peer`: the id becomes `sub`.
    checkJson(alice.joinRaw("room", std::nullopt, makeToken(kSecret, "room", 3600, std::string("alice"))),
        R"({"type":"joined","room":"room","peer":"alice","peers":[],"iceServers":[]})");
    // `peer` equal to `sub`.
    checkJson(bob.joinRaw("room", std::string("bob"), makeToken(kSecret, "room", 3600, std::string("bob"))),
        R"({"type":"joined","room":"room","peer":"bob","peers":["alice"],"iceServers":[]})");
    alice.expectJson(R"({"type":"peer-joined","peer":"bob"})");
    // `peer` different from `sub`.
    expectRefused(server, makeToken(kSecret, "room", 3600, std::string("carol")), std::string("mallory"));
    // `sub` taken is peer-id-taken, not a way in.
    TestClient c(server);
    c.send(Obj().s("type", "join").s("room", "room").s("token", makeToken(kSecret, "room", 3600, std::string("alice"))));
    c.expectError("peer-id-taken", Ref("join"));
    roundTrip(c);
    alice.expectNothing(100);
}

void testTokenIgnoredWithoutSecret()
{
    ServerProcess server;
    TestClient a(server), b(server), c(server);
    a.joinRaw("room", std::string("a"), std::string("garbage"));
    b.joinRaw("room", std::string("b"), makeToken("whatever", "elsewhere", -100, std::string("zed")));
    // sub is not applied either: the token is ignored as a whole.
    PT_CHECK_EQ(b.id(), std::string("b"));
    a.expectJson(R"({"type":"peer-joined","peer":"b"})");
    c.send(R"({"type":"join","room":"room","token":5})");
    c.expectError("bad-message", Ref("join"));
    roundTrip(c);
}

void testNonStringTokenWithSecret()
{
    ServerProcess server({ "--auth-secret", kSecret });
    TestClient c(server);
    c.send(R"({"type":"join","room":"room","token":{"exp":1}})");
    c.expectError("bad-message", Ref("join"));
    c.send(R"({"type":"join","room":"room","token":42})");
    c.expectError("bad-message", Ref("join"));
    // bad-message leaves the connection open; a good token still works.
    c.joinRaw("room", std::nullopt, makeToken(kSecret, "room"));
}

void testTokenOnlyOnJoin()
{
    ServerProcess server({ "--auth-secret", kSecret });
    TestClient c(server);
    // Pings need no token, and pre-join errors are the usual ones.
    roundTrip(c);
    c.send(R"({"type":"send-offer","sdp":"x"})");
    c.expectError("not-joined", Ref("send-offer"));
    c.joinRaw("room", std::string("c"), makeToken(kSecret, "room"));
    c.send(R"({"type":"leave"})");
    // Joining again needs a token again.
    c.send(R"({"type":"join","room":"room","peer":"c"})");
    c.expectError("unauthorized", Ref("join"));
    c.expectClose(1008);
}

} // namespace

void registerTests()
{
    addTest("/tokens/valid", testValidToken);
    addTest("/tokens/missing", testMissingToken);
    addTest("/tokens/expired", testExpiredToken);
    addTest("/tokens/wrong-room", testWrongRoom);
    addTest("/tokens/any-room", testAnyRoom);
    addTest("/tokens/bad-signature", testBadSignature);
    addTest("/tokens/alg-none", testAlgNone);
    addTest("/tokens/alg-hs512", testAlgHs512);
    addTest("/tokens/bad-claims", testBadClaims);
    addTest("/tokens/sub", testSubForcesPeerId);
    addTest("/tokens/ignored-without-secret", testTokenIgnoredWithoutSecret);
    addTest("/tokens/non-string", testNonStringTokenWithSecret);
    addTest("/tokens/only-on-join", testTokenOnlyOnJoin);
}
