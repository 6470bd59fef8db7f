#include "call_window.h"

#include "messages.h"
#include "paintable_sink.h"
#include "tile_layout.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace palaver::gui {

namespace {

// The log lines the gui tests wait for; also what a user's terminal shows.
#define LOG(...) g_message(__VA_ARGS__)

GtkWidget* object(GtkBuilder* builder, const char* id)
{
    GObject* o = gtk_builder_get_object(builder, id);
    g_assert(o); // the .ui file is compiled in: a missing id is a bug here
    return GTK_WIDGET(o);
}

std::string stateText(const std::string& state, bool& ok)
{
    ok = true;
    if (state == "connected")
        return "Connected";
    if (state == "new" || state == "connecting")
        return "Connecting…";
    ok = false;
    if (state == "disconnected")
        return "Connection unstable…";
    if (state == "failed")
        return "Connection failed, retrying…";
    if (state == "closed")
        return "Closed";
    return state;
}

std::string format(const char* fmt, double v)
{
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, fmt, v);
    return buffer;
}

std::string statsText(const engine::PeerSummary& p)
{
    std::string text;
    const auto& s = p.stats;
    if (p.media.width > 0)
        text += std::to_string(p.media.width) + "×" + std::to_string(p.media.height);
    else
        text += "no video yet";
    if (s.fpsIn)
        text += format(" · %.0f fps", *s.fpsIn);
    if (!p.media.videoCodec.empty())
        text += " · " + p.media.videoCodec;
    text += "\n↓ " + (s.bitrateInKbps ? format("%.0f kbit/s", *s.bitrateInKbps) : std::string("–"));
    text += "   ↑ " + (s.bitrateOutKbps ? format("%.0f kbit/s", *s.bitrateOutKbps) : std::string("–"));
    text += "\nlost " + (s.packetsLost ? std::to_string(*s.packetsLost) : std::string("–"));
    text += " · rtt " + (s.rttMs ? format("%.1f ms", *s.rttMs) : std::string("–"));
    if (s.jitterMs)
        text += format(" · jitter %.0f ms", *s.jitterMs);
    if (p.media.audioLevelDb)
        text += format("\naudio %.0f dBFS", *p.media.audioLevelDb);
    text += "\n" + (s.candidatePair.empty() ? std::string("ICE: no pair yet") : s.candidatePair);
    return text;
}

// What a person reads for each way a call cannot go on.
struct ErrorText {
    const char* icon;
    std::string title, description;
    bool retry;
};

ErrorText errorText(const std::string& code, const std::string& message, const engine::CallOptions& call)
{
    if (code == "server-unreachable")
        return { "network-offline-symbolic", "Can’t Reach the Server",
            "Palaver could not connect to " + call.serverUrl + ". Check the address and that the server runs.\n\n" + message, true };
    if (code == "room-full")
        return { "system-users-symbolic", "The Room Is Full",
            "Room “" + call.room + "” has no free place. Try again later or pick another room.", true };
    if (code == "unauthorized")
        return { "dialog-password-symbolic", "Not Allowed In",
            "The server wants a valid token to join “" + call.room + "”: " + message, false };
    if (code == "peer-id-taken")
        return { "avatar-default-symbolic", "Name Taken",
            "Someone in “" + call.room + "” already uses the name " + call.peer + ". Pick another one.", false };
    if (code == "missing-element")
        return { "dialog-warning-symbolic", "A GStreamer Plugin Is Missing",
            "Palaver needs a GStreamer element that is not installed: " + message + ".", false };
    if (code == "bad-pipeline" || code == "media-error")
        return { "camera-disabled-symbolic", "Camera or Microphone Problem", message, true };
    return { "dialog-error-symbolic", "The Call Ended", message, true };
}

} // namespace

CallWindow::CallWindow(GtkApplication* app, cli::WindowOptions options, GSettings* settings, std::function<void(CallWindow&)> closed)
    : app_(app)
    , options_(std::move(options))
    , settings_(settings)
    , closed_(std::move(closed))
    , builder_(adopt(gtk_builder_new_from_resource("/org/palaver/Palaver/window.ui")))
{
    GtkBuilder* b = builder_.get();
    window_ = GRef<GtkWidget>(object(b, "window"));
    gtk_window_set_application(window(), app);
    toasts_ = ADW_TOAST_OVERLAY(object(b, "toasts"));
    callToasts_ = ADW_TOAST_OVERLAY(object(b, "call_toasts"));
    stack_ = GTK_STACK(object(b, "stack"));
    gridStack_ = GTK_STACK(object(b, "grid_stack"));
    grid_ = GTK_BOX(object(b, "grid"));
    gtk_widget_set_layout_manager(GTK_WIDGET(grid_), newTileLayout());
    previewClamp_ = ADW_CLAMP(object(b, "preview_clamp"));
    title_ = ADW_WINDOW_TITLE(object(b, "call_title"));
    waitingPage_ = ADW_STATUS_PAGE(object(b, "waiting_page"));
    errorPage_ = ADW_STATUS_PAGE(object(b, "error_page"));
    retryButton_ = object(b, "retry_button");
    chatFlap_ = ADW_FLAP(object(b, "chat_flap"));
    chatList_ = GTK_LIST_BOX(object(b, "chat_list"));
    chatScroll_ = object(b, "chat_scroll");
    chatEntry_ = GTK_ENTRY(object(b, "chat_entry"));
    serverRow_ = ADW_ENTRY_ROW(object(b, "server_row"));
    roomRow_ = ADW_ENTRY_ROW(object(b, "room_row"));
    nameRow_ = ADW_ENTRY_ROW(object(b, "name_row"));
    muteButton_ = object(b, "mute_button");
    cameraButton_ = object(b, "camera_button");

    GActionEntry entries[] = {
        { "join", &CallWindow::onJoinAction, nullptr, nullptr, nullptr, {} },
        { "retry", &CallWindow::onRetryAction, nullptr, nullptr, nullptr, {} },
        { "back", &CallWindow::onBackAction, nullptr, nullptr, nullptr, {} },
        { "hang-up", &CallWindow::onHangUpAction, nullptr, nullptr, nullptr, {} },
        { "mute", nullptr, nullptr, "false", &CallWindow::onMuteChange, {} },
        { "camera-off", nullptr, nullptr, "false", &CallWindow::onCameraChange, {} },
        { "chat", nullptr, nullptr, "false", &CallWindow::onChatChange, {} },
        { "stats", nullptr, nullptr, "false", &CallWindow::onStatsChange, {} },
        // What typing TEXT into the chat entry and pressing Enter does
        // (scripts and the gui tests).
        { "send-chat", &CallWindow::onSendChatAction, "s", nullptr, nullptr, {} },
        { "screenshot", &CallWindow::onScreenshotAction, "s", nullptr, nullptr, {} },
    };
    g_action_map_add_action_entries(G_ACTION_MAP(window_.get()), entries, G_N_ELEMENTS(entries), this);

    signals_.push_back(connectSignal(chatEntry_, "activate", this, &CallWindow::onChatActivate));
    signals_.push_back(connectSignal(object(b, "chat_send"), "clicked", this, &CallWindow::onChatActivate));
    signals_.push_back(connectSignal(window_.get(), "close-request", this, &CallWindow::onCloseRequest));
    // A folded chat closes by itself (Escape, a click beside it): the
    // button follows.
    signals_.push_back(connectSignal(chatFlap_, "notify::reveal-flap", this, &CallWindow::onFlapRevealed));
    for (const char* property : { "notify::default-width", "notify::maximized", "notify::fullscreened" })
        signals_.push_back(connectSignal(window_.get(), property, this, &CallWindow::onWidthChanged));
    // Enter in any start field joins.
    for (AdwEntryRow* row : { serverRow_, roomRow_, nameRow_ }) {
        signals_.push_back(connectSignal(row, "entry-activated", this, &CallWindow::onEntryActivated));
    }

    if (settings_) {
        gtk_window_set_default_size(window(), g_settings_get_int(settings_.get(), "window-width"),
            g_settings_get_int(settings_.get(), "window-height"));
    } else {
        gtk_window_set_default_size(window(), 960, 640);
    }
    updateCallActions(false);
    if (options_.roomGiven)
        startCall();
    else
        showStart();
}

CallWindow::~CallWindow()
{
    screenshotTimer_.cancel();
    closedSource_.cancel();
    reaper_.cancel();
    signals_.clear();
    // The Calls first: their pipelines hold the sinks that feed our tiles.
    // A Call destroyed before its teardown ended finishes it at once.
    if (call_) {
        relay_->window = nullptr;
        call_.reset();
    }
    for (auto* list : { &ending_, &ended_ }) {
        for (Ending& e : *list) {
            e.call.reset(); // before its observer
            g_application_release(G_APPLICATION(app_));
        }
        list->clear();
    }
    tiles_.clear();
    preview_.reset();
    if (window_)
        gtk_window_destroy(window());
}

void CallWindow::present()
{
    gtk_window_present(window());
}

GSimpleAction* CallWindow::action(const char* name) const
{
    return G_SIMPLE_ACTION(g_action_map_lookup_action(G_ACTION_MAP(window_.get()), name));
}

void CallWindow::updateCallActions(bool inCall)
{
    for (const char* name : { "hang-up", "mute", "camera-off", "chat", "stats", "send-chat" })
        g_simple_action_set_enabled(action(name), inCall);
    for (const char* name : { "join", "retry", "back" })
        g_simple_action_set_enabled(action(name), !inCall);
}

// Toasts queue one after the other: comings and goings are brief, what
// needs doing (an error, a message) stays longer.
void CallWindow::toast(const std::string& text, unsigned seconds)
{
    LOG("toast: %s", text.c_str());
    AdwToast* t = adw_toast_new(text.c_str());
    adw_toast_set_timeout(t, seconds);
    bool inCall = g_strcmp0(gtk_stack_get_visible_child_name(stack_), "call") == 0;
    adw_toast_overlay_add_toast(inCall ? callToasts_ : toasts_, t); // takes the floating reference
}

// ---- views --------------------------------------------------------------------

void CallWindow::showStart()
{
    updateCallActions(false);
    const engine::CallOptions& c = options_.call;
    auto value = [this](const char* key, const std::string& fallback) {
        if (!settings_)
            return fallback;
        GUnique<char> v(g_settings_get_string(settings_.get(), key));
        return std::string(v.get());
    };
    // The command line's values win over the remembered ones.
    gtk_editable_set_text(GTK_EDITABLE(serverRow_), c.serverUrl != engine::CallOptions {}.serverUrl ? c.serverUrl.c_str()
                                                                                                      : value("server-url", c.serverUrl).c_str());
    // The room of the call just left (or of --room) comes back first.
    gtk_editable_set_text(GTK_EDITABLE(roomRow_), !c.room.empty() ? c.room.c_str() : value("room", "demo").c_str());
    gtk_editable_set_text(GTK_EDITABLE(nameRow_), !c.peer.empty() ? c.peer.c_str() : value("display-name", "").c_str());
    gtk_stack_set_visible_child_name(stack_, "start");
    gtk_window_set_title(window(), "Palaver");
    gtk_widget_grab_focus(GTK_WIDGET(roomRow_));
    LOG("view: start");
}

void CallWindow::joinFromStartView()
{
    std::string server = gtk_editable_get_text(GTK_EDITABLE(serverRow_));
    std::string room = gtk_editable_get_text(GTK_EDITABLE(roomRow_));
    std::string name = gtk_editable_get_text(GTK_EDITABLE(nameRow_));
    bool ok = true;
    auto mark = [&ok](AdwEntryRow* row, bool valid) {
        if (valid) {
            gtk_widget_remove_css_class(GTK_WIDGET(row), "error");
        } else {
            gtk_widget_add_css_class(GTK_WIDGET(row), "error");
            if (ok)
                gtk_widget_grab_focus(GTK_WIDGET(row));
            ok = false;
        }
    };
    bool serverOk = g_str_has_prefix(server.c_str(), "ws://") || g_str_has_prefix(server.c_str(), "wss://");
    if (serverOk) {
        GRef<GUri> uri = adopt(g_uri_parse(server.c_str(), G_URI_FLAGS_NONE, nullptr));
        serverOk = uri && g_uri_get_host(uri.get()) && *g_uri_get_host(uri.get());
    }
    mark(serverRow_, serverOk);
    mark(roomRow_, protocol::isValidId(room));
    mark(nameRow_, name.empty() || protocol::isValidId(name));
    if (!ok) {
        toast(!serverOk ? "The server address starts with ws:// or wss://"
                        : "Names are letters, digits, “.”, “_” and “-” (at most 64)");
        return;
    }
    if (settings_) {
        g_settings_set_string(settings_.get(), "server-url", server.c_str());
        g_settings_set_string(settings_.get(), "room", room.c_str());
        g_settings_set_string(settings_.get(), "display-name", name.c_str());
    }
    options_.call.serverUrl = server;
    options_.call.room = room;
    options_.call.peer = name;
    startCall();
}

void CallWindow::showCall()
{
    gtk_stack_set_visible_child_name(stack_, "call");
    gtk_stack_set_visible_child_name(gridStack_, tiles_.empty() ? "waiting" : "grid");
    updateCallActions(true);
    updateTitle();
}

void CallWindow::showError(const std::string& code, const std::string& message)
{
    ErrorText text = errorText(code, message, options_.call);
    adw_status_page_set_icon_name(errorPage_, text.icon);
    adw_status_page_set_title(errorPage_, text.title.c_str());
    adw_status_page_set_description(errorPage_, text.description.c_str());
    gtk_widget_set_visible(retryButton_, text.retry);
    updateCallActions(false);
    gtk_stack_set_visible_child_name(stack_, "error");
    gtk_widget_grab_focus(text.retry ? retryButton_ : object(builder_.get(), "back_button"));
    LOG("error: %s: %s", code.c_str(), text.title.c_str());
}

void CallWindow::updateTitle()
{
    const std::string& room = options_.call.room;
    gtk_window_set_title(window(), ("Palaver – " + room).c_str());
    adw_window_title_set_title(title_, room.c_str());
    std::string subtitle;
    if (!call_ || !call_->isJoined())
        subtitle = signalingLost_ ? "Server lost, reconnecting…" : "Connecting to the server…";
    else if (tiles_.empty())
        subtitle = "You are " + call_->peerId();
    else
        subtitle = "You are " + call_->peerId() + " · " + std::to_string(tiles_.size() + 1) + " in the call";
    adw_window_title_set_subtitle(title_, subtitle.c_str());
    std::string waiting = "Others join with room “" + room + "” on " + options_.call.serverUrl + ".";
    adw_status_page_set_description(waitingPage_, waiting.c_str());
}

// ---- the call -------------------------------------------------------------------

void CallWindow::startCall()
{
    if (call_)
        endCall();
    tiles_.clear();
    logged_.clear();
    preview_.reset();
    signalingLost_ = false;
    g_simple_action_set_state(action("mute"), g_variant_new_boolean(FALSE));
    g_simple_action_set_state(action("camera-off"), g_variant_new_boolean(FALSE));
    // The chat of an earlier call is not this call's.
    while (GtkWidget* row = gtk_widget_get_first_child(GTK_WIDGET(chatList_)))
        gtk_list_box_remove(chatList_, row);

    engine::CallOptions callOptions = options_.call;
    callOptions.fakeSinks = false;
    // The preferences kept in GSettings, where the command line said nothing.
    if (settings_) {
        if (!g_settings_get_boolean(settings_.get(), "audio-processing"))
            callOptions.media.audioProcessing = false;
        if (!options_.codecGiven) {
            GUnique<char> codec(g_settings_get_string(settings_.get(), "video-codec"));
            if (auto c = engine::videoCodecFromName(codec.get()))
                callOptions.media.videoCodec = *c;
        }
    }
    relay_ = std::make_unique<Relay>(this);
    call_ = std::make_unique<engine::Call>(callOptions, *relay_);
    showCall();
    LOG("joining room %s on %s", callOptions.room.c_str(), callOptions.serverUrl.c_str());
    std::string error;
    if (!call_->start(error)) {
        std::string code = call_->startFailure();
        endCall();
        showError(code, error);
        return;
    }
    // A new call starts unmuted with the camera on: the buttons too.
    setMuted(false);
    setCameraOff(false);
    // The engine probes the devices off the main loop; mediaStarted() goes on.
}

void CallWindow::mediaStarted()
{
    LOG("video: %s", call_->media().videoDescription().c_str());
    LOG("audio: %s", call_->media().audioDescription().c_str());
    if (call_->media().usingTestVideo())
        toast("No camera found: sending a test pattern");
    else if (call_->media().usingTestAudio())
        toast("No microphone found: sending a test tone");
    buildPreview();
}

void CallWindow::buildPreview()
{
    GRef<GdkPaintable> paintable;
    std::string error;
    GRef<GstElement> sink = adopt(makePaintableSink(paintable, true, error));
    if (sink && call_->addPreview(sink, error)) {
        preview_ = std::make_unique<PeerTile>("You", true);
        preview_->setPaintable(paintable.get());
        preview_->setVideoOff(call_->media().videoBlanked()); // turned off before the media existed
        adw_clamp_set_child(previewClamp_, preview_->widget());
        return;
    }
    if (!error.empty()) {
        LOG("no local preview: %s", error.c_str());
        preview_ = std::make_unique<PeerTile>("You", true);
        preview_->setVideoError("No preview: " + error);
        adw_clamp_set_child(previewClamp_, preview_->widget());
    }
    // else receive only: no preview
}

void CallWindow::endCall()
{
    if (!call_)
        return;
    relay_->window = nullptr;
    // Quitting the application waits for the teardown: the pipeline must
    // not be left playing into exit().
    g_application_hold(G_APPLICATION(app_));
    ending_.push_back(Ending { std::move(relay_), std::move(call_) });
    ending_.back().call->hangUp();
    tiles_.clear();
    preview_.reset();
    gtk_stack_set_visible_child_name(gridStack_, "waiting");
}

// From inside the Call's last callback: it is destroyed on the next turn.
void CallWindow::callTornDown(Relay& relay)
{
    if (call_ && relay_.get() == &relay) {
        // Torn down without a hang-up of ours: cannot happen (tornDown
        // follows hangUp only), but the call is then over all the same.
        return;
    }
    auto it = std::find_if(ending_.begin(), ending_.end(), [&relay](const Ending& e) { return e.relay.get() == &relay; });
    if (it == ending_.end())
        return;
    ended_.push_back(std::move(*it));
    ending_.erase(it);
    if (!reaper_)
        reaper_ = Source::idle(nullptr, [this] {
            for (Ending& e : ended_) {
                e.call.reset(); // before its observer
                g_application_release(G_APPLICATION(app_));
            }
            ended_.clear();
            if (closing_ && ending_.empty())
                finishClosing();
        });
}

void CallWindow::close()
{
    if (closing_)
        return;
    closing_ = true;
    LOG("closing the window");
    if (settings_ && !gtk_window_is_maximized(window())) {
        int width = 0, height = 0;
        gtk_window_get_default_size(window(), &width, &height);
        g_settings_set_int(settings_.get(), "window-width", width);
        g_settings_set_int(settings_.get(), "window-height", height);
    }
    endCall();
    gtk_widget_set_visible(window_.get(), FALSE);
    // The application drops us once every call of ours is torn down.
    if (ending_.empty() && ended_.empty())
        finishClosing();
}

void CallWindow::finishClosing()
{
    if (!closedSource_)
        closedSource_ = Source::idle(nullptr, [this] { closed_(*this); });
}

gboolean CallWindow::onCloseRequest(GtkWindow*)
{
    close();
    return TRUE; // we destroy it ourselves, after the hang-up
}

// Our own video stays small next to theirs in a narrow window. (The tiles
// follow their allocation by themselves: tile_layout.cpp.)
void CallWindow::onWidthChanged(GObject*, GParamSpec*)
{
    int width = 0, height = 0;
    gtk_window_get_default_size(window(), &width, &height);
    int size = width > 0 && width < kNarrowWidth ? 120 : 192;
    adw_clamp_set_maximum_size(previewClamp_, size);
    adw_clamp_set_tightening_threshold(previewClamp_, size);
}

// ---- engine::CallObserver -------------------------------------------------------

void CallWindow::joined(const std::string& room, const std::string& peer)
{
    LOG("joined room %s as %s", room.c_str(), peer.c_str());
    signalingLost_ = false;
    updateTitle();
}

void CallWindow::signalingChanged(bool connected, const std::string& detail)
{
    if (!connected && !signalingLost_) {
        signalingLost_ = true;
        LOG("server lost: %s", detail.c_str());
        toast("Lost the server; calls go on, reconnecting…");
    } else if (connected && signalingLost_) {
        LOG("server back: %s", detail.c_str());
    }
    updateTitle();
}

PeerTile& CallWindow::tile(const std::string& peer)
{
    auto it = tiles_.find(peer);
    if (it != tiles_.end())
        return *it->second;
    auto t = std::make_unique<PeerTile>(peer, false);
    t->showStats(showStats_);
    t->setState("Connecting…", true);
    PeerTile& ref = *t;
    auto placed = tiles_.emplace(peer, std::move(t)).first;
    // Tiles in the order of their ids, whoever connected first: a layout
    // that does not shuffle between calls.
    GtkWidget* before = placed == tiles_.begin() ? nullptr : std::prev(placed)->second->widget();
    gtk_box_insert_child_after(grid_, ref.widget(), before);
    gtk_stack_set_visible_child_name(gridStack_, "grid");
    LOG("tile added: %s", peer.c_str());
    updateTitle();
    return ref;
}

void CallWindow::removeTile(const std::string& peer)
{
    if (auto it = tiles_.find(peer); it != tiles_.end()) {
        tiles_.erase(it);
        LOG("tile removed: %s", peer.c_str());
        logged_.erase(peer);
    }
    if (tiles_.empty())
        gtk_stack_set_visible_child_name(gridStack_, "waiting");
    updateTitle();
}

void CallWindow::peerAdded(const std::string& peer)
{
    bool fresh = !tiles_.count(peer);
    tile(peer);
    if (fresh)
        toast(peer + " joined", 2);
}

void CallWindow::peerRemoved(const std::string& peer, const std::string& reason)
{
    removeTile(peer);
    if (reason == "failed")
        toast("Lost the connection to " + peer);
    else
        toast(peer + " left", 2);
}

void CallWindow::peerUpdated(const engine::PeerSummary& peer)
{
    if (!peer.present)
        return;
    PeerTile& t = tile(peer.id);
    bool ok = true;
    std::string state = stateText(peer.connectionState, ok);
    t.setState(state, ok);
    std::string stats = statsText(peer);
    t.setStats(stats);
    if (t.statsOnScreen()) {
        std::string line = stats;
        std::replace(line.begin(), line.end(), '\n', ' ');
        if (logged_[peer.id].stats != line)
            LOG("stats %s: %s", peer.id.c_str(), line.c_str());
        logged_[peer.id].stats = line;
    }
    if (logged_[peer.id].state != peer.connectionState) {
        logged_[peer.id].state = peer.connectionState;
        LOG("peer %s: %s (ice %s)", peer.id.c_str(), peer.connectionState.c_str(), peer.iceState.c_str());
    }
    if (peer.media.videoFrames > 0 && !logged_[peer.id].video) {
        logged_[peer.id].video = true;
        LOG("peer %s: video %dx%d %s", peer.id.c_str(), peer.media.width, peer.media.height, peer.media.videoCodec.c_str());
        scheduleScreenshot();
    }
}

void CallWindow::chatOpened(const std::string& peer)
{
    LOG("chat open with %s", peer.c_str());
}

void CallWindow::chatReceived(const std::string& peer, const std::string& text)
{
    appendChat(peer, text, false);
    if (!adw_flap_get_reveal_flap(chatFlap_))
        toast(peer + ": " + text, 3);
}

void CallWindow::fatal(const std::string& code, const std::string& message)
{
    // From inside the Call: it goes on a later turn of the loop.
    endCall();
    showError(code, message);
}

GRef<GstElement> CallWindow::makeVideoSink(const std::string& peer, std::string& error)
{
    GRef<GdkPaintable> paintable;
    GRef<GstElement> sink = adopt(makePaintableSink(paintable, false, error));
    if (!sink) {
        // Said on the tile, never a stray window of the engine's default.
        LOG("tile %s: no video sink: %s", peer.c_str(), error.c_str());
        tile(peer).setVideoError("Can’t show this video: " + error);
        return nullptr;
    }
    tile(peer).setPaintable(paintable.get());
    return sink;
}

// ---- chat -----------------------------------------------------------------------

void CallWindow::appendChat(const std::string& sender, const std::string& text, bool own)
{
    LOG(own ? "chat sent: %s" : "chat from %s: %s", own ? text.c_str() : sender.c_str(), text.c_str());
    GtkWidget* row = gtk_box_new(GTK_ORIENTATION_VERTICAL, 2);
    gtk_widget_add_css_class(row, "chat-message");
    gtk_widget_set_margin_start(row, 10);
    gtk_widget_set_margin_end(row, 10);
    gtk_widget_set_margin_top(row, 6);
    gtk_widget_set_margin_bottom(row, 6);
    GtkWidget* header = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    GtkWidget* who = gtk_label_new(own ? "You" : sender.c_str());
    gtk_widget_add_css_class(who, "sender");
    gtk_box_append(GTK_BOX(header), who);
    GRef<GDateTime> now = adopt(g_date_time_new_now_local());
    GUnique<char> time(g_date_time_format(now.get(), "%H:%M"));
    GtkWidget* when = gtk_label_new(time.get());
    gtk_widget_add_css_class(when, "time");
    gtk_widget_add_css_class(when, "dim-label");
    gtk_box_append(GTK_BOX(header), when);
    gtk_box_append(GTK_BOX(row), header);
    GtkWidget* body = gtk_label_new(text.c_str());
    gtk_label_set_wrap(GTK_LABEL(body), TRUE);
    gtk_label_set_wrap_mode(GTK_LABEL(body), PANGO_WRAP_WORD_CHAR);
    gtk_label_set_xalign(GTK_LABEL(body), 0);
    gtk_label_set_selectable(GTK_LABEL(body), TRUE);
    // A wrapped label asks for its whole text's width; the flap would
    // take it all.
    gtk_label_set_max_width_chars(GTK_LABEL(body), 30);
    gtk_box_append(GTK_BOX(row), body);
    gtk_list_box_append(chatList_, row);
    // Keep the newest message in view.
    GtkAdjustment* adj = gtk_scrolled_window_get_vadjustment(GTK_SCROLLED_WINDOW(chatScroll_));
    gtk_adjustment_set_value(adj, gtk_adjustment_get_upper(adj));
}

void CallWindow::sendChat(const std::string& text)
{
    if (text.empty() || !call_)
        return;
    int sent = call_->sendChat(text);
    if (sent == 0) {
        // Nothing is lost: the text stays in the entry for later.
        gtk_editable_set_text(GTK_EDITABLE(chatEntry_), text.c_str());
        toast("Nobody to send it to yet: no chat is open");
        LOG("chat not sent (no open channel): %s", text.c_str());
        return;
    }
    gtk_editable_set_text(GTK_EDITABLE(chatEntry_), "");
    appendChat("", text, true);
}

void CallWindow::onChatActivate(GtkWidget*)
{
    sendChat(gtk_editable_get_text(GTK_EDITABLE(chatEntry_)));
}

// ---- controls -------------------------------------------------------------------

void CallWindow::setMuted(bool muted)
{
    if (call_)
        call_->media().setAudioMuted(muted);
    gtk_button_set_icon_name(GTK_BUTTON(muteButton_), muted ? "microphone-sensitivity-muted-symbolic" : "audio-input-microphone-symbolic");
    const char* text = muted ? "Unmute Microphone (Ctrl+D)" : "Mute Microphone (Ctrl+D)";
    gtk_widget_set_tooltip_text(muteButton_, text);
    LOG("microphone %s", muted ? "muted" : "on");
}

void CallWindow::setCameraOff(bool off)
{
    if (call_)
        call_->media().setVideoBlanked(off);
    if (preview_)
        preview_->setVideoOff(off);
    gtk_button_set_icon_name(GTK_BUTTON(cameraButton_), off ? "camera-disabled-symbolic" : "camera-web-symbolic");
    gtk_widget_set_tooltip_text(cameraButton_, off ? "Turn Camera On (Ctrl+E)" : "Turn Camera Off (Ctrl+E)");
    LOG("camera %s", off ? "off" : "on");
}

void CallWindow::onJoinAction(GSimpleAction*, GVariant*, gpointer self)
{
    static_cast<CallWindow*>(self)->joinFromStartView();
}

void CallWindow::onRetryAction(GSimpleAction*, GVariant*, gpointer self)
{
    static_cast<CallWindow*>(self)->startCall();
}

void CallWindow::onBackAction(GSimpleAction*, GVariant*, gpointer self)
{
    static_cast<CallWindow*>(self)->showStart();
}

void CallWindow::onHangUpAction(GSimpleAction*, GVariant*, gpointer data)
{
    auto* self = static_cast<CallWindow*>(data);
    LOG("hanging up");
    self->endCall();
    self->showStart();
}

void CallWindow::onMuteChange(GSimpleAction* action, GVariant* value, gpointer self)
{
    g_simple_action_set_state(action, value);
    static_cast<CallWindow*>(self)->setMuted(g_variant_get_boolean(value));
}

void CallWindow::onCameraChange(GSimpleAction* action, GVariant* value, gpointer self)
{
    g_simple_action_set_state(action, value);
    static_cast<CallWindow*>(self)->setCameraOff(g_variant_get_boolean(value));
}

void CallWindow::onChatChange(GSimpleAction* action, GVariant* value, gpointer data)
{
    auto* self = static_cast<CallWindow*>(data);
    g_simple_action_set_state(action, value);
    bool show = g_variant_get_boolean(value);
    adw_flap_set_reveal_flap(self->chatFlap_, show);
    if (show)
        gtk_widget_grab_focus(GTK_WIDGET(self->chatEntry_));
}

void CallWindow::onFlapRevealed(GObject*, GParamSpec*)
{
    bool shown = adw_flap_get_reveal_flap(chatFlap_);
    GRef<GVariant> state = adopt(g_action_get_state(G_ACTION(action("chat"))));
    if (g_variant_get_boolean(state.get()) != shown)
        g_simple_action_set_state(action("chat"), g_variant_new_boolean(shown));
}

void CallWindow::onStatsChange(GSimpleAction* action, GVariant* value, gpointer data)
{
    auto* self = static_cast<CallWindow*>(data);
    g_simple_action_set_state(action, value);
    self->showStats_ = g_variant_get_boolean(value);
    for (auto& [id, t] : self->tiles_)
        t->showStats(self->showStats_);
}

void CallWindow::onSendChatAction(GSimpleAction*, GVariant* value, gpointer data)
{
    auto* self = static_cast<CallWindow*>(data);
    gtk_editable_set_text(GTK_EDITABLE(self->chatEntry_), g_variant_get_string(value, nullptr));
    self->onChatActivate(nullptr);
}

void CallWindow::onScreenshotAction(GSimpleAction*, GVariant* value, gpointer data)
{
    static_cast<CallWindow*>(data)->requestScreenshot(g_variant_get_string(value, nullptr));
}

// ---- screenshots ----------------------------------------------------------------

// GTK keeps a widget's render node only between a paint and the next
// invalidation, and video invalidates all the time: take the picture right
// after a paint.
void CallWindow::requestScreenshot(const std::string& path)
{
    pendingScreenshots_.push_back(path);
    if (afterPaint_)
        return;
    GdkFrameClock* clock = gtk_widget_get_frame_clock(window_.get());
    if (!clock) {
        g_warning("screenshot %s: the window is not on screen", path.c_str());
        pendingScreenshots_.clear();
        return;
    }
    afterPaint_ = connectSignal(clock, "after-paint", this, &CallWindow::onAfterPaint);
    gtk_widget_queue_draw(window_.get());
}

void CallWindow::onAfterPaint(GdkFrameClock*)
{
    std::vector<std::string> paths;
    std::string error;
    for (const std::string& path : pendingScreenshots_) {
        if (!screenshot(path, error)) {
            if (++screenshotAttempts_ < 100) {
                paths.push_back(path); // not drawn this time: the next paint
                continue;
            }
            g_warning("screenshot %s: %s", path.c_str(), error.c_str());
        }
    }
    pendingScreenshots_ = std::move(paths);
    if (pendingScreenshots_.empty()) {
        screenshotAttempts_ = 0;
        afterPaint_.disconnect(); // GObject allows it inside the emission
    } else {
        gtk_widget_queue_draw(window_.get());
    }
}

bool CallWindow::screenshot(const std::string& path, std::string& error)
{
    GtkWidget* w = window_.get();
    int width = gtk_widget_get_width(w), height = gtk_widget_get_height(w);
    GskRenderer* renderer = gtk_native_get_renderer(GTK_NATIVE(w));
    if (!renderer || width <= 0 || height <= 0) {
        error = "the window is not on screen";
        return false;
    }
    GRef<GdkPaintable> paintable = adopt(gtk_widget_paintable_new(w));
    GtkSnapshot* snapshot = gtk_snapshot_new();
    gdk_paintable_snapshot(paintable.get(), GDK_SNAPSHOT(snapshot), width, height);
    GskRenderNode* node = gtk_snapshot_free_to_node(snapshot);
    if (!node) {
        error = "nothing drawn yet";
        return false;
    }
    graphene_rect_t area = GRAPHENE_RECT_INIT(0, 0, float(width), float(height));
    GRef<GdkTexture> texture = adopt(gsk_renderer_render_texture(renderer, node, &area));
    gsk_render_node_unref(node);
    if (!texture || !gdk_texture_save_to_png(texture.get(), path.c_str())) {
        error = "cannot write " + path;
        return false;
    }
    LOG("screenshot: %s (%dx%d)", path.c_str(), width, height);
    return true;
}

void CallWindow::scheduleScreenshot()
{
    if (options_.screenshot.empty() || screenshotTaken_ || screenshotTimer_)
        return;
    screenshotTimer_ = Source::once(nullptr, std::chrono::milliseconds(guint(options_.screenshotDelayS * 1000)), [this] {
        screenshotTaken_ = true;
        requestScreenshot(options_.screenshot);
    });
}

} // namespace palaver::gui
