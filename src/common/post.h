// Posting work to the GLib main context that owns a piece of state
// (docs/architecture.md, "Ownership rules" and the Threads tables): a callback on a GStreamer, webrtcbin or libsoup
// thread copies what it needs and posts a closure; the closure runs on the
// owner's context, on a later iteration (never inside its caller, also when
// posted from that context's own thread), and only if the owner is alive.
//
//   postTo(context_.get(), weak_from_this(), [state](PeerConnection& pc) { ... });
//   postTo(context_.get(), anchor_.weak(), [](Call& call) { ... });
//
// The owner is a weak_ptr: from enable_shared_from_this for objects held
// in a shared_ptr, from a WeakAnchor member for any other object. The one
// liveness check of the code base.
#pragma once

#include <glib.h>

#include <functional>
#include <memory>
#include <utility>

namespace palaver {

// Gives an object that is not held by a shared_ptr a weak_ptr to itself
// that expires when the anchor goes: declare it as the owner's last member
// (destroyed first) or reset() it first thing in the destructor.
template<typename T>
class WeakAnchor {
public:
    explicit WeakAnchor(T* owner) : anchor_(owner, [](T*) { }) { }
    WeakAnchor(const WeakAnchor&) = delete;
    WeakAnchor& operator=(const WeakAnchor&) = delete;
    ~WeakAnchor() { reset(); }

    std::weak_ptr<T> weak() const { return anchor_; }
    void reset() { anchor_.reset(); }

private:
    std::shared_ptr<T> anchor_;
};

namespace detail {

// Always deferred to a later iteration of `context`: g_main_context_invoke
// would run fn at once when called on the thread that owns the context
// (an object could then be freed under its own method).
inline void postToContext(GMainContext* context, std::function<void()> fn, int priority = G_PRIORITY_DEFAULT)
{
    GSource* source = g_idle_source_new();
    g_source_set_priority(source, priority);
    g_source_set_callback(
        source,
        [](gpointer data) -> gboolean {
            (*static_cast<std::function<void()>*>(data))();
            return G_SOURCE_REMOVE;
        },
        new std::function<void()>(std::move(fn)), [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
    g_source_attach(source, context);
    g_source_unref(source);
}

} // namespace detail

// Runs fn(owner) on `context` if `owner` still exists then. Callable from
// any thread.
template<typename T, typename Fn>
void postTo(GMainContext* context, std::weak_ptr<T> owner, Fn fn)
{
    detail::postToContext(context, [owner = std::move(owner), fn = std::move(fn)]() mutable {
        if (auto strong = owner.lock())
            fn(*strong);
    });
}

} // namespace palaver
