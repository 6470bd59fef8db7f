// One stream we send to one peer: a branch from a LocalMedia tee to one of
// webrtcbin's sink pads.
//
//   encoded tee ─ queue(leaky) ─ payloader(pt) ─ capsfilter(RTP caps) ─ webrtcbin.sink_N
//
// connect() comes first: sink_N and the capsfilter put the m-line into an
// offer before any encoder runs. attach() adds the queue and payloader once
// the codec and payload type are known (the answerer: from the offer; the
// offerer: from the answer), and links the tee last.
//
// Main context only (made, attached and destroyed there; the bus handler
// asks owns() there too): no lock. The destructor gives the tee pad back
// first, so the shared encoder stops pushing into us, then stops and
// removes our elements; the PeerConnection calls releaseTeePad() earlier
// itself, before it stops webrtcbin.
#pragma once

#include "call_options.h"
#include "gst_ref.h"

#include <string>

namespace palaver::engine {

class LocalMedia;

class SendBranch {
public:
    enum class Kind { Audio, Video };

    // `suffix` makes our element names unique in the pipeline
    // ("video-rtp-caps-<suffix>"); `webrtc` is the peer's webrtcbin, also
    // the object our log lines name. `ssrc` (non-zero) is the stream's SSRC,
    // pinned in the capsfilter and on the payloader from the start: see
    // pinSsrc in send_branch.cpp.
    SendBranch(Kind kind, GstBin* pipeline, LocalMedia& media, GstElement* webrtc, std::string suffix, guint32 ssrc);
    ~SendBranch();
    SendBranch(const SendBranch&) = delete;
    SendBranch& operator=(const SendBranch&) = delete;

    // Requests webrtcbin's sink_<mline> (an answer must use the offer's
    // m-line numbers: sink_N is bound to m-line N), sets `preferences` as
    // the transceiver's codec preferences (and NACK for video), and links
    // a capsfilter with them to it. `twccId` (1-14; -1: none) adds the
    // TWCC extmap (sdp::addExtmap) to the codec preferences only, never to
    // the capsfilter: what we send keeps plain RTP caps, and the negotiated
    // extmap reaches the payloader through webrtcbin.
    bool connect(int mline, GstCaps* preferences, int twccId, std::string& error);
    bool connected() const { return bool(capsfilter_); }

    // Sends Opus (audio) or `codec` (video) with `payloadType` from
    // LocalMedia's encoded tee. Nothing to do (true) when not connected or
    // already attached.
    bool attachAudio(int payloadType, std::string& error);
    bool attachVideo(VideoCodec codec, int payloadType, std::string& error);
    bool attached() const { return attached_; }
    guint32 ssrc() const { return ssrc_; }

    // Asks the encoder for a keyframe (force-key-unit upstream through
    // queue and tee), if attached.
    void requestKeyframe();
    // Gives the tee pad back to LocalMedia: the shared encoder stops
    // pushing into this branch. Idempotent.
    void releaseTeePad();
    // `object` is one of our elements or inside one (bus messages).
    bool owns(GstObject* object) const;

private:
    const char* kindName() const { return kind_ == Kind::Audio ? "audio" : "video"; }
    bool attach(GRef<GstPad> teePad, GRef<GstElement> payloader, GstCaps* caps, std::string& error);

    Kind kind_;
    GstBin* pipeline_; // borrowed: the Call's, which outlives us
    LocalMedia& media_;
    GRef<GstElement> webrtc_;
    std::string suffix_;
    guint32 ssrc_;
    GRef<GstPad> sinkPad_; // webrtcbin's sink_N
    GRef<GstElement> capsfilter_, queue_, payloader_;
    GRef<GstPad> teePad_;
    bool attached_ = false;
};

} // namespace palaver::engine
