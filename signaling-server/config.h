// palaver-server's settings: docs/protocol.md's "Starting palaver-server" table,
// read from the command line (GOptionEntry) and `--config FILE` (GKeyFile,
// group [server]); the command line wins. Everything is validated here, so a
// bad value is refused before anything listens.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace palaver::server {

struct Config {
    std::string host = "127.0.0.1";
    int port = 8080;
    uint64_t maxFrameSize = 65536; // 0: no limit
    int maxRoomPeers = 16;
    double rate = 50;              // messages per second; 0: no limit
    int burst = 200;
    double joinTimeout = 30;       // seconds; 0: none
    double keepalive = 20;         // seconds; 0: off
    std::optional<std::string> authSecret;
    std::vector<std::string> stun;
    std::vector<std::string> turn;
    std::optional<std::string> turnSecret;
    int64_t turnTtl = 86400;
    std::optional<std::string> tlsCert;
    std::optional<std::string> tlsKey;
    std::string webRoot;           // empty: the compiled-in client
    int workers = 0;               // 0: one per CPU (at most 8)
};

enum class ConfigStatus {
    Ok,
    Help,  // --help printed; exit 0
    Error, // `error` says why; exit 2
};

// Fills `config` from argv (and the file named by --config). On Error the
// message in `error` is a sentence for the person at the terminal.
ConfigStatus parseConfig(int argc, char** argv, Config& config, std::string& error);

} // namespace palaver::server
