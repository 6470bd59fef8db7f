// palaver-sink-bench: what palaverpaintablesink costs per frame, side by side
// with fakesink in the same run (bench/gui/README.md). Frames are BGRA from
// videotestsrc (not live, sinks sync=false), so the sink gets them as fast as
// it takes them and no videoconvert runs; the default main context runs a
// GMainLoop, as GTK's would, so the sink's textures are really made.
//
//   palaver-sink-bench [--frames N] [--runs R] [--sizes 1280x720,640x480]
//                      [--sinks fakesink,palaverpaintablesink] [--pattern P]
//                      [--paced]
//
// --paced holds each buffer before the sink until the main thread has made
// the previous one into a texture, so that every frame becomes a texture
// even where the main thread gets too little CPU (valgrind runs one thread
// at a time). Bench only: the sink itself never waits.
#include "gst_ref.h"
#include "paintable_sink.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <map>
#include <mutex>
#include <string>
#include <vector>

using namespace palaver;

namespace {

struct Options {
    int frames = 2000;
    int runs = 5;
    std::vector<std::string> sizes { "1280x720", "640x480" };
    std::vector<std::string> sinks { "fakesink", "palaverpaintablesink" };
    std::string pattern = "solid-color";
    bool paced = false;
};

// --paced: the main thread counts textures shown (invalidate-contents), the
// streaming thread waits for the count before handing over the next buffer.
struct Pacer {
    std::mutex lock;
    std::condition_variable shownChanged;
    guint64 shown = 0; // guarded by lock
    guint64 buffers = 0; // streaming thread only

    static void onContents(GdkPaintable*, gpointer data)
    {
        auto* pacer = static_cast<Pacer*>(data);
        std::lock_guard<std::mutex> locked(pacer->lock);
        ++pacer->shown;
        pacer->shownChanged.notify_one();
    }
    static GstPadProbeReturn onBuffer(GstPad*, GstPadProbeInfo*, gpointer data)
    {
        auto* pacer = static_cast<Pacer*>(data);
        const guint64 previous = pacer->buffers++;
        std::unique_lock<std::mutex> locked(pacer->lock);
        pacer->shownChanged.wait_for(
            locked, std::chrono::seconds(1), [&] { return pacer->shown >= previous; });
        return GST_PAD_PROBE_OK;
    }
};

struct Sample {
    double cpuUsPerFrame = 0; // process CPU (all threads) / frames pushed
    double mainUsPerFrame = 0; // main thread CPU / frames pushed
    double wallUsPerFrame = 0;
    guint64 rendered = 0; // textures made (palaverpaintablesink)
    guint64 dropped = 0;
};

double cpuSeconds(clockid_t clock)
{
    timespec ts {};
    clock_gettime(clock, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

std::vector<std::string> split(const char* list)
{
    std::vector<std::string> out;
    GUnique<char*> parts(g_strsplit(list, ",", -1));
    for (char** p = parts.get(); *p; ++p)
        if (**p)
            out.emplace_back(*p);
    return out;
}

gboolean onBusMessage(GstBus*, GstMessage* message, gpointer loop)
{
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ERROR) {
        GUnique<GError> error;
        gst_message_parse_error(message, error.outPtr(), nullptr);
        g_printerr("pipeline error: %s\n", errorMessage(error));
        std::exit(1);
    }
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_EOS)
        g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_CONTINUE;
}

Sample runOnce(const Options& options, const std::string& size, const std::string& sink)
{
    int width = 0;
    int height = 0;
    if (sscanf(size.c_str(), "%dx%d", &width, &height) != 2) {
        g_printerr("bad size %s\n", size.c_str());
        std::exit(2);
    }
    const std::string description = "videotestsrc is-live=false num-buffers=" + std::to_string(options.frames)
        + " pattern=" + options.pattern + " ! video/x-raw,format=BGRA,width=" + std::to_string(width)
        + ",height=" + std::to_string(height) + ",framerate=30/1 ! " + sink + " name=sink sync=false";
    GUnique<GError> error;
    GRef<GstElement> pipeline = adopt(gst_parse_launch(description.c_str(), error.outPtr()));
    if (!pipeline) {
        g_printerr("%s: %s\n", description.c_str(), errorMessage(error));
        std::exit(1);
    }
    GRef<GMainLoop> loop = adopt(g_main_loop_new(nullptr, FALSE));
    GRef<GstBus> bus = adopt(gst_element_get_bus(pipeline.get()));
    guint watch = gst_bus_add_watch(bus.get(), onBusMessage, loop.get());
    GRef<GstElement> element = adopt(gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink"));
    const bool ours = g_object_class_find_property(G_OBJECT_GET_CLASS(element.get()), "frames-rendered");
    Pacer pacer;
    GRef<GdkPaintable> paintable;
    if (options.paced && ours) {
        g_object_get(element.get(), "paintable", paintable.outPtr(), nullptr);
        g_signal_connect(paintable.get(), "invalidate-contents", G_CALLBACK(Pacer::onContents), &pacer);
        GRef<GstPad> pad = adopt(gst_element_get_static_pad(element.get(), "sink"));
        gst_pad_add_probe(pad.get(), GST_PAD_PROBE_TYPE_BUFFER, Pacer::onBuffer, &pacer, nullptr);
    }

    const double cpu0 = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID);
    const double main0 = cpuSeconds(CLOCK_THREAD_CPUTIME_ID);
    const gint64 wall0 = g_get_monotonic_time();
    gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
    g_main_loop_run(loop.get());
    while (g_main_context_iteration(nullptr, FALSE)) {
    }
    const gint64 wall1 = g_get_monotonic_time();
    const double main1 = cpuSeconds(CLOCK_THREAD_CPUTIME_ID);
    const double cpu1 = cpuSeconds(CLOCK_PROCESS_CPUTIME_ID);

    Sample sample;
    sample.cpuUsPerFrame = (cpu1 - cpu0) * 1e6 / options.frames;
    sample.mainUsPerFrame = (main1 - main0) * 1e6 / options.frames;
    sample.wallUsPerFrame = double(wall1 - wall0) / options.frames;
    if (ours)
        g_object_get(element.get(), "frames-rendered", &sample.rendered, "frames-dropped", &sample.dropped, nullptr);
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    g_source_remove(watch);
    while (g_main_context_iteration(nullptr, FALSE)) {
    }
    if (paintable)
        g_signal_handlers_disconnect_by_data(paintable.get(), &pacer);
    return sample;
}

template<typename Field>
double median(std::vector<Sample> samples, Field field)
{
    std::vector<double> values;
    for (const Sample& s : samples)
        values.push_back(double(s.*field));
    std::sort(values.begin(), values.end());
    const size_t n = values.size();
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

} // namespace

int main(int argc, char** argv)
{
    gst_init(&argc, &argv);
    Options options;
    for (int i = 1; i < argc; ++i) {
        const std::string arg = argv[i];
        const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
        if (arg == "--paced") {
            options.paced = true;
            continue;
        }
        if (!value) {
            g_printerr("usage: %s [--frames N] [--runs R] [--sizes WxH,...] [--sinks a,b] [--pattern P] [--paced]\n", argv[0]);
            return 2;
        }
        if (arg == "--frames")
            options.frames = atoi(value);
        else if (arg == "--runs")
            options.runs = atoi(value);
        else if (arg == "--sizes")
            options.sizes = split(value);
        else if (arg == "--sinks")
            options.sinks = split(value);
        else if (arg == "--pattern")
            options.pattern = value;
        else {
            g_printerr("unknown option %s\n", arg.c_str());
            return 2;
        }
        ++i;
    }
    gui::registerPaintableSink();

    // One warm-up of each (plugin loading, first-use allocations), then the
    // runs interleaved so that machine noise hits every case alike.
    std::map<std::pair<std::string, std::string>, std::vector<Sample>> samples;
    Options warmup = options;
    warmup.frames = 50;
    for (const std::string& size : options.sizes)
        for (const std::string& sink : options.sinks)
            runOnce(warmup, size, sink);
    for (int run = 0; run < options.runs; ++run) {
        for (const std::string& size : options.sizes) {
            for (const std::string& sink : options.sinks) {
                Sample s = runOnce(options, size, sink);
                g_print("run %d %-9s %-21s cpu %8.2f us/frame  main %8.2f  wall %8.2f  rendered %" G_GUINT64_FORMAT
                        " dropped %" G_GUINT64_FORMAT "\n",
                    run + 1, size.c_str(), sink.c_str(), s.cpuUsPerFrame, s.mainUsPerFrame, s.wallUsPerFrame,
                    s.rendered, s.dropped);
                samples[{ size, sink }].push_back(s);
            }
        }
    }

    g_print("\nmedians of %d runs, %d frames each (pattern %s, BGRA, sync=false%s)\n", options.runs, options.frames,
        options.pattern.c_str(), options.paced ? ", paced" : "");
    g_print("%-9s %-21s %12s %12s %12s %10s %10s %8s\n", "size", "sink", "cpu us/frm", "main us/frm", "wall us/frm",
        "rendered", "dropped", "x cpu");
    for (const std::string& size : options.sizes) {
        const auto base = samples.find({ size, options.sinks.front() });
        const double baseCpu = base != samples.end() ? median(base->second, &Sample::cpuUsPerFrame) : 0;
        for (const std::string& sink : options.sinks) {
            const std::vector<Sample>& s = samples[{ size, sink }];
            const double cpu = median(s, &Sample::cpuUsPerFrame);
            g_print("%-9s %-21s %12.2f %12.2f %12.2f %10.0f %10.0f %8.2f\n", size.c_str(), sink.c_str(), cpu,
                median(s, &Sample::mainUsPerFrame), median(s, &Sample::wallUsPerFrame), median(s, &Sample::rendered),
                median(s, &Sample::dropped), baseCpu > 0 ? cpu / baseCpu : 0.0);
        }
    }
    return 0;
}
