// The GTK application: one process, one window per call. A second
// `palaver` started while one runs hands its command line to the first
// (GApplication), which opens another window; so `make demo` shows two
// windows from one process.
#pragma once

namespace palaver::gui {

// Runs the GTK application on argv; returns the exit status.
int runApplication(int argc, char** argv);

} // namespace palaver::gui
