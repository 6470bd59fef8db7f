// Making GStreamer elements that fail with a sentence (docs/architecture.md, "Ownership rules"):
// a missing element names the Debian package that has it, and what was
// made is owned by a GRef on every path, so a failure half way leaks
// nothing.
//
//   std::string error;
//   GRef<GstElement> enc = makeElement("vp8enc", nullptr, error);
//   if (!enc) return fail(error); // "the GStreamer element 'vp8enc' is missing:
//                                 //  install gstreamer1.0-plugins-good"
#pragma once

#include "gst_ref.h"

#include <string>
#include <string_view>
#include <vector>

namespace palaver {

// The Debian 12 package with `factory` in it, or "" when we do not know.
inline const char* debianPackageOf(std::string_view factory)
{
    struct Entry {
        std::string_view factory;
        const char* package;
    };
    static constexpr Entry kPackages[] = {
        { "queue", "libgstreamer1.0-0" }, { "tee", "libgstreamer1.0-0" }, { "capsfilter", "libgstreamer1.0-0" },
        { "fakesink", "libgstreamer1.0-0" }, { "identity", "libgstreamer1.0-0" },
        { "opusenc", "gstreamer1.0-plugins-base" }, { "opusdec", "gstreamer1.0-plugins-base" },
        { "audioconvert", "gstreamer1.0-plugins-base" }, { "audioresample", "gstreamer1.0-plugins-base" },
        { "audiomixer", "gstreamer1.0-plugins-base" }, { "audiotestsrc", "gstreamer1.0-plugins-base" },
        { "volume", "gstreamer1.0-plugins-base" }, { "videoconvert", "gstreamer1.0-plugins-base" },
        { "videoscale", "gstreamer1.0-plugins-base" }, { "videorate", "gstreamer1.0-plugins-base" },
        { "videotestsrc", "gstreamer1.0-plugins-base" },
        { "vp8enc", "gstreamer1.0-plugins-good" }, { "vp8dec", "gstreamer1.0-plugins-good" },
        { "rtpvp8pay", "gstreamer1.0-plugins-good" }, { "rtpvp8depay", "gstreamer1.0-plugins-good" },
        { "rtpopuspay", "gstreamer1.0-plugins-good" }, { "rtpopusdepay", "gstreamer1.0-plugins-good" },
        { "rtph264pay", "gstreamer1.0-plugins-good" }, { "rtph264depay", "gstreamer1.0-plugins-good" },
        { "autoaudiosink", "gstreamer1.0-plugins-good" }, { "autoaudiosrc", "gstreamer1.0-plugins-good" },
        { "autovideosink", "gstreamer1.0-plugins-good" }, { "v4l2src", "gstreamer1.0-plugins-good" },
        { "videoflip", "gstreamer1.0-plugins-good" }, { "pulsesrc", "gstreamer1.0-pulseaudio" },
        { "pulsesink", "gstreamer1.0-pulseaudio" },
        { "webrtcbin", "gstreamer1.0-plugins-bad" }, { "dtlsdec", "gstreamer1.0-plugins-bad" },
        { "dtlsenc", "gstreamer1.0-plugins-bad" }, { "h264parse", "gstreamer1.0-plugins-bad" },
        { "openh264enc", "gstreamer1.0-plugins-bad" }, { "openh264dec", "gstreamer1.0-plugins-bad" },
        { "webrtcdsp", "gstreamer1.0-plugins-bad" }, { "webrtcechoprobe", "gstreamer1.0-plugins-bad" },
        { "dtlssrtpenc", "gstreamer1.0-plugins-bad" }, { "dtlssrtpdec", "gstreamer1.0-plugins-bad" },
        { "srtpenc", "gstreamer1.0-plugins-bad" }, { "srtpdec", "gstreamer1.0-plugins-bad" },
        { "sctpenc", "gstreamer1.0-plugins-bad" }, { "sctpdec", "gstreamer1.0-plugins-bad" },
        { "rtpbin", "gstreamer1.0-plugins-good" }, { "rtpfunnel", "gstreamer1.0-plugins-good" },
        { "nicesrc", "gstreamer1.0-nice" }, { "nicesink", "gstreamer1.0-nice" },
        { "x264enc", "gstreamer1.0-plugins-ugly" }, { "avdec_h264", "gstreamer1.0-libav" },
        { "gtk4paintablesink", "gst-plugins-rs (not packaged for Debian 12)" },
    };
    for (const Entry& e : kPackages)
        if (e.factory == factory)
            return e.package;
    return "";
}

inline std::string missingElementSentence(std::string_view factory)
{
    std::string sentence = "the GStreamer element '" + std::string(factory) + "' is missing: install ";
    const char* package = debianPackageOf(factory);
    return sentence + (*package ? package : "the GStreamer plugin that provides it");
}

inline bool haveElement(const char* factory)
{
    GRef<GstElementFactory> found = adopt(gst_element_factory_find(factory));
    return bool(found);
}

// The sentence for the first of `factories` that is missing; true when all
// are there.
inline bool haveElements(const std::vector<const char*>& factories, std::string& error)
{
    for (const char* factory : factories) {
        if (!haveElement(factory)) {
            error = missingElementSentence(factory);
            return false;
        }
    }
    return true;
}

// A new element (sunk: the GRef owns it outright), or nullptr with the
// sentence in `error`.
inline GRef<GstElement> makeElement(const char* factory, const char* name, std::string& error)
{
    GRef<GstElement> element = adopt(gst_element_factory_make(factory, name));
    if (!element)
        error = haveElement(factory) ? std::string("the GStreamer element '") + factory + "' could not be made"
                                     : missingElementSentence(factory);
    return element;
}

// A bin from a gst-launch description with ghost pads for its unlinked
// pads, or nullptr with a sentence: missing elements by name and package,
// else GStreamer's parse error. `what` says what the description is for
// ("video source", "decoder").
inline GRef<GstElement> parseBin(const std::string& description, const char* what, std::string& error)
{
    GUnique<GstParseContext> context(gst_parse_context_new());
    GUnique<GError> err;
    GRef<GstElement> bin = adopt(gst_parse_bin_from_description_full(description.c_str(), TRUE, context.get(),
        GST_PARSE_FLAG_FATAL_ERRORS, err.outPtr()));
    if (bin && !err)
        return bin;
    GUnique<char*> missing(context ? gst_parse_context_get_missing_elements(context.get()) : nullptr);
    if (missing && missing.get()[0]) {
        error = std::string("the ") + what + " \"" + description + "\" cannot be built: " + missingElementSentence(missing.get()[0]);
    } else {
        error = std::string("bad ") + what + " pipeline description \"" + description + "\": " + errorMessage(err);
    }
    return nullptr;
}

} // namespace palaver
