#include "application.h"

#include "call_window.h"
#include "command_line.h"
#include "gref.h"
#include "paintable_sink.h"
#include "signal_connection.h"
#include "source.h"

#include <adwaita.h>
#include <glib-unix.h>
#include <gst/gst.h>

#include <algorithm>
#include <list>
#include <memory>

namespace palaver::gui {

namespace {

constexpr const char* kAppId = "org.palaver.Palaver";

// The schema is installed by `meson install`; a build run from the build
// tree reads the one compiled there. Without either nothing is remembered,
// which is no reason not to call.
GSettings* openSettings()
{
    GSettingsSchemaSource* installed = g_settings_schema_source_get_default();
    GSettingsSchema* schema = installed ? g_settings_schema_source_lookup(installed, kAppId, TRUE) : nullptr;
#ifdef PALAVER_BUILD_SCHEMA_DIR
    if (!schema && g_file_test(PALAVER_BUILD_SCHEMA_DIR "/gschemas.compiled", G_FILE_TEST_EXISTS)) {
        GSettingsSchemaSource* build = g_settings_schema_source_new_from_directory(PALAVER_BUILD_SCHEMA_DIR, installed, FALSE, nullptr);
        if (build) {
            schema = g_settings_schema_source_lookup(build, kAppId, FALSE);
            g_settings_schema_source_unref(build);
        }
    }
#endif
    if (!schema) {
        g_warning("GSettings schema %s is not installed: the start view will not remember anything", kAppId);
        return nullptr;
    }
    GSettings* settings = g_settings_new_full(schema, nullptr, nullptr);
    g_settings_schema_unref(schema);
    return settings;
}

class Application {
public:
    Application()
        : app_(adopt(GTK_APPLICATION(adw_application_new(kAppId, G_APPLICATION_HANDLES_COMMAND_LINE))))
    {
        // No session bus (a bare console, some CI): one process per window
        // then, rather than no window at all.
        if (!g_getenv("DBUS_SESSION_BUS_ADDRESS")) {
            std::string bus = std::string(g_get_user_runtime_dir()) + "/bus";
            if (!g_file_test(bus.c_str(), G_FILE_TEST_EXISTS))
                g_application_set_flags(G_APPLICATION(app_.get()), GApplicationFlags(G_APPLICATION_HANDLES_COMMAND_LINE | G_APPLICATION_NON_UNIQUE));
        }
        signals_.push_back(connectSignal(app_.get(), "startup", this, &Application::onStartup));
        signals_.push_back(connectSignal(app_.get(), "command-line", this, &Application::onCommandLine));
        signals_.push_back(connectSignal(app_.get(), "activate", this, &Application::onActivate));
        signals_.push_back(connectSignal(app_.get(), "shutdown", this, &Application::onShutdown));
    }

    int run(int argc, char** argv) { return g_application_run(G_APPLICATION(app_.get()), argc, argv); }

private:
    void onStartup(GApplication*)
    {
        settings_ = adopt(openSettings());
        registerPaintableSink();
        g_message("video sink: %s", paintableSinkName());
        GActionEntry entries[] = {
            { "quit", &Application::onQuit, nullptr, nullptr, nullptr, {} },
            { "about", &Application::onAbout, nullptr, nullptr, nullptr, {} },
            { "new-window", &Application::onNewWindow, nullptr, nullptr, nullptr, {} },
        };
        g_action_map_add_action_entries(G_ACTION_MAP(app_.get()), entries, G_N_ELEMENTS(entries), this);
        struct Accel {
            const char* action;
            const char* keys[3];
        };
        static const Accel accels[] = {
            { "app.quit", { "<Control>q", nullptr } },
            { "win.mute", { "<Control>d", nullptr } },
            { "win.camera-off", { "<Control>e", nullptr } },
            { "win.hang-up", { "<Control><Shift>h", nullptr } },
            { "win.chat", { "<Control>t", nullptr } },
            { "win.stats", { "<Control>i", nullptr } },
            { "window.close", { "<Control>w", nullptr } },
        };
        for (const Accel& a : accels)
            gtk_application_set_accels_for_action(app_.get(), a.action, a.keys);
        // Ctrl+C and a service manager's stop: hang up every call first.
        for (auto [signal, source] : { std::pair { SIGINT, &sigint_ }, std::pair { SIGTERM, &sigterm_ } }) {
            GSource* raw = g_unix_signal_source_new(signal);
            g_source_set_callback(raw, &Application::onSignal, this, nullptr);
            *source = Source::adopt(nullptr, raw);
        }
    }

    void onShutdown(GApplication*)
    {
        sigint_.cancel();
        sigterm_.cancel();
        windows_.clear();
        dropped_.clear();
    }

    int onCommandLine(GApplication*, GApplicationCommandLine* commandLine)
    {
        int argc = 0;
        GUnique<char*> argv(g_application_command_line_get_arguments(commandLine, &argc));
        std::vector<std::string> args(argv.get(), argv.get() + argc);
        cli::CommandLine options;
        std::string error;
        // GStreamer's options are taken again (harmless once initialised)
        // so that `palaver --gst-debug=...` opens a window too.
        if (!cli::parseCommandLine(args, options, error, true)) {
            g_application_command_line_printerr(commandLine, "palaver: %s\nRun 'palaver --help' for the options.\n", error.c_str());
            return 2;
        }
        // A second instance's relative paths are relative to where it ran.
        cli::WindowOptions& window = options.window;
        if (!window.screenshot.empty()) {
            GRef<GFile> file = adopt(g_application_command_line_create_file_for_arg(commandLine, window.screenshot.c_str()));
            GUnique<char> path(g_file_get_path(file.get()));
            if (path)
                window.screenshot = path.get();
        }
        // The window keeps only its part; the headless options end here.
        openWindow(std::move(window));
        return 0;
    }

    void onActivate(GApplication*)
    {
        if (windows_.empty())
            openWindow({});
        else
            windows_.back()->present();
    }

    void openWindow(cli::WindowOptions options)
    {
        auto window = std::make_unique<CallWindow>(app_.get(), std::move(options), settings_.get(),
            [this](CallWindow& closed) { closeWindow(closed); });
        window->present();
        windows_.push_back(std::move(window));
    }

    // Called by the window itself: it goes on a later turn of the loop, not
    // inside its own callback.
    void closeWindow(CallWindow& closed)
    {
        auto it = std::find_if(windows_.begin(), windows_.end(), [&closed](const auto& w) { return w.get() == &closed; });
        if (it == windows_.end())
            return;
        dropped_.push_back(std::move(*it));
        windows_.erase(it);
        if (!reaper_)
            reaper_ = Source::idle(nullptr, [this] { dropped_.clear(); });
    }

    void closeAll()
    {
        for (auto& w : windows_)
            w->close();
    }

    static void onQuit(GSimpleAction*, GVariant*, gpointer self) { static_cast<Application*>(self)->closeAll(); }

    static void onNewWindow(GSimpleAction*, GVariant*, gpointer self) { static_cast<Application*>(self)->openWindow({}); }

    static void onAbout(GSimpleAction*, GVariant*, gpointer data)
    {
        auto* self = static_cast<Application*>(data);
        const char* developers[] = { "The Palaver developers", nullptr };
        GtkWindow* parent = gtk_application_get_active_window(self->app_.get());
        GtkWidget* about = adw_about_window_new();
        g_object_set(about,
            "application-name", "Palaver",
            "application-icon", kAppId,
            "version", PALAVER_VERSION,
            "developer-name", "The Palaver developers",
            "developers", developers,
            "license-type", GTK_LICENSE_MIT_X11,
            "comments", "Video calls on the Linux desktop, peer to peer (WebRTC).",
            "transient-for", parent,
            nullptr);
        gtk_window_present(GTK_WINDOW(about));
    }

    // The first Ctrl+C hangs up and closes; a second one (a teardown that
    // hangs) quits at once.
    static gboolean onSignal(gpointer data)
    {
        auto* self = static_cast<Application*>(data);
        if (++self->signals_received_ > 1 || self->windows_.empty()) {
            g_message("signal: quitting");
            g_application_quit(G_APPLICATION(self->app_.get()));
            return G_SOURCE_CONTINUE;
        }
        g_message("signal: hanging up and closing");
        self->closeAll();
        return G_SOURCE_CONTINUE;
    }

    GRef<GtkApplication> app_;
    GRef<GSettings> settings_;
    std::list<std::unique_ptr<CallWindow>> windows_;
    std::vector<std::unique_ptr<CallWindow>> dropped_; // closed: destroyed on the next turn
    Source reaper_;
    std::vector<SignalConnection> signals_;
    Source sigint_, sigterm_;
    int signals_received_ = 0;
};

} // namespace

// Without a GPU, GTK's GL renderer runs on Mesa's llvmpipe: a call window
// then costs 1.6 cores where GTK's cairo renderer needs 0.4 (640x480@30,
// bench/gui/README.md). A machine with no render node (a VM, Xvfb, a
// server) gets the cairo renderer unless GSK_RENDERER says otherwise.
void pickRenderer()
{
    if (g_getenv("GSK_RENDERER"))
        return;
    bool gpu = g_file_test("/dev/nvidia0", G_FILE_TEST_EXISTS);
    if (GDir* dri = g_dir_open("/dev/dri", 0, nullptr)) {
        while (const char* name = g_dir_read_name(dri))
            gpu = gpu || g_str_has_prefix(name, "renderD");
        g_dir_close(dri);
    }
    if (!gpu) {
        g_setenv("GSK_RENDERER", "cairo", FALSE);
        g_message("no GPU render node: drawing with GTK's cairo renderer (GSK_RENDERER to override)");
    }
}

int runApplication(int argc, char** argv)
{
    pickRenderer();
    Application application;
    return application.run(argc, argv);
}

} // namespace palaver::gui
