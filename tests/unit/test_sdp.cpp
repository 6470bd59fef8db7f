// src/engine/sdp.{h,cpp} on the SDP real browsers make (tests/unit/data/sdp,
// captured from Chromium 156 and Firefox ESR 153 on this machine; see the
// README there) and on webrtcbin's own offers: the codec choice, mids,
// bundle-only m-lines, directions, the H.264 fmtp fix, fmtp parsing, and
// what does not parse.
#include "sdp.h"

#include <gst/gst.h>

#include <string>

using namespace palaver;
using namespace palaver::engine;

namespace {

std::string load(const char* name)
{
    GUnique<char> path(g_build_filename(SDP_DATA_DIR, name, nullptr));
    GUnique<char> text;
    GUnique<GError> error;
    g_file_get_contents(path.get(), text.outPtr(), nullptr, error.outPtr());
    g_assert_no_error(error.get());
    return text.get();
}

GUnique<GstSDPMessage> parsed(const std::string& text)
{
    std::string error;
    GUnique<GstSDPMessage> sdp = sdp::parse(text, error);
    if (!sdp)
        g_error("does not parse: %s", error.c_str());
    return sdp;
}

GUnique<GstSDPMessage> file(const char* name)
{
    return parsed(load(name));
}

std::string replaced(std::string text, const std::string& from, const std::string& to)
{
    size_t at = text.find(from);
    g_assert_true(at != std::string::npos);
    return text.replace(at, from.size(), to);
}

// What a machine with every plugin can do; variants below.
sdp::Capabilities everything()
{
    sdp::Capabilities c;
    c.vp8 = { true, true };
    c.h264 = { true, true };
    return c;
}

sdp::Capabilities onlyVp8()
{
    sdp::Capabilities c;
    c.vp8 = { true, true };
    c.h264 = { false, false };
    return c;
}

sdp::Capabilities onlyH264()
{
    sdp::Capabilities c;
    c.vp8 = { false, false };
    c.h264 = { true, true };
    return c;
}

const char* encodingOf(const sdp::MediaChoice& choice)
{
    g_assert_nonnull(choice.caps.get());
    const GstStructure* s = gst_caps_get_structure(choice.caps.get(), 0);
    // The SDP library's application/x-unknown, renamed.
    g_assert_cmpstr(gst_structure_get_name(s), ==, "application/x-rtp");
    return gst_structure_get_string(s, "encoding-name");
}

void expectChoice(const sdp::MediaChoice& choice, int index, const char* mid, int payload, const char* encoding)
{
    g_assert_cmpint(choice.index, ==, index);
    g_assert_cmpstr(choice.mid.c_str(), ==, mid);
    g_assert_cmpint(choice.payload, ==, payload);
    if (encoding)
        g_assert_cmpstr(encodingOf(choice), ==, encoding);
}

void testEveryFileParses()
{
    for (const char* name : { "chromium-offer.sdp", "chromium-answer.sdp", "chromium-offer-inactive-sendonly.sdp",
             "chromium-answer-to-webrtcbin-offer-vp8.sdp", "chromium-answer-to-webrtcbin-offer-h264.sdp", "firefox-offer.sdp",
             "firefox-answer.sdp", "firefox-offer-inactive-sendonly.sdp", "firefox-answer-to-webrtcbin-offer-vp8.sdp",
             "firefox-answer-to-webrtcbin-offer-h264.sdp", "webrtcbin-offer-vp8.sdp", "webrtcbin-offer-h264.sdp" }) {
        GUnique<GstSDPMessage> sdp = file(name);
        g_assert_cmpuint(gst_sdp_message_medias_len(sdp.get()), ==, 3); // audio, video, chat
    }
}

void testChromiumOffer()
{
    GUnique<GstSDPMessage> offer = file("chromium-offer.sdp");
    sdp::MediaChoice audio = sdp::chooseFormat(offer.get(), "audio", everything());
    expectChoice(audio, 0, "0", 111, "OPUS");
    g_assert_true(audio.remoteReceives);
    // VP8 comes first in Chromium's list.
    sdp::MediaChoice video = sdp::chooseFormat(offer.get(), "video", everything());
    expectChoice(video, 1, "1", 96, "VP8");
    g_assert_true(video.codec == VideoCodec::VP8);
    g_assert_true(video.remoteReceives);
}

// Without VP8, the first constrained-baseline H.264 with
// packetization-mode=1: not 102 (42001f, baseline), 104 (mode 0) or 114.
void testChromiumOfferH264()
{
    GUnique<GstSDPMessage> offer = file("chromium-offer.sdp");
    sdp::MediaChoice video = sdp::chooseFormat(offer.get(), "video", onlyH264());
    expectChoice(video, 1, "1", 108, "H264");
    g_assert_true(video.codec == VideoCodec::H264);
    const GstStructure* s = gst_caps_get_structure(video.caps.get(), 0);
    g_assert_cmpstr(gst_structure_get_string(s, "packetization-mode"), ==, "1");
    // Unpinned: the stream's SPS says its profile (docs/webrtcbin-notes.md).
    g_assert_false(gst_structure_has_field(s, "profile-level-id"));
    g_assert_false(gst_structure_has_field(s, "profile"));

    // H.264 we can decode but not encode is no use for a sendrecv m-line.
    sdp::Capabilities decodeOnly = onlyH264();
    decodeOnly.h264.encode = false;
    sdp::MediaChoice none = sdp::chooseFormat(offer.get(), "video", decodeOnly);
    g_assert_cmpint(none.index, ==, 1);
    g_assert_cmpint(none.payload, ==, -1);
}

// Our own H.264-first offer: H.264 when we have it, VP8 when only VP8 is
// decodable here.
void testWebrtcbinOfferH264()
{
    GUnique<GstSDPMessage> offer = file("webrtcbin-offer-h264.sdp");
    expectChoice(sdp::chooseFormat(offer.get(), "video", everything()), 1, "video1", 102, "H264");
    sdp::MediaChoice vp8 = sdp::chooseFormat(offer.get(), "video", onlyVp8());
    expectChoice(vp8, 1, "video1", 96, "VP8");
    g_assert_true(vp8.codec == VideoCodec::VP8);
    expectChoice(sdp::chooseFormat(offer.get(), "audio", everything()), 0, "audio0", 111, "OPUS");
}

void testFirefoxOffer()
{
    GUnique<GstSDPMessage> offer = file("firefox-offer.sdp");
    expectChoice(sdp::chooseFormat(offer.get(), "audio", everything()), 0, "0", 109, "OPUS");
    expectChoice(sdp::chooseFormat(offer.get(), "video", everything()), 1, "1", 120, "VP8");
    // Firefox ESR here offers no H.264 at all.
    sdp::MediaChoice h264 = sdp::chooseFormat(offer.get(), "video", onlyH264());
    g_assert_cmpint(h264.index, ==, 1);
    g_assert_cmpint(h264.payload, ==, -1);
}

// The offerer picks its encoder from the answer.
void testAnswers()
{
    GUnique<GstSDPMessage> chromium = file("chromium-answer.sdp");
    expectChoice(sdp::chooseFormat(chromium.get(), "audio", everything()), 0, "0", 111, "OPUS");
    expectChoice(sdp::chooseFormat(chromium.get(), "video", everything()), 1, "1", 96, "VP8");
    GUnique<GstSDPMessage> firefox = file("firefox-answer.sdp");
    expectChoice(sdp::chooseFormat(firefox.get(), "audio", everything()), 0, "0", 109, "OPUS");
    expectChoice(sdp::chooseFormat(firefox.get(), "video", everything()), 1, "1", 120, "VP8");

    // Answers to our offers keep our mids and payload types.
    GUnique<GstSDPMessage> chromiumH264 = file("chromium-answer-to-webrtcbin-offer-h264.sdp");
    expectChoice(sdp::chooseFormat(chromiumH264.get(), "video", everything()), 1, "video1", 102, "H264");
    expectChoice(sdp::chooseFormat(chromiumH264.get(), "audio", everything()), 0, "audio0", 111, "OPUS");
    GUnique<GstSDPMessage> firefoxH264 = file("firefox-answer-to-webrtcbin-offer-h264.sdp");
    expectChoice(sdp::chooseFormat(firefoxH264.get(), "video", everything()), 1, "video1", 96, "VP8");
    for (const char* name : { "chromium-answer-to-webrtcbin-offer-vp8.sdp", "firefox-answer-to-webrtcbin-offer-vp8.sdp" }) {
        GUnique<GstSDPMessage> answer = file(name);
        sdp::MediaChoice video = sdp::chooseFormat(answer.get(), "video", everything());
        expectChoice(video, 1, "video1", 96, "VP8");
        g_assert_true(video.remoteReceives);
    }
}

void testMids()
{
    GUnique<GstSDPMessage> chromium = file("chromium-offer.sdp");
    g_assert_true((sdp::mids(chromium.get()) == std::vector<std::string> { "0", "1", "2" }));
    GUnique<GstSDPMessage> ours = file("webrtcbin-offer-vp8.sdp");
    g_assert_true((sdp::mids(ours.get()) == std::vector<std::string> { "audio0", "video1", "application2" }));
    GUnique<GstSDPMessage> noMid = parsed(replaced(load("firefox-offer.sdp"), "a=mid:1\r\n", ""));
    g_assert_true((sdp::mids(noMid.get()) == std::vector<std::string> { "0", "", "2" }));
}

// What a re-offer is compared with: Firefox puts ICE credentials on each
// m-line and the fingerprint at session level; Chromium both per m-line.
void testTransportAndMlines()
{
    GUnique<GstSDPMessage> firefox = file("firefox-offer.sdp");
    sdp::Transport t = sdp::transport(firefox.get());
    g_assert_cmpstr(t.ufrag.c_str(), ==, "71cdaac3");
    g_assert_cmpstr(t.pwd.c_str(), ==, "06ac9e0c445cb6be59735a35eb975059");
    g_assert_true(g_str_has_prefix(t.fingerprint.c_str(), "sha-256 E0:06:CF"));
    g_assert_true((sdp::mlines(firefox.get()) == std::vector<std::string> { "audio 0", "video 1", "application 2" }));
    GUnique<GstSDPMessage> chromium = file("chromium-offer.sdp");
    sdp::Transport c = sdp::transport(chromium.get());
    g_assert_cmpstr(c.ufrag.c_str(), ==, "taMW");
    g_assert_true(g_str_has_prefix(c.fingerprint.c_str(), "sha-256 06:37:E3"));
    g_assert_false(c == t);
    GUnique<GstSDPMessage> restart = parsed(replaced(load("firefox-offer.sdp"), "a=ice-ufrag:71cdaac3", "a=ice-ufrag:0bad"));
    g_assert_false(sdp::transport(restart.get()) == t);
    GUnique<GstSDPMessage> inactive = file("firefox-offer-inactive-sendonly.sdp");
    g_assert_cmpint(sdp::direction(inactive.get(), 0), ==, GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_INACTIVE);
    g_assert_cmpint(sdp::direction(inactive.get(), 1), ==, GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY);
    g_assert_cmpint(sdp::direction(firefox.get(), 1), ==, GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV);
    g_assert_cmpint(sdp::direction(firefox.get(), 7), ==, GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_NONE);
}

// webrtcbin's own offers put video (and data) on port 0 with
// a=bundle-only: not rejected. Port 0 without it is.
void testBundleOnly()
{
    std::string text = load("webrtcbin-offer-vp8.sdp");
    g_assert_true(text.find("m=video 0 ") != std::string::npos);
    GUnique<GstSDPMessage> offer = parsed(text);
    expectChoice(sdp::chooseFormat(offer.get(), "video", everything()), 1, "video1", 96, "VP8");

    GUnique<GstSDPMessage> rejected = parsed(replaced(load("chromium-offer.sdp"), "m=video 9 ", "m=video 0 "));
    sdp::MediaChoice video = sdp::chooseFormat(rejected.get(), "video", everything());
    g_assert_cmpint(video.index, ==, -1);
    g_assert_cmpint(video.payload, ==, -1);
    // The audio m-line is untouched by it.
    expectChoice(sdp::chooseFormat(rejected.get(), "audio", everything()), 0, "0", 111, "OPUS");
}

// An m-line the peer only sends on (or neither) is not one we send on.
void testDirections()
{
    for (const char* name : { "chromium-offer-inactive-sendonly.sdp", "firefox-offer-inactive-sendonly.sdp" }) {
        GUnique<GstSDPMessage> offer = file(name);
        sdp::MediaChoice audio = sdp::chooseFormat(offer.get(), "audio", everything()); // inactive
        g_assert_cmpint(audio.index, ==, 0);
        g_assert_cmpint(audio.payload, >=, 0);
        g_assert_false(audio.remoteReceives);
        sdp::MediaChoice video = sdp::chooseFormat(offer.get(), "video", everything()); // sendonly
        g_assert_cmpint(video.index, ==, 1);
        g_assert_cmpint(video.payload, >=, 0);
        g_assert_false(video.remoteReceives);
    }
}

std::vector<std::string> fmtpLines(const GstSDPMessage* sdp, guint m)
{
    std::vector<std::string> out;
    const GstSDPMedia* media = gst_sdp_message_get_media(sdp, m);
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
        const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, i);
        if (g_strcmp0(attr->key, "fmtp") == 0)
            out.emplace_back(attr->value);
    }
    return out;
}

void testFixH264Fmtp()
{
    const std::string ours = load("webrtcbin-offer-h264.sdp");
    const std::string fixedLine = "102 packetization-mode=1;level-asymmetry-allowed=1;profile-level-id=42e01f";
    // What webrtcbin writes from our codec preferences: no profile-level-id.
    {
        GUnique<GstSDPMessage> sdp = parsed(replaced(ours, ";profile-level-id=42e01f", ""));
        sdp::fixH264Fmtp(sdp.get());
        g_assert_true((fmtpLines(sdp.get(), 1) == std::vector<std::string> { fixedLine, "97 apt=102" }));
    }
    // The SDP library's profile= goes.
    {
        GUnique<GstSDPMessage> sdp = parsed(replaced(ours, ";profile-level-id=42e01f", ";profile=constrained-baseline"));
        sdp::fixH264Fmtp(sdp.get());
        g_assert_true((fmtpLines(sdp.get(), 1) == std::vector<std::string> { fixedLine, "97 apt=102" }));
    }
    // No fmtp line for the H.264 payload type: one is added.
    {
        GUnique<GstSDPMessage> sdp
            = parsed(replaced(ours, "a=fmtp:102 packetization-mode=1;level-asymmetry-allowed=1;profile-level-id=42e01f\r\n", ""));
        sdp::fixH264Fmtp(sdp.get());
        g_assert_true((fmtpLines(sdp.get(), 1)
            == std::vector<std::string> { "97 apt=102", "102 packetization-mode=1;profile-level-id=42e01f" }));
    }
    // A profile-level-id that is there stays: fixing twice changes nothing.
    {
        GUnique<GstSDPMessage> sdp = parsed(ours);
        sdp::fixH264Fmtp(sdp.get());
        g_assert_true(sdp::toText(sdp.get()) == ours);
    }
    // SDP without H.264 is left alone.
    {
        std::string firefox = load("firefox-offer.sdp");
        GUnique<GstSDPMessage> sdp = parsed(firefox);
        std::string before = sdp::toText(sdp.get());
        sdp::fixH264Fmtp(sdp.get());
        g_assert_true(sdp::toText(sdp.get()) == before);
    }
}

void testFmtpParams()
{
    using V = std::vector<std::string>;
    g_assert_true(sdp::fmtpParams("") == V {});
    g_assert_true(sdp::fmtpParams(";;") == V {});
    g_assert_true((sdp::fmtpParams(" a=1 ; ;b=2;") == V { "a=1", "b=2" }));
    g_assert_true((sdp::fmtpParams("minptime=10;useinbandfec=1\r\n") == V { "minptime=10", "useinbandfec=1" }));
    g_assert_true((sdp::fmtpParams("0-15") == V { "0-15" }));
}

void testFmtpValue()
{
    GUnique<GstSDPMessage> offer = file("chromium-offer.sdp");
    const GstSDPMedia* video = gst_sdp_message_get_media(offer.get(), 1);
    g_assert_true(sdp::fmtpValue(video, 108, "profile-level-id") == std::string("42e01f"));
    g_assert_true(sdp::fmtpValue(video, 102, "profile-level-id") == std::string("42001f"));
    g_assert_true(sdp::fmtpValue(video, 104, "PACKETIZATION-MODE") == std::string("0"));
    g_assert_true(sdp::fmtpValue(video, 96, "profile-level-id") == std::string("")); // VP8: no fmtp
    g_assert_true(sdp::fmtpValue(video, 108, "no-such-parameter") == std::string(""));

    // "10 " is not "108 ", a parameter without '=' has no value, spaces go.
    GstSDPMedia* media = nullptr;
    gst_sdp_media_new(&media);
    gst_sdp_media_add_attribute(media, "fmtp", "108 a=2");
    gst_sdp_media_add_attribute(media, "fmtp", "10 flag;  a=1 ;b=");
    g_assert_true(sdp::fmtpValue(media, 10, "a") == std::string("1"));
    g_assert_true(sdp::fmtpValue(media, 108, "a") == std::string("2"));
    g_assert_true(sdp::fmtpValue(media, 1, "a") == std::string(""));
    g_assert_true(sdp::fmtpValue(media, 10, "flag") == std::string(""));
    g_assert_true(sdp::fmtpValue(media, 10, "b") == std::string(""));
    g_assert_true(sdp::fmtpValue(media, 10, "A") == std::string("1"));
    gst_sdp_media_free(media);
}

void testConstrainedBaseline()
{
    g_assert_true(sdp::isConstrainedBaseline("42e01f"));
    g_assert_true(sdp::isConstrainedBaseline("42E01F"));
    g_assert_true(sdp::isConstrainedBaseline("42c00d")); // x264 at 320x240
    g_assert_false(sdp::isConstrainedBaseline("42001f")); // baseline
    g_assert_false(sdp::isConstrainedBaseline("4d001f")); // main
    g_assert_false(sdp::isConstrainedBaseline("640c1f")); // constrained high
    g_assert_false(sdp::isConstrainedBaseline(""));
    g_assert_false(sdp::isConstrainedBaseline("42e01"));
    g_assert_false(sdp::isConstrainedBaseline("42e01f0"));
    g_assert_false(sdp::isConstrainedBaseline("42e0zz"));
    g_assert_false(sdp::isConstrainedBaseline(" 42e01"));
}

void testGarbage()
{
    // "" was handed to the SDP library as is: a GLib critical (fatal here,
    // as g_test_init makes criticals fatal).
    for (const char* text : { "", "garbage", "v=0\r\nnot really sdp\r\n", "\x01\x02\x03", "m=" }) {
        std::string error;
        GUnique<GstSDPMessage> sdp = sdp::parse(text, error);
        g_assert_null(sdp.get());
        g_assert_false(error.empty());
    }
    // An offer cut off before its first m-line.
    std::string chromium = load("chromium-offer.sdp");
    std::string error;
    g_assert_null(sdp::parse(chromium.substr(0, chromium.find("m=audio")), error).get());
    g_assert_cmpstr(error.c_str(), ==, "no m-line");
}

std::string capsText(const GRef<GstCaps>& caps)
{
    GUnique<char> text(gst_caps_to_string(caps.get()));
    return text.get();
}

// What our offers carry (docs/protocol.md, "How palaver (the client) reads
// the peer-to-peer points").
void testOfferCaps()
{
    auto encodings = [](const GRef<GstCaps>& caps) {
        std::vector<std::string> out;
        for (guint i = 0; i < gst_caps_get_size(caps.get()); ++i) {
            const GstStructure* s = gst_caps_get_structure(caps.get(), i);
            int pt = 0;
            gst_structure_get_int(s, "payload", &pt);
            out.push_back(std::string(gst_structure_get_string(s, "encoding-name")) + "/" + std::to_string(pt));
        }
        return out;
    };
    using V = std::vector<std::string>;
    g_assert_true((encodings(sdp::offerVideoCaps(VideoCodec::VP8, everything(), true)) == V { "VP8/96", "H264/102" }));
    g_assert_true((encodings(sdp::offerVideoCaps(VideoCodec::H264, everything(), true)) == V { "H264/102", "VP8/96" }));
    // VP8 always; H.264 only where it can be decoded (and encoded, when we send).
    g_assert_true((encodings(sdp::offerVideoCaps(VideoCodec::H264, onlyVp8(), true)) == V { "VP8/96" }));
    sdp::Capabilities decodeOnly = everything();
    decodeOnly.h264.encode = false;
    g_assert_true((encodings(sdp::offerVideoCaps(VideoCodec::VP8, decodeOnly, true)) == V { "VP8/96" }));
    g_assert_true((encodings(sdp::offerVideoCaps(VideoCodec::VP8, decodeOnly, false)) == V { "VP8/96", "H264/102" }));

    g_assert_true(capsText(sdp::offerCaps(VideoCodec::H264, 102)) ==
        "application/x-rtp, media=(string)video, encoding-name=(string)H264, clock-rate=(int)90000, payload=(int)102, "
        "packetization-mode=(string)1, level-asymmetry-allowed=(string)1");
    g_assert_true(capsText(sdp::opusCaps(111)) ==
        "application/x-rtp, media=(string)audio, encoding-name=(string)OPUS, clock-rate=(int)48000, payload=(int)111, "
        "encoding-params=(string)2");
    g_assert_true(capsText(sdp::sendCaps(VideoCodec::VP8, 120)) ==
        "application/x-rtp, media=(string)video, encoding-name=(string)VP8, clock-rate=(int)90000, payload=(int)120");
}

// The TWCC extmap id of each m-line: Chromium 3, Firefox 7 (audio and
// video), none once the lines are gone; ids outside 1-14 and other URIs do
// not count; a direction after the id does.
void testExtmapId()
{
    std::string chromium = load("chromium-offer.sdp");
    GUnique<GstSDPMessage> offer = parsed(chromium);
    for (guint m : { 0u, 1u })
        g_assert_cmpint(sdp::extmapId(gst_sdp_message_get_media(offer.get(), m), sdp::kTwccUri), ==, 3);
    g_assert_cmpint(sdp::chooseFormat(offer.get(), "audio", everything()).twccId, ==, 3);
    g_assert_cmpint(sdp::chooseFormat(offer.get(), "video", everything()).twccId, ==, 3);
    g_assert_cmpint(sdp::extmapId(gst_sdp_message_get_media(offer.get(), 1), "urn:3gpp:video-orientation"), ==, 13);

    GUnique<GstSDPMessage> firefox = file("firefox-offer.sdp");
    g_assert_cmpint(sdp::chooseFormat(firefox.get(), "audio", everything()).twccId, ==, 7);
    g_assert_cmpint(sdp::chooseFormat(firefox.get(), "video", everything()).twccId, ==, 7);
    // a=extmap:2/recvonly urn:ietf:params:rtp-hdrext:csrc-audio-level
    g_assert_cmpint(sdp::extmapId(gst_sdp_message_get_media(firefox.get(), 0), "urn:ietf:params:rtp-hdrext:csrc-audio-level"),
        ==, 2);

    std::string without = chromium;
    for (size_t at; (at = without.find(std::string(" ") + sdp::kTwccUri)) != std::string::npos;) {
        size_t start = without.rfind("a=extmap:", at);
        without.erase(start, without.find("\r\n", at) + 2 - start);
    }
    GUnique<GstSDPMessage> plain = parsed(without);
    g_assert_cmpint(sdp::chooseFormat(plain.get(), "audio", everything()).twccId, ==, -1);
    g_assert_cmpint(sdp::chooseFormat(plain.get(), "video", everything()).twccId, ==, -1);
    g_assert_cmpint(sdp::extmapId(gst_sdp_message_get_media(plain.get(), 1), sdp::kTwccUri), ==, -1);

    // Two-byte header ids (15 and up) and 0 are not ours to use; a URI
    // that only starts like ours is another one.
    for (const char* line : { "a=extmap:15 ", "a=extmap:0 ", "a=extmap:x3 " }) {
        GUnique<GstSDPMessage> odd = parsed(replaced(chromium, "a=extmap:3 ", line));
        g_assert_cmpint(sdp::extmapId(gst_sdp_message_get_media(odd.get(), 0), sdp::kTwccUri), ==, -1);
    }
    GUnique<GstSDPMessage> longer = parsed(replaced(chromium, "transport-wide-cc-extensions-01\r\n",
        "transport-wide-cc-extensions-012\r\n"));
    g_assert_cmpint(sdp::extmapId(gst_sdp_message_get_media(longer.get(), 0), sdp::kTwccUri), ==, -1);
    GUnique<GstSDPMessage> directed = parsed(replaced(chromium, "a=extmap:3 ", "a=extmap:3/sendrecv "));
    g_assert_cmpint(sdp::extmapId(gst_sdp_message_get_media(directed.get(), 0), sdp::kTwccUri), ==, 3);
}

// Exactly one field, in every structure; the caps otherwise unchanged.
void testAddExtmap()
{
    GRef<GstCaps> caps = sdp::offerVideoCaps(VideoCodec::VP8, everything(), true);
    GRef<GstCaps> before = adopt(gst_caps_copy(caps.get()));
    sdp::addExtmap(caps.get(), 7, sdp::kTwccUri);
    g_assert_cmpuint(gst_caps_get_size(caps.get()), ==, 2);
    for (guint i = 0; i < gst_caps_get_size(caps.get()); ++i) {
        const GstStructure* s = gst_caps_get_structure(caps.get(), i);
        const GstStructure* old = gst_caps_get_structure(before.get(), i);
        g_assert_cmpint(gst_structure_n_fields(s), ==, gst_structure_n_fields(old) + 1);
        g_assert_cmpstr(gst_structure_get_string(s, "extmap-7"), ==, sdp::kTwccUri);
    }
    GRef<GstCaps> opus = sdp::opusCaps(111);
    sdp::addExtmap(opus.get(), 3, sdp::kTwccUri);
    g_assert_true(capsText(opus) ==
        "application/x-rtp, media=(string)audio, encoding-name=(string)OPUS, clock-rate=(int)48000, payload=(int)111, "
        "encoding-params=(string)2, extmap-3=(string)http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01");
}

// An answer keeps only the extmaps its offer has on the same m-line.
void testDropUnofferedExtmaps()
{
    std::string firefox = load("firefox-offer.sdp");
    GUnique<GstSDPMessage> answer = parsed(firefox);
    GUnique<GstSDPMessage> same = parsed(firefox);
    sdp::dropUnofferedExtmaps(answer.get(), same.get());
    g_assert_true(sdp::toText(answer.get()) == sdp::toText(same.get()));
    std::string without = firefox;
    for (size_t at; (at = without.find(std::string(" ") + sdp::kTwccUri)) != std::string::npos;) {
        size_t start = without.rfind("a=extmap:", at);
        without.erase(start, without.find("\r\n", at) + 2 - start);
    }
    GUnique<GstSDPMessage> offer = parsed(without);
    sdp::dropUnofferedExtmaps(answer.get(), offer.get());
    g_assert_true(sdp::toText(answer.get()) == sdp::toText(offer.get()));
    for (guint m : { 0u, 1u })
        g_assert_cmpint(sdp::extmapId(gst_sdp_message_get_media(answer.get(), m), sdp::kTwccUri), ==, -1);
    // Another id for the same URI is not what was offered either.
    GUnique<GstSDPMessage> moved = parsed(replaced(firefox, "a=extmap:7 ", "a=extmap:9 "));
    GUnique<GstSDPMessage> firefoxAnswer = parsed(firefox);
    sdp::dropUnofferedExtmaps(firefoxAnswer.get(), moved.get());
    g_assert_cmpint(sdp::extmapId(gst_sdp_message_get_media(firefoxAnswer.get(), 0), sdp::kTwccUri), ==, -1);
    g_assert_cmpint(sdp::extmapId(gst_sdp_message_get_media(firefoxAnswer.get(), 1), sdp::kTwccUri), ==, 7);
}

} // namespace

int main(int argc, char** argv)
{
    gst_init(&argc, &argv);
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/sdp/every-file-parses", testEveryFileParses);
    g_test_add_func("/sdp/choose/chromium-offer", testChromiumOffer);
    g_test_add_func("/sdp/choose/chromium-offer-h264", testChromiumOfferH264);
    g_test_add_func("/sdp/choose/webrtcbin-offer-h264", testWebrtcbinOfferH264);
    g_test_add_func("/sdp/choose/firefox-offer", testFirefoxOffer);
    g_test_add_func("/sdp/choose/answers", testAnswers);
    g_test_add_func("/sdp/mids", testMids);
    g_test_add_func("/sdp/transport-and-mlines", testTransportAndMlines);
    g_test_add_func("/sdp/bundle-only", testBundleOnly);
    g_test_add_func("/sdp/directions", testDirections);
    g_test_add_func("/sdp/fix-h264-fmtp", testFixH264Fmtp);
    g_test_add_func("/sdp/fmtp-params", testFmtpParams);
    g_test_add_func("/sdp/fmtp-value", testFmtpValue);
    g_test_add_func("/sdp/constrained-baseline", testConstrainedBaseline);
    g_test_add_func("/sdp/garbage", testGarbage);
    g_test_add_func("/sdp/offer-caps", testOfferCaps);
    g_test_add_func("/sdp/extmap-id", testExtmapId);
    g_test_add_func("/sdp/add-extmap", testAddExtmap);
    g_test_add_func("/sdp/drop-unoffered-extmaps", testDropUnofferedExtmaps);
    return g_test_run();
}
