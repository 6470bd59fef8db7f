// One call window: the start view (server, room, name), the call view
// (remote tiles in a grid, our mirrored preview, controls, chat, stats) and
// the error view. Owns the engine::Call it shows and hears it as its
// CallObserver. Main thread only.
//
// The window's actions (win.*) are what its buttons and shortcuts do; GTK
// exports them on the session bus too, which is how the gui tests drive it.
#pragma once

#include "call.h"
#include "gref.h"
#include "peer_tile.h"
#include "signal_connection.h"
#include "source.h"
#include "window_options.h"

#include <adwaita.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace palaver::gui {

class CallWindow {
public:
    // `closed` runs (from an idle callback) once the window is gone; the
    // application then drops this object.
    CallWindow(GtkApplication* app, cli::WindowOptions options, GSettings* settings, std::function<void(CallWindow&)> closed);
    ~CallWindow();
    CallWindow(const CallWindow&) = delete;
    CallWindow& operator=(const CallWindow&) = delete;

    GtkWindow* window() const { return GTK_WINDOW(window_.get()); }
    void present();
    // Hangs up (the others get a bye) and closes the window.
    void close();
    // Renders the window (as it is on screen now) into a PNG file.
    bool screenshot(const std::string& path, std::string& error);

private:
    // A Call's observer: passes its events on to the window while it is the
    // window's call, and drops those of a call that is hanging up (it still
    // reports its peers' teardown for a moment after the window moved on),
    // except the end of its teardown, which the window always hears.
    struct Relay : engine::CallObserver {
        explicit Relay(CallWindow* w) : window(w), owner(w) { }
        CallWindow* window = nullptr;
        CallWindow* owner = nullptr;
        void joined(const std::string& room, const std::string& peer) override { if (window) window->joined(room, peer); }
        void signalingChanged(bool connected, const std::string& detail) override { if (window) window->signalingChanged(connected, detail); }
        void peerAdded(const std::string& peer) override { if (window) window->peerAdded(peer); }
        void peerRemoved(const std::string& peer, const std::string& reason) override { if (window) window->peerRemoved(peer, reason); }
        void peerUpdated(const engine::PeerSummary& peer) override { if (window) window->peerUpdated(peer); }
        void chatOpened(const std::string& peer) override { if (window) window->chatOpened(peer); }
        void chatReceived(const std::string& peer, const std::string& text) override { if (window) window->chatReceived(peer, text); }
        void fatal(const std::string& code, const std::string& message) override { if (window) window->fatal(code, message); }
        void mediaStarted() override { if (window) window->mediaStarted(); }
        void tornDown() override { owner->callTornDown(*this); }
        GRef<GstElement> makeVideoSink(const std::string& peer, std::string& error) override
        {
            if (window)
                return window->makeVideoSink(peer, error);
            error = "the call is ending"; // shows nothing more, and no window of its own
            return nullptr;
        }
    };
    // A call the window hung up, kept until its teardown ends.
    struct Ending {
        std::unique_ptr<Relay> relay;
        std::unique_ptr<engine::Call> call;
    };

    void joined(const std::string& room, const std::string& peer);
    void signalingChanged(bool connected, const std::string& detail);
    void peerAdded(const std::string& peer);
    void peerRemoved(const std::string& peer, const std::string& reason);
    void peerUpdated(const engine::PeerSummary& peer);
    void chatOpened(const std::string& peer);
    void chatReceived(const std::string& peer, const std::string& text);
    void fatal(const std::string& code, const std::string& message);
    void mediaStarted();
    void callTornDown(Relay& relay);
    GRef<GstElement> makeVideoSink(const std::string& peer, std::string& error);

    void showStart();
    void showCall();
    void showError(const std::string& code, const std::string& message);
    void joinFromStartView();
    void startCall();
    // Hangs up; the Call goes once its teardown ended (callTornDown).
    void endCall();
    void finishClosing();
    void buildPreview();
    void updateTitle();
    void updateCallActions(bool inCall);
    PeerTile& tile(const std::string& peer);
    void onWidthChanged(GObject*, GParamSpec*);
    void onFlapRevealed(GObject*, GParamSpec*);
    void removeTile(const std::string& peer);
    void appendChat(const std::string& sender, const std::string& text, bool own);
    void sendChat(const std::string& text);
    void onChatActivate(GtkWidget*);
    void onEntryActivated(AdwEntryRow*) { joinFromStartView(); }
    gboolean onCloseRequest(GtkWindow*);
    void toast(const std::string& text, unsigned seconds = 4);
    void setMuted(bool muted);
    void setCameraOff(bool off);
    GSimpleAction* action(const char* name) const;
    void scheduleScreenshot();
    void requestScreenshot(const std::string& path);
    void onAfterPaint(GdkFrameClock*);

    static void onJoinAction(GSimpleAction*, GVariant*, gpointer self);
    static void onRetryAction(GSimpleAction*, GVariant*, gpointer self);
    static void onBackAction(GSimpleAction*, GVariant*, gpointer self);
    static void onHangUpAction(GSimpleAction*, GVariant*, gpointer self);
    static void onMuteChange(GSimpleAction*, GVariant*, gpointer self);
    static void onCameraChange(GSimpleAction*, GVariant*, gpointer self);
    static void onChatChange(GSimpleAction*, GVariant*, gpointer self);
    static void onStatsChange(GSimpleAction*, GVariant*, gpointer self);
    static void onSendChatAction(GSimpleAction*, GVariant*, gpointer self);
    static void onScreenshotAction(GSimpleAction*, GVariant*, gpointer self);

    GtkApplication* app_;
    cli::WindowOptions options_;
    GRef<GSettings> settings_; // may be null: nothing is remembered then
    std::function<void(CallWindow&)> closed_;
    GRef<GtkBuilder> builder_;
    GRef<GtkWidget> window_;
    // Owned by the window (from the builder).
    AdwToastOverlay* toasts_ = nullptr;
    AdwToastOverlay* callToasts_ = nullptr; // the call view's, above its controls
    GtkStack* stack_ = nullptr;
    GtkStack* gridStack_ = nullptr;
    GtkBox* grid_ = nullptr;
    AdwClamp* previewClamp_ = nullptr;
    AdwWindowTitle* title_ = nullptr;
    AdwStatusPage* waitingPage_ = nullptr;
    AdwStatusPage* errorPage_ = nullptr;
    GtkWidget* retryButton_ = nullptr;
    AdwFlap* chatFlap_ = nullptr;
    GtkListBox* chatList_ = nullptr;
    GtkWidget* chatScroll_ = nullptr;
    GtkEntry* chatEntry_ = nullptr;
    AdwEntryRow* serverRow_ = nullptr;
    AdwEntryRow* roomRow_ = nullptr;
    AdwEntryRow* nameRow_ = nullptr;
    GtkWidget* muteButton_ = nullptr;
    GtkWidget* cameraButton_ = nullptr;
    std::vector<SignalConnection> signals_;

    std::unique_ptr<Relay> relay_; // the observer of call_
    std::unique_ptr<engine::Call> call_;
    std::vector<Ending> ending_; // hung up, tearing down
    std::vector<Ending> ended_;  // torn down: destroyed on the next turn
    Source reaper_;
    std::map<std::string, std::unique_ptr<PeerTile>> tiles_;
    // What the log already said of each peer (a line only when it changes).
    struct Logged {
        std::string state, stats;
        bool video = false;
    };
    std::map<std::string, Logged> logged_;
    std::unique_ptr<PeerTile> preview_;
    bool showStats_ = false;
    bool closing_ = false;
    bool screenshotTaken_ = false;
    bool signalingLost_ = false;
    Source screenshotTimer_;
    Source closedSource_;
    std::vector<std::string> pendingScreenshots_;
    int screenshotAttempts_ = 0;
    SignalConnection afterPaint_;
};

} // namespace palaver::gui
