// What we receive from one peer: each of webrtcbin's src pads, decoded and
// handed on as soon as it appears.
//
//   webrtcbin.src_N ─ rtpvp8depay ─ vp8dec ─ videoconvert ─ [probe: frames, size, stamps] ─ video sink
//   webrtcbin.src_M ─ rtpopusdepay ─ opusdec ─ ... ─ S16 ─ [probe: buffers, peak] ─ audio output
//
// add() runs on a streaming thread (webrtcbin's pad-added) and links the
// branch at once: webrtcbin would push into an unlinked pad. The probes run
// on streaming threads; the getters on the main context. The owner stops
// webrtcbin (state NULL: no more pad-added, no more buffers) before it
// destroys us; the destructor then gives the audio output back and stops
// and removes the decode elements.
#pragma once

#include "gst_ref.h"

#include <gst/video/video.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace palaver::engine {

class ReceiveBranch {
public:
    struct Hooks {
        // A sink pad for decoded audio (the Call's mixer); streaming thread.
        std::function<GRef<GstPad>()> audioOutput;
        // Gives it back; from the destructor.
        std::function<void(GstPad*)> releaseAudioOutput;
        // The first video frame was decoded; streaming thread, once.
        std::function<void()> firstVideoFrame;
    };
    // What was received so far (PeerConnection::Media is this).
    struct Snapshot {
        int64_t videoFrames = 0;
        int64_t audioBuffers = 0;
        // The loudest sample of the last half second of decoded audio, in
        // dB full scale (-96 for digital silence); none before any audio.
        // How the other side's mute shows here.
        std::optional<double> audioLevelDb;
        int width = 0, height = 0;
        std::string videoCodec; // what we receive: "VP8", "H264"
        // Capture-to-decode latencies of stamped frames (measureLatency).
        std::vector<double> latencyMs;
    };

    // `videoSink` shows the peer's video (made on the main context: a GTK
    // sink must be); it joins the pipeline when the video stream appears.
    // `logObject` names our log lines (the peer's webrtcbin).
    ReceiveBranch(GstBin* pipeline, GstObject* logObject, GRef<GstElement> videoSink, bool measureLatency, Hooks hooks);
    ~ReceiveBranch();
    ReceiveBranch(const ReceiveBranch&) = delete;
    ReceiveBranch& operator=(const ReceiveBranch&) = delete;

    // Streaming thread: builds, links and starts the decode branch for
    // webrtcbin's src pad `pad`. On success `codec` says what it carries
    // ("VP8", "H264", "OPUS") and `video` whether it is the video stream.
    bool add(GstPad* pad, std::string& codec, bool& video, std::string& error);

    // Main context, before webrtcbin goes to NULL: every decode element to
    // NULL, so that none holds a webrtcbin stream lock (a sink blocked in
    // preroll, a full queue) while webrtcbin waits for it to stop its pads;
    // add() builds nothing afterwards.
    void stop();

    Snapshot snapshot() const;
    int64_t videoFrames() const { return videoFrames_.load(); }
    GRef<GstElement> videoSink() const;
    // `object` is one of our elements or inside one (bus messages).
    bool owns(GstObject* object) const;

private:
    void keep(const GRef<GstElement>& element);
    void discard(GstPad* pad);
    static GstPadProbeReturn countVideo(GstPad* pad, GstPadProbeInfo* info, gpointer data);
    void readStampOf(GstBuffer* buffer);
    static GstPadProbeReturn countAudio(GstPad* pad, GstPadProbeInfo* info, gpointer data);

    GstBin* pipeline_; // borrowed: the Call's, which outlives us
    GRef<GstObject> logObject_;
    const bool measureLatency_;
    const Hooks hooks_;

    // mutex_ guards everything below it up to the atomics: set on streaming
    // threads, read on the main context. A leaf lock: never held while
    // calling into GStreamer or a hook.
    mutable std::mutex mutex_;
    std::vector<GRef<GstElement>> elements_; // in the pipeline, to stop and remove
    bool stopped_ = false;
    GRef<GstElement> pendingVideoSink_; // until the video stream appears
    GRef<GstElement> videoSink_;
    GRef<GstPad> audioOutput_;
    int width_ = 0, height_ = 0;
    GstVideoInfo decodedInfo_ {};
    bool haveDecodedInfo_ = false;
    std::vector<double> latencyMs_;
    std::string videoCodec_;

    std::atomic<int64_t> videoFrames_ { 0 }, audioBuffers_ { 0 };
    // Audio peaks: the audio streaming thread (one) folds buffers into a
    // window and publishes each finished window's peak (0..32768; -1:
    // none yet).
    std::atomic<int> audioPeak_ { -1 };
    int windowPeak_ = 0;
    GstClockTime windowTime_ = 0;
};

} // namespace palaver::engine
