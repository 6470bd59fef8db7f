#include "token_verifier.h"

#include "gref.h"

#include <json-glib/json-glib.h>

#include <cmath>

namespace palaver::server {

TokenVerifier::TokenVerifier(std::string secret)
    : secret_(std::move(secret))
{
}

std::optional<std::string> TokenVerifier::decodeBase64Url(std::string_view text)
{
    std::string b64;
    b64.reserve(text.size() + 3);
    for (char c : text) {
        if (c == '-')
            b64.push_back('+');
        else if (c == '_')
            b64.push_back('/');
        else if (g_ascii_isalnum(c))
            b64.push_back(c);
        else
            return std::nullopt; // g_base64_decode would skip junk silently
    }
    if (b64.size() % 4 == 1)
        return std::nullopt;
    while (b64.size() % 4)
        b64.push_back('=');
    gsize len = 0;
    GUnique<char> raw(reinterpret_cast<char*>(g_base64_decode(b64.c_str(), &len)));
    return std::string(raw.get() ? raw.get() : "", len);
}

namespace {

GRef<JsonParser> parseObject(const std::string& json)
{
    GRef<JsonParser> parser = adopt(json_parser_new());
    if (!json_parser_load_from_data(parser.get(), json.data(), static_cast<gssize>(json.size()), nullptr))
        return nullptr;
    JsonNode* root = json_parser_get_root(parser.get());
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        return nullptr;
    return parser;
}

const char* stringMember(JsonObject* object, const char* name)
{
    JsonNode* node = json_object_get_member(object, name);
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return nullptr;
    return json_node_get_string(node);
}

// Compares every byte whatever the first difference, so the time taken
// tells an attacker nothing about how much of a forged signature was right.
bool constantTimeEqual(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); ++i)
        diff |= static_cast<unsigned char>(a[i] ^ b[i]);
    return diff == 0;
}

} // namespace

std::optional<TokenVerifier::Claims> TokenVerifier::verify(std::string_view token, double nowSeconds, std::string& why) const
{
    size_t dot1 = token.find('.');
    size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
    if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
        why = "the token is not a JWT (header.payload.signature)";
        return std::nullopt;
    }
    std::string_view headerPart = token.substr(0, dot1);
    std::string_view payloadPart = token.substr(dot1 + 1, dot2 - dot1 - 1);
    std::string_view signaturePart = token.substr(dot2 + 1);

    auto header = decodeBase64Url(headerPart);
    auto payload = decodeBase64Url(payloadPart);
    auto signature = decodeBase64Url(signaturePart);
    if (!header || !payload || !signature) {
        why = "the token is not valid base64url";
        return std::nullopt;
    }
    GRef<JsonParser> headerJson = parseObject(*header);
    if (!headerJson) {
        why = "the token header is not a JSON object";
        return std::nullopt;
    }
    // Only HS256: "none" and every other algorithm are refused, so a token
    // cannot choose how it is checked.
    const char* alg = stringMember(json_node_get_object(json_parser_get_root(headerJson.get())), "alg");
    if (!alg || g_strcmp0(alg, "HS256") != 0) {
        why = "the token algorithm must be HS256";
        return std::nullopt;
    }

    GRef<GHmac> hmac = adopt(g_hmac_new(G_CHECKSUM_SHA256, reinterpret_cast<const guchar*>(secret_.data()), secret_.size()));
    g_hmac_update(hmac.get(), reinterpret_cast<const guchar*>(token.data()), static_cast<gssize>(dot2));
    guint8 digest[32];
    gsize digestLen = sizeof digest;
    g_hmac_get_digest(hmac.get(), digest, &digestLen);
    if (!constantTimeEqual(*signature, std::string_view(reinterpret_cast<const char*>(digest), digestLen))) {
        why = "the token signature does not match";
        return std::nullopt;
    }

    GRef<JsonParser> payloadJson = parseObject(*payload);
    if (!payloadJson) {
        why = "the token payload is not a JSON object";
        return std::nullopt;
    }
    JsonObject* claims = json_node_get_object(json_parser_get_root(payloadJson.get()));
    Claims out;
    JsonNode* exp = json_object_get_member(claims, "exp");
    if (!exp || !JSON_NODE_HOLDS_VALUE(exp)
        || (json_node_get_value_type(exp) != G_TYPE_INT64 && json_node_get_value_type(exp) != G_TYPE_DOUBLE)) {
        why = "the token has no numeric 'exp'";
        return std::nullopt;
    }
    out.exp = json_node_get_value_type(exp) == G_TYPE_INT64 ? static_cast<double>(json_node_get_int(exp)) : json_node_get_double(exp);
    if (!std::isfinite(out.exp) || !(out.exp > nowSeconds)) {
        why = "the token has expired";
        return std::nullopt;
    }
    const char* room = stringMember(claims, "room");
    if (!room) {
        why = "the token has no 'room' claim";
        return std::nullopt;
    }
    out.room = room;
    JsonNode* sub = json_object_get_member(claims, "sub");
    if (sub && !JSON_NODE_HOLDS_NULL(sub)) {
        const char* s = stringMember(claims, "sub");
        if (!s) {
            why = "the token's 'sub' is not a string";
            return std::nullopt;
        }
        out.sub = s;
    }
    return out;
}

} // namespace palaver::server
