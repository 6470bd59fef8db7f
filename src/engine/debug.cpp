#include "debug.h"

GST_DEBUG_CATEGORY(palaver_call_debug);
GST_DEBUG_CATEGORY(palaver_peer_debug);
GST_DEBUG_CATEGORY(palaver_media_debug);
GST_DEBUG_CATEGORY(palaver_signaling_debug);

namespace palaver::engine {

void initDebug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        // GStreamer hands back the existing category when a name is
        // registered twice, so a file that still registers its own gets
        // the same one.
        GST_DEBUG_CATEGORY_INIT(palaver_call_debug, "palaver-call", 0, "Palaver call (room)");
        GST_DEBUG_CATEGORY_INIT(palaver_peer_debug, "palaver-peer", 0, "Palaver peer connection");
        GST_DEBUG_CATEGORY_INIT(palaver_media_debug, "palaver-media", 0, "Palaver local media");
        GST_DEBUG_CATEGORY_INIT(palaver_signaling_debug, "palaver-signaling", 0, "Palaver signaling client");
        g_once_init_leave(&once, 1);
    }
}

} // namespace palaver::engine
