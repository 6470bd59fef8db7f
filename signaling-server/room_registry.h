// Rooms and their peers, shared by every worker thread, and which worker
// owns each room.
//
// A room lives on one worker: every peer of it is served by that worker's
// thread, so relaying inside a room never crosses threads. A new room goes
// to the least loaded worker; a connection that joins a room owned by
// another worker is handed over to it (worker.h) and joins there. Among
// equally loaded workers a new room stays on its first joiner's.
//
// Lock rule: `mutex_` guards everything here and is a leaf lock: nothing
// else is locked while it is held, and no callback runs under it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace palaver::server {

class Worker;

// Where a joined peer lives: its worker, its connection there, and the join
// session (a connection that leaves and joins again gets a new one, so a
// message routed to its old session is dropped rather than misdelivered).
struct PeerRef {
    Worker* worker = nullptr;
    uint64_t connectionId = 0;
    uint64_t session = 0;
};

class RoomRegistry {
public:
    explicit RoomRegistry(int maxRoomPeers);

    // The workers rooms are placed on, set once before any of them runs.
    // Without any, a room is owned by whoever joins it first.
    void setWorkers(std::vector<Worker*> workers);

    enum class JoinStatus { Joined, PeerIdTaken, RoomFull, Elsewhere };
    struct JoinResult {
        JoinStatus status = JoinStatus::Joined;
        std::string peer;                  // the id, assigned when none was asked for
        std::vector<std::string> existing; // oldest first
        std::vector<PeerRef> others;       // to tell about the newcomer
        Worker* owner = nullptr;           // Elsewhere: where to join instead
    };
    // Joins `self` (on self.worker) to `room`. When the room is owned by
    // another worker, nothing is joined: the status is Elsewhere, `owner`
    // says where, and the room is held for the caller (its owner cannot
    // change) until it joins there with `reserved` or calls release().
    JoinResult join(const std::string& room, const std::optional<std::string>& peer, const PeerRef& self, bool reserved);
    // Gives up a hold taken by an Elsewhere result.
    void release(const std::string& room);

    // Removes the peer; returns the peers still in the room, to tell them.
    std::vector<PeerRef> leave(const std::string& room, const std::string& peer);

    // The receiver of a relayed message: `to`, or the only other peer when
    // `to` is absent and the room holds exactly two.
    std::optional<PeerRef> resolve(const std::string& room, const std::string& self, const std::optional<std::string>& to);

    struct Counts {
        size_t rooms = 0;
        size_t peers = 0;
    };
    Counts counts();
    // Per worker, in setWorkers() order: the rooms it owns and their peers.
    std::vector<Counts> countsPerWorker();

private:
    struct Member {
        std::string peer;
        PeerRef ref;
    };
    struct Room {
        Worker* owner = nullptr;
        size_t held = 0;             // joins on their way to the owner
        std::vector<Member> members; // in join order; at most maxRoomPeers
    };
    struct Load {
        size_t rooms = 0;
        size_t peers = 0; // members and holds
    };

    static const Member* find(const Room& room, const std::string& peer);
    Worker* leastLoaded(Worker* preferred) const;
    Load* loadOf(Worker* worker);
    void eraseIfEmpty(std::unordered_map<std::string, Room>::iterator it);

    std::mutex mutex_;
    std::unordered_map<std::string, Room> rooms_;
    size_t peers_ = 0;
    const size_t maxRoomPeers_;
    std::vector<Worker*> workers_;
    std::vector<Load> loads_; // parallel to workers_
};

} // namespace palaver::server
