#include "send_branch.h"

#include "debug.h"
#include "gst_element.h"
#include "local_media.h"
#include "sdp.h"
#include "webrtc_ref.h"

#include <gst/video/video.h>

#define GST_CAT_DEFAULT palaver_peer_debug

namespace palaver::engine {

namespace {

// A copy of `caps` with ssrc=`ssrc` in every structure.
//
// webrtcbin 1.22.0 writes a sender's a=ssrc lines, and with NACK its
// a=ssrc-group:FID, from the `ssrc` field of the caps it finds for the
// transceiver when it builds the description (_find_codec_preferences:
// the caps event its sink pad received, else a caps query upstream).
// Without our pinning, that field only exists once the payloader has
// negotiated, i.e. once the first encoded buffer crossed the queue; an
// answer made before that (the answerer attaches a brand-new encoder and
// answers at once) got no a=ssrc for the stream, and for video
// `a=ssrc-group:FID 0 <rtx>`: _create_answer_task starts with
// `guint target_ssrc = 0` and _media_add_rtx files the RTX SSRC under "0"
// whether or not the caps had an ssrc (the offer path guards with -1).
// Firefox then took the RTX SSRC for the video and decoded nothing
// (issue 9; docs/webrtcbin-notes.md, "SSRCs in answers"). With the SSRC in
// the capsfilter, the caps query answers it from the start, and the
// payloader takes the same value (rtpbasepayload prefers a downstream
// ssrc; we set its property too).
GRef<GstCaps> pinSsrc(GstCaps* caps, guint32 ssrc)
{
    GRef<GstCaps> pinned = adopt(gst_caps_copy(caps));
    for (guint i = 0; i < gst_caps_get_size(pinned.get()); i++)
        gst_structure_set(gst_caps_get_structure(pinned.get(), i), "ssrc", G_TYPE_UINT, ssrc, nullptr);
    return pinned;
}

} // namespace

SendBranch::SendBranch(Kind kind, GstBin* pipeline, LocalMedia& media, GstElement* webrtc, std::string suffix,
    guint32 ssrc)
    : kind_(kind)
    , pipeline_(pipeline)
    , media_(media)
    , webrtc_(webrtc)
    , suffix_(std::move(suffix))
    , ssrc_(ssrc)
{
    initDebug();
}

SendBranch::~SendBranch()
{
    releaseTeePad();
    for (GstElement* e : { queue_.get(), payloader_.get(), capsfilter_.get() }) {
        if (!e)
            continue;
        gst_element_set_state(e, GST_STATE_NULL);
        if (GRef<GstObject> parent = adopt(gst_element_get_parent(e)))
            gst_bin_remove(GST_BIN(parent.get()), e);
    }
}

bool SendBranch::connect(int mline, GstCaps* preferences, int twccId, std::string& error)
{
    // webrtcbin ties sink_N to m-line N (docs/webrtcbin-notes.md).
    std::string padName = "sink_" + std::to_string(mline);
    sinkPad_ = adopt(gst_element_request_pad_simple(webrtc_.get(), padName.c_str()));
    if (!sinkPad_) {
        error = std::string("webrtcbin refused a ") + kindName() + " send pad";
        return false;
    }
    GRef<GstWebRTCRTPTransceiver> transceiver;
    g_object_get(sinkPad_.get(), "transceiver", transceiver.outPtr(), nullptr);
    if (transceiver) {
        GRef<GstCaps> codecPreferences = adopt(gst_caps_copy(preferences));
        if (twccId > 0)
            sdp::addExtmap(codecPreferences.get(), twccId, sdp::kTwccUri);
        g_object_set(transceiver.get(), "codec-preferences", codecPreferences.get(), nullptr);
        // NACK on video only: with NACK on the audio transceiver Chromium
        // refuses the whole offer (docs/webrtcbin-notes.md, "From the
        // shared pitfalls page").
        if (kind_ == Kind::Video)
            g_object_set(transceiver.get(), "do-nack", TRUE, nullptr);
    }
    std::string name = std::string(kindName()) + "-rtp-caps-" + suffix_;
    GRef<GstElement> capsfilter = makeElement("capsfilter", name.c_str(), error);
    if (!capsfilter)
        return false;
    capsfilter_ = std::move(capsfilter);
    // The codec preferences stay without an SSRC: only what we send has one.
    g_object_set(capsfilter_.get(), "caps", pinSsrc(preferences, ssrc_).get(), nullptr);
    gst_bin_add(pipeline_, capsfilter_.get());
    GRef<GstPad> src = adopt(gst_element_get_static_pad(capsfilter_.get(), "src"));
    if (gst_pad_link(src.get(), sinkPad_.get()) != GST_PAD_LINK_OK) {
        error = std::string("cannot link the ") + kindName() + " send branch to webrtcbin";
        return false;
    }
    gst_element_sync_state_with_parent(capsfilter_.get());
    return true;
}

bool SendBranch::attachAudio(int payloadType, std::string& error)
{
    if (attached_ || !capsfilter_)
        return true;
    GRef<GstElement> pay = makeElement("rtpopuspay", nullptr, error);
    if (!pay)
        return false;
    g_object_set(pay.get(), "pt", guint(payloadType), nullptr);
    GRef<GstCaps> caps = sdp::opusCaps(payloadType);
    return attach(media_.requestAudioPad(), std::move(pay), caps.get(), error);
}

bool SendBranch::attachVideo(VideoCodec codec, int payloadType, std::string& error)
{
    if (attached_ || !capsfilter_)
        return true;
    // The payloader first: a tee pad is only requested once nothing else
    // can fail before it is linked.
    GRef<GstElement> pay = makeElement(codec == VideoCodec::VP8 ? "rtpvp8pay" : "rtph264pay", nullptr, error);
    if (!pay)
        return false;
    if (codec == VideoCodec::VP8) {
        // picture-id lets the receiver detect loss across frames.
        gst_util_set_object_arg(G_OBJECT(pay.get()), "picture-id-mode", "15-bit");
    } else {
        // SPS/PPS with every IDR, one NAL per packet as soon as it is ready
        // (docs/webrtcbin-notes.md, "From the shared pitfalls page").
        g_object_set(pay.get(), "config-interval", -1, nullptr);
        gst_util_set_object_arg(G_OBJECT(pay.get()), "aggregate-mode", "zero-latency");
    }
    g_object_set(pay.get(), "pt", guint(payloadType), "mtu", 1200u, nullptr);
    GRef<GstPad> teePad = media_.requestVideoPad(codec, error);
    if (!teePad)
        return false;
    GRef<GstCaps> caps = sdp::sendCaps(codec, payloadType);
    if (!attach(std::move(teePad), std::move(pay), caps.get(), error))
        return false;
    GST_INFO_OBJECT(webrtc_.get(), "sending %s (payload type %d)", videoCodecName(codec), payloadType);
    return true;
}

bool SendBranch::attach(GRef<GstPad> teePad, GRef<GstElement> payloader, GstCaps* caps, std::string& error)
{
    if (!teePad) {
        error = "no local stream to send";
        return false;
    }
    // Ours from here: any failure below gives it back at once.
    teePad_ = std::move(teePad);
    GRef<GstElement> queue = makeElement("queue", nullptr, error);
    if (!queue) {
        releaseTeePad();
        return false;
    }
    queue_ = std::move(queue);
    payloader_ = std::move(payloader);
    // One slow peer must not hold back the shared encoder for the others:
    // its queue drops instead.
    g_object_set(queue_.get(), "max-size-buffers", 0u, "max-size-bytes", 0u, "max-size-time", guint64(200 * GST_MSECOND),
        nullptr);
    gst_util_set_object_arg(G_OBJECT(queue_.get()), "leaky", "downstream");
    g_object_set(payloader_.get(), "ssrc", guint(ssrc_), nullptr);
    g_object_set(capsfilter_.get(), "caps", pinSsrc(caps, ssrc_).get(), nullptr);
    gst_bin_add_many(pipeline_, queue_.get(), payloader_.get(), nullptr);
    if (!gst_element_link_many(queue_.get(), payloader_.get(), capsfilter_.get(), nullptr)) {
        GRef<GstCaps> want = adopt(gst_pad_query_caps(sinkPad_.get(), nullptr));
        GUnique<char> text(want ? gst_caps_to_string(want.get()) : nullptr);
        GST_INFO_OBJECT(webrtc_.get(), "%s payloader does not link; webrtcbin takes %s", kindName(),
            text ? text.get() : "(nothing)");
        error = "cannot link the payloader";
        releaseTeePad();
        return false;
    }
    // Downstream first, then the tee (docs/webrtcbin-notes.md, "From the
    // shared pitfalls page": the other order once stalled the shared
    // encoder for every peer).
    gst_element_sync_state_with_parent(payloader_.get());
    gst_element_sync_state_with_parent(queue_.get());
    GRef<GstPad> queueSink = adopt(gst_element_get_static_pad(queue_.get(), "sink"));
    if (gst_pad_link(teePad_.get(), queueSink.get()) != GST_PAD_LINK_OK) {
        error = "cannot link the local stream to the send branch";
        releaseTeePad();
        return false;
    }
    attached_ = true;
    // The new peer needs a keyframe now, not at the encoder's next interval.
    requestKeyframe();
    return true;
}

void SendBranch::requestKeyframe()
{
    if (!attached_ || !queue_)
        return;
    GRef<GstPad> sink = adopt(gst_element_get_static_pad(queue_.get(), "sink"));
    gst_pad_push_event(sink.get(), gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE, TRUE, 0));
}

void SendBranch::releaseTeePad()
{
    if (GRef<GstPad> pad = std::move(teePad_))
        media_.releasePad(pad.get());
}

bool SendBranch::owns(GstObject* object) const
{
    for (GstElement* e : { queue_.get(), payloader_.get(), capsfilter_.get() })
        if (e && (object == GST_OBJECT(e) || gst_object_has_as_ancestor(object, GST_OBJECT(e))))
            return true;
    return false;
}

} // namespace palaver::engine
