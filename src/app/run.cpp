// palaver: the call client. With --headless it runs the call engine with no
// window (docs/headless.md); otherwise it opens the GTK window, or runs
// headless with real audio output when there is no display.
#include "run.h"

#include "command_line.h"
#include "headless.h"
#include "background.h"

#ifdef PALAVER_HAVE_GUI
#include "application.h"
#endif

#include <gst/gst.h>

#include <string>
#include <vector>

using namespace palaver;

namespace {

bool haveDisplay()
{
    return g_getenv("DISPLAY") || g_getenv("WAYLAND_DISPLAY");
}

} // namespace

int palaver::app::run(int argc, char** argv)
{
    std::vector<std::string> args(argv, argv + argc);
    cli::CommandLine options;
    std::string error;
    // Parsed here in every mode, so a bad option fails before any window;
    // the GTK application parses again per window (its second instances
    // send their argv to the first).
    if (!cli::parseCommandLine(args, options, error, true)) {
        g_printerr("palaver: %s\nRun 'palaver --help' for the options.\n", error.c_str());
        return app::kExitUsage;
    }
    gst_init(nullptr, nullptr);

    if (!options.headless) {
#ifdef PALAVER_HAVE_GUI
        if (haveDisplay()) {
            int status = gui::runApplication(argc, argv);
            engine::awaitBackgroundWork();
            return status;
        }
        g_printerr("palaver: no display (DISPLAY and WAYLAND_DISPLAY are unset): running the call headless, "
                   "with real audio output and live stats\n");
#else
        g_printerr("palaver: built without the GTK window: running the call headless, with real audio output\n");
#endif
        if (!options.window.roomGiven) {
            g_printerr("palaver: without a window --room is required\n");
            return app::kExitUsage;
        }
        options.realSinks = true;
    }
    engine::CallOptions& call = options.window.call;
    call.fakeSinks = !options.realSinks;
    int status = app::runHeadless(call, options.headlessOptions);
    engine::awaitBackgroundWork();
    return status;
}
