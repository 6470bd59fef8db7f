#include "headless.h"

#include "source.h"

#include <glib-unix.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace palaver::app {

namespace {

class HeadlessRun : public engine::CallObserver {
public:
    HeadlessRun(const engine::CallOptions& callOptions, const cli::HeadlessOptions& options)
        : options_(options)
        , loop_(adopt(g_main_loop_new(nullptr, FALSE)))
        , call_(callOptions, *this)
    {
    }

    int run()
    {
        std::string error;
        if (!call_.start(error)) {
            // A missing plugin is the installation's fault, not the options'.
            bool missing = call_.startFailure() == "missing-element";
            finish(call_.startFailure(), error, missing ? kExitMediaError : kExitUsage);
            print();
            return exitCode_;
        }
        Source sigint = unixSignal(SIGINT, &HeadlessRun::onSignal);
        Source sigterm = unixSignal(SIGTERM, &HeadlessRun::onSignal);
        // SIGUSR1: a fresh connection to every peer (tests and bots; what a
        // "reconnect" button does).
        Source sigusr1 = unixSignal(SIGUSR1, &HeadlessRun::onRestart);
        // SIGUSR2: a new offer to every peer on its live connection (tests).
        Source sigusr2 = unixSignal(SIGUSR2, &HeadlessRun::onRenegotiate);
        Source duration, stats;
        if (options_.durationS > 0)
            duration = Source::once(nullptr, std::chrono::milliseconds(guint(options_.durationS * 1000)),
                [this] { finish("duration", "", kExitOk); });
        if (options_.statsIntervalS > 0)
            stats = Source::every(nullptr, std::chrono::milliseconds(guint(options_.statsIntervalS * 1000)),
                [this] { printStats(); });
        // A fatal error can come before the loop runs (a malformed URL).
        if (exit_.empty())
            g_main_loop_run(loop_.get());
        duration.cancel();
        stats.cancel();
        // Leave politely: the byes, the leave and the close handshake go
        // out, then the pipeline stops (tornDown ends the loop). The signal
        // watches stay: a second Ctrl+C (or a service manager's stop) ends
        // the wait at once, and ~Call finishes what is left.
        tearingDown_ = true;
        call_.hangUp();
        if (!call_.tornDownDone())
            g_main_loop_run(loop_.get());
        print();
        return exitCode_;
    }

private:
    Source unixSignal(int signal, GSourceFunc handler)
    {
        GSource* raw = g_unix_signal_source_new(signal);
        g_source_set_callback(raw, handler, this, nullptr);
        return Source::adopt(nullptr, raw);
    }

    void finish(const std::string& exit, const std::string& error, int code)
    {
        if (!exit_.empty())
            return;
        exit_ = exit;
        error_ = error;
        exitCode_ = code;
        if (!error.empty())
            g_printerr("palaver: %s\n", error.c_str());
        g_main_loop_quit(loop_.get());
    }

    static gboolean onSignal(gpointer data)
    {
        auto* self = static_cast<HeadlessRun*>(data);
        if (self->tearingDown_) {
            g_printerr("palaver: signal during the hang-up: not waiting for it\n");
            g_main_loop_quit(self->loop_.get());
            return G_SOURCE_CONTINUE;
        }
        self->finish("signal", "", kExitOk);
        return G_SOURCE_CONTINUE;
    }
    static gboolean onRenegotiate(gpointer data)
    {
        g_printerr("palaver: SIGUSR2: offering again to every peer on its live connection\n");
        static_cast<HeadlessRun*>(data)->call_.renegotiatePeers();
        return G_SOURCE_CONTINUE;
    }
    static gboolean onRestart(gpointer data)
    {
        g_printerr("palaver: SIGUSR1: restarting every peer connection\n");
        static_cast<HeadlessRun*>(data)->call_.restartPeers();
        return G_SOURCE_CONTINUE;
    }
    void printStats()
    {
        for (const auto& p : call_.peers()) {
            if (!p.present)
                continue;
            const auto& s = p.stats;
            g_printerr("palaver: stats %s: %s, %dx%d %s, frames %" G_GINT64_FORMAT ", fps %.1f, in %.0f kbps, out %.0f "
                       "kbps, lost %" G_GINT64_FORMAT ", jitter %.1f ms, rtt %.1f ms, %s\n",
                p.id.c_str(), p.connectionState.c_str(), p.media.width, p.media.height, p.media.videoCodec.c_str(),
                p.media.videoFrames, s.fpsIn.value_or(0), s.bitrateInKbps.value_or(0), s.bitrateOutKbps.value_or(0),
                s.packetsLost.value_or(0), s.jitterMs.value_or(0), s.rttMs.value_or(0),
                s.candidatePair.empty() ? "no pair yet" : s.candidatePair.c_str());
        }
    }

    // engine::CallObserver
    void mediaStarted() override
    {
        g_printerr("palaver: video: %s\n", call_.media().videoDescription().c_str());
        g_printerr("palaver: audio: %s\n", call_.media().audioDescription().c_str());
    }
    void tornDown() override { g_main_loop_quit(loop_.get()); }
    void joined(const std::string& room, const std::string& peer) override
    {
        g_printerr("palaver: joined room %s as %s\n", room.c_str(), peer.c_str());
    }
    void signalingChanged(bool connected, const std::string& detail) override
    {
        g_printerr("palaver: signaling %s: %s\n", connected ? "up" : "down", detail.c_str());
    }
    void peerAdded(const std::string& peer) override { g_printerr("palaver: peer %s is in the room\n", peer.c_str()); }
    void peerRemoved(const std::string& peer, const std::string& reason) override
    {
        g_printerr("palaver: peer %s is gone (%s)\n", peer.c_str(), reason.c_str());
    }
    void peerUpdated(const engine::PeerSummary& peer) override
    {
        auto& last = lastState_[peer.id];
        std::string state = peer.connectionState + "/" + peer.iceState;
        if (state != last) {
            last = state;
            g_printerr("palaver: peer %s: connection %s, ICE %s\n", peer.id.c_str(), peer.connectionState.c_str(),
                peer.iceState.c_str());
        }
        checkFrames();
    }
    void chatOpened(const std::string& peer) override
    {
        g_printerr("palaver: chat with %s is open\n", peer.c_str());
        if (!options_.sendChat.empty() && chatSent_.insert(peer).second)
            call_.sendChat(options_.sendChat, peer);
    }
    void chatReceived(const std::string& peer, const std::string& text) override
    {
        g_printerr("palaver: chat from %s: %s\n", peer.c_str(), text.c_str());
    }
    void fatal(const std::string& code, const std::string& message) override
    {
        int exitCode = kExitMediaError;
        if (code == "server-unreachable")
            exitCode = kExitServerUnreachable;
        else if (code == "bad-pipeline")
            exitCode = kExitUsage;
        else if (code != "media-error" && code != "missing-element")
            exitCode = kExitRefused;
        finish(code, message, exitCode);
    }

    void checkFrames()
    {
        if (options_.exitAfterFrames <= 0)
            return;
        int done = 0;
        for (const auto& p : call_.peers())
            if (p.present && p.media.videoFrames >= options_.exitAfterFrames)
                ++done;
        if (done >= options_.expectPeers)
            finish("frames", "", kExitOk);
    }

    // Numbers with a fixed number of decimals (a double printed by a JSON
    // library shows 0.69999999999999996 for 0.7); null when unknown.
    static void number(std::string& out, const char* name, std::optional<double> v, int decimals = 1)
    {
        out += '"';
        out += name;
        out += "\":";
        if (!v) {
            out += "null";
            return;
        }
        char buffer[64];
        std::snprintf(buffer, sizeof buffer, "%.*f", decimals, *v);
        out += buffer;
    }
    static void integer(std::string& out, const char* name, std::optional<int64_t> v)
    {
        out += '"';
        out += name;
        out += "\":";
        out += v ? std::to_string(*v) : "null";
    }
    static void string(std::string& out, const char* name, const std::string& v, bool nullIfEmpty = false)
    {
        out += '"';
        out += name;
        out += "\":";
        if (v.empty() && nullIfEmpty)
            out += "null";
        else
            protocol::appendJsonString(out, v);
    }

    // The one line on stdout (docs/headless.md).
    void print()
    {
        std::string out = "{";
        string(out, "room", call_.room());
        out += ',';
        string(out, "peer", call_.peerId(), true);
        out += ',';
        number(out, "joined_ms", call_.joinedMs());
        out += ',';
        string(out, "exit", exit_.empty() ? "signal" : exit_);
        if (!error_.empty()) {
            out += ',';
            string(out, "error", error_);
        }
        out += ",\"peers\":{";
        bool firstPeer = true;
        for (const auto& p : call_.peers()) {
            if (!firstPeer)
                out += ',';
            firstPeer = false;
            protocol::appendJsonString(out, p.id);
            out += ":{";
            number(out, "connected_ms", p.connectedMs);
            out += ',';
            number(out, "first_frame_ms", p.firstFrameMs);
            out += ',';
            number(out, "offer_ms", p.offerMs);
            out += ',';
            integer(out, "connections", p.connections);
            out += ',';
            integer(out, "renegotiations", p.renegotiations);
            out += ',';
            integer(out, "video_frames", p.media.videoFrames);
            out += ',';
            integer(out, "audio_buffers", p.media.audioBuffers);
            out += ',';
            number(out, "audio_level_db", p.media.audioLevelDb);
            out += ',';
            string(out, "video_codec", p.media.videoCodec, true);
            out += ',';
            integer(out, "width", p.media.width);
            out += ',';
            integer(out, "height", p.media.height);
            out += ",\"present\":";
            out += p.present ? "true" : "false";
            out += ',';
            string(out, "state", p.connectionState);
            out += ",\"chat\":[";
            for (size_t i = 0; i < p.chat.size(); ++i) {
                if (i)
                    out += ',';
                protocol::appendJsonString(out, p.chat[i]);
            }
            out += "],\"stats\":{";
            number(out, "bitrate_in_kbps", p.stats.bitrateInKbps, 0);
            out += ',';
            number(out, "bitrate_out_kbps", p.stats.bitrateOutKbps, 0);
            out += ',';
            number(out, "fps_in", p.stats.fpsIn);
            out += ',';
            integer(out, "packets_lost", p.stats.packetsLost);
            out += ',';
            number(out, "jitter_ms", p.stats.jitterMs, 2);
            out += ',';
            number(out, "rtt_ms", p.stats.rttMs, 2);
            out += ',';
            string(out, "candidate_pair", p.stats.candidatePair, true);
            out += "}";
            if (call_.options().measureLatency) {
                // Capture-to-decode latency of stamped frames (--latency-probe).
                auto l = p.media.latencyMs;
                std::sort(l.begin(), l.end());
                auto at = [&l](double q) -> std::optional<double> {
                    if (l.empty())
                        return std::nullopt;
                    return l[std::min(l.size() - 1, size_t(q * double(l.size())))];
                };
                out += ",\"latency_ms\":{";
                number(out, "p50", at(0.5));
                out += ',';
                number(out, "p99", at(0.99));
                out += ',';
                number(out, "max", l.empty() ? std::nullopt : std::optional<double>(l.back()));
                out += ',';
                integer(out, "samples", int64_t(l.size()));
                out += "}";
            }
            out += "}";
        }
        out += "}}";
        std::printf("%s\n", out.c_str());
        std::fflush(stdout);
    }

    cli::HeadlessOptions options_;
    GRef<GMainLoop> loop_;
    engine::Call call_;
    std::string exit_, error_;
    int exitCode_ = kExitOk;
    bool tearingDown_ = false; // the main loop runs only for the hang-up
    std::map<std::string, std::string> lastState_;
    std::set<std::string> chatSent_;
};

} // namespace

int runHeadless(const engine::CallOptions& call, const cli::HeadlessOptions& options)
{
    HeadlessRun run(call, options);
    return run.run();
}

} // namespace palaver::app
