// Table-driven tests of the protocol module against docs/protocol.md: every
// message type, every member rule and every parse-level error code with its
// `ref` rule.
#include "messages.h"

#include <glib.h>

#include <optional>
#include <string>
#include <vector>

using namespace palaver::protocol;

namespace {

struct ParseCase {
    const char* input;
    const char* expectType;          // the parsed message's type when accepted
    std::optional<ErrorCode> code;   // the error when refused
    const char* ref;                 // expected ref, nullptr for none
};

const std::string kLongId(65, 'a');
const std::string kMaxId(64, 'b');

const ParseCase kClientCases[] = {
    // bad-json: not JSON, or not an object; never a ref.
    { "", nullptr, ErrorCode::BadJson, nullptr },
    { "not json", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"join\"", nullptr, ErrorCode::BadJson, nullptr },
    { "[1,2]", nullptr, ErrorCode::BadJson, nullptr },
    { "\"join\"", nullptr, ErrorCode::BadJson, nullptr },
    { "42", nullptr, ErrorCode::BadJson, nullptr },
    { "null", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"ping\"} {}", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"ping\"}{\"type\":\"ping\"}", nullptr, ErrorCode::BadJson, nullptr },
    { "{'type':'ping'}", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"ping\",\"n\":01}", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"ping\",}", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"pi\tng\"}", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"ping\",\"x\":\"\\q\"}", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"ping\",\"x\":tru}", nullptr, ErrorCode::BadJson, nullptr },
    { " \r\n{\"type\":\"ping\",\"n\":[-0.5e+3,true,false,null,{}]} \n", "ping", std::nullopt, nullptr },
    // An object without a string type is bad-message without ref.
    { "{}", nullptr, ErrorCode::BadMessage, nullptr },
    { "{\"type\":null}", nullptr, ErrorCode::BadMessage, nullptr },
    { "{\"type\":7}", nullptr, ErrorCode::BadMessage, nullptr },
    { "{\"type\":[\"join\"]}", nullptr, ErrorCode::BadMessage, nullptr },
    // unknown-type carries the type as ref.
    { "{\"type\":\"hello\"}", nullptr, ErrorCode::UnknownType, "hello" },
    { "{\"type\":\"joined\"}", nullptr, ErrorCode::UnknownType, "joined" },
    { "{\"type\":\"\"}", nullptr, ErrorCode::UnknownType, "" },
    // join
    { "{\"type\":\"join\",\"room\":\"demo\"}", "join", std::nullopt, nullptr },
    { "{\"type\":\"join\",\"room\":\"demo\",\"peer\":\"alice\",\"token\":\"x.y.z\"}", "join", std::nullopt, nullptr },
    { "{\"type\":\"join\",\"room\":\"demo\",\"peer\":null,\"token\":null}", "join", std::nullopt, nullptr },
    { "{\"type\":\"join\",\"room\":\"A.b_c-9\",\"extra\":{\"x\":1}}", "join", std::nullopt, nullptr },
    { "{\"type\":\"join\"}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":null}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":5}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"\"}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"a b\"}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"caf\u00e9\"}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"a/b\"}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"demo\",\"peer\":\"\"}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"demo\",\"peer\":\"bad id\"}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"demo\",\"peer\":1}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"demo\",\"token\":123}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"demo\",\"token\":{}}", nullptr, ErrorCode::BadMessage, "join" },
    // leave and ping take no members; extras are ignored.
    { "{\"type\":\"leave\"}", "leave", std::nullopt, nullptr },
    { "{\"type\":\"leave\",\"room\":\"x\"}", "leave", std::nullopt, nullptr },
    { "{\"type\":\"ping\"}", "ping", std::nullopt, nullptr },
    { "{\"type\":\"ping\",\"n\":[1]}", "ping", std::nullopt, nullptr },
    // send-offer / send-answer
    { "{\"type\":\"send-offer\",\"sdp\":\"v=0\"}", "send-offer", std::nullopt, nullptr },
    { "{\"type\":\"send-offer\",\"sdp\":\"v=0\",\"to\":\"bob\",\"from\":\"mallory\"}", "send-offer", std::nullopt, nullptr },
    { "{\"type\":\"send-offer\",\"sdp\":\"v=0\",\"to\":null}", "send-offer", std::nullopt, nullptr },
    { "{\"type\":\"send-offer\"}", nullptr, ErrorCode::BadMessage, "send-offer" },
    { "{\"type\":\"send-offer\",\"sdp\":null}", nullptr, ErrorCode::BadMessage, "send-offer" },
    { "{\"type\":\"send-offer\",\"sdp\":{\"v\":0}}", nullptr, ErrorCode::BadMessage, "send-offer" },
    { "{\"type\":\"send-offer\",\"sdp\":\"v=0\",\"to\":\"no way\"}", nullptr, ErrorCode::BadMessage, "send-offer" },
    { "{\"type\":\"send-offer\",\"sdp\":\"v=0\",\"to\":3}", nullptr, ErrorCode::BadMessage, "send-offer" },
    { "{\"type\":\"send-offer\",\"sdp\":\"v=0\\u0000x\"}", nullptr, ErrorCode::BadMessage, "send-offer" },
    { "{\"type\":\"send-answer\",\"sdp\":\"v=0\"}", "send-answer", std::nullopt, nullptr },
    { "{\"type\":\"send-answer\",\"sdp\":\"\\\\u0000 is text\"}", "send-answer", std::nullopt, nullptr },
    // json-glib ends strings at U+0000: "a\u0000b" must not read as the id "a".
    { "{\"type\":\"join\",\"room\":\"a\\u0000b\"}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"r\",\"peer\":\"p\\u0000\"}", nullptr, ErrorCode::BadMessage, "join" },
    { "{\"type\":\"join\",\"room\":\"r\",\"note\":\"\\u0000\"}", "join", std::nullopt, nullptr },
    { "{\"type\":\"send-offer\",\"sdp\":\"v=0\",\"to\":\"b\\u0000c\"}", nullptr, ErrorCode::BadMessage, "send-offer" },
    { "{\"type\":\"send-offer\",\"sdp\":\"v=0\\u0000\",\"sdp\":\"v=1\"}", "send-offer", std::nullopt, nullptr },
    { "{\"type\":\"send-offer\",\"sdp\":\"v=1\",\"sdp\":\"v=0\\u0000\"}", nullptr, ErrorCode::BadMessage, "send-offer" },
    { "{\"type\\u0000x\":\"ping\"}", nullptr, ErrorCode::BadMessage, nullptr },
    // Unpaired surrogates have no UTF-8 form: not JSON text.
    { "{\"type\":\"send-offer\",\"sdp\":\"\\ud800x\"}", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"send-offer\",\"sdp\":\"\\udc00\"}", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"send-offer\",\"sdp\":\"\\ud83d\\u0041\"}", nullptr, ErrorCode::BadJson, nullptr },
    { "{\"type\":\"send-offer\",\"sdp\":\"\\ud83d\\ude00\"}", "send-offer", std::nullopt, nullptr },
    { "{\"type\":\"send-answer\",\"sdp\":false}", nullptr, ErrorCode::BadMessage, "send-answer" },
    { "{\"type\":\"send-answer\",\"to\":\"bob\"}", nullptr, ErrorCode::BadMessage, "send-answer" },
    // ice-candidate
    { "{\"type\":\"ice-candidate\",\"candidate\":\"candidate:1 1 UDP 1 1.2.3.4 5 typ host\",\"sdpMLineIndex\":0,\"sdpMid\":\"0\"}",
        "ice-candidate", std::nullopt, nullptr },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"\",\"sdpMLineIndex\":1}", "ice-candidate", std::nullopt, nullptr },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"c\",\"sdpMLineIndex\":2,\"sdpMid\":null,\"to\":null}", "ice-candidate", std::nullopt, nullptr },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"c\",\"sdpMLineIndex\":1.0}", "ice-candidate", std::nullopt, nullptr },
    { "{\"type\":\"ice-candidate\",\"sdpMLineIndex\":0}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
    { "{\"type\":\"ice-candidate\",\"candidate\":null,\"sdpMLineIndex\":0}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
    { "{\"type\":\"ice-candidate\",\"candidate\":1,\"sdpMLineIndex\":0}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"c\"}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"c\",\"sdpMLineIndex\":null}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"c\",\"sdpMLineIndex\":-1}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"c\",\"sdpMLineIndex\":1.5}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"c\",\"sdpMLineIndex\":\"0\"}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"c\",\"sdpMLineIndex\":true}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"c\",\"sdpMLineIndex\":0,\"sdpMid\":0}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
    { "{\"type\":\"ice-candidate\",\"candidate\":\"c\",\"sdpMLineIndex\":0,\"to\":\"\"}", nullptr, ErrorCode::BadMessage, "ice-candidate" },
};

void testClientTable()
{
    for (const auto& c : kClientCases) {
        auto parsed = parseClientMessage(c.input);
        g_test_message("input: %s", c.input);
        if (c.expectType) {
            if (!parsed.ok())
                g_error("expected %s, got %s (%s) for %s", c.expectType, errorCodeName(parsed.error().code),
                    parsed.error().message.c_str(), c.input);
            g_assert_cmpstr(typeName(parsed.message()), ==, c.expectType);
        } else {
            g_assert_false(parsed.ok());
            g_assert_cmpstr(errorCodeName(parsed.error().code), ==, errorCodeName(*c.code));
            g_assert_false(parsed.error().message.empty());
            if (c.ref) {
                g_assert_true(parsed.error().ref.has_value());
                g_assert_cmpstr(parsed.error().ref->c_str(), ==, c.ref);
            } else {
                g_assert_false(parsed.error().ref.has_value());
            }
        }
    }
}

void testIds()
{
    g_assert_true(isValidId("a"));
    g_assert_true(isValidId(kMaxId));
    g_assert_true(isValidId("Az09._-"));
    g_assert_false(isValidId(""));
    g_assert_false(isValidId(kLongId));
    for (const char* bad : { "a b", "a/b", "a:b", "a@b", "\xc3\xa9", "a\tb", "a+b" })
        g_assert_false(isValidId(bad));
    std::string join = "{\"type\":\"join\",\"room\":\"" + kLongId + "\"}";
    g_assert_cmpint(static_cast<int>(parseClientMessage(join).error().code), ==, static_cast<int>(ErrorCode::BadMessage));
    join = "{\"type\":\"join\",\"room\":\"" + kMaxId + "\"}";
    g_assert_true(parseClientMessage(join).ok());
}

void testMemberValues()
{
    auto join = parseClientMessage("{\"type\":\"join\",\"room\":\"r1\",\"peer\":\"p1\",\"token\":\"t\"}");
    const auto& j = std::get<Join>(join.message());
    g_assert_cmpstr(j.room.c_str(), ==, "r1");
    g_assert_cmpstr(j.peer->c_str(), ==, "p1");
    g_assert_cmpstr(j.token->c_str(), ==, "t");

    auto noPeer = parseClientMessage("{\"type\":\"join\",\"room\":\"r1\",\"peer\":null}");
    g_assert_false(std::get<Join>(noPeer.message()).peer.has_value());

    // Non-ASCII and escapes decode to the exact bytes.
    auto offer = parseClientMessage("{\"type\":\"send-offer\",\"sdp\":\"v=0\\r\\na=x:\u00e9\u20ac\\ud83d\\ude00\\\"q\\\"\"}");
    g_assert_cmpstr(std::get<SendOffer>(offer.message()).sdp.c_str(), ==, "v=0\r\na=x:\u00e9\u20ac\U0001F600\"q\"");

    auto cand = parseClientMessage("{\"type\":\"ice-candidate\",\"candidate\":\"c\",\"sdpMLineIndex\":3,\"sdpMid\":\"video\",\"to\":\"bob\"}");
    const auto& c = std::get<SendCandidate>(cand.message());
    g_assert_cmpint(c.sdpMLineIndex, ==, 3);
    g_assert_cmpstr(c.sdpMid->c_str(), ==, "video");
    g_assert_cmpstr(c.to->c_str(), ==, "bob");
}

void testNulStrings()
{
    // json-glib keeps C strings; values with U+0000 are read in full.
    auto type = parseClientMessage("{\"type\":\"ping\\u0000x\"}");
    g_assert_false(type.ok());
    g_assert_true(type.error().code == ErrorCode::UnknownType);
    g_assert_true(type.error().ref == std::string("ping\0x", 6));

    auto join = parseClientMessage("{\"type\":\"join\",\"room\":\"r\",\"token\":\"t\\u0000u\"}");
    g_assert_true(std::get<Join>(join.message()).token == std::string("t\0u", 3));

    // The last of two same-named members counts, as json-glib keeps it.
    auto offer = parseClientMessage("{\"type\":\"send-offer\",\"sdp\":\"v=0\\u0000\",\"sdp\":\"v=1\"}");
    g_assert_cmpstr(std::get<SendOffer>(offer.message()).sdp.c_str(), ==, "v=1");
}

void testErrorNames()
{
    const char* names[] = { "bad-json", "bad-message", "unknown-type", "not-joined", "already-joined", "peer-id-taken",
        "room-full", "unknown-peer", "rate-limited", "unauthorized", "too-large" };
    g_assert_cmpint(G_N_ELEMENTS(names), ==, kErrorCodeCount);
    for (int i = 0; i < kErrorCodeCount; ++i) {
        auto code = static_cast<ErrorCode>(i);
        g_assert_cmpstr(errorCodeName(code), ==, names[i]);
        g_assert_true(errorCodeFromName(names[i]) == code);
        // Every code serialises to exactly type, code, message (and ref).
        std::string json = serialize(ServerMessage(Error { code, "why", std::nullopt }));
        std::string expected = std::string("{\"type\":\"error\",\"code\":\"") + names[i] + "\",\"message\":\"why\"}";
        g_assert_cmpstr(json.c_str(), ==, expected.c_str());
        auto back = parseServerMessage(json);
        g_assert_true(back.ok());
        g_assert_true(std::get<Error>(back.message()).code == code);
    }
    g_assert_false(errorCodeFromName("nope").has_value());
}

void testServerSerialisation()
{
    struct Case {
        ServerMessage message;
        const char* json;
    };
    const Case cases[] = {
        { Joined { "demo", "bob", { "alice" }, {} }, R"({"type":"joined","room":"demo","peer":"bob","peers":["alice"],"iceServers":[]})" },
        { Joined { "demo", "a", {}, { IceServer { { "stun:h:3478", "stun:i:3478" }, std::nullopt, std::nullopt }, IceServer { { "turn:h:3478?transport=udp" }, "1:a", "c=" } } },
            R"({"type":"joined","room":"demo","peer":"a","peers":[],"iceServers":[{"urls":["stun:h:3478","stun:i:3478"]},{"urls":["turn:h:3478?transport=udp"],"username":"1:a","credential":"c="}]})" },
        { PeerJoined { "bob" }, R"({"type":"peer-joined","peer":"bob"})" },
        { PeerLeft { "bob" }, R"({"type":"peer-left","peer":"bob"})" },
        { RelayedOffer { "bob", "v=0\r\n" }, R"({"type":"send-offer","from":"bob","sdp":"v=0\r\n"})" },
        { RelayedAnswer { "bob", "\u00e9\"\\\x01" }, "{\"type\":\"send-answer\",\"from\":\"bob\",\"sdp\":\"\u00e9\\\"\\\\\\u0001\"}" },
        { RelayedCandidate { "a", "", 0, std::nullopt }, R"({"type":"ice-candidate","from":"a","candidate":"","sdpMLineIndex":0})" },
        { RelayedCandidate { "a", "c", 1, "1" }, R"({"type":"ice-candidate","from":"a","candidate":"c","sdpMLineIndex":1,"sdpMid":"1"})" },
        { Pong {}, R"({"type":"pong"})" },
        { Error { ErrorCode::UnknownPeer, "no", "send-offer" }, R"({"type":"error","code":"unknown-peer","message":"no","ref":"send-offer"})" },
    };
    for (const auto& c : cases) {
        std::string json = serialize(c.message);
        g_assert_cmpstr(json.c_str(), ==, c.json);
        auto back = parseServerMessage(json);
        g_assert_true(back.ok());
        g_assert_cmpstr(typeName(back.message()), ==, typeName(c.message));
        std::string again = serialize(back.message());
        g_assert_cmpstr(again.c_str(), ==, c.json);
    }
}

void testClientRoundTrip()
{
    const ClientMessage messages[] = {
        Join { "demo", "alice", "tok" },
        Join { "demo", std::nullopt, std::nullopt },
        Leave {},
        SendOffer { "v=0\r\na=\u00e9", "bob" },
        SendAnswer { "v=0", std::nullopt },
        SendCandidate { "candidate:1", 2, "2", "bob" },
        SendCandidate { "", 0, std::nullopt, std::nullopt },
        Ping {},
    };
    for (const auto& m : messages) {
        std::string json = serialize(m);
        auto back = parseClientMessage(json);
        if (!back.ok())
            g_error("%s: %s", json.c_str(), back.error().message.c_str());
        std::string again = serialize(back.message());
        g_assert_cmpstr(again.c_str(), ==, json.c_str());
    }
}

void testServerParseErrors()
{
    g_assert_false(parseServerMessage("{\"type\":\"joined\",\"room\":\"r\",\"peer\":\"p\"}").ok()); // peers missing
    g_assert_false(parseServerMessage("{\"type\":\"peer-left\"}").ok());
    g_assert_false(parseServerMessage("{\"type\":\"error\",\"code\":\"weird\"}").ok());
    g_assert_true(parseServerMessage("{\"type\":\"joined\",\"room\":\"r\",\"peer\":\"p\",\"peers\":[],\"iceServers\":[{\"urls\":\"stun:x\"}]}").ok());
    g_assert_cmpint(static_cast<int>(parseServerMessage("{\"type\":\"bogus\"}").error().code), ==, static_cast<int>(ErrorCode::UnknownType));
}

void testChat()
{
    auto chat = parseChatMessage("{\"type\":\"chat\",\"text\":\"hi \u00e9\"}");
    g_assert_true(chat.has_value());
    g_assert_cmpstr(chat->text.c_str(), ==, "hi \u00e9");
    g_assert_false(parseChatMessage("{\"type\":\"typing\"}").has_value());
    g_assert_false(parseChatMessage("{\"type\":\"chat\"}").has_value());
    g_assert_false(parseChatMessage("nope").has_value());
    std::string chatJson = serialize(ChatMessage { "a\"b" });
    g_assert_cmpstr(chatJson.c_str(), ==, R"({"type":"chat","text":"a\"b"})");
}

// parseClientMessage's fast path for flat objects against the general
// parser alone: the same message or the same error, for every input.
bool sameParse(std::string_view input, std::string& why)
{
    auto fast = parseClientMessage(input);
    auto general = detail::parseClientMessageInGeneral(input);
    if (fast.ok() != general.ok()) {
        why = fast.ok() ? "only the fast path accepts it" : "only the general parser accepts it";
        return false;
    }
    if (fast.ok()) {
        std::string a = serialize(fast.message());
        std::string b = serialize(general.message());
        if (a != b) {
            why = "read as " + a + ", in general as " + b;
            return false;
        }
        return true;
    }
    const ParseError& a = fast.error();
    const ParseError& b = general.error();
    if (a.code != b.code || a.message != b.message || a.ref != b.ref) {
        why = std::string("errors differ: ") + errorCodeName(a.code) + " " + a.message + " / " + errorCodeName(b.code) + " " + b.message;
        return false;
    }
    return true;
}

const char* const kFlatCases[] = {
    R"({"type":"ice-candidate","candidate":"candidate:842163049 1 udp 1677729535 192.0.2.7 46154 typ srflx raddr 0.0.0.0 rport 0 generation 0 ufrag sS7w network-cost 999","sdpMLineIndex":0,"sdpMid":"0"})",
    R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":123456789012345,"to":"bob"})",
    R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":1234567890123456})",
    R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":-0})",
    R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":0e0})",
    R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":1E2})",
    R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":00})",
    R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":0,"sdpMid":"a\"b\\c\/d\n\u00e9\ud83d\ude00"})",
    R"({"type":"send-offer","sdp":"v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=caf)" "\xc3\xa9" R"(\r\n","to":"peer.1_x-Y"})",
    R"({"type":"send-offer","sdp":"bad )" "\xc3\x28" R"(utf8"})",
    R"({"type":"send-answer","sdp":"a","sdp":"b","to":"x","to":null})",
    R"({"type":"send-answer","sdp":"a","to":"x","to":"y z"})",
    R"(  {  "type" : "ping" , "x" : true , "y" : false , "z" : null , "n" : -12 }  )",
    R"({"type":"join","room":"r","peer":"p","token":"a.b.c","x":1,"y":2,"z":3,"a":4,"b":5,"c":6,"d":7,"e":8,"f":9,"g":10,"h":11,"i":12})",
    R"({"type":"join","room":"r","peer":"p","token":"a.b.c","x":1,"y":2,"z":3,"a":4,"b":5,"c":6,"d":7,"e":8,"f":9,"g":10,"h":11,"i":12,"j":13})",
    R"({"type":"join","room":"r","":"empty name"})",
    R"({"type":"join","room":"r","pe\u0065r":"p"})",
    R"({"type":"join","room":"r\u0041"})",
    R"({"type":"join","room":"r","peer":"p","peer":"q"})",
    R"({"type":"leave","x":[1,{"y":2}]})",
    R"({"type":"ping"})",
    R"({"type":"ping"} )",
    R"({"type":"ping",})",
    R"({"type":"ping""x":1})",
    R"({"type":"pin)" "\x01" R"(g"})",
    R"({"type":"send-offer","sdp":"\u0000"})",
    R"({"type":"ice-candidate","candidate":"c","sdpMLineIndex":1,"sdpMid":"\u0000"})",
    R"({"type":"join","room":"r","token":"\u0000"})",
    R"({"type":1,"type":"ping"})",
    R"({"type":"ping","type":1})",
    R"({"type":"hello"})",
};

void testFastPathAgrees()
{
    std::vector<std::string> seeds;
    for (const auto& c : kClientCases)
        seeds.emplace_back(c.input);
    for (const char* c : kFlatCases)
        seeds.emplace_back(c);
    for (const auto& seed : seeds) {
        std::string why;
        if (!sameParse(seed, why))
            g_error("%s: %s", seed.c_str(), why.c_str());
    }
    // Mutations of the seeds: inserted, replaced and removed bytes from the
    // characters JSON cares about (and a few non-ASCII ones).
    static constexpr char alphabet[] = "{}[]\":,\\ /u0123456789abcdefnrtlsE.-+ \t\n\x01\xc3\xa9\xff";
    GRand* rand = g_rand_new_with_seed(13);
    int accepted = 0;
    for (int i = 0; i < 60000; ++i) {
        std::string input = seeds[static_cast<size_t>(g_rand_int_range(rand, 0, static_cast<gint32>(seeds.size())))];
        int edits = g_rand_int_range(rand, 1, 4);
        for (int e = 0; e < edits; ++e) {
            size_t at = input.empty() ? 0 : static_cast<size_t>(g_rand_int_range(rand, 0, static_cast<gint32>(input.size())));
            char c = alphabet[g_rand_int_range(rand, 0, sizeof alphabet - 1)];
            switch (g_rand_int_range(rand, 0, 3)) {
            case 0:
                input.insert(at, 1, c);
                break;
            case 1:
                if (!input.empty())
                    input[at] = c;
                break;
            default:
                if (!input.empty())
                    input.erase(at, 1);
                break;
            }
        }
        std::string why;
        if (!sameParse(input, why))
            g_error("mutation %d, %s: %s", i, input.c_str(), why.c_str());
        accepted += parseClientMessage(input).ok();
    }
    g_rand_free(rand);
    // The mutations reach accepted messages too, not only errors.
    g_assert_cmpint(accepted, >, 1000);
    // And the usual messages do take the fast path.
    for (const char* usual : { kFlatCases[0], kFlatCases[1], kFlatCases[7], kFlatCases[8], kFlatCases[12] })
        g_assert_true(detail::parseFlatClientMessage(usual).has_value());
    for (const char* general : { kFlatCases[2], kFlatCases[4], kFlatCases[16], kFlatCases[19] })
        g_assert_false(detail::parseFlatClientMessage(general).has_value());
    g_assert_true(detail::parseFlatClientMessage(serialize(ClientMessage(Join { "demo", "alice", "t" }))).has_value());
}

} // namespace

int main(int argc, char** argv)
{
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/protocol/client-table", testClientTable);
    g_test_add_func("/protocol/ids", testIds);
    g_test_add_func("/protocol/member-values", testMemberValues);
    g_test_add_func("/protocol/nul-strings", testNulStrings);
    g_test_add_func("/protocol/error-codes", testErrorNames);
    g_test_add_func("/protocol/server-serialisation", testServerSerialisation);
    g_test_add_func("/protocol/client-round-trip", testClientRoundTrip);
    g_test_add_func("/protocol/server-parse-errors", testServerParseErrors);
    g_test_add_func("/protocol/chat", testChat);
    g_test_add_func("/protocol/fast-path-agrees", testFastPathAgrees);
    return g_test_run();
}
