// Connects a GObject signal to a member function; the returned
// SignalConnection disconnects in its destructor, so a handler never
// outlives its object. The instance may die first: a weak reference tells.
//
//   conn_ = connectSignal(msg, "wrote-informational", this, &Worker::onUpgradeWritten);
//
// The member function takes the signal's arguments, instance first, without
// the trailing user_data.
#pragma once

#include <glib-object.h>

#include <utility>

namespace palaver {

class SignalConnection {
public:
    SignalConnection() = default;
    SignalConnection(gpointer instance, gulong id)
        : id_(id)
    {
        g_weak_ref_init(&instance_, instance);
    }
    SignalConnection(SignalConnection&& o) noexcept { *this = std::move(o); }
    SignalConnection& operator=(SignalConnection&& o) noexcept
    {
        if (this != &o) {
            disconnect();
            if (o.id_) {
                gpointer instance = g_weak_ref_get(&o.instance_);
                g_weak_ref_init(&instance_, instance);
                if (instance)
                    g_object_unref(instance);
                id_ = std::exchange(o.id_, 0);
                g_weak_ref_clear(&o.instance_);
            }
        }
        return *this;
    }
    SignalConnection(const SignalConnection&) = delete;
    SignalConnection& operator=(const SignalConnection&) = delete;
    ~SignalConnection() { disconnect(); }

    void disconnect()
    {
        if (!id_)
            return;
        if (gpointer instance = g_weak_ref_get(&instance_)) {
            g_signal_handler_disconnect(instance, id_);
            g_object_unref(instance);
        }
        g_weak_ref_clear(&instance_);
        id_ = 0;
    }
    explicit operator bool() const { return id_ != 0; }

private:
    GWeakRef instance_ {};
    gulong id_ = 0;
};

namespace detail {

template<typename Obj, typename Ret, typename... Args>
struct MemberClosure {
    Obj* object;
    Ret (Obj::*method)(Args...);

    static Ret call(Args... args, gpointer data)
    {
        auto* self = static_cast<MemberClosure*>(data);
        return (self->object->*self->method)(args...);
    }
    static void destroy(gpointer data, GClosure*) { delete static_cast<MemberClosure*>(data); }
};

} // namespace detail

template<typename Obj, typename Ret, typename... Args>
[[nodiscard]] SignalConnection connectSignal(gpointer instance, const char* signal, Obj* object, Ret (Obj::*method)(Args...))
{
    using Closure = detail::MemberClosure<Obj, Ret, Args...>;
    auto* closure = new Closure { object, method };
    gulong id = g_signal_connect_data(instance, signal, G_CALLBACK(&Closure::call), closure, &Closure::destroy, GConnectFlags(0));
    return SignalConnection(instance, id);
}

} // namespace palaver
