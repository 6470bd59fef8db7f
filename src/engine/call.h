// One call: the room we are in, the signaling connection that keeps us in
// it, the local media and one PeerConnection per other peer of the room
// (docs/protocol.md's mesh: the newcomer offers, the others answer).
//
// Owns the GStreamer pipeline and every PeerConnection, also those being
// torn down. Everything here runs on the GLib main context that was current
// when the Call was made; the front end (headless or GTK) hears about it
// through a CallObserver on that same context. Nothing here blocks that
// context: device probes and the DTLS key run on worker threads.
#pragma once

#include "call_options.h"
#include "gst_ref.h"
#include "local_media.h"
#include "peer_connection.h"
#include "post.h"
#include "signaling_client.h"
#include "source.h"

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
    // When the first connection's first offer was sent or received: the
    // setup time is firstFrameMs - offerMs (the times above count from our
    // join, which for the peer that waits includes the other's arrival).
    std::optional<double> offerMs;
    // Peer connections (webrtcbins) made for this peer, and negotiations
    // completed on one after its first (answered on the live connection).
    int connections = 0;
    int renegotiations = 0;
    PeerConnection::Media media;
    PeerStats stats;
    std::vector<std::string> chat; // received
    bool chatOpen = false;
    // What replaced connections to this peer counted (a restart or a
    // rejoin starts a new webrtcbin); the numbers above include it.
    int64_t earlierFrames = 0, earlierAudio = 0;
    int earlierRenegotiations = 0;
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
    // The local media is built and playing (Call::media() tells what was
    // picked); the join follows. Comes after start() returned.
    virtual void mediaStarted() { }
    // Something the call cannot go on from. `code` is a protocol error code
    // ("room-full", "unauthorized", ...) or one of ours: "server-unreachable",
    // "media-error", "bad-pipeline", "missing-element". The front end then
    // hangs up.
    virtual void fatal(const std::string& code, const std::string& message) { }
    // After hangUp(): the byes and the leave are out, every peer connection
    // and the pipeline are stopped (camera and microphone are free). The
    // last event of a Call; the observer may destroy the Call from here.
    virtual void tornDown() { }
    // A sink for a remote peer's video. Called on the Call's main context
    // when the peer's connection is made (a GTK sink must be made there),
    // before its video arrives. nullptr with an empty `error`: the engine's
    // default (headless); nullptr with an `error`: the peer's video is
    // decoded but not shown (the front end says why), never a window of
    // its own.
    virtual GRef<GstElement> makeVideoSink(const std::string& peer, std::string& error) { return nullptr; }
};

class Call : private PeerConnection::Delegate {
public:
    Call(CallOptions options, CallObserver& observer);
    ~Call() override;
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;

    // Starts the call: checks the sources given and the elements a call
    // needs, probes for the devices left to us (on a worker thread), builds
    // the local media and connects. A bad pipeline description or a missing
    // element fails here with a sentence in `error` (startFailure() says
    // which: "bad-pipeline" or "missing-element"); what fails later (a
    // device) comes as fatal().
    bool start(std::string& error);
    const std::string& startFailure() const { return startFailure_; }
    // Says bye to every peer, leaves the room and closes the connection,
    // then tears every peer down and stops the pipeline: tornDown() tells
    // when. Never blocks; waits only for that work (bounded by
    // kTeardownLimit when a peer or the server does not answer).
    void hangUp();
    bool tornDownDone() const { return tornDown_; }

    // Shows our own video in `sink` (the window's preview); false with an
    // empty error when there is no local video. The pipeline stays ours.
    bool addPreview(GRef<GstElement> sink, std::string& error);

    // Sends on every open chat channel, or to one peer. Returns how many
    // peers it went to.
    int sendChat(const std::string& text, const std::string& to = {});

    // Replaces the connection to every peer (or one) with a fresh
    // webrtcbin and offer: what an ICE restart would do, which webrtcbin
    // 1.22 cannot. Also how a failed connection to a peer still in the
    // room is retried.
    void restartPeers();
    void restartPeer(const std::string& id);
    // Offers again to every peer on its live connection (same webrtcbin,
    // ICE and DTLS); a peer whose negotiation is under way is skipped.
    void renegotiatePeers();

    const CallOptions& options() const { return options_; }
    LocalMedia& media() { return *media_; }
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
    void retryOrRemove(const std::string& id, const std::weak_ptr<PeerConnection>& failed);
    void chatOpened(PeerConnection& peer) override;
    void chatReceived(PeerConnection& peer, const std::string& text) override;
    void peerSaidBye(PeerConnection& peer) override;
    void onPeerLeft(const std::string& id);
    GRef<GstElement> makeVideoSink(const std::string& peer) override;
    GRef<GstPad> audioOutput(const std::string& peer) override;
    void releaseAudioOutput(GstPad* pad) override;
    bool buildAudioOutput(std::string& error);
    void startMedia(const Devices& devices);
    void mediaPlaying(bool ok);
    void checkTeardown();
    void finishTeardown();
    void reapDying();

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
    void pollStats();

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
    // Connections replaced or ended, destroyed on the next turn of the loop
    // (never inside one of their own callbacks) or in ~Call, whichever
    // comes first: a PeerConnection never outlives the Call whose pipeline,
    // media and delegate it borrows.
    std::vector<std::shared_ptr<PeerConnection>> dying_;
    Source reaper_;
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
    bool tornDown_ = false;
    bool fatal_ = false;
    std::string startFailure_;
    gint64 epochUs_ = 0; // when the first join was sent
    std::optional<double> joinedMs_;
    Source busWatch_;
    Source statsTimer_;
    Source rejoinTimer_;
    // Peers the server says left while our media with them still flows:
    // kept for kLeftGraceS in case only their server connection broke (they
    // rejoin with the same id). id -> grace timer.
    static constexpr unsigned kLeftGraceS = 15;
    std::map<std::string, Source> leftGrace_;
    std::set<std::string> saidBye_;
    // Hanging up: what is still under way (byes on the chat channels, the
    // WebSocket's close handshake), checked as it finishes; a peer or a
    // server that never answers is given up after kTeardownLimit.
    static constexpr std::chrono::milliseconds kTeardownLimit { 1000 };
    // How long the byes are given to leave once SCTP has them: "flushed"
    // (buffered-amount 0) means handed to SCTP, not sent, and the DTLS and
    // ICE elements behind it stop with the pipeline. Without it a bye was
    // seen lost (a clean-clone CI run, three-peers): the peer then kept our
    // connection for its 15 s grace. webrtcbin 1.22 says nothing when a
    // packet has really gone out.
    static constexpr std::chrono::milliseconds kByeLinger { 100 };
    bool signalingClosed_ = false;
    gint64 teardownStartUs_ = 0;
    Source teardownCheck_;
    Source teardownLimit_;
    Source byeLinger_;
    // Work posted to later turns of the loop (and the device probe's
    // result) finds the Call through this; declared last, so it expires
    // first.
    WeakAnchor<Call> anchor_ { this };
};

} // namespace palaver::engine
