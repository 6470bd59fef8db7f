// Rooms and their peers, shared by every worker thread.
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

    enum class JoinStatus { Joined, PeerIdTaken, RoomFull };
    struct JoinResult {
        JoinStatus status = JoinStatus::Joined;
        std::string peer;                  // the id, assigned when none was asked for
        std::vector<std::string> existing; // oldest first
        std::vector<PeerRef> others;       // to tell about the newcomer
    };
    JoinResult join(const std::string& room, const std::optional<std::string>& peer, const PeerRef& self);

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

private:
    struct Member {
        std::string peer;
        PeerRef ref;
    };
    using Room = std::vector<Member>; // in join order; at most maxRoomPeers

    static const Member* find(const Room& room, const std::string& peer);

    std::mutex mutex_;
    std::unordered_map<std::string, Room> rooms_;
    size_t peers_ = 0;
    const size_t maxRoomPeers_;
};

} // namespace palaver::server
