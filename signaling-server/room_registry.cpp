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

void RoomRegistry::setWorkers(std::vector<Worker*> workers)
{
    std::lock_guard lock(mutex_);
    workers_ = std::move(workers);
    loads_.assign(workers_.size(), Load {});
}

const RoomRegistry::Member* RoomRegistry::find(const Room& room, const std::string& peer)
{
    for (const auto& m : room.members) {
        if (m.peer == peer)
            return &m;
    }
    return nullptr;
}

// By peers (members and holds), then rooms: rooms differ in size, and a
// worker's cost is its peers' messages. Among the least loaded, the
// joiner's own worker, so that it need not move: a server whose rooms are
// mostly one peer (or short-lived) moves almost no connection.
Worker* RoomRegistry::leastLoaded(Worker* preferred) const
{
    auto lighter = [](const Load& a, const Load& b) { return a.peers < b.peers || (a.peers == b.peers && a.rooms < b.rooms); };
    size_t best = 0;
    for (size_t i = 1; i < loads_.size(); ++i) {
        if (lighter(loads_[i], loads_[best]))
            best = i;
    }
    for (size_t i = 0; i < workers_.size(); ++i) {
        if (workers_[i] == preferred && !lighter(loads_[best], loads_[i]))
            return preferred;
    }
    return workers_[best];
}

RoomRegistry::Load* RoomRegistry::loadOf(Worker* worker)
{
    for (size_t i = 0; i < workers_.size(); ++i) {
        if (workers_[i] == worker)
            return &loads_[i];
    }
    return nullptr;
}

void RoomRegistry::eraseIfEmpty(std::unordered_map<std::string, Room>::iterator it)
{
    Room& room = it->second;
    if (!room.members.empty() || room.held)
        return;
    if (Load* load = loadOf(room.owner))
        --load->rooms;
    rooms_.erase(it);
}

RoomRegistry::JoinResult RoomRegistry::join(const std::string& roomId, const std::optional<std::string>& peer, const PeerRef& self, bool reserved)
{
    JoinResult result;
    std::lock_guard lock(mutex_);
    auto [it, created] = rooms_.try_emplace(roomId);
    Room& room = it->second;
    if (created) {
        room.owner = workers_.empty() ? self.worker : leastLoaded(self.worker);
        if (Load* load = loadOf(room.owner))
            ++load->rooms;
    }
    Load* load = loadOf(room.owner);
    if (room.owner != self.worker) {
        result.status = JoinStatus::Elsewhere;
        result.owner = room.owner;
        if (!reserved) {
            ++room.held;
            if (load)
                ++load->peers;
        }
        return result;
    }
    if (reserved) {
        --room.held;
        if (load)
            --load->peers;
    }
    // docs/protocol.md: peer-id-taken comes before room-full.
    if (peer && find(room, *peer)) {
        result.status = JoinStatus::PeerIdTaken;
    } else if (room.members.size() >= maxRoomPeers_) {
        result.status = JoinStatus::RoomFull;
    } else {
        result.peer = peer ? *peer : randomPeerId();
        while (!peer && find(room, result.peer))
            result.peer = randomPeerId();
        result.existing.reserve(room.members.size());
        result.others.reserve(room.members.size());
        for (const auto& m : room.members) {
            result.existing.push_back(m.peer);
            result.others.push_back(m.ref);
        }
        room.members.push_back({ result.peer, self });
        ++peers_;
        if (load)
            ++load->peers;
        return result;
    }
    eraseIfEmpty(it);
    return result;
}

void RoomRegistry::release(const std::string& roomId)
{
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(roomId);
    if (it == rooms_.end() || it->second.held == 0)
        return;
    --it->second.held;
    if (Load* load = loadOf(it->second.owner))
        --load->peers;
    eraseIfEmpty(it);
}

std::vector<PeerRef> RoomRegistry::leave(const std::string& roomId, const std::string& peer)
{
    std::vector<PeerRef> others;
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(roomId);
    if (it == rooms_.end())
        return others;
    Room& room = it->second;
    for (auto m = room.members.begin(); m != room.members.end(); ++m) {
        if (m->peer == peer) {
            room.members.erase(m);
            --peers_;
            if (Load* load = loadOf(room.owner))
                --load->peers;
            break;
        }
    }
    others.reserve(room.members.size());
    for (const auto& m : room.members)
        others.push_back(m.ref);
    eraseIfEmpty(it);
    return others;
}

std::optional<PeerRef> RoomRegistry::resolve(const std::string& roomId, const std::string& self, const std::optional<std::string>& to)
{
    std::lock_guard lock(mutex_);
    auto it = rooms_.find(roomId);
    if (it == rooms_.end())
        return std::nullopt;
    const auto& members = it->second.members;
    if (to) {
        if (*to == self)
            return std::nullopt;
        if (const Member* m = find(it->second, *to))
            return m->ref;
        return std::nullopt;
    }
    if (members.size() != 2)
        return std::nullopt;
    return members[0].peer == self ? members[1].ref : members[0].ref;
}

RoomRegistry::Counts RoomRegistry::counts()
{
    std::lock_guard lock(mutex_);
    return { rooms_.size(), peers_ };
}

std::vector<RoomRegistry::Counts> RoomRegistry::countsPerWorker()
{
    std::lock_guard lock(mutex_);
    std::vector<Counts> out;
    out.reserve(loads_.size());
    for (const Load& load : loads_)
        out.push_back({ load.rooms, load.peers });
    return out;
}

} // namespace palaver::server
