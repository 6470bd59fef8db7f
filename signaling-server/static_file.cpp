#include "static_file.h"

#include "web_response.h"
#include "worker.h"

#include <algorithm>
#include <cstring>

namespace palaver::server {

StaticFile::StaticFile(Worker& worker, SoupServerMessage* msg, std::string path)
    : worker_(worker)
    , msg_(msg)
    , path_(std::move(path))
    , file_(adopt(g_file_new_for_path(path_.c_str())))
    , cancellable_(adopt(g_cancellable_new()))
{
}

StaticFile::~StaticFile() = default;

void StaticFile::start()
{
    soup_server_message_pause(msg_.get());
    // While paused, libsoup does not watch the socket; it reports the
    // message gone only when the server drops the connection (shutdown).
    disconnected_ = connectSignal(msg_.get(), "disconnected", this, &StaticFile::onDisconnected);
    // Type and size first: opening a FIFO or a device could block a GIO
    // thread for good. Symlinks are followed, as stat(2) (and so the
    // g_file_test() used before) does.
    // Modification time and inode make the validators (see onInfo).
    g_file_query_info_async(file_.get(),
        G_FILE_ATTRIBUTE_STANDARD_TYPE "," G_FILE_ATTRIBUTE_STANDARD_SIZE "," G_FILE_ATTRIBUTE_TIME_MODIFIED
                                       "," G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC "," G_FILE_ATTRIBUTE_UNIX_INODE,
        G_FILE_QUERY_INFO_NONE, G_PRIORITY_DEFAULT, cancellable_.get(), &StaticFile::onInfo, this);
}

void StaticFile::cancel()
{
    g_cancellable_cancel(cancellable_.get());
}

void StaticFile::onDisconnected(SoupServerMessage*)
{
    cancel();
}

void StaticFile::onInfo(GObject* file, GAsyncResult* result, gpointer data)
{
    auto* self = static_cast<StaticFile*>(data);
    GUnique<GError> error;
    GRef<GFileInfo> info = adopt(g_file_query_info_finish(G_FILE(file), result, error.outPtr()));
    if (g_cancellable_is_cancelled(self->cancellable_.get()))
        return self->done();
    // Missing, unreadable folder, not a regular file: 404, as before.
    if (!info || g_file_info_get_file_type(info.get()) != G_FILE_TYPE_REGULAR) {
        self->respondError(SOUP_STATUS_NOT_FOUND, "not found\n");
        return self->done();
    }
    goffset size = g_file_info_get_size(info.get());
    if (size < 0 || static_cast<guint64>(size) > kMaxSize) {
        g_warning("not serving %s: %" G_GINT64_FORMAT " bytes, more than %zu", self->path_.c_str(), static_cast<gint64>(size),
            kMaxSize);
        self->respondError(SOUP_STATUS_INTERNAL_SERVER_ERROR, "file too large to serve\n");
        return self->done();
    }
    // Validators from the metadata, as nginx and Apache make them, so that a
    // revalidation is answered without opening the file and the worker never
    // hashes megabytes: the ETag changes with the size, the modification
    // time (microseconds) or the inode (an editor or g_file_set_contents()
    // that writes a new file and renames it). An in-place rewrite of the
    // same size within the file system's timestamp granularity would keep
    // it; the compiled-in copy hashes its bytes instead.
    guint64 modifiedUs = g_file_info_get_attribute_uint64(info.get(), G_FILE_ATTRIBUTE_TIME_MODIFIED) * G_USEC_PER_SEC
        + g_file_info_get_attribute_uint32(info.get(), G_FILE_ATTRIBUTE_TIME_MODIFIED_USEC);
    GUnique<char> etag(g_strdup_printf("\"%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x-%" G_GINT64_MODIFIER "x\"",
        static_cast<guint64>(size), modifiedUs, g_file_info_get_attribute_uint64(info.get(), G_FILE_ATTRIBUTE_UNIX_INODE)));
    self->etag_ = etag.get();
    self->lastModified_ = static_cast<gint64>(modifiedUs / G_USEC_PER_SEC);
    if (respondIfNotModified(self->msg_.get(), webContentType(self->path_), self->etag_, self->lastModified_, size)) {
        soup_server_message_unpause(self->msg_.get());
        return self->done();
    }
    // One byte more than the file: the read that finds the end then needs
    // no larger buffer.
    self->capacity_ = static_cast<size_t>(size) + 1;
    self->data_.reset(static_cast<char*>(g_malloc(self->capacity_)));
    g_file_read_async(G_FILE(file), G_PRIORITY_DEFAULT, self->cancellable_.get(), &StaticFile::onOpened, self);
}

void StaticFile::onOpened(GObject* file, GAsyncResult* result, gpointer data)
{
    auto* self = static_cast<StaticFile*>(data);
    GUnique<GError> error;
    self->stream_ = adopt(g_file_read_finish(G_FILE(file), result, error.outPtr()));
    if (g_cancellable_is_cancelled(self->cancellable_.get()))
        return self->done();
    if (!self->stream_) {
        g_debug("cannot open %s: %s", self->path_.c_str(), errorMessage(error));
        self->respondError(SOUP_STATUS_NOT_FOUND, "not found\n");
        return self->done();
    }
    self->readMore();
}

void StaticFile::readMore()
{
    if (size_ == capacity_) {
        // The file grew since it was looked up.
        capacity_ = std::min(capacity_ * 2, kMaxSize + 1);
        data_.reset(static_cast<char*>(g_realloc(data_.release(), capacity_)));
    }
    g_input_stream_read_async(G_INPUT_STREAM(stream_.get()), data_.get() + size_, capacity_ - size_, G_PRIORITY_DEFAULT,
        cancellable_.get(), &StaticFile::onRead, this);
}

void StaticFile::onRead(GObject* stream, GAsyncResult* result, gpointer data)
{
    auto* self = static_cast<StaticFile*>(data);
    GUnique<GError> error;
    gssize n = g_input_stream_read_finish(G_INPUT_STREAM(stream), result, error.outPtr());
    if (g_cancellable_is_cancelled(self->cancellable_.get()))
        return self->done();
    if (n < 0) {
        // g_file_get_contents() failing answered 404 before; so does this.
        g_debug("cannot read %s: %s", self->path_.c_str(), errorMessage(error));
        self->respondError(SOUP_STATUS_NOT_FOUND, "not found\n");
        return self->done();
    }
    if (n == 0) {
        self->respondFile();
        return self->done();
    }
    self->size_ += static_cast<size_t>(n);
    if (self->size_ > kMaxSize) {
        g_warning("not serving %s: it grew past %zu bytes while being read", self->path_.c_str(), kMaxSize);
        self->respondError(SOUP_STATUS_INTERNAL_SERVER_ERROR, "file too large to serve\n");
        return self->done();
    }
    self->readMore();
}

void StaticFile::respondFile()
{
    // The type from the name only, as for the compiled-in copy.
    GRef<GBytes> body = adopt(g_bytes_new_take(data_.release(), size_));
    respondWebFile(msg_.get(), body.get(), webContentType(path_), etag_, lastModified_);
    soup_server_message_unpause(msg_.get());
}

void StaticFile::respondError(guint status, const char* body)
{
    soup_server_message_set_status(msg_.get(), status, nullptr);
    soup_server_message_set_response(msg_.get(), "text/plain", SOUP_MEMORY_STATIC, body, strlen(body));
    soup_server_message_unpause(msg_.get());
}

void StaticFile::done()
{
    worker_.staticFileDone(this);
}

} // namespace palaver::server
