#include "call.h"

#include "post.h"


GST_DEBUG_CATEGORY_STATIC(palaver_call_debug);
#define GST_CAT_DEFAULT palaver_call_debug

namespace palaver::engine {

namespace {

void initDebug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(palaver_call_debug, "palaver-call", 0, "Palaver call (room)");
        g_once_init_leave(&once, 1);
    }
}

} // namespace

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
    *alive_ = false;
    if (warmUp_)
        g_thread_join(warmUp_);
    for (GSource* source : { statsTimer_.get(), busWatch_.get(), rejoinTimer_.get(), teardownTimer_.get() })
        if (source)
            g_source_destroy(source);
    for (auto& [id, timer] : leftGrace_)
        g_source_destroy(timer.get());
    for (auto& [id, pc] : peers_)
        snapshot(*pc);
    if (signaling_)
        signaling_->stop();
    peers_.clear();
    gst_element_set_state(GST_ELEMENT(pipeline_.get()), GST_STATE_NULL);
}

bool Call::start(std::string& error)
{
    // The first DTLS element of a process makes its certificate (an RSA key:
    // about a second on a busy core), and webrtcbin's plugins load on first
    // use. Doing both now, while we connect and join, takes them off the
    // call setup path: measured 300-400 ms per side before.
    warmUp_ = g_thread_new("palaver-warmup", [](gpointer) -> gpointer {
        for (const char* name : { "dtlsdec", "webrtcbin" })
            if (GstElement* e = gst_element_factory_make(name, nullptr))
                gst_object_unref(gst_object_ref_sink(e));
        return nullptr;
    }, nullptr);
    if (!options_.fakeSinks && !buildAudioOutput(error))
        return false;
    MediaOptions media = options_.media;
    // Echo cancellation only where there is an echo: real speakers.
    if (options_.fakeSinks)
        media.echoProbe.clear();
    if (!media_->build(media, error))
        return false;
    GRef<GstBus> bus = adopt(gst_pipeline_get_bus(pipeline_.get()));
    busWatch_ = adopt(gst_bus_create_watch(bus.get()));
    g_source_set_callback(busWatch_.get(), G_SOURCE_FUNC(&Call::onBusMessage), this, nullptr);
    g_source_attach(busWatch_.get(), context_.get());
    if (gst_element_set_state(GST_ELEMENT(pipeline_.get()), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        error = "the local media pipeline did not start (is the camera or microphone in use?)";
        return false;
    }
    statsTimer_ = adopt(g_timeout_source_new_seconds(1));
    g_source_set_callback(statsTimer_.get(), &Call::onStatsTimer, this, nullptr);
    g_source_attach(statsTimer_.get(), context_.get());

    SignalingClient::Callbacks callbacks;
    callbacks.connected = [this] { onConnected(); };
    callbacks.message = [this](const protocol::ServerMessage& m) { onMessage(m); };
    callbacks.disconnected = [this](const std::string& reason, bool retry) { onDisconnected(reason, retry); };
    signaling_ = SignalingClient::create(options_.serverUrl, std::move(callbacks));
    peerId_ = options_.peer;
    epochUs_ = g_get_monotonic_time();
    signaling_->start();
    return true;
}

void Call::hangUp()
{
    if (hungUp_)
        return;
    hungUp_ = true;
    GST_INFO("hanging up");
    // A bye on every chat channel first, so the others tear down at once
    // instead of keeping our connection for a grace period.
    for (auto& [id, pc] : peers_)
        pc->sendBye();
    if (signaling_ && joined_)
        signaling_->send(protocol::Leave {});
    joined_ = false;
    if (signaling_)
        signaling_->stop();
    for (auto& [id, timer] : leftGrace_)
        g_source_destroy(timer.get());
    leftGrace_.clear();
    // The connections go a moment later, once the byes are on the wire.
    teardownTimer_ = adopt(g_timeout_source_new(100));
    g_source_set_callback(
        teardownTimer_.get(),
        [](gpointer data) -> gboolean {
            auto* self = static_cast<Call*>(data);
            for (auto& [id, pc] : self->peers_)
                self->snapshot(*pc);
            self->peers_.clear();
            // The camera and microphone are free from now on, not only when
            // the Call goes: a window may join again at once.
            gst_element_set_state(GST_ELEMENT(self->pipeline_.get()), GST_STATE_NULL);
            self->teardownTimer_ = nullptr;
            return G_SOURCE_REMOVE;
        },
        this, nullptr);
    g_source_attach(teardownTimer_.get(), context_.get());
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
    std::visit(
        [this](const auto& m) {
            using T = std::decay_t<decltype(m)>;
            if constexpr (std::is_same_v<T, protocol::Joined>) {
                onJoined(m);
            } else if constexpr (std::is_same_v<T, protocol::PeerJoined>) {
                GST_INFO("peer %s joined the room", m.peer.c_str());
                roomPeers_.insert(m.peer);
                saidBye_.erase(m.peer);
                if (auto grace = leftGrace_.find(m.peer); grace != leftGrace_.end()) {
                    g_source_destroy(grace->second.get());
                    leftGrace_.erase(grace);
                }
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
    GRef<GSource> timer = adopt(g_timeout_source_new_seconds(kLeftGraceS));
    struct Grace {
        Call* call;
        std::weak_ptr<bool> alive;
        std::string id;
    };
    g_source_set_callback(
        timer.get(),
        [](gpointer data) -> gboolean {
            auto* g = static_cast<Grace*>(data);
            auto alive = g->alive.lock();
            if (alive && *alive) {
                std::string id = g->id;
                Call* call = g->call;
                call->leftGrace_.erase(id); // destroys this source's GRef; GLib holds it while dispatching
                if (!call->roomPeers_.count(id))
                    call->removePeer(id, "left");
            }
            return G_SOURCE_REMOVE;
        },
        new Grace { this, alive_, id }, [](gpointer data) { delete static_cast<Grace*>(data); });
    g_source_attach(timer.get(), context_.get());
    if (auto old = leftGrace_.find(id); old != leftGrace_.end())
        g_source_destroy(old->second.get());
    leftGrace_[id] = std::move(timer);
}

void Call::peerSaidBye(PeerConnection& pc)
{
    std::string id = pc.peerId();
    saidBye_.insert(id);
    // Its leave follows: tear down now rather than wait for a grace.
    std::weak_ptr<bool> alive = alive_;
    detail::postToContext(context_.get(), [this, alive, id] {
        auto token = alive.lock();
        if (token && *token)
            removePeer(id, "left");
    });
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
    // The newcomer offers (PROTOCOL.md, "Who offers").
    for (const auto& id : joined.peers) {
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
            // Glare: the peer whose id sorts lower is polite (PROTOCOL.md).
            // Rollback is untested in 1.22 (WEBRTCBIN-1.22.md), so the polite
            // side drops its offer by starting over with a fresh webrtcbin.
            bool polite = peerId_ < offer.from;
            GST_INFO("offer collision with %s: we are %s", offer.from.c_str(), polite ? "polite" : "impolite");
            if (!polite)
                return;
        }
        // No renegotiation on a live webrtcbin (1.22 cannot restart ICE):
        // a new offer means a new connection.
        GST_INFO("replacing the connection to %s: it sent a new offer", offer.from.c_str());
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
    rejoinTimer_ = adopt(g_timeout_source_new(2000));
    g_source_set_callback(
        rejoinTimer_.get(),
        [](gpointer data) -> gboolean {
            auto* self = static_cast<Call*>(data);
            self->rejoinTimer_ = nullptr;
            if (!self->joined_ && !self->hungUp_ && self->signaling_ && self->signaling_->isOpen())
                self->onConnected();
            return G_SOURCE_REMOVE;
        },
        this, nullptr);
    g_source_attach(rejoinTimer_.get(), context_.get());
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
    auto pc = PeerConnection::create(*this, GST_BIN(pipeline_.get()), *media_, id, role, options_, iceServers_, epochUs_);
    if (!pc) {
        fatal("media-error", "webrtcbin could not be created (install gstreamer1.0-plugins-bad and gstreamer1.0-nice)");
        return nullptr;
    }
    peers_[id] = pc;
    summaries_[id].id = id;
    summaries_[id].present = true;
    return pc;
}

void Call::removePeer(const std::string& id, const std::string& reason)
{
    auto it = peers_.find(id);
    if (it != peers_.end()) {
        snapshot(*it->second);
        // Destroy it outside any of its own callbacks.
        auto pc = std::move(it->second);
        peers_.erase(it);
        detail::postToContext(context_.get(), [pc]() mutable { pc.reset(); });
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
    std::weak_ptr<bool> alive = alive_;
    std::weak_ptr<PeerConnection> failed = pc.weak_from_this();
    detail::postToContext(context_.get(), [this, alive, id, failed] {
        auto token = alive.lock();
        if (!token || !*token)
            return;
        auto it = peers_.find(id);
        if (it == peers_.end() || it->second != failed.lock())
            return; // already replaced
        // ICE cannot be restarted in webrtcbin 1.22 (WEBRTCBIN-1.22.md): a
        // peer still in the room gets a fresh connection, a few times.
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
    });
}

void Call::restartPeers()
{
    std::vector<std::string> ids;
    for (const auto& [id, pc] : peers_)
        ids.push_back(id);
    for (const auto& id : ids)
        restartPeer(id);
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

GstElement* Call::makeVideoSink(const std::string& peer)
{
    if (GstElement* sink = observer_.makeVideoSink(peer))
        return sink;
    if (options_.fakeSinks) {
        GstElement* sink = gst_element_factory_make("fakesink", nullptr);
        g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
        return sink;
    }
    // Without a display autovideosink may pick DirectFB or KMS sinks, which
    // crash or take over the console: show nothing instead.
    if (!g_getenv("DISPLAY") && !g_getenv("WAYLAND_DISPLAY")) {
        GST_WARNING("no display: video from %s is decoded but not shown", peer.c_str());
        GstElement* sink = gst_element_factory_make("fakesink", nullptr);
        g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
        return sink;
    }
    GstElement* sink = gst_element_factory_make("autovideosink", nullptr);
    return sink ? sink : gst_element_factory_make("fakesink", nullptr);
}

bool Call::buildAudioOutput(std::string& error)
{
    GstElement* mixer = gst_element_factory_make("audiomixer", "remote-audio-mix");
    GstElement* convert = gst_element_factory_make("audioconvert", nullptr);
    GstElement* resample = gst_element_factory_make("audioresample", nullptr);
    GstElement* probe = gst_element_factory_make("webrtcechoprobe", kEchoProbeName);
    GstElement* sink = gst_element_factory_make("autoaudiosink", "audio-out");
    if (!mixer || !convert || !resample || !sink) {
        error = "audiomixer, audioconvert, audioresample or autoaudiosink is missing";
        return false;
    }
    gst_bin_add_many(GST_BIN(pipeline_.get()), mixer, convert, resample, sink, nullptr);
    bool linked = probe ? (gst_bin_add(GST_BIN(pipeline_.get()), probe), gst_element_link_many(mixer, convert, resample, probe, sink, nullptr))
                        : gst_element_link_many(mixer, convert, resample, sink, nullptr);
    if (!linked) {
        error = "cannot build the audio output";
        return false;
    }
    audioMixer_ = GRef<GstElement>(mixer);
    return true;
}

GRef<GstPad> Call::audioOutput(const std::string& peer)
{
    if (audioMixer_)
        return adopt(gst_element_request_pad_simple(audioMixer_.get(), "sink_%u"));
    GstElement* sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
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
        // An error inside one peer's branch ends that peer, not the call.
        for (auto& [id, pc] : peers_) {
            if (pc->owns(GST_MESSAGE_SRC(message))) {
                peerFailed(*pc, errorMessage(error));
                return;
            }
        }
        fatal("media-error", std::string("Media error: ") + errorMessage(error));
        break;
    }
    case GST_MESSAGE_WARNING: {
        GUnique<GError> error;
        GUnique<char> debug;
        gst_message_parse_warning(message, error.outPtr(), debug.outPtr());
        GST_WARNING("warning from %s: %s", GST_MESSAGE_SRC_NAME(message), errorMessage(error));
        break;
    }
    case GST_MESSAGE_LATENCY:
        gst_bin_recalculate_latency(GST_BIN(pipeline_.get()));
        break;
    default:
        break;
    }
}

gboolean Call::onStatsTimer(gpointer data)
{
    auto* self = static_cast<Call*>(data);
    for (auto& [id, pc] : self->peers_)
        pc->pollStats();
    return G_SOURCE_CONTINUE;
}

} // namespace palaver::engine
