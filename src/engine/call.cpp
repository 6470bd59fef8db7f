#include "call.h"

#include "debug.h"
#include "gst_element.h"
#include "post.h"
#include "background.h"

#include <algorithm>

#define GST_CAT_DEFAULT palaver_call_debug

namespace palaver::engine {

Call::Call(CallOptions options, CallObserver& observer)
    : options_(std::move(options))
    , observer_(observer)
    , context_(g_main_context_ref_thread_default())
    , pipeline_(adopt(GST_PIPELINE(gst_pipeline_new("palaver"))))
{
    initDebug();
    media_ = std::make_unique<LocalMedia>(GST_BIN(pipeline_.get()));
}

Call::~Call()
{
    anchor_.reset();
    for (Source* source : { &busWatch_, &statsTimer_, &rejoinTimer_, &teardownCheck_, &teardownLimit_, &reaper_ })
        source->cancel();
    leftGrace_.clear();
    if (signaling_)
        signaling_->stop();
    for (auto& [id, pc] : peers_) {
        snapshot(*pc);
        dying_.push_back(std::move(pc));
    }
    peers_.clear();
    // Every connection goes before the pipeline, media and delegate it
    // borrows: also those still waiting for the reaper.
    size_t finished = dying_.size();
    dying_.clear();
    gst_element_set_state(GST_ELEMENT(pipeline_.get()), GST_STATE_NULL);
    GST_INFO("call destroyed (%s; %zu peer connection(s) finished here)", tornDown_ ? "torn down" : "teardown cut short",
        finished);
}

bool Call::start(std::string& error)
{
    // The descriptions given and the elements every call needs are checked
    // at once: a typo or a missing plugin fails here, before any device is
    // opened or the server contacted.
    if (!LocalMedia::check(options_.media, error)) {
        startFailure_ = "bad-pipeline"; // also for an element the user named that is not installed
        return false;
    }
    if (!LocalMedia::checkElements(options_.media, !options_.fakeSinks, error)) {
        startFailure_ = "missing-element";
        return false;
    }
    startWarmUp();
    bool camera = LocalMedia::needsCamera(options_.media), microphone = LocalMedia::needsMicrophone(options_.media);
    peerId_ = options_.peer;
    // Off the main loop: opening a V4L2 node and starting a device monitor
    // can block for long (a busy camera, a sound server that does not
    // answer), and loading the plugins a call uses (dlopen) took 25-40 ms
    // of the first join (bench/gui/README.md, "Main-loop stalls").
    runInBackground([context = context_, self = anchor_.weak(), media = options_.media, camera, microphone,
                        realOutput = !options_.fakeSinks] {
        Devices found = Devices::probe(camera, microphone);
        LocalMedia::preload(media, found, realOutput);
        postTo(context.get(), self, [found](Call& call) { call.startMedia(found); });
    });
    return true;
}

void Call::startMedia(const Devices& devices)
{
    if (hungUp_)
        return;
    std::string error;
    if (!options_.fakeSinks && !buildAudioOutput(error)) {
        fatal("media-error", error);
        return;
    }
    MediaOptions media = options_.media;
    // Echo cancellation only where there is an echo: real speakers.
    if (options_.fakeSinks)
        media.echoProbe.clear();
    if (!media_->build(media, devices, error)) {
        // The device or test source picked for us may be what is missing.
        fatal(error.find("' is missing: install") != std::string::npos ? "missing-element" : "bad-pipeline", error);
        return;
    }
    GRef<GstBus> bus = adopt(gst_pipeline_get_bus(pipeline_.get()));
    GSource* watch = gst_bus_create_watch(bus.get());
    g_source_set_callback(watch, G_SOURCE_FUNC(&Call::onBusMessage), this, nullptr);
    busWatch_ = Source::adopt(context_.get(), watch, "palaver-call-bus");
    // Going to PLAYING opens the devices (the camera, autoaudiosink trying
    // one sound server after the other: a second with one that does not
    // answer), so it runs off the main loop too. Nothing here touches the
    // pipeline until it is back.
    runInBackground([context = context_, self = anchor_.weak(), pipeline = pipeline_] {
        bool ok = gst_element_set_state(GST_ELEMENT(pipeline.get()), GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
        postTo(context.get(), self, [ok](Call& call) { call.mediaPlaying(ok); });
    });
}

void Call::mediaPlaying(bool ok)
{
    if (hungUp_)
        return;
    if (!ok) {
        fatal("media-error", "The local media pipeline did not start (is the camera or microphone in use?)");
        return;
    }
    statsTimer_ = Source::every(context_.get(), std::chrono::seconds(1), [this] { pollStats(); }, "palaver-call-stats");
    observer_.mediaStarted();
    if (hungUp_)
        return; // the observer hung up

    SignalingClient::Callbacks callbacks;
    callbacks.connected = [this] { onConnected(); };
    callbacks.message = [this](const protocol::ServerMessage& m) { onMessage(m); };
    callbacks.disconnected = [this](const std::string& reason, bool retry) { onDisconnected(reason, retry); };
    signaling_ = SignalingClient::create(options_.serverUrl, std::move(callbacks));
    epochUs_ = g_get_monotonic_time();
    signaling_->start();
}

bool Call::addPreview(GRef<GstElement> sink, std::string& error)
{
    return media_->addPreview(std::move(sink), error);
}

void Call::hangUp()
{
    if (hungUp_)
        return;
    hungUp_ = true;
    GST_INFO("hanging up");
    teardownStartUs_ = g_get_monotonic_time();
    for (Source* source : { &statsTimer_, &rejoinTimer_ })
        source->cancel();
    leftGrace_.clear();
    // A bye on every chat channel first, so the others tear down at once
    // instead of keeping our connection for a grace period.
    for (auto& [id, pc] : peers_) {
        pc->sendBye();
        // Checked from a Source of ours: finishing destroys the peers, which
        // must not happen inside one of their own callbacks.
        pc->whenChatFlushed([this] { teardownCheck_ = Source::idle(context_.get(), [this] { checkTeardown(); }); });
    }
    if (signaling_ && joined_)
        signaling_->send(protocol::Leave {});
    joined_ = false;
    // The close handshake tells us the leave reached the server.
    std::weak_ptr<Call> self = anchor_.weak();
    if (signaling_) {
        signaling_->stop([context = context_.get(), self] {
            postTo(context, self, [](Call& call) {
                call.signalingClosed_ = true;
                call.checkTeardown();
            });
        });
    } else {
        signalingClosed_ = true;
    }
    teardownLimit_ = Source::once(context_.get(), kTeardownLimit, [this] {
        GST_WARNING("teardown: gave up waiting after %lld ms (%s)", static_cast<long long>(kTeardownLimit.count()),
            signalingClosed_ ? "a bye still queued" : "the server did not answer our close");
        finishTeardown();
    });
    // Never from inside the caller: the observer may destroy us in tornDown().
    teardownCheck_ = Source::idle(context_.get(), [this] { checkTeardown(); });
}

// Byes are flushed once their channel handed every byte to SCTP (its
// buffered-amount notifications say when); the server has our leave once it
// answered the close. Called as each of those finishes.
void Call::checkTeardown()
{
    if (tornDown_)
        return;
    bool flushed = std::all_of(peers_.begin(), peers_.end(), [](const auto& p) { return p.second->chatFlushed(); });
    if (!flushed || !signalingClosed_ || byeLinger_)
        return;
    if (peers_.empty()) {
        finishTeardown();
        return;
    }
    byeLinger_ = Source::once(context_.get(), kByeLinger, [this] { finishTeardown(); }, "palaver-bye-linger");
}

void Call::finishTeardown()
{
    if (tornDown_)
        return;
    tornDown_ = true;
    teardownCheck_.cancel();
    teardownLimit_.cancel();
    byeLinger_.cancel();
    for (auto& [id, pc] : peers_) {
        snapshot(*pc);
        dying_.push_back(std::move(pc));
    }
    peers_.clear();
    dying_.clear();
    signaling_.reset();
    // The camera and microphone are free from now on, not only when the
    // Call goes: a window may join again at once.
    gst_element_set_state(GST_ELEMENT(pipeline_.get()), GST_STATE_NULL);
    GST_INFO("torn down in %.1f ms", double(g_get_monotonic_time() - teardownStartUs_) / 1000.0);
    observer_.tornDown(); // may destroy us: nothing after this
}

void Call::reapDying()
{
    dying_.clear();
}

// ---- signaling ----------------------------------------------------------------

void Call::onConnected()
{
    observer_.signalingChanged(true, "connected to " + options_.serverUrl);
    protocol::Join join;
    join.room = options_.room;
    // After a reconnect we ask for the id we had, so the other peers (whose
    // media to us may still be flowing) recognise us.
    if (!peerId_.empty())
        join.peer = peerId_;
    if (!options_.token.empty())
        join.token = options_.token;
    if (!everJoined_)
        epochUs_ = g_get_monotonic_time();
    GST_INFO("joining room %s as %s", options_.room.c_str(), peerId_.empty() ? "(server-assigned id)" : peerId_.c_str());
    signaling_->send(join);
}

void Call::onDisconnected(const std::string& reason, bool willRetry)
{
    joined_ = false;
    if (!everJoined_ && !willRetry) {
        fatal("server-unreachable", "Could not reach the server: " + reason);
        return;
    }
    // Peer connections are peer to peer: their media goes on while the
    // signaling server is away.
    observer_.signalingChanged(false, reason);
}

void Call::onMessage(const protocol::ServerMessage& message)
{
    // The close handshake may still bring messages: a call that hung up
    // makes nothing new from them.
    if (hungUp_)
        return;
    std::visit(
        [this](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, protocol::Joined>) {
                onJoined(m);
            } else if constexpr (std::is_same_v<T, protocol::PeerJoined>) {
                GST_INFO("peer %s joined the room", m.peer.c_str());
                roomPeers_.insert(m.peer);
                saidBye_.erase(m.peer);
                leftGrace_.erase(m.peer);
                auto it = peers_.find(m.peer);
                // A peer we still have media with is back after a server
                // restart or a lost connection: keep that connection.
                // Otherwise it offers to us.
                if (it != peers_.end() && !it->second->connected())
                    removePeer(m.peer, "rejoined");
                else if (it != peers_.end())
                    GST_INFO("keeping the live connection to %s", m.peer.c_str());
                PeerSummary& summary = summaries_[m.peer];
                summary.id = m.peer;
                if (!summary.present || it == peers_.end()) {
                    summary.present = true;
                    observer_.peerAdded(m.peer);
                }
            } else if constexpr (std::is_same_v<T, protocol::PeerLeft>) {
                GST_INFO("peer %s left the room", m.peer.c_str());
                roomPeers_.erase(m.peer);
                onPeerLeft(m.peer);
            } else if constexpr (std::is_same_v<T, protocol::RelayedOffer>) {
                onOffer(m);
            } else if constexpr (std::is_same_v<T, protocol::RelayedAnswer>) {
                // A strong reference: handling may replace it in peers_.
                if (auto it = peers_.find(m.from); it != peers_.end())
                    std::shared_ptr<PeerConnection>(it->second)->handleAnswer(m.sdp);
                else
                    GST_WARNING("answer from %s, to whom we made no offer", m.from.c_str());
            } else if constexpr (std::is_same_v<T, protocol::RelayedCandidate>) {
                if (auto it = peers_.find(m.from); it != peers_.end())
                    std::shared_ptr<PeerConnection>(it->second)->handleCandidate(m);
                else
                    GST_DEBUG("candidate from %s, with whom we have no connection", m.from.c_str());
            } else if constexpr (std::is_same_v<T, protocol::Error>) {
                onError(m);
            } else if constexpr (std::is_same_v<T, protocol::Pong>) {
            }
        },
        message);
}

void Call::onPeerLeft(const std::string& id)
{
    auto it = peers_.find(id);
    if (it == peers_.end() || !it->second->connected() || saidBye_.count(id)) {
        removePeer(id, "left");
        return;
    }
    // It may only have lost its server connection (it said no bye): media
    // is peer to peer, so keep it a while for it to come back.
    GST_INFO("keeping the connection to %s for %u s: it left without a bye", id.c_str(), kLeftGraceS);
    // Replacing a timer of the same peer cancels it.
    leftGrace_[id] = Source::once(context_.get(), std::chrono::seconds(kLeftGraceS), [this, id] {
        leftGrace_.erase(id); // this Source: GLib keeps the callback until it returns
        if (!roomPeers_.count(id))
            removePeer(id, "left");
    });
}

void Call::peerSaidBye(PeerConnection& pc)
{
    std::string id = pc.peerId();
    saidBye_.insert(id);
    // Its leave follows: tear down now rather than wait for a grace.
    postTo(context_.get(), anchor_.weak(), [id](Call& call) { call.removePeer(id, "left"); });
}

void Call::onJoined(const protocol::Joined& joined)
{
    bool first = !everJoined_;
    joined_ = true;
    everJoined_ = true;
    peerId_ = joined.peer;
    iceServers_ = joined.iceServers;
    signaling_->setReconnect(true);
    if (first) {
        joinedMs_ = double(g_get_monotonic_time() - epochUs_) / 1000.0;
        GST_INFO("joined room %s as %s with %zu peer(s) there", joined.room.c_str(), joined.peer.c_str(), joined.peers.size());
        observer_.joined(joined.room, joined.peer);
    } else {
        GST_INFO("joined room %s again as %s", joined.room.c_str(), joined.peer.c_str());
        observer_.signalingChanged(true, "joined again");
    }
    roomPeers_ = std::set<std::string>(joined.peers.begin(), joined.peers.end());
    // The newcomer offers (docs/protocol.md, "Who offers").
    for (const auto& id : joined.peers) {
        if (fatal_ || hungUp_)
            break; // a peer that could not be made ended the call
        auto it = peers_.find(id);
        if (it != peers_.end() && it->second->connected()) {
            GST_INFO("keeping the live connection to %s", id.c_str());
            continue;
        }
        if (it != peers_.end())
            removePeer(id, "replaced");
        summaries_[id] = PeerSummary { id };
        observer_.peerAdded(id);
        auto pc = addPeer(id, PeerConnection::Role::Offerer);
        std::string error;
        if (pc && !pc->startOffer(error))
            peerFailed(*pc, error);
    }
}

void Call::onOffer(const protocol::RelayedOffer& offer)
{
    auto it = peers_.find(offer.from);
    if (it != peers_.end()) {
        if (it->second->hasLocalOffer()) {
            // Glare: the peer whose id sorts lower is polite (docs/protocol.md).
            // Rollback is untested in 1.22 (docs/webrtcbin-notes.md), so the polite
            // side drops its offer by starting over with a fresh webrtcbin.
            bool polite = peerId_ < offer.from;
            GST_INFO("offer collision with %s: we are %s", offer.from.c_str(), polite ? "polite" : "impolite");
            if (!polite)
                return;
        }
        std::string why = "we are polite in an offer collision";
        if (!it->second->hasLocalOffer()) {
            // A re-offer on a live connection (a track added, a camera turned
            // on): answered on the same webrtcbin, keeping ICE and DTLS,
            // which a browser requires. Only what webrtcbin 1.22 cannot do
            // on a live connection gets a fresh one (docs/webrtcbin-notes.md,
            // "Renegotiation").
            if (it->second->canRenegotiate(offer.sdp, why)) {
                GST_INFO("renegotiating with %s on the live connection", offer.from.c_str());
                std::shared_ptr<PeerConnection>(it->second)->handleReoffer(offer.sdp); // held while it runs
                return;
            }
        }
        GST_WARNING("replacing the connection to %s (a new webrtcbin, new ICE and DTLS): it sent a new offer and %s",
            offer.from.c_str(), why.c_str());
        removePeer(offer.from, "renegotiated");
    }
    if (!summaries_.count(offer.from) || !summaries_[offer.from].present) {
        summaries_[offer.from] = PeerSummary { offer.from };
        observer_.peerAdded(offer.from);
    }
    if (auto pc = addPeer(offer.from, PeerConnection::Role::Answerer))
        pc->handleOffer(offer.sdp); // pc holds it while it runs
}

void Call::onError(const protocol::Error& error)
{
    std::string code = protocol::errorCodeName(error.code);
    GST_WARNING("server error %s: %s%s%s", code.c_str(), error.message.c_str(), error.ref ? " (ref " : "",
        error.ref ? (error.ref->c_str() + std::string(")")).c_str() : "");
    bool joining = error.ref && *error.ref == "join";
    if (joining && !joined_ && everJoined_
        && (error.code == protocol::ErrorCode::PeerIdTaken || error.code == protocol::ErrorCode::RoomFull)) {
        // Rejoining after a lost connection: the server may still hold our
        // old one until its keepalive drops it (up to ~2 intervals). Media
        // is still flowing, so keep asking rather than end the call.
        GST_INFO("rejoin refused (%s); trying again in 2 s", code.c_str());
        scheduleRejoin();
        return;
    }
    if (joining && !joined_) {
        std::string text;
        switch (error.code) {
        case protocol::ErrorCode::RoomFull: text = "The room \"" + options_.room + "\" is full."; break;
        case protocol::ErrorCode::Unauthorized: text = "The server refused us: not authorized for this room."; break;
        case protocol::ErrorCode::PeerIdTaken: text = "The name \"" + peerId_ + "\" is already taken in this room."; break;
        default: text = "The server refused to let us join: " + error.message; break;
        }
        fatal(code, text);
    } else if (error.code == protocol::ErrorCode::Unauthorized) {
        fatal(code, "The server refused us: " + error.message);
    }
}

void Call::scheduleRejoin()
{
    if (rejoinTimer_)
        return;
    rejoinTimer_ = Source::once(context_.get(), std::chrono::seconds(2), [this] {
        if (!joined_ && !hungUp_ && signaling_ && signaling_->isOpen())
            onConnected();
    });
}

void Call::sendSignal(const std::string& peer, protocol::ClientMessage message)
{
    if (!signaling_ || !joined_) {
        GST_DEBUG("not in the room: dropping %s for %s", protocol::typeName(message), peer.c_str());
        return;
    }
    signaling_->send(message);
}

// ---- peers ----------------------------------------------------------------------

std::shared_ptr<PeerConnection> Call::addPeer(const std::string& id, PeerConnection::Role role)
{
    std::string error;
    auto pc = PeerConnection::create(*this, GST_BIN(pipeline_.get()), *media_, id, role, options_, iceServers_, epochUs_, error);
    if (!pc) {
        // Every connection would fail the same way (its elements, the ICE
        // addresses given): the call cannot go on.
        fatal("media-error", "Cannot connect to " + id + ": " + error);
        return nullptr;
    }
    peers_[id] = pc;
    summaries_[id].id = id;
    summaries_[id].present = true;
    ++summaries_[id].connections;
    return pc;
}

void Call::removePeer(const std::string& id, const std::string& reason)
{
    auto it = peers_.find(id);
    if (it != peers_.end()) {
        snapshot(*it->second);
        // Destroyed outside any of its own callbacks, and before the Call.
        dying_.push_back(std::move(it->second));
        peers_.erase(it);
        if (!reaper_)
            reaper_ = Source::idle(context_.get(), [this] { reapDying(); });
    }
    if (reason == "left" || reason == "failed") {
        if (auto s = summaries_.find(id); s != summaries_.end() && s->second.present) {
            s->second.present = false;
            observer_.peerRemoved(id, reason);
        }
    }
}

// Folds a connection that is going away into its peer's summary.
void Call::snapshot(const PeerConnection& pc)
{
    PeerSummary& s = summaries_[pc.peerId()];
    s = merged(s, pc);
    s.earlierFrames = s.media.videoFrames;
    s.earlierAudio = s.media.audioBuffers;
    s.earlierChat = s.chat.size();
    s.earlierLatency = s.media.latencyMs.size();
    s.earlierRenegotiations = s.renegotiations;
}

PeerSummary Call::merged(const PeerSummary& base, const PeerConnection& pc)
{
    PeerSummary out = base;
    out.id = pc.peerId();
    out.connectionState = connectionStateName(pc.connectionState());
    out.iceState = iceConnectionStateName(pc.iceConnectionState());
    if (pc.connectedMs() && !out.connectedMs)
        out.connectedMs = pc.connectedMs();
    if (pc.firstFrameMs() && !out.firstFrameMs)
        out.firstFrameMs = pc.firstFrameMs();
    if (pc.offerMs() && !out.offerMs)
        out.offerMs = pc.offerMs();
    out.renegotiations = base.earlierRenegotiations + pc.renegotiations();
    PeerConnection::Media media = pc.media();
    out.media.videoFrames = base.earlierFrames + media.videoFrames;
    out.media.audioBuffers = base.earlierAudio + media.audioBuffers;
    if (media.audioLevelDb)
        out.media.audioLevelDb = media.audioLevelDb;
    if (media.width) {
        out.media.width = media.width;
        out.media.height = media.height;
    }
    if (!media.videoCodec.empty())
        out.media.videoCodec = media.videoCodec;
    out.media.latencyMs.resize(base.earlierLatency);
    out.media.latencyMs.insert(out.media.latencyMs.end(), media.latencyMs.begin(), media.latencyMs.end());
    if (!pc.stats().candidatePair.empty() || pc.stats().bitrateInKbps)
        out.stats = pc.stats();
    out.chat.resize(base.earlierChat);
    out.chat.insert(out.chat.end(), pc.chatLog().begin(), pc.chatLog().end());
    out.chatOpen = pc.chatOpen();
    return out;
}

std::vector<PeerSummary> Call::peers() const
{
    std::vector<PeerSummary> out;
    for (const auto& [id, summary] : summaries_)
        out.push_back(peer(id).value_or(summary));
    return out;
}

std::optional<PeerSummary> Call::peer(const std::string& id) const
{
    auto s = summaries_.find(id);
    if (s == summaries_.end())
        return std::nullopt;
    if (auto it = peers_.find(id); it != peers_.end())
        return merged(s->second, *it->second);
    return s->second;
}

void Call::peerChanged(PeerConnection& pc)
{
    if (auto s = peer(pc.peerId()))
        observer_.peerUpdated(*s);
}

void Call::peerFailed(PeerConnection& pc, const std::string& reason)
{
    std::string id = pc.peerId();
    GST_WARNING("connection to %s failed: %s", id.c_str(), reason.c_str());
    std::weak_ptr<PeerConnection> failed = pc.weak_from_this();
    postTo(context_.get(), anchor_.weak(), [id, failed](Call& call) { call.retryOrRemove(id, failed); });
}

void Call::retryOrRemove(const std::string& id, const std::weak_ptr<PeerConnection>& failed)
{
    if (hungUp_)
        return;
    auto it = peers_.find(id);
    if (it == peers_.end() || it->second != failed.lock())
        return; // already replaced
    // ICE cannot be restarted in webrtcbin 1.22 (docs/webrtcbin-notes.md):
    // a peer still in the room gets a fresh connection, a few times.
    auto& attempts = restarts_[id];
    gint64 now = g_get_monotonic_time();
    if (attempts.second + 60 * G_USEC_PER_SEC < now)
        attempts = { 0, now };
    if (joined_ && roomPeers_.count(id) && attempts.first < kMaxRestarts) {
        ++attempts.first;
        GST_INFO("reconnecting to %s (attempt %d)", id.c_str(), attempts.first);
        restartPeer(id);
    } else {
        removePeer(id, "failed");
    }
}

void Call::restartPeers()
{
    std::vector<std::string> ids;
    for (const auto& [id, pc] : peers_)
        ids.push_back(id);
    for (const auto& id : ids)
        restartPeer(id);
}

void Call::renegotiatePeers()
{
    for (const auto& [id, pc] : peers_) {
        std::string why;
        if (!pc->renegotiate(why))
            GST_WARNING("not renegotiating with %s: %s", id.c_str(), why.c_str());
    }
}

void Call::restartPeer(const std::string& id)
{
    if (!joined_ || !roomPeers_.count(id))
        return;
    GST_INFO("restarting the connection to %s with a fresh offer", id.c_str());
    removePeer(id, "restarted");
    auto pc = addPeer(id, PeerConnection::Role::Offerer);
    std::string error;
    if (pc && !pc->startOffer(error))
        peerFailed(*pc, error);
}

void Call::chatOpened(PeerConnection& pc)
{
    if (auto s = summaries_.find(pc.peerId()); s != summaries_.end())
        s->second.chatOpen = true;
    observer_.chatOpened(pc.peerId());
}

void Call::chatReceived(PeerConnection& pc, const std::string& text)
{
    observer_.chatReceived(pc.peerId(), text);
}

int Call::sendChat(const std::string& text, const std::string& to)
{
    int sent = 0;
    for (auto& [id, pc] : peers_) {
        if (!to.empty() && id != to)
            continue;
        std::string error;
        if (pc->sendChat(text, error))
            ++sent;
        else
            GST_WARNING("chat to %s: %s", id.c_str(), error.c_str());
    }
    return sent;
}

namespace {

GstElement* drain()
{
    // queue/tee/fakesink are GStreamer's core elements: present wherever
    // webrtcbin is.
    GstElement* sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
    return sink;
}

} // namespace

GRef<GstElement> Call::makeVideoSink(const std::string& peer)
{
    std::string error;
    if (GRef<GstElement> sink = observer_.makeVideoSink(peer, error))
        return sink;
    if (!error.empty()) {
        // The front end shows why; the stream is still decoded (the stats
        // and the first-frame time stay true).
        GST_WARNING("video from %s is not shown: %s", peer.c_str(), error.c_str());
        return adopt(drain());
    }
    // Without a display autovideosink may pick DirectFB or KMS sinks, which
    // crash or take over the console: show nothing instead.
    if (options_.fakeSinks)
        return adopt(drain());
    if (!g_getenv("DISPLAY") && !g_getenv("WAYLAND_DISPLAY")) {
        GST_WARNING("no display: video from %s is decoded but not shown", peer.c_str());
        return adopt(drain());
    }
    GRef<GstElement> sink = makeElement("autovideosink", nullptr, error);
    if (!sink) {
        GST_WARNING("video from %s is not shown: %s", peer.c_str(), error.c_str());
        return adopt(drain());
    }
    return sink;
}

bool Call::buildAudioOutput(std::string& error)
{
    GRef<GstElement> mixer = makeElement("audiomixer", "remote-audio-mix", error);
    GRef<GstElement> convert = mixer ? makeElement("audioconvert", nullptr, error) : nullptr;
    GRef<GstElement> resample = convert ? makeElement("audioresample", nullptr, error) : nullptr;
    GRef<GstElement> sink = resample ? makeElement("autoaudiosink", "audio-out", error) : nullptr;
    if (!sink)
        return false;
    // Without the probe there is no echo cancellation; the call goes on.
    std::string noProbe;
    GRef<GstElement> probe = makeElement("webrtcechoprobe", kEchoProbeName, noProbe);
    if (!probe)
        GST_WARNING("no echo cancellation: %s", noProbe.c_str());
    GstBin* bin = GST_BIN(pipeline_.get());
    gst_bin_add_many(bin, mixer.get(), convert.get(), resample.get(), sink.get(), nullptr);
    bool linked;
    if (probe) {
        gst_bin_add(bin, probe.get());
        linked = gst_element_link_many(mixer.get(), convert.get(), resample.get(), probe.get(), sink.get(), nullptr);
    } else {
        linked = gst_element_link_many(mixer.get(), convert.get(), resample.get(), sink.get(), nullptr);
    }
    if (!linked) {
        error = "cannot build the audio output (audiomixer ! audioconvert ! audioresample ! autoaudiosink)";
        return false;
    }
    audioMixer_ = mixer;
    return true;
}

GRef<GstPad> Call::audioOutput(const std::string& peer)
{
    if (audioMixer_)
        return adopt(gst_element_request_pad_simple(audioMixer_.get(), "sink_%u"));
    GstElement* sink = drain();
    gst_bin_add(GST_BIN(pipeline_.get()), sink);
    gst_element_sync_state_with_parent(sink);
    return adopt(gst_element_get_static_pad(sink, "sink"));
}

void Call::releaseAudioOutput(GstPad* pad)
{
    GRef<GstElement> parent = adopt(gst_pad_get_parent_element(pad));
    if (!parent)
        return;
    if (parent == audioMixer_) {
        gst_element_release_request_pad(parent.get(), pad);
        return;
    }
    gst_element_set_state(parent.get(), GST_STATE_NULL);
    gst_bin_remove(GST_BIN(pipeline_.get()), parent.get());
}

// ---- pipeline ---------------------------------------------------------------------

void Call::fatal(const std::string& code, const std::string& message)
{
    if (fatal_)
        return;
    fatal_ = true;
    GST_ERROR("%s: %s", code.c_str(), message.c_str());
    observer_.fatal(code, message);
}

gboolean Call::onBusMessage(GstBus*, GstMessage* message, gpointer data)
{
    static_cast<Call*>(data)->busMessage(message);
    return G_SOURCE_CONTINUE;
}

void Call::busMessage(GstMessage* message)
{
    switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR: {
        GUnique<GError> error;
        GUnique<char> debug;
        gst_message_parse_error(message, error.outPtr(), debug.outPtr());
        GUnique<char> path(gst_object_get_path_string(GST_MESSAGE_SRC(message)));
        GST_WARNING("error from %s: %s (%s)", path.get(), errorMessage(error), debug ? debug.get() : "");
        // An error inside one peer's branch ends that peer, not the call;
        // one from a peer already torn down (messages come later) or from
        // an element no longer in the pipeline ends nothing.
        for (auto& [id, pc] : peers_) {
            if (pc->owns(GST_MESSAGE_SRC(message))) {
                peerFailed(*pc, errorMessage(error));
                return;
            }
        }
        for (auto& pc : dying_)
            if (pc->owns(GST_MESSAGE_SRC(message)))
                return;
        if (!gst_object_has_as_ancestor(GST_MESSAGE_SRC(message), GST_OBJECT(pipeline_.get()))) {
            GST_DEBUG("ignoring an error from an element no longer in the call");
            return;
        }
        fatal("media-error", std::string("Media error: ") + errorMessage(error));
        break;
    }
    case GST_MESSAGE_WARNING: {
        GUnique<GError> error;
        GUnique<char> debug;
        gst_message_parse_warning(message, error.outPtr(), debug.outPtr());
        GST_WARNING_OBJECT(GST_MESSAGE_SRC(message), "warning: %s (%s)", errorMessage(error), debug ? debug.get() : "");
        break;
    }
    case GST_MESSAGE_LATENCY:
        gst_bin_recalculate_latency(GST_BIN(pipeline_.get()));
        break;
    default:
        break;
    }
}

void Call::pollStats()
{
    for (auto& [id, pc] : peers_)
        pc->pollStats();
}

} // namespace palaver::engine
