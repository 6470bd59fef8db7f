// Small helpers shared by the server test programs.
#pragma once

#include "harness.h"
#include "raw_client.h"
#include "server_process.h"
#include "test_client.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace palaver::test {

// alice joins `room`, then bob; alice sees bob's peer-joined.
inline void joinPair(TestClient& alice, TestClient& bob, std::string_view room = "room",
    std::source_location loc = std::source_location::current())
{
    alice.join(room, "alice", {}, loc);
    bob.join(room, "bob", { "alice" }, loc);
    alice.expectJson(R"({"type":"peer-joined","peer":"bob"})", kExpectTimeoutMs, loc);
}

using ClientPairs = std::vector<std::pair<std::unique_ptr<TestClient>, std::unique_ptr<TestClient>>>;

// `rooms` pairs, alice and bob of room `<prefix>-<r>` (joinPair each).
inline ClientPairs joinPairs(const ServerProcess& server, int rooms, std::string_view prefix,
    std::source_location loc = std::source_location::current())
{
    ClientPairs pairs;
    for (int r = 0; r < rooms; ++r) {
        auto a = std::make_unique<TestClient>(server);
        auto b = std::make_unique<TestClient>(server);
        joinPair(*a, *b, std::string(prefix) + "-" + std::to_string(r), loc);
        pairs.emplace_back(std::move(a), std::move(b));
    }
    return pairs;
}

// The next messages are exactly `jsons`, in any order (events caused by
// different clients may reach a peer in either order).
inline void expectUnordered(TestClient& client, std::vector<std::string> jsons,
    std::source_location loc = std::source_location::current())
{
    std::vector<JsonNodePtr> want;
    for (const auto& j : jsons)
        want.push_back(parseJson(j));
    for (size_t i = 0; i < jsons.size(); ++i) {
        Message m = client.expect(kExpectTimeoutMs, loc);
        bool found = false;
        for (auto& w : want) {
            if (w && m.node && json_node_equal(w.get(), m.node.get())) {
                w.reset();
                found = true;
                break;
            }
        }
        if (!found)
            fail("unexpected message " + m.raw + "; expected one of " + show(jsons), loc);
    }
}

// A ping/pong round trip: proves the connection is open and everything sent
// before it was processed.
template<typename Client>
void roundTrip(Client& client, std::source_location loc = std::source_location::current())
{
    client.send(R"({"type":"ping"})", loc);
    client.expectJson(R"({"type":"pong"})", kExpectTimeoutMs, loc);
}

inline void roundTrip(RawClient& client, std::source_location loc = std::source_location::current())
{
    client.sendText(R"({"type":"ping"})", loc);
    client.expectJson(R"({"type":"pong"})", kExpectTimeoutMs, loc);
}

inline std::string repeat(std::string_view s, size_t times)
{
    std::string out;
    out.reserve(s.size() * times);
    for (size_t i = 0; i < times; ++i)
        out += s;
    return out;
}

// Pads a ping with an ignored member so that the frame is exactly `size` bytes.
inline std::string pingOfSize(size_t size)
{
    const std::string head = R"({"type":"ping","pad":")";
    const std::string tail = R"("})";
    g_assert(size >= head.size() + tail.size());
    return head + std::string(size - head.size() - tail.size(), 'x') + tail;
}

} // namespace palaver::test
