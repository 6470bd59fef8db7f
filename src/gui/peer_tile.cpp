#include "peer_tile.h"

#include <adwaita.h>

namespace palaver::gui {

PeerTile::PeerTile(const std::string& name, bool local)
    : name_(name)
    , root_(adopt(gtk_overlay_new()))
{
    GtkWidget* overlay = root_.get();
    gtk_widget_add_css_class(overlay, "tile");
    gtk_widget_set_overflow(overlay, GTK_OVERFLOW_HIDDEN);
    if (local) {
        gtk_widget_set_size_request(overlay, 120, 90);
        gtk_widget_add_css_class(overlay, "preview");
    } else {
        gtk_widget_set_size_request(overlay, 240, 180);
        gtk_widget_set_hexpand(overlay, TRUE);
        gtk_widget_set_vexpand(overlay, TRUE);
    }

    picture_ = gtk_picture_new();
    // The paintable letterboxes by itself; the picture only has to fill
    // the tile, whatever the video's size, so tiles stay equal in the grid.
    gtk_picture_set_can_shrink(GTK_PICTURE(picture_), TRUE);
    gtk_picture_set_content_fit(GTK_PICTURE(picture_), GTK_CONTENT_FIT_CONTAIN);
    gtk_widget_set_hexpand(picture_, TRUE);
    gtk_widget_set_vexpand(picture_, TRUE);
    gtk_overlay_set_child(GTK_OVERLAY(overlay), picture_);
    std::string label = local ? "You" : name;
    gtk_accessible_update_property(GTK_ACCESSIBLE(picture_), GTK_ACCESSIBLE_PROPERTY_LABEL,
        (local ? std::string("Your camera") : "Video of " + name).c_str(), -1);

    videoOff_ = gtk_image_new_from_icon_name("camera-disabled-symbolic");
    gtk_image_set_pixel_size(GTK_IMAGE(videoOff_), local ? 32 : 64);
    gtk_widget_add_css_class(videoOff_, "dim-label");
    gtk_widget_set_halign(videoOff_, GTK_ALIGN_CENTER);
    gtk_widget_set_valign(videoOff_, GTK_ALIGN_CENTER);
    gtk_widget_set_visible(videoOff_, FALSE);
    gtk_widget_set_tooltip_text(videoOff_, "Camera off");
    gtk_overlay_add_overlay(GTK_OVERLAY(overlay), videoOff_);

    videoError_ = gtk_label_new(nullptr);
    gtk_label_set_wrap(GTK_LABEL(videoError_), TRUE);
    gtk_label_set_justify(GTK_LABEL(videoError_), GTK_JUSTIFY_CENTER);
    gtk_label_set_max_width_chars(GTK_LABEL(videoError_), 40);
    gtk_widget_add_css_class(videoError_, "tile-label");
    gtk_widget_add_css_class(videoError_, "warning");
    gtk_widget_set_halign(videoError_, GTK_ALIGN_CENTER);
    gtk_widget_set_valign(videoError_, GTK_ALIGN_CENTER);
    gtk_widget_set_margin_start(videoError_, 12);
    gtk_widget_set_margin_end(videoError_, 12);
    gtk_widget_set_visible(videoError_, FALSE);
    gtk_overlay_add_overlay(GTK_OVERLAY(overlay), videoError_);

    GtkWidget* labels = gtk_box_new(GTK_ORIENTATION_HORIZONTAL, 6);
    gtk_widget_set_halign(labels, GTK_ALIGN_START);
    gtk_widget_set_valign(labels, GTK_ALIGN_END);
    gtk_widget_set_margin_start(labels, 8);
    gtk_widget_set_margin_bottom(labels, 8);
    nameLabel_ = gtk_label_new(label.c_str());
    gtk_label_set_ellipsize(GTK_LABEL(nameLabel_), PANGO_ELLIPSIZE_END);
    gtk_widget_add_css_class(nameLabel_, "tile-label");
    gtk_box_append(GTK_BOX(labels), nameLabel_);
    stateLabel_ = gtk_label_new(nullptr);
    gtk_widget_add_css_class(stateLabel_, "tile-label");
    gtk_widget_add_css_class(stateLabel_, "caption");
    gtk_widget_set_visible(stateLabel_, !local);
    gtk_box_append(GTK_BOX(labels), stateLabel_);
    gtk_overlay_add_overlay(GTK_OVERLAY(overlay), labels);

    stats_ = gtk_label_new(nullptr);
    gtk_label_set_xalign(GTK_LABEL(stats_), 0);
    gtk_widget_add_css_class(stats_, "tile-stats");
    gtk_widget_set_halign(stats_, GTK_ALIGN_START);
    gtk_widget_set_valign(stats_, GTK_ALIGN_START);
    gtk_widget_set_margin_start(stats_, 8);
    gtk_widget_set_margin_top(stats_, 8);
    gtk_widget_set_visible(stats_, FALSE);
    gtk_overlay_add_overlay(GTK_OVERLAY(overlay), stats_);
}

PeerTile::~PeerTile()
{
    // The grid holds the tile's widget too; take it out so it goes now.
    if (GtkWidget* parent = gtk_widget_get_parent(root_.get())) {
        if (GTK_IS_BOX(parent))
            gtk_box_remove(GTK_BOX(parent), root_.get());
        else if (ADW_IS_CLAMP(parent)) {
            adw_clamp_set_child(ADW_CLAMP(parent), nullptr);
        }
    }
}

void PeerTile::setPaintable(GdkPaintable* paintable)
{
    paintable_ = GRef<GdkPaintable>(paintable);
    gtk_picture_set_paintable(GTK_PICTURE(picture_), paintable);
}

void PeerTile::setState(const std::string& text, bool ok)
{
    gtk_label_set_text(GTK_LABEL(stateLabel_), text.c_str());
    if (ok)
        gtk_widget_remove_css_class(stateLabel_, "warning");
    else
        gtk_widget_add_css_class(stateLabel_, "warning");
    gtk_widget_set_tooltip_text(root_.get(), (name_ + ": " + text).c_str());
}

void PeerTile::setStats(const std::string& text)
{
    gtk_label_set_text(GTK_LABEL(stats_), text.c_str());
}

void PeerTile::showStats(bool show)
{
    gtk_widget_set_visible(stats_, show);
}

void PeerTile::setVideoOff(bool off)
{
    gtk_widget_set_visible(videoOff_, off);
}

void PeerTile::setVideoError(const std::string& text)
{
    gtk_label_set_text(GTK_LABEL(videoError_), text.c_str());
    gtk_widget_set_visible(videoError_, !text.empty());
}

std::string PeerTile::videoError() const
{
    return gtk_widget_get_visible(videoError_) ? gtk_label_get_text(GTK_LABEL(videoError_)) : "";
}

} // namespace palaver::gui
