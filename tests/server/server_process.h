// A palaver-server child process for one test.
//
//   ServerProcess server({"--max-room-peers", "2"});
//   TestClient a(server);
//
// The constructor starts `palaver-server --host 127.0.0.1 --port 0 ARGS`,
// waits (with a deadline) for its `listening on http://127.0.0.1:PORT` line and
// fails the test if the line does not come. stdout and stderr go to files in a
// temporary directory so that the child can never block on a full pipe.
//
// The destructor sends SIGTERM, and fails the test (g_test_fail) unless the
// server exits with status 0 within a few seconds; under ASan that also turns
// the server's leak reports into failures. Then it SIGKILLs what is left.
#pragma once

#include "harness.h"

#include "gref.h"

#include <gio/gio.h>

#include <memory>
#include <string>
#include <vector>

namespace palaver::test {

struct ExitStatus {
    bool exited = false;   // normal exit; `code` is valid
    int code = -1;
    bool signaled = false; // killed; `signal` is valid
    int signal = 0;
    std::string describe() const;
};

class ServerProcess {
public:
    struct Options {
        // Wait for the `listening on` line (false for start-up failures).
        bool expectListening = true;
        // Prepend `--host 127.0.0.1 --port 0`.
        bool defaultAddress = true;
        int startTimeoutMs = 15000;
        // Fail at destruction unless SIGTERM gives exit status 0.
        bool checkCleanExit = true;
    };

    explicit ServerProcess(std::vector<std::string> args = {});
    ServerProcess(std::vector<std::string> args, Options options);
    ~ServerProcess();
    ServerProcess(const ServerProcess&) = delete;
    ServerProcess& operator=(const ServerProcess&) = delete;

    const std::string& host() const { return host_; }
    int port() const { return port_; }
    bool tls() const { return tls_; }
    // "http://127.0.0.1:PORT" or "https://...".
    std::string httpUrl(std::string_view path = "/") const;
    // "ws://127.0.0.1:PORT/ws" or "wss://...".
    std::string wsUrl(std::string_view path = "/ws") const;
    // The line the server printed, without the newline.
    const std::string& listeningLine() const { return listeningLine_; }

    void sendSignal(int signal);
    bool running() const { return !state_->exited; }
    // Waits for the exit; fails the test when it does not come in time.
    ExitStatus waitExit(int timeoutMs = 10000, std::source_location loc = std::source_location::current());
    std::string stdoutText() const;
    std::string stderrText() const;

private:
    void start(std::vector<std::string> args);
    static void onExited(GObject* source, GAsyncResult* result, gpointer self);

    Options options_;
    TempDir dir_;
    palaver::GRef<GSubprocess> process_;
    // Shared with the wait callback, which holds its own reference.
    struct ExitState {
        bool exited = false;
        ExitStatus status;
    };
    std::shared_ptr<ExitState> state_ = std::make_shared<ExitState>();
    bool waited_ = false; // the test asked for the exit
    std::string host_;
    int port_ = 0;
    bool tls_ = false;
    std::string listeningLine_;
};

// Runs palaver-server with exactly `args` (no default host/port) and waits for
// it to exit; returns its status, stdout and stderr. Fails the test when it is
// still running after timeoutMs.
struct RunResult {
    ExitStatus status;
    std::string out;
    std::string err;
};
RunResult runServerToExit(std::vector<std::string> args, int timeoutMs = 10000,
    std::source_location loc = std::source_location::current());

} // namespace palaver::test
