#include "messages.h"

#include "gref.h"

#include <json-glib/json-glib.h>

#include <array>
#include <cmath>
#include <cstring>

namespace palaver::protocol {

namespace {

constexpr std::array<const char*, kErrorCodeCount> kErrorNames = {
    "bad-json", "bad-message", "unknown-type", "not-joined", "already-joined", "peer-id-taken",
    "room-full", "unknown-peer", "rate-limited", "unauthorized", "too-large",
};

// Thrown only inside this file, from member readers to the parse entry
// points, never across a C callback.
struct Reject {
    ErrorCode code;
    std::string message;
};

// One parser per thread: creating a JsonParser per frame costs more than
// parsing a small message. json-glib keeps string values as C strings, so
// "\u0000" silently cuts them short ("a\u0000b" would read as the valid id
// "a"); the full values of the top-level members that hold one are kept in
// fullStrings, by node, for the frame being parsed (see stringOf()).
struct ThreadParser {
    GRef<JsonParser> parser = adopt(json_parser_new());
    std::vector<std::pair<JsonNode*, std::string>> fullStrings;
};

ThreadParser& threadParser()
{
    thread_local ThreadParser parser;
    return parser;
}

uint32_t hexValue(const char* p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i)
        v = (v << 4) | static_cast<uint32_t>(g_ascii_xdigit_value(p[i]));
    return v;
}

void appendUtf8(std::string& out, uint32_t cp)
{
    char buffer[6];
    out.append(buffer, static_cast<size_t>(g_unichar_to_utf8(cp, buffer)));
}

// The value of a JSON string whose syntax StrictJson has checked; `begin` and
// `end` are the bytes between the quotes.
std::string decodeJsonString(const char* begin, const char* end)
{
    std::string out;
    out.reserve(static_cast<size_t>(end - begin));
    for (const char* p = begin; p < end; ++p) {
        if (*p != '\\') {
            out.push_back(*p);
            continue;
        }
        char e = *++p;
        switch (e) {
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
            uint32_t cp = hexValue(p + 1);
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) { // a pair, as StrictJson checked
                cp = 0x10000 + ((cp - 0xD800) << 10) + (hexValue(p + 3) - 0xDC00);
                p += 6;
            }
            appendUtf8(out, cp);
            break;
        }
        default: out.push_back(e); break; // " \ /
        }
    }
    return out;
}

// An escape "\uXXXX" at p (after the backslash and 'u'); its value in cp.
bool hex4(const char*& p, const char* end, uint32_t& cp)
{
    if (end - p < 4)
        return false;
    for (int i = 0; i < 4; ++i) {
        if (!g_ascii_isxdigit(p[i]))
            return false;
    }
    cp = hexValue(p);
    p += 4;
    return true;
}

struct JsonStringScan {
    bool escaped = false; // holds a backslash escape
    bool hasNul = false;  // holds an escaped U+0000
    bool ascii = true;    // no byte over 0x7f
};

// The string whose opening quote is at p, by RFC 8259 (no raw control
// characters, only the listed escapes, surrogates in pairs); p ends past its
// closing quote.
bool scanJsonString(const char*& p, const char* end, JsonStringScan& scan)
{
    ++p; // opening quote
    while (p < end) {
        unsigned char c = static_cast<unsigned char>(*p++);
        if (c == '"')
            return true;
        if (c < 0x20)
            return false;
        if (c >= 0x80)
            scan.ascii = false;
        if (c != '\\')
            continue;
        scan.escaped = true;
        if (p >= end)
            return false;
        char e = *p++;
        if (e == 'u') {
            uint32_t cp;
            if (!hex4(p, end, cp))
                return false;
            scan.hasNul |= cp == 0;
            // An unpaired surrogate has no UTF-8 form (RFC 8259 8.2,
            // RFC 7493 2.1): json-glib would emit invalid UTF-8 or drop the
            // next character, and the relay would then fail the receiver's
            // connection (RFC 6455 8.1).
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return false;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t low;
                if (end - p < 2 || p[0] != '\\' || p[1] != 'u')
                    return false;
                p += 2;
                if (!hex4(p, end, low) || low < 0xDC00 || low > 0xDFFF)
                    return false;
            }
        } else if (e == '\0' || !strchr("\"\\/bfnrt", e)) {
            return false;
        }
    }
    return false;
}

// RFC 8259 syntax, checked before json-glib builds a tree: json-glib 1.6
// accepts more than JSON (several root values, single quotes, leading zeros,
// raw control characters in strings), and docs/protocol.md calls all of those
// bad-json. One pass, no allocation; nesting deeper than kMaxDepth counts as
// malformed too, so a hostile frame cannot exhaust the stack.
class StrictJson {
public:
    explicit StrictJson(std::string_view text)
        : p_(text.data())
        , end_(text.data() + text.size())
    {
    }
    bool valid()
    {
        ws();
        if (!value(0))
            return false;
        ws();
        return p_ == end_;
    }
    // Top-level members whose string value holds U+0000 (the last of each
    // name, as json-glib keeps), decoded in full: (name, value).
    const std::vector<std::pair<std::string, std::string>>& nulValues() const { return nulValues_; }
    // A top-level member name holds U+0000: json-glib would file its value
    // under the name cut short ("type\u0000x" as "type").
    bool nulInName() const { return nulInName_; }

private:
    static constexpr int kMaxDepth = 256;

    void ws()
    {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
            ++p_;
    }
    bool literal(const char* word)
    {
        size_t n = strlen(word);
        if (static_cast<size_t>(end_ - p_) < n || std::memcmp(p_, word, n) != 0)
            return false;
        p_ += n;
        return true;
    }
    bool digits()
    {
        const char* start = p_;
        while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
            ++p_;
        return p_ > start;
    }
    bool number()
    {
        if (p_ < end_ && *p_ == '-')
            ++p_;
        if (p_ < end_ && *p_ == '0')
            ++p_;
        else if (!digits())
            return false;
        if (p_ < end_ && *p_ == '.') {
            ++p_;
            if (!digits())
                return false;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            ++p_;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-'))
                ++p_;
            if (!digits())
                return false;
        }
        return true;
    }
    // A string at p_; hasNul tells whether it holds an escaped U+0000.
    bool string(bool& hasNul)
    {
        JsonStringScan scan;
        bool ok = scanJsonString(p_, end_, scan);
        hasNul = scan.hasNul;
        return ok;
    }
    bool string()
    {
        bool hasNul;
        return string(hasNul);
    }
    // A member of the top-level object: key at p_, then ':' and its value.
    bool rootMember()
    {
        const char* keyStart = p_ + 1;
        bool keyNul;
        if (!string(keyNul))
            return false;
        const char* keyEnd = p_ - 1;
        nulInName_ |= keyNul;
        ws();
        if (p_ >= end_ || *p_++ != ':')
            return false;
        ws();
        if (p_ < end_ && *p_ == '"') {
            const char* valueStart = p_ + 1;
            bool valueNul;
            if (!string(valueNul))
                return false;
            // Rare: allocate only when a value holds U+0000, or when one did
            // before and this may be a later member of the same name.
            if (valueNul || !nulValues_.empty()) {
                std::string key = decodeJsonString(keyStart, keyEnd);
                std::erase_if(nulValues_, [&](const auto& kv) { return kv.first == key; });
                if (valueNul)
                    nulValues_.emplace_back(std::move(key), decodeJsonString(valueStart, p_ - 1));
            }
            return true;
        }
        if (!nulValues_.empty()) {
            std::string key = decodeJsonString(keyStart, keyEnd);
            std::erase_if(nulValues_, [&](const auto& kv) { return kv.first == key; });
        }
        return value(1);
    }
    bool value(int depth)
    {
        if (p_ >= end_ || depth > kMaxDepth)
            return false;
        switch (*p_) {
        case '{':
            ++p_;
            ws();
            if (p_ < end_ && *p_ == '}') {
                ++p_;
                return true;
            }
            for (;;) {
                ws();
                if (p_ >= end_ || *p_ != '"')
                    return false;
                if (depth == 0) {
                    if (!rootMember())
                        return false;
                } else {
                    if (!string())
                        return false;
                    ws();
                    if (p_ >= end_ || *p_++ != ':')
                        return false;
                    ws();
                    if (!value(depth + 1))
                        return false;
                }
                ws();
                if (p_ >= end_)
                    return false;
                if (*p_ == '}') {
                    ++p_;
                    return true;
                }
                if (*p_++ != ',')
                    return false;
            }
        case '[':
            ++p_;
            ws();
            if (p_ < end_ && *p_ == ']') {
                ++p_;
                return true;
            }
            for (;;) {
                ws();
                if (!value(depth + 1))
                    return false;
                ws();
                if (p_ >= end_)
                    return false;
                if (*p_ == ']') {
                    ++p_;
                    return true;
                }
                if (*p_++ != ',')
                    return false;
            }
        case '"':
            return string();
        case 't':
            return literal("true");
        case 'f':
            return literal("false");
        case 'n':
            return literal("null");
        default:
            return number();
        }
    }

    const char* p_;
    const char* end_;
    std::vector<std::pair<std::string, std::string>> nulValues_;
    bool nulInName_ = false;
};

JsonNode* member(JsonObject* object, const char* name)
{
    JsonNode* node = json_object_get_member(object, name);
    // "An optional member that is null counts as absent"; a required one
    // that is null is missing.
    if (node && JSON_NODE_HOLDS_NULL(node))
        return nullptr;
    return node;
}

bool isString(JsonNode* node)
{
    return JSON_NODE_HOLDS_VALUE(node) && json_node_get_value_type(node) == G_TYPE_STRING;
}

// A string node's full value, U+0000 included (see ThreadParser).
std::string stringOf(JsonNode* node)
{
    for (const auto& [n, full] : threadParser().fullStrings) {
        if (n == node)
            return full;
    }
    return json_node_get_string(node);
}

std::optional<std::string> optionalString(JsonObject* object, const char* name)
{
    JsonNode* node = member(object, name);
    if (!node)
        return std::nullopt;
    if (!isString(node))
        throw Reject { ErrorCode::BadMessage, std::string("member '") + name + "' must be a string" };
    return stringOf(node);
}

std::string requiredString(JsonObject* object, const char* name)
{
    JsonNode* node = member(object, name);
    if (!node)
        throw Reject { ErrorCode::BadMessage, std::string("member '") + name + "' is missing" };
    if (!isString(node))
        throw Reject { ErrorCode::BadMessage, std::string("member '") + name + "' must be a string" };
    return stringOf(node);
}

std::string requiredId(JsonObject* object, const char* name)
{
    std::string id = requiredString(object, name);
    if (!isValidId(id))
        throw Reject { ErrorCode::BadMessage,
            std::string("member '") + name + "' must be 1 to 64 characters of A-Z a-z 0-9 . _ -" };
    return id;
}

std::optional<std::string> optionalId(JsonObject* object, const char* name)
{
    auto id = optionalString(object, name);
    if (id && !isValidId(*id))
        throw Reject { ErrorCode::BadMessage,
            std::string("member '") + name + "' must be 1 to 64 characters of A-Z a-z 0-9 . _ -" };
    return id;
}

int64_t requiredIndex(JsonObject* object, const char* name)
{
    JsonNode* node = member(object, name);
    if (!node)
        throw Reject { ErrorCode::BadMessage, std::string("member '") + name + "' is missing" };
    if (JSON_NODE_HOLDS_VALUE(node)) {
        GType type = json_node_get_value_type(node);
        if (type == G_TYPE_INT64) {
            int64_t v = json_node_get_int(node);
            if (v >= 0)
                return v;
        } else if (type == G_TYPE_DOUBLE) {
            // 1.0 is the integer 1 in JavaScript's eyes; 1.5 is not an index.
            double v = json_node_get_double(node);
            if (v >= 0 && v <= 9007199254740992.0 && std::floor(v) == v)
                return static_cast<int64_t>(v);
        }
    }
    throw Reject { ErrorCode::BadMessage, std::string("member '") + name + "' must be an integer >= 0" };
}

std::vector<std::string> stringArray(JsonObject* object, const char* name, bool required)
{
    JsonNode* node = member(object, name);
    std::vector<std::string> out;
    if (!node) {
        if (required)
            throw Reject { ErrorCode::BadMessage, std::string("member '") + name + "' is missing" };
        return out;
    }
    if (!JSON_NODE_HOLDS_ARRAY(node))
        throw Reject { ErrorCode::BadMessage, std::string("member '") + name + "' must be an array" };
    JsonArray* array = json_node_get_array(node);
    guint n = json_array_get_length(array);
    out.reserve(n);
    for (guint i = 0; i < n; ++i) {
        JsonNode* item = json_array_get_element(array, i);
        if (!isString(item))
            throw Reject { ErrorCode::BadMessage, std::string("member '") + name + "' must hold strings" };
        out.emplace_back(json_node_get_string(item));
    }
    return out;
}

// Parses `text` into an object and its `type`, or throws bad-json /
// bad-message (without ref) as "Fine points" says.
JsonObject* parseEnvelope(std::string_view text, std::string& type)
{
    StrictJson strict(text);
    if (!strict.valid())
        throw Reject { ErrorCode::BadJson, "the frame is not valid JSON" };
    ThreadParser& state = threadParser();
    state.fullStrings.clear();
    JsonParser* parser = state.parser.get();
    GUnique<GError> error;
    if (!json_parser_load_from_data(parser, text.data(), static_cast<gssize>(text.size()), error.outPtr()))
        throw Reject { ErrorCode::BadJson, std::string("the frame is not valid JSON: ") + error->message };
    JsonNode* root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        throw Reject { ErrorCode::BadJson, "the frame is not a JSON object" };
    // Which member json-glib filed under a shortened name is unknowable, so
    // not even `type` can be trusted.
    if (strict.nulInName())
        throw Reject { ErrorCode::BadMessage, "member names must not contain U+0000" };
    JsonObject* object = json_node_get_object(root);
    for (const auto& [name, full] : strict.nulValues()) {
        if (JsonNode* node = json_object_get_member(object, name.c_str()))
            state.fullStrings.emplace_back(node, full);
    }
    JsonNode* typeNode = json_object_get_member(object, "type");
    if (!typeNode || !isString(typeNode))
        throw Reject { ErrorCode::BadMessage, "member 'type' is missing or not a string" };
    type = stringOf(typeNode);
    return object;
}

// "SDP and candidate strings never contain U+0000; a message with one may be
// refused with bad-message": refused, rather than relayed to a peer whose own
// JSON library may cut it short.
const std::string& withoutNul(const std::string& value, const char* name)
{
    if (value.find('\0') != std::string::npos)
        throw Reject { ErrorCode::BadMessage, std::string("member '") + name + "' must not contain U+0000" };
    return value;
}

const std::optional<std::string>& withoutNul(const std::optional<std::string>& value, const char* name)
{
    if (value)
        withoutNul(*value, name);
    return value;
}

// The usual client message, parsed in one pass without building a tree: a
// flat object whose members are strings, small integers, null or booleans.
// It only ever says "yes, this is it" for valid JSON of that shape, and then
// exactly what the general parser would say; everything else (nested values,
// escapes in names, fractions, exponents, long numbers) is left to the
// general parser. json-glib builds a tree of GObjects and hash tables for
// each frame, which was the largest share of palaver-server's own CPU time
// per relayed message.
class FlatObject {
public:
    enum class Kind { String, Integer, Null, Boolean };
    struct Member {
        std::string_view name;
        Kind kind;
        const char* begin; // String: between the quotes; Integer: the digits
        const char* end;
        bool escaped;      // String: holds a backslash escape
    };

    bool parse(std::string_view text)
    {
        p_ = text.data();
        end_ = p_ + text.size();
        ws();
        if (p_ >= end_ || *p_++ != '{')
            return false;
        ws();
        if (p_ < end_ && *p_ == '}')
            return false; // no type: the general parser says why
        for (;;) {
            if (count_ == kMaxMembers || p_ >= end_ || *p_ != '"')
                return false;
            Member& m = members_[count_++];
            const char* nameBegin = p_ + 1;
            bool escaped;
            if (!string(escaped) || escaped || p_ - 1 == nameBegin)
                return false;
            m.name = std::string_view(nameBegin, static_cast<size_t>(p_ - 1 - nameBegin));
            ws();
            if (p_ >= end_ || *p_++ != ':')
                return false;
            ws();
            if (!value(m))
                return false;
            ws();
            if (p_ >= end_)
                return false;
            char c = *p_++;
            if (c == '}')
                break;
            if (c != ',')
                return false;
            ws();
        }
        ws();
        if (p_ != end_)
            return false;
        // Strings are passed through as bytes: only valid UTF-8 may be.
        return ascii_ || g_utf8_validate_len(text.data(), text.size(), nullptr);
    }

    // The last member of that name, as json-glib keeps.
    const Member* find(std::string_view name) const
    {
        for (size_t i = count_; i-- > 0;) {
            if (members_[i].name == name)
                return &members_[i];
        }
        return nullptr;
    }

private:
    static constexpr size_t kMaxMembers = 16;
    static constexpr long kMaxDigits = 15;

    void ws()
    {
        while (p_ < end_ && (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r'))
            ++p_;
    }
    // A string at p_ (its opening quote), with StrictJson's rules.
    bool string(bool& escaped)
    {
        JsonStringScan scan;
        bool ok = scanJsonString(p_, end_, scan);
        escaped = scan.escaped;
        ascii_ = ascii_ && scan.ascii;
        return ok;
    }
    bool literal(std::string_view word)
    {
        if (static_cast<size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0)
            return false;
        p_ += word.size();
        return true;
    }
    bool value(Member& m)
    {
        if (p_ >= end_)
            return false;
        m.escaped = false;
        switch (*p_) {
        case '"':
            m.kind = Kind::String;
            m.begin = p_ + 1;
            if (!string(m.escaped))
                return false;
            m.end = p_ - 1;
            return true;
        case 'n':
            m.kind = Kind::Null;
            return literal("null");
        case 't':
            m.kind = Kind::Boolean;
            return literal("true");
        case 'f':
            m.kind = Kind::Boolean;
            return literal("false");
        default: {
            // An integer: -?(0|[1-9][0-9]*), short enough for any parser.
            m.kind = Kind::Integer;
            m.begin = p_;
            if (*p_ == '-')
                ++p_;
            const char* digits = p_;
            while (p_ < end_ && *p_ >= '0' && *p_ <= '9')
                ++p_;
            long n = p_ - digits;
            m.end = p_;
            if (n == 0 || n > kMaxDigits || (n > 1 && *digits == '0'))
                return false;
            return p_ >= end_ || (*p_ != '.' && *p_ != 'e' && *p_ != 'E');
        }
        }
    }

    const char* p_ = nullptr;
    const char* end_ = nullptr;
    std::array<Member, kMaxMembers> members_ {};
    size_t count_ = 0;
    bool ascii_ = true;
};

// The fields of a FlatObject the message types need. Each getter returns
// false where the general parser would refuse the message or read it
// differently, so that the caller hands the frame to it.
class FlatReader {
public:
    explicit FlatReader(const FlatObject& object)
        : object_(object)
    {
    }
    bool string(const char* name, bool required, std::optional<std::string>& out) const
    {
        const FlatObject::Member* m = object_.find(name);
        if (!m || m->kind == FlatObject::Kind::Null) {
            out.reset();
            return !required;
        }
        if (m->kind != FlatObject::Kind::String)
            return false;
        out = m->escaped ? decodeJsonString(m->begin, m->end) : std::string(m->begin, m->end);
        return true;
    }
    bool string(const char* name, std::string& out) const
    {
        std::optional<std::string> value;
        if (!string(name, true, value))
            return false;
        out = std::move(*value);
        return true;
    }
    bool id(const char* name, bool required, std::optional<std::string>& out) const
    {
        return string(name, required, out) && (!out || isValidId(*out));
    }
    bool index(const char* name, int64_t& out) const
    {
        const FlatObject::Member* m = object_.find(name);
        if (!m || m->kind != FlatObject::Kind::Integer || *m->begin == '-')
            return false;
        out = 0;
        for (const char* p = m->begin; p < m->end; ++p)
            out = out * 10 + (*p - '0');
        return true;
    }

private:
    const FlatObject& object_;
};

bool hasNul(const std::string& value)
{
    return value.find('\0') != std::string::npos;
}

bool hasNul(const std::optional<std::string>& value)
{
    return value && hasNul(*value);
}

} // namespace

const char* errorCodeName(ErrorCode code)
{
    return kErrorNames[static_cast<size_t>(code)];
}

std::optional<ErrorCode> errorCodeFromName(std::string_view name)
{
    for (size_t i = 0; i < kErrorNames.size(); ++i) {
        if (name == kErrorNames[i])
            return static_cast<ErrorCode>(i);
    }
    return std::nullopt;
}

bool isValidId(std::string_view id)
{
    if (id.empty() || id.size() > 64)
        return false;
    for (char c : id) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.'
            || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

const char* typeName(const ClientMessage& message)
{
    static constexpr const char* names[] = { "join", "leave", "send-offer", "send-answer", "ice-candidate", "ping" };
    return names[message.index()];
}

const char* typeName(const ServerMessage& message)
{
    static constexpr const char* names[] = { "joined", "peer-joined", "peer-left", "send-offer",
        "send-answer", "ice-candidate", "pong", "error" };
    return names[message.index()];
}

std::optional<ClientMessage> detail::parseFlatClientMessage(std::string_view text)
{
    FlatObject object;
    if (!object.parse(text))
        return std::nullopt;
    FlatReader read(object);
    std::string type;
    if (!read.string("type", type))
        return std::nullopt;
    if (type == "send-offer" || type == "send-answer") {
        std::string sdp;
        std::optional<std::string> to;
        if (!read.string("sdp", sdp) || hasNul(sdp) || !read.id("to", false, to))
            return std::nullopt;
        if (type == "send-offer")
            return SendOffer { std::move(sdp), std::move(to) };
        return SendAnswer { std::move(sdp), std::move(to) };
    }
    if (type == "ice-candidate") {
        SendCandidate c;
        if (!read.string("candidate", c.candidate) || hasNul(c.candidate) || !read.index("sdpMLineIndex", c.sdpMLineIndex)
            || !read.string("sdpMid", false, c.sdpMid) || hasNul(c.sdpMid) || !read.id("to", false, c.to))
            return std::nullopt;
        return c;
    }
    if (type == "join") {
        Join join;
        std::optional<std::string> room;
        if (!read.id("room", true, room) || !read.id("peer", false, join.peer) || !read.string("token", false, join.token))
            return std::nullopt;
        join.room = std::move(*room);
        return join;
    }
    if (type == "leave")
        return Leave {};
    if (type == "ping")
        return Ping {};
    return std::nullopt;
}

Parsed<ClientMessage> parseClientMessage(std::string_view text)
{
    if (auto message = detail::parseFlatClientMessage(text))
        return { std::move(*message) };
    return detail::parseClientMessageInGeneral(text);
}

Parsed<ClientMessage> detail::parseClientMessageInGeneral(std::string_view text)
{
    std::string type;
    try {
        JsonObject* object = parseEnvelope(text, type);
        try {
            if (type == "join") {
                Join join;
                join.room = requiredId(object, "room");
                join.peer = optionalId(object, "peer");
                join.token = optionalString(object, "token");
                return { std::move(join) };
            }
            if (type == "leave")
                return { Leave {} };
            if (type == "send-offer" || type == "send-answer") {
                std::string sdp = requiredString(object, "sdp");
                withoutNul(sdp, "sdp");
                auto to = optionalId(object, "to");
                if (type == "send-offer")
                    return { SendOffer { std::move(sdp), std::move(to) } };
                return { SendAnswer { std::move(sdp), std::move(to) } };
            }
            if (type == "ice-candidate") {
                SendCandidate c;
                c.candidate = withoutNul(requiredString(object, "candidate"), "candidate");
                c.sdpMLineIndex = requiredIndex(object, "sdpMLineIndex");
                c.sdpMid = withoutNul(optionalString(object, "sdpMid"), "sdpMid");
                c.to = optionalId(object, "to");
                return { std::move(c) };
            }
            if (type == "ping")
                return { Ping {} };
        } catch (Reject& r) {
            return { ParseError { r.code, std::move(r.message), type } };
        }
        return { ParseError { ErrorCode::UnknownType, "unknown message type '" + type + "'", type } };
    } catch (Reject& r) {
        return { ParseError { r.code, std::move(r.message), std::nullopt } };
    }
}

Parsed<ServerMessage> parseServerMessage(std::string_view text)
{
    std::string type;
    try {
        JsonObject* object = parseEnvelope(text, type);
        try {
            if (type == "joined") {
                Joined j;
                j.room = requiredId(object, "room");
                j.peer = requiredId(object, "peer");
                j.peers = stringArray(object, "peers", true);
                JsonNode* servers = member(object, "iceServers");
                if (servers) {
                    if (!JSON_NODE_HOLDS_ARRAY(servers))
                        throw Reject { ErrorCode::BadMessage, "member 'iceServers' must be an array" };
                    JsonArray* array = json_node_get_array(servers);
                    for (guint i = 0; i < json_array_get_length(array); ++i) {
                        JsonNode* item = json_array_get_element(array, i);
                        if (!JSON_NODE_HOLDS_OBJECT(item))
                            throw Reject { ErrorCode::BadMessage, "iceServers entries must be objects" };
                        JsonObject* entry = json_node_get_object(item);
                        IceServer server;
                        JsonNode* urls = member(entry, "urls");
                        // RTCIceServer allows a single string as well as an array.
                        if (urls && isString(urls))
                            server.urls.emplace_back(json_node_get_string(urls));
                        else
                            server.urls = stringArray(entry, "urls", true);
                        server.username = optionalString(entry, "username");
                        server.credential = optionalString(entry, "credential");
                        j.iceServers.push_back(std::move(server));
                    }
                }
                return { std::move(j) };
            }
            if (type == "peer-joined")
                return { PeerJoined { requiredId(object, "peer") } };
            if (type == "peer-left")
                return { PeerLeft { requiredId(object, "peer") } };
            if (type == "send-offer" || type == "send-answer") {
                std::string from = requiredId(object, "from");
                std::string sdp = requiredString(object, "sdp");
                if (type == "send-offer")
                    return { RelayedOffer { std::move(from), std::move(sdp) } };
                return { RelayedAnswer { std::move(from), std::move(sdp) } };
            }
            if (type == "ice-candidate") {
                RelayedCandidate c;
                c.from = requiredId(object, "from");
                c.candidate = requiredString(object, "candidate");
                c.sdpMLineIndex = requiredIndex(object, "sdpMLineIndex");
                c.sdpMid = optionalString(object, "sdpMid");
                return { std::move(c) };
            }
            if (type == "pong")
                return { Pong {} };
            if (type == "error") {
                Error e;
                std::string code = requiredString(object, "code");
                auto parsed = errorCodeFromName(code);
                if (!parsed)
                    throw Reject { ErrorCode::BadMessage, "unknown error code '" + code + "'" };
                e.code = *parsed;
                e.message = optionalString(object, "message").value_or("");
                e.ref = optionalString(object, "ref");
                return { std::move(e) };
            }
        } catch (Reject& r) {
            return { ParseError { r.code, std::move(r.message), type } };
        }
        return { ParseError { ErrorCode::UnknownType, "unknown message type '" + type + "'", type } };
    } catch (Reject& r) {
        return { ParseError { r.code, std::move(r.message), std::nullopt } };
    }
}

void appendJsonString(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out.push_back('"');
    size_t start = 0;
    for (size_t i = 0; i < s.size(); ++i) {
        unsigned char c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        out.append(s.data() + start, i - start);
        switch (c) {
        case '"': out.append("\\\""); break;
        case '\\': out.append("\\\\"); break;
        case '\n': out.append("\\n"); break;
        case '\r': out.append("\\r"); break;
        case '\t': out.append("\\t"); break;
        case '\b': out.append("\\b"); break;
        case '\f': out.append("\\f"); break;
        default:
            out.append("\\u00");
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 0xf]);
        }
        start = i + 1;
    }
    out.append(s.data() + start, s.size() - start);
    out.push_back('"');
}

namespace {

// Small writer for the fixed shapes below: {"type":"...",...}.
class ObjectWriter {
public:
    explicit ObjectWriter(const char* type, size_t reserve = 64)
    {
        out_.reserve(reserve);
        out_.append("{\"type\":\"").append(type).push_back('"');
    }
    ObjectWriter& str(const char* key, std::string_view value)
    {
        keyOf(key);
        appendJsonString(out_, value);
        return *this;
    }
    ObjectWriter& optStr(const char* key, const std::optional<std::string>& value)
    {
        if (value)
            str(key, *value);
        return *this;
    }
    ObjectWriter& integer(const char* key, int64_t value)
    {
        keyOf(key);
        out_.append(std::to_string(value));
        return *this;
    }
    ObjectWriter& strings(const char* key, const std::vector<std::string>& values)
    {
        keyOf(key);
        appendStrings(out_, values);
        return *this;
    }
    ObjectWriter& raw(const char* key, std::string_view json)
    {
        keyOf(key);
        out_.append(json);
        return *this;
    }
    std::string finish()
    {
        out_.push_back('}');
        return std::move(out_);
    }

    static void appendStrings(std::string& out, const std::vector<std::string>& values)
    {
        out.push_back('[');
        for (size_t i = 0; i < values.size(); ++i) {
            if (i)
                out.push_back(',');
            appendJsonString(out, values[i]);
        }
        out.push_back(']');
    }

private:
    void keyOf(const char* key)
    {
        out_.append(",\"").append(key).append("\":");
    }
    std::string out_;
};

std::string iceServersJson(const std::vector<IceServer>& servers)
{
    std::string out = "[";
    for (size_t i = 0; i < servers.size(); ++i) {
        const IceServer& s = servers[i];
        if (i)
            out.push_back(',');
        out.append("{\"urls\":");
        ObjectWriter::appendStrings(out, s.urls);
        if (s.username) {
            out.append(",\"username\":");
            appendJsonString(out, *s.username);
        }
        if (s.credential) {
            out.append(",\"credential\":");
            appendJsonString(out, *s.credential);
        }
        out.push_back('}');
    }
    out.push_back(']');
    return out;
}

template<class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
template<class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

} // namespace

std::string serialize(const ClientMessage& message)
{
    return std::visit(Overloaded {
                          [](const Join& m) {
                              return ObjectWriter("join").str("room", m.room).optStr("peer", m.peer).optStr("token", m.token).finish();
                          },
                          [](const Leave&) { return ObjectWriter("leave").finish(); },
                          [](const SendOffer& m) {
                              return ObjectWriter("send-offer", m.sdp.size() + 64).optStr("to", m.to).str("sdp", m.sdp).finish();
                          },
                          [](const SendAnswer& m) {
                              return ObjectWriter("send-answer", m.sdp.size() + 64).optStr("to", m.to).str("sdp", m.sdp).finish();
                          },
                          [](const SendCandidate& m) {
                              return ObjectWriter("ice-candidate", m.candidate.size() + 96)
                                  .optStr("to", m.to)
                                  .str("candidate", m.candidate)
                                  .integer("sdpMLineIndex", m.sdpMLineIndex)
                                  .optStr("sdpMid", m.sdpMid)
                                  .finish();
                          },
                          [](const Ping&) { return ObjectWriter("ping").finish(); },
                      },
        message);
}

std::string serialize(const ServerMessage& message)
{
    return std::visit(Overloaded {
                          [](const Joined& m) {
                              return ObjectWriter("joined", 128)
                                  .str("room", m.room)
                                  .str("peer", m.peer)
                                  .strings("peers", m.peers)
                                  .raw("iceServers", iceServersJson(m.iceServers))
                                  .finish();
                          },
                          [](const PeerJoined& m) { return ObjectWriter("peer-joined").str("peer", m.peer).finish(); },
                          [](const PeerLeft& m) { return ObjectWriter("peer-left").str("peer", m.peer).finish(); },
                          [](const RelayedOffer& m) {
                              return ObjectWriter("send-offer", m.sdp.size() + 64).str("from", m.from).str("sdp", m.sdp).finish();
                          },
                          [](const RelayedAnswer& m) {
                              return ObjectWriter("send-answer", m.sdp.size() + 64).str("from", m.from).str("sdp", m.sdp).finish();
                          },
                          [](const RelayedCandidate& m) {
                              return ObjectWriter("ice-candidate", m.candidate.size() + 96)
                                  .str("from", m.from)
                                  .str("candidate", m.candidate)
                                  .integer("sdpMLineIndex", m.sdpMLineIndex)
                                  .optStr("sdpMid", m.sdpMid)
                                  .finish();
                          },
                          [](const Pong&) { return ObjectWriter("pong").finish(); },
                          [](const Error& m) {
                              return ObjectWriter("error", 96 + m.message.size())
                                  .str("code", errorCodeName(m.code))
                                  .str("message", m.message)
                                  .optStr("ref", m.ref)
                                  .finish();
                          },
                      },
        message);
}

std::optional<std::string> dataMessageType(std::string_view text)
{
    std::string type;
    try {
        parseEnvelope(text, type);
        return type;
    } catch (Reject&) {
        return std::nullopt;
    }
}

std::optional<ChatMessage> parseChatMessage(std::string_view text)
{
    std::string type;
    try {
        JsonObject* object = parseEnvelope(text, type);
        if (type != "chat")
            return std::nullopt;
        return ChatMessage { requiredString(object, "text") };
    } catch (Reject&) {
        return std::nullopt;
    }
}

std::string serialize(const ChatMessage& message)
{
    return ObjectWriter("chat", message.text.size() + 32).str("text", message.text).finish();
}

} // namespace palaver::protocol
