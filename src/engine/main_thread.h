// Posting work from GStreamer's threads to the GLib main context that owns
// engine state (STYLE.md section 5): webrtcbin calls back from its own task
// thread, pads from streaming threads. Those callbacks copy what they need
// and post a closure here; the closure runs on the owner's context only if
// the owner is still alive (weak_ptr), so late callbacks of a torn-down
// peer are dropped instead of touching freed memory.
#pragma once

#include <glib.h>

#include <functional>
#include <memory>
#include <utility>

namespace palaver::engine {

// Always deferred to a later iteration of `context`, also when called on
// the thread that runs it (g_main_context_invoke would run fn at once,
// inside its caller: a peer could then be freed under its own method).
inline void postToContext(GMainContext* context, std::function<void()> fn)
{
    auto* boxed = new std::function<void()>(std::move(fn));
    GSource* source = g_idle_source_new();
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(
        source,
        [](gpointer data) -> gboolean {
            (*static_cast<std::function<void()>*>(data))();
            return G_SOURCE_REMOVE;
        },
        boxed, [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
    g_source_attach(source, context);
    g_source_unref(source);
}

// Runs fn(owner) on `context` if `owner` still exists then.
template<typename T, typename Fn>
void postTo(GMainContext* context, std::weak_ptr<T> owner, Fn fn)
{
    postToContext(context, [owner = std::move(owner), fn = std::move(fn)]() mutable {
        if (auto strong = owner.lock())
            fn(*strong);
    });
}

} // namespace palaver::engine
