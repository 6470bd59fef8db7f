#include "local_media.h"

#include "frame_stamp.h"

#include <gst/video/video.h>

#include <cstring>
#include <filesystem>

GST_DEBUG_CATEGORY_STATIC(palaver_media_debug);
#define GST_CAT_DEFAULT palaver_media_debug

namespace palaver::engine {

namespace {

constexpr const char* kTestVideo = "videotestsrc is-live=true pattern=ball";
constexpr const char* kTestAudio = "audiotestsrc is-live=true wave=sine freq=440 volume=0.2";

bool haveElement(const char* name)
{
    GRef<GstElementFactory> factory = adopt(gst_element_factory_find(name));
    return bool(factory);
}

GstElement* make(const char* factory, const char* name = nullptr)
{
    return gst_element_factory_make(factory, name);
}

// A camera exists when a V4L2 capture node opens; probing with READY is
// quick and does not start streaming.
bool cameraWorks()
{
    if (!haveElement("v4l2src"))
        return false;
    bool any = false;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/dev", ec))
        if (entry.path().filename().string().rfind("video", 0) == 0)
            any = true;
    if (!any)
        return false;
    GRef<GstElement> src = adopt(make("v4l2src"));
    bool ok = gst_element_set_state(src.get(), GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS;
    gst_element_set_state(src.get(), GST_STATE_NULL);
    return ok;
}

// A microphone exists when the device monitor lists an audio source (none
// on a machine without a sound card or sound server).
bool microphoneWorks()
{
    GRef<GstDeviceMonitor> monitor = adopt(gst_device_monitor_new());
    gst_device_monitor_add_filter(monitor.get(), "Audio/Source", nullptr);
    if (!gst_device_monitor_start(monitor.get()))
        return false;
    GList* devices = gst_device_monitor_get_devices(monitor.get());
    bool any = devices != nullptr;
    g_list_free_full(devices, gst_object_unref);
    gst_device_monitor_stop(monitor.get());
    return any && haveElement("autoaudiosrc");
}

// Real capture elements get the audio processing; test sources need none.
bool isRealMicrophone(const std::string& description)
{
    for (const char* name : { "autoaudiosrc", "pulsesrc", "alsasrc", "pipewiresrc", "jackaudiosrc" })
        if (description.find(name) != std::string::npos)
            return true;
    return false;
}

GstElement* parseBin(const std::string& description, const char* what, std::string& error)
{
    GUnique<GError> err;
    GstElement* bin = gst_parse_bin_from_description(description.c_str(), TRUE, err.outPtr());
    if (!bin || err) {
        error = std::string("bad ") + what + " pipeline description \"" + description + "\": " + errorMessage(err);
        if (bin)
            gst_object_unref(gst_object_ref_sink(bin));
        return nullptr;
    }
    GRef<GstPad> src = adopt(gst_element_get_static_pad(bin, "src"));
    if (!src) {
        error = std::string("the ") + what + " pipeline description \"" + description
            + "\" has no unlinked output to take media from";
        gst_object_unref(gst_object_ref_sink(bin));
        return nullptr;
    }
    return bin;
}

// Links a chain of elements already in a bin; false names the failing pair.
bool linkChain(std::initializer_list<GstElement*> chain, std::string& error)
{
    GstElement* previous = nullptr;
    for (GstElement* element : chain) {
        if (previous && !gst_element_link(previous, element)) {
            error = std::string("cannot link ") + GST_OBJECT_NAME(previous) + " to " + GST_OBJECT_NAME(element);
            return false;
        }
        previous = element;
    }
    return true;
}

std::string encoderDescription(VideoCodec codec, const MediaOptions& o)
{
    int kbps = o.videoBitrateKbps;
    // A keyframe at least every 2 s bounds how long a lost keyframe or a new
    // peer waits for a picture even without PLI/FIR.
    int gop = std::max(1, o.framerate * 2);
    if (codec == VideoCodec::VP8)
        // deadline=1: realtime; lag-in-frames=0: no look-ahead delay.
        // threads=1: libvpx's worker threads spin while they wait; on a busy
        // 2-core machine threads=2 cost 6x the CPU of one thread for the same
        // frames (bench/call/README.md) and starved the rest of the call.
        return "vp8enc deadline=1 cpu-used=8 threads=1 end-usage=cbr lag-in-frames=0 error-resilient=default"
               " undershoot=95 buffer-size=1000 buffer-initial-size=500 buffer-optimal-size=600"
               " keyframe-max-dist="
            + std::to_string(gop) + " target-bitrate=" + std::to_string(kbps * 1000);
    if (haveElement("x264enc"))
        return "x264enc tune=zerolatency speed-preset=ultrafast threads=2 key-int-max=" + std::to_string(gop)
            + " bitrate=" + std::to_string(kbps)
            + " ! video/x-h264,profile=constrained-baseline,stream-format=byte-stream ! h264parse";
    return "openh264enc complexity=low rate-control=bitrate usage-type=camera gop-size=" + std::to_string(gop)
        + " bitrate=" + std::to_string(kbps * 1000)
        + " ! video/x-h264,profile=constrained-baseline,stream-format=byte-stream ! h264parse";
}

} // namespace

LocalMedia::LocalMedia(GstBin* pipeline)
    : pipeline_(pipeline)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(palaver_media_debug, "palaver-media", 0, "Palaver local media");
        g_once_init_leave(&once, 1);
    }
}

LocalMedia::~LocalMedia() = default;

bool LocalMedia::canEncode(VideoCodec codec)
{
    if (codec == VideoCodec::VP8)
        return haveElement("vp8enc") && haveElement("rtpvp8pay");
    return (haveElement("x264enc") || haveElement("openh264enc")) && haveElement("h264parse")
        && haveElement("rtph264pay");
}

bool LocalMedia::canDecode(VideoCodec codec)
{
    if (codec == VideoCodec::VP8)
        return haveElement("vp8dec") && haveElement("rtpvp8depay");
    return (haveElement("avdec_h264") || haveElement("openh264dec")) && haveElement("rtph264depay");
}

bool LocalMedia::build(const MediaOptions& options, std::string& error)
{
    options_ = options;
    return buildVideo(options, error) && buildAudio(options, error);
}

bool LocalMedia::buildVideo(const MediaOptions& o, std::string& error)
{
    std::string description = o.videoSource;
    if (description == "none") {
        videoDescription_ = "none (receive only)";
        return true;
    }
    if (description.empty()) {
        description = cameraWorks() ? "v4l2src" : kTestVideo;
        videoDescription_ = description == kTestVideo ? "test pattern (no camera found)" : "camera (v4l2src)";
    } else {
        videoDescription_ = description;
    }
    GstElement* source = parseBin(description, "video source", error);
    if (!source)
        return false;
    GstElement* convert = make("videoconvert");
    GstElement* scale = make("videoscale");
    GstElement* rate = make("videorate");
    GstElement* caps = make("capsfilter", "video-caps");
    GstElement* tee = make("tee", "video-raw-tee");
    if (!convert || !scale || !rate || !caps || !tee) {
        error = "GStreamer's base plugins (videoconvert, videoscale, videorate, tee) are missing";
        return false;
    }
    GRef<GstCaps> raw = adopt(gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT,
        o.width, "height", G_TYPE_INT, o.height, "framerate", GST_TYPE_FRACTION, o.framerate, 1, "pixel-aspect-ratio",
        GST_TYPE_FRACTION, 1, 1, nullptr));
    g_object_set(caps, "caps", raw.get(), nullptr);
    // A camera that cannot keep the rate should not stall the encoders.
    g_object_set(rate, "drop-only", TRUE, nullptr);
    // No peer yet (or only a preview): buffers are dropped, not an error.
    g_object_set(tee, "allow-not-linked", TRUE, nullptr);
    gst_bin_add_many(pipeline_, source, convert, scale, rate, caps, tee, nullptr);
    if (!linkChain({ source, convert, scale, rate, caps, tee }, error)) {
        error = "the video source cannot produce " + std::to_string(o.width) + "x" + std::to_string(o.height) + "@"
            + std::to_string(o.framerate) + " raw video (" + error + ")";
        return false;
    }
    videoRawTee_ = GRef<GstElement>(tee);
    GRef<GstPad> teeSink = adopt(gst_element_get_static_pad(tee, "sink"));
    gst_pad_add_probe(teeSink.get(), GST_PAD_PROBE_TYPE_BUFFER, &LocalMedia::rawVideoProbe, this, nullptr);
    GST_INFO("video source: %s", videoDescription_.c_str());
    return true;
}

bool LocalMedia::buildAudio(const MediaOptions& o, std::string& error)
{
    std::string description = o.audioSource;
    if (description == "none") {
        audioDescription_ = "none (receive only)";
        return true;
    }
    if (description.empty()) {
        description = microphoneWorks() ? "autoaudiosrc" : kTestAudio;
        audioDescription_ = description == kTestAudio ? "test tone (no microphone found)" : "microphone (autoaudiosrc)";
    } else {
        audioDescription_ = description;
    }
    GstElement* source = parseBin(description, "audio source", error);
    if (!source)
        return false;
    GstElement* convert = make("audioconvert");
    GstElement* resample = make("audioresample");
    GstElement* caps = make("capsfilter", "audio-caps");
    GstElement* volume = make("volume", "mic-volume");
    GstElement* encoder = make("opusenc");
    GstElement* tee = make("tee", "audio-opus-tee");
    if (!convert || !resample || !caps || !volume || !encoder || !tee) {
        error = "audioconvert, audioresample, volume, opusenc or tee is missing (gstreamer1.0-plugins-base)";
        return false;
    }
    // Mono at 48 kHz: Opus's clock rate, and one channel on both sides keeps
    // offer and answer consistent (WEBRTCBIN-1.22.md: a stereo/mono mismatch
    // can leave media receive-only).
    GRef<GstCaps> raw = adopt(gst_caps_new_simple("audio/x-raw", "rate", G_TYPE_INT, 48000, "channels", G_TYPE_INT, 1, nullptr));
    g_object_set(caps, "caps", raw.get(), nullptr);
    gst_util_set_object_arg(G_OBJECT(encoder), "audio-type", "voice");
    g_object_set(encoder, "bitrate", o.audioBitrateKbps * 1000, "inband-fec", TRUE, nullptr);
    g_object_set(tee, "allow-not-linked", TRUE, nullptr);
    gst_bin_add_many(pipeline_, source, convert, resample, caps, volume, encoder, tee, nullptr);

    GstElement* dsp = nullptr;
    if (o.audioProcessing && isRealMicrophone(description) && haveElement("webrtcdsp")) {
        // Echo cancellation needs the far end: the Call's audio output
        // carries a webrtcechoprobe named o.echoProbe.
        dsp = make("webrtcdsp", "mic-dsp");
        bool echo = !o.echoProbe.empty() && haveElement("webrtcechoprobe");
        g_object_set(dsp, "echo-cancel", echo, "noise-suppression", TRUE, "gain-control", TRUE, nullptr);
        if (echo)
            g_object_set(dsp, "probe", o.echoProbe.c_str(), nullptr);
        gst_bin_add(pipeline_, dsp);
        GST_INFO("audio processing on (webrtcdsp)");
    }
    bool linked = dsp ? linkChain({ source, convert, resample, caps, dsp, volume, encoder, tee }, error)
                      : linkChain({ source, convert, resample, caps, volume, encoder, tee }, error);
    if (!linked) {
        error = "the audio source cannot produce raw audio (" + error + ")";
        return false;
    }
    audioTee_ = GRef<GstElement>(tee);
    volume_ = GRef<GstElement>(volume);
    GST_INFO("audio source: %s", audioDescription_.c_str());
    return true;
}

GstElement* LocalMedia::ensureEncoder(VideoCodec codec, std::string& error)
{
    if (auto it = encodedTees_.find(codec); it != encodedTees_.end())
        return it->second.get();
    if (!videoRawTee_) {
        error = "no video source";
        return nullptr;
    }
    if (!canEncode(codec)) {
        error = std::string("no ") + videoCodecName(codec) + " encoder is installed";
        return nullptr;
    }
    GstElement* encoder = parseBin(encoderDescription(codec, options_), "encoder", error);
    if (!encoder)
        return nullptr;
    GstElement* queue = make("queue");
    // Encoding must never hold the raw tee (and so the camera) back: a slow
    // encoder drops raw frames here instead.
    g_object_set(queue, "max-size-buffers", 2u, "max-size-bytes", 0u, "max-size-time", guint64(0), nullptr);
    gst_util_set_object_arg(G_OBJECT(queue), "leaky", "downstream");
    std::string teeName = std::string("video-") + videoCodecName(codec) + "-tee";
    GstElement* tee = make("tee", teeName.c_str());
    g_object_set(tee, "allow-not-linked", TRUE, nullptr);
    gst_bin_add_many(pipeline_, queue, encoder, tee, nullptr);
    if (!linkChain({ queue, encoder, tee }, error))
        return nullptr;
    // Downstream first, then the tee (WEBRTCBIN-1.22.md, "Interop").
    gst_element_sync_state_with_parent(tee);
    gst_element_sync_state_with_parent(encoder);
    gst_element_sync_state_with_parent(queue);
    GstPad* teeSrc = gst_element_request_pad_simple(videoRawTee_.get(), "src_%u");
    GRef<GstPad> queueSink = adopt(gst_element_get_static_pad(queue, "sink"));
    if (gst_pad_link(teeSrc, queueSink.get()) != GST_PAD_LINK_OK) {
        error = std::string("cannot link the ") + videoCodecName(codec) + " encoder";
        gst_element_release_request_pad(videoRawTee_.get(), teeSrc);
        gst_object_unref(teeSrc);
        return nullptr;
    }
    gst_object_unref(teeSrc);
    GST_INFO("started the %s encoder", videoCodecName(codec));
    encodedTees_.emplace(codec, GRef<GstElement>(tee));
    return tee;
}

GRef<GstPad> LocalMedia::requestVideoPad(VideoCodec codec, std::string& error)
{
    GstElement* tee = ensureEncoder(codec, error);
    if (!tee)
        return nullptr;
    return adopt(gst_element_request_pad_simple(tee, "src_%u"));
}

GRef<GstPad> LocalMedia::requestAudioPad()
{
    if (!audioTee_)
        return nullptr;
    return adopt(gst_element_request_pad_simple(audioTee_.get(), "src_%u"));
}

GRef<GstPad> LocalMedia::requestPreviewPad()
{
    if (!videoRawTee_)
        return nullptr;
    return adopt(gst_element_request_pad_simple(videoRawTee_.get(), "src_%u"));
}

void LocalMedia::releasePad(GstPad* pad)
{
    if (!pad)
        return;
    GRef<GstElement> tee = adopt(gst_pad_get_parent_element(pad));
    if (!tee)
        return;
    if (GRef<GstPad> peer = adopt(gst_pad_get_peer(pad)))
        gst_pad_unlink(pad, peer.get());
    gst_element_release_request_pad(tee.get(), pad);
}

void LocalMedia::setAudioMuted(bool muted)
{
    audioMuted_ = muted;
    if (volume_)
        g_object_set(volume_.get(), "mute", muted, nullptr);
}

void LocalMedia::setVideoBlanked(bool blanked)
{
    videoBlanked_ = blanked;
}

// Streaming thread, every raw frame before the encoders. Camera off: frames
// become black, so the stream (its SSRC, the negotiated direction) stays as
// it is. With stampFrames, the capture time is painted in.
GstPadProbeReturn LocalMedia::rawVideoProbe(GstPad* pad, GstPadProbeInfo* info, gpointer data)
{
    auto* self = static_cast<LocalMedia*>(data);
    bool blank = self->videoBlanked_.load(std::memory_order_relaxed);
    if (!blank && !self->options_.stampFrames)
        return GST_PAD_PROBE_OK;
    GstBuffer* buffer = gst_buffer_make_writable(GST_PAD_PROBE_INFO_BUFFER(info));
    info->data = buffer;
    GRef<GstCaps> caps = adopt(gst_pad_get_current_caps(pad));
    GstVideoInfo vinfo;
    if (!caps || !gst_video_info_from_caps(&vinfo, caps.get()))
        return GST_PAD_PROBE_OK;
    GstVideoFrame frame;
    if (!gst_video_frame_map(&frame, &vinfo, buffer, GST_MAP_WRITE))
        return GST_PAD_PROBE_OK;
    if (blank) {
        // I420 black: Y = 16, U = V = 128 (BT.601 limited range).
        for (guint plane = 0; plane < GST_VIDEO_FRAME_N_PLANES(&frame); ++plane) {
            auto* pixels = static_cast<guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, plane));
            int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, plane);
            int rows = GST_VIDEO_FRAME_COMP_HEIGHT(&frame, plane);
            std::memset(pixels, plane == 0 ? 16 : 128, size_t(stride) * rows);
        }
    }
    if (self->options_.stampFrames)
        paintStamp(&frame, stampNowMs());
    gst_video_frame_unmap(&frame);
    return GST_PAD_PROBE_OK;
}

} // namespace palaver::engine
