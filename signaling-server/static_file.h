// One GET or HEAD of a file below --web-root, answered without blocking its
// worker (with the headers and revalidation of web_response.h; a 304 is
// answered from the file's metadata, without opening it): the message is paused, the file is looked up, opened and read with
// GIO's asynchronous calls (they run in GLib's thread pool and call back on
// the worker's thread-default context), then the response is set and the
// message unpaused. A slow disk holds up that request only, never relaying.
//
// Owned by its Worker from start() until done: its last GIO callback hands
// it back (Worker::staticFileDone), which frees it. There is exactly one GIO
// call in flight at a time and GIO always calls back, also when cancelled,
// so it is never freed under a pending call.
#pragma once

#include "gref.h"
#include "signal_connection.h"

#include <libsoup/soup.h>

#include <cstddef>
#include <string>

namespace palaver::server {

class Worker;

class StaticFile {
public:
    // The browser client's files are tens of KiB; each request keeps its
    // file in memory until it is sent, so a big file put in the web root by
    // mistake is refused (500) rather than read.
    static constexpr size_t kMaxSize = 8 * 1024 * 1024;

    // `path`: the file on disk, already checked to be a plain name below
    // the web root.
    StaticFile(Worker& worker, SoupServerMessage* msg, std::string path);
    ~StaticFile();
    StaticFile(const StaticFile&) = delete;
    StaticFile& operator=(const StaticFile&) = delete;

    // Pauses the message and starts the lookup.
    void start();
    // Gives up without answering (the message is gone, or the worker stops
    // and disconnects it): the pending call finishes early, then done.
    void cancel();

private:
    static void onInfo(GObject* file, GAsyncResult* result, gpointer self);
    static void onOpened(GObject* file, GAsyncResult* result, gpointer self);
    static void onRead(GObject* stream, GAsyncResult* result, gpointer self);
    void readMore();
    void onDisconnected(SoupServerMessage*);
    // Answers with the file read so far (200) or `status` and a short text.
    void respondFile();
    void respondError(guint status, const char* body);
    // Hands this back to the worker, which frees it: the caller's last step.
    void done();

    Worker& worker_;
    GRef<SoupServerMessage> msg_;
    std::string path_;
    GRef<GFile> file_;
    GRef<GCancellable> cancellable_;
    GRef<GFileInputStream> stream_;
    SignalConnection disconnected_;
    GUnique<char> data_; // g_malloc'd, handed to libsoup as the body
    std::string etag_;
    gint64 lastModified_ = 0; // seconds since 1970, UTC
    size_t size_ = 0;
    size_t capacity_ = 0;
};

} // namespace palaver::server
