#include "receive_branch.h"

#include "debug.h"
#include "frame_stamp.h"
#include "gst_element.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#define GST_CAT_DEFAULT palaver_peer_debug

namespace palaver::engine {

ReceiveBranch::ReceiveBranch(GstBin* pipeline, GstObject* logObject, GRef<GstElement> videoSink, bool measureLatency,
    Hooks hooks)
    : pipeline_(pipeline)
    , logObject_(logObject)
    , measureLatency_(measureLatency)
    , hooks_(std::move(hooks))
    , pendingVideoSink_(std::move(videoSink))
{
    initDebug();
}

ReceiveBranch::~ReceiveBranch()
{
    // Nothing streams any more (webrtcbin is stopped), but the lock keeps
    // the rule simple: swap out under it, work outside.
    std::vector<GRef<GstElement>> elements;
    GRef<GstPad> audioOutput;
    {
        std::lock_guard lock(mutex_);
        elements.swap(elements_);
        audioOutput = std::move(audioOutput_);
    }
    if (audioOutput) {
        if (GRef<GstPad> peer = adopt(gst_pad_get_peer(audioOutput.get())))
            gst_pad_unlink(peer.get(), audioOutput.get());
        if (hooks_.releaseAudioOutput)
            hooks_.releaseAudioOutput(audioOutput.get());
    }
    for (auto& e : elements) {
        gst_element_set_state(e.get(), GST_STATE_NULL);
        if (GRef<GstObject> parent = adopt(gst_element_get_parent(e.get())))
            gst_bin_remove(GST_BIN(parent.get()), e.get());
    }
}

void ReceiveBranch::stop()
{
    std::vector<GRef<GstElement>> elements;
    {
        std::lock_guard lock(mutex_);
        stopped_ = true;
        elements = elements_;
    }
    // Downstream first: a sink that goes to NULL lets go of a thread
    // waiting in it, then the decoders upstream of it.
    for (auto it = elements.rbegin(); it != elements.rend(); ++it)
        gst_element_set_state(it->get(), GST_STATE_NULL);
}

// Everything added to the pipeline is listed at once, so that teardown
// finds it even when a later step fails.
void ReceiveBranch::keep(const GRef<GstElement>& element)
{
    gst_bin_add(pipeline_, element.get());
    std::lock_guard lock(mutex_);
    elements_.push_back(element);
}

// A stream we do not play goes to a fakesink: an unlinked webrtcbin pad
// would error when its RTP arrives (not-linked stops the whole session).
void ReceiveBranch::discard(GstPad* pad)
{
    std::string ignored;
    GRef<GstElement> sink = makeElement("fakesink", nullptr, ignored);
    if (!sink)
        return;
    g_object_set(sink.get(), "sync", FALSE, "async", FALSE, nullptr);
    keep(sink);
    gst_element_sync_state_with_parent(sink.get());
    GRef<GstPad> sinkPad = adopt(gst_element_get_static_pad(sink.get(), "sink"));
    gst_pad_link(pad, sinkPad.get());
}

bool ReceiveBranch::add(GstPad* pad, std::string& codec, bool& video, std::string& error)
{
    {
        std::lock_guard lock(mutex_);
        if (stopped_) {
            error = "the connection is being torn down";
            return false;
        }
    }
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
        discard(pad);
        return false;
    }
    video = std::strcmp(media, "video") == 0;
    bool extra = false;
    {
        // One video and one audio stream are shown and played per peer,
        // decided before the codec: a further one (a second track added by
        // renegotiation, a screen share), whatever its codec, is discarded.
        std::lock_guard lock(mutex_);
        extra = video ? !pendingVideoSink_ : bool(audioOutput_);
    }
    if (extra) {
        error = std::string("a second ") + media + " stream from this peer (only one is "
            + (video ? "shown" : "played") + "; discarded)";
        discard(pad); // takes mutex_ (keep)
        return false;
    }
    std::string description;
    if (video && g_ascii_strcasecmp(encoding, "VP8") == 0) {
        codec = "VP8";
        // One decoding thread: libvpx's threads spin (see the encoder).
        // wait-for-keyframe=false: docs/webrtcbin-notes.md (stalls under
        // CPU contention); PLI asks for the keyframe instead.
        description = "rtpvp8depay request-keyframe=true wait-for-keyframe=false ! vp8dec threads=1 ! videoconvert";
    } else if (video && g_ascii_strcasecmp(encoding, "H264") == 0) {
        codec = "H264";
        description = std::string("rtph264depay request-keyframe=true wait-for-keyframe=false ! h264parse ! ")
            + (haveElement("avdec_h264") ? "avdec_h264" : "openh264dec") + " ! videoconvert";
    } else if (!video && g_ascii_strcasecmp(encoding, "OPUS") == 0) {
        codec = "OPUS";
        // S16: what opusdec gives anyway, and what countAudio reads levels of.
        description = "rtpopusdepay ! opusdec plc=true ! audioconvert ! audioresample ! capsfilter caps=\"audio/x-raw,format=S16LE\"";
    } else {
        // A codec we never offered or answered can still come (an m-line
        // added by a peer's re-offer): discarded like an extra stream.
        error = std::string("unsupported ") + media + " codec " + encoding + " (discarded)";
        discard(pad);
        return false;
    }
    GRef<GstElement> decoder = parseBin(description, "decoder", error);
    if (!decoder)
        return false;
    GRef<GstPad> binSrc = adopt(gst_element_get_static_pad(decoder.get(), "src"));
    GRef<GstPad> binSink = adopt(gst_element_get_static_pad(decoder.get(), "sink"));
    if (!binSrc || !binSink) {
        error = "the decoder has no pads to link";
        return false;
    }
    if (video) {
        GRef<GstElement> sink;
        {
            std::lock_guard lock(mutex_);
            sink = std::exchange(pendingVideoSink_, nullptr);
        }
        if (!sink) {
            error = "a second video stream from this peer (only one is shown)";
            return false;
        }
        keep(decoder);
        keep(sink);
        {
            std::lock_guard lock(mutex_);
            videoSink_ = sink;
            videoCodec_ = codec;
        }
        gst_pad_add_probe(binSrc.get(), GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
            &ReceiveBranch::countVideo, this, nullptr);
        if (!gst_element_link(decoder.get(), sink.get())) {
            error = "cannot link the decoder to the video sink";
            return false;
        }
        gst_element_sync_state_with_parent(sink.get());
    } else {
        {
            // One mixer input per peer: a second audio stream would lose
            // the first one's (never given back).
            std::lock_guard lock(mutex_);
            if (audioOutput_) {
                error = "a second audio stream from this peer (only one is played)";
                return false;
            }
        }
        keep(decoder);
        GRef<GstPad> output = hooks_.audioOutput ? hooks_.audioOutput() : nullptr;
        if (!output) {
            error = "no audio output";
            return false;
        }
        {
            std::lock_guard lock(mutex_);
            audioOutput_ = output;
        }
        gst_pad_add_probe(binSrc.get(), GST_PAD_PROBE_TYPE_BUFFER, &ReceiveBranch::countAudio, this, nullptr);
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
    return true;
}

GstPadProbeReturn ReceiveBranch::countVideo(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* self = static_cast<ReceiveBranch*>(data);
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
        GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
        if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS) {
            GstCaps* caps = nullptr;
            gst_event_parse_caps(event, &caps);
            GstVideoInfo videoInfo;
            bool haveInfo = gst_video_info_from_caps(&videoInfo, caps);
            const GstStructure* s = gst_caps_get_structure(caps, 0);
            int width = 0, height = 0;
            gst_structure_get_int(s, "width", &width);
            gst_structure_get_int(s, "height", &height);
            std::lock_guard lock(self->mutex_);
            self->width_ = width;
            self->height_ = height;
            self->haveDecodedInfo_ = haveInfo;
            if (haveInfo)
                self->decodedInfo_ = videoInfo;
        }
        return GST_PAD_PROBE_OK;
    }
    if (self->measureLatency_)
        self->readStampOf(GST_PAD_PROBE_INFO_BUFFER(info));
    if (self->videoFrames_.fetch_add(1) == 0 && self->hooks_.firstVideoFrame)
        self->hooks_.firstVideoFrame();
    return GST_PAD_PROBE_OK;
}

// Streaming thread.
void ReceiveBranch::readStampOf(GstBuffer* buffer)
{
    GstVideoInfo info;
    {
        std::lock_guard lock(mutex_);
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
    std::lock_guard lock(mutex_);
    latencyMs_.push_back(double(latency));
}

GstPadProbeReturn ReceiveBranch::countAudio(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* self = static_cast<ReceiveBranch*>(data);
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

ReceiveBranch::Snapshot ReceiveBranch::snapshot() const
{
    Snapshot m;
    m.videoFrames = videoFrames_.load();
    m.audioBuffers = audioBuffers_.load();
    if (int peak = audioPeak_.load(); peak >= 0)
        m.audioLevelDb = peak == 0 ? -96.0 : std::max(-96.0, 20.0 * std::log10(peak / 32768.0));
    std::lock_guard lock(mutex_);
    m.width = width_;
    m.height = height_;
    m.videoCodec = videoCodec_;
    m.latencyMs = latencyMs_;
    return m;
}

GRef<GstElement> ReceiveBranch::videoSink() const
{
    std::lock_guard lock(mutex_);
    return videoSink_;
}

bool ReceiveBranch::owns(GstObject* object) const
{
    std::vector<GRef<GstElement>> elements;
    {
        std::lock_guard lock(mutex_);
        elements = elements_;
    }
    for (const auto& e : elements)
        if (object == GST_OBJECT(e.get()) || gst_object_has_as_ancestor(object, GST_OBJECT(e.get())))
            return true;
    return false;
}

} // namespace palaver::engine
