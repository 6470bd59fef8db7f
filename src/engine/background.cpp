#include "background.h"

#include "debug.h"

#include <gst/gst.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

namespace palaver::engine {

namespace {

struct Work {
    GThread* thread = nullptr;
    std::shared_ptr<std::atomic<bool>> done = std::make_shared<std::atomic<bool>>(false);
};

std::mutex backgroundMutex; // guards the three below; a leaf lock
std::vector<Work> running;
bool warmUpStarted = false;
bool awaited = false;

// Under backgroundMutex. A finished thread is joined at once (a joinable
// thread keeps its stack until then), so a long session of calls does not
// pile them up.
std::vector<GThread*> takeFinished()
{
    std::vector<GThread*> finished;
    std::erase_if(running, [&finished](const Work& w) {
        if (!w.done->load())
            return false;
        finished.push_back(w.thread);
        return true;
    });
    return finished;
}

void start(const char* name, std::function<void()> fn)
{
    std::vector<GThread*> finished;
    {
        std::lock_guard lock(backgroundMutex);
        if (awaited) {
            g_warning("%s: background work after awaitBackgroundWork() is not run", name);
            return;
        }
        finished = takeFinished();
        Work work;
        struct Task {
            std::function<void()> fn;
            std::shared_ptr<std::atomic<bool>> done;
        };
        work.thread = g_thread_new(name, [](gpointer data) -> gpointer {
            std::unique_ptr<Task> task(static_cast<Task*>(data));
            task->fn();
            task->done->store(true);
            return nullptr;
        }, new Task { std::move(fn), work.done });
        running.push_back(std::move(work));
    }
    for (GThread* thread : finished)
        g_thread_join(thread); // returns at once: it ended
}

} // namespace

void startWarmUp()
{
    {
        std::lock_guard lock(backgroundMutex);
        if (warmUpStarted)
            return;
        warmUpStarted = true;
    }
    initDebug();
    start("palaver-warmup", [] {
        gint64 start = g_get_monotonic_time();
        // dtlsdec makes the DTLS certificate. The others load the plugins
        // webrtcbin only loads while it applies the first description (srtp,
        // nice, sctp, rtpmanager): a loading srtp plugin alone took 289 ms of
        // an answer to Chromium in bench/interop.
        for (const char* name : { "dtlsdec", "webrtcbin", "srtpenc", "srtpdec", "nicesrc", "nicesink", "sctpenc",
                 "sctpdec", "rtpbin" })
            if (GstElement* e = gst_element_factory_make(name, nullptr))
                gst_object_unref(gst_object_ref_sink(e));
        // Until this line a first set-remote-description waits for the
        // certificate (seen: 0.2 s idle, 1.4 s on a loaded 2-core machine).
        GST_CAT_INFO(palaver_call_debug, "warm-up done: DTLS certificate, webrtcbin and its plugins ready in %.0f ms",
            double(g_get_monotonic_time() - start) / 1000.0);
    });
}

void runInBackground(std::function<void()> fn)
{
    start("palaver-probe", std::move(fn));
}

void awaitBackgroundWork()
{
    std::vector<Work> threads;
    {
        std::lock_guard lock(backgroundMutex);
        awaited = true;
        threads.swap(running);
    }
    for (Work& w : threads)
        g_thread_join(w.thread);
}

} // namespace palaver::engine
