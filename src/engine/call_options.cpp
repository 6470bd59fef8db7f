#include "call_options.h"

#include <glib.h>

namespace palaver::engine {

const char* videoCodecName(VideoCodec codec)
{
    return codec == VideoCodec::VP8 ? "VP8" : "H264";
}

std::optional<VideoCodec> videoCodecFromName(const std::string& name)
{
    if (g_ascii_strcasecmp(name.c_str(), "vp8") == 0)
        return VideoCodec::VP8;
    if (g_ascii_strcasecmp(name.c_str(), "h264") == 0 || g_ascii_strcasecmp(name.c_str(), "h.264") == 0)
        return VideoCodec::H264;
    return std::nullopt;
}

} // namespace palaver::engine
