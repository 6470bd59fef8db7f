// The SDP side of a peer connection, on its own: which format of a peer's
// offer or answer we take, the RTP caps of our offers (webrtcbin turns them
// into m-line formats), the a=mid of each m-line, and the H.264 fmtp edit
// browsers need. Pure: GstSDPMessage and GstCaps in, values out; no
// webrtcbin, no pipeline, no LocalMedia (what this machine can encode and
// decode is an input), so the unit tests run it on browsers' real SDP.
#pragma once

#include "call_options.h"
#include "webrtc_ref.h"

#include <string>
#include <string_view>
#include <vector>

namespace palaver::engine::sdp {

// Payload types of our own offers (docs/protocol.md, "How palaver (the
// client) reads the peer-to-peer points"); answers take the offer's numbers.
inline constexpr int kOpusPayload = 111;
inline constexpr int kVp8Payload = 96;
inline constexpr int kH264Payload = 102;

// What this machine can do with a video codec (LocalMedia::canEncode and
// canDecode in the engine; anything in tests).
struct CodecSupport {
    bool encode = false;
    bool decode = false;
};
struct Capabilities {
    CodecSupport vp8 { true, true };
    CodecSupport h264;
    const CodecSupport& of(VideoCodec codec) const { return codec == VideoCodec::VP8 ? vp8 : h264; }
};

// A peer's SDP, or nullptr with a sentence in `error` when it does not
// parse or has no m-line (gst_sdp_message_new_from_text takes nearly any
// text; a description without media is no use to a call either).
GUnique<GstSDPMessage> parse(const std::string& text, std::string& error);
// The SDP as text (CRLF line ends, as sent).
std::string toText(const GstSDPMessage* sdp);

// The a=mid of each m-line, "" where there is none. Candidates carry the
// mid of their m-line: webrtcbin hands out only the index, and browsers
// reject candidates with a wrong mid (docs/webrtcbin-notes.md, "From the
// shared pitfalls page").
std::vector<std::string> mids(const GstSDPMessage* sdp);

// What identifies the ICE and DTLS session a description belongs to: the
// first m-line's ice-ufrag, ice-pwd and fingerprint (media level, else
// session level). A re-offer with other values is an ICE restart or a new
// DTLS session, which webrtcbin 1.22 cannot take on a live connection.
struct Transport {
    std::string ufrag, pwd, fingerprint;
    bool operator==(const Transport&) const = default;
};
Transport transport(const GstSDPMessage* sdp);

// "kind mid" of each m-line ("video 1"): a re-offer keeps the m-lines it
// had, in order (RFC 8829 5.2.2), and may only append.
std::vector<std::string> mlines(const GstSDPMessage* sdp);

// The direction attribute of m-line `index` (sendrecv when there is none).
GstWebRTCRTPTransceiverDirection direction(const GstSDPMessage* sdp, guint index);

// The a=setup value ("actpass", "active", "passive") of the first m-line
// that has one (media level, else session level), or "".
std::string setup(const GstSDPMessage* sdp);
// Our DTLS role after offering a=setup:actpass and setting `remote`'s
// answer, as webrtcbin 1.22.0 settles it (_get_final_setup): "passive"
// when the answer says active, else "active" (passive, or no a=setup).
std::string roleFromRemoteAnswer(const GstSDPMessage* remote);
// Every m-line's a=setup set to `value` (replaced, or added), in place.
void setSetup(GstSDPMessage* sdp, const char* value);

// The format we take from the first usable m-line of one kind.
struct MediaChoice {
    int index = -1; // the m-line; -1: none of that kind (or only rejected ones)
    std::string mid;
    int payload = -1; // -1: the m-line has no format we can use
    VideoCodec codec = VideoCodec::VP8;
    GRef<GstCaps> caps; // application/x-rtp caps of that payload type
    bool remoteReceives = true; // not sendonly or inactive: we may send on it
    int twccId = -1; // the m-line's TWCC extmap id (extmapId), -1: none
};

// For the first m-line of `kind` ("audio" or "video") that is not rejected
// (port 0 without a=bundle-only), the first format in the SDP's order of
// preference that we take: Opus for audio; VP8 when we can decode it, or
// H.264 constrained baseline with packetization-mode=1 when we can encode
// and decode it. The caps of an H.264 choice leave profile-level-id out
// (unpinProfile).
MediaChoice chooseFormat(const GstSDPMessage* sdp, const char* kind, const Capabilities& capabilities);

// RTP caps for one payload type: what a capsfilter after a payloader pins,
// enough for webrtcbin to put the stream into the offer before its encoder
// produced anything (docs/webrtcbin-notes.md, "From the shared pitfalls
// page"), loose enough for the payloader's own fields.
GRef<GstCaps> rtpCaps(const char* media, const char* encoding, int clockRate, int payload);
GRef<GstCaps> sendCaps(VideoCodec codec, int payload);
GRef<GstCaps> opusCaps(int payload);
// The codec preferences of one video format of our offers (H.264 with
// packetization-mode=1 and level-asymmetry-allowed=1).
GRef<GstCaps> offerCaps(VideoCodec codec, int payload);
// The video formats of our offers, in order: `preferred` first, then the
// other; VP8 always (docs/protocol.md, "Media and data between peers"),
// H.264 only when we can decode it, and encode it if we send video.
GRef<GstCaps> offerVideoCaps(VideoCodec preferred, const Capabilities& capabilities, bool sendingVideo);

// Takes profile-level-id (and the SDP library's profile=) out of caps used
// as codec preferences: webrtcbin answers a sink pad's caps query with
// them, and rtph264pay's profile-level-id comes from the encoder's SPS
// (docs/webrtcbin-notes.md).
void unpinProfile(GstCaps* caps);

// The transport-wide congestion control header extension (draft-holmer-
// rmcat-transport-wide-cc-extensions-01). rtpsession 1.22.0 sends TWCC
// feedback (RTPFB fmt 15) only when the negotiated caps carry
// extmap-<id> with this URI (rtptwcc.c); without it browsers get no
// feedback and keep their send rate low (docs/webrtcbin-notes.md,
// "Congestion feedback to browsers").
inline constexpr const char* kTwccUri = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";
// The id of our own offers' TWCC extmap (Chromium's choice too).
inline constexpr int kTwccOfferId = 3;

// The id of `media`'s a=extmap:<id>[/<direction>] <uri> line for `uri`:
// 1-14 (one-byte headers, RFC 8285), -1 when there is none (or only
// out of range).
int extmapId(const GstSDPMedia* media, const char* uri);
// Sets exactly one field, extmap-<id>=(string)<uri>, in every structure of
// `caps` (writable), in place. webrtcbin 1.22.0 writes such a field of the
// codec preferences into its offers and answers unchecked: add only the
// id the offer has. Not gst_sdp_media_attributes_to_caps: in 1.22.0 it
// also leaks ssrc-* fields into the caps (fixed in 1.22.2).
void addExtmap(GstCaps* caps, int id, const char* uri);

// Each m-line's a=extmap:<id> <uri> lines whose id and URI `offer`'s m-line
// of the same index lacks, removed from `answer` in place (RFC 8285: an
// answer may only take offered extensions). webrtcbin 1.22.0 answers a
// re-offer with the extmaps of the codec preferences it negotiated first,
// whatever the re-offer says (our offer had TWCC; a peer's answer without
// it, then its re-offer, do not): Firefox rejects such an answer.
void dropUnofferedExtmaps(GstSDPMessage* answer, const GstSDPMessage* offer);

// The parameters of an a=fmtp value after its payload type ("a=1; b=2"):
// split at ';', trimmed, empty ones dropped.
std::vector<std::string> fmtpParams(std::string_view params);
// One parameter (name case-insensitive) of the a=fmtp line of payload type
// `pt` in `media`, or "".
std::string fmtpValue(const GstSDPMedia* media, int pt, const char* name);
// profile-level-id (six hex digits) names constrained baseline:
// profile_idc 0x42 with constraint_set1 (0x40) set.
bool isConstrainedBaseline(std::string_view profileLevelId);

// Our H.264 fmtp as browsers expect it, in place: profile-level-id=42e01f
// (constrained baseline, level 3.1), which the codec preferences cannot
// carry (unpinProfile), added where missing; the SDP library's "profile="
// dropped. webrtcbin takes a local description edited this way.
void fixH264Fmtp(GstSDPMessage* sdp);

} // namespace palaver::engine::sdp
