// CURVE on the other pattern families' programs: a server (lpserver), a queue between clients and workers
// (spqueue + spworker), Freelance (flserver model 3 + flclient): admitted peers served, others not.
#include <doctest/doctest.h>

#include "support/process.hpp"

#include <unistd.h>
#include <filesystem>

using namespace pirates;
using namespace pirates::test;
namespace fs = std::filesystem;

namespace {

std::string cert(const std::string& name) {
    return (fs::path(PIRATES_CERTS_DIR) / name).string();
}

struct KeyFolder {
    fs::path path;
    explicit KeyFolder(std::initializer_list<const char*> names) {
        static int n = 0;
        path = fs::temp_directory_path() / fmt::format("pirates-curve-p-{}-{}", ::getpid(), n++);
        fs::remove_all(path);
        fs::create_directories(path);
        for (const char* name : names) fs::copy_file(cert(name), path / name);
    }
    ~KeyFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::vector<std::string> with(std::vector<std::string> args, std::vector<std::string> more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

std::vector<std::string> server_curve(const KeyFolder& keys) {
    return {"--curve-secret", cert("server.key_secret"), "--curve-clients", keys.path.string()};
}

std::vector<std::string> client_curve(const std::string& own) {
    return {"--curve-secret", cert(own), "--curve-server", cert("server.key")};
}

std::optional<int> run(const std::string& program, std::vector<std::string> args) {
    Process p(program, std::move(args));
    return p.wait_exit(Duration{10000});
}

}  // namespace

TEST_CASE("lpserver + lpclient with CURVE: admitted served, stranger and plaintext not") {
    KeyFolder keys{"client.key"};
    Process server("lpserver", with({"--bind", "tcp://127.0.0.1:*"}, server_curve(keys)));
    const std::string ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    const std::vector<std::string> base{"--connect",    ep,    "--requests", "2",
                                        "--timeout-ms", "300", "--retries",  "1"};
    CHECK(run("lpclient", with(base, client_curve("client.key_secret"))) == 0);
    CHECK(run("lpclient", with(base, client_curve("stranger.key_secret"))) == 1);
    CHECK(run("lpclient", base) == 1);
    CHECK(run("lpclient", with(base, client_curve("client.key_secret"))) == 0);
    CHECK(server.wait_for("ZAP: denied"));
}

TEST_CASE("spqueue with CURVE: an admitted worker serves admitted clients, an unknown worker gets no work") {
    KeyFolder keys{"client.key"};
    Process queue("spqueue", with({"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*"},
                                  server_curve(keys)));
    const std::string front = queue.bound_endpoint("frontend"), back = queue.bound_endpoint("backend");
    REQUIRE(!front.empty());
    REQUIRE(!back.empty());
    const std::vector<std::string> client{"--connect",    front, "--requests", "2",
                                          "--timeout-ms", "300", "--retries",  "1"};
    Process intruder("spworker", with({"--connect", back}, client_curve("stranger.key_secret")));
    CHECK(queue.wait_for("ZAP: denied"));
    CHECK(run("lpclient", with(client, client_curve("client.key_secret"))) == 1);  // no worker admitted
    fs::copy_file(cert("worker.key"), keys.path / "worker.key");
    Process worker("spworker", with({"--connect", back}, client_curve("worker.key_secret")));
    CHECK(run("lpclient", with(client, client_curve("client.key_secret"))) == 0);
    CHECK(run("lpclient", client) == 1);  // plaintext client
}

TEST_CASE("flserver + flclient (model 3) with CURVE: admitted served, stranger not") {
    KeyFolder keys{"client.key"};
    Process server("flserver", with({"--model", "3", "--bind", "tcp://127.0.0.1:*"}, server_curve(keys)));
    const std::string ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    const std::vector<std::string> base{"--model",    "3", "--connect",    ep,
                                        "--requests", "2", "--timeout-ms", "1500"};
    CHECK(run("flclient", with(base, client_curve("client.key_secret"))) == 0);
    CHECK(run("flclient", with(base, client_curve("stranger.key_secret"))) == 1);
    CHECK(server.wait_for("ZAP: denied"));
}
