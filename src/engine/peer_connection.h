// One webrtcbin for one remote peer of the room (the mesh: N-1 of these per
// Call), composed of a SendBranch per stream we send (from LocalMedia's
// tees), a ReceiveBranch (the decode branches of what the peer sends), the
// `chat` data channel, the negotiation (SDP choices in sdp.h) and its
// statistics.
//
// State lives on the Call's main context. webrtcbin calls back from its own
// thread (ICE, promises, data channel) and from streaming threads (pads):
// those handlers copy what they need and post to the main context through a
// weak_ptr, so a torn-down peer never sees a late callback.
#pragma once

#include "call_options.h"
#include "local_media.h"
#include "messages.h"
#include "peer_stats.h"
#include "receive_branch.h"
#include "sdp.h"
#include "send_branch.h"
#include "signal_connection.h"
#include "source.h"
#include "webrtc_ref.h"

#include <gst/video/video.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace palaver::engine {

class PeerConnection : public std::enable_shared_from_this<PeerConnection> {
public:
    // Implemented by the Call. Called on the main context, except
    // audioOutput, which runs on a streaming thread.
    class Delegate {
    public:
        virtual ~Delegate() = default;
        virtual void sendSignal(const std::string& peer, protocol::ClientMessage message) = 0;
        virtual void peerChanged(PeerConnection& peer) = 0;
        virtual void peerFailed(PeerConnection& peer, const std::string& reason) = 0;
        virtual void chatOpened(PeerConnection& peer) = 0;
        virtual void chatReceived(PeerConnection& peer, const std::string& text) = 0;
        virtual void peerSaidBye(PeerConnection& peer) = 0;
        virtual GRef<GstElement> makeVideoSink(const std::string& peer) = 0;
        // A sink pad in the pipeline for this peer's decoded audio (a mixer
        // input or a sink of its own), given back with releaseAudioOutput.
        virtual GRef<GstPad> audioOutput(const std::string& peer) = 0;
        virtual void releaseAudioOutput(GstPad* pad) = 0;
    };

    enum class Role { Offerer, Answerer };

    using Media = ReceiveBranch::Snapshot;

    // A new connection, or nullptr with the reason in `error` (a missing
    // element names its package).
    static std::shared_ptr<PeerConnection> create(Delegate& delegate, GstBin* pipeline, LocalMedia& media,
        std::string peerId, Role role, const CallOptions& options, const std::vector<protocol::IceServer>& iceServers,
        gint64 epochUs, std::string& error);
    ~PeerConnection();

    const std::string& peerId() const { return peerId_; }
    Role role() const { return role_; }

    // Offerer: send branches, the `chat` channel, then the offer.
    bool startOffer(std::string& error);
    void handleOffer(const std::string& sdp);
    void handleAnswer(const std::string& sdp);
    // A new offer from the peer on this connection. True when it can be
    // answered on this webrtcbin, keeping ICE and DTLS (handleReoffer);
    // false with the reason when only a fresh connection can take it
    // (docs/webrtcbin-notes.md, "Renegotiation"). One that comes while our
    // answer is still being set is held and answered once it is. Our
    // answers keep the DTLS role the first negotiation settled.
    bool canRenegotiate(const std::string& sdp, std::string& why) const;
    void handleReoffer(const std::string& sdp);
    // Offers again on this webrtcbin (same ICE and DTLS); false with the
    // reason when it cannot now (the first negotiation not done, one in
    // progress).
    bool renegotiate(std::string& why);
    // Negotiations completed on this webrtcbin after its first.
    int renegotiations() const { return renegotiations_; }
    void handleCandidate(const protocol::RelayedCandidate& candidate);

    // Sends on `chat` if it is open; false with a reason otherwise.
    bool sendChat(const std::string& text, std::string& error);
    bool chatOpen() const { return chatOpen_; }
    // Tells the peer on `chat` that we are leaving (protocol::kByeMessage).
    void sendBye();
    // Nothing of ours is queued on `chat` any more: every byte went on to
    // SCTP (true without an open channel). How hanging up knows the bye left.
    bool chatFlushed() const;
    // Runs `done` once on the main context (a later turn, never inside this
    // call) when chatFlushed() holds; the channel's buffered-amount
    // notifications say when. Replaces an earlier `done`; dropped with us.
    void whenChatFlushed(std::function<void()> done);
    // True if `object` is one of our elements or inside one (bus messages).
    bool owns(GstObject* object) const;

    // Asks webrtcbin for statistics; peerChanged() follows with stats().
    void pollStats();

    // An offer of ours is out, unanswered (glare detection).
    bool hasLocalOffer() const { return awaitingAnswer_; }

    GstWebRTCPeerConnectionState connectionState() const { return connectionState_; }
    GstWebRTCICEConnectionState iceConnectionState() const { return iceState_; }
    GstWebRTCICEGatheringState iceGatheringState() const { return gatheringState_; }
    bool connected() const { return connectionState_ == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED; }
    std::optional<double> connectedMs() const { return connectedMs_; }
    // When this connection's first offer was sent or received.
    std::optional<double> offerMs() const { return offerMs_; }
    std::optional<double> firstFrameMs() const { return firstFrameMs_; }
    Media media() const;
    const PeerStats& stats() const { return stats_; }
    const std::vector<std::string>& chatLog() const { return chatLog_; }
    unsigned candidatesSent() const { return candidatesSent_; }
    unsigned candidatesReceived() const { return candidatesReceived_; }
    // The video sink that shows this peer (set when its stream starts).
    GRef<GstElement> videoSink() const;

private:
    PeerConnection(Delegate& delegate, GstBin* pipeline, LocalMedia& media, std::string peerId, Role role,
        const CallOptions& options, gint64 epochUs);
    bool setUp(const std::vector<protocol::IceServer>& iceServers, std::string& error);
    double sinceEpochMs() const;
    GstObject* logObject() const { return GST_OBJECT(webrtc_.get()); }
    sdp::Capabilities capabilities() const;

    // Send side: the branches, and the data channel.
    bool attachAudio(int payloadType, std::string& error);
    bool attachVideo(VideoCodec codec, int payloadType, std::string& error);
    void createChannel();
    void adoptChannel(GstWebRTCDataChannel* channel);

    // Negotiation, on the main context.
    void createOffer();
    void onDescriptionCreated(GstWebRTCSDPType type, GRef<GstPromise> promise);
    void setLocal(GstWebRTCSessionDescription* description);
    void setRemote(GstWebRTCSDPType type, GUnique<GstSDPMessage> sdp, std::function<void(PeerConnection&)> then);
    void addRemoteCandidate(unsigned mline, const std::string& candidate);
    void fail(const std::string& reason);
    template<typename Fn>
    void post(Fn fn);
    template<typename Fn>
    GRef<GstPromise> promise(Fn fn);
    void onAnswerTimeout();
    void createAnswer();
    void allowDirectionChanges(const GstSDPMessage* answer, bool remote);
    void keepDtlsRole(GstSDPMessage* description);
    void localAnswerSet();
    void negotiationDone();

    // webrtcbin and streaming-thread handlers.
    void onIceCandidate(GstElement* webrtc, guint mline, gchar* candidate);
    void onStateNotify(GstElement* webrtc, GParamSpec* pspec);
    void onPadAdded(GstElement* webrtc, GstPad* pad);
    void onDataChannel(GstElement* webrtc, GObject* channel);
    void onNegotiationNeeded(GstElement* webrtc);
    void onChannelOpen(GObject* channel);
    void onChannelClose(GObject* channel);
    void onChannelError(GObject* channel, GError* error);
    void onChannelMessage(GObject* channel, gchar* text);
    void onChannelBuffered(GObject* channel, GParamSpec* pspec);

    Delegate& delegate_;
    GstBin* pipeline_; // borrowed from the Call, which outlives us
    LocalMedia& media_;
    std::string peerId_;
    std::string elementSuffix_; // our elements: "webrtc-<suffix>", "video-rtp-caps-<suffix>"
    Role role_;
    CallOptions options_;
    gint64 epochUs_; // the Call's join time (g_get_monotonic_time)
    GRef<GMainContext> context_;

    // Main context only, except the branches' own locked parts. The
    // destructor takes them down in order (see there).
    GRef<GstElement> webrtc_;
    std::vector<SignalConnection> webrtcSignals_;
    std::unique_ptr<SendBranch> audio_, video_;
    std::unique_ptr<ReceiveBranch> receive_; // its own lock: built on streaming threads
    int audioMline_ = -1, videoMline_ = -1;
    std::vector<std::string> localMids_; // a=mid per m-line of our description
    bool remoteSet_ = false;
    bool awaitingAnswer_ = false;
    // A first offer/answer completed (signaling state stable since), and
    // what its remote description said (re-offers are checked against it).
    bool negotiated_ = false;
    bool renegotiating_ = false; // a later one is under way
    // Our answer is out and webrtcbin has not finished setting it: a
    // re-offer arriving now is held here and answered after (handleReoffer).
    bool localAnswerPending_ = false;
    std::string heldReoffer_;
    // Our DTLS role since the first negotiation, "active" (DTLS client) or
    // "passive" ("" before): what our answers to re-offers keep
    // (keepDtlsRole).
    std::string dtlsRole_;
    int renegotiations_ = 0;
    sdp::Transport remoteTransport_;
    std::vector<std::string> remoteMlines_;
    GUnique<GstSDPMessage> remoteOffer_; // the last offer set (dropUnofferedExtmaps)
    Source answerTimeout_;
    std::vector<std::pair<unsigned, std::string>> pendingCandidates_;
    unsigned candidatesSent_ = 0, candidatesReceived_ = 0;
    bool endOfCandidatesSent_ = false;
    bool failed_ = false;

    // channelMutex_ guards channel_ and channelSignals_ (set from webrtcbin's
    // thread for a channel the peer opened). A leaf lock, never held while
    // calling into GStreamer or GLib's signal machinery: what it guards is
    // swapped out under it and dropped (disconnected, unreffed) outside.
    mutable std::mutex channelMutex_;
    GRef<GstWebRTCDataChannel> channel_;
    std::vector<SignalConnection> channelSignals_;
    std::function<void()> chatFlushed_; // whenChatFlushed's; main context
    std::atomic<bool> watchFlush_ { false }; // read by the SCTP thread
    bool chatOpen_ = false;
    std::vector<std::string> chatLog_;

    std::atomic<GstWebRTCPeerConnectionState> connectionState_ { GST_WEBRTC_PEER_CONNECTION_STATE_NEW };
    std::atomic<GstWebRTCICEConnectionState> iceState_ { GST_WEBRTC_ICE_CONNECTION_STATE_NEW };
    std::atomic<GstWebRTCICEGatheringState> gatheringState_ { GST_WEBRTC_ICE_GATHERING_STATE_NEW };
    std::optional<double> connectedMs_, firstFrameMs_, offerMs_;

    RawStats lastRaw_;
    gint64 lastRawUs_ = 0;
    int64_t lastFrames_ = 0;
    PeerStats stats_;
    bool statsPending_ = false;
};

// The nicks of webrtcbin's state enums ("connected", "checking",
// "complete"...), as the front ends and the summary show them.
const char* connectionStateName(GstWebRTCPeerConnectionState state);
const char* iceConnectionStateName(GstWebRTCICEConnectionState state);
const char* iceGatheringStateName(GstWebRTCICEGatheringState state);

} // namespace palaver::engine
