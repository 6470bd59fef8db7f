// The `iceServers` of `joined`: one entry with every STUN URI, one with every
// TURN URI and, when a TURN secret is set, TURN REST credentials as coturn's
// `use-auth-secret` expects them.
#pragma once

#include "config.h"
#include "messages.h"

#include <vector>

namespace palaver::server {

class IceServerList {
public:
    explicit IceServerList(const Config& config);

    // Entries for `peerId`, with credentials valid until nowSeconds + ttl.
    std::vector<protocol::IceServer> forPeer(const std::string& peerId, int64_t nowSeconds) const;

    // username "<expiry>:<peer id>", credential base64(HMAC-SHA1(secret, username)).
    static protocol::IceServer turnCredentials(const std::vector<std::string>& urls, const std::string& secret,
        const std::string& peerId, int64_t expiry);

private:
    std::vector<std::string> stun_;
    std::vector<std::string> turn_;
    std::optional<std::string> turnSecret_;
    int64_t ttl_;
};

} // namespace palaver::server
