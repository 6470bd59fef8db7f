#include "warm_up.h"

#include <gst/gst.h>

#include <mutex>
#include <utility>

namespace palaver::engine {

namespace {

std::mutex warmUpMutex; // guards warmUpThread
GThread* warmUpThread = nullptr;
bool warmUpStarted = false;

} // namespace

void startWarmUp()
{
    std::lock_guard lock(warmUpMutex);
    if (warmUpStarted)
        return;
    warmUpStarted = true;
    warmUpThread = g_thread_new("palaver-warmup", [](gpointer) -> gpointer {
        for (const char* name : { "dtlsdec", "webrtcbin" })
            if (GstElement* e = gst_element_factory_make(name, nullptr))
                gst_object_unref(gst_object_ref_sink(e));
        return nullptr;
    }, nullptr);
}

void awaitWarmUp()
{
    GThread* thread = nullptr;
    {
        std::lock_guard lock(warmUpMutex);
        thread = std::exchange(warmUpThread, nullptr);
    }
    if (thread)
        g_thread_join(thread);
}

} // namespace palaver::engine
