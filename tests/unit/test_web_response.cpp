// The browser client's types and entity-tag matching (web_response.h), on
// their own: what the black-box tests in tests/server/test_http.cpp reach
// only through a server.
#include "web_response.h"

#include <glib.h>

#include <string>

using namespace palaver::server;

namespace {

void testContentTypes()
{
    g_assert_cmpstr(webContentType("/index.html"), ==, "text/html; charset=utf-8");
    g_assert_cmpstr(webContentType("/INDEX.HTML"), ==, "text/html; charset=utf-8");
    g_assert_cmpstr(webContentType("/css/app.css"), ==, "text/css; charset=utf-8");
    g_assert_cmpstr(webContentType("/js/main.js"), ==, "text/javascript; charset=utf-8");
    g_assert_cmpstr(webContentType("/js/protocol.mjs"), ==, "text/javascript; charset=utf-8");
    g_assert_cmpstr(webContentType("/icon.svg"), ==, "image/svg+xml");
    g_assert_cmpstr(webContentType("/data.json"), ==, "application/json");
    g_assert_cmpstr(webContentType("/logo.png"), ==, "image/png");
    g_assert_cmpstr(webContentType("/app.webmanifest"), ==, "application/manifest+json");
    // No extension, an unknown one, a dot in a folder name only, a name
    // that is only an extension's tail ("xjs" is not "js").
    g_assert_cmpstr(webContentType("/LICENSE"), ==, "application/octet-stream");
    g_assert_cmpstr(webContentType("/x.exe"), ==, "application/octet-stream");
    g_assert_cmpstr(webContentType("/v1.2/readme"), ==, "application/octet-stream");
    g_assert_cmpstr(webContentType("/a.xjs"), ==, "application/octet-stream");
    g_assert_cmpstr(webContentType("/a."), ==, "application/octet-stream");
}

void testEtagLists()
{
    const std::string tag = "\"abc\"";
    g_assert_true(etagListMatches("\"abc\"", tag));
    g_assert_true(etagListMatches("W/\"abc\"", tag));
    g_assert_true(etagListMatches("\"x\", W/\"y\",\"abc\"", tag));
    g_assert_true(etagListMatches("  \"x\" ,\t\"abc\" ", tag));
    g_assert_true(etagListMatches("*", tag));
    g_assert_true(etagListMatches("W/\"abc\"", "W/\"abc\""));
    g_assert_false(etagListMatches("\"abcd\"", tag));
    g_assert_false(etagListMatches("\"ab\"", tag));
    g_assert_false(etagListMatches("abc", tag));
    g_assert_false(etagListMatches("\"abc", tag));
    g_assert_false(etagListMatches("", tag));
    g_assert_false(etagListMatches("\"x,\"abc\"", tag)); // malformed: no match
    g_assert_false(etagListMatches("w/\"abc\"", tag));   // W/ is case-sensitive
}

void testContentEtag()
{
    GBytes* a = g_bytes_new_static("hello\n", 6);
    GBytes* b = g_bytes_new_static("hello!", 6);
    // sha256("hello\n") = 5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03
    std::string etag = contentEtag(a); // g_assert_cmpstr would keep a dangling c_str()
    g_assert_cmpstr(etag.c_str(), ==, "\"5891b5b522d5df086d0ff0b110fbd9d2\"");
    g_assert_true(contentEtag(a) != contentEtag(b));
    g_bytes_unref(a);
    g_bytes_unref(b);
}

} // namespace

int main(int argc, char** argv)
{
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/web-response/content-types", testContentTypes);
    g_test_add_func("/web-response/etag-lists", testEtagLists);
    g_test_add_func("/web-response/content-etag", testContentEtag);
    return g_test_run();
}
