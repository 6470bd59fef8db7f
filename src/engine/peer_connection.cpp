#include "peer_connection.h"

#include "debug.h"
#include "enum_nick.h"
#include "gst_element.h"
#include "post.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#define GST_CAT_DEFAULT palaver_peer_debug

namespace palaver::engine {

namespace {

// Data-channel messages are kept at 16 KiB or less: 1.22 does not
// advertise a=max-message-size (docs/webrtcbin-notes.md, "From the shared
// pitfalls page"; docs/protocol.md, "Chat").
constexpr size_t kMaxChatBytes = 16 * 1024;

// An offer that is never answered (a peer stuck in glare, a peer that
// failed to apply it) would block this pair for good: we give up after
// this, and the Call tries a fresh connection.
constexpr std::chrono::seconds kAnswerTimeout { 10 };

// webrtcbin's form of an RTCIceServer URL: stun://host:port,
// turn(s)://user:pass@host:port?transport=... with user and password
// percent-encoded (a TURN REST username contains ':').
std::string webrtcbinUrl(const std::string& url, const protocol::IceServer& server)
{
    auto colon = url.find(':');
    if (colon == std::string::npos)
        return {};
    std::string scheme = url.substr(0, colon);
    std::string rest = url.substr(colon + 1);
    if (rest.rfind("//", 0) == 0)
        rest = rest.substr(2);
    if (scheme == "stun" || scheme == "stuns")
        return scheme + "://" + rest;
    if (scheme != "turn" && scheme != "turns")
        return {};
    GUnique<char> user(g_uri_escape_string(server.username.value_or("").c_str(), nullptr, FALSE));
    GUnique<char> pass(g_uri_escape_string(server.credential.value_or("").c_str(), nullptr, FALSE));
    return scheme + "://" + user.get() + ":" + pass.get() + "@" + rest;
}

// GstWebRTCRTPTransceiver's instance struct as gst-plugins-bad 1.22.0
// declares it (gst-libs/gst/webrtc/webrtc-priv.h, not installed): the
// direction workaround (allowDirectionChanges) writes current_direction,
// which has no writable property. Trusted only after layoutMatches().
struct Transceiver122 {
    GstObject parent;
    guint mline;
    gchar* mid;
    gboolean stopped;
    GstWebRTCRTPSender* sender;
    GstWebRTCRTPReceiver* receiver;
    GstWebRTCRTPTransceiverDirection direction;
    GstWebRTCRTPTransceiverDirection currentDirection;
    GstCaps* codecPreferences;
    GstWebRTCKind kind;
};

// The fields above hold what the transceiver's properties say: the layout
// is the one we know. Anything else (another GStreamer), and we leave it.
bool layoutMatches(GstWebRTCRTPTransceiver* trans)
{
    guint mline = 0;
    GstWebRTCRTPTransceiverDirection direction;
    GstWebRTCKind kind;
    GUnique<char> mid;
    g_object_get(trans, "mlineindex", &mline, "direction", &direction, "kind", &kind, "mid", mid.outPtr(), nullptr);
    static const bool is122 = [] {
        GRef<GstPlugin> plugin = adopt(gst_registry_find_plugin(gst_registry_get(), "webrtc"));
        return plugin && g_str_has_prefix(gst_plugin_get_version(plugin.get()), "1.22.");
    }();
    auto* t = reinterpret_cast<Transceiver122*>(trans);
    return is122 && t->mline == mline && t->direction == direction
        && t->currentDirection <= GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV && t->kind == kind && g_strcmp0(t->mid, mid.get()) == 0;
}

const char* directionName(GstWebRTCRTPTransceiverDirection d)
{
    return enumNick(GST_TYPE_WEBRTC_RTP_TRANSCEIVER_DIRECTION, d);
}

} // namespace

const char* connectionStateName(GstWebRTCPeerConnectionState state)
{
    return enumNick(GST_TYPE_WEBRTC_PEER_CONNECTION_STATE, state);
}

const char* iceConnectionStateName(GstWebRTCICEConnectionState state)
{
    return enumNick(GST_TYPE_WEBRTC_ICE_CONNECTION_STATE, state);
}

const char* iceGatheringStateName(GstWebRTCICEGatheringState state)
{
    return enumNick(GST_TYPE_WEBRTC_ICE_GATHERING_STATE, state);
}

std::shared_ptr<PeerConnection> PeerConnection::create(Delegate& delegate, GstBin* pipeline, LocalMedia& media,
    std::string peerId, Role role, const CallOptions& options, const std::vector<protocol::IceServer>& iceServers,
    gint64 epochUs, std::string& error)
{
    std::shared_ptr<PeerConnection> pc(
        new PeerConnection(delegate, pipeline, media, std::move(peerId), role, options, epochUs));
    if (!pc->setUp(iceServers, error))
        return nullptr; // the Call says why, once
    return pc;
}

PeerConnection::PeerConnection(Delegate& delegate, GstBin* pipeline, LocalMedia& media, std::string peerId, Role role,
    const CallOptions& options, gint64 epochUs)
    : delegate_(delegate)
    , pipeline_(pipeline)
    , media_(media)
    , peerId_(std::move(peerId))
    , role_(role)
    , options_(options)
    , epochUs_(epochUs)
    , context_(g_main_context_ref_thread_default())
{
    initDebug();
}

// The order matters; each step says why.
PeerConnection::~PeerConnection()
{
    GST_INFO_OBJECT(logObject(), "peer %s: tearing down", peerId_.c_str());
    answerTimeout_.cancel();
    // The shared encoders must stop pushing into our branches first.
    for (auto* branch : { audio_.get(), video_.get() })
        if (branch)
            branch->releaseTeePad();
    // The decode branches stop before webrtcbin: a video sink waiting for
    // preroll held a webrtcbin stream lock, and webrtcbin going to NULL
    // waited for it for good (seen in the stall benchmark's hang-ups).
    if (receive_)
        receive_->stop();
    // Going to NULL joins webrtcbin's task thread and stops the streaming
    // threads of our pads, so no handler runs after this line.
    if (webrtc_)
        gst_element_set_state(webrtc_.get(), GST_STATE_NULL);
    webrtcSignals_.clear();
    {
        // Swapped out under the lock, disconnected and dropped outside it
        // (the lock rule beside channelMutex_).
        std::vector<SignalConnection> signals;
        GRef<GstWebRTCDataChannel> channel;
        {
            std::lock_guard lock(channelMutex_);
            signals.swap(channelSignals_);
            channel = std::move(channel_);
        }
    }
    // Decode branches first (their audio output goes back to the Call),
    // then the send branches; each stops and removes its own elements.
    receive_.reset();
    audio_.reset();
    video_.reset();
    // Not in the pipeline yet when setUp failed before adding it (a bad ICE
    // address): gst_bin_remove would warn.
    if (webrtc_ && GST_OBJECT_PARENT(webrtc_.get()) == GST_OBJECT(pipeline_))
        gst_bin_remove(pipeline_, webrtc_.get());
}

double PeerConnection::sinceEpochMs() const
{
    return double(g_get_monotonic_time() - epochUs_) / 1000.0;
}

sdp::Capabilities PeerConnection::capabilities() const
{
    sdp::Capabilities c;
    for (VideoCodec codec : { VideoCodec::VP8, VideoCodec::H264 }) {
        sdp::CodecSupport& support = codec == VideoCodec::VP8 ? c.vp8 : c.h264;
        support.encode = LocalMedia::canEncode(codec);
        support.decode = LocalMedia::canDecode(codec);
    }
    return c;
}

template<typename Fn>
void PeerConnection::post(Fn fn)
{
    postTo(context_.get(), weak_from_this(), std::move(fn));
}

// A GstPromise whose reply is handled by fn(PeerConnection&, GRef<GstPromise>)
// on the main context (webrtcbin replies on its own thread).
template<typename Fn>
GRef<GstPromise> PeerConnection::promise(Fn fn)
{
    struct Box {
        std::weak_ptr<PeerConnection> self;
        GRef<GMainContext> context;
        Fn fn;
    };
    auto* box = new Box { weak_from_this(), context_, std::move(fn) };
    // Ours to drop after handing it to webrtcbin, which takes its own.
    return adopt(gst_promise_new_with_change_func(
        [](GstPromise* p, gpointer data) {
            auto* b = static_cast<Box*>(data);
            GRef<GstPromise> ref(p);
            postTo(b->context.get(), b->self, [fn = b->fn, ref](PeerConnection& pc) mutable { fn(pc, ref); });
        },
        box, [](gpointer data) { delete static_cast<Box*>(data); }));
}

bool PeerConnection::setUp(const std::vector<protocol::IceServer>& iceServers, std::string& error)
{
    // A replaced connection may still be in the bin for a moment: names
    // carry a serial so that the old and new never collide. The webrtcbin's
    // name ("webrtc-bob-3") is also what our log lines are filtered by.
    static std::atomic<unsigned> serial { 0 };
    elementSuffix_ = peerId_ + "-" + std::to_string(++serial);
    std::string name = "webrtc-" + elementSuffix_;
    webrtc_ = makeElement("webrtcbin", name.c_str(), error);
    if (!webrtc_) {
        // libnice's plugin is what webrtcbin needs most often besides itself.
        if (!haveElement("nicesrc"))
            error += " (and " + missingElementSentence("nicesrc") + ")";
        return false;
    }
    g_object_set(webrtc_.get(), "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency", options_.latencyMs,
        nullptr);
    bool haveStun = false;
    for (const auto& server : iceServers) {
        for (const auto& url : server.urls) {
            std::string u = webrtcbinUrl(url, server);
            if (u.rfind("stun", 0) == 0 && !haveStun) {
                g_object_set(webrtc_.get(), "stun-server", u.c_str(), nullptr);
                haveStun = true;
            } else if (u.rfind("turn", 0) == 0) {
                gboolean ok = FALSE;
                g_signal_emit_by_name(webrtc_.get(), "add-turn-server", u.c_str(), &ok);
                if (!ok)
                    GST_WARNING_OBJECT(logObject(), "peer %s: webrtcbin refused TURN server %s", peerId_.c_str(), url.c_str());
            }
        }
    }
    if (!options_.iceAddresses.empty()) {
        GRef<GObject> agent;
        g_object_get(webrtc_.get(), "ice-agent", agent.outPtr(), nullptr);
        for (const auto& address : options_.iceAddresses) {
            gboolean ok = FALSE;
            if (agent)
                g_signal_emit_by_name(agent.get(), "add-local-ip-address", address.c_str(), &ok);
            if (!ok) {
                error = "ICE cannot use the local address " + address;
                return false;
            }
        }
    }
    if (!options_.stunServer.empty() && !haveStun)
        g_object_set(webrtc_.get(), "stun-server", options_.stunServer.c_str(), nullptr);

    // Our SSRCs, chosen now (send_branch.cpp, pinSsrc): non-zero, and
    // different, since both streams share one bundled transport.
    guint32 audioSsrc = g_random_int_range(1, G_MAXINT32);
    guint32 videoSsrc = audioSsrc;
    while (videoSsrc == audioSsrc)
        videoSsrc = g_random_int_range(1, G_MAXINT32);
    audio_ = std::make_unique<SendBranch>(SendBranch::Kind::Audio, pipeline_, media_, webrtc_.get(), elementSuffix_,
        audioSsrc);
    video_ = std::make_unique<SendBranch>(SendBranch::Kind::Video, pipeline_, media_, webrtc_.get(), elementSuffix_,
        videoSsrc);
    // The front end's sink is made here, on the main context (a GTK sink
    // must be), and put in the pipeline when the peer's video arrives.
    ReceiveBranch::Hooks hooks;
    hooks.audioOutput = [this] { return delegate_.audioOutput(peerId_); };
    hooks.releaseAudioOutput = [this](GstPad* pad) { delegate_.releaseAudioOutput(pad); };
    hooks.firstVideoFrame = [this] {
        double ms = sinceEpochMs();
        post([ms](PeerConnection& pc) {
            pc.firstFrameMs_ = ms;
            GST_INFO_OBJECT(pc.logObject(), "peer %s: first video frame decoded at %.1f ms", pc.peerId_.c_str(), ms);
            pc.delegate_.peerChanged(pc);
        });
    };
    receive_ = std::make_unique<ReceiveBranch>(pipeline_, logObject(), delegate_.makeVideoSink(peerId_),
        options_.measureLatency, std::move(hooks));

    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "on-ice-candidate", this, &PeerConnection::onIceCandidate));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "notify::connection-state", this, &PeerConnection::onStateNotify));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "notify::ice-connection-state", this, &PeerConnection::onStateNotify));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "notify::ice-gathering-state", this, &PeerConnection::onStateNotify));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "pad-added", this, &PeerConnection::onPadAdded));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "on-data-channel", this, &PeerConnection::onDataChannel));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "on-negotiation-needed", this, &PeerConnection::onNegotiationNeeded));

    gst_bin_add(pipeline_, webrtc_.get());
    if (!gst_element_sync_state_with_parent(webrtc_.get())) {
        error = "webrtcbin did not start";
        return false;
    }
    GST_INFO_OBJECT(logObject(), "peer %s: new peer connection (%s)", peerId_.c_str(),
        role_ == Role::Offerer ? "offerer" : "answerer");
    return true;
}

// ---- send branches ------------------------------------------------------

bool PeerConnection::attachAudio(int payloadType, std::string& error)
{
    return audio_->attachAudio(payloadType, error);
}

bool PeerConnection::attachVideo(VideoCodec codec, int payloadType, std::string& error)
{
    return video_->attachVideo(codec, payloadType, error);
}

// ---- negotiation ----------------------------------------------------------

bool PeerConnection::startOffer(std::string& error)
{
    role_ = Role::Offerer;
    audioMline_ = 0;
    videoMline_ = 1;
    GRef<GstCaps> audioPrefs = sdp::opusCaps(sdp::kOpusPayload);
    // VP8 always, first unless the user picked H.264 (docs/protocol.md,
    // "Media and data between peers").
    GRef<GstCaps> videoPrefs = sdp::offerVideoCaps(options_.media.videoCodec, capabilities(), media_.hasVideo());
    // Both m-lines always, sendrecv when we have the source, else
    // receive-only (docs/protocol.md, "Media and data between peers": a
    // peer without camera still offers).
    if (media_.hasAudio()) {
        if (!audio_->connect(audioMline_, audioPrefs.get(), sdp::kTwccOfferId, error)
            || !attachAudio(sdp::kOpusPayload, error))
            return false;
    } else {
        // Receive-only, we still send the TWCC feedback.
        GRef<GstCaps> prefs = adopt(gst_caps_copy(audioPrefs.get()));
        sdp::addExtmap(prefs.get(), sdp::kTwccOfferId, sdp::kTwccUri);
        GstWebRTCRTPTransceiver* trans = nullptr;
        g_signal_emit_by_name(webrtc_.get(), "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
            prefs.get(), &trans);
        GRef<GstWebRTCRTPTransceiver> owned = adopt(trans);
    }
    if (media_.hasVideo()) {
        // The encoder is attached once the answer says which codec.
        if (!video_->connect(videoMline_, videoPrefs.get(), sdp::kTwccOfferId, error))
            return false;
    } else {
        GRef<GstCaps> prefs = adopt(gst_caps_copy(videoPrefs.get()));
        sdp::addExtmap(prefs.get(), sdp::kTwccOfferId, sdp::kTwccUri);
        GstWebRTCRTPTransceiver* trans = nullptr;
        g_signal_emit_by_name(webrtc_.get(), "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
            prefs.get(), &trans);
        GRef<GstWebRTCRTPTransceiver> owned = adopt(trans);
        if (owned)
            g_object_set(owned.get(), "do-nack", TRUE, nullptr);
    }
    createChannel();
    createOffer();
    return true;
}

void PeerConnection::createChannel()
{
    GUnique<GstStructure> options(gst_structure_new("application/data-channel", "ordered", G_TYPE_BOOLEAN, TRUE, nullptr));
    GstWebRTCDataChannel* made = nullptr;
    g_signal_emit_by_name(webrtc_.get(), "create-data-channel", "chat", options.get(), &made);
    GRef<GstWebRTCDataChannel> channel = adopt(made);
    if (!channel) {
        GST_WARNING_OBJECT(logObject(), "peer %s: webrtcbin made no data channel; chat is off for this peer",
            peerId_.c_str());
        return;
    }
    adoptChannel(channel.get());
}

void PeerConnection::createOffer()
{
    if (!offerMs_)
        offerMs_ = sinceEpochMs();
    awaitingAnswer_ = true;
    answerTimeout_ = Source::once(context_.get(), kAnswerTimeout, [this] { onAnswerTimeout(); }, "palaver answer timeout");
    g_signal_emit_by_name(webrtc_.get(), "create-offer", nullptr,
        promise([](PeerConnection& pc, GRef<GstPromise> p) {
            pc.onDescriptionCreated(GST_WEBRTC_SDP_TYPE_OFFER, std::move(p));
        }).get());
}

void PeerConnection::onAnswerTimeout()
{
    if (awaitingAnswer_)
        fail("no answer to our offer within 10 s");
}

bool PeerConnection::owns(GstObject* object) const
{
    if (webrtc_ && (object == GST_OBJECT(webrtc_.get()) || gst_object_has_as_ancestor(object, GST_OBJECT(webrtc_.get()))))
        return true;
    for (const auto* branch : { audio_.get(), video_.get() })
        if (branch && branch->owns(object))
            return true;
    return receive_ && receive_->owns(object);
}

// The reply to create-offer or create-answer: our description of `type`.
void PeerConnection::onDescriptionCreated(GstWebRTCSDPType type, GRef<GstPromise> p)
{
    const char* typeName = gst_webrtc_sdp_type_to_string(type);
    const GstStructure* reply = gst_promise_get_reply(p.get());
    GstWebRTCSessionDescription* description = nullptr;
    if (!reply || !gst_structure_get(reply, typeName, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &description, nullptr)) {
        GUnique<GError> err;
        if (reply)
            gst_structure_get(reply, "error", G_TYPE_ERROR, err.outPtr(), nullptr);
        fail(std::string("could not create an ") + typeName + ": " + errorMessage(err));
        return;
    }
    GUnique<GstWebRTCSessionDescription> owned(description);
    if (renegotiating_)
        keepDtlsRole(owned->sdp);
    if (type == GST_WEBRTC_SDP_TYPE_ANSWER) {
        if (remoteOffer_)
            sdp::dropUnofferedExtmaps(owned->sdp, remoteOffer_.get());
        if (renegotiating_)
            allowDirectionChanges(owned->sdp, false);
        else
            dtlsRole_ = sdp::setup(owned->sdp);
    }
    setLocal(owned.get());
}

void PeerConnection::setLocal(GstWebRTCSessionDescription* description)
{
    std::string type = gst_webrtc_sdp_type_to_string(description->type);
    // Candidates carry the real a=mid of their m-line (webrtcbin's are
    // "video0", "audio1"...): browsers reject candidates with a wrong mid.
    localMids_ = sdp::mids(description->sdp);
    sdp::fixH264Fmtp(description->sdp);
    bool answer = description->type == GST_WEBRTC_SDP_TYPE_ANSWER;
    if (answer)
        localAnswerPending_ = true;
    g_signal_emit_by_name(webrtc_.get(), "set-local-description", description,
        promise([type, answer](PeerConnection& pc, GRef<GstPromise> p) {
            const GstStructure* reply = gst_promise_get_reply(p.get());
            GUnique<GError> err;
            if (reply && gst_structure_get(reply, "error", G_TYPE_ERROR, err.outPtr(), nullptr))
                pc.fail("could not set the local " + type + ": " + errorMessage(err));
            else if (answer)
                pc.localAnswerSet();
        }).get());
    std::string text = sdp::toText(description->sdp);
    GST_DEBUG_OBJECT(logObject(), "peer %s: local %s:\n%s", peerId_.c_str(), type.c_str(), text.c_str());
    if (description->type == GST_WEBRTC_SDP_TYPE_OFFER)
        delegate_.sendSignal(peerId_, protocol::SendOffer { text, peerId_ });
    else
        delegate_.sendSignal(peerId_, protocol::SendAnswer { text, peerId_ });
}

void PeerConnection::setRemote(GstWebRTCSDPType type, GUnique<GstSDPMessage> sdp, std::function<void(PeerConnection&)> then)
{
    remoteTransport_ = sdp::transport(sdp.get());
    remoteMlines_ = sdp::mlines(sdp.get());
    if (type == GST_WEBRTC_SDP_TYPE_OFFER) {
        GstSDPMessage* copy = nullptr;
        gst_sdp_message_copy(sdp.get(), &copy);
        remoteOffer_.reset(copy);
    }
    GUnique<GstWebRTCSessionDescription> description(gst_webrtc_session_description_new(type, sdp.release()));
    g_signal_emit_by_name(webrtc_.get(), "set-remote-description", description.get(),
        promise([then = std::move(then)](PeerConnection& pc, GRef<GstPromise> p) {
            const GstStructure* reply = gst_promise_get_reply(p.get());
            GUnique<GError> err;
            if (reply && gst_structure_get(reply, "error", G_TYPE_ERROR, err.outPtr(), nullptr)) {
                pc.fail(std::string("could not apply the peer's description: ") + errorMessage(err));
                return;
            }
            if (then)
                then(pc);
        }).get());
    // webrtcbin runs its operations in order on one task queue, so
    // candidates added from here on follow the description.
    remoteSet_ = true;
    for (auto& [mline, candidate] : pendingCandidates_)
        addRemoteCandidate(mline, candidate);
    pendingCandidates_.clear();
}

void PeerConnection::handleOffer(const std::string& text)
{
    role_ = Role::Answerer;
    if (!offerMs_)
        offerMs_ = sinceEpochMs();
    GST_DEBUG_OBJECT(logObject(), "peer %s: remote offer:\n%s", peerId_.c_str(), text.c_str());
    std::string error;
    GUnique<GstSDPMessage> offer = sdp::parse(text, error);
    if (!offer) {
        fail("the peer's offer does not parse (" + error + ")");
        return;
    }
    sdp::Capabilities can = capabilities();
    sdp::MediaChoice audio = sdp::chooseFormat(offer.get(), "audio", can);
    sdp::MediaChoice video = sdp::chooseFormat(offer.get(), "video", can);
    if (audio.index >= 0 && audio.payload >= 0 && media_.hasAudio() && audio.remoteReceives) {
        audioMline_ = audio.index;
        // The TWCC extmap with the offer's id, only when the offer has one:
        // webrtcbin copies it into the answer unchecked, and Firefox rejects
        // an answer with an extension it did not offer.
        if (!audio_->connect(audio.index, audio.caps.get(), audio.twccId, error) || !attachAudio(audio.payload, error)) {
            fail("audio: " + error);
            return;
        }
    }
    if (video.index >= 0 && video.payload < 0)
        GST_WARNING_OBJECT(logObject(),
            "peer %s: the offer has no video codec we can use (we take VP8 and constrained-baseline H.264)",
            peerId_.c_str());
    if (video.index >= 0 && video.payload >= 0 && media_.hasVideo() && video.remoteReceives) {
        videoMline_ = video.index;
        // Send with the offer's payload type: webrtcbin writes the offer's
        // numbers into its answer but sends whatever the payloader has
        // (docs/webrtcbin-notes.md, "From the shared pitfalls page").
        if (!video_->connect(video.index, video.caps.get(), video.twccId, error)
            || !attachVideo(video.codec, video.payload, error)) {
            fail("video: " + error);
            return;
        }
    }
    setRemote(GST_WEBRTC_SDP_TYPE_OFFER, std::move(offer), [](PeerConnection& pc) { pc.createAnswer(); });
}

void PeerConnection::createAnswer()
{
    g_signal_emit_by_name(webrtc_.get(), "create-answer", nullptr,
        promise([](PeerConnection& pc, GRef<GstPromise> p) {
            pc.onDescriptionCreated(GST_WEBRTC_SDP_TYPE_ANSWER, std::move(p));
        }).get());
}

// Our answer is set: the negotiation is done, and a re-offer that came
// meanwhile (held by handleReoffer) is answered now.
void PeerConnection::localAnswerSet()
{
    localAnswerPending_ = false;
    negotiationDone();
    std::string held = std::exchange(heldReoffer_, {});
    if (held.empty())
        return;
    std::string why;
    if (!canRenegotiate(held, why)) {
        fail("a re-offer held while our answer was being set cannot be answered on this connection: " + why);
        return;
    }
    GST_INFO_OBJECT(logObject(), "peer %s: answering the re-offer held while our answer was being set",
        peerId_.c_str());
    handleReoffer(held);
}

void PeerConnection::negotiationDone()
{
    if (!negotiated_) {
        negotiated_ = true;
        return;
    }
    if (!renegotiating_)
        return;
    renegotiating_ = false;
    ++renegotiations_;
    GST_INFO_OBJECT(logObject(), "peer %s: renegotiated on the live connection (%d so far; ICE and DTLS kept)",
        peerId_.c_str(), renegotiations_);
    delegate_.peerChanged(*this);
}

bool PeerConnection::canRenegotiate(const std::string& text, std::string& why) const
{
    // Our answer is out and only being set (a peer may offer again as soon
    // as it has it): handleReoffer holds the re-offer until it is set.
    bool answerBeingSet = localAnswerPending_ && heldReoffer_.empty() && !awaitingAnswer_;
    if (!answerBeingSet && !negotiated_) {
        why = "the first negotiation is not finished";
        return false;
    }
    if (!answerBeingSet && (renegotiating_ || awaitingAnswer_)) {
        why = "a renegotiation is still under way";
        return false;
    }
    std::string error;
    GUnique<GstSDPMessage> offer = sdp::parse(text, error);
    if (!offer)
        return true; // handleReoffer says why it does not parse, and fails
    sdp::Transport t = sdp::transport(offer.get());
    if (t.ufrag != remoteTransport_.ufrag || t.pwd != remoteTransport_.pwd) {
        why = "its ICE credentials changed (an ICE restart, which webrtcbin 1.22 cannot do)";
        return false;
    }
    if (t.fingerprint != remoteTransport_.fingerprint) {
        why = "its DTLS fingerprint changed (a new DTLS session)";
        return false;
    }
    std::vector<std::string> mlines = sdp::mlines(offer.get());
    if (mlines.size() < remoteMlines_.size()
        || !std::equal(remoteMlines_.begin(), remoteMlines_.end(), mlines.begin())) {
        why = "its m-lines are not the earlier ones in the same order";
        return false;
    }
    // An offer of a=setup:active or passive where it is our role asks us
    // to swap DTLS client and server: only a new DTLS session can.
    if (!dtlsRole_.empty() && sdp::setup(offer.get()) == dtlsRole_) {
        why = "it asks for the other DTLS role (a=setup:" + dtlsRole_ + ")";
        return false;
    }
    return true;
}

void PeerConnection::handleReoffer(const std::string& text)
{
    GST_DEBUG_OBJECT(logObject(), "peer %s: remote re-offer:\n%s", peerId_.c_str(), text.c_str());
    if (localAnswerPending_) {
        GST_INFO_OBJECT(logObject(), "peer %s: a re-offer came while our answer is being set; held until it is",
            peerId_.c_str());
        heldReoffer_ = text;
        return;
    }
    std::string error;
    GUnique<GstSDPMessage> offer = sdp::parse(text, error);
    if (!offer) {
        fail("the peer's offer does not parse (" + error + ")");
        return;
    }
    // Our send branches stay as they are: the codec and payload types of
    // the first negotiation hold (RFC 8829: a re-offer keeps them), and a
    // sink pad cannot be added to a transceiver webrtcbin made receive-only
    // (docs/webrtcbin-notes.md, "Renegotiation").
    sdp::Capabilities can = capabilities();
    for (const char* kind : { "audio", "video" }) {
        sdp::MediaChoice choice = sdp::chooseFormat(offer.get(), kind, can);
        SendBranch* branch = std::strcmp(kind, "audio") == 0 ? audio_.get() : video_.get();
        bool have = std::strcmp(kind, "audio") == 0 ? media_.hasAudio() : media_.hasVideo();
        if (choice.index >= 0 && choice.remoteReceives && have && !branch->connected())
            GST_WARNING_OBJECT(logObject(),
                "peer %s: the re-offer lets us send %s on m-line %d, which we did not send on before; webrtcbin 1.22 "
                "cannot add a sender to that transceiver, so we still send no %s",
                peerId_.c_str(), kind, choice.index, kind);
    }
    renegotiating_ = true;
    setRemote(GST_WEBRTC_SDP_TYPE_OFFER, std::move(offer), [](PeerConnection& pc) { pc.createAnswer(); });
}

bool PeerConnection::renegotiate(std::string& why)
{
    if (!negotiated_ || renegotiating_ || awaitingAnswer_) {
        why = negotiated_ ? "a negotiation is under way" : "the first negotiation is not finished";
        return false;
    }
    GST_INFO_OBJECT(logObject(), "peer %s: offering again on the live connection", peerId_.c_str());
    renegotiating_ = true;
    createOffer();
    return true;
}

// webrtcbin 1.22.0 answers every a=setup:actpass offer with a=setup:active
// (_intersect_dtls_setup in webrtcsdp.c, called by _create_answer_task),
// whatever role the live transport has, and sets the transport's
// dtls-client from the descriptions it applies (_get_final_setup). Browsers
// re-offer actpass; when we were the DTLS server (we offered first, the
// browser answered active), webrtcbin's answer would swap the roles, which
// Chrome refuses ("SSL Role can't be reversed"). Our answers to re-offers
// therefore say the role we have: passive + actpass stays passive,
// active + actpass stays active. Our own re-offers too: webrtcbin copies
// a=setup from the last description it generated (utils.c,
// _get_latest_self_generated_sdp: its answer as it made it, before this
// edit) and writes actpass for the data channel's m-line, so a re-offer
// after such an answer said active on some m-lines and actpass on another;
// it now states our role on all of them, which any answer must complement.
void PeerConnection::keepDtlsRole(GstSDPMessage* description)
{
    std::string made = sdp::setup(description);
    if (dtlsRole_.empty() || made == dtlsRole_)
        return;
    GST_INFO_OBJECT(logObject(), "peer %s: a=setup:%s where webrtcbin wrote %s: our DTLS role stays",
        peerId_.c_str(), dtlsRole_.c_str(), made.c_str());
    sdp::setSetup(description, dtlsRole_.c_str());
}

// webrtcbin 1.22.0 refuses to apply a description that changes a
// transceiver's negotiated direction other than to inactive
// (_update_transceiver_from_sdp_media: "transceiver direction changes are
// not implemented"), e.g. sendonly -> sendrecv when a peer that joined
// without a camera turns it on. The code after that check handles the
// change for bundled streams (a receive pad is made, the send pad kept);
// upstream removed the check in 1.23.1 (commit 77e01571c8, "don't disallow
// transceiver direction changes", after testing it with BUNDLE). We do the
// same for our max-bundle connections: a transceiver whose direction
// changes is marked as never negotiated (current-direction NONE, a public
// field) just before the description goes in. Main context, between
// webrtcbin's operations: create-answer is done and set-local-description
// not yet queued; for a remote answer to our re-offer (`remote`, whose
// directions are the peer's: sendonly there is recvonly here), before
// set-remote-description is queued.
void PeerConnection::allowDirectionChanges(const GstSDPMessage* answer, bool remote)
{
    GArray* transceivers = nullptr;
    g_signal_emit_by_name(webrtc_.get(), "get-transceivers", &transceivers);
    if (!transceivers)
        return;
    for (guint i = 0; i < transceivers->len; ++i) {
        GstWebRTCRTPTransceiver* trans = g_array_index(transceivers, GstWebRTCRTPTransceiver*, i);
        guint mline = 0;
        g_object_get(trans, "mlineindex", &mline, nullptr);
        GstWebRTCRTPTransceiverDirection now = sdp::direction(answer, mline);
        if (remote && now == GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY)
            now = GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY;
        else if (remote && now == GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY)
            now = GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY;
        // The field, not the "current-direction" property: Debian's 1.22.0
        // answered sendrecv there for a transceiver negotiated sendonly.
        if (!layoutMatches(trans)) {
            GST_WARNING_OBJECT(logObject(),
                "peer %s: this GStreamer's transceiver is not the one we know how to prepare: a direction change "
                "on m-line %u will fail and the connection be replaced",
                peerId_.c_str(), mline);
            continue;
        }
        auto* t = reinterpret_cast<Transceiver122*>(trans);
        GST_OBJECT_LOCK(trans);
        GstWebRTCRTPTransceiverDirection before = t->currentDirection;
        bool change = before != GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_NONE
            && now != GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_NONE && now != GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_INACTIVE
            && now != before;
        if (change)
            t->currentDirection = GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_NONE;
        GST_OBJECT_UNLOCK(trans);
        if (change)
            GST_INFO_OBJECT(logObject(), "peer %s: m-line %u goes from %s to %s on the live connection",
                peerId_.c_str(), mline, directionName(before), directionName(now));
    }
    g_array_unref(transceivers);
}

void PeerConnection::handleAnswer(const std::string& text)
{
    if (!awaitingAnswer_) {
        GST_WARNING_OBJECT(logObject(), "peer %s: ignoring an answer we did not ask for", peerId_.c_str());
        return;
    }
    awaitingAnswer_ = false;
    answerTimeout_.cancel();
    GST_DEBUG_OBJECT(logObject(), "peer %s: remote answer:\n%s", peerId_.c_str(), text.c_str());
    std::string error;
    GUnique<GstSDPMessage> answer = sdp::parse(text, error);
    if (!answer) {
        fail("the peer's answer does not parse (" + error + ")");
        return;
    }
    sdp::MediaChoice video = sdp::chooseFormat(answer.get(), "video", capabilities());
    // The answer to a re-offer of ours (renegotiate) may change a direction
    // (the peer stopped sending, or started): prepared as for our answers.
    // The first answer settles our DTLS role.
    if (renegotiating_)
        allowDirectionChanges(answer.get(), true);
    else
        dtlsRole_ = sdp::roleFromRemoteAnswer(answer.get());
    setRemote(GST_WEBRTC_SDP_TYPE_ANSWER, std::move(answer), [](PeerConnection& pc) { pc.negotiationDone(); });
    // Pick the encoder from the answer, not from what we preferred:
    // webrtcbin once answered VP8 while sending H.264 (docs/webrtcbin-notes.md,
    // "From the shared pitfalls page").
    if (video_->connected() && video.index >= 0) {
        if (video.payload < 0 || !video.remoteReceives) {
            GST_WARNING_OBJECT(logObject(), "peer %s: the answer takes none of our video codecs; sending no video",
                peerId_.c_str());
        } else if (!attachVideo(video.codec, video.payload, error)) {
            fail("video: " + error);
        }
    }
}

void PeerConnection::handleCandidate(const protocol::RelayedCandidate& c)
{
    ++candidatesReceived_;
    GST_DEBUG_OBJECT(logObject(), "peer %s: remote candidate %" G_GINT64_FORMAT " %s", peerId_.c_str(), c.sdpMLineIndex,
        c.candidate.empty() ? "(end of candidates)" : c.candidate.c_str());
    if (c.sdpMLineIndex < 0 || c.sdpMLineIndex > 64)
        return;
    // A browser hides host addresses behind .local mDNS names; 1.22 would
    // hand them to getaddrinfo, leak, and drop them (docs/webrtcbin-notes.md,
    // "From the shared pitfalls page"). We leave them out and rely on
    // peer-reflexive candidates (docs/protocol.md, "Candidates").
    if (c.candidate.find(".local ") != std::string::npos) {
        GST_INFO_OBJECT(logObject(), "peer %s: skipping mDNS candidate", peerId_.c_str());
        return;
    }
    if (!remoteSet_) {
        pendingCandidates_.emplace_back(unsigned(c.sdpMLineIndex), c.candidate);
        return;
    }
    addRemoteCandidate(unsigned(c.sdpMLineIndex), c.candidate);
}

void PeerConnection::addRemoteCandidate(unsigned mline, const std::string& candidate)
{
    // 1.22 takes "" as end-of-candidates.
    g_signal_emit_by_name(webrtc_.get(), "add-ice-candidate", mline, candidate.c_str());
}

void PeerConnection::fail(const std::string& reason)
{
    if (failed_)
        return;
    failed_ = true;
    // INFO, not ERROR: the Call logs the one WARNING (with this reason) and
    // replaces or drops the connection; the user sees no error for it.
    GST_INFO_OBJECT(logObject(), "peer %s: failed: %s", peerId_.c_str(), reason.c_str());
    delegate_.peerFailed(*this, reason);
}

// ---- webrtcbin callbacks (its threads) ------------------------------------

void PeerConnection::onNegotiationNeeded(GstElement*)
{
    // Negotiation is driven by the protocol (the newcomer offers), not by
    // this signal: it fires for every pad and channel we add.
    GST_DEBUG_OBJECT(logObject(), "peer %s: on-negotiation-needed (ignored)", peerId_.c_str());
}

void PeerConnection::onIceCandidate(GstElement*, guint mline, gchar* candidate)
{
    post([mline, candidate = std::string(candidate ? candidate : "")](PeerConnection& pc) {
        protocol::SendCandidate message;
        message.candidate = candidate;
        message.sdpMLineIndex = mline;
        if (mline < pc.localMids_.size() && !pc.localMids_[mline].empty())
            message.sdpMid = pc.localMids_[mline];
        message.to = pc.peerId_;
        ++pc.candidatesSent_;
        GST_DEBUG_OBJECT(pc.logObject(), "peer %s: local candidate %u %s", pc.peerId_.c_str(), mline, candidate.c_str());
        pc.delegate_.sendSignal(pc.peerId_, std::move(message));
    });
}

void PeerConnection::onStateNotify(GstElement* webrtc, GParamSpec* pspec)
{
    const char* name = g_param_spec_get_name(pspec);
    if (std::strcmp(name, "connection-state") == 0) {
        GstWebRTCPeerConnectionState state;
        g_object_get(webrtc, "connection-state", &state, nullptr);
        post([state](PeerConnection& pc) {
            pc.connectionState_ = state;
            GST_INFO_OBJECT(pc.logObject(), "peer %s: connection state %s", pc.peerId_.c_str(), connectionStateName(state));
            if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !pc.connectedMs_) {
                pc.connectedMs_ = pc.sinceEpochMs();
                // Frames sent before DTLS was up were dropped, the first
                // keyframe with them: send one now instead of waiting for
                // the peer's PLI (one round trip plus its decoder noticing).
                pc.video_->requestKeyframe();
            }
            pc.delegate_.peerChanged(pc);
            if (state == GST_WEBRTC_PEER_CONNECTION_STATE_FAILED)
                pc.fail("the connection failed (ICE or DTLS)");
        });
    } else if (std::strcmp(name, "ice-connection-state") == 0) {
        GstWebRTCICEConnectionState state;
        g_object_get(webrtc, "ice-connection-state", &state, nullptr);
        post([state](PeerConnection& pc) {
            pc.iceState_ = state;
            GST_INFO_OBJECT(pc.logObject(), "peer %s: ICE connection state %s", pc.peerId_.c_str(),
                iceConnectionStateName(state));
            pc.delegate_.peerChanged(pc);
        });
    } else {
        GstWebRTCICEGatheringState state;
        g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
        post([state](PeerConnection& pc) {
            pc.gatheringState_ = state;
            GST_INFO_OBJECT(pc.logObject(), "peer %s: ICE gathering state %s", pc.peerId_.c_str(),
                iceGatheringStateName(state));
            // 1.22 never emits the end-of-candidates candidate: we send ""
            // ourselves (docs/webrtcbin-notes.md, "From the shared pitfalls
            // page"; docs/protocol.md, "Candidates").
            if (state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && !pc.endOfCandidatesSent_) {
                pc.endOfCandidatesSent_ = true;
                protocol::SendCandidate end;
                end.candidate = "";
                end.sdpMLineIndex = 0;
                if (!pc.localMids_.empty() && !pc.localMids_[0].empty())
                    end.sdpMid = pc.localMids_[0];
                end.to = pc.peerId_;
                pc.delegate_.sendSignal(pc.peerId_, std::move(end));
            }
            pc.delegate_.peerChanged(pc);
        });
    }
}

// A streaming thread: the decode branch is built and linked before this
// returns (ReceiveBranch::add); only the news goes to the main context.
void PeerConnection::onPadAdded(GstElement*, GstPad* pad)
{
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    std::string codec, error;
    bool video = false;
    if (!receive_->add(pad, codec, video, error)) {
        std::string padName = GST_PAD_NAME(pad);
        post([error, padName](PeerConnection& pc) {
            GST_WARNING_OBJECT(pc.logObject(), "peer %s: cannot play stream %s: %s", pc.peerId_.c_str(), padName.c_str(),
                error.c_str());
        });
        return;
    }
    post([codec, video](PeerConnection& pc) {
        GST_INFO_OBJECT(pc.logObject(), "peer %s: receiving %s (%s)", pc.peerId_.c_str(), video ? "video" : "audio",
            codec.c_str());
        pc.delegate_.peerChanged(pc);
    });
}

PeerConnection::Media PeerConnection::media() const
{
    return receive_->snapshot();
}

GRef<GstElement> PeerConnection::videoSink() const
{
    return receive_->videoSink();
}

// ---- data channel -----------------------------------------------------------

// webrtcbin's thread. The channel's signals are connected here, at once:
// a message can arrive right after on-data-channel, before the main context
// would get round to it (docs/webrtcbin-notes.md).
void PeerConnection::onDataChannel(GstElement*, GObject* object)
{
    auto* channel = GST_WEBRTC_DATA_CHANNEL(object);
    GUnique<char> label;
    g_object_get(channel, "label", label.outPtr(), nullptr);
    if (g_strcmp0(label.get(), "chat") != 0) {
        GST_INFO_OBJECT(logObject(), "peer %s: ignoring data channel \"%s\"", peerId_.c_str(), label.get());
        return;
    }
    adoptChannel(channel);
    GstWebRTCDataChannelState state;
    g_object_get(channel, "ready-state", &state, nullptr);
    if (state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
        onChannelOpen(object);
}

// Any thread. Connects outside the lock, swaps under it, and disconnects
// what it replaced outside it again (the rule beside channelMutex_).
void PeerConnection::adoptChannel(GstWebRTCDataChannel* channel)
{
    std::vector<SignalConnection> signals;
    signals.push_back(connectSignal(channel, "on-open", this, &PeerConnection::onChannelOpen));
    signals.push_back(connectSignal(channel, "on-close", this, &PeerConnection::onChannelClose));
    signals.push_back(connectSignal(channel, "on-error", this, &PeerConnection::onChannelError));
    signals.push_back(connectSignal(channel, "on-message-string", this, &PeerConnection::onChannelMessage));
    signals.push_back(connectSignal(channel, "notify::buffered-amount", this, &PeerConnection::onChannelBuffered));
    GRef<GstWebRTCDataChannel> previous(channel);
    {
        std::lock_guard lock(channelMutex_);
        channelSignals_.swap(signals);
        channel_.swap(previous);
    }
    // `signals` and `previous` now hold the replaced channel's, if any:
    // disconnected and dropped here, without the lock.
}

void PeerConnection::onChannelOpen(GObject*)
{
    post([](PeerConnection& pc) {
        if (pc.chatOpen_)
            return;
        pc.chatOpen_ = true;
        GST_INFO_OBJECT(pc.logObject(), "peer %s: chat channel open", pc.peerId_.c_str());
        pc.delegate_.chatOpened(pc);
    });
}

void PeerConnection::onChannelClose(GObject*)
{
    post([](PeerConnection& pc) {
        pc.chatOpen_ = false;
        GST_INFO_OBJECT(pc.logObject(), "peer %s: chat channel closed", pc.peerId_.c_str());
        pc.delegate_.peerChanged(pc);
    });
}

void PeerConnection::onChannelError(GObject*, GError* error)
{
    std::string message = error ? error->message : "unknown error";
    post([message](PeerConnection& pc) {
        GST_WARNING_OBJECT(pc.logObject(), "peer %s: chat channel error: %s", pc.peerId_.c_str(), message.c_str());
    });
}

void PeerConnection::onChannelMessage(GObject*, gchar* text)
{
    post([text = std::string(text ? text : "")](PeerConnection& pc) {
        if (protocol::dataMessageType(text) == std::optional<std::string>("bye")) {
            GST_INFO_OBJECT(pc.logObject(), "peer %s: said bye", pc.peerId_.c_str());
            pc.delegate_.peerSaidBye(pc);
            return;
        }
        auto chat = protocol::parseChatMessage(text);
        if (!chat) {
            GST_DEBUG_OBJECT(pc.logObject(), "peer %s: ignoring data-channel message %.80s", pc.peerId_.c_str(),
                text.c_str());
            return;
        }
        pc.chatLog_.push_back(chat->text);
        pc.delegate_.chatReceived(pc, chat->text);
    });
}

void PeerConnection::sendBye()
{
    GRef<GstWebRTCDataChannel> channel;
    {
        std::lock_guard lock(channelMutex_);
        channel = channel_;
    }
    if (!channel || !chatOpen_)
        return;
    GUnique<GError> err;
    if (!gst_webrtc_data_channel_send_string_full(channel.get(), protocol::kByeMessage, err.outPtr()))
        GST_DEBUG_OBJECT(logObject(), "peer %s: bye not sent: %s", peerId_.c_str(), errorMessage(err));
}

void PeerConnection::whenChatFlushed(std::function<void()> done)
{
    chatFlushed_ = std::move(done);
    watchFlush_ = true;
    // Flushed already, or flushed before the watch was on: checked once now.
    onChannelBuffered(nullptr, nullptr);
}

// Any thread (the channel's streaming thread as its bytes go to SCTP).
void PeerConnection::onChannelBuffered(GObject*, GParamSpec*)
{
    if (!watchFlush_)
        return;
    post([](PeerConnection& pc) {
        if (!pc.chatFlushed_ || !pc.chatFlushed())
            return;
        pc.watchFlush_ = false;
        std::exchange(pc.chatFlushed_, nullptr)();
    });
}

bool PeerConnection::chatFlushed() const
{
    GRef<GstWebRTCDataChannel> channel;
    {
        std::lock_guard lock(channelMutex_);
        channel = channel_;
    }
    if (!channel || !chatOpen_)
        return true;
    guint64 queued = 0;
    GstWebRTCDataChannelState state = GST_WEBRTC_DATA_CHANNEL_STATE_CLOSED;
    g_object_get(channel.get(), "buffered-amount", &queued, "ready-state", &state, nullptr);
    return queued == 0 || state != GST_WEBRTC_DATA_CHANNEL_STATE_OPEN;
}

bool PeerConnection::sendChat(const std::string& text, std::string& error)
{
    // Buffers sent on a channel that is not open leak in 1.22.0 (fixed in
    // 1.22.2): only send once on-open was seen (docs/webrtcbin-notes.md,
    // "From the shared pitfalls page").
    GRef<GstWebRTCDataChannel> channel;
    {
        std::lock_guard lock(channelMutex_);
        channel = channel_;
    }
    if (!channel || !chatOpen_) {
        error = "the chat channel to " + peerId_ + " is not open";
        return false;
    }
    std::string payload = protocol::serialize(protocol::ChatMessage { text });
    if (payload.size() > kMaxChatBytes) {
        error = "the message is too long (at most 16 KiB)";
        return false;
    }
    GUnique<GError> err;
    if (!gst_webrtc_data_channel_send_string_full(channel.get(), payload.c_str(), err.outPtr())) {
        error = std::string("could not send on the chat channel: ") + errorMessage(err);
        return false;
    }
    return true;
}

// ---- statistics ---------------------------------------------------------------

void PeerConnection::pollStats()
{
    if (statsPending_ || !webrtc_)
        return;
    statsPending_ = true;
    g_signal_emit_by_name(webrtc_.get(), "get-stats", nullptr, promise([](PeerConnection& pc, GRef<GstPromise> p) {
        pc.statsPending_ = false;
        RawStats raw = parseStats(gst_promise_get_reply(p.get()));
        gint64 now = g_get_monotonic_time();
        int64_t frames = pc.receive_->videoFrames();
        if (pc.lastRawUs_) {
            double seconds = double(now - pc.lastRawUs_) / 1e6;
            pc.stats_ = summarize(pc.lastRaw_, raw, seconds);
            if (seconds > 0)
                pc.stats_.fpsIn = double(frames - pc.lastFrames_) / seconds;
        } else {
            pc.stats_.candidatePair = raw.candidatePair;
            pc.stats_.packetsLost = raw.packetsLost;
            pc.stats_.jitterMs = raw.jitterMs;
            pc.stats_.rttMs = raw.rttMs;
        }
        pc.lastRaw_ = raw;
        pc.lastRawUs_ = now;
        pc.lastFrames_ = frames;
        pc.delegate_.peerChanged(pc);
    }).get());
}

} // namespace palaver::engine
