// `palaver` with elements taken out of GStreamer's registry, for the tests
// of what a missing plugin does (issue 8: a sentence and an exit status,
// never a GLib critical):
//
//   palaver-without vp8enc,rtpvp8pay --headless --room r ...
//
// The first argument lists the element factories to remove; the rest is
// `palaver`'s own command line, run in-process by the same code as the real
// executable (app::run). palaverpaintablesink, the window's own sink, is
// registered first so that it can be removed too.
#include "run.h"

#ifdef PALAVER_HAVE_GUI
#include "paintable_sink.h"
#endif

#include <gst/gst.h>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv)
{
    if (argc < 2) {
        std::fprintf(stderr, "usage: palaver-without ELEMENT[,ELEMENT...] [palaver options]\n");
        return 2;
    }
    gst_init(nullptr, nullptr);
#ifdef PALAVER_HAVE_GUI
    palaver::gui::registerPaintableSink();
#endif
    GstRegistry* registry = gst_registry_get();
    gchar** names = g_strsplit(argv[1], ",", -1);
    for (gchar** name = names; *name; ++name) {
        GstPluginFeature* feature = gst_registry_lookup_feature(registry, *name);
        if (!feature) {
            std::fprintf(stderr, "palaver-without: no element %s to remove\n", *name);
            g_strfreev(names);
            return 2;
        }
        gst_registry_remove_feature(registry, feature);
        gst_object_unref(feature);
    }
    g_strfreev(names);
    std::vector<char*> args;
    std::string program = "palaver";
    args.push_back(program.data());
    for (int i = 2; i < argc; ++i)
        args.push_back(argv[i]);
    args.push_back(nullptr);
    return palaver::app::run(int(args.size()) - 1, args.data());
}
