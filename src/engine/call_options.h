// What a call is configured with: the command line of `palaver` (and the
// GTK start view) fill one of these.
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace palaver::engine {

inline constexpr const char* kEchoProbeName = "palaver-echo-probe";

enum class VideoCodec { VP8, H264 };

const char* videoCodecName(VideoCodec codec); // "VP8", "H264"
std::optional<VideoCodec> videoCodecFromName(const std::string& name); // case-insensitive, "h.264" too

struct MediaOptions {
    // gst-launch descriptions; empty: the camera / microphone when present,
    // test sources otherwise. "none": send nothing of that kind (the m-line
    // is still offered, receive-only).
    std::string videoSource;
    std::string audioSource;
    VideoCodec videoCodec = VideoCodec::VP8;
    int width = 640;
    int height = 480;
    int framerate = 30;
    int videoBitrateKbps = 1000;
    int audioBitrateKbps = 32;
    // Echo cancellation, noise suppression and gain control (webrtcdsp),
    // applied when a real microphone is used.
    bool audioProcessing = true;
    // The webrtcechoprobe on the output path that echo cancellation reads;
    // empty: no echo cancellation (noise suppression and gain control stay).
    std::string echoProbe = "palaver-echo-probe";
    // Paint the capture time into every sent frame (frame_stamp.h), for
    // latency measurements.
    bool stampFrames = false;
};

struct CallOptions {
    std::string serverUrl = "ws://127.0.0.1:8080/ws";
    std::string room;
    std::string peer; // empty: the server picks one
    std::string token;
    MediaOptions media;
    // webrtcbin's jitterbuffer latency; its 200 ms default is for streaming,
    // not conversation (docs/webrtcbin-notes.md, "ICE, mDNS and TURN").
    unsigned latencyMs = 50;
    // Only these local addresses for ICE (libnice's add-local-ip-address);
    // empty: every interface. Tests keep all media on 127.0.0.1 with it,
    // which libnice otherwise skips.
    std::vector<std::string> iceAddresses;
    // Extra STUN/TURN servers besides those the server sends in `joined`.
    std::string stunServer;
    // Audio and video sinks: real devices (GUI, interactive) or fakesinks.
    bool fakeSinks = false;
    // Read frame stamps from decoded video and keep the latencies.
    bool measureLatency = false;
};

} // namespace palaver::engine
