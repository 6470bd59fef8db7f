// RAII for GLib-family references: GRef<T> for ref-counted types, GUnique<T>
// for single-owner C structs. See ../../docs/architecture.md ("Ownership").
//
//   GRef<SoupServer> server = adopt(soup_server_new(nullptr, nullptr)); // transfer full
//   GRef<GSocket> sock(g_socket_connection_get_socket(conn));           // transfer none
//   GUnique<GError> error;
//   if (!g_file_get_contents(path, &text, nullptr, error.outPtr())) ...
#pragma once

#include <glib-object.h>
#include <gio/gio.h>

#include <utility>

namespace palaver {

// How to take and drop a reference of T. The primary template serves every
// GObject type (C structs are not C++-derived from GObject, so this cannot be
// checked at compile time); other ref-counted types specialise it below, and
// engine/gst_ref.h does for GStreamer mini objects.
template<typename T>
struct GRefTraits {
    static T* ref(T* p) { return static_cast<T*>(g_object_ref(p)); }
    static void unref(T* p) { g_object_unref(p); }
    // Floating references (GInitiallyUnowned) are sunk when adopted so that
    // every GRef owns a full reference.
    static T* sinkOnAdopt(T* p) { return g_object_is_floating(p) ? static_cast<T*>(g_object_ref_sink(p)) : p; }
};

#define PALAVER_DEFINE_GREF_TRAITS(Type, refFn, unrefFn)               \
    template<>                                                         \
    struct GRefTraits<Type> {                                          \
        static Type* ref(Type* p) { return refFn(p); }                 \
        static void unref(Type* p) { unrefFn(p); }                     \
        static Type* sinkOnAdopt(Type* p) { return p; }                \
    }

PALAVER_DEFINE_GREF_TRAITS(GMainContext, g_main_context_ref, g_main_context_unref);
PALAVER_DEFINE_GREF_TRAITS(GMainLoop, g_main_loop_ref, g_main_loop_unref);
PALAVER_DEFINE_GREF_TRAITS(GSource, g_source_ref, g_source_unref);
PALAVER_DEFINE_GREF_TRAITS(GBytes, g_bytes_ref, g_bytes_unref);
PALAVER_DEFINE_GREF_TRAITS(GVariant, g_variant_ref_sink, g_variant_unref);
PALAVER_DEFINE_GREF_TRAITS(GHashTable, g_hash_table_ref, g_hash_table_unref);
PALAVER_DEFINE_GREF_TRAITS(GKeyFile, g_key_file_ref, g_key_file_unref);
PALAVER_DEFINE_GREF_TRAITS(GUri, g_uri_ref, g_uri_unref);
PALAVER_DEFINE_GREF_TRAITS(GHmac, g_hmac_ref, g_hmac_unref);
PALAVER_DEFINE_GREF_TRAITS(GDateTime, g_date_time_ref, g_date_time_unref);

struct AdoptTag {};

template<typename T>
class GRef {
public:
    GRef() = default;
    GRef(std::nullptr_t) {}
    // Borrowed (transfer none): takes a new reference.
    explicit GRef(T* p) : ptr_(p ? GRefTraits<T>::ref(p) : nullptr) {}
    // Owned (transfer full): takes over the caller's reference.
    GRef(T* p, AdoptTag) : ptr_(p ? GRefTraits<T>::sinkOnAdopt(p) : nullptr) {}
    GRef(const GRef& o) : ptr_(o.ptr_ ? GRefTraits<T>::ref(o.ptr_) : nullptr) {}
    GRef(GRef&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)) {}
    ~GRef() { reset(); }

    GRef& operator=(const GRef& o)
    {
        if (this != &o)
            GRef(o).swap(*this);
        return *this;
    }
    GRef& operator=(GRef&& o) noexcept
    {
        if (this != &o) {
            reset();
            ptr_ = std::exchange(o.ptr_, nullptr);
        }
        return *this;
    }
    GRef& operator=(std::nullptr_t)
    {
        reset();
        return *this;
    }

    T* get() const { return ptr_; }
    T* operator->() const { return ptr_; }
    explicit operator bool() const { return ptr_ != nullptr; }
    // Hands the reference to a transfer-full parameter.
    [[nodiscard]] T* release() { return std::exchange(ptr_, nullptr); }
    void reset()
    {
        if (T* p = std::exchange(ptr_, nullptr))
            GRefTraits<T>::unref(p);
    }
    void swap(GRef& o) noexcept { std::swap(ptr_, o.ptr_); }
    // For out-parameters that return a full reference (T** out).
    T** outPtr()
    {
        reset();
        return &ptr_;
    }

    friend bool operator==(const GRef& a, const GRef& b) { return a.ptr_ == b.ptr_; }

private:
    T* ptr_ = nullptr;
};

template<typename T>
GRef<T> adopt(T* p)
{
    return GRef<T>(p, AdoptTag {});
}

// Single-owner C structs.
template<typename T>
struct GUniqueDeleter;

#define PALAVER_DEFINE_GUNIQUE_DELETER(Type, freeFn)             \
    template<>                                                   \
    struct GUniqueDeleter<Type> {                                \
        void operator()(Type* p) const { if (p) freeFn(p); }    \
    }

PALAVER_DEFINE_GUNIQUE_DELETER(GError, g_error_free);
PALAVER_DEFINE_GUNIQUE_DELETER(char, g_free);
PALAVER_DEFINE_GUNIQUE_DELETER(char*, g_strfreev);
PALAVER_DEFINE_GUNIQUE_DELETER(GOptionContext, g_option_context_free);
inline void freeGString(GString* s) { g_string_free(s, TRUE); }
PALAVER_DEFINE_GUNIQUE_DELETER(GString, freeGString);
PALAVER_DEFINE_GUNIQUE_DELETER(GTimer, g_timer_destroy);

template<typename T>
class GUnique {
public:
    GUnique() = default;
    GUnique(std::nullptr_t) {}
    explicit GUnique(T* p) : ptr_(p) {}
    GUnique(GUnique&& o) noexcept : ptr_(std::exchange(o.ptr_, nullptr)) {}
    GUnique& operator=(GUnique&& o) noexcept
    {
        if (this != &o)
            reset(std::exchange(o.ptr_, nullptr));
        return *this;
    }
    GUnique(const GUnique&) = delete;
    GUnique& operator=(const GUnique&) = delete;
    ~GUnique() { reset(); }

    T* get() const { return ptr_; }
    T* operator->() const { return ptr_; }
    explicit operator bool() const { return ptr_ != nullptr; }
    [[nodiscard]] T* release() { return std::exchange(ptr_, nullptr); }
    void reset(T* p = nullptr)
    {
        if (T* old = std::exchange(ptr_, p))
            GUniqueDeleter<T> {}(old);
    }
    // For out-parameters (GError**, char**): drops what it held first.
    T** outPtr()
    {
        reset();
        return &ptr_;
    }

private:
    T* ptr_ = nullptr;
};

// The message of an optional GError, for logs.
inline const char* errorMessage(const GUnique<GError>& e)
{
    return e ? e->message : "unknown error";
}

} // namespace palaver
