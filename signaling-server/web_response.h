// How palaver-server answers for the browser client's files, wherever their
// bytes come from (compiled in: WebContent; --web-root: StaticFile): the
// MIME type from the name, the validators (ETag, Last-Modified) and
// revalidation (304), and the security headers of docs/protocol.md
// ("Palaver's additions", "The browser client").
//
// Free functions over a SoupServerMessage; none blocks and none keeps the
// message. Any thread.
#pragma once

#include <glib.h>
#include <libsoup/soup.h>

#include <string>
#include <string_view>

namespace palaver::server {

// The Content-Type for a file name, from its extension (case-insensitive),
// with `charset=utf-8` for text: our own table, not shared-mime-info's guess,
// so that every machine serves the same types (a browser refuses an ES module
// served with a non-JavaScript type, and nosniff makes that strict for
// scripts and styles). Unknown: application/octet-stream.
const char* webContentType(std::string_view name);

// A strong ETag ("..." included) for these bytes: the first 128 bits of
// their SHA-256, hex.
std::string contentEtag(GBytes* bytes);

// Answers 304 Not Modified, with the headers a 200 would carry and no body,
// when the request's conditions say the client's copy is current; returns
// whether it did. RFC 9110 §13.2.2: If-None-Match (weak comparison, `*`
// matches) decides when present, and If-Modified-Since is then ignored; else
// If-Modified-Since with a valid HTTP-date at or after `lastModified`
// (seconds since 1970, UTC). Only for GET and HEAD, the only methods that
// reach here. `size`: the 200's body size, for its Content-Length.
bool respondIfNotModified(SoupServerMessage* msg, const char* type, const std::string& etag, gint64 lastModified,
    goffset size);

// Answers 200 with `body` (referenced, not copied) and the headers. A Range
// request keeps its Range (libsoup then answers 206) only when it has no
// If-Range or one naming `etag` (RFC 9110 §13.1.5); else the Range is
// removed from the request and the whole file goes out.
void respondWebFile(SoupServerMessage* msg, GBytes* body, const char* type, const std::string& etag, gint64 lastModified);

// The request's If-None-Match lists `etag` (or is `*`): weak comparison,
// RFC 9110 §8.8.3.2. Exposed for the unit test.
bool etagListMatches(std::string_view ifNoneMatch, std::string_view etag);

} // namespace palaver::server
