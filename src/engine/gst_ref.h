// GRef/GUnique support for GStreamer types (see common/gref.h). GstObjects
// (elements, pads, buses) are GObjects and use the primary template; mini
// objects and boxed types need their own ref/unref or free.
#pragma once

#include "gref.h"

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

namespace palaver {

PALAVER_DEFINE_GREF_TRAITS(GstCaps, gst_caps_ref, gst_caps_unref);
PALAVER_DEFINE_GREF_TRAITS(GstMessage, gst_message_ref, gst_message_unref);
PALAVER_DEFINE_GREF_TRAITS(GstPromise, gst_promise_ref, gst_promise_unref);
PALAVER_DEFINE_GREF_TRAITS(GstBuffer, gst_buffer_ref, gst_buffer_unref);
PALAVER_DEFINE_GREF_TRAITS(GstEvent, gst_event_ref, gst_event_unref);
PALAVER_DEFINE_GREF_TRAITS(GstSample, gst_sample_ref, gst_sample_unref);

PALAVER_DEFINE_GUNIQUE_DELETER(GstStructure, gst_structure_free);
PALAVER_DEFINE_GUNIQUE_DELETER(GstSDPMessage, gst_sdp_message_free);
PALAVER_DEFINE_GUNIQUE_DELETER(GstWebRTCSessionDescription, gst_webrtc_session_description_free);

} // namespace palaver
