// The nick of a GEnum value ("connected", "checking"...), from the type's
// own registration: no hand-written switch to keep in step with it.
#pragma once

#include <glib-object.h>

namespace palaver {

inline const char* enumNick(GType type, int value)
{
    auto* klass = static_cast<GEnumClass*>(g_type_class_peek(type));
    // The first use creates the class; that one reference is kept for the
    // life of the process, as the nicks handed out point into it.
    if (!klass)
        klass = static_cast<GEnumClass*>(g_type_class_ref(type));
    const GEnumValue* v = g_enum_get_value(klass, value);
    return v ? v->value_nick : "unknown";
}

} // namespace palaver
