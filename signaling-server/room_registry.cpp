#include "room_registry.h"

#include <glib.h>

namespace palaver::server {

namespace {

// 12 characters of [a-z0-9]: 62 bits, so a clash inside one room is
// vanishingly rare; join() still checks.
std::string randomPeerId()
{
    static constexpr char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string id(12, 'a');
    for (auto& c : id)
        c = alphabet[g_random_int_range(0, 36)];
    return id;
}

} // namespace

RoomRegistry::RoomRegistry(int maxRoomPeers)
    : maxRoomPeers_(static_cast<size_t>(maxRoomPeers))
{
}

const RoomRegistry::Member* RoomRegistry::find(const Room& room, const std::string& peer)
{
    for (const auto& m : room) {
        if (m.peer == peer)
            return &m;
    }
    return nullptr;
}

RoomRegistry::JoinResult RoomRegistry::join(const std::string& roomId, const std::optional<std::string>& peer, const PeerRef& self)
{
    JoinResult result;
    std::lock_guard lock(mutex_);
    auto [it, created] = rooms_.try_emplace(roomId);
    Room& room = it->second;
    // docs/protocol.md: peer-id-taken comes before room-full.
    if (peer && find(room, *peer)) {
        result.status = JoinStatus::PeerIdTaken;
    } else if (room.size() >= maxRoomPeers_) {
        result.status = JoinStatus::RoomFull;
    } else {
        result.peer = peer ? *peer : randomPeerId();
        while (!peer && find(room, result.peer))
            result.peer = randomPeerId();
        result.existing.reserve(room.size());
        result.others.reserve(room.size());
        for (const auto& m : room) {
            result.existing.push_back(m.peer);
            result.others.push_back(m.ref);
        }
        room.push_back({ result.peer, self });
        ++peers_;
        return result;
    }
    if (created)
        rooms_.erase(it);
    return result;
}

std::vector<PeerRef> RoomRegistry::leave(const std::string& roomId, const std::string& peer)
{
    std::vector<PeerRef> others;
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(roomId);
    if (it == rooms_.end())
        return others;
    Room& room = it->second;
    for (auto m = room.begin(); m != room.end(); ++m) {
        if (m->peer == peer) {
            room.erase(m);
            --peers_;
            break;
        }
    }
    if (room.empty()) {
        rooms_.erase(it);
        return others;
    }
    others.reserve(room.size());
    for (const auto& m : room)
        others.push_back(m.ref);
    return others;
}

std::optional<PeerRef> RoomRegistry::resolve(const std::string& roomId, const std::string& self, const std::optional<std::string>& to)
{
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(roomId);
    if (it == rooms_.end())
        return std::nullopt;
    const Room& room = it->second;
    if (to) {
        if (*to == self)
            return std::nullopt;
        if (const Member* m = find(room, *to))
            return m->ref;
        return std::nullopt;
    }
    if (room.size() != 2)
        return std::nullopt;
    return room[0].peer == self ? room[1].ref : room[0].ref;
}

RoomRegistry::Counts RoomRegistry::counts()
{
    std::lock_guard lock(mutex_);
    return { rooms_.size(), peers_ };
}

} // namespace palaver::server
