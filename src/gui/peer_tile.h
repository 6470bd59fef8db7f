// One video in the call view: a peer's (or our own) video with its name and
// connection state on top, and the statistics overlay when asked for.
// Widgets only; the CallWindow feeds it. Main thread only.
#pragma once

#include "gref.h"

#include <gtk/gtk.h>

#include <string>

namespace palaver::gui {

class PeerTile {
public:
    // `local`: the small preview of our own camera (no state, no stats).
    PeerTile(const std::string& name, bool local);
    ~PeerTile();
    PeerTile(const PeerTile&) = delete;
    PeerTile& operator=(const PeerTile&) = delete;

    GtkWidget* widget() const { return root_.get(); }
    const std::string& name() const { return name_; }

    void setPaintable(GdkPaintable* paintable);
    GdkPaintable* paintable() const { return paintable_.get(); }
    // "Connecting…", "Connected", ...; `ok` false draws it as a warning.
    void setState(const std::string& text, bool ok);
    void setStats(const std::string& text);
    void showStats(bool show);
    bool statsOnScreen() const { return gtk_widget_get_mapped(stats_); }
    // The camera is off: an icon over the (black) video.
    void setVideoOff(bool off);
    // The video cannot be shown (no sink could be made): why, over the tile.
    void setVideoError(const std::string& text);
    std::string videoError() const;

private:
    std::string name_;
    GRef<GtkWidget> root_; // GtkOverlay
    GtkWidget* picture_ = nullptr; // owned by root_
    GtkWidget* nameLabel_ = nullptr;
    GtkWidget* stateLabel_ = nullptr;
    GtkWidget* stats_ = nullptr;
    GtkWidget* videoOff_ = nullptr;
    GtkWidget* videoError_ = nullptr;
    GRef<GdkPaintable> paintable_;
};

} // namespace palaver::gui
