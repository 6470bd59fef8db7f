// The command line of `palaver`, shared by the headless run and the GTK
// window (a second `palaver` started while the window runs hands its
// arguments to the first process, which parses them with the same code).
#pragma once

#include "call_options.h"
#include "headless.h"

#include <string>
#include <vector>

namespace palaver::app {

struct CommandLine {
    bool headless = false;
    bool realSinks = false;
    // --room given: the window skips its start view and joins at once.
    bool roomGiven = false;
    bool codecGiven = false; // --video-codec (else the window's GSettings)
    std::string screenshot; // --screenshot FILE (window only)
    double screenshotDelayS = 3;
    engine::CallOptions call;
    HeadlessOptions headlessOptions;
};

// Parses argv (the program name first). False with a sentence in `error`
// for bad options; `withGst` adds GStreamer's own options (--gst-debug...),
// which only the first parse of a process may take.
bool parseCommandLine(std::vector<std::string> args, CommandLine& out, std::string& error, bool withGst);

} // namespace palaver::app
