#include "web_response.h"

#include "gref.h"

#include <array>
#include <cstring>

namespace palaver::server {

namespace {

struct TypeByExtension {
    const char* extension;
    const char* type;
};

// The types the browser client uses, and a few a --web-root copy might.
// text/javascript for .js and .mjs: RFC 9239 makes it the one type.
constexpr std::array kTypes = {
    TypeByExtension { "html", "text/html; charset=utf-8" },
    TypeByExtension { "htm", "text/html; charset=utf-8" },
    TypeByExtension { "css", "text/css; charset=utf-8" },
    TypeByExtension { "js", "text/javascript; charset=utf-8" },
    TypeByExtension { "mjs", "text/javascript; charset=utf-8" },
    TypeByExtension { "json", "application/json" },
    TypeByExtension { "map", "application/json" },
    TypeByExtension { "webmanifest", "application/manifest+json" },
    TypeByExtension { "svg", "image/svg+xml" },
    TypeByExtension { "png", "image/png" },
    TypeByExtension { "jpg", "image/jpeg" },
    TypeByExtension { "jpeg", "image/jpeg" },
    TypeByExtension { "webp", "image/webp" },
    TypeByExtension { "ico", "image/x-icon" },
    TypeByExtension { "woff2", "font/woff2" },
    TypeByExtension { "wasm", "application/wasm" },
    TypeByExtension { "txt", "text/plain; charset=utf-8" },
};

// The request's own host, when it can stand in a CSP host-source (RFC
// grammar: letters, digits, '-' and '.', then an optional port). IPv6
// literals cannot, and anything else is not echoed into a header.
bool isCspHost(std::string_view host)
{
    if (host.empty() || host.size() > 255)
        return false;
    size_t colon = host.find(':');
    std::string_view name = host.substr(0, colon);
    if (name.empty())
        return false;
    for (char c : name)
        if (!g_ascii_isalnum(c) && c != '-' && c != '.')
            return false;
    if (colon == std::string_view::npos)
        return true;
    std::string_view port = host.substr(colon + 1);
    if (port.empty() || port.size() > 5)
        return false;
    for (char c : port)
        if (!g_ascii_isdigit(c))
            return false;
    return true;
}

std::string contentSecurityPolicy(SoupServerMessage* msg)
{
    // Nothing from another origin and no inline script or style. CSP 3 lets
    // 'self' match ws:/wss: to the page's own host and port (Chromium since
    // 70, Firefox), but Safari did not until WebKit bug 235873 (2022) and MDN
    // still warns: the request's own host is named as well, for both schemes
    // (behind a TLS proxy the page is https:// while we see plain HTTP).
    std::string connect = "connect-src 'self'";
    const char* host = soup_message_headers_get_one(soup_server_message_get_request_headers(msg), "Host");
    if (host && isCspHost(host)) {
        connect += " ws://";
        connect += host;
        connect += " wss://";
        connect += host;
    }
    return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
           "media-src 'self' blob:; "
        + connect + "; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";
}

// Headers of both the 200 and the 304 (RFC 9110 §15.4.5: a 304 carries the
// ETag, Cache-Control and the like that the 200 would have).
void setHeaders(SoupServerMessage* msg, const char* type, const std::string& etag, gint64 lastModified)
{
    SoupMessageHeaders* headers = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(headers, "Content-Type", type);
    soup_message_headers_replace(headers, "ETag", etag.c_str());
    GRef<GDateTime> modified = adopt(g_date_time_new_from_unix_utc(lastModified));
    if (modified) {
        GUnique<char> date(soup_date_time_to_string(modified.get(), SOUP_DATE_HTTP));
        soup_message_headers_replace(headers, "Last-Modified", date.get());
    }
    // Cached, but asked about every time: a new server version (or a file
    // changed under --web-root) is picked up on the next load, and an
    // unchanged one costs a 304.
    soup_message_headers_replace(headers, "Cache-Control", "no-cache");
    soup_message_headers_replace(headers, "Content-Security-Policy", contentSecurityPolicy(msg).c_str());
    soup_message_headers_replace(headers, "X-Content-Type-Options", "nosniff");
    soup_message_headers_replace(headers, "Referrer-Policy", "no-referrer");
    if (g_str_has_prefix(type, "text/html"))
        soup_message_headers_replace(headers, "Permissions-Policy", "camera=(self), microphone=(self), display-capture=(self)");
}

bool modifiedSince(const char* ifModifiedSince, gint64 lastModified)
{
    GRef<GDateTime> since = adopt(soup_date_time_new_from_http_string(ifModifiedSince));
    // An invalid date is ignored (RFC 9110 §13.1.3): answer in full.
    if (!since)
        return true;
    return lastModified > g_date_time_to_unix(since.get());
}

// RFC 9110 §13.1.5: a Range with an If-Range that does not name the current
// representation asks for the whole of it. libsoup 3.2 turns any GET 200 with
// a body into a 206 when the request has a Range (handle_partial_get) and
// ignores If-Range, so the Range goes from the request before libsoup sees
// the answer; a client holding part of an older file then gets the new one
// in full instead of a slice of it spliced onto the old. Our ETags are
// strong and compared strongly (§8.8.3.2: a weak one never matches); a date
// counts as a mismatch (allowed: the full answer is always right).
void dropStaleRange(SoupServerMessage* msg, const std::string& etag)
{
    SoupMessageHeaders* request = soup_server_message_get_request_headers(msg);
    const char* ifRange = soup_message_headers_get_one(request, "If-Range");
    if (!ifRange || !soup_message_headers_get_one(request, "Range"))
        return;
    std::string_view validator(ifRange);
    while (!validator.empty() && (validator.front() == ' ' || validator.front() == '\t'))
        validator.remove_prefix(1);
    while (!validator.empty() && (validator.back() == ' ' || validator.back() == '\t'))
        validator.remove_suffix(1);
    if (validator != etag)
        soup_message_headers_remove(request, "Range");
}

} // namespace

const char* webContentType(std::string_view name)
{
    size_t slash = name.rfind('/');
    size_t dot = name.rfind('.');
    if (dot == std::string_view::npos || (slash != std::string_view::npos && dot < slash))
        return "application/octet-stream";
    std::string_view extension = name.substr(dot + 1);
    for (const TypeByExtension& t : kTypes)
        if (extension.size() == strlen(t.extension) && g_ascii_strncasecmp(extension.data(), t.extension, extension.size()) == 0)
            return t.type;
    return "application/octet-stream";
}

std::string contentEtag(GBytes* bytes)
{
    gsize size = 0;
    const void* data = g_bytes_get_data(bytes, &size);
    GUnique<char> hex(g_compute_checksum_for_data(G_CHECKSUM_SHA256, static_cast<const guchar*>(data), size));
    return "\"" + std::string(hex.get(), 32) + "\"";
}

bool etagListMatches(std::string_view list, std::string_view etag)
{
    // #( "*" / entity-tag ), entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE.
    // Weak comparison: the W/ of either side is ignored.
    if (etag.substr(0, 2) == "W/")
        etag.remove_prefix(2);
    size_t i = 0;
    while (i < list.size()) {
        char c = list[i];
        if (c == ' ' || c == '\t' || c == ',') {
            ++i;
            continue;
        }
        if (c == '*')
            return true;
        if (list.substr(i, 2) == "W/")
            i += 2;
        if (i >= list.size() || list[i] != '"')
            return false; // malformed: no match, so the full answer
        size_t close = list.find('"', i + 1);
        if (close == std::string_view::npos)
            return false;
        if (list.substr(i, close + 1 - i) == etag)
            return true;
        i = close + 1;
    }
    return false;
}

bool respondIfNotModified(SoupServerMessage* msg, const char* type, const std::string& etag, gint64 lastModified,
    goffset size)
{
    SoupMessageHeaders* request = soup_server_message_get_request_headers(msg);
    bool current = false;
    if (const char* ifNoneMatch = soup_message_headers_get_list(request, "If-None-Match"))
        current = etagListMatches(ifNoneMatch, etag);
    else if (const char* ifModifiedSince = soup_message_headers_get_one(request, "If-Modified-Since"))
        current = !modifiedSince(ifModifiedSince, lastModified);
    if (!current)
        return false;
    soup_server_message_set_status(msg, SOUP_STATUS_NOT_MODIFIED, nullptr);
    setHeaders(msg, type, etag, lastModified);
    // libsoup would write the empty body's "Content-Length: 0"; RFC 9110
    // §8.6 allows only the 200's length there. (Its Content-Length of 0
    // stays 0, which is then right.)
    soup_message_headers_set_content_length(soup_server_message_get_response_headers(msg), size);
    return true;
}

void respondWebFile(SoupServerMessage* msg, GBytes* body, const char* type, const std::string& etag, gint64 lastModified)
{
    soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
    setHeaders(msg, type, etag, lastModified);
    dropStaleRange(msg, etag);
    // HEAD: libsoup sends the Content-Length of this body and not the body.
    soup_message_body_append_bytes(soup_server_message_get_response_body(msg), body);
}

} // namespace palaver::server
