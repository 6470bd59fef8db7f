// The local half of the pipeline: sources, one encoder per stream and codec,
// and a tee after each encoder that fans the encoded stream out to every
// peer (one encode however many peers: the mesh costs a payloader per peer,
// not an encoder).
//
//   video source ! convert/scale/rate ! caps ! tee(raw) ─┬─ queue ! vp8enc ! tee(VP8) ─► peers
//                                                        ├─ queue ! x264enc ! tee(H264) ─► peers
//                                                        └─ (local preview)
//   audio source ! convert/resample ! [webrtcdsp] ! volume ! opusenc ! tee(OPUS) ─► peers
//
// Encoders are made on first use: a call in which every peer takes VP8
// never runs an H.264 encoder. Main context only.
#pragma once

#include "call_options.h"
#include "gst_ref.h"

#include <atomic>
#include <map>
#include <string>

namespace palaver::engine {

class LocalMedia {
public:
    explicit LocalMedia(GstBin* pipeline);
    ~LocalMedia();

    // Builds and adds the sources. A bad pipeline description is a clear
    // error here, before anything plays.
    bool build(const MediaOptions& options, std::string& error);

    bool hasVideo() const { return bool(videoRawTee_); }
    bool hasAudio() const { return bool(audioTee_); }
    // What was picked when the options left the choice to us, for the user.
    const std::string& videoDescription() const { return videoDescription_; }
    const std::string& audioDescription() const { return audioDescription_; }

    static bool canEncode(VideoCodec codec);
    static bool canDecode(VideoCodec codec);

    // A new src pad of the encoded tee for `codec` (made on first use), or
    // nullptr. Link the branch downstream first, then to this pad
    // (WEBRTCBIN-1.22.md: the other order stalled the shared encoder).
    GRef<GstPad> requestVideoPad(VideoCodec codec, std::string& error);
    GRef<GstPad> requestAudioPad();
    // A src pad of the raw video tee (the local preview).
    GRef<GstPad> requestPreviewPad();
    void releasePad(GstPad* pad);

    // Mute and camera-off without renegotiation (WEBRTCBIN-1.22.md: no
    // direction changes after the first negotiation): audio is silenced,
    // video frames are blanked before the encoder, RTP keeps flowing.
    void setAudioMuted(bool muted);
    void setVideoBlanked(bool blanked);
    bool audioMuted() const { return audioMuted_; }
    bool videoBlanked() const { return videoBlanked_.load(); }

private:
    GstElement* ensureEncoder(VideoCodec codec, std::string& error);
    bool buildVideo(const MediaOptions& options, std::string& error);
    bool buildAudio(const MediaOptions& options, std::string& error);
    static GstPadProbeReturn rawVideoProbe(GstPad* pad, GstPadProbeInfo* info, gpointer data);

    GstBin* pipeline_; // borrowed: the Call owns the pipeline and us
    MediaOptions options_;
    GRef<GstElement> videoRawTee_;
    GRef<GstElement> audioTee_;
    GRef<GstElement> volume_;
    std::map<VideoCodec, GRef<GstElement>> encodedTees_;
    std::string videoDescription_, audioDescription_;
    bool audioMuted_ = false;
    std::atomic<bool> videoBlanked_ { false };
};

} // namespace palaver::engine
