// palaverpaintablesink and its paintable; see paintable_sink.h.
//
// Threads (docs/architecture.md, "The call window", Threads): show_frame runs on the streaming thread and
// only fills a one-slot mailbox and, if none is on its way, attaches one idle
// source to GTK's context (g_main_context_default). The idle callback, on
// the main thread, empties the mailbox and builds the GdkTexture. A frame
// that arrives before the main thread took the previous one replaces it: a
// call shows the newest picture, never a queue of stale ones.
#include "paintable_sink.h"

#include "gst_element.h"
#include "gst_ref.h"

#include <gst/video/video.h>

#include <atomic>
#include <cmath>
#include <memory>
#include <mutex>
#include <tuple>

GST_DEBUG_CATEGORY_STATIC(palaver_sink_debug);
#define GST_CAT_DEFAULT palaver_sink_debug

using palaver::adopt;
using palaver::GRef;

// ---------------------------------------------------------------------------
// PalaverVideoPaintable

namespace {

struct PaintableState {
    GRef<GdkTexture> texture;
    // Pixel aspect ratio of `texture`: a pixel is parN/parD as wide as tall.
    int parN = 1;
    int parD = 1;

    int intrinsicWidth() const
    {
        if (!texture)
            return 0;
        return int(std::lround(double(gdk_texture_get_width(texture.get())) * parN / parD));
    }
    int intrinsicHeight() const { return texture ? gdk_texture_get_height(texture.get()) : 0; }
    double intrinsicAspect() const
    {
        if (!texture || gdk_texture_get_height(texture.get()) == 0)
            return 0.0;
        return double(gdk_texture_get_width(texture.get())) * parN
            / (double(gdk_texture_get_height(texture.get())) * parD);
    }
};

} // namespace

struct _PalaverVideoPaintable {
    GObject parent_instance;
    PaintableState* state;
};

static void palaver_video_paintable_iface_init(GdkPaintableInterface* iface);

G_DEFINE_TYPE_WITH_CODE(PalaverVideoPaintable, palaver_video_paintable, G_TYPE_OBJECT,
    G_IMPLEMENT_INTERFACE(GDK_TYPE_PAINTABLE, palaver_video_paintable_iface_init))

namespace {

PaintableState& paintableState(GdkPaintable* paintable)
{
    return *PALAVER_VIDEO_PAINTABLE(paintable)->state;
}

// Fits the frame into width x height, centred, keeping its display aspect
// ratio. The bars stay transparent: the widget's CSS background (black in
// the call grid) shows through, so the paintable needs no colour of its own.
void paintableSnapshot(GdkPaintable* paintable, GdkSnapshot* snapshot, double width, double height)
{
    const PaintableState& s = paintableState(paintable);
    const double aspect = s.intrinsicAspect();
    if (!s.texture || width <= 0 || height <= 0 || aspect <= 0)
        return;
    double w = width;
    double h = height;
    if (width / height > aspect)
        w = height * aspect;
    else
        h = width / aspect;
    // Whole pixels: a fractional edge would be blended half into the bar.
    graphene_rect_t rect;
    graphene_rect_init(&rect, float(std::round((width - w) / 2)), float(std::round((height - h) / 2)),
        float(std::round(w)), float(std::round(h)));
    gtk_snapshot_append_texture(GTK_SNAPSHOT(snapshot), s.texture.get(), &rect);
}

GdkPaintable* paintableCurrentImage(GdkPaintable* paintable)
{
    const PaintableState& s = paintableState(paintable);
    if (s.texture && s.parN == s.parD)
        return GDK_PAINTABLE(g_object_ref(s.texture.get()));
    // A texture alone would lose the pixel aspect ratio; freeze the state in
    // a new paintable instead.
    PalaverVideoPaintable* copy = palaver_video_paintable_new();
    if (s.texture)
        palaver_video_paintable_set_texture(copy, s.texture.get(), s.parN, s.parD);
    return GDK_PAINTABLE(copy);
}

int paintableIntrinsicWidth(GdkPaintable* paintable)
{
    return paintableState(paintable).intrinsicWidth();
}

int paintableIntrinsicHeight(GdkPaintable* paintable)
{
    return paintableState(paintable).intrinsicHeight();
}

double paintableIntrinsicAspectRatio(GdkPaintable* paintable)
{
    return paintableState(paintable).intrinsicAspect();
}

} // namespace

static void palaver_video_paintable_iface_init(GdkPaintableInterface* iface)
{
    iface->snapshot = paintableSnapshot;
    iface->get_current_image = paintableCurrentImage;
    iface->get_intrinsic_width = paintableIntrinsicWidth;
    iface->get_intrinsic_height = paintableIntrinsicHeight;
    iface->get_intrinsic_aspect_ratio = paintableIntrinsicAspectRatio;
}

static void palaver_video_paintable_init(PalaverVideoPaintable* self)
{
    self->state = new PaintableState;
}

static void palaver_video_paintable_finalize(GObject* object)
{
    delete PALAVER_VIDEO_PAINTABLE(object)->state;
    G_OBJECT_CLASS(palaver_video_paintable_parent_class)->finalize(object);
}

static void palaver_video_paintable_class_init(PalaverVideoPaintableClass* klass)
{
    G_OBJECT_CLASS(klass)->finalize = palaver_video_paintable_finalize;
}

PalaverVideoPaintable* palaver_video_paintable_new(void)
{
    return PALAVER_VIDEO_PAINTABLE(g_object_new(PALAVER_TYPE_VIDEO_PAINTABLE, nullptr));
}

void palaver_video_paintable_set_texture(PalaverVideoPaintable* self, GdkTexture* texture, int parN, int parD)
{
    g_return_if_fail(PALAVER_IS_VIDEO_PAINTABLE(self));
    PaintableState& s = *self->state;
    if (parN <= 0 || parD <= 0)
        parN = parD = 1;
    auto shape = [](const PaintableState& st) {
        return std::make_tuple(st.texture ? gdk_texture_get_width(st.texture.get()) : 0,
            st.texture ? gdk_texture_get_height(st.texture.get()) : 0, st.parN, st.parD);
    };
    const auto before = shape(s);
    s.texture = GRef<GdkTexture>(texture);
    s.parN = texture ? parN : 1;
    s.parD = texture ? parD : 1;
    if (shape(s) != before)
        gdk_paintable_invalidate_size(GDK_PAINTABLE(self));
    gdk_paintable_invalidate_contents(GDK_PAINTABLE(self));
}

void palaver_video_paintable_clear(PalaverVideoPaintable* self)
{
    g_return_if_fail(PALAVER_IS_VIDEO_PAINTABLE(self));
    if (self->state->texture)
        palaver_video_paintable_set_texture(self, nullptr, 1, 1);
}

GdkTexture* palaver_video_paintable_get_texture(PalaverVideoPaintable* self)
{
    g_return_val_if_fail(PALAVER_IS_VIDEO_PAINTABLE(self), nullptr);
    return self->state->texture.get();
}

// ---------------------------------------------------------------------------
// PalaverPaintableSink

namespace {

// What GdkMemoryTexture takes as is in GTK 4.8. No BGRx and friends: GTK 4.8
// has no memory format with a padding byte (X8 formats came in 4.14).
#define PALAVER_SINK_FORMATS "{ BGRA, ARGB, RGBA, ABGR, RGB, BGR }"

GstStaticPadTemplate sinkTemplate = GST_STATIC_PAD_TEMPLATE(
    "sink", GST_PAD_SINK, GST_PAD_ALWAYS, GST_STATIC_CAPS(GST_VIDEO_CAPS_MAKE(PALAVER_SINK_FORMATS)));

bool memoryFormatFor(const GstVideoInfo& info, GdkMemoryFormat& out)
{
    // GStreamer's alpha is straight unless the caps say otherwise; decoded
    // and converted camera video has alpha 255, where both read the same.
    const bool premultiplied = GST_VIDEO_INFO_FLAG_IS_SET(&info, GST_VIDEO_FLAG_PREMULTIPLIED_ALPHA);
    switch (GST_VIDEO_INFO_FORMAT(&info)) {
    case GST_VIDEO_FORMAT_BGRA:
        out = premultiplied ? GDK_MEMORY_B8G8R8A8_PREMULTIPLIED : GDK_MEMORY_B8G8R8A8;
        return true;
    case GST_VIDEO_FORMAT_ARGB:
        out = premultiplied ? GDK_MEMORY_A8R8G8B8_PREMULTIPLIED : GDK_MEMORY_A8R8G8B8;
        return true;
    case GST_VIDEO_FORMAT_RGBA:
        out = premultiplied ? GDK_MEMORY_R8G8B8A8_PREMULTIPLIED : GDK_MEMORY_R8G8B8A8;
        return true;
    case GST_VIDEO_FORMAT_ABGR:
        // GTK 4.8 has no premultiplied A8B8G8R8.
        out = GDK_MEMORY_A8B8G8R8;
        return true;
    case GST_VIDEO_FORMAT_RGB:
        out = GDK_MEMORY_R8G8B8;
        return true;
    case GST_VIDEO_FORMAT_BGR:
        out = GDK_MEMORY_B8G8R8;
        return true;
    default:
        return false;
    }
}

struct SinkState {
    // Made in init on the creating (main) thread and never replaced; touched
    // on the main thread only, except for references taken by the getter.
    GRef<PalaverVideoPaintable> paintable;

    // Written by set_info, read by show_frame: both on the streaming thread,
    // serialised by GstBaseSink (caps are a serialised event).
    GstVideoInfo info;

    // `lock` guards the mailbox: the newest frame not yet taken by the main
    // thread, its video info, and the one idle source on its way (which
    // holds a reference on the sink). Taken by the streaming thread
    // (show_frame), the main thread (takeFrame) and state changes (stop),
    // only for moves of a few pointers; never held while calling GTK.
    // Lock order: `lock`, then the GMainContext's own (g_source_attach).
    std::mutex lock;
    GRef<GstBuffer> pendingBuffer;
    GstVideoInfo pendingInfo;
    GRef<GSource> pendingSource;

    std::atomic<guint64> rendered { 0 };
    std::atomic<guint64> dropped { 0 };
};

enum {
    PROP_0,
    PROP_PAINTABLE,
    PROP_FRAMES_RENDERED,
    PROP_FRAMES_DROPPED,
};

} // namespace

struct _PalaverPaintableSink {
    GstVideoSink parent_instance;
    SinkState* state;
};

G_DEFINE_TYPE_WITH_CODE(PalaverPaintableSink, palaver_paintable_sink, GST_TYPE_VIDEO_SINK,
    GST_DEBUG_CATEGORY_INIT(palaver_sink_debug, "palaver-sink", 0, "Palaver GTK paintable video sink"))

namespace {

void unmapFrame(gpointer data)
{
    auto* frame = static_cast<GstVideoFrame*>(data);
    gst_video_frame_unmap(frame); // also drops the frame's reference on the buffer
    delete frame;
}

// Zero copy: the texture reads the buffer's memory in place. The GBytes owns
// the mapped frame, and the frame a reference on the buffer (taken by
// gst_video_frame_map), so the pixels live exactly as long as GTK keeps the
// texture (the paintable's current frame and the renderer's upload cache).
GRef<GdkTexture> textureFromBuffer(PalaverPaintableSink* self, GstBuffer* buffer, const GstVideoInfo& info)
{
    GdkMemoryFormat format;
    if (!memoryFormatFor(info, format)) {
        // The pad template rules this out.
        GST_ERROR_OBJECT(self, "no GdkMemoryFormat for %s", gst_video_format_to_string(GST_VIDEO_INFO_FORMAT(&info)));
        return {};
    }
    auto frame = std::make_unique<GstVideoFrame>();
    if (!gst_video_frame_map(frame.get(), &info, buffer, GST_MAP_READ)) {
        GST_WARNING_OBJECT(self, "could not map %" GST_PTR_FORMAT, buffer);
        return {};
    }
    const int width = GST_VIDEO_FRAME_WIDTH(frame.get());
    const int height = GST_VIDEO_FRAME_HEIGHT(frame.get());
    const gsize stride = GST_VIDEO_FRAME_PLANE_STRIDE(frame.get(), 0);
    // The last row need not be padded to the stride; GTK asks for no more.
    const gsize size = stride * gsize(height - 1) + gsize(width) * GST_VIDEO_FRAME_COMP_PSTRIDE(frame.get(), 0);
    const void* data = GST_VIDEO_FRAME_PLANE_DATA(frame.get(), 0);
    GRef<GBytes> bytes = adopt(g_bytes_new_with_free_func(data, size, unmapFrame, frame.release()));
    return adopt(gdk_memory_texture_new(width, height, format, bytes.get(), stride));
}

// Main thread: the idle source of show_frame.
gboolean takeFrame(gpointer data)
{
    auto* self = PALAVER_PAINTABLE_SINK(data);
    SinkState& s = *self->state;
    GRef<GstBuffer> buffer;
    GstVideoInfo info;
    {
        std::lock_guard<std::mutex> locked(s.lock);
        buffer = std::move(s.pendingBuffer);
        info = s.pendingInfo;
        // stop() may have replaced this source by a newer one already.
        if (s.pendingSource.get() == g_main_current_source())
            s.pendingSource = nullptr;
    }
    if (!buffer)
        return G_SOURCE_REMOVE; // stop() took it
    GRef<GdkTexture> texture = textureFromBuffer(self, buffer.get(), info);
    if (!texture)
        return G_SOURCE_REMOVE;
    palaver_video_paintable_set_texture(
        s.paintable.get(), texture.get(), GST_VIDEO_INFO_PAR_N(&info), GST_VIDEO_INFO_PAR_D(&info));
    s.rendered.fetch_add(1, std::memory_order_relaxed);
    return G_SOURCE_REMOVE;
}

gboolean clearPaintable(gpointer data)
{
    palaver_video_paintable_clear(PALAVER_VIDEO_PAINTABLE(data));
    return G_SOURCE_REMOVE;
}

// Attaches a one-shot idle source to GTK's context. Not
// g_main_context_invoke: when no thread owns the context at that moment (the
// main loop is between iterations or not running yet) it would run `fn`
// right here, on the streaming thread.
GRef<GSource> postToMain(GSourceFunc fn, gpointer ref, GDestroyNotify unref, const char* name)
{
    GRef<GSource> source = adopt(g_idle_source_new());
    // Above GTK's redraw (GDK_PRIORITY_REDRAW), so a frame that arrived
    // before a frame clock tick is painted in that tick.
    g_source_set_priority(source.get(), G_PRIORITY_DEFAULT);
    g_source_set_static_name(source.get(), name);
    g_source_set_callback(source.get(), fn, ref, unref);
    g_source_attach(source.get(), g_main_context_default());
    return source;
}

gboolean sinkSetInfo(GstVideoSink* vsink, GstCaps* caps, const GstVideoInfo* info)
{
    auto* self = PALAVER_PAINTABLE_SINK(vsink);
    GdkMemoryFormat format;
    if (!memoryFormatFor(*info, format)) {
        GST_WARNING_OBJECT(self, "unsupported caps %" GST_PTR_FORMAT, caps);
        return FALSE;
    }
    GST_INFO_OBJECT(self, "caps %" GST_PTR_FORMAT, caps);
    self->state->info = *info;
    return TRUE;
}

// Streaming thread. Never waits for the main loop: GTK may be busy (a
// resize, a slow frame) and blocking here would stall the whole call
// pipeline behind the display.
GstFlowReturn sinkShowFrame(GstVideoSink* vsink, GstBuffer* buffer)
{
    auto* self = PALAVER_PAINTABLE_SINK(vsink);
    SinkState& s = *self->state;
    std::lock_guard<std::mutex> locked(s.lock);
    if (s.pendingBuffer) {
        s.dropped.fetch_add(1, std::memory_order_relaxed);
        GST_LOG_OBJECT(self, "main loop has not taken the previous frame; dropping it");
    }
    s.pendingBuffer = GRef<GstBuffer>(buffer);
    s.pendingInfo = s.info;
    if (!s.pendingSource)
        s.pendingSource = postToMain(takeFrame, g_object_ref(self), g_object_unref, "palaverpaintablesink frame");
    return GST_FLOW_OK;
}

// Lets upstream hand us frames with padded strides or plane offsets
// (decoders' pools) without a copy; gst_video_frame_map reads the meta.
gboolean sinkProposeAllocation(GstBaseSink* bsink, GstQuery* query)
{
    gst_query_add_allocation_meta(query, GST_VIDEO_META_API_TYPE, nullptr);
    return TRUE;
}

// Cancels the idle source still on its way, so that nothing holds the sink
// (or a buffer of a pool being shut down) after PAUSED -> READY.
void dropPending(PalaverPaintableSink* self)
{
    SinkState& s = *self->state;
    GRef<GSource> source;
    GRef<GstBuffer> buffer;
    {
        std::lock_guard<std::mutex> locked(s.lock);
        source = std::move(s.pendingSource);
        buffer = std::move(s.pendingBuffer);
    }
    if (buffer)
        s.dropped.fetch_add(1, std::memory_order_relaxed);
    // Outside the lock: destroying runs the destroy notify (our unref) here,
    // unless takeFrame is running right now, in which case it finds the
    // mailbox empty.
    if (source)
        g_source_destroy(source.get());
}

gboolean sinkStop(GstBaseSink* bsink)
{
    auto* self = PALAVER_PAINTABLE_SINK(bsink);
    dropPending(self);
    // A stopped stream shows nothing rather than its last frame frozen (a
    // peer that left, a camera turned off). Posted, as stop() can run on any
    // thread; holds only the paintable, so the sink can go now.
    postToMain(clearPaintable, g_object_ref(self->state->paintable.get()), g_object_unref,
        "palaverpaintablesink clear");
    GST_INFO_OBJECT(self, "stopped: %" G_GUINT64_FORMAT " frames shown, %" G_GUINT64_FORMAT " dropped",
        self->state->rendered.load(), self->state->dropped.load());
    return TRUE;
}

} // namespace

static void palaver_paintable_sink_init(PalaverPaintableSink* self)
{
    self->state = new SinkState;
    self->state->paintable = adopt(palaver_video_paintable_new());
    gst_video_info_init(&self->state->info);
    gst_video_info_init(&self->state->pendingInfo);
    // sync, qos and max-lateness keep GstVideoSink's defaults (TRUE, TRUE,
    // 20 ms): frames are handed over at their running time, so GTK shows the
    // picture in step with the audio sink, and basesink drops a frame that
    // is already more than 20 ms late instead of painting it (and sends QoS
    // upstream so the decoder can skip work). A real-time display never
    // wants a late frame; the mailbox above only covers a busy main loop.
}

static void palaver_paintable_sink_dispose(GObject* object)
{
    // Only reached with a source pending through g_object_run_dispose: the
    // source holds a reference otherwise.
    dropPending(PALAVER_PAINTABLE_SINK(object));
    G_OBJECT_CLASS(palaver_paintable_sink_parent_class)->dispose(object);
}

static void palaver_paintable_sink_finalize(GObject* object)
{
    delete PALAVER_PAINTABLE_SINK(object)->state;
    G_OBJECT_CLASS(palaver_paintable_sink_parent_class)->finalize(object);
}

static void palaver_paintable_sink_get_property(GObject* object, guint id, GValue* value, GParamSpec* pspec)
{
    SinkState& s = *PALAVER_PAINTABLE_SINK(object)->state;
    switch (id) {
    case PROP_PAINTABLE:
        g_value_set_object(value, s.paintable.get());
        break;
    case PROP_FRAMES_RENDERED:
        g_value_set_uint64(value, s.rendered.load(std::memory_order_relaxed));
        break;
    case PROP_FRAMES_DROPPED:
        g_value_set_uint64(value, s.dropped.load(std::memory_order_relaxed));
        break;
    default:
        G_OBJECT_WARN_INVALID_PROPERTY_ID(object, id, pspec);
        break;
    }
}

static void palaver_paintable_sink_class_init(PalaverPaintableSinkClass* klass)
{
    GObjectClass* objectClass = G_OBJECT_CLASS(klass);
    objectClass->dispose = palaver_paintable_sink_dispose;
    objectClass->finalize = palaver_paintable_sink_finalize;
    objectClass->get_property = palaver_paintable_sink_get_property;

    g_object_class_install_property(objectClass, PROP_PAINTABLE,
        g_param_spec_object("paintable", "Paintable", "The GdkPaintable showing the video (main thread only)",
            GDK_TYPE_PAINTABLE, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
    g_object_class_install_property(objectClass, PROP_FRAMES_RENDERED,
        g_param_spec_uint64("frames-rendered", "Frames rendered", "Frames turned into textures on the main thread", 0,
            G_MAXUINT64, 0, GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));
    g_object_class_install_property(objectClass, PROP_FRAMES_DROPPED,
        g_param_spec_uint64("frames-dropped", "Frames dropped",
            "Frames replaced by a newer one before the main thread took them", 0, G_MAXUINT64, 0,
            GParamFlags(G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

    GstElementClass* elementClass = GST_ELEMENT_CLASS(klass);
    gst_element_class_set_static_metadata(elementClass, "Palaver GTK paintable sink", "Sink/Video",
        "Shows video in GTK 4 as a GdkPaintable of zero-copy memory textures", "Palaver");
    gst_element_class_add_static_pad_template(elementClass, &sinkTemplate);

    GST_BASE_SINK_CLASS(klass)->propose_allocation = sinkProposeAllocation;
    GST_BASE_SINK_CLASS(klass)->stop = sinkStop;
    GST_VIDEO_SINK_CLASS(klass)->set_info = sinkSetInfo;
    GST_VIDEO_SINK_CLASS(klass)->show_frame = sinkShowFrame;
}

// ---------------------------------------------------------------------------
// C++ API

namespace palaver::gui {

void registerPaintableSink()
{
    static std::once_flag once;
    std::call_once(once, [] {
        if (!gst_element_register(nullptr, "palaverpaintablesink", GST_RANK_NONE, PALAVER_TYPE_PAINTABLE_SINK))
            GST_ERROR("could not register palaverpaintablesink");
    });
}

const char* paintableSinkName()
{
    GRef<GstElementFactory> rs = adopt(gst_element_factory_find("gtk4paintablesink"));
    return rs ? "gtk4paintablesink" : "palaverpaintablesink";
}

GstElement* makePaintableSink(GRef<GdkPaintable>& paintable, bool mirror, std::string& error, bool forceOwn)
{
    registerPaintableSink();
    const char* sinkName = forceOwn ? "palaverpaintablesink" : paintableSinkName();
    struct Part {
        const char* factory;
        GRef<GstElement> element;
    };
    Part parts[] = {
        { "videoconvert", {} },
        { "videoflip", {} },
        { sinkName, {} },
    };
    for (Part& part : parts) {
        if (&part == &parts[1] && !mirror)
            continue;
        part.element = makeElement(part.factory, nullptr, error);
        if (!part.element) {
            // Ours is built into palaver: missing means it did not register.
            if (part.factory == std::string_view("palaverpaintablesink"))
                error = "Palaver's own video sink (palaverpaintablesink) is not registered";
            GST_WARNING("no video sink: %s", error.c_str());
            return nullptr;
        }
    }
    GstElement* convert = parts[0].element.get();
    GstElement* flip = parts[1].element.get();
    GstElement* sink = parts[2].element.get();
    if (flip)
        gst_util_set_object_arg(G_OBJECT(flip), "method", "horizontal-flip");

    GRef<GstElement> owned = adopt(gst_bin_new(nullptr));
    GstElement* bin = owned.get();
    // The elements are no longer floating (adopt sank them), so the bin
    // takes a reference of its own and `parts` drops ours on return.
    for (Part& part : parts) {
        if (part.element)
            gst_bin_add(GST_BIN(bin), part.element.get());
    }
    const bool linked = flip ? gst_element_link_many(convert, flip, sink, nullptr) : gst_element_link(convert, sink);
    GRef<GstPad> target = adopt(gst_element_get_static_pad(convert, "sink"));
    if (!linked || !gst_element_add_pad(bin, gst_ghost_pad_new("sink", target.get()))) {
        error = "the video display's elements do not fit together";
        GST_ERROR("could not link videoconvert ! %s%s", mirror ? "videoflip ! " : "", sinkName);
        return nullptr;
    }

    GdkPaintable* p = nullptr;
    g_object_get(sink, "paintable", &p, nullptr);
    paintable = adopt(p);
    if (!paintable) {
        error = std::string("the video sink ") + sinkName + " has no paintable";
        GST_ERROR("%s gave no paintable", sinkName);
        return nullptr;
    }
    GST_DEBUG("video sink bin with %s%s", sinkName, mirror ? ", mirrored" : "");
    // Floating for the caller, like gst_element_factory_make's results.
    bin = owned.release();
    g_object_force_floating(G_OBJECT(bin));
    return bin;
}

} // namespace palaver::gui
