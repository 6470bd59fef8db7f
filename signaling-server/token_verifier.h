// HS256 JSON Web Tokens for `join` (docs/protocol.md "Tokens"), checked with
// GLib's GHmac and json-glib.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace palaver::server {

class TokenVerifier {
public:
    explicit TokenVerifier(std::string secret);

    struct Claims {
        std::string room;               // a room id or "*"
        std::optional<std::string> sub; // forces the peer id when present
        double exp = 0;
    };

    // The token's claims when its header says HS256, its signature matches
    // and `exp` is later than `nowSeconds`; otherwise nullopt and `why`
    // (for the log and the error message).
    std::optional<Claims> verify(std::string_view token, double nowSeconds, std::string& why) const;

    // Base64url without padding, as JWTs use. Exposed for tests.
    static std::optional<std::string> decodeBase64Url(std::string_view text);

private:
    std::string secret_;
};

} // namespace palaver::server
