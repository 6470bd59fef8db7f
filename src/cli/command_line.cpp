#include "command_line.h"

#include "gref.h"
#include "messages.h"

#include <gst/gst.h>

namespace palaver::cli {

namespace {

struct Args {
    gboolean headless = FALSE;
    char* server = nullptr;
    char* room = nullptr;
    char* peer = nullptr;
    char* token = nullptr;
    char* videoSource = nullptr;
    char* audioSource = nullptr;
    char* videoCodec = nullptr;
    int width = 640, height = 480, framerate = 30, bitrate = 1000, latency = 50;
    gboolean noAudioProcessing = FALSE;
    gboolean realSinks = FALSE;
    double duration = 0;
    gint64 exitAfterFrames = 0;
    int expectPeers = 1;
    char* sendChat = nullptr;
    double statsInterval = 5;
    char* stun = nullptr;
    char** iceAddresses = nullptr;
    gboolean latencyProbe = FALSE;
    char* screenshot = nullptr;
    double screenshotDelay = 3;

    Args() = default;
    Args(const Args&) = delete;
    Args& operator=(const Args&) = delete;
    ~Args()
    {
        for (char* s : { server, room, peer, token, videoSource, audioSource, videoCodec, sendChat, stun, screenshot })
            g_free(s);
        g_strfreev(iceAddresses);
    }
};

const char* kIdRule = "1 to 64 characters of A-Z, a-z, 0-9, '.', '_' and '-'";

} // namespace

bool parseCommandLine(std::vector<std::string> args, CommandLine& out, std::string& error, bool withGst)
{
    Args a;
    GOptionEntry entries[] = {
        { "headless", 0, 0, G_OPTION_ARG_NONE, &a.headless, "Run without a window (tests, bots, benchmarks)", nullptr },
        { "server", 's', 0, G_OPTION_ARG_STRING, &a.server, "Signaling server (default ws://127.0.0.1:8080/ws)", "URL" },
        { "room", 'r', 0, G_OPTION_ARG_STRING, &a.room, "Room to join (the window: join at once, no start view)", "ROOM" },
        { "peer", 'p', 0, G_OPTION_ARG_STRING, &a.peer, "Your peer id (default: the server picks one)", "NAME" },
        { "token", 0, 0, G_OPTION_ARG_STRING, &a.token, "Join token (HS256 JWT) for servers that require one", "JWT" },
        { "video-source", 0, 0, G_OPTION_ARG_STRING, &a.videoSource,
            "gst-launch description of the video source, or 'none' (default: camera, else a test pattern)", "DESC" },
        { "audio-source", 0, 0, G_OPTION_ARG_STRING, &a.audioSource,
            "gst-launch description of the audio source, or 'none' (default: microphone, else a test tone)", "DESC" },
        { "video-codec", 0, 0, G_OPTION_ARG_STRING, &a.videoCodec, "Preferred video codec: vp8 (default) or h264", "CODEC" },
        { "width", 0, 0, G_OPTION_ARG_INT, &a.width, "Video width (default 640)", "PX" },
        { "height", 0, 0, G_OPTION_ARG_INT, &a.height, "Video height (default 480)", "PX" },
        { "framerate", 0, 0, G_OPTION_ARG_INT, &a.framerate, "Frames per second (default 30)", "FPS" },
        { "bitrate", 0, 0, G_OPTION_ARG_INT, &a.bitrate, "Video bitrate in kbit/s (default 1000)", "KBPS" },
        { "latency", 0, 0, G_OPTION_ARG_INT, &a.latency, "Receive jitterbuffer latency in ms (default 50)", "MS" },
        { "no-audio-processing", 0, 0, G_OPTION_ARG_NONE, &a.noAudioProcessing,
            "No echo cancellation, noise suppression or gain control on the microphone", nullptr },
        { "real-sinks", 0, 0, G_OPTION_ARG_NONE, &a.realSinks, "Headless: play audio and video on real devices", nullptr },
        { "duration", 0, 0, G_OPTION_ARG_DOUBLE, &a.duration, "Headless: leave after this many seconds", "S" },
        { "exit-after-frames", 0, 0, G_OPTION_ARG_INT64, &a.exitAfterFrames,
            "Headless: leave once --expect-peers peers each sent us N decoded video frames", "N" },
        { "expect-peers", 0, 0, G_OPTION_ARG_INT, &a.expectPeers, "With --exit-after-frames (default 1)", "K" },
        { "send-chat", 0, 0, G_OPTION_ARG_STRING, &a.sendChat, "Send TEXT once on each peer's chat channel", "TEXT" },
        { "stats-interval", 0, 0, G_OPTION_ARG_DOUBLE, &a.statsInterval, "Headless: seconds between stats lines on stderr (0: off)", "S" },
        { "latency-probe", 0, 0, G_OPTION_ARG_NONE, &a.latencyProbe,
            "Paint the capture time into sent frames and measure capture-to-decode latency of received ones", nullptr },
        { "ice-address", 0, 0, G_OPTION_ARG_STRING_ARRAY, &a.iceAddresses,
            "Use only this local address for ICE (repeatable; default: every interface)", "ADDR" },
        { "stun", 0, 0, G_OPTION_ARG_STRING, &a.stun, "A STUN server (stun://HOST:PORT) besides the server's", "URL" },
        { "screenshot", 0, 0, G_OPTION_ARG_FILENAME, &a.screenshot,
            "Window: save a PNG of the window once video shows (debugging, docs)", "FILE" },
        { "screenshot-delay", 0, 0, G_OPTION_ARG_DOUBLE, &a.screenshotDelay,
            "With --screenshot: seconds after the first remote frame (default 3)", "S" },
        {},
    };
    GUnique<GOptionContext> context(g_option_context_new("- Palaver video calls"));
    g_option_context_add_main_entries(context.get(), entries, nullptr);
    if (withGst)
        g_option_context_add_group(context.get(), gst_init_get_option_group());
    // g_option_context_parse edits the array it is given: parse a copy.
    std::vector<char*> argv;
    for (std::string& arg : args)
        argv.push_back(arg.data());
    argv.push_back(nullptr);
    int argc = int(args.size());
    char** argvp = argv.data();
    GUnique<GError> gerror;
    if (!g_option_context_parse(context.get(), &argc, &argvp, gerror.outPtr())) {
        error = errorMessage(gerror);
        return false;
    }
    if (argc > 1) {
        error = std::string("unexpected argument '") + argvp[1] + "'";
        return false;
    }

    WindowOptions& window = out.window;
    engine::CallOptions& call = window.call;
    out.headless = a.headless;
    out.realSinks = a.realSinks;
    if (a.server) {
        call.serverUrl = a.server;
        GRef<GUri> uri = adopt(g_uri_parse(a.server, G_URI_FLAGS_NONE, nullptr));
        const char* scheme = uri ? g_uri_get_scheme(uri.get()) : nullptr;
        const char* host = uri ? g_uri_get_host(uri.get()) : nullptr;
        if (!scheme || (g_ascii_strcasecmp(scheme, "ws") != 0 && g_ascii_strcasecmp(scheme, "wss") != 0) || !host || !*host) {
            error = std::string("--server takes a ws:// or wss:// URL, not '") + a.server + "'";
            return false;
        }
    }
    if (a.room) {
        call.room = a.room;
        if (!protocol::isValidId(call.room)) {
            error = std::string("room names are ") + kIdRule;
            return false;
        }
        window.roomGiven = true;
    } else if (a.headless) {
        error = "--room is required";
        return false;
    }
    if (a.peer) {
        call.peer = a.peer;
        if (!protocol::isValidId(call.peer)) {
            error = std::string("peer names are ") + kIdRule;
            return false;
        }
    }
    if (a.token)
        call.token = a.token;
    if (a.videoSource)
        call.media.videoSource = a.videoSource;
    if (a.audioSource)
        call.media.audioSource = a.audioSource;
    if (a.videoCodec) {
        auto codec = engine::videoCodecFromName(a.videoCodec);
        if (!codec) {
            error = std::string("unknown video codec '") + a.videoCodec + "' (vp8 or h264)";
            return false;
        }
        call.media.videoCodec = *codec;
        window.codecGiven = true;
    }
    if (a.width < 16 || a.height < 16 || a.width > 7680 || a.height > 4320 || a.framerate < 1 || a.framerate > 120) {
        error = "--width, --height or --framerate out of range";
        return false;
    }
    if (a.bitrate < 16 || a.bitrate > 100000) {
        error = "--bitrate must be between 16 and 100000 kbit/s";
        return false;
    }
    if (a.latency < 0 || a.latency > 5000) {
        error = "--latency must be between 0 and 5000 ms";
        return false;
    }
    call.media.width = a.width;
    call.media.height = a.height;
    call.media.framerate = a.framerate;
    call.media.videoBitrateKbps = a.bitrate;
    call.media.audioProcessing = !a.noAudioProcessing;
    call.latencyMs = unsigned(a.latency);
    if (a.stun)
        call.stunServer = a.stun;
    for (char** address = a.iceAddresses; address && *address; ++address) {
        GRef<GInetAddress> parsed = adopt(g_inet_address_new_from_string(*address));
        if (!parsed) {
            error = std::string("--ice-address takes an IP address, not '") + *address + "'";
            return false;
        }
        call.iceAddresses.emplace_back(*address);
    }
    call.media.stampFrames = a.latencyProbe;
    call.measureLatency = a.latencyProbe;

    HeadlessOptions& headless = out.headlessOptions;
    if (a.duration < 0 || a.exitAfterFrames < 0 || a.expectPeers < 1) {
        error = "--duration, --exit-after-frames and --expect-peers must be positive";
        return false;
    }
    headless.durationS = a.duration;
    headless.exitAfterFrames = long(a.exitAfterFrames);
    headless.expectPeers = a.expectPeers;
    headless.statsIntervalS = a.statsInterval;
    if (a.sendChat)
        headless.sendChat = a.sendChat;
    if (a.screenshot)
        window.screenshot = a.screenshot;
    if (a.screenshotDelay < 0) {
        error = "--screenshot-delay must not be negative";
        return false;
    }
    window.screenshotDelayS = a.screenshotDelay;
    return true;
}

} // namespace palaver::cli
