// palaver-server: the signaling server of docs/protocol.md.
#include "config.h"
#include "log_limiter.h"
#include "server.h"
#include "source.h"

#include <glib-unix.h>

#include <csignal>
#include <cstdio>
#include <sys/resource.h>

using namespace palaver;

namespace {

// Each connection is a descriptor; a busy server needs more than the usual
// soft limit of 1024.
void raiseFileLimit()
{
    rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
    }
}

gboolean onSignal(gpointer loop)
{
    g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_REMOVE;
}

} // namespace

int main(int argc, char** argv)
{
    // Before anything logs or any thread starts: GLib takes one writer per
    // process. Repeated library warnings are folded from here on (issue 13).
    server::installLogLimiter();
    // The summaries of what is still held back go out however main() ends.
    struct FlushLog {
        ~FlushLog() { server::flushLogLimiter(); }
    } flushLog;

    server::Config config;
    std::string error;
    if (server::parseConfig(argc, argv, config, error) != server::ConfigStatus::Ok) {
        g_printerr("palaver-server: %s\n", error.c_str());
        return 2;
    }
    std::signal(SIGPIPE, SIG_IGN);
    raiseFileLimit();

    GRef<GMainLoop> loop = adopt(g_main_loop_new(nullptr, FALSE));
    Source signals[2];
    for (int i : { 0, 1 }) {
        GSource* raw = g_unix_signal_source_new(i == 0 ? SIGINT : SIGTERM);
        g_source_set_callback(raw, onSignal, loop.get(), nullptr);
        signals[i] = Source::adopt(nullptr, raw);
    }

    server::Server server(config);
    int exitCode = 1;
    if (!server.start(error, exitCode)) {
        g_printerr("palaver-server: %s\n", error.c_str());
        return exitCode;
    }
    std::printf("listening on %s\n", server.url().c_str());
    std::fflush(stdout);
    g_message("%d worker thread(s); rooms of up to %d peers; frames up to %" G_GUINT64_FORMAT " bytes", config.workers,
        config.maxRoomPeers, config.maxFrameSize);

    g_main_loop_run(loop.get());
    g_message("shutting down");
    server.shutdown();
    return 0;
}
