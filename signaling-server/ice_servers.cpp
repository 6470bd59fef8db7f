#include "ice_servers.h"

#include "gref.h"

namespace palaver::server {

IceServerList::IceServerList(const Config& config)
    : stun_(config.stun)
    , turn_(config.turn)
    , turnSecret_(config.turnSecret)
    , ttl_(config.turnTtl)
{
}

protocol::IceServer IceServerList::turnCredentials(const std::vector<std::string>& urls, const std::string& secret,
    const std::string& peerId, int64_t expiry)
{
    protocol::IceServer server;
    server.urls = urls;
    std::string username = std::to_string(expiry) + ":" + peerId;
    GRef<GHmac> hmac = adopt(g_hmac_new(G_CHECKSUM_SHA1, reinterpret_cast<const guchar*>(secret.data()), secret.size()));
    g_hmac_update(hmac.get(), reinterpret_cast<const guchar*>(username.data()), static_cast<gssize>(username.size()));
    guint8 digest[20];
    gsize len = sizeof digest;
    g_hmac_get_digest(hmac.get(), digest, &len);
    GUnique<char> b64(g_base64_encode(digest, len));
    server.username = std::move(username);
    server.credential = b64.get();
    return server;
}

std::vector<protocol::IceServer> IceServerList::forPeer(const std::string& peerId, int64_t nowSeconds) const
{
    std::vector<protocol::IceServer> out;
    if (!stun_.empty())
        out.push_back({ stun_, std::nullopt, std::nullopt });
    if (!turn_.empty()) {
        if (turnSecret_)
            out.push_back(turnCredentials(turn_, *turnSecret_, peerId, nowSeconds + ttl_));
        else
            out.push_back({ turn_, std::nullopt, std::nullopt });
    }
    return out;
}

} // namespace palaver::server
