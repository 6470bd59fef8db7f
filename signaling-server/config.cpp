#include "config.h"

#include "gref.h"

#include <glib.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <map>

namespace palaver::server {

namespace {

// Raw values by option name as given; a repeatable option keeps them all.
using RawOptions = std::map<std::string, std::vector<std::string>>;

struct OptionSpec {
    const char* name;
    const char* argDescription;
    const char* help;
    bool repeatable;
};

constexpr OptionSpec kOptions[] = {
    { "host", "ADDR", "Address to listen on (default 127.0.0.1)", false },
    { "port", "N", "TCP port; 0 picks a free one (default 8080)", false },
    { "max-frame-size", "BYTES", "Largest accepted frame; 0: no limit (default 65536)", false },
    { "max-room-peers", "N", "Peers in a room (default 16)", false },
    { "rate", "N", "Messages per second per connection; 0: no limit (default 50)", false },
    { "burst", "N", "Bucket size of that limit (default 200)", false },
    { "join-timeout", "SECONDS", "Time to join after connecting; 0: none (default 30)", false },
    { "keepalive", "SECONDS", "WebSocket ping interval to find dead peers; 0: off (default 20)", false },
    { "auth-secret", "SECRET", "Require HS256 tokens signed with it", false },
    { "stun", "URI", "A STUN server for iceServers (repeatable)", true },
    { "turn", "URI", "A TURN server for iceServers (repeatable)", true },
    { "turn-secret", "SECRET", "Shared secret for TURN REST credentials", false },
    { "turn-ttl", "SECONDS", "Lifetime of those credentials (default 86400)", false },
    { "tls-cert", "FILE", "PEM certificate: serve https:// and wss://", false },
    { "tls-key", "FILE", "PEM private key of that certificate", false },
    { "web-root", "DIR", "Serve the browser client at / from this folder instead of the compiled-in copy", false },
    { "workers", "N", "Worker threads, each with its own main loop (default: one per CPU)", false },
};

const OptionSpec* findSpec(std::string_view name)
{
    for (const auto& spec : kOptions) {
        if (name == spec.name)
            return &spec;
    }
    return nullptr;
}

gboolean collectOption(const char* optionName, const char* value, gpointer data, GError** error)
{
    auto* raw = static_cast<RawOptions*>(data);
    std::string name = optionName;
    if (name.rfind("--", 0) == 0)
        name.erase(0, 2);
    const OptionSpec* spec = findSpec(name);
    auto& values = (*raw)[name];
    if (spec && !spec->repeatable)
        values.clear(); // the last one given wins, as with ordinary options
    values.emplace_back(value);
    return TRUE;
}

bool loadKeyFile(const std::string& path, RawOptions& raw, std::string& error)
{
    GRef<GKeyFile> file = adopt(g_key_file_new());
    // Lists are separated by ';' as GKeyFile does: stun=stun:a:3478;stun:b:3478
    GUnique<GError> gerror;
    if (!g_key_file_load_from_file(file.get(), path.c_str(), G_KEY_FILE_NONE, gerror.outPtr())) {
        error = "cannot read the config file " + path + ": " + gerror->message;
        return false;
    }
    gsize ngroups = 0;
    GUnique<char*> groups(g_key_file_get_groups(file.get(), &ngroups));
    for (gsize g = 0; g < ngroups; ++g) {
        if (g_strcmp0(groups.get()[g], "server") != 0)
            g_printerr("palaver-server: warning: %s: ignoring group [%s] (only [server] is read)\n", path.c_str(), groups.get()[g]);
    }
    if (!g_key_file_has_group(file.get(), "server"))
        return true;
    gsize nkeys = 0;
    GUnique<char*> keys(g_key_file_get_keys(file.get(), "server", &nkeys, nullptr));
    for (gsize k = 0; k < nkeys; ++k) {
        const char* key = keys.get()[k];
        const OptionSpec* spec = findSpec(key);
        if (!spec) {
            g_printerr("palaver-server: warning: %s: unknown key '%s' in [server] ignored\n", path.c_str(), key);
            continue;
        }
        std::vector<std::string> values;
        if (spec->repeatable) {
            gsize n = 0;
            GUnique<char*> list(g_key_file_get_string_list(file.get(), "server", key, &n, gerror.outPtr()));
            if (!list) {
                error = path + ": key '" + key + "': " + gerror->message;
                return false;
            }
            for (gsize i = 0; i < n; ++i) {
                if (*list.get()[i])
                    values.emplace_back(list.get()[i]);
            }
        } else {
            GUnique<char> value(g_key_file_get_string(file.get(), "server", key, gerror.outPtr()));
            if (!value) {
                error = path + ": key '" + key + "': " + gerror->message;
                return false;
            }
            values.emplace_back(value.get());
        }
        raw[key] = std::move(values);
    }
    return true;
}

std::string trimmed(const std::string& s)
{
    size_t a = s.find_first_not_of(" \t");
    size_t b = s.find_last_not_of(" \t");
    return a == std::string::npos ? std::string() : s.substr(a, b - a + 1);
}

bool toInteger(const std::string& name, const std::string& text, int64_t min, int64_t max, int64_t& out, std::string& error)
{
    std::string t = trimmed(text);
    GUnique<GError> gerror;
    gint64 v = 0;
    if (!g_ascii_string_to_signed(t.c_str(), 10, min, max, &v, gerror.outPtr())) {
        error = "--" + name + ": '" + text + "' is not a whole number from " + std::to_string(min) + " to " + std::to_string(max);
        return false;
    }
    out = v;
    return true;
}

bool toSeconds(const std::string& name, const std::string& text, double& out, std::string& error)
{
    std::string t = trimmed(text);
    char* end = nullptr;
    errno = 0;
    double v = g_ascii_strtod(t.c_str(), &end);
    if (t.empty() || *end || errno || !std::isfinite(v) || v < 0 || v > 1e9) {
        error = "--" + name + ": '" + text + "' is not a number >= 0";
        return false;
    }
    out = v;
    return true;
}

bool hasScheme(const std::string& uri, std::initializer_list<const char*> schemes)
{
    return std::any_of(schemes.begin(), schemes.end(), [&](const char* s) {
        size_t n = strlen(s);
        return uri.size() > n && uri.compare(0, n, s) == 0;
    });
}

} // namespace

ConfigStatus parseConfig(int argc, char** argv, Config& config, std::string& error)
{
    RawOptions cli;
    char* configPath = nullptr;
    std::vector<GOptionEntry> entries;
    for (const auto& spec : kOptions) {
        entries.push_back({ spec.name, 0, 0, G_OPTION_ARG_CALLBACK, reinterpret_cast<gpointer>(collectOption),
            spec.help, spec.argDescription });
    }
    entries.push_back({ "config", 0, 0, G_OPTION_ARG_FILENAME, &configPath,
        "Key file with the same keys in group [server]; the command line wins", "FILE" });
    entries.push_back({ nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr });

    GUnique<GOptionContext> context(g_option_context_new("- Palaver signaling server"));
    g_option_context_set_summary(context.get(),
        "Routes the signaling messages of docs/protocol.md between the peers of each room.");
    GOptionGroup* group = g_option_group_new("server", "Server options", "Server options", &cli, nullptr);
    g_option_group_add_entries(group, entries.data());
    g_option_context_set_main_group(context.get(), group);
    GUnique<GError> gerror;
    if (!g_option_context_parse(context.get(), &argc, &argv, gerror.outPtr())) {
        error = gerror->message;
        g_free(configPath);
        return ConfigStatus::Error;
    }
    GUnique<char> configFile(configPath);
    if (argc > 1) {
        error = std::string("unexpected argument '") + argv[1] + "' (see --help)";
        return ConfigStatus::Error;
    }

    RawOptions merged;
    if (configFile && !loadKeyFile(configFile.get(), merged, error))
        return ConfigStatus::Error;
    for (auto& [name, values] : cli)
        merged[name] = values;

    auto single = [&](const char* name) -> const std::string* {
        auto it = merged.find(name);
        return it == merged.end() || it->second.empty() ? nullptr : &it->second.back();
    };
    int64_t n = 0;
    if (auto* v = single("host")) {
        config.host = trimmed(*v);
        if (config.host.empty()) {
            error = "--host: the address is empty";
            return ConfigStatus::Error;
        }
    }
    if (auto* v = single("port")) {
        if (!toInteger("port", *v, 0, 65535, n, error))
            return ConfigStatus::Error;
        config.port = static_cast<int>(n);
    }
    if (auto* v = single("max-frame-size")) {
        if (!toInteger("max-frame-size", *v, 0, INT64_MAX, n, error))
            return ConfigStatus::Error;
        config.maxFrameSize = static_cast<uint64_t>(n);
    }
    if (auto* v = single("max-room-peers")) {
        if (!toInteger("max-room-peers", *v, 1, 100000, n, error))
            return ConfigStatus::Error;
        config.maxRoomPeers = static_cast<int>(n);
    }
    if (auto* v = single("rate")) {
        if (!toSeconds("rate", *v, config.rate, error))
            return ConfigStatus::Error;
    }
    if (auto* v = single("burst")) {
        if (!toInteger("burst", *v, 1, 1000000000, n, error)) {
            error += " (a burst of 0 would refuse every message)";
            return ConfigStatus::Error;
        }
        config.burst = static_cast<int>(n);
    }
    if (auto* v = single("join-timeout")) {
        if (!toSeconds("join-timeout", *v, config.joinTimeout, error))
            return ConfigStatus::Error;
    }
    if (auto* v = single("keepalive")) {
        if (!toSeconds("keepalive", *v, config.keepalive, error))
            return ConfigStatus::Error;
    }
    if (auto* v = single("auth-secret")) {
        if (v->empty()) {
            error = "--auth-secret: the secret is empty";
            return ConfigStatus::Error;
        }
        config.authSecret = *v;
    }
    if (auto it = merged.find("stun"); it != merged.end()) {
        for (const auto& uri : it->second) {
            if (!hasScheme(uri, { "stun:", "stuns:" })) {
                error = "--stun: '" + uri + "' is not a stun: or stuns: URI";
                return ConfigStatus::Error;
            }
        }
        config.stun = it->second;
    }
    if (auto it = merged.find("turn"); it != merged.end()) {
        for (const auto& uri : it->second) {
            if (!hasScheme(uri, { "turn:", "turns:" })) {
                error = "--turn: '" + uri + "' is not a turn: or turns: URI";
                return ConfigStatus::Error;
            }
        }
        config.turn = it->second;
    }
    if (auto* v = single("turn-secret")) {
        if (v->empty()) {
            error = "--turn-secret: the secret is empty";
            return ConfigStatus::Error;
        }
        config.turnSecret = *v;
    }
    if (auto* v = single("turn-ttl")) {
        if (!toInteger("turn-ttl", *v, 1, 10LL * 365 * 86400, n, error))
            return ConfigStatus::Error;
        config.turnTtl = n;
    }
    if (auto* v = single("tls-cert"))
        config.tlsCert = *v;
    if (auto* v = single("tls-key"))
        config.tlsKey = *v;
    if (config.tlsCert.has_value() != config.tlsKey.has_value()) {
        error = "--tls-cert and --tls-key go together: give both or neither";
        return ConfigStatus::Error;
    }
    if (auto* v = single("web-root")) {
        if (!g_file_test(v->c_str(), G_FILE_TEST_IS_DIR)) {
            error = "--web-root: '" + *v + "' is not a folder";
            return ConfigStatus::Error;
        }
        config.webRoot = *v;
    }
    if (auto* v = single("workers")) {
        if (!toInteger("workers", *v, 0, 64, n, error))
            return ConfigStatus::Error;
        config.workers = static_cast<int>(n);
    }
    if (config.workers == 0)
        config.workers = std::clamp(static_cast<int>(g_get_num_processors()), 1, 8);
    return ConfigStatus::Ok;
}

} // namespace palaver::server
