// One call: the room we are in, the signaling connection that keeps us in
// it, the local media and one PeerConnection per other peer of the room
// (PROTOCOL.md's mesh: the newcomer offers, the others answer).
//
// Owns the GStreamer pipeline. Everything here runs on the GLib main
// context that was current when the Call was made; the front end (headless
// or GTK) hears about it through a CallObserver on that same context.
#pragma once

#include "call_options.h"
#include "gst_ref.h"
#include "local_media.h"
#include "peer_connection.h"
#include "signaling_client.h"

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace palaver::engine {

// A peer as the front end sees it; kept after the peer left, for summaries.
struct PeerSummary {
    std::string id;
    bool present = true;
    std::string connectionState = "new";
    std::string iceState = "new";
    std::optional<double> connectedMs, firstFrameMs;
    PeerConnection::Media media;
    PeerStats stats;
    std::vector<std::string> chat; // received
    bool chatOpen = false;
    // What replaced connections to this peer counted (a restart or a
    // rejoin starts a new webrtcbin); the numbers above include it.
    int64_t earlierFrames = 0, earlierAudio = 0;
    size_t earlierChat = 0;
    size_t earlierLatency = 0;
};

class CallObserver {
public:
    virtual ~CallObserver() = default;
    virtual void joined(const std::string& room, const std::string& peer) { }
    virtual void signalingChanged(bool connected, const std::string& detail) { }
    virtual void peerAdded(const std::string& peer) { }
    virtual void peerRemoved(const std::string& peer, const std::string& reason) { }
    virtual void peerUpdated(const PeerSummary& peer) { }
    virtual void chatOpened(const std::string& peer) { }
    virtual void chatReceived(const std::string& peer, const std::string& text) { }
    // Something the call cannot go on from. `code` is a protocol error code
    // ("room-full", "unauthorized", ...) or one of ours: "server-unreachable",
    // "media-error", "bad-pipeline".
    virtual void fatal(const std::string& code, const std::string& message) { }
    // A sink for a remote peer's video, or nullptr for the default. Called
    // on the Call's main context when the peer's connection is made (a GTK
    // sink must be made there), before its video arrives.
    virtual GstElement* makeVideoSink(const std::string& peer) { return nullptr; }
};

class Call : private PeerConnection::Delegate {
public:
    Call(CallOptions options, CallObserver& observer);
    ~Call() override;
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    // Builds the local media and connects. A bad pipeline description fails
    // here with a sentence in `error`.
    bool start(std::string& error);
    // Leaves the room, closes the connection and tears every peer down.
    void hangUp();

    // Sends on every open chat channel, or to one peer. Returns how many
    // peers it went to.
    int sendChat(const std::string& text, const std::string& to = {});

    // Replaces the connection to every peer (or one) with a fresh
    // webrtcbin and offer: what an ICE restart would do, which webrtcbin
    // 1.22 cannot. Also how a failed connection to a peer still in the
    // room is retried.
    void restartPeers();
    void restartPeer(const std::string& id);

    const CallOptions& options() const { return options_; }
    LocalMedia& media() { return *media_; }
    GstElement* pipeline() const { return GST_ELEMENT(pipeline_.get()); }
    const std::string& room() const { return options_.room; }
    const std::string& peerId() const { return peerId_; }
    bool isJoined() const { return joined_; }
    std::optional<double> joinedMs() const { return joinedMs_; }
    // Every peer met in this call, present or gone.
    std::vector<PeerSummary> peers() const;
    std::optional<PeerSummary> peer(const std::string& id) const;

private:
    // PeerConnection::Delegate
    void sendSignal(const std::string& peer, protocol::ClientMessage message) override;
    void peerChanged(PeerConnection& peer) override;
    void peerFailed(PeerConnection& peer, const std::string& reason) override;
    void chatOpened(PeerConnection& peer) override;
    void chatReceived(PeerConnection& peer, const std::string& text) override;
    void peerSaidBye(PeerConnection& peer) override;
    void onPeerLeft(const std::string& id);
    GstElement* makeVideoSink(const std::string& peer) override;
    GRef<GstPad> audioOutput(const std::string& peer) override;
    void releaseAudioOutput(GstPad* pad) override;
    bool buildAudioOutput(std::string& error);

    void onConnected();
    void onMessage(const protocol::ServerMessage& message);
    void onDisconnected(const std::string& reason, bool willRetry);
    void onJoined(const protocol::Joined& joined);
    void onOffer(const protocol::RelayedOffer& offer);
    void onError(const protocol::Error& error);
    void scheduleRejoin();
    std::shared_ptr<PeerConnection> addPeer(const std::string& id, PeerConnection::Role role);
    void removePeer(const std::string& id, const std::string& reason);
    void snapshot(const PeerConnection& peer);
    static PeerSummary merged(const PeerSummary& base, const PeerConnection& peer);
    void fatal(const std::string& code, const std::string& message);
    static gboolean onBusMessage(GstBus* bus, GstMessage* message, gpointer data);
    void busMessage(GstMessage* message);
    static gboolean onStatsTimer(gpointer data);

    CallOptions options_;
    CallObserver& observer_;
    GRef<GMainContext> context_;
    GRef<GstPipeline> pipeline_;
    std::unique_ptr<LocalMedia> media_;
    // Real output: every peer's audio mixed into one device, through the echo
    // canceller's probe (webrtcdsp needs the far end it cancels). Made at
    // start, before the microphone's webrtcdsp looks for the probe.
    GRef<GstElement> audioMixer_;
    std::shared_ptr<SignalingClient> signaling_;
    std::map<std::string, std::shared_ptr<PeerConnection>> peers_;
    std::map<std::string, PeerSummary> summaries_;
    std::set<std::string> roomPeers_; // who the server says is in the room
    // Reconnects after failures per peer: (count, window start); at most
    // kMaxRestarts a minute.
    static constexpr int kMaxRestarts = 3;
    std::map<std::string, std::pair<int, gint64>> restarts_;
    std::vector<protocol::IceServer> iceServers_;
    std::string peerId_;
    bool joined_ = false;     // in the room now
    bool everJoined_ = false; // once: from then on a lost server is retried
    bool hungUp_ = false;
    bool fatal_ = false;
    gint64 epochUs_ = 0; // when the first join was sent
    std::optional<double> joinedMs_;
    GThread* warmUp_ = nullptr; // joined in the destructor
    // Attached to context_ (not the global default), destroyed in ~Call.
    GRef<GSource> busWatch_;
    GRef<GSource> statsTimer_;
    GRef<GSource> rejoinTimer_;
    GRef<GSource> teardownTimer_; // after hangUp: lets the byes go out
    // Peers the server says left while our media with them still flows:
    // kept for kLeftGraceS in case only their server connection broke (they
    // rejoin with the same id). id -> grace timer.
    static constexpr unsigned kLeftGraceS = 15;
    std::map<std::string, GRef<GSource>> leftGrace_;
    std::set<std::string> saidBye_;
    // Closures posted to the main context check this before touching us.
    std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
};

} // namespace palaver::engine
