// palaver-server's option parsing: defaults, every value rule, the config
// file, and the command line winning over it.
#include "config.h"

#include <glib.h>
#include <glib/gstdio.h>

#include <string>
#include <vector>

using namespace palaver::server;

namespace {

ConfigStatus parse(std::vector<std::string> args, Config& config, std::string& error)
{
    args.insert(args.begin(), "palaver-server");
    std::vector<char*> argv;
    for (auto& a : args)
        argv.push_back(a.data());
    argv.push_back(nullptr);
    return parseConfig(static_cast<int>(args.size()), argv.data(), config, error);
}

void testDefaults()
{
    Config c;
    std::string error;
    g_assert_true(parse({}, c, error) == ConfigStatus::Ok);
    g_assert_cmpstr(c.host.c_str(), ==, "127.0.0.1");
    g_assert_cmpint(c.port, ==, 8080);
    g_assert_cmpuint(c.maxFrameSize, ==, 65536);
    g_assert_cmpint(c.maxRoomPeers, ==, 16);
    g_assert_cmpfloat(c.rate, ==, 50);
    g_assert_cmpint(c.burst, ==, 200);
    g_assert_cmpfloat(c.joinTimeout, ==, 30);
    g_assert_cmpfloat(c.keepalive, ==, 20);
    g_assert_cmpint(c.turnTtl, ==, 86400);
    g_assert_false(c.authSecret.has_value());
    g_assert_true(c.stun.empty() && c.turn.empty());
    g_assert_cmpint(c.workers, >=, 1);
}

void testValues()
{
    Config c;
    std::string error;
    g_assert_true(parse({ "--host", "::1", "--port", "0", "--max-frame-size", "0", "--max-room-peers", "2", "--rate", "0",
                            "--burst", "1", "--join-timeout", "0.5", "--keepalive", "0.25", "--auth-secret", "x", "--stun",
                            "stun:a:3478", "--stun", "stun:b:3478", "--turn", "turn:t:3478", "--turn-secret", "y",
                            "--turn-ttl", "60", "--workers", "1" },
                      c, error)
        == ConfigStatus::Ok);
    g_assert_cmpstr(c.host.c_str(), ==, "::1");
    g_assert_cmpint(c.port, ==, 0);
    g_assert_cmpuint(c.maxFrameSize, ==, 0);
    g_assert_cmpint(c.maxRoomPeers, ==, 2);
    g_assert_cmpfloat(c.rate, ==, 0);
    g_assert_cmpfloat(c.joinTimeout, ==, 0.5);
    g_assert_cmpfloat(c.keepalive, ==, 0.25);
    g_assert_cmpuint(c.stun.size(), ==, 2);
    g_assert_cmpstr(c.turnSecret->c_str(), ==, "y");
    g_assert_cmpint(c.workers, ==, 1);
}

void testBadValues()
{
    const std::vector<std::vector<std::string>> bad = {
        { "--rate", "-1" },
        { "--rate", "fast" },
        { "--burst", "0" },
        { "--burst", "-5" },
        { "--port", "65536" },
        { "--port", "http" },
        { "--max-frame-size", "-1" },
        { "--max-room-peers", "0" },
        { "--join-timeout", "-1" },
        { "--keepalive", "nan" },
        { "--turn-ttl", "0" },
        { "--stun", "http://x" },
        { "--turn", "stun:x" },
        { "--tls-cert", "/nonexistent.pem" }, // without --tls-key
        { "--web-root", "/nonexistent/dir" },
        { "--config", "/nonexistent.conf" },
        { "--no-such-option" },
        { "stray-argument" },
    };
    for (const auto& args : bad) {
        Config c;
        std::string error;
        g_test_message("args: %s", args[0].c_str());
        g_assert_true(parse(args, c, error) == ConfigStatus::Error);
        g_assert_false(error.empty());
    }
}

void testConfigFile()
{
    char* dir = g_dir_make_tmp("palaver-config-XXXXXX", nullptr);
    std::string path = std::string(dir) + "/server.conf";
    const char* text = "[server]\n"
                       "port=9000\n"
                       "rate=5\n"
                       "stun=stun:a:3478;stun:b:3478\n"
                       "keepalive=1.5\n"
                       "bogus=1\n";
    g_assert_true(g_file_set_contents(path.c_str(), text, -1, nullptr));
    Config c;
    std::string error;
    // The command line wins over the file.
    g_assert_true(parse({ "--config", path, "--rate", "7" }, c, error) == ConfigStatus::Ok);
    g_assert_cmpint(c.port, ==, 9000);
    g_assert_cmpfloat(c.rate, ==, 7);
    g_assert_cmpfloat(c.keepalive, ==, 1.5);
    g_assert_cmpuint(c.stun.size(), ==, 2);
    g_assert_cmpstr(c.stun[1].c_str(), ==, "stun:b:3478");

    g_assert_true(g_file_set_contents(path.c_str(), "[server]\nburst=0\n", -1, nullptr));
    Config d;
    g_assert_true(parse({ "--config", path }, d, error) == ConfigStatus::Error);
    g_assert_true(g_file_set_contents(path.c_str(), "not a key file", -1, nullptr));
    Config e;
    g_assert_true(parse({ "--config", path }, e, error) == ConfigStatus::Error);
    g_remove(path.c_str());
    g_rmdir(dir);
    g_free(dir);
}

} // namespace

int main(int argc, char** argv)
{
    g_test_init(&argc, &argv, nullptr);
    g_test_add_func("/config/defaults", testDefaults);
    g_test_add_func("/config/values", testValues);
    g_test_add_func("/config/bad-values", testBadValues);
    g_test_add_func("/config/file", testConfigFile);
    return g_test_run();
}
