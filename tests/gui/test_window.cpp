// A CallWindow in this process, linked from the palaver-gui and palaver-cli
// libraries only: no `palaver` executable, no src/app/. That it links at
// all is the point of issue 8 (the window once called the parser compiled
// into `palaver` alone); what it then shows checks that the options the
// command line gives reach the window. Needs a display (xvfb-run, see
// meson.build) but no server: one view shows no call, the other a server
// nobody listens on.
#include "call_window.h"
#include "background.h"
#include "command_line.h"
#include "gref.h"
#include "source.h"

#include <adwaita.h>
#include <gst/gst.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

using namespace palaver;

namespace {

constexpr gint64 kWaitUs = 10 * G_TIME_SPAN_SECOND;
// Nothing listens on port 1 (tcpmux, never served on a test machine): the
// connection is refused at once, with no timeout to wait for.
constexpr const char* kNoServer = "ws://127.0.0.1:1/ws";

GtkApplication* app = nullptr;

cli::CommandLine parse(std::vector<std::string> args)
{
    args.insert(args.begin(), "palaver");
    cli::CommandLine options;
    std::string error;
    // GStreamer is initialised in main(); its options are not wanted here.
    bool ok = cli::parseCommandLine(args, options, error, false);
    if (!ok)
        g_error("parse: %s", error.c_str());
    return options;
}

// Runs the main context until `done` or kWaitUs; fails on the timeout
// instead of hanging.
void iterateUntil(const char* what, const std::function<bool()>& done)
{
    const gint64 deadline = g_get_monotonic_time() + kWaitUs;
    while (!done()) {
        if (g_get_monotonic_time() > deadline)
            g_error("timed out waiting for %s", what);
        g_main_context_iteration(nullptr, FALSE);
        g_usleep(1000);
    }
}

// The first widget under `root` (itself included, depth first) that
// `match` takes.
GtkWidget* find(GtkWidget* root, const std::function<bool(GtkWidget*)>& match)
{
    if (match(root))
        return root;
    for (GtkWidget* child = gtk_widget_get_first_child(root); child; child = gtk_widget_get_next_sibling(child)) {
        if (GtkWidget* found = find(child, match))
            return found;
    }
    return nullptr;
}

// The window's view stack: the one with a "start" page (window.ui).
GtkStack* viewStack(gui::CallWindow& window)
{
    GtkWidget* stack = find(GTK_WIDGET(window.window()),
        [](GtkWidget* w) { return GTK_IS_STACK(w) && gtk_stack_get_child_by_name(GTK_STACK(w), "start"); });
    g_assert_nonnull(stack);
    return GTK_STACK(stack);
}

std::string visiblePage(gui::CallWindow& window)
{
    const char* name = gtk_stack_get_visible_child_name(viewStack(window));
    return name ? name : "";
}

std::string rowText(GtkWidget* page, const char* title)
{
    GtkWidget* row = find(page, [title](GtkWidget* w) {
        return ADW_IS_ENTRY_ROW(w) && g_strcmp0(adw_preferences_row_get_title(ADW_PREFERENCES_ROW(w)), title) == 0;
    });
    g_assert_nonnull(row);
    return gtk_editable_get_text(GTK_EDITABLE(row));
}

void waitMapped(gui::CallWindow& window)
{
    window.present();
    iterateUntil("the window to be mapped", [&window] { return gtk_widget_get_mapped(GTK_WIDGET(window.window())); });
}

// What the window is given is what the command line said, and only that:
// headless options stay behind in the CommandLine.
void testOptions()
{
    cli::CommandLine options = parse({ "--server", kNoServer, "--peer", "kim", "--video-codec", "h264",
        "--screenshot", "shot.png", "--screenshot-delay", "0.5", "--duration", "7", "--send-chat", "hi" });
    g_assert_false(options.headless);
    const cli::WindowOptions& window = options.window;
    g_assert_cmpstr(window.call.serverUrl.c_str(), ==, kNoServer);
    g_assert_cmpstr(window.call.peer.c_str(), ==, "kim");
    g_assert_true(window.call.room.empty());
    g_assert_false(window.roomGiven);
    g_assert_true(window.codecGiven);
    g_assert_true(window.call.media.videoCodec == engine::VideoCodec::H264);
    g_assert_cmpstr(window.screenshot.c_str(), ==, "shot.png");
    g_assert_cmpfloat(window.screenshotDelayS, ==, 0.5);
    g_assert_cmpfloat(options.headlessOptions.durationS, ==, 7);
    g_assert_cmpstr(options.headlessOptions.sendChat.c_str(), ==, "hi");

    cli::CommandLine bad;
    std::string error;
    g_assert_false(cli::parseCommandLine({ "palaver", "--headless" }, bad, error, false));
    g_assert_cmpstr(error.c_str(), ==, "--room is required");
}

// No --room: the start view, its fields filled from the options (no
// GSettings here, so nothing remembered gets in the way).
void testStartView()
{
    cli::CommandLine options = parse({ "--server", kNoServer, "--peer", "kim" });
    gui::CallWindow window(app, std::move(options.window), nullptr, [](gui::CallWindow&) {});
    waitMapped(window);
    // (g_assert_cmpstr keeps its operands' pointers past the statement
    // that made them: compare std::strings, not temporaries' c_str().)
    g_assert_true(visiblePage(window) == "start");
    g_assert_cmpstr(gtk_window_get_title(window.window()), ==, "Palaver");
    GtkWidget* start = gtk_stack_get_child_by_name(viewStack(window), "start");
    const std::string server = rowText(start, "Server"), room = rowText(start, "Room"),
                      name = rowText(start, "Your Name (optional)");
    g_assert_cmpstr(server.c_str(), ==, kNoServer);
    g_assert_cmpstr(room.c_str(), ==, "demo"); // the default: no --room, nothing remembered
    g_assert_cmpstr(name.c_str(), ==, "kim");
    // Not in a call: the call's actions are off, join is on.
    g_assert_false(g_action_group_get_action_enabled(G_ACTION_GROUP(window.window()), "hang-up"));
    g_assert_true(g_action_group_get_action_enabled(G_ACTION_GROUP(window.window()), "join"));
}

// --room joins at once; with nobody at the server's address the error view
// says so and offers to try again. Receive-only, so no camera, microphone
// or encoder is involved.
void testUnreachable()
{
    cli::CommandLine options = parse({ "--server", kNoServer, "--room", "gone", "--peer", "win",
        "--video-source", "none", "--audio-source", "none", "--ice-address", "127.0.0.1" });
    g_assert_true(options.window.roomGiven);
    gui::CallWindow window(app, std::move(options.window), nullptr, [](gui::CallWindow&) {});
    waitMapped(window);
    iterateUntil("the error view", [&window] { return visiblePage(window) == "error"; });
    GtkWidget* errorPage = gtk_stack_get_child_by_name(viewStack(window), "error");
    GtkWidget* status = find(errorPage, [](GtkWidget* w) { return ADW_IS_STATUS_PAGE(w); });
    g_assert_nonnull(status);
    g_assert_cmpstr(adw_status_page_get_title(ADW_STATUS_PAGE(status)), ==, "Can’t Reach the Server");
    g_assert_nonnull(strstr(adw_status_page_get_description(ADW_STATUS_PAGE(status)), kNoServer));
    g_assert_true(g_action_group_get_action_enabled(G_ACTION_GROUP(window.window()), "retry"));
    g_assert_false(g_action_group_get_action_enabled(G_ACTION_GROUP(window.window()), "hang-up"));
}

} // namespace

int main(int argc, char** argv)
{
    gst_init(&argc, &argv);
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/window/options", testOptions);
    g_test_add_func("/window/start-view", testStartView);
    g_test_add_func("/window/unreachable", testUnreachable);

    // The tests run as the application's activation, as `palaver`'s windows
    // open from it: startup has run (gtk_init, adw_init, the resources'
    // style) and g_application_run returns only once every hold is
    // released, which includes each hung-up Call's short teardown
    // (CallWindow::endCall). Exiting before that leaves pipelines running
    // into exit(), which crashes. Non-unique: tests must not find each
    // other on the bus.
    static int status = 1;
    static palaver::Source* teardownTimeout = nullptr;
    palaver::Source teardownLimit;
    teardownTimeout = &teardownLimit;
    GRef<GtkApplication> application = adopt(GTK_APPLICATION(adw_application_new("org.palaver.PalaverWindowTest", G_APPLICATION_NON_UNIQUE)));
    app = application.get();
    g_signal_connect(app, "activate", G_CALLBACK(+[](GApplication*, gpointer) {
        status = g_test_run();
        // What is left to wait for gets as long as the tests had.
        *teardownTimeout = palaver::Source::once(nullptr, std::chrono::milliseconds(kWaitUs / 1000),
            [] { g_error("a hung-up call never finished its teardown"); });
    }), nullptr);
    char name[] = "gui-test-window";
    char* args[] = { name, nullptr };
    int runStatus = g_application_run(G_APPLICATION(app), 1, args);
    teardownLimit.cancel();
    // As palaver's main() does: the DTLS warm-up a Call started must end
    // before exit() runs OpenSSL's cleanup (engine/background.h).
    palaver::engine::awaitBackgroundWork();
    return status ? status : runStatus;
}
