// The local half of the pipeline: sources, one encoder per stream and codec,
// and a tee after each encoder that fans the encoded stream out to every
// peer (one encode however many peers: the mesh costs a payloader per peer,
// not an encoder).
//
//   video source ! convert/scale/rate ! caps ! tee(raw) ─┬─ queue ! vp8enc ! tee(VP8) ─► peers
//                                                        ├─ queue ! x264enc ! tee(H264) ─► peers
//                                                        └─ queue ! preview sink (addPreview)
//   audio source ! convert/resample ! [webrtcdsp] ! volume ! opusenc ! tee(OPUS) ─► peers
//
// Encoders are made on first use: a call in which every peer takes VP8
// never runs an H.264 encoder. Main context only, except Devices::probe.
#pragma once

#include "call_options.h"
#include "gst_ref.h"

#include <atomic>
#include <map>
#include <string>
#include <vector>

namespace palaver::engine {

// Which capture devices work, for sources left to us. Probing opens the
// V4L2 node and starts a device monitor (a sound server round trip): both
// can block, so the Call runs probe() on a worker thread.
struct Devices {
    bool camera = false;
    bool microphone = false;
    static Devices probe(bool camera, bool microphone);
};

class LocalMedia {
public:
    explicit LocalMedia(GstBin* pipeline);
    ~LocalMedia();
    LocalMedia(const LocalMedia&) = delete;
    LocalMedia& operator=(const LocalMedia&) = delete;

    // Whether build() needs Devices for `options` (a source left to us).
    static bool needsCamera(const MediaOptions& options) { return options.videoSource.empty(); }
    static bool needsMicrophone(const MediaOptions& options) { return options.audioSource.empty(); }
    // Checks the descriptions given in `options` without building anything:
    // a bad one is a clear error before any device is probed.
    static bool check(const MediaOptions& options, std::string& error);
    // Every element a call with these options cannot do without: webrtcbin
    // and its insides, VP8 and Opus both ways (docs/protocol.md, "Media"),
    // the sound output when `realOutput`.
    static std::vector<const char*> requiredElements(const MediaOptions& options, bool realOutput);
    // False with the sentence of the first of them that is missing.
    static bool checkElements(const MediaOptions& options, bool realOutput, std::string& error);

    // Loads the plugins that build() and a call with these options will
    // use (dlopen on first use), so that the main loop does not. Any thread.
    static void preload(const MediaOptions& options, const Devices& devices, bool realOutput);

    // Builds and adds the sources. A bad pipeline description or a missing
    // element is a sentence in `error`, before anything plays.
    bool build(const MediaOptions& options, const Devices& devices, std::string& error);

    bool hasVideo() const { return bool(videoRawTee_); }
    bool hasAudio() const { return bool(audioTee_); }
    // What was picked when the options left the choice to us, for the user.
    const std::string& videoDescription() const { return videoDescription_; }
    const std::string& audioDescription() const { return audioDescription_; }
    bool usingTestVideo() const { return testVideo_; }
    bool usingTestAudio() const { return testAudio_; }

    static bool canEncode(VideoCodec codec);
    static bool canDecode(VideoCodec codec);

    // A new src pad of the encoded tee for `codec` (made on first use), or
    // nullptr. Link the branch downstream first, then to this pad
    // (docs/webrtcbin-notes.md: the other order stalled the shared encoder).
    GRef<GstPad> requestVideoPad(VideoCodec codec, std::string& error);
    GRef<GstPad> requestAudioPad();
    void releasePad(GstPad* pad);

    // Shows our own video in `sink` (the window's preview), behind a leaky
    // queue so a slow display never holds the encoders back. False with an
    // empty `error` when there is no video to show (receive only).
    bool addPreview(GRef<GstElement> sink, std::string& error);

    // Mute and camera-off without renegotiation (docs/webrtcbin-notes.md:
    // no direction changes after the first negotiation in 1.22): audio is
    // silenced, video frames are blanked before the encoder, RTP keeps
    // flowing.
    void setAudioMuted(bool muted);
    void setVideoBlanked(bool blanked);
    bool audioMuted() const { return audioMuted_; }
    bool videoBlanked() const { return videoBlanked_.load(); }

private:
    // Parses the source of `kind` into the pipeline; nullptr for "none".
    GRef<GstElement> addSource(const char* kind, const std::string& given, bool deviceFound, std::string& shown,
        bool& test, std::string& error);
    GstElement* ensureEncoder(VideoCodec codec, std::string& error);
    bool buildVideo(const MediaOptions& options, bool camera, std::string& error);
    bool buildAudio(const MediaOptions& options, bool microphone, std::string& error);
    static GstPadProbeReturn rawVideoProbe(GstPad* pad, GstPadProbeInfo* info, gpointer data);

    GstBin* pipeline_; // borrowed: the Call owns the pipeline and us
    MediaOptions options_;
    GRef<GstElement> videoRawTee_;
    GRef<GstElement> audioTee_;
    GRef<GstElement> volume_;
    std::map<VideoCodec, GRef<GstElement>> encodedTees_;
    std::string videoDescription_, audioDescription_;
    bool testVideo_ = false, testAudio_ = false;
    bool audioMuted_ = false;
    std::atomic<bool> videoBlanked_ { false };
};

} // namespace palaver::engine
