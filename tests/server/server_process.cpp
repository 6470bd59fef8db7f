#include "server_process.h"

#include <csignal>
#include <memory>
#include <regex>

namespace palaver::test {

std::string ExitStatus::describe() const
{
    if (exited)
        return format("exit status %d", code);
    if (signaled)
        return format("killed by signal %d (%s)", signal, g_strsignal(signal));
    return "still running";
}

namespace {

std::string readFile(const std::string& path)
{
    char* text = nullptr;
    gsize length = 0;
    if (!g_file_get_contents(path.c_str(), &text, &length, nullptr))
        return {};
    std::string out(text, length);
    g_free(text);
    return out;
}

std::string tail(const std::string& s, size_t n = 3000)
{
    return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

} // namespace

ServerProcess::ServerProcess(std::vector<std::string> args) : ServerProcess(std::move(args), Options {}) {}

ServerProcess::ServerProcess(std::vector<std::string> args, Options options) : options_(options)
{
    start(std::move(args));
}

void ServerProcess::onExited(GObject* source, GAsyncResult* result, gpointer data)
{
    auto* state = static_cast<std::shared_ptr<ServerProcess::ExitState>*>(data);
    GSubprocess* process = G_SUBPROCESS(source);
    g_subprocess_wait_finish(process, result, nullptr);
    ExitStatus& s = (*state)->status;
    if (g_subprocess_get_if_exited(process)) {
        s.exited = true;
        s.code = g_subprocess_get_exit_status(process);
    } else if (g_subprocess_get_if_signaled(process)) {
        s.signaled = true;
        s.signal = g_subprocess_get_term_sig(process);
    }
    (*state)->exited = true;
    delete state;
}

void ServerProcess::start(std::vector<std::string> args)
{
    std::vector<std::string> argv { serverPath() };
    if (options_.defaultAddress) {
        argv.insert(argv.end(), { "--host", "127.0.0.1", "--port", "0" });
    }
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<const char*> cargv;
    for (const auto& a : argv)
        cargv.push_back(a.c_str());
    cargv.push_back(nullptr);

    auto launcher = palaver::adopt(g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_NONE));
    g_subprocess_launcher_set_stdout_file_path(launcher.get(), dir_.file("stdout").c_str());
    g_subprocess_launcher_set_stderr_file_path(launcher.get(), dir_.file("stderr").c_str());
    GError* error = nullptr;
    process_ = palaver::adopt(g_subprocess_launcher_spawnv(launcher.get(), cargv.data(), &error));
    if (!process_) {
        std::string m = error->message;
        g_error_free(error);
        fail("cannot start " + argv[0] + ": " + m);
    }

    g_subprocess_wait_async(process_.get(), nullptr, onExited, new std::shared_ptr<ExitState>(state_));

    if (!options_.expectListening)
        return;

    // The line is flushed to a file: poll it.
    static const std::regex line(R"(^listening on (https?)://([0-9.]+):([0-9]+)$)");
    const int64_t deadline = nowMs() + options_.startTimeoutMs;
    while (true) {
        std::string out = stdoutText();
        size_t nl = out.find('\n');
        if (nl != std::string::npos) {
            listeningLine_ = out.substr(0, nl);
            std::smatch m;
            if (!std::regex_match(listeningLine_, m, line))
                fail("first line on stdout is not `listening on http://HOST:PORT`: \"" + listeningLine_ + "\"");
            tls_ = m[1] == "https";
            host_ = m[2];
            port_ = std::stoi(m[3]);
            if (port_ <= 0 || port_ > 65535)
                fail("bad port in " + listeningLine_);
            return;
        }
        if (state_->exited)
            fail("palaver-server exited before listening (" + state_->status.describe() + "); stderr:\n"
                + tail(stderrText()));
        if (nowMs() > deadline)
            fail(format("palaver-server printed no `listening on` line within %d ms; stderr:\n%s",
                options_.startTimeoutMs, tail(stderrText()).c_str()));
        pumpFor(5);
    }
}

ServerProcess::~ServerProcess()
{
    if (!process_)
        return;
    bool wasRunning = !state_->exited;
    if (wasRunning) {
        g_subprocess_send_signal(process_.get(), SIGTERM);
        pumpUntil([this] { return state_->exited; }, 10000);
        if (!state_->exited) {
            g_test_message("FAIL palaver-server did not exit within 10 s of SIGTERM; killing it");
            g_test_fail();
            g_subprocess_force_exit(process_.get());
            pumpUntil([this] { return state_->exited; }, 10000);
        } else if (options_.checkCleanExit && !(state_->status.exited && state_->status.code == 0)) {
            g_test_message("FAIL palaver-server %s after SIGTERM at the end of the test (expected exit status 0)",
                state_->status.describe().c_str());
            g_printerr("FAIL %s: palaver-server %s after SIGTERM; stderr:\n%s\n", g_test_get_path(),
                state_->status.describe().c_str(), tail(stderrText()).c_str());
            g_test_fail();
        }
    } else if (options_.checkCleanExit && !waited_) {
        g_test_message("FAIL palaver-server exited during the test (%s)", state_->status.describe().c_str());
        g_printerr("FAIL %s: palaver-server exited during the test (%s); stderr:\n%s\n", g_test_get_path(),
            state_->status.describe().c_str(), tail(stderrText()).c_str());
        g_test_fail();
    }
}

std::string ServerProcess::httpUrl(std::string_view path) const
{
    return format("%s://%s:%d", tls_ ? "https" : "http", host_.c_str(), port_) + std::string(path);
}

std::string ServerProcess::wsUrl(std::string_view path) const
{
    return format("%s://%s:%d", tls_ ? "wss" : "ws", host_.c_str(), port_) + std::string(path);
}

void ServerProcess::sendSignal(int signal)
{
    if (!state_->exited)
        g_subprocess_send_signal(process_.get(), signal);
}

ExitStatus ServerProcess::waitExit(int timeoutMs, std::source_location loc)
{
    waited_ = true;
    if (!pumpUntil([this] { return state_->exited; }, timeoutMs))
        fail(format("palaver-server still running %d ms later", timeoutMs), loc);
    return state_->status;
}

std::string ServerProcess::stdoutText() const
{
    return readFile(dir_.file("stdout"));
}

std::string ServerProcess::stderrText() const
{
    return readFile(dir_.file("stderr"));
}

RunResult runServerToExit(std::vector<std::string> args, int timeoutMs, std::source_location loc)
{
    ServerProcess::Options options;
    options.expectListening = false;
    options.defaultAddress = false;
    options.checkCleanExit = false;
    ServerProcess server(std::move(args), options);
    // Fail early (not after the whole timeout) if it starts listening.
    const int64_t deadline = nowMs() + timeoutMs;
    while (server.running() && nowMs() < deadline) {
        if (server.stdoutText().find("listening on") != std::string::npos)
            fail("palaver-server started listening; stdout: " + server.stdoutText(), loc);
        pumpFor(10);
    }
    RunResult result;
    result.status = server.waitExit(100, loc);
    result.out = server.stdoutText();
    result.err = server.stderrText();
    return result;
}

} // namespace palaver::test
