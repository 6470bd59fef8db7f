// `palaver --headless`: the call engine with no window, for tests,
// benchmarks and bots. Logs to stderr; on exit prints one JSON summary line
// on stdout (docs/headless.md describes it).
#pragma once

#include "call.h"

#include <string>

namespace palaver::app {

struct HeadlessOptions {
    double durationS = 0;       // 0: until a signal
    long exitAfterFrames = 0;   // 0: off
    int expectPeers = 1;        // with exitAfterFrames: how many peers must get there
    std::string sendChat;       // sent once on each peer's chat channel
    double statsIntervalS = 5;  // stderr stats lines; 0: off
};

// Exit codes (also in docs/headless.md).
enum ExitCode {
    kExitOk = 0,
    kExitMediaError = 1,
    kExitUsage = 2, // bad options or pipeline description
    kExitServerUnreachable = 3,
    kExitRefused = 4, // room-full, unauthorized, peer-id-taken, ...
};

int runHeadless(const engine::CallOptions& call, const HeadlessOptions& options);

} // namespace palaver::app
