#include "peer_connection.h"

#include <cmath>

#include "frame_stamp.h"
#include "post.h"

#include <gst/sdp/sdp.h>
#include <gst/video/video.h>

#include <algorithm>
#include <cstring>

GST_DEBUG_CATEGORY_STATIC(palaver_peer_debug);
#define GST_CAT_DEFAULT palaver_peer_debug

namespace palaver::engine {

namespace {

// Payload types of our own offers; answers take the offer's numbers.
constexpr int kOpusPayload = 111;
constexpr int kVp8Payload = 96;
constexpr int kH264Payload = 102;

// Data-channel messages are kept at 16 KiB or less: 1.22 does not
// advertise a=max-message-size (WEBRTCBIN-1.22.md, "Data channels").
constexpr size_t kMaxChatBytes = 16 * 1024;

void initDebug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(palaver_peer_debug, "palaver-peer", 0, "Palaver peer connection");
        g_once_init_leave(&once, 1);
    }
}

GstCaps* rtpCaps(const char* media, const char* encoding, int clockRate, int payload)
{
    return gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, media, "encoding-name", G_TYPE_STRING,
        encoding, "clock-rate", G_TYPE_INT, clockRate, "payload", G_TYPE_INT, payload, nullptr);
}

// What the capsfilter after a payloader pins: enough for webrtcbin to see
// the stream before the encoder produced anything (WEBRTCBIN-1.22.md: else
// it is left out of the offer), loose enough for the payloader's own fields.
GstCaps* sendCaps(VideoCodec codec, int payload)
{
    return rtpCaps("video", codec == VideoCodec::VP8 ? "VP8" : "H264", 90000, payload);
}

// webrtcbin answers caps queries on a sink pad with the transceiver's
// codec preferences, and rtph264pay derives profile-level-id from the
// encoder's SPS (x264 at 320x240 makes 42c00d, not 42e01f): a pinned
// profile-level-id there is a not-negotiated error. So the preferences say
// packetization-mode=1 and leave profile-level-id to the stream.
void unpinProfile(GstCaps* caps)
{
    for (guint i = 0; i < gst_caps_get_size(caps); ++i)
        gst_structure_remove_fields(gst_caps_get_structure(caps, i), "profile-level-id", "profile", nullptr);
}

// The parameters of an a=fmtp value after its payload type, trimmed.
std::vector<std::string> fmtpParams(const char* params)
{
    std::vector<std::string> out;
    GUnique<char*> parts(g_strsplit(params, ";", -1));
    for (char** p = parts.get(); *p; ++p)
        if (std::string param = g_strstrip(*p); !param.empty())
            out.push_back(std::move(param));
    return out;
}

// The SDP of a peer, or nullptr when it does not parse or has no m-line.
GUnique<GstSDPMessage> parseSdp(const std::string& text)
{
    GstSDPMessage* message = nullptr;
    gst_sdp_message_new_from_text(text.c_str(), &message);
    GUnique<GstSDPMessage> owned(message);
    if (owned && gst_sdp_message_medias_len(owned.get()) == 0)
        owned.reset();
    return owned;
}

// Our H.264 fmtp as browsers expect it: profile-level-id=42e01f
// (constrained baseline, level 3.1), which the codec preferences cannot
// carry (see unpinProfile), and no "profile=" (the SDP library's name for it).
void fixH264Fmtp(GstSDPMessage* sdp)
{
    for (guint m = 0; m < gst_sdp_message_medias_len(sdp); ++m) {
        auto* media = const_cast<GstSDPMedia*>(gst_sdp_message_get_media(sdp, m));
        std::vector<std::string> h264;
        for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
            const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, i);
            if (g_strcmp0(attr->key, "rtpmap") == 0 && attr->value && std::strstr(attr->value, " H264/"))
                h264.emplace_back(std::string(attr->value).substr(0, std::string(attr->value).find(' ')));
        }
        for (const std::string& pt : h264) {
            bool found = false;
            for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
                const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, i);
                std::string prefix = pt + " ";
                if (g_strcmp0(attr->key, "fmtp") != 0 || !attr->value || std::string_view(attr->value).rfind(prefix, 0) != 0)
                    continue;
                found = true;
                std::string params;
                bool haveProfile = false;
                for (const std::string& param : fmtpParams(attr->value + prefix.size())) {
                    if (param.rfind("profile=", 0) == 0)
                        continue;
                    if (param.rfind("profile-level-id=", 0) == 0)
                        haveProfile = true;
                    params += (params.empty() ? "" : ";") + param;
                }
                if (!haveProfile)
                    params += (params.empty() ? "" : ";") + std::string("profile-level-id=42e01f");
                GstSDPAttribute replacement;
                gst_sdp_attribute_set(&replacement, "fmtp", (prefix + params).c_str());
                gst_sdp_media_replace_attribute(media, i, &replacement);
                break;
            }
            if (!found)
                gst_sdp_media_add_attribute(media, "fmtp", (pt + " packetization-mode=1;profile-level-id=42e01f").c_str());
        }
    }
}

// The codec preferences of our offers.
GstCaps* offerCaps(VideoCodec codec, int payload)
{
    GstCaps* caps = sendCaps(codec, payload);
    if (codec == VideoCodec::H264)
        gst_caps_set_simple(caps, "packetization-mode", G_TYPE_STRING, "1", "level-asymmetry-allowed", G_TYPE_STRING, "1",
            nullptr);
    return caps;
}

GstCaps* opusCaps(int payload)
{
    GstCaps* caps = rtpCaps("audio", "OPUS", 48000, payload);
    gst_caps_set_simple(caps, "encoding-params", G_TYPE_STRING, "2", nullptr);
    return caps;
}

// Constrained baseline: profile_idc 0x42 with constraint_set1 (0x40) set.
bool isConstrainedBaseline(const char* profileLevelId)
{
    if (!profileLevelId || std::strlen(profileLevelId) != 6)
        return false;
    unsigned value = unsigned(std::strtoul(profileLevelId, nullptr, 16));
    return (value >> 16) == 0x42 && ((value >> 8) & 0x40);
}

// One parameter of the a=fmtp line of payload type `pt`, or "".
std::string fmtpValue(const GstSDPMedia* media, int pt, const char* name)
{
    std::string prefix = std::to_string(pt) + " ";
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
        const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, i);
        if (g_strcmp0(attr->key, "fmtp") != 0 || !attr->value || std::string_view(attr->value).rfind(prefix, 0) != 0)
            continue;
        for (const std::string& param : fmtpParams(attr->value + prefix.size())) {
            auto eq = param.find('=');
            if (eq != std::string::npos && g_ascii_strcasecmp(param.substr(0, eq).c_str(), name) == 0)
                return param.substr(eq + 1);
        }
    }
    return {};
}

struct MediaChoice {
    int index = -1;
    std::string mid;
    int payload = -1;
    VideoCodec codec = VideoCodec::VP8;
    GRef<GstCaps> caps; // the offer's caps for that payload type
    bool remoteReceives = true; // the offer's direction lets us send
};

// Picks, for the m-line of `kind`, the first format (in the offer's order of
// preference) that we can both encode and decode.
MediaChoice chooseFormat(const GstSDPMessage* sdp, const char* kind)
{
    MediaChoice choice;
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
        const GstSDPMedia* media = gst_sdp_message_get_media(sdp, i);
        if (g_strcmp0(gst_sdp_media_get_media(media), kind) != 0)
            continue;
        // Port 0 rejects an m-line, except one bundled into another.
        if (gst_sdp_media_get_port(media) == 0 && !gst_sdp_media_get_attribute_val(media, "bundle-only"))
            continue;
        choice.index = int(i);
        if (const char* mid = gst_sdp_media_get_attribute_val(media, "mid"))
            choice.mid = mid;
        if (gst_sdp_media_get_attribute_val(media, "sendonly") || gst_sdp_media_get_attribute_val(media, "inactive"))
            choice.remoteReceives = false;
        for (guint f = 0; f < gst_sdp_media_formats_len(media); ++f) {
            int pt = std::atoi(gst_sdp_media_get_format(media, f));
            GRef<GstCaps> caps = adopt(gst_sdp_media_get_caps_from_media(media, pt));
            if (!caps || gst_caps_is_empty(caps.get()))
                continue;
            // The SDP library names them application/x-unknown.
            caps = adopt(gst_caps_make_writable(caps.release()));
            gst_structure_set_name(gst_caps_get_structure(caps.get(), 0), "application/x-rtp");
            const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
            const char* encoding = gst_structure_get_string(s, "encoding-name");
            if (!encoding)
                continue;
            if (g_ascii_strcasecmp(kind, "audio") == 0) {
                if (g_ascii_strcasecmp(encoding, "OPUS") == 0) {
                    choice.payload = pt;
                    choice.caps = caps;
                    return choice;
                }
                continue;
            }
            if (g_ascii_strcasecmp(encoding, "VP8") == 0 && LocalMedia::canDecode(VideoCodec::VP8)) {
                choice.payload = pt;
                choice.codec = VideoCodec::VP8;
                choice.caps = caps;
                return choice;
            }
            // The SDP library turns profile-level-id into profile=...; keep
            // the original too, for the fmtp of our answer.
            std::string profileLevelId = fmtpValue(media, pt, "profile-level-id");
            if (g_ascii_strcasecmp(encoding, "H264") == 0 && LocalMedia::canDecode(VideoCodec::H264)
                && LocalMedia::canEncode(VideoCodec::H264)
                && g_strcmp0(gst_structure_get_string(s, "packetization-mode"), "1") == 0
                && (isConstrainedBaseline(profileLevelId.c_str())
                    || g_strcmp0(gst_structure_get_string(s, "profile"), "constrained-baseline") == 0)) {
                unpinProfile(caps.get());
                choice.payload = pt;
                choice.codec = VideoCodec::H264;
                choice.caps = caps;
                return choice;
            }
        }
        return choice; // the first m-line of that kind is the one
    }
    return choice;
}

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

std::vector<std::string> midsOf(const GstSDPMessage* sdp)
{
    std::vector<std::string> mids;
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
        const char* mid = gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(sdp, i), "mid");
        mids.emplace_back(mid ? mid : "");
    }
    return mids;
}

} // namespace

const char* connectionStateName(GstWebRTCPeerConnectionState state)
{
    switch (state) {
    case GST_WEBRTC_PEER_CONNECTION_STATE_NEW: return "new";
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTING: return "connecting";
    case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED: return "connected";
    case GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED: return "disconnected";
    case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED: return "failed";
    case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED: return "closed";
    }
    return "unknown";
}

const char* iceConnectionStateName(GstWebRTCICEConnectionState state)
{
    switch (state) {
    case GST_WEBRTC_ICE_CONNECTION_STATE_NEW: return "new";
    case GST_WEBRTC_ICE_CONNECTION_STATE_CHECKING: return "checking";
    case GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED: return "connected";
    case GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED: return "completed";
    case GST_WEBRTC_ICE_CONNECTION_STATE_FAILED: return "failed";
    case GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED: return "disconnected";
    case GST_WEBRTC_ICE_CONNECTION_STATE_CLOSED: return "closed";
    }
    return "unknown";
}

const char* iceGatheringStateName(GstWebRTCICEGatheringState state)
{
    switch (state) {
    case GST_WEBRTC_ICE_GATHERING_STATE_NEW: return "new";
    case GST_WEBRTC_ICE_GATHERING_STATE_GATHERING: return "gathering";
    case GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE: return "complete";
    }
    return "unknown";
}

std::shared_ptr<PeerConnection> PeerConnection::create(Delegate& delegate, GstBin* pipeline, LocalMedia& media,
    std::string peerId, Role role, const CallOptions& options, const std::vector<protocol::IceServer>& iceServers,
    gint64 epochUs)
{
    std::shared_ptr<PeerConnection> pc(
        new PeerConnection(delegate, pipeline, media, std::move(peerId), role, options, epochUs));
    std::string error;
    if (!pc->setUp(iceServers, error)) {
        GST_ERROR("peer %s: %s", pc->peerId_.c_str(), error.c_str());
        return nullptr;
    }
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

PeerConnection::~PeerConnection()
{
    GST_INFO("peer %s: tearing down", peerId_.c_str());
    if (answerTimeout_)
        g_source_destroy(answerTimeout_.get());
    // The shared encoders must stop pushing into our branches first.
    for (SendBranch* branch : { &audio_, &video_ })
        if (branch->teePad)
            media_.releasePad(branch->teePad.get());
    // Going to NULL joins webrtcbin's task thread and stops the streaming
    // threads of our pads, so no handler runs after this line.
    if (webrtc_)
        gst_element_set_state(webrtc_.get(), GST_STATE_NULL);
    webrtcSignals_.clear();
    {
        std::lock_guard lock(channelMutex_);
        channelSignals_.clear();
        channel_ = nullptr;
    }
    std::vector<GRef<GstElement>> elements;
    GRef<GstPad> audioOutput;
    {
        std::lock_guard lock(decodeMutex_);
        elements.swap(decodeElements_);
        audioOutput = std::move(audioOutput_);
    }
    if (audioOutput) {
        if (GRef<GstPad> peer = adopt(gst_pad_get_peer(audioOutput.get())))
            gst_pad_unlink(peer.get(), audioOutput.get());
        delegate_.releaseAudioOutput(audioOutput.get());
    }
    for (SendBranch* branch : { &audio_, &video_ }) {
        for (GstElement* e : { branch->queue.get(), branch->payloader.get(), branch->capsfilter.get() })
            if (e)
                elements.emplace_back(e);
    }
    for (auto& e : elements) {
        gst_element_set_state(e.get(), GST_STATE_NULL);
        if (GRef<GstObject> parent = adopt(gst_element_get_parent(e.get())))
            gst_bin_remove(GST_BIN(parent.get()), e.get());
    }
    if (webrtc_)
        gst_bin_remove(pipeline_, webrtc_.get());
}

double PeerConnection::sinceEpochMs() const
{
    return double(g_get_monotonic_time() - epochUs_) / 1000.0;
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
    // carry a serial so that the old and new never collide.
    static std::atomic<unsigned> serial { 0 };
    elementSuffix_ = peerId_ + "-" + std::to_string(++serial);
    std::string name = "webrtc-" + elementSuffix_;
    webrtc_ = adopt(gst_element_factory_make("webrtcbin", name.c_str()));
    if (!webrtc_) {
        error = "webrtcbin is missing (install gstreamer1.0-plugins-bad and gstreamer1.0-nice)";
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
                    GST_WARNING("peer %s: webrtcbin refused TURN server %s", peerId_.c_str(), url.c_str());
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

    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "on-ice-candidate", this, &PeerConnection::onIceCandidate));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "notify::connection-state", this, &PeerConnection::onStateNotify));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "notify::ice-connection-state", this, &PeerConnection::onStateNotify));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "notify::ice-gathering-state", this, &PeerConnection::onStateNotify));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "pad-added", this, &PeerConnection::onPadAdded));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "on-data-channel", this, &PeerConnection::onDataChannel));
    webrtcSignals_.push_back(connectSignal(webrtc_.get(), "on-negotiation-needed", this, &PeerConnection::onNegotiationNeeded));

    // The front end's sink is made here, on the main context (a GTK sink
    // must be), and put in the pipeline when the peer's video arrives.
    pendingVideoSink_ = adopt(delegate_.makeVideoSink(peerId_));
    gst_bin_add(pipeline_, webrtc_.get());
    if (!gst_element_sync_state_with_parent(webrtc_.get())) {
        error = "webrtcbin did not start";
        return false;
    }
    GST_INFO("peer %s: new peer connection (%s)", peerId_.c_str(), role_ == Role::Offerer ? "offerer" : "answerer");
    return true;
}

// ---- send branches ------------------------------------------------------

bool PeerConnection::requestSendPad(SendBranch& branch, const char* kind, int mline, GstCaps* preferences, std::string& error)
{
    // webrtcbin ties sink_N to m-line N: an answer must use the offer's
    // m-line numbers.
    std::string padName = "sink_" + std::to_string(mline);
    branch.sinkPad = adopt(gst_element_request_pad_simple(webrtc_.get(), padName.c_str()));
    if (!branch.sinkPad) {
        error = std::string("webrtcbin refused a ") + kind + " send pad";
        return false;
    }
    GRef<GstWebRTCRTPTransceiver> transceiver;
    g_object_get(branch.sinkPad.get(), "transceiver", transceiver.outPtr(), nullptr);
    if (transceiver) {
        g_object_set(transceiver.get(), "codec-preferences", preferences, nullptr);
        // NACK on video only: with NACK on the audio transceiver Chromium
        // refuses the whole offer (WEBRTCBIN-1.22.md, "Interop").
        if (std::strcmp(kind, "video") == 0)
            g_object_set(transceiver.get(), "do-nack", TRUE, nullptr);
    }
    std::string cfName = std::string(kind) + "-rtp-caps-" + elementSuffix_;
    branch.capsfilter = adopt(gst_element_factory_make("capsfilter", cfName.c_str()));
    g_object_set(branch.capsfilter.get(), "caps", preferences, nullptr);
    gst_bin_add(pipeline_, branch.capsfilter.get());
    GRef<GstPad> src = adopt(gst_element_get_static_pad(branch.capsfilter.get(), "src"));
    if (gst_pad_link(src.get(), branch.sinkPad.get()) != GST_PAD_LINK_OK) {
        error = std::string("cannot link the ") + kind + " send branch to webrtcbin";
        return false;
    }
    gst_element_sync_state_with_parent(branch.capsfilter.get());
    return true;
}

bool PeerConnection::attach(SendBranch& branch, GRef<GstPad> teePad, GstElement* payloader, GstCaps* caps, std::string& error)
{
    if (!teePad) {
        error = "no local stream to send";
        return false;
    }
    branch.queue = adopt(gst_element_factory_make("queue", nullptr));
    // One slow peer must not hold back the shared encoder for the others:
    // its queue drops instead.
    g_object_set(branch.queue.get(), "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", guint64(200 * GST_MSECOND),
        nullptr);
    gst_util_set_object_arg(G_OBJECT(branch.queue.get()), "leaky", "downstream");
    branch.payloader = adopt(payloader);
    g_object_set(branch.capsfilter.get(), "caps", caps, nullptr);
    gst_bin_add_many(pipeline_, branch.queue.get(), payloader, nullptr);
    if (!gst_element_link_many(branch.queue.get(), payloader, branch.capsfilter.get(), nullptr)) {
        GRef<GstCaps> want = adopt(gst_pad_query_caps(branch.sinkPad.get(), nullptr));
        GUnique<char> text(want ? gst_caps_to_string(want.get()) : nullptr);
        GST_WARNING("peer %s: webrtcbin takes %s", peerId_.c_str(), text ? text.get() : "(nothing)");
        error = "cannot link the payloader";
        return false;
    }
    // Downstream first, then the tee (WEBRTCBIN-1.22.md, "Interop").
    gst_element_sync_state_with_parent(payloader);
    gst_element_sync_state_with_parent(branch.queue.get());
    GRef<GstPad> queueSink = adopt(gst_element_get_static_pad(branch.queue.get(), "sink"));
    if (gst_pad_link(teePad.get(), queueSink.get()) != GST_PAD_LINK_OK) {
        media_.releasePad(teePad.get());
        error = "cannot link the local stream to the send branch";
        return false;
    }
    branch.teePad = std::move(teePad);
    branch.attached = true;
    // The new peer needs a keyframe now, not at the encoder's next interval.
    gst_pad_push_event(queueSink.get(), gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
    return true;
}

void PeerConnection::requestLocalKeyframe()
{
    if (!video_.attached || !video_.queue)
        return;
    GRef<GstPad> sink = adopt(gst_element_get_static_pad(video_.queue.get(), "sink"));
    gst_pad_push_event(sink.get(), gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
}

bool PeerConnection::attachAudio(int payloadType, std::string& error)
{
    if (audio_.attached || !audio_.capsfilter)
        return true;
    GstElement* pay = gst_element_factory_make("rtpopuspay", nullptr);
    g_object_set(pay, "pt", guint(payloadType), nullptr);
    GRef<GstCaps> caps = adopt(opusCaps(payloadType));
    return attach(audio_, media_.requestAudioPad(), pay, caps.get(), error);
}

bool PeerConnection::attachVideo(VideoCodec codec, int payloadType, std::string& error)
{
    if (video_.attached || !video_.capsfilter)
        return true;
    GRef<GstPad> pad = media_.requestVideoPad(codec, error);
    if (!pad)
        return false;
    GstElement* pay = nullptr;
    if (codec == VideoCodec::VP8) {
        pay = gst_element_factory_make("rtpvp8pay", nullptr);
        // picture-id lets the receiver detect loss across frames.
        gst_util_set_object_arg(G_OBJECT(pay), "picture-id-mode", "15-bit");
    } else {
        pay = gst_element_factory_make("rtph264pay", nullptr);
        // SPS/PPS with every IDR, one NAL per packet as soon as it is ready
        // (WEBRTCBIN-1.22.md, "Codecs with browsers").
        g_object_set(pay, "config-interval", -1, nullptr);
        gst_util_set_object_arg(G_OBJECT(pay), "aggregate-mode", "zero-latency");
    }
    g_object_set(pay, "pt", guint(payloadType), "mtu", 1200u, nullptr);
    GRef<GstCaps> caps = adopt(sendCaps(codec, payloadType));
    if (!attach(video_, std::move(pad), pay, caps.get(), error))
        return false;
    GST_INFO("peer %s: sending %s (payload type %d)", peerId_.c_str(), videoCodecName(codec), payloadType);
    return true;
}

// ---- negotiation ----------------------------------------------------------

bool PeerConnection::startOffer(std::string& error)
{
    role_ = Role::Offerer;
    audioMline_ = 0;
    videoMline_ = 1;
    GRef<GstCaps> audioPrefs = adopt(opusCaps(kOpusPayload));
    GRef<GstCaps> videoPrefs = adopt(gst_caps_new_empty());
    // VP8 always, first unless the user picked H.264 (PROTOCOL.md, "Media").
    std::vector<VideoCodec> order = { options_.media.videoCodec };
    order.push_back(options_.media.videoCodec == VideoCodec::VP8 ? VideoCodec::H264 : VideoCodec::VP8);
    for (VideoCodec codec : order) {
        bool usable = LocalMedia::canDecode(codec) && (!media_.hasVideo() || LocalMedia::canEncode(codec));
        if (usable || codec == VideoCodec::VP8)
            gst_caps_append(videoPrefs.get(), offerCaps(codec, codec == VideoCodec::VP8 ? kVp8Payload : kH264Payload));
    }
    // Both m-lines always, sendrecv when we have the source, else
    // receive-only (PROTOCOL.md, "Media": a peer without camera still offers).
    if (media_.hasAudio()) {
        if (!requestSendPad(audio_, "audio", audioMline_, audioPrefs.get(), error) || !attachAudio(kOpusPayload, error))
            return false;
    } else {
        GstWebRTCRTPTransceiver* trans = nullptr;
        g_signal_emit_by_name(webrtc_.get(), "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
            audioPrefs.get(), &trans);
        GRef<GstWebRTCRTPTransceiver> owned = adopt(trans);
    }
    if (media_.hasVideo()) {
        // The encoder is attached once the answer says which codec.
        if (!requestSendPad(video_, "video", videoMline_, videoPrefs.get(), error))
            return false;
    } else {
        GstWebRTCRTPTransceiver* trans = nullptr;
        g_signal_emit_by_name(webrtc_.get(), "add-transceiver", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY,
            videoPrefs.get(), &trans);
        if (trans) {
            g_object_set(trans, "do-nack", TRUE, nullptr);
            gst_object_unref(trans);
        }
    }
    createChannel();
    createOffer();
    return true;
}

void PeerConnection::createChannel()
{
    GUnique<GstStructure> options(gst_structure_new("application/data-channel", "ordered", G_TYPE_BOOLEAN, TRUE, nullptr));
    GstWebRTCDataChannel* channel = nullptr;
    g_signal_emit_by_name(webrtc_.get(), "create-data-channel", "chat", options.get(), &channel);
    if (!channel) {
        GST_WARNING("peer %s: webrtcbin made no data channel; chat is off for this peer", peerId_.c_str());
        return;
    }
    adoptChannel(channel);
    gst_object_unref(channel);
}

void PeerConnection::createOffer()
{
    awaitingAnswer_ = true;
    // An offer that is never answered (a peer stuck in glare, a peer that
    // failed to apply it) would block this pair for good: give up after 10 s,
    // and the Call tries a fresh connection.
    answerTimeout_ = adopt(g_timeout_source_new_seconds(10));
    auto* weak = new std::weak_ptr<PeerConnection>(weak_from_this());
    g_source_set_callback(
        answerTimeout_.get(),
        [](gpointer data) -> gboolean {
            if (auto self = static_cast<std::weak_ptr<PeerConnection>*>(data)->lock())
                self->onAnswerTimeout();
            return G_SOURCE_REMOVE;
        },
        weak, [](gpointer data) { delete static_cast<std::weak_ptr<PeerConnection>*>(data); });
    g_source_attach(answerTimeout_.get(), context_.get());
    g_signal_emit_by_name(webrtc_.get(), "create-offer", nullptr,
        promise([](PeerConnection& pc, GRef<GstPromise> p) { pc.onOfferCreated(std::move(p)); }).get());
}

void PeerConnection::onAnswerTimeout()
{
    answerTimeout_ = nullptr;
    if (awaitingAnswer_)
        fail("no answer to our offer within 10 s");
}

bool PeerConnection::owns(GstObject* object) const
{
    auto inside = [object](GstElement* e) {
        return e && (object == GST_OBJECT(e) || gst_object_has_as_ancestor(object, GST_OBJECT(e)));
    };
    if (inside(webrtc_.get()))
        return true;
    for (const SendBranch* b : { &audio_, &video_ })
        for (GstElement* e : { b->queue.get(), b->payloader.get(), b->capsfilter.get() })
            if (inside(e))
                return true;
    std::lock_guard lock(decodeMutex_);
    for (const auto& e : decodeElements_)
        if (inside(e.get()))
            return true;
    return false;
}

void PeerConnection::onOfferCreated(GRef<GstPromise> p)
{
    const GstStructure* reply = gst_promise_get_reply(p.get());
    GstWebRTCSessionDescription* offer = nullptr;
    if (!reply || !gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr)) {
        GUnique<GError> err;
        if (reply)
            gst_structure_get(reply, "error", G_TYPE_ERROR, err.outPtr(), nullptr);
        fail(std::string("could not create an offer: ") + errorMessage(err));
        return;
    }
    GUnique<GstWebRTCSessionDescription> owned(offer);
    setLocal(owned.get(), "offer");
}

void PeerConnection::onAnswerCreated(GRef<GstPromise> p)
{
    const GstStructure* reply = gst_promise_get_reply(p.get());
    GstWebRTCSessionDescription* answer = nullptr;
    if (!reply || !gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer, nullptr)) {
        GUnique<GError> err;
        if (reply)
            gst_structure_get(reply, "error", G_TYPE_ERROR, err.outPtr(), nullptr);
        fail(std::string("could not create an answer: ") + errorMessage(err));
        return;
    }
    GUnique<GstWebRTCSessionDescription> owned(answer);
    setLocal(owned.get(), "answer");
}

void PeerConnection::setLocal(GstWebRTCSessionDescription* description, const char* type)
{
    // Candidates carry the real a=mid of their m-line (webrtcbin's are
    // "video0", "audio1"...): browsers reject candidates with a wrong mid.
    localMids_ = midsOf(description->sdp);
    fixH264Fmtp(description->sdp);
    g_signal_emit_by_name(webrtc_.get(), "set-local-description", description,
        promise([type = std::string(type)](PeerConnection& pc, GRef<GstPromise> p) {
            const GstStructure* reply = gst_promise_get_reply(p.get());
            GUnique<GError> err;
            if (reply && gst_structure_get(reply, "error", G_TYPE_ERROR, err.outPtr(), nullptr))
                pc.fail("could not set the local " + type + ": " + errorMessage(err));
        }).get());
    GUnique<char> text(gst_sdp_message_as_text(description->sdp));
    GST_DEBUG("peer %s: local %s:\n%s", peerId_.c_str(), type, text.get());
    if (std::strcmp(type, "offer") == 0)
        delegate_.sendSignal(peerId_, protocol::SendOffer { text.get(), peerId_ });
    else
        delegate_.sendSignal(peerId_, protocol::SendAnswer { text.get(), peerId_ });
}

void PeerConnection::setRemote(GstWebRTCSDPType type, GUnique<GstSDPMessage> sdp, std::function<void(PeerConnection&)> then)
{
    GstWebRTCSessionDescription* description = gst_webrtc_session_description_new(type, sdp.release());
    GUnique<GstWebRTCSessionDescription> guard(description);
    g_signal_emit_by_name(webrtc_.get(), "set-remote-description", description,
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

void PeerConnection::handleOffer(const std::string& sdp)
{
    role_ = Role::Answerer;
    GST_DEBUG("peer %s: remote offer:\n%s", peerId_.c_str(), sdp.c_str());
    GUnique<GstSDPMessage> offer = parseSdp(sdp);
    if (!offer) {
        fail("the peer's offer does not parse");
        return;
    }
    MediaChoice audio = chooseFormat(offer.get(), "audio");
    MediaChoice video = chooseFormat(offer.get(), "video");
    std::string error;
    if (audio.index >= 0 && audio.payload >= 0 && media_.hasAudio() && audio.remoteReceives) {
        audioMline_ = audio.index;
        if (!requestSendPad(audio_, "audio", audio.index, audio.caps.get(), error) || !attachAudio(audio.payload, error)) {
            fail("audio: " + error);
            return;
        }
    }
    if (video.index >= 0 && video.payload < 0)
        GST_WARNING("peer %s: the offer has no video codec we can use (we take VP8 and constrained-baseline H.264)",
            peerId_.c_str());
    if (video.index >= 0 && video.payload >= 0 && media_.hasVideo() && video.remoteReceives) {
        videoMline_ = video.index;
        // Send with the offer's payload type: webrtcbin writes the offer's
        // numbers into its answer but sends whatever the payloader has
        // (WEBRTCBIN-1.22.md, "Interop").
        if (!requestSendPad(video_, "video", video.index, video.caps.get(), error)
            || !attachVideo(video.codec, video.payload, error)) {
            fail("video: " + error);
            return;
        }
    }
    setRemote(GST_WEBRTC_SDP_TYPE_OFFER, std::move(offer), [](PeerConnection& pc) {
        g_signal_emit_by_name(pc.webrtc_.get(), "create-answer", nullptr,
            pc.promise([](PeerConnection& pc2, GRef<GstPromise> p) { pc2.onAnswerCreated(std::move(p)); }).get());
    });
}

void PeerConnection::handleAnswer(const std::string& sdp)
{
    if (!awaitingAnswer_) {
        GST_WARNING("peer %s: ignoring an answer we did not ask for", peerId_.c_str());
        return;
    }
    awaitingAnswer_ = false;
    if (answerTimeout_) {
        g_source_destroy(answerTimeout_.get());
        answerTimeout_ = nullptr;
    }
    GST_DEBUG("peer %s: remote answer:\n%s", peerId_.c_str(), sdp.c_str());
    GUnique<GstSDPMessage> answer = parseSdp(sdp);
    if (!answer) {
        fail("the peer's answer does not parse");
        return;
    }
    MediaChoice video = chooseFormat(answer.get(), "video");
    setRemote(GST_WEBRTC_SDP_TYPE_ANSWER, std::move(answer), nullptr);
    // Pick the encoder from the answer, not from what we preferred:
    // webrtcbin once answered VP8 while sending H.264 (WEBRTCBIN-1.22.md).
    if (video_.capsfilter && video.index >= 0) {
        if (video.payload < 0 || !video.remoteReceives) {
            GST_WARNING("peer %s: the answer takes none of our video codecs; sending no video", peerId_.c_str());
        } else {
            std::string error;
            if (!attachVideo(video.codec, video.payload, error))
                fail("video: " + error);
        }
    }
}

void PeerConnection::handleCandidate(const protocol::RelayedCandidate& c)
{
    ++candidatesReceived_;
    GST_DEBUG("peer %s: remote candidate %" G_GINT64_FORMAT " %s", peerId_.c_str(), c.sdpMLineIndex,
        c.candidate.empty() ? "(end of candidates)" : c.candidate.c_str());
    if (c.sdpMLineIndex < 0 || c.sdpMLineIndex > 64)
        return;
    // A browser hides host addresses behind .local mDNS names; 1.22 would
    // hand them to getaddrinfo, leak, and drop them (WEBRTCBIN-1.22.md,
    // "ICE"). We leave them out and rely on peer-reflexive candidates.
    if (c.candidate.find(".local ") != std::string::npos) {
        GST_INFO("peer %s: skipping mDNS candidate", peerId_.c_str());
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
    GST_ERROR("peer %s: %s", peerId_.c_str(), reason.c_str());
    delegate_.peerFailed(*this, reason);
}

// ---- webrtcbin callbacks (its threads) ------------------------------------

void PeerConnection::onNegotiationNeeded(GstElement*)
{
    // Negotiation is driven by the protocol (the newcomer offers), not by
    // this signal: it fires for every pad and channel we add.
    GST_DEBUG("peer %s: on-negotiation-needed (ignored)", peerId_.c_str());
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
        GST_DEBUG("peer %s: local candidate %u %s", pc.peerId_.c_str(), mline, candidate.c_str());
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
            GST_INFO("peer %s: connection state %s", pc.peerId_.c_str(), connectionStateName(state));
            if (state == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED && !pc.connectedMs_) {
                pc.connectedMs_ = pc.sinceEpochMs();
                // Frames sent before DTLS was up were dropped, the first
                // keyframe with them: send one now instead of waiting for
                // the peer's PLI (one round trip plus its decoder noticing).
                pc.requestLocalKeyframe();
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
            GST_INFO("peer %s: ICE connection state %s", pc.peerId_.c_str(), iceConnectionStateName(state));
            pc.delegate_.peerChanged(pc);
        });
    } else {
        GstWebRTCICEGatheringState state;
        g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
        post([state](PeerConnection& pc) {
            pc.gatheringState_ = state;
            GST_INFO("peer %s: ICE gathering state %s", pc.peerId_.c_str(), iceGatheringStateName(state));
            // 1.22 never emits the end-of-candidates candidate: we send ""
            // ourselves (WEBRTCBIN-1.22.md, "Negotiation").
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

void PeerConnection::onPadAdded(GstElement*, GstPad* pad)
{
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    std::string error;
    if (!buildDecoder(pad, error)) {
        std::string padName = GST_PAD_NAME(pad);
        post([error, padName](PeerConnection& pc) {
            GST_WARNING("peer %s: cannot play stream %s: %s", pc.peerId_.c_str(), padName.c_str(), error.c_str());
        });
    }
}

// Streaming thread: build and link the decode branch at once, or webrtcbin
// pushes into an unlinked pad.
bool PeerConnection::buildDecoder(GstPad* pad, std::string& error)
{
    GRef<GstCaps> caps = adopt(gst_pad_get_current_caps(pad));
    if (!caps)
        caps = adopt(gst_pad_query_caps(pad, nullptr));
    if (!caps || gst_caps_is_empty(caps.get())) {
        error = "no caps";
        return false;
    }
    const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
    const char* media = gst_structure_get_string(s, "media");
    const char* encoding = gst_structure_get_string(s, "encoding-name");
    if (!media || !encoding) {
        error = "not an RTP stream";
        return false;
    }
    bool video = std::strcmp(media, "video") == 0;
    std::string description;
    std::string codec;
    if (video && g_ascii_strcasecmp(encoding, "VP8") == 0) {
        codec = "VP8";
        // One decoding thread: libvpx's threads spin (see the encoder).
        description = "rtpvp8depay request-keyframe=true wait-for-keyframe=false ! vp8dec threads=1 ! videoconvert";
    } else if (video && g_ascii_strcasecmp(encoding, "H264") == 0) {
        codec = "H264";
        GRef<GstElementFactory> av = adopt(gst_element_factory_find("avdec_h264"));
        description = std::string("rtph264depay request-keyframe=true wait-for-keyframe=false ! h264parse ! ")
            + (av ? "avdec_h264" : "openh264dec") + " ! videoconvert";
    } else if (!video && g_ascii_strcasecmp(encoding, "OPUS") == 0) {
        codec = "OPUS";
        // S16: what opusdec gives anyway, and what countAudio reads levels of.
        description = "rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! capsfilter caps=\"audio/x-raw,format=S16LE\"";
    } else {
        error = std::string("unsupported ") + media + " codec " + encoding;
        return false;
    }
    GUnique<GError> err;
    GstElement* bin = gst_parse_bin_from_description(description.c_str(), TRUE, err.outPtr());
    if (!bin) {
        error = std::string("cannot make the decoder: ") + errorMessage(err);
        return false;
    }
    GRef<GstElement> decoder = adopt(bin);
    GRef<GstPad> binSrc = adopt(gst_element_get_static_pad(bin, "src"));
    GRef<GstPad> binSink = adopt(gst_element_get_static_pad(bin, "sink"));
    // Everything added to the pipeline is listed at once, so that teardown
    // finds it even when a later step fails.
    gst_bin_add(pipeline_, decoder.get());
    {
        std::lock_guard lock(decodeMutex_);
        decodeElements_.push_back(decoder);
    }
    if (video) {
        GRef<GstElement> sink;
        {
            std::lock_guard lock(decodeMutex_);
            sink = std::exchange(pendingVideoSink_, nullptr);
        }
        if (!sink) {
            error = "a second video stream from this peer (only one is shown)";
            return false;
        }
        gst_bin_add(pipeline_, sink.get());
        {
            std::lock_guard lock(decodeMutex_);
            decodeElements_.push_back(sink);
            videoSink_ = sink;
            videoCodecIn_ = codec;
        }
        gst_pad_add_probe(binSrc.get(), GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
            &PeerConnection::countVideo, this, nullptr);
        if (!gst_element_link(decoder.get(), sink.get())) {
            error = "cannot link the decoder to the video sink";
            return false;
        }
        gst_element_sync_state_with_parent(sink.get());
    } else {
        GRef<GstPad> output = delegate_.audioOutput(peerId_);
        if (!output) {
            error = "no audio output";
            return false;
        }
        {
            std::lock_guard lock(decodeMutex_);
            audioOutput_ = output;
        }
        gst_pad_add_probe(binSrc.get(), GST_PAD_PROBE_TYPE_BUFFER, &PeerConnection::countAudio, this, nullptr);
        if (gst_pad_link(binSrc.get(), output.get()) != GST_PAD_LINK_OK) {
            error = "cannot link the decoder to the audio output";
            return false;
        }
    }
    gst_element_sync_state_with_parent(decoder.get());
    if (gst_pad_link(pad, binSink.get()) != GST_PAD_LINK_OK) {
        error = "cannot link webrtcbin to the decoder";
        return false;
    }
    post([codec, video](PeerConnection& pc) {
        GST_INFO("peer %s: receiving %s (%s)", pc.peerId_.c_str(), video ? "video" : "audio", codec.c_str());
        pc.delegate_.peerChanged(pc);
    });
    return true;
}

GstPadProbeReturn PeerConnection::countVideo(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* self = static_cast<PeerConnection*>(data);
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
        GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
        if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
            GstCaps* caps = nullptr;
            gst_event_parse_caps(event, &caps);
            const GstStructure* s = gst_caps_get_structure(caps, 0);
            std::lock_guard lock(self->decodeMutex_);
            gst_structure_get_int(s, "width", &self->width_);
            gst_structure_get_int(s, "height", &self->height_);
            self->haveDecodedInfo_ = gst_video_info_from_caps(&self->decodedInfo_, caps);
        }
        return GST_PAD_PROBE_OK;
    }
    if (self->options_.measureLatency)
        self->readStampOf(GST_PAD_PROBE_INFO_BUFFER(info));
    if (self->videoFrames_.fetch_add(1) == 0 && !self->firstFramePosted_.exchange(true)) {
        double ms = self->sinceEpochMs();
        self->post([ms](PeerConnection& pc) {
            pc.firstFrameMs_ = ms;
            GST_INFO("peer %s: first video frame decoded at %.1f ms", pc.peerId_.c_str(), ms);
            pc.delegate_.peerChanged(pc);
        });
    }
    return GST_PAD_PROBE_OK;
}

// Streaming thread.
void PeerConnection::readStampOf(GstBuffer* buffer)
{
    GstVideoInfo info;
    {
        std::lock_guard lock(decodeMutex_);
        if (!haveDecodedInfo_)
            return;
        info = decodedInfo_;
    }
    GstVideoFrame frame;
    if (!gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ))
        return;
    auto stamp = readStamp(&frame);
    gst_video_frame_unmap(&frame);
    if (!stamp)
        return;
    uint32_t latency = (stampNowMs() - *stamp) & kStampMask;
    // Anything over 10 s is a misread, not a latency.
    if (latency > 10000)
        return;
    std::lock_guard lock(decodeMutex_);
    latencyMs_.push_back(double(latency));
}

GstPadProbeReturn PeerConnection::countAudio(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* self = static_cast<PeerConnection*>(data);
    self->audioBuffers_.fetch_add(1, std::memory_order_relaxed);
    GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
    GstMapInfo map;
    if (!buffer || !gst_buffer_map(buffer, &map, GST_MAP_READ))
        return GST_PAD_PROBE_OK;
    int peak = self->windowPeak_;
    const auto* samples = reinterpret_cast<const int16_t*>(map.data);
    for (size_t i = 0, n = map.size / 2; i < n; ++i)
        peak = std::max(peak, std::abs(int(samples[i])));
    gst_buffer_unmap(buffer, &map);
    self->windowPeak_ = peak;
    self->windowTime_ += GST_BUFFER_DURATION_IS_VALID(buffer) ? GST_BUFFER_DURATION(buffer) : 20 * GST_MSECOND;
    if (self->windowTime_ >= 500 * GST_MSECOND) {
        self->audioPeak_.store(peak, std::memory_order_relaxed);
        self->windowPeak_ = 0;
        self->windowTime_ = 0;
    }
    return GST_PAD_PROBE_OK;
}

PeerConnection::Media PeerConnection::media() const
{
    Media m;
    m.videoFrames = videoFrames_.load();
    m.audioBuffers = audioBuffers_.load();
    if (int peak = audioPeak_.load(); peak >= 0)
        m.audioLevelDb = peak == 0 ? -96.0 : std::max(-96.0, 20.0 * std::log10(peak / 32768.0));
    std::lock_guard lock(decodeMutex_);
    m.width = width_;
    m.height = height_;
    m.videoCodec = videoCodecIn_;
    m.latencyMs = latencyMs_;
    return m;
}

GRef<GstElement> PeerConnection::videoSink() const
{
    std::lock_guard lock(decodeMutex_);
    return videoSink_;
}

// ---- data channel -----------------------------------------------------------

// webrtcbin's thread. The channel's signals are connected here, at once:
// a message can arrive right after on-data-channel, before the main context
// would get round to it.
void PeerConnection::onDataChannel(GstElement*, GObject* object)
{
    auto* channel = GST_WEBRTC_DATA_CHANNEL(object);
    GUnique<char> label;
    g_object_get(channel, "label", label.outPtr(), nullptr);
    if (g_strcmp0(label.get(), "chat") != 0) {
        GST_INFO("peer %s: ignoring data channel \"%s\"", peerId_.c_str(), label.get());
        return;
    }
    adoptChannel(channel);
    GstWebRTCDataChannelState state;
    g_object_get(channel, "ready-state", &state, nullptr);
    if (state == GST_WEBRTC_DATA_CHANNEL_STATE_OPEN)
        onChannelOpen(object);
}

// Any thread; channelMutex_ guards channel_ and channelSignals_.
void PeerConnection::adoptChannel(GstWebRTCDataChannel* channel)
{
    std::vector<SignalConnection> signals;
    signals.push_back(connectSignal(channel, "on-open", this, &PeerConnection::onChannelOpen));
    signals.push_back(connectSignal(channel, "on-close", this, &PeerConnection::onChannelClose));
    signals.push_back(connectSignal(channel, "on-error", this, &PeerConnection::onChannelError));
    signals.push_back(connectSignal(channel, "on-message-string", this, &PeerConnection::onChannelMessage));
    std::lock_guard lock(channelMutex_);
    channelSignals_ = std::move(signals);
    channel_ = GRef<GstWebRTCDataChannel>(channel);
}

void PeerConnection::onChannelOpen(GObject*)
{
    post([](PeerConnection& pc) {
        if (pc.chatOpen_)
            return;
        pc.chatOpen_ = true;
        GST_INFO("peer %s: chat channel open", pc.peerId_.c_str());
        pc.delegate_.chatOpened(pc);
    });
}

void PeerConnection::onChannelClose(GObject*)
{
    post([](PeerConnection& pc) {
        pc.chatOpen_ = false;
        GST_INFO("peer %s: chat channel closed", pc.peerId_.c_str());
        pc.delegate_.peerChanged(pc);
    });
}

void PeerConnection::onChannelError(GObject*, GError* error)
{
    std::string message = error ? error->message : "unknown error";
    post([message](PeerConnection& pc) { GST_WARNING("peer %s: chat channel error: %s", pc.peerId_.c_str(), message.c_str()); });
}

void PeerConnection::onChannelMessage(GObject*, gchar* text)
{
    post([text = std::string(text ? text : "")](PeerConnection& pc) {
        if (protocol::dataMessageType(text) == std::optional<std::string>("bye")) {
            GST_INFO("peer %s: said bye", pc.peerId_.c_str());
            pc.delegate_.peerSaidBye(pc);
            return;
        }
        auto chat = protocol::parseChatMessage(text);
        if (!chat) {
            GST_DEBUG("peer %s: ignoring data-channel message %.80s", pc.peerId_.c_str(), text.c_str());
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
        GST_DEBUG("peer %s: bye not sent: %s", peerId_.c_str(), errorMessage(err));
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
    // 1.22.2): only send once on-open was seen.
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
        int64_t frames = pc.videoFrames_.load();
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
