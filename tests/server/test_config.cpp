// iceServers (STUN/TURN with TURN REST credentials) and --config files
// ("Starting palaver-server", Fine points on iceServers and --config), and
// option values refused at start-up (exit status 2, nothing listens).
#include "fixtures.h"

using namespace palaver::test;

namespace {

using Ref = std::optional<std::string>;

int64_t now()
{
    return g_get_real_time() / G_USEC_PER_SEC;
}

// The `iceServers` array of a joined message, each entry as a Message.
std::vector<Message> iceServers(const Message& joined, std::source_location loc = std::source_location::current())
{
    JsonNode* n = json_object_get_member(joined.object(), "iceServers");
    if (!n || !JSON_NODE_HOLDS_ARRAY(n))
        fail("iceServers is not an array: " + joined.raw, loc);
    std::vector<Message> out;
    JsonArray* a = json_node_get_array(n);
    for (guint i = 0; i < json_array_get_length(a); ++i) {
        Message m;
        m.node.reset(json_node_copy(json_array_get_element(a, i)));
        m.raw = toJson(m.node.get());
        if (!m.isObject())
            fail("iceServers entry is not an object: " + joined.raw, loc);
        out.push_back(std::move(m));
    }
    return out;
}

// Checks a TURN entry: exactly urls/username/credential, username
// "<expiry>:<peer>" with expiry within a few seconds of now + ttl, credential
// base64(HMAC-SHA1(secret, username)).
void checkTurnEntry(const Message& entry, std::string_view urlsJson, std::string_view secret, int64_t ttl,
    std::string_view peer, std::source_location loc = std::source_location::current())
{
    checkMembers(entry, { "urls", "username", "credential" }, loc);
    JsonNodePtr want = parseJson(urlsJson);
    if (!json_node_equal(want.get(), json_object_get_member(entry.object(), "urls")))
        fail("TURN urls " + entry.raw + ", expected " + std::string(urlsJson), loc);
    std::string username = entry.str("username", loc);
    size_t colon = username.find(':');
    if (colon == std::string::npos)
        fail("TURN username is not \"<expiry>:<peer id>\": " + username, loc);
    if (username.substr(colon + 1) != peer)
        fail(format("TURN username \"%s\" does not end in the peer id \"%s\"", username.c_str(),
                 std::string(peer).c_str()),
            loc);
    char* end = nullptr;
    std::string expiryText = username.substr(0, colon);
    int64_t expiry = g_ascii_strtoll(expiryText.c_str(), &end, 10);
    if (expiryText.empty() || *end)
        fail("TURN username expiry is not a unix time: " + username, loc);
    int64_t expected = now() + ttl;
    if (expiry < expected - 10 || expiry > expected + 10)
        fail(format("TURN expiry %" G_GINT64_FORMAT " is not now + %" G_GINT64_FORMAT " (%" G_GINT64_FORMAT ")",
                 expiry, ttl, expected),
            loc);
    if (entry.str("credential", loc) != turnCredential(secret, username))
        fail(format("TURN credential %s is not base64(HMAC-SHA1(secret, \"%s\")) = %s",
                 entry.str("credential", loc).c_str(), username.c_str(),
                 turnCredential(secret, username).c_str()),
            loc);
}

void testNoIceServers()
{
    ServerProcess server;
    TestClient c(server);
    checkJson(c.joinRaw("r", std::string("c")), R"({"type":"joined","room":"r","peer":"c","peers":[],"iceServers":[]})");
}

void testStunAndTurnWithSecret()
{
    ServerProcess server({ "--turn", "turn:127.0.0.1:3478?transport=udp", "--turn-secret", "s3cret", "--turn-ttl",
        "600", "--stun", "stun:127.0.0.1:3478", "--stun", "stun:127.0.0.2:3478" });
    for (std::optional<std::string> peer : { std::optional<std::string>("alice"), std::optional<std::string>() }) {
        TestClient c(server);
        Message joined = c.joinRaw("r", peer);
        std::vector<Message> entries = iceServers(joined);
        PT_CHECK_MSG(entries.size() == 2, "expected one STUN and one TURN entry: %s", joined.raw.c_str());
        const Message* stun = nullptr;
        const Message* turn = nullptr;
        for (const Message& e : entries)
            (e.has("username") || e.raw.find("turn:") != std::string::npos ? turn : stun) = &e;
        PT_CHECK_MSG(stun && turn, "no STUN or no TURN entry: %s", joined.raw.c_str());
        checkJson(*stun, R"({"urls":["stun:127.0.0.1:3478","stun:127.0.0.2:3478"]})");
        checkTurnEntry(*turn, R"(["turn:127.0.0.1:3478?transport=udp"])", "s3cret", 600, c.id());
        c.send(R"({"type":"leave"})");
    }
}

void testTurnWithoutSecret()
{
    ServerProcess server({ "--turn", "turn:a.example:3478", "--turn", "turns:b.example:5349?transport=tcp" });
    TestClient c(server);
    checkJson(c.joinRaw("r", std::string("c")),
        R"({"type":"joined","room":"r","peer":"c","peers":[],"iceServers":[{"urls":["turn:a.example:3478","turns:b.example:5349?transport=tcp"]}]})");
}

void testStunOnly()
{
    ServerProcess server({ "--stun", "stun:stun.example:19302" });
    TestClient c(server);
    checkJson(c.joinRaw("r", std::string("c")),
        R"({"type":"joined","room":"r","peer":"c","peers":[],"iceServers":[{"urls":["stun:stun.example:19302"]}]})");
}

void testTurnDefaultTtl()
{
    ServerProcess server({ "--turn", "turn:127.0.0.1:3478", "--turn-secret", "k" });
    TestClient c(server);
    Message joined = c.joinRaw("r", std::string("bob"));
    std::vector<Message> entries = iceServers(joined);
    PT_CHECK_EQ(entries.size(), size_t(1));
    checkTurnEntry(entries[0], R"(["turn:127.0.0.1:3478"])", "k", 86400, "bob");
}

void testTurnCredentialsPerPeer()
{
    // Each joiner gets credentials for its own id; every join mints them anew.
    ServerProcess server({ "--turn", "turn:127.0.0.1:3478", "--turn-secret", "k", "--turn-ttl", "60" });
    TestClient a(server), b(server);
    Message ja = a.joinRaw("r", std::string("alice"));
    Message jb = b.joinRaw("r", std::string("bob"));
    checkTurnEntry(iceServers(ja)[0], R"(["turn:127.0.0.1:3478"])", "k", 60, "alice");
    checkTurnEntry(iceServers(jb)[0], R"(["turn:127.0.0.1:3478"])", "k", 60, "bob");
}

void testConfigFile()
{
    TempDir dir;
    std::string conf = dir.write("palaver.conf",
        "# test configuration\n"
        "[server]\n"
        "max-room-peers=2\n"
        "stun=stun:a.example:3478;stun:b.example:3478\n"
        "join-timeout=0.5\n"
        "no-such-key=1\n");
    ServerProcess server({ "--config", conf });
    TestClient a(server), b(server);
    checkJson(a.joinRaw("r", std::string("a")),
        R"({"type":"joined","room":"r","peer":"a","peers":[],"iceServers":[{"urls":["stun:a.example:3478","stun:b.example:3478"]}]})");
    b.joinRaw("r", std::string("b"));
    a.expectJson(R"({"type":"peer-joined","peer":"b"})");
    TestClient c(server);
    c.send(R"({"type":"join","room":"r","peer":"c"})");
    c.expectError("room-full", Ref("join"));
    // The join timeout from the file applies to c.
    c.expectClose(1008);
    std::string err = server.stderrText();
    PT_CHECK_MSG(err.find("no-such-key") != std::string::npos, "unknown key not warned about; stderr: %s",
        err.c_str());
}

void testCommandLineWins()
{
    TempDir dir;
    std::string conf = dir.write("palaver.conf",
        "[server]\n"
        "max-room-peers=2\n"
        "rate=1\n"
        "burst=1\n");
    ServerProcess server({ "--config", conf, "--max-room-peers", "3", "--rate", "0" });
    TestClient a(server), b(server), c(server), d(server);
    a.join("r", "a");
    b.join("r", "b", { "a" });
    c.join("r", "c", { "a", "b" });
    d.send(R"({"type":"join","room":"r","peer":"d"})");
    d.expectError("room-full", Ref("join"));
    // rate 0 (unlimited) from the command line beats rate 1, burst 1.
    for (int i = 0; i < 20; ++i)
        d.send(R"({"type":"ping"})");
    for (int i = 0; i < 20; ++i)
        d.expectJson(R"({"type":"pong"})");
}

void testConfigAuthAndTurn()
{
    TempDir dir;
    std::string conf = dir.write("palaver.conf",
        "[server]\n"
        "auth-secret=from-file\n"
        "turn=turn:127.0.0.1:3478\n"
        "turn-secret=t\n"
        "turn-ttl=120\n");
    ServerProcess server({ "--config", conf });
    TestClient a(server);
    a.send(R"({"type":"join","room":"r"})");
    a.expectError("unauthorized", Ref("join"));
    a.expectClose(1008);
    TestClient b(server);
    Message j = b.joinRaw("r", std::string("b"), makeToken("from-file", "r"));
    checkTurnEntry(iceServers(j)[0], R"(["turn:127.0.0.1:3478"])", "t", 120, "b");
}

void expectExit2(std::vector<std::string> args, const char* what, std::source_location loc = std::source_location::current())
{
    std::vector<std::string> full { "--host", "127.0.0.1", "--port", "0" };
    full.insert(full.end(), args.begin(), args.end());
    RunResult r = runServerToExit(full, 10000, loc);
    if (!(r.status.exited && r.status.code == 2))
        fail(format("%s: %s, expected exit status 2; stderr: %s", what, r.status.describe().c_str(), r.err.c_str()),
            loc);
    if (r.err.empty())
        fail(format("%s: exit status 2 but nothing on stderr", what), loc);
    if (r.out.find("listening") != std::string::npos)
        fail(format("%s: printed a listening line", what), loc);
}

void testBadOptionValues()
{
    TempDir dir;
    expectExit2({ "--rate", "-1" }, "--rate -1");
    expectExit2({ "--burst", "0" }, "--burst 0");
    expectExit2({ "--config", dir.file("missing.conf") }, "--config (missing file)");
    expectExit2({ "--config", dir.path() }, "--config (a directory)");
    expectExit2({ "--tls-cert", dir.file("missing-cert.pem"), "--tls-key", dir.file("missing-key.pem") },
        "--tls-cert/--tls-key (missing files)");
    std::string bad = dir.write("bad.conf", "[server]\nrate=-5\n");
    expectExit2({ "--config", bad }, "rate=-5 in --config");
    std::string burst = dir.write("burst.conf", "[server]\nburst=0\n");
    expectExit2({ "--config", burst }, "burst=0 in --config");
    std::string garbage = dir.write("garbage.conf", "this is not a key file\n[[[\n");
    expectExit2({ "--config", garbage }, "--config (not a key file)");
}

} // namespace

void registerTests()
{
    addTest("/config/ice/none", testNoIceServers);
    addTest("/config/ice/stun-and-turn-with-secret", testStunAndTurnWithSecret);
    addTest("/config/ice/turn-without-secret", testTurnWithoutSecret);
    addTest("/config/ice/stun-only", testStunOnly);
    addTest("/config/ice/turn-default-ttl", testTurnDefaultTtl);
    addTest("/config/ice/turn-per-peer", testTurnCredentialsPerPeer);
    addTest("/config/file/basic", testConfigFile);
    addTest("/config/file/command-line-wins", testCommandLineWins);
    addTest("/config/file/auth-and-turn", testConfigAuthAndTurn);
    addTest("/config/bad-option-values", testBadOptionValues);
}
