// What a call window takes from the command line: the call it would make
// and the few window-only settings. The headless run's options are not
// here; a window has no use for them.
#pragma once

#include "call_options.h"

#include <string>

namespace palaver::cli {

struct WindowOptions {
    // Also what the headless run calls with (the command line holds one of
    // these, not a second copy).
    engine::CallOptions call;
    // --room given: the window skips its start view and joins at once.
    bool roomGiven = false;
    bool codecGiven = false; // --video-codec (else the window's GSettings)
    std::string screenshot; // --screenshot FILE
    double screenshotDelayS = 3;
};

} // namespace palaver::cli
