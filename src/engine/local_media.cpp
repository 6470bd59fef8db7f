#include "local_media.h"

#include "debug.h"
#include "frame_stamp.h"
#include "gst_element.h"

#include <gst/video/video.h>

#include <cstring>
#include <filesystem>
#include <vector>

#define GST_CAT_DEFAULT palaver_media_debug

namespace palaver::engine {

namespace {

// What each kind of source falls back to, and how the user hears of it.
struct SourceKind {
    const char* device;      // the capture element when a device works
    const char* deviceShown;
    const char* test;        // else a live test source
    const char* testShown;
};
constexpr SourceKind kVideoKind { "v4l2src", "camera (v4l2src)", "videotestsrc is-live=true pattern=ball",
    "test pattern (no camera found)" };
constexpr SourceKind kAudioKind { "autoaudiosrc", "microphone (autoaudiosrc)",
    "audiotestsrc is-live=true wave=sine freq=440 volume=0.2", "test tone (no microphone found)" };

const SourceKind& kindOf(const char* kind)
{
    return std::strcmp(kind, "video") == 0 ? kVideoKind : kAudioKind;
}

// A camera exists when a V4L2 capture node opens; probing with READY is
// quick and does not start streaming. Worker thread (Devices::probe).
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
    GRef<GstElement> src = adopt(gst_element_factory_make("v4l2src", nullptr));
    if (!src)
        return false;
    bool ok = gst_element_set_state(src.get(), GST_STATE_READY) == GST_STATE_CHANGE_SUCCESS;
    gst_element_set_state(src.get(), GST_STATE_NULL);
    return ok;
}

// A microphone exists when the device monitor lists an audio source (none
// on a machine without a sound card or sound server). Worker thread.
bool microphoneWorks()
{
    if (!haveElement("autoaudiosrc"))
        return false;
    GRef<GstDeviceMonitor> monitor = adopt(gst_device_monitor_new());
    gst_device_monitor_add_filter(monitor.get(), "Audio/Source", nullptr);
    if (!gst_device_monitor_start(monitor.get()))
        return false;
    GList* devices = gst_device_monitor_get_devices(monitor.get());
    bool any = devices != nullptr;
    g_list_free_full(devices, gst_object_unref);
    gst_device_monitor_stop(monitor.get());
    return any;
}

// Real capture elements get the audio processing; test sources need none.
bool isRealMicrophone(const std::string& description)
{
    for (const char* name : { "autoaudiosrc", "pulsesrc", "alsasrc", "pipewiresrc", "jackaudiosrc" })
        if (description.find(name) != std::string::npos)
            return true;
    return false;
}

// A source bin from a description: it must parse and have an unlinked
// output to take media from.
GRef<GstElement> parseSource(const std::string& description, const char* kind, std::string& error)
{
    std::string what = std::string(kind) + " source";
    GRef<GstElement> bin = parseBin(description, what.c_str(), error);
    if (!bin)
        return nullptr;
    GRef<GstPad> src = adopt(gst_element_get_static_pad(bin.get(), "src"));
    if (!src) {
        error = "the " + what + " pipeline description \"" + description + "\" has no unlinked output to take media from";
        return nullptr;
    }
    return bin;
}

// Makes each named element, or fails with the first missing one's sentence.
bool makeAll(std::initializer_list<std::pair<const char*, GRef<GstElement>*>> elements, std::string& error)
{
    for (const auto& [factory, out] : elements) {
        *out = makeElement(factory, nullptr, error);
        if (!*out)
            return false;
    }
    return true;
}

// Adds elements (already made) to a bin and links them in a chain; false
// names the failing pair.
bool addAndLink(GstBin* bin, std::initializer_list<GstElement*> chain, std::string& error)
{
    for (GstElement* element : chain)
        gst_bin_add(bin, element);
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

Devices Devices::probe(bool camera, bool microphone)
{
    Devices found;
    found.camera = camera && cameraWorks();
    found.microphone = microphone && microphoneWorks();
    return found;
}

LocalMedia::LocalMedia(GstBin* pipeline)
    : pipeline_(pipeline)
{
    initDebug();
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

bool LocalMedia::check(const MediaOptions& options, std::string& error)
{
    for (auto [kind, given] : { std::pair { "video", &options.videoSource }, std::pair { "audio", &options.audioSource } }) {
        if (given->empty() || *given == "none")
            continue;
        if (!parseSource(*given, kind, error))
            return false;
    }
    return true;
}

std::vector<const char*> LocalMedia::requiredElements(const MediaOptions& options, bool realOutput)
{
    // webrtcbin and what it makes inside (ICE, DTLS-SRTP, SCTP, RTP), and
    // receiving, which is always possible (a receive-only peer decodes).
    std::vector<const char*> names = { "queue", "tee", "capsfilter", "fakesink", "webrtcbin", "nicesrc", "nicesink",
        "dtlssrtpenc", "dtlssrtpdec", "sctpenc", "sctpdec", "rtpbin", "rtpvp8depay", "vp8dec", "videoconvert",
        "rtpopusdepay", "opusdec", "audioconvert", "audioresample" };
    if (options.videoSource != "none")
        names.insert(names.end(), { "videoscale", "videorate", "vp8enc", "rtpvp8pay" });
    if (options.audioSource != "none")
        names.insert(names.end(), { "volume", "opusenc", "rtpopuspay" });
    if (realOutput)
        names.insert(names.end(), { "audiomixer", "autoaudiosink" });
    return names;
}

bool LocalMedia::checkElements(const MediaOptions& options, bool realOutput, std::string& error)
{
    return haveElements(requiredElements(options, realOutput), error);
}

void LocalMedia::preload(const MediaOptions& options, const Devices& devices, bool realOutput)
{
    // What a call needs, and what it may use: the sources picked for us,
    // audio processing, H.264 when preferred, the default video sink.
    std::vector<const char*> names = requiredElements(options, realOutput);
    if (options.videoSource.empty())
        names.push_back(devices.camera ? kVideoKind.device : "videotestsrc");
    if (options.audioSource.empty())
        names.push_back(devices.microphone ? kAudioKind.device : "audiotestsrc");
    if (options.audioSource != "none")
        names.push_back("webrtcdsp");
    if (options.videoCodec == VideoCodec::H264)
        names.insert(names.end(), { "x264enc", "h264parse", "rtph264pay", "rtph264depay", "avdec_h264" });
    if (realOutput)
        names.insert(names.end(), { "webrtcechoprobe", "autovideosink" });
    GstRegistry* registry = gst_registry_get();
    for (const char* name : names) {
        GRef<GstPluginFeature> feature = adopt(gst_registry_find_feature(registry, name, GST_TYPE_ELEMENT_FACTORY));
        if (feature)
            GRef<GstPluginFeature> loaded = adopt(gst_plugin_feature_load(feature.get()));
    }
}

bool LocalMedia::build(const MediaOptions& options, const Devices& devices, std::string& error)
{
    options_ = options;
    return buildVideo(options, devices.camera, error) && buildAudio(options, devices.microphone, error);
}

// One way to pick a source for either kind: the description given, else
// the device when it works, else a test source (and the user is told).
GRef<GstElement> LocalMedia::addSource(const char* kind, const std::string& given, bool deviceFound, std::string& shown,
    bool& test, std::string& error)
{
    const SourceKind& k = kindOf(kind);
    std::string description = given;
    test = false;
    if (description.empty()) {
        description = deviceFound ? k.device : k.test;
        test = !deviceFound;
        shown = deviceFound ? k.deviceShown : k.testShown;
    } else {
        shown = description;
    }
    GRef<GstElement> source = parseSource(description, kind, error);
    if (source)
        GST_INFO("%s source: %s", kind, shown.c_str());
    return source;
}

bool LocalMedia::buildVideo(const MediaOptions& o, bool camera, std::string& error)
{
    if (o.videoSource == "none") {
        videoDescription_ = "none (receive only)";
        return true;
    }
    GRef<GstElement> source = addSource("video", o.videoSource, camera, videoDescription_, testVideo_, error);
    if (!source)
        return false;
    GRef<GstElement> convert, scale, rate, caps, tee;
    if (!makeAll({ { "videoconvert", &convert }, { "videoscale", &scale }, { "videorate", &rate }, { "capsfilter", &caps },
            { "tee", &tee } }, error))
        return false;
    GRef<GstCaps> raw = adopt(gst_caps_new_simple("video/x-raw", "format", G_TYPE_STRING, "I420", "width", G_TYPE_INT,
        o.width, "height", G_TYPE_INT, o.height, "framerate", GST_TYPE_FRACTION, o.framerate, 1, "pixel-aspect-ratio",
        GST_TYPE_FRACTION, 1, 1, nullptr));
    gst_object_set_name(GST_OBJECT(caps.get()), "video-caps");
    gst_object_set_name(GST_OBJECT(tee.get()), "video-raw-tee");
    g_object_set(caps.get(), "caps", raw.get(), nullptr);
    // A camera that cannot keep the rate should not stall the encoders.
    g_object_set(rate.get(), "drop-only", TRUE, nullptr);
    // No peer yet (or only a preview): buffers are dropped, not an error.
    g_object_set(tee.get(), "allow-not-linked", TRUE, nullptr);
    if (!addAndLink(pipeline_, { source.get(), convert.get(), scale.get(), rate.get(), caps.get(), tee.get() }, error)) {
        error = "the video source cannot produce " + std::to_string(o.width) + "x" + std::to_string(o.height) + "@"
            + std::to_string(o.framerate) + " raw video (" + error + ")";
        return false;
    }
    videoRawTee_ = tee;
    GRef<GstPad> teeSink = adopt(gst_element_get_static_pad(tee.get(), "sink"));
    gst_pad_add_probe(teeSink.get(), GST_PAD_PROBE_TYPE_BUFFER, &LocalMedia::rawVideoProbe, this, nullptr);
    return true;
}

bool LocalMedia::buildAudio(const MediaOptions& o, bool microphone, std::string& error)
{
    if (o.audioSource == "none") {
        audioDescription_ = "none (receive only)";
        return true;
    }
    GRef<GstElement> source = addSource("audio", o.audioSource, microphone, audioDescription_, testAudio_, error);
    if (!source)
        return false;
    GRef<GstElement> convert, resample, caps, volume, encoder, tee;
    if (!makeAll({ { "audioconvert", &convert }, { "audioresample", &resample }, { "capsfilter", &caps },
            { "volume", &volume }, { "opusenc", &encoder }, { "tee", &tee } }, error))
        return false;
    gst_object_set_name(GST_OBJECT(caps.get()), "audio-caps");
    gst_object_set_name(GST_OBJECT(volume.get()), "mic-volume");
    gst_object_set_name(GST_OBJECT(tee.get()), "audio-opus-tee");
    // Mono at 48 kHz: Opus's clock rate, and one channel on both sides keeps
    // offer and answer consistent (docs/webrtcbin-notes.md: a stereo/mono
    // mismatch can leave media receive-only).
    GRef<GstCaps> raw = adopt(gst_caps_new_simple("audio/x-raw", "rate", G_TYPE_INT, 48000, "channels", G_TYPE_INT, 1, nullptr));
    g_object_set(caps.get(), "caps", raw.get(), nullptr);
    gst_util_set_object_arg(G_OBJECT(encoder.get()), "audio-type", "voice");
    g_object_set(encoder.get(), "bitrate", o.audioBitrateKbps * 1000, "inband-fec", TRUE, nullptr);
    g_object_set(tee.get(), "allow-not-linked", TRUE, nullptr);

    GRef<GstElement> dsp;
    bool realMicrophone = o.audioSource.empty() ? !testAudio_ : isRealMicrophone(o.audioSource);
    if (o.audioProcessing && realMicrophone && haveElement("webrtcdsp")) {
        // Echo cancellation needs the far end: the Call's audio output
        // carries a webrtcechoprobe named o.echoProbe.
        dsp = makeElement("webrtcdsp", "mic-dsp", error);
        if (!dsp)
            return false;
        bool echo = !o.echoProbe.empty() && haveElement("webrtcechoprobe");
        g_object_set(dsp.get(), "echo-cancel", echo, "noise-suppression", TRUE, "gain-control", TRUE, nullptr);
        if (echo)
            g_object_set(dsp.get(), "probe", o.echoProbe.c_str(), nullptr);
        GST_INFO("audio processing on (webrtcdsp)");
    }
    bool linked = dsp ? addAndLink(pipeline_, { source.get(), convert.get(), resample.get(), caps.get(), dsp.get(), volume.get(),
                                                  encoder.get(), tee.get() }, error)
                      : addAndLink(pipeline_, { source.get(), convert.get(), resample.get(), caps.get(), volume.get(),
                                                  encoder.get(), tee.get() }, error);
    if (!linked) {
        error = "the audio source cannot produce raw audio (" + error + ")";
        return false;
    }
    audioTee_ = tee;
    volume_ = volume;
    // Muted before the media existed (the window's button during the
    // device probe): it starts muted.
    g_object_set(volume_.get(), "mute", audioMuted_, nullptr);
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
        error = std::string("no ") + videoCodecName(codec) + " encoder is installed ("
            + (codec == VideoCodec::VP8 ? missingElementSentence(haveElement("vp8enc") ? "rtpvp8pay" : "vp8enc")
                                        : missingElementSentence(haveElement("rtph264pay") ? "x264enc" : "rtph264pay"))
            + ")";
        return nullptr;
    }
    GRef<GstElement> encoder = parseBin(encoderDescription(codec, options_), "encoder", error);
    GRef<GstElement> queue, tee;
    if (!encoder || !makeAll({ { "queue", &queue }, { "tee", &tee } }, error))
        return nullptr;
    // Encoding must never hold the raw tee (and so the camera) back: a slow
    // encoder drops raw frames here instead.
    g_object_set(queue.get(), "max-size-buffers", 2u, "max-size-bytes", 0u, "max-size-time", guint64(0), nullptr);
    gst_util_set_object_arg(G_OBJECT(queue.get()), "leaky", "downstream");
    std::string teeName = std::string("video-") + videoCodecName(codec) + "-tee";
    gst_object_set_name(GST_OBJECT(tee.get()), teeName.c_str());
    g_object_set(tee.get(), "allow-not-linked", TRUE, nullptr);
    if (!addAndLink(pipeline_, { queue.get(), encoder.get(), tee.get() }, error))
        return nullptr;
    // Downstream first, then the tee (docs/webrtcbin-notes.md, "Interop").
    gst_element_sync_state_with_parent(tee.get());
    gst_element_sync_state_with_parent(encoder.get());
    gst_element_sync_state_with_parent(queue.get());
    GRef<GstPad> teeSrc = adopt(gst_element_request_pad_simple(videoRawTee_.get(), "src_%u"));
    GRef<GstPad> queueSink = adopt(gst_element_get_static_pad(queue.get(), "sink"));
    if (!teeSrc || gst_pad_link(teeSrc.get(), queueSink.get()) != GST_PAD_LINK_OK) {
        error = std::string("cannot link the ") + videoCodecName(codec) + " encoder";
        if (teeSrc)
            gst_element_release_request_pad(videoRawTee_.get(), teeSrc.get());
        return nullptr;
    }
    GST_INFO("started the %s encoder", videoCodecName(codec));
    encodedTees_.emplace(codec, tee);
    return tee.get();
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

bool LocalMedia::addPreview(GRef<GstElement> sink, std::string& error)
{
    error.clear();
    if (!videoRawTee_)
        return false; // receive only: nothing of ours to show
    GRef<GstElement> queue = makeElement("queue", nullptr, error);
    if (!queue)
        return false;
    // The preview must never hold the tee back: the encoders are behind it.
    g_object_set(queue.get(), "max-size-buffers", 2u, "max-size-bytes", 0u, "max-size-time", guint64(0), nullptr);
    gst_util_set_object_arg(G_OBJECT(queue.get()), "leaky", "downstream");
    // On failure both leave the pipeline again; the caller's sink goes with
    // its GRef.
    auto remove = [this, &queue, &sink] {
        for (GstElement* e : { queue.get(), sink.get() }) {
            gst_element_set_state(e, GST_STATE_NULL);
            if (GST_OBJECT_PARENT(e) == GST_OBJECT(pipeline_))
                gst_bin_remove(pipeline_, e);
        }
    };
    if (!addAndLink(pipeline_, { queue.get(), sink.get() }, error)) {
        error = "cannot show the local preview (" + error + ")";
        remove();
        return false;
    }
    // Downstream first, then the tee.
    gst_element_sync_state_with_parent(sink.get());
    gst_element_sync_state_with_parent(queue.get());
    GRef<GstPad> teeSrc = adopt(gst_element_request_pad_simple(videoRawTee_.get(), "src_%u"));
    GRef<GstPad> queueSink = adopt(gst_element_get_static_pad(queue.get(), "sink"));
    if (!teeSrc || gst_pad_link(teeSrc.get(), queueSink.get()) != GST_PAD_LINK_OK) {
        error = "cannot show the local preview (the video tee gave no output)";
        if (teeSrc)
            gst_element_release_request_pad(videoRawTee_.get(), teeSrc.get());
        remove();
        return false;
    }
    return true;
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
