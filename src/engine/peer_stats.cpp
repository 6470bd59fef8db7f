#include "peer_stats.h"

#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <map>
#include <vector>
#include <string_view>

namespace palaver::engine {

namespace {

struct Candidate {
    std::string type, protocol;
};

std::optional<uint64_t> getU64(const GstStructure* s, const char* field)
{
    guint64 v = 0;
    if (gst_structure_get_uint64(s, field, &v))
        return v;
    return std::nullopt;
}

std::optional<double> getDouble(const GstStructure* s, const char* field)
{
    double v = 0;
    if (gst_structure_get_double(s, field, &v))
        return v;
    return std::nullopt;
}

std::string getString(const GstStructure* s, const char* field)
{
    const char* v = gst_structure_get_string(s, field);
    return v ? v : "";
}

void add(std::optional<uint64_t>& total, std::optional<uint64_t> value)
{
    if (value)
        total = total.value_or(0) + *value;
}

// Which kind an RTP stats entry is about: 1.22 has no `kind` member, but
// its codec entry names the payload's media type.
std::string kindOf(const GstStructure* s, const std::map<std::string, std::string>& codecKinds)
{
    std::string kind = getString(s, "kind");
    if (!kind.empty())
        return kind;
    auto it = codecKinds.find(getString(s, "codec-id"));
    return it == codecKinds.end() ? "" : it->second;
}

} // namespace

RawStats parseStats(const GstStructure* reply)
{
    RawStats out;
    if (!reply)
        return out;
    std::map<std::string, std::string> codecKinds;
    std::map<std::string, Candidate> candidates;
    std::string pairLocal, pairRemote;
    std::vector<const GstStructure*> entries;
    int n = gst_structure_n_fields(reply);
    for (int i = 0; i < n; ++i) {
        const GValue* value = gst_structure_get_value(reply, gst_structure_nth_field_name(reply, i));
        if (!GST_VALUE_HOLDS_STRUCTURE(value))
            continue;
        entries.push_back(gst_value_get_structure(value));
    }
    for (const GstStructure* s : entries) {
        GstWebRTCStatsType type;
        if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr))
            continue;
        if (type == GST_WEBRTC_STATS_CODEC) {
            std::string mime = getString(s, "mime-type");
            codecKinds[getString(s, "id")] = mime.rfind("video/", 0) == 0 ? "video" : mime.rfind("audio/", 0) == 0 ? "audio" : "";
        } else if (type == GST_WEBRTC_STATS_LOCAL_CANDIDATE || type == GST_WEBRTC_STATS_REMOTE_CANDIDATE) {
            candidates[getString(s, "id")] = { getString(s, "candidate-type"), getString(s, "protocol") };
        } else if (type == GST_WEBRTC_STATS_CANDIDATE_PAIR) {
            pairLocal = getString(s, "local-candidate-id");
            pairRemote = getString(s, "remote-candidate-id");
        }
    }
    for (const GstStructure* s : entries) {
        GstWebRTCStatsType type;
        if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr))
            continue;
        std::string kind = kindOf(s, codecKinds);
        if (type == GST_WEBRTC_STATS_INBOUND_RTP) {
            auto bytes = getU64(s, "bytes-received");
            add(out.bytesIn, bytes);
            add(kind == "video" ? out.videoBytesIn : out.audioBytesIn, bytes);
            gint64 lost = 0;
            // packets-lost is a signed int in 1.22 (RFC 3550's cumulative loss).
            if (gst_structure_get_int64(s, "packets-lost", &lost))
                out.packetsLost = out.packetsLost.value_or(0) + std::max<gint64>(lost, 0);
            if (auto jitter = getDouble(s, "jitter"); jitter && (kind == "video" || !out.jitterMs))
                out.jitterMs = *jitter * 1000.0; // seconds in the stats
        } else if (type == GST_WEBRTC_STATS_OUTBOUND_RTP) {
            auto bytes = getU64(s, "bytes-sent");
            add(out.bytesOut, bytes);
            add(kind == "video" ? out.videoBytesOut : out.audioBytesOut, bytes);
        } else if (type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP) {
            if (auto rtt = getDouble(s, "round-trip-time"); rtt && *rtt > 0)
                out.rttMs = std::max(out.rttMs.value_or(0), *rtt * 1000.0);
        }
    }
    if (!pairLocal.empty() || !pairRemote.empty()) {
        // webrtcbin 1.22.0 swaps the `type` of the candidate entries
        // (local-candidate vs remote-candidate, a strcmp bug fixed in 1.22.5);
        // the pair's ids are right. So entries are found by id, whatever
        // their type says.
        Candidate local = candidates[pairLocal];
        Candidate remote = candidates[pairRemote];
        auto text = [](const Candidate& c) {
            return (c.type.empty() ? std::string("?") : c.type) + "/" + (c.protocol.empty() ? std::string("?") : c.protocol);
        };
        out.candidatePair = text(local) + " <-> " + text(remote);
    }
    return out;
}

PeerStats summarize(const RawStats& previous, const RawStats& current, double seconds)
{
    PeerStats out;
    auto rate = [seconds](std::optional<uint64_t> a, std::optional<uint64_t> b) -> std::optional<double> {
        if (!a || !b || seconds <= 0 || *b < *a)
            return std::nullopt;
        return double(*b - *a) * 8.0 / 1000.0 / seconds;
    };
    out.bitrateInKbps = rate(previous.bytesIn, current.bytesIn);
    out.bitrateOutKbps = rate(previous.bytesOut, current.bytesOut);
    out.packetsLost = current.packetsLost;
    out.jitterMs = current.jitterMs;
    out.rttMs = current.rttMs;
    out.candidatePair = current.candidatePair;
    return out;
}

} // namespace palaver::engine
