// Pieces of the call engine that need no network: the get-stats summary
// (with webrtcbin 1.22's swapped candidate entries) and the frame stamps
// used for latency measurements, through a real VP8 encode and decode.
#include "frame_stamp.h"
#include "local_media.h"
#include "webrtc_ref.h"
#include "peer_stats.h"

#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>

using namespace palaver;
using namespace palaver::engine;

namespace {

GstStructure* entry(const char* name, GstWebRTCStatsType type, const char* id)
{
    return gst_structure_new(name, "type", GST_TYPE_WEBRTC_STATS_TYPE, type, "id", G_TYPE_STRING, id, nullptr);
}

// A reply shaped like webrtcbin 1.22's: one structure per stats entry.
GstStructure* reply(guint64 videoIn, guint64 audioIn, guint64 out)
{
    GstStructure* r = gst_structure_new_empty("application/x-webrtc-stats");
    auto put = [r](const char* field, GstStructure* s) {
        gst_structure_set(r, field, GST_TYPE_STRUCTURE, s, nullptr);
        gst_structure_free(s);
    };
    GstStructure* codecV = entry("codec-stats", GST_WEBRTC_STATS_CODEC, "codec-v");
    gst_structure_set(codecV, "mime-type", G_TYPE_STRING, "video/VP8", nullptr);
    put("codec-v", codecV);
    GstStructure* codecA = entry("codec-stats", GST_WEBRTC_STATS_CODEC, "codec-a");
    gst_structure_set(codecA, "mime-type", G_TYPE_STRING, "audio/OPUS", nullptr);
    put("codec-a", codecA);
    GstStructure* inV = entry("inbound-rtp-stats", GST_WEBRTC_STATS_INBOUND_RTP, "in-v");
    gst_structure_set(inV, "codec-id", G_TYPE_STRING, "codec-v", "bytes-received", G_TYPE_UINT64, videoIn, "packets-lost",
        G_TYPE_INT64, gint64(3), "jitter", G_TYPE_DOUBLE, 0.004, nullptr);
    put("in-v", inV);
    GstStructure* inA = entry("inbound-rtp-stats", GST_WEBRTC_STATS_INBOUND_RTP, "in-a");
    gst_structure_set(inA, "codec-id", G_TYPE_STRING, "codec-a", "bytes-received", G_TYPE_UINT64, audioIn, "packets-lost",
        G_TYPE_INT64, gint64(-1), "jitter", G_TYPE_DOUBLE, 0.010, nullptr);
    put("in-a", inA);
    GstStructure* outV = entry("outbound-rtp-stats", GST_WEBRTC_STATS_OUTBOUND_RTP, "out-v");
    gst_structure_set(outV, "codec-id", G_TYPE_STRING, "codec-v", "bytes-sent", G_TYPE_UINT64, out, nullptr);
    put("out-v", outV);
    GstStructure* remote = entry("remote-inbound-rtp-stats", GST_WEBRTC_STATS_REMOTE_INBOUND_RTP, "rin");
    gst_structure_set(remote, "round-trip-time", G_TYPE_DOUBLE, 0.0125, nullptr);
    put("rin", remote);
    // 1.22.0's swap: the local candidate's entry says remote-candidate and
    // the other way round; the pair's ids are right.
    GstStructure* pair = entry("candidate-pair-stats", GST_WEBRTC_STATS_CANDIDATE_PAIR, "pair");
    gst_structure_set(pair, "local-candidate-id", G_TYPE_STRING, "cand-local", "remote-candidate-id", G_TYPE_STRING,
        "cand-remote", nullptr);
    put("pair", pair);
    GstStructure* local = entry("remote-candidate-stats", GST_WEBRTC_STATS_REMOTE_CANDIDATE, "cand-local");
    gst_structure_set(local, "candidate-type", G_TYPE_STRING, "srflx", "protocol", G_TYPE_STRING, "udp", nullptr);
    put("cand-local", local);
    GstStructure* rem = entry("local-candidate-stats", GST_WEBRTC_STATS_LOCAL_CANDIDATE, "cand-remote");
    gst_structure_set(rem, "candidate-type", G_TYPE_STRING, "relay", "protocol", G_TYPE_STRING, "tcp", nullptr);
    put("cand-remote", rem);
    return r;
}

void testStats()
{
    GUnique<GstStructure> first(reply(10000, 2000, 30000));
    GUnique<GstStructure> second(reply(110000, 6000, 155000));
    RawStats a = parseStats(first.get());
    RawStats b = parseStats(second.get());
    g_assert_true(b.videoBytesIn.has_value());
    g_assert_cmpuint(*b.videoBytesIn, ==, 110000);
    g_assert_cmpuint(*b.audioBytesIn, ==, 6000);
    g_assert_cmpuint(*b.bytesIn, ==, 116000);
    // Negative cumulative loss (duplicates) counts as none.
    g_assert_cmpint(*b.packetsLost, ==, 3);
    // Video jitter wins over audio's; seconds become milliseconds.
    g_assert_cmpfloat_with_epsilon(*b.jitterMs, 4.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(*b.rttMs, 12.5, 1e-9);
    g_assert_cmpstr(b.candidatePair.c_str(), ==, "srflx/udp <-> relay/tcp");

    PeerStats s = summarize(a, b, 2.0);
    // (116000 - 12000) bytes in 2 s = 416 kbit/s; (155000 - 30000) = 500.
    g_assert_cmpfloat_with_epsilon(*s.bitrateInKbps, 416.0, 1e-9);
    g_assert_cmpfloat_with_epsilon(*s.bitrateOutKbps, 500.0, 1e-9);
    // A counter that went back (a replaced connection) gives no rate.
    PeerStats back = summarize(b, a, 1.0);
    g_assert_false(back.bitrateInKbps.has_value());
    // Nothing reported: every field stays empty.
    RawStats none = parseStats(nullptr);
    g_assert_false(none.bytesIn.has_value());
    g_assert_true(none.candidatePair.empty());
}

GRef<GstBuffer> grayFrame(GstVideoInfo& info, int width, int height)
{
    gst_video_info_set_format(&info, GST_VIDEO_FORMAT_I420, width, height);
    GRef<GstBuffer> buffer = adopt(gst_buffer_new_allocate(nullptr, GST_VIDEO_INFO_SIZE(&info), nullptr));
    GstMapInfo map;
    gst_buffer_map(buffer.get(), &map, GST_MAP_WRITE);
    memset(map.data, 128, map.size);
    gst_buffer_unmap(buffer.get(), &map);
    return buffer;
}

void testStampRoundTrip()
{
    GstVideoInfo info;
    GRef<GstBuffer> buffer = grayFrame(info, 320, 240);
    GstVideoFrame frame;
    g_assert_true(gst_video_frame_map(&frame, &info, buffer.get(), GST_MAP_READWRITE));
    g_assert_false(readStamp(&frame).has_value()); // gray: no stamp
    for (uint32_t value : { 0u, 1u, 0xABCDEFu, kStampMask }) {
        g_assert_true(paintStamp(&frame, value));
        auto read = readStamp(&frame);
        g_assert_true(read.has_value());
        g_assert_cmpuint(*read, ==, value);
    }
    gst_video_frame_unmap(&frame);
}

// The stamp survives a real VP8 encode and decode at a call's bitrate.
void testStampThroughVp8()
{
    GRef<GstElementFactory> vp8 = adopt(gst_element_factory_find("vp8enc"));
    if (!vp8) {
        g_test_skip("vp8enc is not installed");
        return;
    }
    GUnique<GError> error;
    GRef<GstElement> pipeline = adopt(gst_parse_launch(
        "appsrc name=src format=time caps=video/x-raw,format=I420,width=320,height=240,framerate=30/1 "
        "! vp8enc deadline=1 target-bitrate=300000 ! vp8dec ! video/x-raw,format=I420 ! appsink name=sink sync=false",
        error.outPtr()));
    g_assert_no_error(error.get());
    GRef<GstElement> src = adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "src"));
    GRef<GstElement> sink = adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
    gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
    const uint32_t values[] = { 0x123456, 0xFEDCBA, 0x0F0F0F, 0x00FF00, 0xA5A5A5 };
    for (int i = 0; i < 5; ++i) {
        GstVideoInfo info;
        GRef<GstBuffer> buffer = grayFrame(info, 320, 240);
        GstVideoFrame frame;
        gst_video_frame_map(&frame, &info, buffer.get(), GST_MAP_WRITE);
        paintStamp(&frame, values[i]);
        gst_video_frame_unmap(&frame);
        GST_BUFFER_PTS(buffer.get()) = i * GST_SECOND / 30;
        GST_BUFFER_DURATION(buffer.get()) = GST_SECOND / 30;
        g_assert_cmpint(gst_app_src_push_buffer(GST_APP_SRC(src.get()), buffer.release()), ==, GST_FLOW_OK);
    }
    gst_app_src_end_of_stream(GST_APP_SRC(src.get()));
    for (int i = 0; i < 5; ++i) {
        GRef<GstSample> sample = adopt(gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 10 * GST_SECOND));
        g_assert_nonnull(sample.get());
        GstVideoInfo info;
        g_assert_true(gst_video_info_from_caps(&info, gst_sample_get_caps(sample.get())));
        GstVideoFrame frame;
        g_assert_true(gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample.get()), GST_MAP_READ));
        auto read = readStamp(&frame);
        gst_video_frame_unmap(&frame);
        g_assert_true(read.has_value());
        g_assert_cmpuint(*read, ==, values[i]);
    }
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
}

// Small live test sources; "none" for a kind not sent.
MediaOptions testSources(const char* video, const char* audio)
{
    MediaOptions options;
    options.videoSource = video;
    options.audioSource = audio;
    options.width = 160;
    options.height = 120;
    return options;
}

// Mute and camera-off set before the media exists (the window's buttons
// while the devices are probed) hold once it is built: the microphone
// starts silent, frames start black.
void testMuteBeforeBuild()
{
    GRef<GstElement> pipeline = adopt(gst_pipeline_new(nullptr));
    LocalMedia media(GST_BIN(pipeline.get()));
    media.setAudioMuted(true);
    media.setVideoBlanked(true);
    MediaOptions options = testSources("videotestsrc is-live=true", "audiotestsrc is-live=true");
    std::string error;
    g_assert_true(media.build(options, Devices {}, error));
    GRef<GstElement> volume = adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "mic-volume"));
    g_assert_nonnull(volume.get());
    gboolean mute = FALSE;
    g_object_get(volume.get(), "mute", &mute, nullptr);
    g_assert_true(mute);
    g_assert_true(media.videoBlanked());
    media.setAudioMuted(false);
    g_object_get(volume.get(), "mute", &mute, nullptr);
    g_assert_false(mute);
}

// A preview sink joins the raw tee; without video there is nothing to
// preview, and that is not an error.
void testPreview()
{
    GRef<GstElement> pipeline = adopt(gst_pipeline_new(nullptr));
    LocalMedia media(GST_BIN(pipeline.get()));
    MediaOptions options = testSources("videotestsrc is-live=true", "none");
    std::string error;
    g_assert_true(media.build(options, Devices {}, error));
    GRef<GstElement> sink = adopt(gst_element_factory_make("appsink", nullptr));
    g_object_set(sink.get(), "sync", FALSE, nullptr);
    g_assert_true(media.addPreview(sink, error));
    gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
    GRef<GstSample> sample = adopt(gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 10 * GST_SECOND));
    g_assert_nonnull(sample.get());
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);

    GRef<GstElement> audioOnly = adopt(gst_pipeline_new(nullptr));
    LocalMedia noVideo(GST_BIN(audioOnly.get()));
    g_assert_true(noVideo.build(testSources("none", "audiotestsrc is-live=true"), Devices {}, error));
    GRef<GstElement> unused = adopt(gst_element_factory_make("fakesink", nullptr));
    g_assert_false(noVideo.addPreview(unused, error));
    g_assert_true(error.empty());
}

} // namespace

int main(int argc, char** argv)
{
    gst_init(&argc, &argv);
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/engine/stats", testStats);
    g_test_add_func("/engine/stamp/round-trip", testStampRoundTrip);
    g_test_add_func("/engine/stamp/through-vp8", testStampThroughVp8);
    g_test_add_func("/engine/media/mute-before-build", testMuteBeforeBuild);
    g_test_add_func("/engine/media/preview", testPreview);
    return g_test_run();
}
