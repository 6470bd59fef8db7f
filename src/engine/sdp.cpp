#include "sdp.h"

#include <algorithm>
#include <cstring>

namespace palaver::engine::sdp {

namespace {

// The a=fmtp value of `attr` after "<pt> ", or nullptr when it is not the
// fmtp line of `pt` ("10 " must not match "108 ...").
const char* fmtpOf(const GstSDPAttribute* attr, const std::string& pt)
{
    if (g_strcmp0(attr->key, "fmtp") != 0 || !attr->value)
        return nullptr;
    std::string_view value(attr->value);
    if (value.size() <= pt.size() || value.compare(0, pt.size(), pt) != 0 || value[pt.size()] != ' ')
        return nullptr;
    return attr->value + pt.size() + 1;
}

bool startsWith(std::string_view text, std::string_view prefix)
{
    return text.substr(0, prefix.size()) == prefix;
}

} // namespace

GUnique<GstSDPMessage> parse(const std::string& text, std::string& error)
{
    // The SDP library takes an empty text for a programming error (a
    // GLib critical, fatal under G_DEBUG=fatal-criticals); a peer may well
    // send one.
    if (text.empty()) {
        error = "empty";
        return nullptr;
    }
    GstSDPMessage* message = nullptr;
    GstSDPResult result = gst_sdp_message_new_from_text(text.c_str(), &message);
    GUnique<GstSDPMessage> owned(message);
    if (result != GST_SDP_OK || !owned) {
        error = "not SDP";
        return nullptr;
    }
    if (gst_sdp_message_medias_len(owned.get()) == 0) {
        error = "no m-line";
        return nullptr;
    }
    return owned;
}

std::string toText(const GstSDPMessage* sdp)
{
    GUnique<char> text(gst_sdp_message_as_text(sdp));
    return text ? text.get() : "";
}

Transport transport(const GstSDPMessage* sdp)
{
    Transport t;
    const GstSDPMedia* media = gst_sdp_message_medias_len(sdp) ? gst_sdp_message_get_media(sdp, 0) : nullptr;
    auto value = [&](const char* key) -> std::string {
        const char* v = media ? gst_sdp_media_get_attribute_val(media, key) : nullptr;
        if (!v)
            v = gst_sdp_message_get_attribute_val(sdp, key);
        return v ? v : "";
    };
    t.ufrag = value("ice-ufrag");
    t.pwd = value("ice-pwd");
    t.fingerprint = value("fingerprint");
    return t;
}

std::vector<std::string> mlines(const GstSDPMessage* sdp)
{
    std::vector<std::string> out;
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
        const GstSDPMedia* media = gst_sdp_message_get_media(sdp, i);
        const char* mid = gst_sdp_media_get_attribute_val(media, "mid");
        out.push_back(std::string(gst_sdp_media_get_media(media) ? gst_sdp_media_get_media(media) : "") + " "
            + (mid ? mid : ""));
    }
    return out;
}

GstWebRTCRTPTransceiverDirection direction(const GstSDPMessage* sdp, guint index)
{
    if (index >= gst_sdp_message_medias_len(sdp))
        return GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_NONE;
    const GstSDPMedia* media = gst_sdp_message_get_media(sdp, index);
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
        const char* key = gst_sdp_media_get_attribute(media, i)->key;
        if (g_strcmp0(key, "sendonly") == 0)
            return GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY;
        if (g_strcmp0(key, "recvonly") == 0)
            return GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY;
        if (g_strcmp0(key, "inactive") == 0)
            return GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_INACTIVE;
    }
    return GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDRECV;
}

std::string setup(const GstSDPMessage* sdp)
{
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i)
        if (const char* value = gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(sdp, i), "setup"))
            return value;
    const char* value = gst_sdp_message_get_attribute_val(sdp, "setup");
    return value ? value : "";
}

std::string roleFromRemoteAnswer(const GstSDPMessage* remote)
{
    return setup(remote) == "active" ? "passive" : "active";
}

void setSetup(GstSDPMessage* sdp, const char* value)
{
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
        GstSDPMedia* media = const_cast<GstSDPMedia*>(gst_sdp_message_get_media(sdp, i));
        bool replaced = false;
        for (guint a = 0; a < gst_sdp_media_attributes_len(media) && !replaced; ++a) {
            if (g_strcmp0(gst_sdp_media_get_attribute(media, a)->key, "setup") != 0)
                continue;
            GstSDPAttribute attr {};
            gst_sdp_attribute_set(&attr, "setup", value);
            gst_sdp_media_replace_attribute(media, a, &attr); // takes attr's strings
            replaced = true;
        }
        if (!replaced)
            gst_sdp_media_add_attribute(media, "setup", value);
    }
}

std::vector<std::string> mids(const GstSDPMessage* sdp)
{
    std::vector<std::string> out;
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
        const char* mid = gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(sdp, i), "mid");
        out.emplace_back(mid ? mid : "");
    }
    return out;
}

MediaChoice chooseFormat(const GstSDPMessage* sdp, const char* kind, const Capabilities& capabilities)
{
    MediaChoice choice;
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); ++i) {
        const GstSDPMedia* media = gst_sdp_message_get_media(sdp, i);
        if (g_strcmp0(gst_sdp_media_get_media(media), kind) != 0)
            continue;
        // Port 0 rejects an m-line, except one bundled into another
        // (docs/webrtcbin-notes.md: webrtcbin's own offers do that).
        if (gst_sdp_media_get_port(media) == 0 && !gst_sdp_media_get_attribute_val(media, "bundle-only"))
            continue;
        choice.index = int(i);
        if (const char* mid = gst_sdp_media_get_attribute_val(media, "mid"))
            choice.mid = mid;
        if (gst_sdp_media_get_attribute_val(media, "sendonly") || gst_sdp_media_get_attribute_val(media, "inactive"))
            choice.remoteReceives = false;
        choice.twccId = extmapId(media, kTwccUri);
        for (guint f = 0; f < gst_sdp_media_formats_len(media); ++f) {
            int pt = std::atoi(gst_sdp_media_get_format(media, f));
            GRef<GstCaps> caps = adopt(gst_sdp_media_get_caps_from_media(media, pt));
            if (!caps || gst_caps_is_empty(caps.get()))
                continue;
            // The SDP library names them application/x-unknown, which
            // matches nothing as codec preferences (docs/webrtcbin-notes.md).
            caps = adopt(gst_caps_make_writable(caps.release()));
            gst_structure_set_name(gst_caps_get_structure(caps.get(), 0), "application/x-rtp");
            const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
            const char* encoding = gst_structure_get_string(s, "encoding-name");
            if (!encoding)
                continue;
            if (g_ascii_strcasecmp(kind, "audio") == 0) {
                if (g_ascii_strcasecmp(encoding, "OPUS") == 0) {
                    choice.payload = pt;
                    choice.caps = caps;
                    return choice;
                }
                continue;
            }
            if (g_ascii_strcasecmp(encoding, "VP8") == 0 && capabilities.vp8.decode) {
                choice.payload = pt;
                choice.codec = VideoCodec::VP8;
                choice.caps = caps;
                return choice;
            }
            // The SDP library turns profile-level-id into profile=...; read
            // the number from the fmtp line itself.
            std::string profileLevelId = fmtpValue(media, pt, "profile-level-id");
            if (g_ascii_strcasecmp(encoding, "H264") == 0 && capabilities.h264.decode && capabilities.h264.encode
                && g_strcmp0(gst_structure_get_string(s, "packetization-mode"), "1") == 0
                && (isConstrainedBaseline(profileLevelId)
                    || g_strcmp0(gst_structure_get_string(s, "profile"), "constrained-baseline") == 0)) {
                unpinProfile(caps.get());
                choice.payload = pt;
                choice.codec = VideoCodec::H264;
                choice.caps = caps;
                return choice;
            }
        }
        return choice; // the first m-line of that kind is the one
    }
    return choice;
}

GRef<GstCaps> rtpCaps(const char* media, const char* encoding, int clockRate, int payload)
{
    return adopt(gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, media, "encoding-name", G_TYPE_STRING,
        encoding, "clock-rate", G_TYPE_INT, clockRate, "payload", G_TYPE_INT, payload, nullptr));
}

GRef<GstCaps> sendCaps(VideoCodec codec, int payload)
{
    return rtpCaps("video", codec == VideoCodec::VP8 ? "VP8" : "H264", 90000, payload);
}

GRef<GstCaps> opusCaps(int payload)
{
    GRef<GstCaps> caps = rtpCaps("audio", "OPUS", 48000, payload);
    gst_caps_set_simple(caps.get(), "encoding-params", G_TYPE_STRING, "2", nullptr);
    return caps;
}

GRef<GstCaps> offerCaps(VideoCodec codec, int payload)
{
    GRef<GstCaps> caps = sendCaps(codec, payload);
    if (codec == VideoCodec::H264)
        gst_caps_set_simple(caps.get(), "packetization-mode", G_TYPE_STRING, "1", "level-asymmetry-allowed", G_TYPE_STRING,
            "1", nullptr);
    return caps;
}

GRef<GstCaps> offerVideoCaps(VideoCodec preferred, const Capabilities& capabilities, bool sendingVideo)
{
    GRef<GstCaps> caps = adopt(gst_caps_new_empty());
    VideoCodec other = preferred == VideoCodec::VP8 ? VideoCodec::H264 : VideoCodec::VP8;
    for (VideoCodec codec : { preferred, other }) {
        const CodecSupport& support = capabilities.of(codec);
        bool usable = support.decode && (!sendingVideo || support.encode);
        if (usable || codec == VideoCodec::VP8)
            gst_caps_append(caps.get(), offerCaps(codec, codec == VideoCodec::VP8 ? kVp8Payload : kH264Payload).release());
    }
    return caps;
}

void unpinProfile(GstCaps* caps)
{
    for (guint i = 0; i < gst_caps_get_size(caps); ++i)
        gst_structure_remove_fields(gst_caps_get_structure(caps, i), "profile-level-id", "profile", nullptr);
}

int extmapId(const GstSDPMedia* media, const char* uri)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
        const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, i);
        if (g_strcmp0(attr->key, "extmap") != 0 || !attr->value)
            continue;
        // "<id>[/<direction>] <uri>[ <extension attributes>]"
        std::string_view value(attr->value);
        size_t space = value.find(' ');
        if (space == std::string_view::npos)
            continue;
        std::string_view id = value.substr(0, std::min(space, value.find('/')));
        std::string_view rest = value.substr(space + 1);
        while (!rest.empty() && rest.front() == ' ')
            rest.remove_prefix(1);
        std::string_view name = rest.substr(0, rest.find(' '));
        if (name != uri || id.empty() || id.size() > 2)
            continue;
        int number = 0;
        bool digits = true;
        for (char c : id) {
            digits = digits && g_ascii_isdigit(c);
            number = number * 10 + (c - '0');
        }
        if (digits && number >= 1 && number <= 14)
            return number;
    }
    return -1;
}

void addExtmap(GstCaps* caps, int id, const char* uri)
{
    std::string field = "extmap-" + std::to_string(id);
    for (guint i = 0; i < gst_caps_get_size(caps); ++i)
        gst_structure_set(gst_caps_get_structure(caps, i), field.c_str(), G_TYPE_STRING, uri, nullptr);
}

namespace {

// "<id> <uri>" of an a=extmap value, the direction and extension
// attributes left out, or "" when it does not parse.
std::string extmapKey(const char* value)
{
    if (!value)
        return {};
    std::string_view v(value);
    size_t space = v.find(' ');
    if (space == std::string_view::npos)
        return {};
    std::string_view id = v.substr(0, std::min(space, v.find('/')));
    std::string_view rest = v.substr(space + 1);
    while (!rest.empty() && rest.front() == ' ')
        rest.remove_prefix(1);
    return std::string(id) + " " + std::string(rest.substr(0, rest.find(' ')));
}

} // namespace

void dropUnofferedExtmaps(GstSDPMessage* answer, const GstSDPMessage* offer)
{
    for (guint m = 0; m < gst_sdp_message_medias_len(answer); ++m) {
        auto* media = const_cast<GstSDPMedia*>(gst_sdp_message_get_media(answer, m));
        std::vector<std::string> offered;
        if (m < gst_sdp_message_medias_len(offer)) {
            const GstSDPMedia* o = gst_sdp_message_get_media(offer, m);
            for (guint i = 0; i < gst_sdp_media_attributes_len(o); ++i) {
                const GstSDPAttribute* attr = gst_sdp_media_get_attribute(o, i);
                if (g_strcmp0(attr->key, "extmap") == 0)
                    offered.push_back(extmapKey(attr->value));
            }
        }
        for (guint i = gst_sdp_media_attributes_len(media); i-- > 0;) {
            const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, i);
            if (g_strcmp0(attr->key, "extmap") == 0
                && std::find(offered.begin(), offered.end(), extmapKey(attr->value)) == offered.end())
                gst_sdp_media_remove_attribute(media, i);
        }
    }
}

std::vector<std::string> fmtpParams(std::string_view params)
{
    std::vector<std::string> out;
    while (!params.empty()) {
        size_t end = params.find(';');
        std::string_view param = params.substr(0, end);
        params = end == std::string_view::npos ? std::string_view() : params.substr(end + 1);
        while (!param.empty() && g_ascii_isspace(param.front()))
            param.remove_prefix(1);
        while (!param.empty() && g_ascii_isspace(param.back()))
            param.remove_suffix(1);
        if (!param.empty())
            out.emplace_back(param);
    }
    return out;
}

std::string fmtpValue(const GstSDPMedia* media, int pt, const char* name)
{
    std::string number = std::to_string(pt);
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
        const char* params = fmtpOf(gst_sdp_media_get_attribute(media, i), number);
        if (!params)
            continue;
        for (const std::string& param : fmtpParams(params)) {
            auto eq = param.find('=');
            if (eq != std::string::npos && g_ascii_strcasecmp(param.substr(0, eq).c_str(), name) == 0)
                return param.substr(eq + 1);
        }
    }
    return {};
}

bool isConstrainedBaseline(std::string_view profileLevelId)
{
    if (profileLevelId.size() != 6)
        return false;
    unsigned value = 0;
    for (char c : profileLevelId) {
        if (!g_ascii_isxdigit(c))
            return false;
        value = value << 4 | unsigned(g_ascii_xdigit_value(c));
    }
    return (value >> 16) == 0x42 && ((value >> 8) & 0x40);
}

void fixH264Fmtp(GstSDPMessage* sdp)
{
    for (guint m = 0; m < gst_sdp_message_medias_len(sdp); ++m) {
        auto* media = const_cast<GstSDPMedia*>(gst_sdp_message_get_media(sdp, m));
        std::vector<std::string> h264;
        for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
            const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, i);
            if (g_strcmp0(attr->key, "rtpmap") == 0 && attr->value && std::strstr(attr->value, " H264/"))
                h264.emplace_back(std::string(attr->value).substr(0, std::string(attr->value).find(' ')));
        }
        for (const std::string& pt : h264) {
            bool found = false;
            for (guint i = 0; i < gst_sdp_media_attributes_len(media); ++i) {
                const char* value = fmtpOf(gst_sdp_media_get_attribute(media, i), pt);
                if (!value)
                    continue;
                found = true;
                std::string params;
                bool haveProfile = false;
                for (const std::string& param : fmtpParams(value)) {
                    if (startsWith(param, "profile="))
                        continue;
                    if (startsWith(param, "profile-level-id="))
                        haveProfile = true;
                    params += (params.empty() ? "" : ";") + param;
                }
                if (!haveProfile)
                    params += (params.empty() ? "" : ";") + std::string("profile-level-id=42e01f");
                GstSDPAttribute replacement;
                gst_sdp_attribute_set(&replacement, "fmtp", (pt + " " + params).c_str());
                gst_sdp_media_replace_attribute(media, i, &replacement);
                break;
            }
            if (!found)
                gst_sdp_media_add_attribute(media, "fmtp", (pt + " packetization-mode=1;profile-level-id=42e01f").c_str());
        }
    }
}

} // namespace palaver::engine::sdp
