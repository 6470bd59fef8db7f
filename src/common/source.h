// A GSource owned like any other member: a timer, an idle callback or a
// clock-driven tick that is destroyed with its owner, so its callback may
// use `this` freely (docs/architecture.md, "Ownership rules").
//
//   retry_ = Source::once(context_.get(), 250ms, [this] { connect(); });
//   stats_ = Source::every(context_.get(), 1s, [this] { pollStats(); });
//
// Destroying a Source (or assigning another) destroys its GSource at once,
// also from inside its own callback: GLib keeps the callback alive until
// it returns. A one-shot Source is inactive once it ran.
#pragma once

#include "gref.h"

#include <glib.h>

#include <chrono>
#include <functional>
#include <utility>

namespace palaver {

class Source {
public:
    Source() = default;
    Source(Source&& o) noexcept : source_(std::move(o.source_)) { }
    Source& operator=(Source&& o) noexcept
    {
        if (this != &o) {
            cancel();
            source_ = std::move(o.source_);
        }
        return *this;
    }
    Source(const Source&) = delete;
    Source& operator=(const Source&) = delete;
    ~Source() { cancel(); }

    // fn once, after `delay`, on `context` (nullptr: the global default).
    static Source once(GMainContext* context, std::chrono::milliseconds delay, std::function<void()> fn, const char* name = nullptr)
    {
        return attach(context, g_timeout_source_new(clampMs(delay)), wrapOnce(std::move(fn)), name);
    }
    // fn every `interval` until the Source goes. Whole seconds use GLib's
    // second timers, which wake up together with the rest of the system's.
    static Source every(GMainContext* context, std::chrono::milliseconds interval, std::function<void()> fn, const char* name = nullptr)
    {
        GSource* source = interval.count() % 1000 == 0 ? g_timeout_source_new_seconds(guint(interval.count() / 1000))
                                                       : g_timeout_source_new(clampMs(interval));
        return attach(context, source, [fn = std::move(fn)]() { fn(); return true; }, name);
    }
    // fn on a later iteration of `context`, never inside the caller.
    static Source idle(GMainContext* context, std::function<void()> fn, const char* name = nullptr, int priority = G_PRIORITY_DEFAULT)
    {
        GSource* source = g_idle_source_new();
        g_source_set_priority(source, priority);
        return attach(context, source, wrapOnce(std::move(fn)), name);
    }
    // fn at the monotonic time `dueUs` (g_get_monotonic_time); fn returns
    // the next due time, or a negative value to stop. Unlike a GLib timeout
    // (whole milliseconds counted from each dispatch) it does not drift.
    static Source at(GMainContext* context, gint64 dueUs, std::function<gint64()> fn, const char* name = nullptr)
    {
        static GSourceFuncs funcs = { nullptr, nullptr,
            [](GSource*, GSourceFunc callback, gpointer data) -> gboolean { return callback(data); }, nullptr, nullptr, nullptr };
        GSource* source = g_source_new(&funcs, sizeof(GSource));
        g_source_set_ready_time(source, dueUs);
        return attach(context, source, [source, fn = std::move(fn)]() {
            gint64 next = fn();
            // fn may have destroyed this Source (its owner): then the
            // GSource is destroyed already and the ready time is moot.
            if (next < 0 || g_source_is_destroyed(source))
                return false;
            g_source_set_ready_time(source, next);
            return true;
        }, name);
    }

    // Takes over a source made elsewhere with its callback already set (a
    // GstBus watch, a GIO stream's source) and attaches it.
    static Source adopt(GMainContext* context, GSource* raw, const char* name = nullptr)
    {
        Source s;
        s.source_ = GRef<GSource>(raw, AdoptTag {});
        if (name)
            g_source_set_name(raw, name);
        g_source_attach(raw, context);
        return s;
    }

    // Still attached: not yet run (one-shot) and not cancelled.
    bool active() const { return source_ && !g_source_is_destroyed(source_.get()); }
    explicit operator bool() const { return active(); }
    void cancel()
    {
        if (source_) {
            g_source_destroy(source_.get());
            source_.reset();
        }
    }

private:
    using Callback = std::function<bool()>; // true: keep the source

    static guint clampMs(std::chrono::milliseconds ms) { return ms.count() <= 0 ? 0u : guint(ms.count()); }
    static Callback wrapOnce(std::function<void()> fn)
    {
        return [fn = std::move(fn)]() { fn(); return false; };
    }
    static Source attach(GMainContext* context, GSource* raw, Callback callback, const char* name)
    {
        Source s;
        s.source_ = GRef<GSource>(raw, AdoptTag {});
        g_source_set_callback(
            raw, [](gpointer data) -> gboolean { return (*static_cast<Callback*>(data))() ? G_SOURCE_CONTINUE : G_SOURCE_REMOVE; },
            new Callback(std::move(callback)), [](gpointer data) { delete static_cast<Callback*>(data); });
        if (name)
            g_source_set_name(raw, name);
        g_source_attach(raw, context);
        return s;
    }

    GRef<GSource> source_;
};

} // namespace palaver
