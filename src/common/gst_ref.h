// GRef/GUnique support for GStreamer's core types (see gref.h). GstObjects
// (elements, pads, buses) are GObjects and use the primary template; mini
// objects and boxed types need their own ref/unref or free. The SDP and
// WebRTC types are the engine's (engine/webrtc_ref.h).
#pragma once

#include "gref.h"

#include <gst/gst.h>

namespace palaver {

PALAVER_DEFINE_GREF_TRAITS(GstCaps, gst_caps_ref, gst_caps_unref);
PALAVER_DEFINE_GREF_TRAITS(GstMessage, gst_message_ref, gst_message_unref);
PALAVER_DEFINE_GREF_TRAITS(GstPromise, gst_promise_ref, gst_promise_unref);
PALAVER_DEFINE_GREF_TRAITS(GstBuffer, gst_buffer_ref, gst_buffer_unref);
PALAVER_DEFINE_GREF_TRAITS(GstEvent, gst_event_ref, gst_event_unref);
PALAVER_DEFINE_GREF_TRAITS(GstSample, gst_sample_ref, gst_sample_unref);
PALAVER_DEFINE_GREF_TRAITS(GstQuery, gst_query_ref, gst_query_unref);

PALAVER_DEFINE_GUNIQUE_DELETER(GstStructure, gst_structure_free);
inline void freeParseContext(GstParseContext* c) { gst_parse_context_free(c); }
PALAVER_DEFINE_GUNIQUE_DELETER(GstParseContext, freeParseContext);

} // namespace palaver
