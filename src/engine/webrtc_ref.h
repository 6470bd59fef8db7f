// GRef/GUnique support for the SDP and WebRTC types of the engine (the
// GStreamer core ones are in common/gst_ref.h). webrtcbin's library is
// "unstable API" in 1.22: only the engine includes it.
#pragma once

#include "gst_ref.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

namespace palaver {

PALAVER_DEFINE_GUNIQUE_DELETER(GstSDPMessage, gst_sdp_message_free);
PALAVER_DEFINE_GUNIQUE_DELETER(GstWebRTCSessionDescription, gst_webrtc_session_description_free);

} // namespace palaver
