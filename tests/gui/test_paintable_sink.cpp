// palaverpaintablesink and its paintable (src/gui/paintable_sink.h), with
// real pixels: videotestsrc frames in, GdkTextures out, read back with
// gdk_texture_download; the letterbox drawn through GtkSnapshot and
// gsk_render_node_draw onto a cairo image. Needs no display: memory
// textures and the cairo path of GSK never open one.
#include "gst_ref.h"
#include "paintable_sink.h"

#include <cairo.h>

#include <cstdint>
#include <string>
#include <vector>

using namespace palaver;

namespace {

constexpr gint64 kWaitUs = 10 * G_TIME_SPAN_SECOND;
// videotestsrc foreground-color is ARGB, as gdk_texture_download's pixels
// read as native-endian uint32s.
constexpr uint32_t kColour = 0xff3366cc;
constexpr uint32_t kTransparent = 0x00000000;

GRef<GstElement> launch(const std::string& description)
{
    GUnique<GError> error;
    GRef<GstElement> pipeline = adopt(gst_parse_launch(description.c_str(), error.outPtr()));
    g_assert_no_error(error.get());
    g_assert_nonnull(pipeline.get());
    return pipeline;
}

GRef<GstElement> byName(GstElement* pipeline, const char* name)
{
    GRef<GstElement> element = adopt(gst_bin_get_by_name(GST_BIN(pipeline), name));
    g_assert_nonnull(element.get());
    return element;
}

PalaverVideoPaintable* paintableOf(GstElement* sink)
{
    GdkPaintable* paintable = nullptr;
    g_object_get(sink, "paintable", &paintable, nullptr);
    g_assert_true(PALAVER_IS_VIDEO_PAINTABLE(paintable));
    g_object_unref(paintable); // the sink keeps it
    return PALAVER_VIDEO_PAINTABLE(paintable);
}

guint64 counter(GstElement* sink, const char* name)
{
    guint64 value = 0;
    g_object_get(sink, name, &value, nullptr);
    return value;
}

// Runs what is ready on GTK's context (where the sink posts its frames).
void drainMainContext()
{
    while (g_main_context_iteration(nullptr, FALSE)) {
    }
}

// Waits for EOS, running the main context meanwhile if asked (a GTK app
// would be); fails on an error message or after kWaitUs.
void waitForEos(GstElement* pipeline, bool runMainContext)
{
    GRef<GstBus> bus = adopt(gst_element_get_bus(pipeline));
    const gint64 deadline = g_get_monotonic_time() + kWaitUs;
    while (g_get_monotonic_time() < deadline) {
        if (runMainContext)
            drainMainContext();
        GRef<GstMessage> message = adopt(gst_bus_timed_pop_filtered(
            bus.get(), 2 * GST_MSECOND, GstMessageType(GST_MESSAGE_EOS | GST_MESSAGE_ERROR)));
        if (!message)
            continue;
        if (GST_MESSAGE_TYPE(message.get()) == GST_MESSAGE_ERROR) {
            GUnique<GError> error;
            gst_message_parse_error(message.get(), error.outPtr(), nullptr);
            g_error("pipeline error: %s", errorMessage(error));
        }
        return;
    }
    g_error("no EOS within %d s", int(kWaitUs / G_TIME_SPAN_SECOND));
}

template<typename Predicate>
bool waitUntil(Predicate done)
{
    const gint64 deadline = g_get_monotonic_time() + kWaitUs;
    while (g_get_monotonic_time() < deadline) {
        drainMainContext();
        if (done())
            return true;
        g_usleep(2000);
    }
    return false;
}

void stop(GstElement* pipeline)
{
    g_assert_cmpint(gst_element_set_state(pipeline, GST_STATE_NULL), ==, GST_STATE_CHANGE_SUCCESS);
    drainMainContext();
}

struct Image {
    int width = 0;
    int height = 0;
    std::vector<uint32_t> pixels;
    uint32_t at(int x, int y) const { return pixels[size_t(y) * size_t(width) + size_t(x)]; }
};

Image download(GdkTexture* texture)
{
    Image image;
    image.width = gdk_texture_get_width(texture);
    image.height = gdk_texture_get_height(texture);
    image.pixels.resize(size_t(image.width) * size_t(image.height));
    gdk_texture_download(texture, reinterpret_cast<guchar*>(image.pixels.data()), size_t(image.width) * 4);
    return image;
}

// The paintable drawn at width x height, the way GtkPicture would, rendered
// by GSK's cairo path onto a transparent image.
Image render(GdkPaintable* paintable, int width, int height)
{
    GtkSnapshot* snapshot = gtk_snapshot_new();
    gdk_paintable_snapshot(paintable, GDK_SNAPSHOT(snapshot), width, height);
    GskRenderNode* node = gtk_snapshot_free_to_node(snapshot);
    Image image;
    image.width = width;
    image.height = height;
    image.pixels.assign(size_t(width) * size_t(height), 0);
    cairo_surface_t* surface = cairo_image_surface_create_for_data(
        reinterpret_cast<unsigned char*>(image.pixels.data()), CAIRO_FORMAT_ARGB32, width, height, width * 4);
    if (node) {
        cairo_t* cr = cairo_create(surface);
        gsk_render_node_draw(node, cr);
        cairo_destroy(cr);
        gsk_render_node_unref(node);
    }
    cairo_surface_flush(surface);
    cairo_surface_destroy(surface);
    return image;
}

bool near(uint32_t actual, uint32_t expected, int tolerance)
{
    for (int shift = 0; shift < 32; shift += 8) {
        const int a = int((actual >> shift) & 0xff);
        const int e = int((expected >> shift) & 0xff);
        if (std::abs(a - e) > tolerance)
            return false;
    }
    return true;
}

#define assertPixel(actual, expected, tolerance)                                                                   \
    do {                                                                                                            \
        const uint32_t a_ = (actual), e_ = (expected);                                                              \
        if (!near(a_, e_, (tolerance)))                                                                             \
            g_error("%s:%d: pixel %s is 0x%08x, expected 0x%08x", __FILE__, __LINE__, #actual, unsigned(a_),      \
                unsigned(e_));                                                                                      \
    } while (0)

std::string solidPipeline(const char* format, int width, int height, int frames, const char* extraCaps = "")
{
    return "videotestsrc num-buffers=" + std::to_string(frames)
        + " pattern=solid-color foreground-color=" + std::to_string(kColour) + " ! video/x-raw,format=" + format
        + ",width=" + std::to_string(width) + ",height=" + std::to_string(height) + extraCaps
        + " ! palaverpaintablesink name=sink sync=false";
}

// (a) Frames in, textures out, for each format family the sink takes; 321
// pixels wide so that RGB/BGR rows are padded (stride 964, not 963).
void testSolidColour()
{
    for (const char* format : { "BGRA", "RGBA", "ARGB", "ABGR", "RGB", "BGR" }) {
        g_test_message("format %s", format);
        constexpr int kFrames = 10;
        GRef<GstElement> pipeline = launch(solidPipeline(format, 321, 240, kFrames));
        GRef<GstElement> sink = byName(pipeline.get(), "sink");
        PalaverVideoPaintable* paintable = paintableOf(sink.get());
        g_assert_null(palaver_video_paintable_get_texture(paintable));

        gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
        waitForEos(pipeline.get(), true);
        drainMainContext();

        GdkTexture* texture = palaver_video_paintable_get_texture(paintable);
        g_assert_nonnull(texture);
        g_assert_true(GDK_IS_MEMORY_TEXTURE(texture));
        Image image = download(texture);
        g_assert_cmpint(image.width, ==, 321);
        g_assert_cmpint(image.height, ==, 240);
        for (auto [x, y] : { std::pair { 0, 0 }, { 320, 0 }, { 0, 239 }, { 320, 239 }, { 160, 120 } })
            assertPixel(image.at(x, y), kColour, 0);
        g_assert_cmpint(gdk_paintable_get_intrinsic_width(GDK_PAINTABLE(paintable)), ==, 321);
        g_assert_cmpint(gdk_paintable_get_intrinsic_height(GDK_PAINTABLE(paintable)), ==, 240);

        // Every frame shown is either made into a texture or replaced by a
        // newer one; GstVideoSink shows the preroll frame once more.
        const guint64 rendered = counter(sink.get(), "frames-rendered");
        const guint64 dropped = counter(sink.get(), "frames-dropped");
        g_test_message("%s: %" G_GUINT64_FORMAT " rendered, %" G_GUINT64_FORMAT " dropped", format, rendered, dropped);
        g_assert_cmpuint(rendered, >, 0);
        g_assert_cmpuint(rendered + dropped, >=, kFrames);
        g_assert_cmpuint(rendered + dropped, <=, kFrames + 1);

        // Stopped: shows nothing.
        stop(pipeline.get());
        g_assert_null(palaver_video_paintable_get_texture(paintable));
        g_assert_cmpint(gdk_paintable_get_intrinsic_width(GDK_PAINTABLE(paintable)), ==, 0);
    }
}

// videotestsrc 1.22's SMPTE bars for RGB output, full intensity (not the
// 75 % of the real chart): white, yellow, cyan, green, magenta, red, blue
// across the top two thirds.
constexpr uint32_t kSmpteBars[] = { 0xffffffff, 0xffffff00, 0xff00ffff, 0xff00ff00, 0xffff00ff, 0xffff0000,
    0xff0000ff };

void assertSmpte(const Image& image, bool mirrored, int tolerance)
{
    const int barWidth = image.width / 7;
    for (int bar = 0; bar < 7; ++bar) {
        const int x = bar * image.width / 7 + barWidth / 2;
        const uint32_t expected = kSmpteBars[mirrored ? 6 - bar : bar];
        assertPixel(image.at(x, image.height / 4), expected, tolerance);
    }
}

// (b) A known multi-colour pattern: each bar where it belongs, so channels
// and rows are neither swapped nor shifted.
void testSmpte()
{
    for (const char* format : { "BGRA", "RGBA" }) {
        GRef<GstElement> pipeline = launch(std::string("videotestsrc num-buffers=3 pattern=smpte ! video/x-raw,format=")
            + format + ",width=320,height=240 ! palaverpaintablesink name=sink sync=false");
        GRef<GstElement> sink = byName(pipeline.get(), "sink");
        PalaverVideoPaintable* paintable = paintableOf(sink.get());
        gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
        waitForEos(pipeline.get(), true);
        drainMainContext();
        GdkTexture* texture = palaver_video_paintable_get_texture(paintable);
        g_assert_nonnull(texture);
        assertSmpte(download(texture), false, 1);
        stop(pipeline.get());
    }
}

struct Letterbox {
    const char* caps;
    int width, height; // intrinsic
    double aspect;
    // Where the video lands when drawn at 400x400.
    int x0, y0, x1, y1;
};

// (c) Intrinsic size from the pixel aspect ratio, and the picture fitted
// and centred in a square with transparent bars.
void testAspectRatio()
{
    const Letterbox cases[] = {
        { "width=320,height=240,pixel-aspect-ratio=1/1", 320, 240, 4.0 / 3.0, 0, 50, 400, 350 },
        { "width=320,height=240,pixel-aspect-ratio=2/1", 640, 240, 8.0 / 3.0, 0, 125, 400, 275 },
        { "width=240,height=320,pixel-aspect-ratio=1/1", 240, 320, 3.0 / 4.0, 50, 0, 350, 400 },
    };
    for (const Letterbox& c : cases) {
        g_test_message("caps %s", c.caps);
        GRef<GstElement> pipeline = launch("videotestsrc num-buffers=2 pattern=solid-color foreground-color="
            + std::to_string(kColour) + " ! video/x-raw,format=BGRA," + c.caps
            + " ! palaverpaintablesink name=sink sync=false");
        GRef<GstElement> sink = byName(pipeline.get(), "sink");
        GdkPaintable* paintable = GDK_PAINTABLE(paintableOf(sink.get()));
        gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
        waitForEos(pipeline.get(), true);
        drainMainContext();

        g_assert_cmpint(gdk_paintable_get_intrinsic_width(paintable), ==, c.width);
        g_assert_cmpint(gdk_paintable_get_intrinsic_height(paintable), ==, c.height);
        g_assert_cmpfloat_with_epsilon(gdk_paintable_get_intrinsic_aspect_ratio(paintable), c.aspect, 1e-9);

        Image image = render(paintable, 400, 400);
        // Inside, a few pixels from each edge (the scaling filter blends
        // the outermost row); bars just outside.
        const int cx = (c.x0 + c.x1) / 2;
        const int cy = (c.y0 + c.y1) / 2;
        assertPixel(image.at(cx, cy), kColour, 0);
        assertPixel(image.at(c.x0 + 3, cy), kColour, 0);
        assertPixel(image.at(c.x1 - 4, cy), kColour, 0);
        assertPixel(image.at(cx, c.y0 + 3), kColour, 0);
        assertPixel(image.at(cx, c.y1 - 4), kColour, 0);
        if (c.y0 > 0) {
            assertPixel(image.at(cx, 0), kTransparent, 0);
            assertPixel(image.at(cx, c.y0 - 3), kTransparent, 0);
            assertPixel(image.at(cx, c.y1 + 2), kTransparent, 0);
            assertPixel(image.at(cx, 399), kTransparent, 0);
        }
        if (c.x0 > 0) {
            assertPixel(image.at(0, cy), kTransparent, 0);
            assertPixel(image.at(c.x0 - 3, cy), kTransparent, 0);
            assertPixel(image.at(c.x1 + 2, cy), kTransparent, 0);
            assertPixel(image.at(399, cy), kTransparent, 0);
        }
        stop(pipeline.get());
        // Nothing to draw once stopped.
        Image empty = render(paintable, 400, 400);
        assertPixel(empty.at(200, 200), kTransparent, 0);
    }
}

void countSignal(GdkPaintable*, gpointer counter)
{
    ++*static_cast<int*>(counter);
}

// (d) The texture follows a resolution change in mid-stream, and the
// paintable says its size changed.
void testResolutionChange()
{
    GRef<GstElement> pipeline = launch("videotestsrc is-live=true pattern=solid-color foreground-color="
        + std::to_string(kColour)
        + " ! capsfilter name=filter caps=video/x-raw,format=BGRA,width=320,height=240,framerate=30/1"
          " ! palaverpaintablesink name=sink");
    GRef<GstElement> sink = byName(pipeline.get(), "sink");
    GRef<GstElement> filter = byName(pipeline.get(), "filter");
    PalaverVideoPaintable* paintable = paintableOf(sink.get());
    int sizeChanges = 0;
    int contentChanges = 0;
    g_signal_connect(paintable, "invalidate-size", G_CALLBACK(countSignal), &sizeChanges);
    g_signal_connect(paintable, "invalidate-contents", G_CALLBACK(countSignal), &contentChanges);
    auto textureIs = [paintable](int width, int height) {
        GdkTexture* texture = palaver_video_paintable_get_texture(paintable);
        return texture && gdk_texture_get_width(texture) == width && gdk_texture_get_height(texture) == height;
    };

    gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
    g_assert_true(waitUntil([&] { return textureIs(320, 240); }));
    g_assert_cmpint(sizeChanges, ==, 1);

    GRef<GstCaps> caps = adopt(gst_caps_from_string("video/x-raw,format=BGRA,width=640,height=360,framerate=30/1"));
    g_object_set(filter.get(), "caps", caps.get(), nullptr);
    g_assert_true(waitUntil([&] { return textureIs(640, 360); }));
    g_assert_cmpint(sizeChanges, ==, 2);
    g_assert_cmpint(gdk_paintable_get_intrinsic_width(GDK_PAINTABLE(paintable)), ==, 640);
    Image image = download(palaver_video_paintable_get_texture(paintable));
    assertPixel(image.at(639, 359), kColour, 0);
    // More frames after the change, same size: contents only.
    const int contentsBefore = contentChanges;
    g_assert_true(waitUntil([&] { return contentChanges >= contentsBefore + 3; }));
    g_assert_cmpint(sizeChanges, ==, 2);

    stop(pipeline.get());
    g_assert_null(palaver_video_paintable_get_texture(paintable));
    g_assert_cmpint(sizeChanges, ==, 3);
    g_signal_handlers_disconnect_by_data(paintable, &sizeChanges);
    g_signal_handlers_disconnect_by_data(paintable, &contentChanges);
}

// (e) A main loop that falls behind gets the newest frame only: the
// streaming thread neither waits for it nor queues frames up.
void testLateFramesDropped()
{
    constexpr int kFrames = 30;
    GRef<GstElement> pipeline = launch(solidPipeline("BGRA", 320, 240, kFrames));
    GRef<GstElement> sink = byName(pipeline.get(), "sink");
    PalaverVideoPaintable* paintable = paintableOf(sink.get());
    gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
    waitForEos(pipeline.get(), false); // the main context does not run
    g_assert_cmpuint(counter(sink.get(), "frames-rendered"), ==, 0);
    g_assert_cmpuint(counter(sink.get(), "frames-dropped"), >=, kFrames - 1);
    g_assert_null(palaver_video_paintable_get_texture(paintable));

    // One idle source was pending, not one per frame: a single iteration
    // shows one frame and the next finds nothing to do.
    g_assert_true(g_main_context_iteration(nullptr, FALSE));
    g_assert_cmpuint(counter(sink.get(), "frames-rendered"), ==, 1);
    g_assert_nonnull(palaver_video_paintable_get_texture(paintable));
    g_assert_false(g_main_context_pending(nullptr));
    stop(pipeline.get());
}

// (e') Stopped with a frame still pending and the main loop not running:
// the pending idle source must not keep the sink (or the buffer) alive.
void testStopWithFramePending()
{
    GRef<GstElement> pipeline = launch(solidPipeline("BGRA", 320, 240, 5));
    GRef<GstElement> sink = byName(pipeline.get(), "sink");
    GRef<PalaverVideoPaintable> paintable(paintableOf(sink.get()));
    gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
    waitForEos(pipeline.get(), false);
    g_assert_cmpint(gst_element_set_state(pipeline.get(), GST_STATE_NULL), ==, GST_STATE_CHANGE_SUCCESS);

    GWeakRef weak;
    g_weak_ref_init(&weak, sink.get());
    sink = nullptr;
    pipeline = nullptr;
    GObject* alive = static_cast<GObject*>(g_weak_ref_get(&weak));
    g_assert_null(alive);
    g_weak_ref_clear(&weak);

    drainMainContext(); // only the clear is left; it holds the paintable
    g_assert_null(palaver_video_paintable_get_texture(paintable.get()));
}

// (f) makePaintableSink: a floating bin with a "sink" ghost pad around our
// sink, converting from I420 and mirroring the self view when asked.
void testMirror()
{
    const char* name = gui::paintableSinkName();
    g_assert_true(g_str_equal(name, "gtk4paintablesink") || g_str_equal(name, "palaverpaintablesink"));
    for (bool mirror : { false, true }) {
        GRef<GdkPaintable> paintable;
        std::string error;
        GstElement* bin = gui::makePaintableSink(paintable, mirror, error, true);
        g_assert_nonnull(bin);
        g_assert_true(error.empty());
        g_assert_true(g_object_is_floating(bin));
        g_assert_true(PALAVER_IS_VIDEO_PAINTABLE(paintable.get()));
        GRef<GstPad> ghost = adopt(gst_element_get_static_pad(bin, "sink"));
        g_assert_nonnull(ghost.get());

        GRef<GstElement> pipeline = launch(
            "videotestsrc num-buffers=3 pattern=smpte ! capsfilter name=filter caps=video/x-raw,format=I420,width=320,height=240");
        GRef<GstElement> filter = byName(pipeline.get(), "filter");
        gst_bin_add(GST_BIN(pipeline.get()), bin); // sinks the floating ref
        g_assert_true(gst_element_link(filter.get(), bin));
        gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
        waitForEos(pipeline.get(), true);
        drainMainContext();
        GdkTexture* texture = palaver_video_paintable_get_texture(PALAVER_VIDEO_PAINTABLE(paintable.get()));
        g_assert_nonnull(texture);
        // Through I420 and back: a few levels of rounding.
        assertSmpte(download(texture), mirror, 6);
        stop(pipeline.get());

        // The pipeline owned the bin and the bin its elements, nothing more:
        // all go with the pipeline.
        GWeakRef weakBin;
        GWeakRef weakSink;
        g_weak_ref_init(&weakBin, bin);
        GstIterator* sinks = gst_bin_iterate_sinks(GST_BIN(bin));
        GValue item = G_VALUE_INIT;
        g_assert_cmpint(gst_iterator_next(sinks, &item), ==, GST_ITERATOR_OK);
        g_weak_ref_init(&weakSink, g_value_get_object(&item));
        g_value_unset(&item);
        gst_iterator_free(sinks);
        pipeline = nullptr;
        filter = nullptr;
        for (GWeakRef* weak : { &weakBin, &weakSink }) {
            GObject* alive = static_cast<GObject*>(g_weak_ref_get(weak));
            g_assert_null(alive);
            g_weak_ref_clear(weak);
        }
    }
}

} // namespace

int main(int argc, char** argv)
{
    gst_init(&argc, &argv);
    g_test_init(&argc, &argv, nullptr);
    // gtk_init would register GSK's render node types, but needs a display;
    // asking for one type registers them all.
    g_type_ensure(GSK_TYPE_TEXTURE_NODE);
    gui::registerPaintableSink();
    gui::registerPaintableSink(); // idempotent
    g_test_add_func("/gui/paintable-sink/solid-colour", testSolidColour);
    g_test_add_func("/gui/paintable-sink/smpte", testSmpte);
    g_test_add_func("/gui/paintable-sink/aspect-ratio", testAspectRatio);
    g_test_add_func("/gui/paintable-sink/resolution-change", testResolutionChange);
    g_test_add_func("/gui/paintable-sink/late-frames-dropped", testLateFramesDropped);
    g_test_add_func("/gui/paintable-sink/stop-with-frame-pending", testStopWithFramePending);
    g_test_add_func("/gui/paintable-sink/mirror", testMirror);
    return g_test_run();
}
