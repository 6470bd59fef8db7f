// RoomRegistry on its own: where rooms are placed, the hold a join on its
// way to another worker keeps, and the per-worker counts /metrics shows.
// Workers are only addresses to the registry; it never calls them.
#include "room_registry.h"

#include <glib.h>

#include <array>

using namespace palaver::server;
using Status = RoomRegistry::JoinStatus;

namespace {

std::array<char, 3> slots;
Worker* const w0 = reinterpret_cast<Worker*>(&slots[0]);
Worker* const w1 = reinterpret_cast<Worker*>(&slots[1]);

PeerRef on(Worker* worker, uint64_t id)
{
    return PeerRef { worker, id, id * 64 };
}

void checkCounts(RoomRegistry& rooms, size_t rooms0, size_t peers0, size_t rooms1, size_t peers1)
{
    auto counts = rooms.countsPerWorker();
    g_assert_cmpuint(counts.size(), ==, 2);
    g_assert_cmpuint(counts[0].rooms, ==, rooms0);
    g_assert_cmpuint(counts[0].peers, ==, peers0);
    g_assert_cmpuint(counts[1].rooms, ==, rooms1);
    g_assert_cmpuint(counts[1].peers, ==, peers1);
}

// A new room stays with its first joiner's worker while that one is among
// the least loaded; otherwise it goes to the least loaded, and the joiner
// is told to join there (held meanwhile).
void testPlacement()
{
    RoomRegistry rooms(16);
    rooms.setWorkers({ w0, w1 });
    g_assert_true(rooms.join("a", std::string("p"), on(w1, 1), false).status == Status::Joined);
    checkCounts(rooms, 0, 0, 1, 1);
    auto moved = rooms.join("b", std::string("q"), on(w1, 2), false);
    g_assert_true(moved.status == Status::Elsewhere);
    g_assert_true(moved.owner == w0);
    checkCounts(rooms, 1, 1, 1, 1); // the hold counts as w0's peer
    g_assert_cmpuint(rooms.counts().peers, ==, 1);
    auto joined = rooms.join("b", std::string("q"), on(w0, 2), true);
    g_assert_true(joined.status == Status::Joined);
    checkCounts(rooms, 1, 1, 1, 1);
    g_assert_cmpuint(rooms.counts().peers, ==, 2);
    // Joining an existing room from the wrong worker: Elsewhere, whatever the load.
    auto again = rooms.join("a", std::string("r"), on(w0, 3), false);
    g_assert_true(again.status == Status::Elsewhere);
    g_assert_true(again.owner == w1);
    rooms.release("a");
    checkCounts(rooms, 1, 1, 1, 1);
    // Leaving empties and frees the rooms and their loads.
    g_assert_cmpuint(rooms.leave("a", "p").size(), ==, 0);
    g_assert_cmpuint(rooms.leave("b", "q").size(), ==, 0);
    checkCounts(rooms, 0, 0, 0, 0);
    g_assert_cmpuint(rooms.counts().rooms, ==, 0);
}

// A hold keeps an otherwise empty room (and so its owner) until the join
// comes or is given up; a refused join gives the hold back too.
void testHolds()
{
    RoomRegistry rooms(1);
    rooms.setWorkers({ w0, w1 });
    g_assert_true(rooms.join("busy", std::string("p"), on(w0, 1), false).status == Status::Joined);
    // A room created by a hold alone: w1 is lighter.
    auto held = rooms.join("new", std::string("q"), on(w0, 2), false);
    g_assert_true(held.status == Status::Elsewhere && held.owner == w1);
    g_assert_cmpuint(rooms.counts().rooms, ==, 2);
    rooms.release("new");
    g_assert_cmpuint(rooms.counts().rooms, ==, 1);
    checkCounts(rooms, 1, 1, 0, 0);
    // Held, then refused at the owner (room full, size 1): the room is freed
    // with its last member only.
    auto toBusy = rooms.join("busy", std::string("r"), on(w1, 3), false);
    g_assert_true(toBusy.status == Status::Elsewhere && toBusy.owner == w0);
    g_assert_true(rooms.join("busy", std::string("r"), on(w0, 3), true).status == Status::RoomFull);
    checkCounts(rooms, 1, 1, 0, 0);
    auto taken = rooms.join("busy", std::string("p"), on(w1, 4), false);
    g_assert_true(taken.status == Status::Elsewhere);
    g_assert_true(rooms.join("busy", std::string("p"), on(w0, 4), true).status == Status::PeerIdTaken);
    checkCounts(rooms, 1, 1, 0, 0);
    rooms.leave("busy", "p");
    checkCounts(rooms, 0, 0, 0, 0);
    g_assert_cmpuint(rooms.counts().rooms, ==, 0);
    // Releasing what is not held changes nothing.
    rooms.release("busy");
    rooms.release("nowhere");
    checkCounts(rooms, 0, 0, 0, 0);
}

// Many two-peer rooms whose peers arrive on random workers end up spread
// evenly, every member on its room's worker.
void testSpread()
{
    RoomRegistry rooms(16);
    rooms.setWorkers({ w0, w1 });
    GRand* rand = g_rand_new_with_seed(7);
    uint64_t id = 1;
    for (int r = 0; r < 50; ++r) {
        std::string room = "room-" + std::to_string(r);
        for (const char* peer : { "a", "b" }) {
            Worker* accepted = g_rand_boolean(rand) ? w0 : w1;
            auto result = rooms.join(room, std::string(peer), on(accepted, id), false);
            if (result.status == Status::Elsewhere)
                result = rooms.join(room, std::string(peer), on(result.owner, id), true);
            g_assert_true(result.status == Status::Joined);
            ++id;
        }
    }
    g_rand_free(rand);
    auto counts = rooms.countsPerWorker();
    g_assert_cmpuint(counts[0].rooms + counts[1].rooms, ==, 50);
    g_assert_cmpuint(counts[0].peers, ==, 2 * counts[0].rooms);
    g_assert_cmpuint(counts[0].rooms, >=, 24);
    g_assert_cmpuint(counts[0].rooms, <=, 26);
    for (int r = 0; r < 50; ++r) {
        auto a = rooms.resolve("room-" + std::to_string(r), "b", std::nullopt);
        auto b = rooms.resolve("room-" + std::to_string(r), "a", std::nullopt);
        g_assert_true(a && b && a->worker == b->worker);
    }
}

} // namespace

int main(int argc, char** argv)
{
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/room-registry/placement", testPlacement);
    g_test_add_func("/room-registry/holds", testHolds);
    g_test_add_func("/room-registry/spread", testSpread);
    return g_test_run();
}
