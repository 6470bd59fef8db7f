// HS256 tokens and TURN REST credentials, against vectors computed with
// Python's hmac module (see the comments by each).
#include "ice_servers.h"
#include "token_verifier.h"

#include <glib.h>

#include <string>

using namespace palaver::server;

namespace {

std::string b64url(const std::string& raw)
{
    gchar* b = g_base64_encode(reinterpret_cast<const guchar*>(raw.data()), raw.size());
    std::string s = b;
    g_free(b);
    for (auto& c : s) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    while (!s.empty() && s.back() == '=')
        s.pop_back();
    return s;
}

std::string mint(const std::string& secret, const std::string& header, const std::string& payload)
{
    std::string signingInput = b64url(header) + "." + b64url(payload);
    guint8 digest[32];
    gsize len = sizeof digest;
    GHmac* hmac = g_hmac_new(G_CHECKSUM_SHA256, reinterpret_cast<const guchar*>(secret.data()), secret.size());
    g_hmac_update(hmac, reinterpret_cast<const guchar*>(signingInput.data()), static_cast<gssize>(signingInput.size()));
    g_hmac_get_digest(hmac, digest, &len);
    g_hmac_unref(hmac);
    return signingInput + "." + b64url(std::string(reinterpret_cast<char*>(digest), len));
}

const std::string kHs256 = R"({"alg":"HS256","typ":"JWT"})";
constexpr double kNow = 1700000000;

void testKnownVector()
{
    // python3: hmac.new(b'k', h + '.' + p, sha256) over
    // {"alg":"HS256","typ":"JWT"} . {"exp":4102444800,"room":"demo","sub":"alice"}
    const char* token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
                        "eyJleHAiOjQxMDI0NDQ4MDAsInJvb20iOiJkZW1vIiwic3ViIjoiYWxpY2UifQ."
                        "ZAWbnZqrBByeN_d6AfrafuJBrPHuNc0UbyqOaiEKFjE";
    TokenVerifier verifier("k");
    std::string why;
    auto claims = verifier.verify(token, kNow, why);
    g_assert_true(claims.has_value());
    g_assert_cmpstr(claims->room.c_str(), ==, "demo");
    g_assert_cmpstr(claims->sub->c_str(), ==, "alice");
    g_assert_cmpfloat(claims->exp, ==, 4102444800.0);
    g_assert_false(TokenVerifier("K").verify(token, kNow, why).has_value());
}

void testRefused()
{
    TokenVerifier verifier("s3cret");
    std::string why;
    const std::string good = R"({"exp":1700000100,"room":"*"})";
    g_assert_true(verifier.verify(mint("s3cret", kHs256, good), kNow, why).has_value());

    struct Case {
        std::string token;
        const char* what;
    };
    std::string valid = mint("s3cret", kHs256, good);
    std::string tampered = valid;
    tampered[tampered.size() - 2] = tampered[tampered.size() - 2] == 'A' ? 'B' : 'A';
    const Case cases[] = {
        { mint("other", kHs256, good), "wrong secret" },
        { tampered, "tampered signature" },
        { mint("s3cret", R"({"alg":"none"})", good), "alg none" },
        { mint("s3cret", R"({"alg":"HS512"})", good), "alg HS512" },
        { mint("s3cret", R"({"typ":"JWT"})", good), "no alg" },
        { mint("s3cret", kHs256, R"({"room":"*"})"), "no exp" },
        { mint("s3cret", kHs256, R"({"exp":"1700000100","room":"*"})"), "exp as a string" },
        { mint("s3cret", kHs256, R"({"exp":1700000000,"room":"*"})"), "exp equal to now (no leeway)" },
        { mint("s3cret", kHs256, R"({"exp":1699999999,"room":"*"})"), "expired" },
        { mint("s3cret", kHs256, R"({"exp":1700000100})"), "no room" },
        { mint("s3cret", kHs256, R"({"exp":1700000100,"room":7})"), "room not a string" },
        { mint("s3cret", kHs256, R"({"exp":1700000100,"room":"*","sub":5})"), "sub not a string" },
        { mint("s3cret", kHs256, "[1]"), "payload not an object" },
        { "abc", "not three parts" },
        { "a.b.c.d", "four parts" },
        { valid.substr(0, valid.rfind('.')) + ".***", "signature not base64url" },
        { "", "empty" },
    };
    for (const auto& c : cases) {
        why.clear();
        g_test_message("case: %s", c.what);
        g_assert_false(verifier.verify(c.token, kNow, why).has_value());
        g_assert_false(why.empty());
    }
}

void testFractionalExp()
{
    TokenVerifier verifier("s");
    std::string why;
    g_assert_true(verifier.verify(mint("s", kHs256, R"({"exp":1700000000.5,"room":"r"})"), kNow, why).has_value());
}

void testTurnCredentials()
{
    // python3: base64(hmac.new(b's3cret', b'1700000600:alice', sha1).digest())
    auto server = IceServerList::turnCredentials({ "turn:127.0.0.1:3478?transport=udp" }, "s3cret", "alice", 1700000600);
    g_assert_cmpstr(server.username->c_str(), ==, "1700000600:alice");
    g_assert_cmpstr(server.credential->c_str(), ==, "bUIJIVaC05oyFgKsQvKAparqg1Q=");

    Config config;
    config.stun = { "stun:a:3478", "stun:b:3478" };
    config.turn = { "turn:t:3478", "turns:t:5349" };
    config.turnSecret = "s3cret";
    config.turnTtl = 600;
    auto list = IceServerList(config).forPeer("alice", 1700000000);
    g_assert_cmpuint(list.size(), ==, 2);
    g_assert_cmpuint(list[0].urls.size(), ==, 2);
    g_assert_false(list[0].username.has_value());
    g_assert_cmpuint(list[1].urls.size(), ==, 2);
    g_assert_cmpstr(list[1].username->c_str(), ==, "1700000600:alice");

    config.turnSecret.reset();
    list = IceServerList(config).forPeer("alice", 1700000000);
    g_assert_false(list[1].username.has_value());
    g_assert_false(list[1].credential.has_value());

    g_assert_cmpuint(IceServerList(Config {}).forPeer("x", 0).size(), ==, 0);
}

} // namespace

int main(int argc, char** argv)
{
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/tokens/known-vector", testKnownVector);
    g_test_add_func("/tokens/refused", testRefused);
    g_test_add_func("/tokens/fractional-exp", testFractionalExp);
    g_test_add_func("/tokens/turn-credentials", testTurnCredentials);
    return g_test_run();
}
