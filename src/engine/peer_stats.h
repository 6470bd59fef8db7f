// A small typed summary of webrtcbin's `get-stats` for one peer connection.
// Every field is optional: webrtcbin 1.22 leaves many out until the
// jitterbuffer exists, never reports jitter in remote-inbound-rtp, and with
// bundle per-SSRC entries can overwrite each other (docs/webrtcbin-notes.md,
// "Statistics").
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <optional>
#include <string>

namespace palaver::engine {

// Cumulative counters read from one get-stats reply.
struct RawStats {
    std::optional<uint64_t> videoBytesIn, audioBytesIn, bytesIn;
    std::optional<uint64_t> videoBytesOut, audioBytesOut, bytesOut;
    std::optional<int64_t> packetsLost;
    std::optional<double> jitterMs; // video inbound, else audio
    std::optional<double> rttMs;
    std::string candidatePair; // "host/udp <-> srflx/udp" (local <-> remote)
};

// What a person (and the headless summary) sees.
struct PeerStats {
    std::optional<double> bitrateInKbps, bitrateOutKbps, fpsIn, jitterMs, rttMs;
    std::optional<int64_t> packetsLost;
    std::string candidatePair;
};

// Reads the reply structure of webrtcbin's get-stats. Thread-safe.
RawStats parseStats(const GstStructure* reply);

// Turns two readings `seconds` apart into rates.
PeerStats summarize(const RawStats& previous, const RawStats& current, double seconds);

} // namespace palaver::engine
