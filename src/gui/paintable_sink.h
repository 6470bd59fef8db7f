// The video sink that hands decoded frames to GTK (issue 4): Debian 12 does
// not package gst-plugins-rs' gtk4paintablesink, so palaverpaintablesink
// stands in for it when it is missing.
//
// PalaverVideoPaintable: a GdkPaintable showing the newest frame as a
// GdkTexture, letterboxed into whatever size it is drawn at, honouring the
// stream's pixel-aspect-ratio. Main thread only.
//
// PalaverPaintableSink (element palaverpaintablesink): a GstVideoSink that
// keeps the newest frame in a one-slot mailbox and lets the GTK main context
// turn it into a zero-copy GdkMemoryTexture. Its streaming thread never
// waits for the main loop; a frame the main loop had no time for is dropped
// and counted (property frames-dropped).
#pragma once

#include "gref.h"

#include <gst/video/gstvideosink.h>
#include <gtk/gtk.h>

#include <string>

G_BEGIN_DECLS

#define PALAVER_TYPE_VIDEO_PAINTABLE (palaver_video_paintable_get_type())
G_DECLARE_FINAL_TYPE(PalaverVideoPaintable, palaver_video_paintable, PALAVER, VIDEO_PAINTABLE, GObject)

PalaverVideoPaintable* palaver_video_paintable_new(void);
// Shows `texture` (transfer none), a frame whose pixels are parN/parD as
// wide as they are tall. Emits invalidate-contents, and invalidate-size when
// the intrinsic size changes.
void palaver_video_paintable_set_texture(PalaverVideoPaintable* self, GdkTexture* texture, int parN, int parD);
// Shows nothing again (intrinsic size 0x0).
void palaver_video_paintable_clear(PalaverVideoPaintable* self);
// The texture shown now, or NULL (transfer none).
GdkTexture* palaver_video_paintable_get_texture(PalaverVideoPaintable* self);

#define PALAVER_TYPE_PAINTABLE_SINK (palaver_paintable_sink_get_type())
G_DECLARE_FINAL_TYPE(PalaverPaintableSink, palaver_paintable_sink, PALAVER, PAINTABLE_SINK, GstVideoSink)

G_END_DECLS

namespace palaver::gui {

// Registers palaverpaintablesink with GStreamer (idempotent, thread-safe).
void registerPaintableSink();

// A video sink bin for the GTK window:
//   videoconvert ! [videoflip method=horizontal-flip when mirror] ! SINK
// where SINK is gtk4paintablesink when that element exists at run time, else
// palaverpaintablesink (forceOwn: always ours, for tests and benchmarks).
// `paintable` receives the sink's GdkPaintable. Main thread only (the
// paintable belongs to the thread that creates the sink).
// Returns a floating GstElement (a GstBin with a ghost "sink" pad), or
// nullptr with a sentence in `error`.
GstElement* makePaintableSink(GRef<GdkPaintable>& paintable, bool mirror, std::string& error, bool forceOwn = false);

// Which sink makePaintableSink would use: "gtk4paintablesink" or
// "palaverpaintablesink".
const char* paintableSinkName();

} // namespace palaver::gui
