// What `palaver --headless` takes from the command line besides the call
// itself (src/app/headless.h runs it; docs/headless.md describes it).
#pragma once

#include <string>

namespace palaver::cli {

struct HeadlessOptions {
    double durationS = 0;       // 0: until a signal
    long exitAfterFrames = 0;   // 0: off
    int expectPeers = 1;        // with exitAfterFrames: how many peers must get there
    std::string sendChat;       // sent once on each peer's chat channel
    double statsIntervalS = 5;  // stderr stats lines; 0: off
};

} // namespace palaver::cli
