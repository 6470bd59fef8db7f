// The engine's GStreamer debug categories, one per module, registered in
// one place (docs/architecture.md, "Logging": GST_DEBUG=palaver-*:5).
//
//   #include "debug.h"
//   #define GST_CAT_DEFAULT palaver_peer_debug
//   ... initDebug(); // once before the first log line, e.g. in a constructor
//
// Include it from .cpp files only: GST_CAT_DEFAULT is per file.
#pragma once

#include <gst/gst.h>

GST_DEBUG_CATEGORY_EXTERN(palaver_call_debug);      // "palaver-call": the room, peers coming and going
GST_DEBUG_CATEGORY_EXTERN(palaver_peer_debug);      // "palaver-peer": one webrtcbin (SDP, ICE, branches)
GST_DEBUG_CATEGORY_EXTERN(palaver_media_debug);     // "palaver-media": sources, encoders, tees
GST_DEBUG_CATEGORY_EXTERN(palaver_signaling_debug); // "palaver-signaling": the WebSocket to the server

namespace palaver::engine {

// Registers every category above; cheap and thread-safe after the first call.
void initDebug();

} // namespace palaver::engine
