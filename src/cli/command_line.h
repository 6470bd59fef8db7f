// The command line of `palaver`, shared by the headless run and the GTK
// window (a second `palaver` started while the window runs hands its
// arguments to the first process, which parses them with the same code).
// It lives in its own library below both front ends (src/gui/ and
// src/app/) so that each links without the other.
#pragma once

#include "headless_options.h"
#include "window_options.h"

#include <string>
#include <vector>

namespace palaver::cli {

struct CommandLine {
    bool headless = false;
    bool realSinks = false;
    // The call (window.call, which a headless run makes too) and what a
    // window needs besides.
    WindowOptions window;
    HeadlessOptions headlessOptions;
};

// Parses argv (the program name first). False with a sentence in `error`
// for bad options; `withGst` adds GStreamer's own options (--gst-debug...),
// which only the first parse of a process may take.
bool parseCommandLine(std::vector<std::string> args, CommandLine& out, std::string& error, bool withGst);

} // namespace palaver::cli
