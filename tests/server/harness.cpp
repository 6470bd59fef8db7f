#include "harness.h"

#include "source.h"

#include <glib/gstdio.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>

namespace palaver::test {

void fail(const std::string& message, std::source_location loc)
{
    const char* file = loc.file_name();
    if (const char* slash = strrchr(file, '/'))
        file = slash + 1;
    throw Failure(format("%s:%u: %s", file, (unsigned)loc.line(), message.c_str()));
}

void skip(const std::string& message)
{
    throw Skipped(message);
}

std::string format(const char* fmt, ...)
{
    va_list args;
    va_start(args, fmt);
    char* s = g_strdup_vprintf(fmt, args);
    va_end(args);
    std::string out(s);
    g_free(s);
    return out;
}

// ---- Registration -----------------------------------------------------------

std::vector<std::unique_ptr<std::function<void()>>>& registry()
{
    static std::vector<std::unique_ptr<std::function<void()>>> tests;
    return tests;
}

static void runOne(gconstpointer data)
{
    const auto& body = *static_cast<const std::function<void()>*>(data);
    GMainContext* context = g_main_context_new();
    g_main_context_push_thread_default(context);
    try {
        body();
    } catch (const Skipped& s) {
        g_test_skip(s.what());
    } catch (const Failure& f) {
        // One line per line of the message, so that TAP shows all of it.
        g_test_message("FAIL %s", f.what());
        g_printerr("FAIL %s: %s\n", g_test_get_path(), f.what());
        g_test_fail();
    } catch (const std::exception& e) {
        g_test_message("FAIL exception: %s", e.what());
        g_test_fail();
    }
    // Let finished asynchronous operations drop their references before the
    // context goes away.
    for (int i = 0; i < 1000 && g_main_context_iteration(context, FALSE); ++i) {
    }
    g_main_context_pop_thread_default(context);
    g_main_context_unref(context);
}

void addTest(const char* path, std::function<void()> body)
{
    auto& tests = registry();
    tests.push_back(std::make_unique<std::function<void()>>(std::move(body)));
    g_test_add_data_func(path, tests.back().get(), runOne);
}

} // namespace palaver::test

// Each test program defines registerTests(); the harness owns main().
int main(int argc, char** argv)
{
    g_test_init(&argc, &argv, nullptr);
    // A failed test must not stop the others (GLib aborts the run on the
    // first failure otherwise); our checks throw, they do not use g_assert.
    g_test_set_nonfatal_assertions();
    // GTest's log handler prints every g_debug() (libsoup is chatty) into the
    // TAP stream; keep debug and info for G_MESSAGES_DEBUG=... runs.
    if (!g_getenv("G_MESSAGES_DEBUG")) {
        static GLogFunc testHandler = nullptr;
        testHandler = g_log_set_default_handler(
            [](const char* domain, GLogLevelFlags level, const char* message, gpointer data) {
                if (level & (G_LOG_LEVEL_DEBUG | G_LOG_LEVEL_INFO))
                    return;
                testHandler(domain, level, message, data);
            },
            nullptr);
    }
    registerTests();
    int rc = g_test_run();
    palaver::test::registry().clear();
    return rc;
}

namespace palaver::test {

// ---- Main context -----------------------------------------------------------

int64_t nowMs()
{
    return g_get_monotonic_time() / 1000;
}

bool pumpUntil(const std::function<bool()>& pred, int timeoutMs)
{
    if (pred())
        return true;
    GMainContext* context = g_main_context_get_thread_default();
    bool expired = false;
    palaver::Source timer = palaver::Source::once(context, std::chrono::milliseconds(std::max(timeoutMs, 0)), [&expired] { expired = true; });
    bool ok = false;
    while (true) {
        if (pred()) {
            ok = true;
            break;
        }
        if (expired)
            break;
        g_main_context_iteration(context, TRUE);
    }
    return ok;
}

void pumpFor(int ms)
{
    pumpUntil([] { return false; }, ms);
}

// ---- Environment ------------------------------------------------------------

std::string serverPath()
{
    const char* path = g_getenv("PALAVER_SERVER");
    if (!path || !*path)
        skip("PALAVER_SERVER is not set (run through meson test)");
    if (!g_file_test(path, G_FILE_TEST_IS_EXECUTABLE))
        fail(format("PALAVER_SERVER=%s is not an executable", path));
    return path;
}

uint64_t raiseFileLimit()
{
    struct rlimit limit {};
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return 0;
    if (limit.rlim_cur < limit.rlim_max) {
        limit.rlim_cur = limit.rlim_max;
        setrlimit(RLIMIT_NOFILE, &limit);
        getrlimit(RLIMIT_NOFILE, &limit);
    }
    return limit.rlim_cur;
}

TempDir::TempDir()
{
    GError* error = nullptr;
    char* dir = g_dir_make_tmp("palaver-test-XXXXXX", &error);
    if (!dir) {
        std::string m = error->message;
        g_error_free(error);
        fail("cannot make a temporary directory: " + m);
    }
    path_ = dir;
    g_free(dir);
}

static void removeTree(const std::string& path)
{
    if (GDir* dir = g_dir_open(path.c_str(), 0, nullptr)) {
        while (const char* name = g_dir_read_name(dir)) {
            std::string child = path + "/" + name;
            if (g_file_test(child.c_str(), G_FILE_TEST_IS_DIR) && !g_file_test(child.c_str(), G_FILE_TEST_IS_SYMLINK))
                removeTree(child);
            else
                g_unlink(child.c_str());
        }
        g_dir_close(dir);
    }
    g_rmdir(path.c_str());
}

TempDir::~TempDir()
{
    removeTree(path_);
}

std::string TempDir::file(std::string_view name) const
{
    return path_ + "/" + std::string(name);
}

std::string TempDir::write(std::string_view name, std::string_view contents) const
{
    std::string p = file(name);
    GError* error = nullptr;
    if (!g_file_set_contents(p.c_str(), contents.data(), (gssize)contents.size(), &error)) {
        std::string m = error->message;
        g_error_free(error);
        fail("cannot write " + p + ": " + m);
    }
    return p;
}

// ---- JSON -------------------------------------------------------------------

JsonNodePtr parseJson(std::string_view text)
{
    JsonParser* parser = json_parser_new_immutable();
    JsonNodePtr result;
    if (json_parser_load_from_data(parser, text.data(), (gssize)text.size(), nullptr)) {
        if (JsonNode* root = json_parser_get_root(parser))
            result.reset(json_node_ref(root));
    }
    g_object_unref(parser);
    return result;
}

std::string toJson(JsonNode* node)
{
    if (!node)
        return "(null)";
    char* s = json_to_string(node, FALSE);
    std::string out(s);
    g_free(s);
    return out;
}

std::string jstr(std::string_view s)
{
    std::string out = "\"";
    for (unsigned char c : s) {
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        default:
            if (c < 0x20)
                out += format("\\u%04x", c);
            else
                out += (char)c;
        }
    }
    out += '"';
    return out;
}

std::vector<std::string> Message::members() const
{
    std::vector<std::string> names;
    if (JsonObject* o = object()) {
        GList* list = json_object_get_members(o);
        for (GList* l = list; l; l = l->next)
            names.emplace_back(static_cast<const char*>(l->data));
        g_list_free(list);
    }
    std::sort(names.begin(), names.end());
    return names;
}

bool Message::has(const char* name) const
{
    JsonObject* o = object();
    return o && json_object_has_member(o, name);
}

std::string Message::str(const char* name, std::source_location loc) const
{
    JsonObject* o = object();
    if (!o)
        fail(format("expected a JSON object, got %s%s", binary ? "binary frame " : "", raw.c_str()), loc);
    JsonNode* n = json_object_get_member(o, name);
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        fail(format("member \"%s\" missing or not a string in %s", name, raw.c_str()), loc);
    return json_node_get_string(n);
}

void checkJson(const Message& msg, std::string_view expected, std::source_location loc)
{
    JsonNodePtr want = parseJson(expected);
    if (!want)
        fail("test bug: expected text is not JSON: " + std::string(expected), loc);
    if (!msg.node || !json_node_equal(msg.node.get(), want.get()))
        fail(format("unexpected message\n  got:      %s\n  expected: %s", msg.raw.c_str(),
                 std::string(expected).c_str()),
            loc);
}

void checkMembers(const Message& msg, std::vector<std::string> members, std::source_location loc)
{
    std::sort(members.begin(), members.end());
    if (msg.members() != members)
        fail(format("unexpected member set in %s\n  got:      %s\n  expected: %s", msg.raw.c_str(),
                 show(msg.members()).c_str(), show(members).c_str()),
            loc);
}

void checkError(const Message& msg, std::string_view code, std::optional<std::string> ref, std::source_location loc)
{
    if (!msg.isObject() || msg.type(loc) != "error")
        fail(format("expected error \"%s\" (ref %s), got %s%s", std::string(code).c_str(), show(ref).c_str(),
                 msg.binary ? "binary frame " : "", msg.raw.c_str()),
            loc);
    if (msg.str("code", loc) != code)
        fail(format("expected error code \"%s\", got %s", std::string(code).c_str(), msg.raw.c_str()), loc);
    if (msg.str("message", loc).empty())
        fail("error without a human readable message: " + msg.raw, loc);
    if (ref) {
        if (!msg.has("ref") || msg.str("ref", loc) != *ref)
            fail(format("expected ref \"%s\" in %s", ref->c_str(), msg.raw.c_str()), loc);
        checkMembers(msg, { "type", "code", "message", "ref" }, loc);
    } else {
        if (msg.has("ref"))
            fail("expected no ref (Fine points) in " + msg.raw, loc);
        checkMembers(msg, { "type", "code", "message" }, loc);
    }
}

void Obj::key(std::string_view k)
{
    if (!first_)
        text_ += ',';
    first_ = false;
    text_ += jstr(k);
    text_ += ':';
}

Obj& Obj::s(std::string_view k, std::string_view value)
{
    key(k);
    text_ += jstr(value);
    close();
    return *this;
}

Obj& Obj::i(std::string_view k, int64_t value)
{
    key(k);
    text_ += std::to_string(value);
    close();
    return *this;
}

Obj& Obj::raw(std::string_view k, std::string_view json)
{
    key(k);
    text_ += json;
    close();
    return *this;
}

bool isValidId(std::string_view id)
{
    if (id.empty() || id.size() > 64)
        return false;
    return std::all_of(id.begin(), id.end(), [](char c) {
        return g_ascii_isalnum(c) || c == '.' || c == '_' || c == '-';
    });
}

// ---- Tokens -----------------------------------------------------------------

std::string base64url(std::string_view data)
{
    char* b = g_base64_encode(reinterpret_cast<const guchar*>(data.data()), data.size());
    std::string out(b);
    g_free(b);
    for (char& c : out) {
        if (c == '+')
            c = '-';
        else if (c == '/')
            c = '_';
    }
    while (!out.empty() && out.back() == '=')
        out.pop_back();
    return out;
}

static std::string hmacRaw(GChecksumType digest, std::string_view key, std::string_view text)
{
    GHmac* hmac = g_hmac_new(digest, reinterpret_cast<const guchar*>(key.data()), key.size());
    g_hmac_update(hmac, reinterpret_cast<const guchar*>(text.data()), (gssize)text.size());
    guint8 buffer[64];
    gsize length = sizeof buffer;
    g_hmac_get_digest(hmac, buffer, &length);
    g_hmac_unref(hmac);
    return std::string(reinterpret_cast<const char*>(buffer), length);
}

std::string signJwt(std::string_view headerJson, std::string_view payloadJson, std::string_view secret,
    GChecksumType digest)
{
    std::string signingInput = base64url(headerJson) + "." + base64url(payloadJson);
    return signingInput + "." + base64url(hmacRaw(digest, secret, signingInput));
}

std::string makeToken(std::string_view secret, std::string_view room, int64_t expiresIn, std::optional<std::string> sub)
{
    Obj payload;
    payload.i("exp", g_get_real_time() / G_USEC_PER_SEC + expiresIn).s("room", room);
    if (sub)
        payload.s("sub", *sub);
    return signJwt(R"({"alg":"HS256","typ":"JWT"})", payload.str(), secret);
}

std::string turnCredential(std::string_view secret, std::string_view username)
{
    std::string mac = hmacRaw(G_CHECKSUM_SHA1, secret, username);
    char* b = g_base64_encode(reinterpret_cast<const guchar*>(mac.data()), mac.size());
    std::string out(b);
    g_free(b);
    return out;
}

} // namespace palaver::test
