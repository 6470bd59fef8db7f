// `palaver --headless`: the call engine with no window, for tests,
// benchmarks and bots. Logs to stderr; on exit prints one JSON summary line
// on stdout (docs/headless.md describes it).
#pragma once

#include "call.h"
#include "headless_options.h"

#include <string>

namespace palaver::app {

// Exit codes (also in docs/headless.md).
enum ExitCode {
    kExitOk = 0,
    kExitMediaError = 1,
    kExitUsage = 2, // bad options or pipeline description
    kExitServerUnreachable = 3,
    kExitRefused = 4, // room-full, unauthorized, peer-id-taken, ...
};

int runHeadless(const engine::CallOptions& call, const cli::HeadlessOptions& options);

} // namespace palaver::app
