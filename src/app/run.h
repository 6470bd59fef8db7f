// `palaver` as a function: main() is only a call to it, so a test program
// can run the very same front ends in-process (tests/call/palaver_without.cpp
// takes elements out of GStreamer's registry first).
#pragma once

namespace palaver::app {

// Parses argv, then runs the window or the headless call; returns the exit
// status (docs/headless.md, "Exit status").
int run(int argc, char** argv);

} // namespace palaver::app
