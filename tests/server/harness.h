// Test harness for the palaver-server black-box suites: test registration on
// top of GTest, failures as exceptions (so one failed check ends only its own
// test, and the next test still runs), main-context pumping with deadlines,
// and JSON helpers that compare exact member sets.
//
// Every test runs with its own GMainContext pushed as thread default; every
// wait pumps that context until a predicate holds or a deadline passes, and a
// missed deadline fails the test instead of hanging it.
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <source_location>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace palaver::test {

// Default deadlines (milliseconds). Generous enough for an ASan build on a
// loaded two-core machine; a passing test never waits for them.
inline constexpr int kExpectTimeoutMs = 5000;
inline constexpr int kQuietMs = 300;

// ---- Failures ---------------------------------------------------------------

class Failure : public std::exception {
public:
    explicit Failure(std::string message) : message_(std::move(message)) {}
    const char* what() const noexcept override { return message_.c_str(); }

private:
    std::string message_;
};

class Skipped : public std::exception {
public:
    explicit Skipped(std::string message) : message_(std::move(message)) {}
    const char* what() const noexcept override { return message_.c_str(); }

private:
    std::string message_;
};

[[noreturn]] void fail(const std::string& message,
    std::source_location loc = std::source_location::current());
[[noreturn]] void skip(const std::string& message);

std::string format(const char* fmt, ...) G_GNUC_PRINTF(1, 2);

template<typename T>
std::string show(const T& v)
{
    std::ostringstream s;
    if constexpr (std::is_convertible_v<const T&, std::string_view>)
        s << '"' << std::string_view(v) << '"';
    else if constexpr (std::is_same_v<T, std::optional<std::string>>)
        s << (v ? "\"" + *v + "\"" : std::string("(absent)"));
    else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
        s << '[';
        for (size_t i = 0; i < v.size(); ++i)
            s << (i ? "," : "") << '"' << v[i] << '"';
        s << ']';
    } else
        s << v;
    return s.str();
}

#define PT_CHECK(cond)                                                        \
    do {                                                                      \
        if (!(cond))                                                          \
            ::palaver::test::fail("check failed: " #cond);                    \
    } while (0)

#define PT_CHECK_MSG(cond, ...)                                               \
    do {                                                                      \
        if (!(cond))                                                          \
            ::palaver::test::fail(::palaver::test::format(__VA_ARGS__));      \
    } while (0)

#define PT_CHECK_EQ(a, b)                                                     \
    do {                                                                      \
        const auto& pt_a_ = (a);                                              \
        const auto& pt_b_ = (b);                                              \
        if (!(pt_a_ == pt_b_))                                                \
            ::palaver::test::fail(std::string("check failed: " #a " == " #b   \
                                              "\n  left:  ")                  \
                + ::palaver::test::show(pt_a_) + "\n  right: "                \
                + ::palaver::test::show(pt_b_));                              \
    } while (0)

// ---- Registration -----------------------------------------------------------

void addTest(const char* path, std::function<void()> body);
std::vector<std::unique_ptr<std::function<void()>>>& registry();

// ---- Main context -----------------------------------------------------------

// Iterates the thread-default main context until pred() holds (true) or
// timeoutMs passes (false).
bool pumpUntil(const std::function<bool()>& pred, int timeoutMs);
// Iterates the thread-default main context for ms milliseconds.
void pumpFor(int ms);
int64_t nowMs(); // monotonic

// ---- Environment ------------------------------------------------------------

// Path of palaver-server from $PALAVER_SERVER; skips the test when unset.
std::string serverPath();
// Raises RLIMIT_NOFILE's soft limit to the hard limit; returns the new limit.
uint64_t raiseFileLimit();

// A temporary directory removed (recursively) on destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    const std::string& path() const { return path_; }
    std::string file(std::string_view name) const;
    std::string write(std::string_view name, std::string_view contents) const;

private:
    std::string path_;
};

// ---- JSON -------------------------------------------------------------------

struct JsonNodeDeleter {
    void operator()(JsonNode* n) const { json_node_unref(n); }
};
using JsonNodePtr = std::unique_ptr<JsonNode, JsonNodeDeleter>;

// Parses text; nullptr when it is not JSON.
JsonNodePtr parseJson(std::string_view text);
std::string toJson(JsonNode* node);
// A JSON string literal (with quotes) for s.
std::string jstr(std::string_view s);

// One frame received from the server.
struct Message {
    bool binary = false;
    std::string raw;
    JsonNodePtr node; // null when raw is not JSON

    bool isObject() const { return node && JSON_NODE_HOLDS_OBJECT(node.get()); }
    JsonObject* object() const { return isObject() ? json_node_get_object(node.get()) : nullptr; }
    // Sorted member names (empty for a non-object).
    std::vector<std::string> members() const;
    bool has(const char* name) const;
    // The string member `name`; fails the test when missing or not a string.
    std::string str(const char* name, std::source_location loc = std::source_location::current()) const;
    std::string type(std::source_location loc = std::source_location::current()) const { return str("type", loc); }
};

// Fails unless msg is exactly the JSON `expected` (same members, same values;
// member order ignored).
void checkJson(const Message& msg, std::string_view expected,
    std::source_location loc = std::source_location::current());
// Fails unless msg is an `error` with exactly {type, code, message[, ref]}:
// `ref` must equal `ref` when given and be absent when nullopt; `message`
// must be a non-empty string.
void checkError(const Message& msg, std::string_view code, std::optional<std::string> ref,
    std::source_location loc = std::source_location::current());
// Fails unless msg is of `type` and has exactly the sorted member set.
void checkMembers(const Message& msg, std::vector<std::string> members,
    std::source_location loc = std::source_location::current());

// Builds a JSON object by hand: Obj().s("type", "join").s("room", "r").str().
class Obj {
public:
    Obj& s(std::string_view key, std::string_view value);
    Obj& i(std::string_view key, int64_t value);
    Obj& raw(std::string_view key, std::string_view json); // value already JSON
    const std::string& str() const { return out_; }
    operator const std::string&() const { return out_; }
    operator std::string_view() const { return out_; }

private:
    void key(std::string_view k);
    void close() { out_ = text_ + "}"; }
    std::string text_ = "{";
    std::string out_ = "{}";
    bool first_ = true;
};

// A valid id per the protocol: 1..64 of [A-Za-z0-9._-].
bool isValidId(std::string_view id);

// ---- Tokens and TURN credentials ----------------------------------------------

std::string base64url(std::string_view data);
// header.payload.signature with an HMAC of `digest` over the first two parts.
std::string signJwt(std::string_view headerJson, std::string_view payloadJson, std::string_view secret,
    GChecksumType digest = G_CHECKSUM_SHA256);
// An HS256 token with exp = now + expiresIn, room and optional sub.
std::string makeToken(std::string_view secret, std::string_view room, int64_t expiresIn = 3600,
    std::optional<std::string> sub = std::nullopt);
// base64(HMAC-SHA1(secret, text)), the TURN REST credential.
std::string turnCredential(std::string_view secret, std::string_view username);

} // namespace palaver::test

// Defined by each test program: calls palaver::test::addTest() for each test.
// The harness's main() runs g_test_init, this, then g_test_run.
void registerTests();
