// The browser client compiled into palaver-server (web/meson.build's
// web_files, as the GResource built by signaling-server/meson.build), served
// at / when no --web-root is given.
//
// Made once by Server before any worker runs, then only read, from every
// worker thread: the bytes stay where they lie in the binary (GBytes over
// static data, handed to libsoup without a copy) and each file's type and
// ETag are computed here, so answering is a table lookup that never waits
// for anything.
#pragma once

#include "gref.h"

#include <string>
#include <string_view>
#include <unordered_map>

namespace palaver::server {

class WebContent {
public:
    struct File {
        GRef<GBytes> bytes;
        const char* type; // webContentType()
        std::string etag; // contentEtag()
    };

    WebContent();

    // The file at a request path ("/" is "/index.html"); nullptr when it
    // is not one of web_files.
    const File* find(std::string_view path) const;
    // Last-Modified of every file: the newest of their modification times
    // at build time.
    gint64 lastModified() const;
    size_t size() const { return files_.size(); }

private:
    void addFolder(GResource* resource, const std::string& folder, const std::string& relative);

    // Keyed by the request path, "/js/main.js".
    std::unordered_map<std::string, File> files_;
};

} // namespace palaver::server
