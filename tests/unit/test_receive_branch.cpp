// src/engine/receive_branch.{h,cpp} without webrtcbin: src pads shaped like
// webrtcbin's (RTP caps from their template) are handed to add() as
// pad-added would, in a pipeline that never plays.
#include "gst_element.h"
#include "receive_branch.h"

#include <string>
#include <vector>

using namespace palaver;
using namespace palaver::engine;

namespace {

// A src pad like webrtcbin's src_N: its caps query answers the stream's
// RTP caps.
GRef<GstPad> rtpPad(const char* name, const char* caps)
{
    GRef<GstCaps> templateCaps = adopt(gst_caps_from_string(caps));
    GRef<GstPadTemplate> templ = adopt(gst_pad_template_new(name, GST_PAD_SRC, GST_PAD_ALWAYS, templateCaps.get()));
    return adopt(gst_pad_new_from_template(templ.get(), name));
}

constexpr const char* kOpus = "application/x-rtp,media=audio,encoding-name=OPUS,clock-rate=48000,payload=111";

struct Fixture {
    GRef<GstElement> pipeline = adopt(gst_pipeline_new(nullptr));
    std::vector<GRef<GstElement>> outputs; // what audioOutput handed out
    std::vector<GstPad*> released;

    ReceiveBranch::Hooks hooks()
    {
        ReceiveBranch::Hooks h;
        h.audioOutput = [this]() {
            std::string error;
            GRef<GstElement> sink = makeElement("fakesink", nullptr, error);
            gst_bin_add(GST_BIN(pipeline.get()), sink.get());
            outputs.push_back(sink);
            return adopt(gst_element_get_static_pad(sink.get(), "sink"));
        };
        h.releaseAudioOutput = [this](GstPad* pad) { released.push_back(pad); };
        return h;
    }
    guint children() const { return GST_BIN(pipeline.get())->numchildren; }
};

bool haveOpus()
{
    for (const char* factory : { "rtpopusdepay", "opusdec", "audioconvert", "audioresample" })
        if (!haveElement(factory)) {
            g_test_skip(missingElementSentence(factory).c_str());
            return false;
        }
    return true;
}

// One mixer input per peer: a second audio stream is refused (it used to
// take a second input and lose the first, never given back) and discarded.
void testSecondAudioStream()
{
    if (!haveOpus())
        return;
    Fixture f;
    {
        ReceiveBranch branch(GST_BIN(f.pipeline.get()), nullptr, nullptr, false, f.hooks());
        GRef<GstPad> first = rtpPad("src_0", kOpus);
        std::string codec, error;
        bool video = true;
        g_assert_true(branch.add(first.get(), codec, video, error));
        g_assert_cmpstr(codec.c_str(), ==, "OPUS");
        g_assert_false(video);
        g_assert_true(gst_pad_is_linked(first.get()));
        g_assert_cmpuint(f.outputs.size(), ==, 1);
        GRef<GstElement> decoder = adopt(gst_pad_get_parent_element(GST_PAD_PEER(first.get())));
        g_assert_true(branch.owns(GST_OBJECT(decoder.get())));
        g_assert_false(branch.owns(GST_OBJECT(f.outputs[0].get())));

        GRef<GstPad> second = rtpPad("src_1", kOpus);
        g_assert_false(branch.add(second.get(), codec, video, error));
        g_assert_true(error.find("second audio stream") != std::string::npos);
        g_assert_cmpuint(f.outputs.size(), ==, 1);
        // Discarded into a fakesink: an unlinked webrtcbin pad would error.
        g_assert_true(gst_pad_is_linked(second.get()));
        g_assert_cmpuint(f.children(), ==, 3); // one decoder, one output, the fakesink
    }
    // Torn down: the one output given back (unlinked), the decoder gone.
    g_assert_cmpuint(f.released.size(), ==, 1);
    GRef<GstPad> outputPad = adopt(gst_element_get_static_pad(f.outputs[0].get(), "sink"));
    g_assert_true(f.released[0] == outputPad.get());
    g_assert_false(gst_pad_is_linked(outputPad.get()));
    g_assert_cmpuint(f.children(), ==, 1);
}

void testRefusals()
{
    Fixture f;
    ReceiveBranch branch(GST_BIN(f.pipeline.get()), nullptr, nullptr, false, f.hooks());
    std::string codec, error;
    bool video = false;
    // What we cannot play is discarded into a fakesink too (an unlinked
    // webrtcbin pad would error).
    GRef<GstPad> raw = rtpPad("src_1", "audio/x-raw");
    g_assert_false(branch.add(raw.get(), codec, video, error));
    g_assert_cmpstr(error.c_str(), ==, "not an RTP stream");
    g_assert_true(gst_pad_is_linked(raw.get()));
    g_assert_cmpuint(f.children(), ==, 1);
    GRef<GstPad> g722 = rtpPad("src_3", "application/x-rtp,media=audio,encoding-name=G722,clock-rate=8000,payload=9");
    g_assert_false(branch.add(g722.get(), codec, video, error));
    g_assert_cmpstr(error.c_str(), ==, "unsupported audio codec G722 (discarded)");
    g_assert_true(gst_pad_is_linked(g722.get()));
    g_assert_cmpuint(f.children(), ==, 2);
    // No video sink was given: the video stream is not shown, but discarded,
    // whatever its codec: decided before the codec is looked at.
    for (const char* encoding : { "VP8", "VP9" }) {
        std::string caps = std::string("application/x-rtp,media=video,encoding-name=") + encoding
            + ",clock-rate=90000,payload=96";
        GRef<GstPad> pad = rtpPad(encoding, caps.c_str());
        g_assert_false(branch.add(pad.get(), codec, video, error));
        g_assert_true(video);
        g_assert_true(error.find("second video stream") != std::string::npos);
        g_assert_true(gst_pad_is_linked(pad.get()));
    }
    g_assert_cmpuint(f.children(), ==, 4);
    g_assert_cmpint(branch.snapshot().videoFrames, ==, 0);
    g_assert_false(branch.snapshot().audioLevelDb.has_value());
}

// The first video stream in a codec we do not decode (a VP9 m-line added
// by a re-offer): discarded, and the video sink kept for a later one.
void testUnsupportedCodec()
{
    Fixture f;
    std::string codec, error;
    bool video = false;
    GRef<GstElement> sink = makeElement("fakesink", nullptr, error);
    ReceiveBranch branch(GST_BIN(f.pipeline.get()), nullptr, sink, false, f.hooks());
    GRef<GstPad> vp9 = rtpPad("src_0", "application/x-rtp,media=video,encoding-name=VP9,clock-rate=90000,payload=98");
    g_assert_false(branch.add(vp9.get(), codec, video, error));
    g_assert_cmpstr(error.c_str(), ==, "unsupported video codec VP9 (discarded)");
    g_assert_true(gst_pad_is_linked(vp9.get()));
    g_assert_cmpuint(f.children(), ==, 1);
    g_assert_null(branch.videoSink().get());
}

} // namespace

int main(int argc, char** argv)
{
    gst_init(&argc, &argv);
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/receive-branch/second-audio-stream", testSecondAudioStream);
    g_test_add_func("/receive-branch/refusals", testRefusals);
    g_test_add_func("/receive-branch/unsupported-codec", testUnsupportedCodec);
    return g_test_run();
}
