#include "web_content.h"

#include "palaver-server-web.h"
#include "web_resource_info.h"
#include "web_response.h"

namespace palaver::server {

WebContent::WebContent()
{
    // palaver_server_web_get_resource() rather than the global registry:
    // calling it makes the linker keep the resource's object out of the
    // static library, and nothing else can shadow our paths.
    GResource* resource = palaver_server_web_get_resource();
    addFolder(resource, PALAVER_WEB_RESOURCE_PREFIX "/", "/");
    if (!files_.count("/index.html"))
        g_warning("the compiled-in browser client has no index.html; / will be 404");
}

void WebContent::addFolder(GResource* resource, const std::string& folder, const std::string& relative)
{
    GUnique<GError> error;
    GUnique<char*> names(g_resource_enumerate_children(resource, folder.c_str(), G_RESOURCE_LOOKUP_FLAGS_NONE, error.outPtr()));
    if (!names) {
        g_warning("cannot list the compiled-in browser client at %s: %s", folder.c_str(), errorMessage(error));
        return;
    }
    for (char** name = names.get(); *name; ++name) {
        std::string child = *name;
        if (g_str_has_suffix(child.c_str(), "/")) {
            addFolder(resource, folder + child, relative + child);
            continue;
        }
        GRef<GBytes> bytes = adopt(g_resource_lookup_data(resource, (folder + child).c_str(), G_RESOURCE_LOOKUP_FLAGS_NONE,
            error.outPtr()));
        if (!bytes) {
            g_warning("cannot read %s%s from the compiled-in browser client: %s", folder.c_str(), child.c_str(),
                errorMessage(error));
            continue;
        }
        std::string path = relative + child;
        File file { bytes, webContentType(path), contentEtag(bytes.get()) };
        files_.emplace(std::move(path), std::move(file));
    }
}

const WebContent::File* WebContent::find(std::string_view path) const
{
    auto it = files_.find(path == "/" ? std::string("/index.html") : std::string(path));
    return it == files_.end() ? nullptr : &it->second;
}

gint64 WebContent::lastModified() const
{
    return PALAVER_WEB_MTIME;
}

} // namespace palaver::server
