// CURVE on the Majordomo programs: mdbroker --curve-secret/--curve-clients, mdworker and mdclient
// --curve-secret/--curve-server, with the pyzmq-made certificates of tests/security/certs.
#include <doctest/doctest.h>

#include "support/net.hpp"
#include "support/process.hpp"
#include "tcp_relay.hpp"

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
        path = fs::temp_directory_path() / fmt::format("pirates-curve-{}-{}", ::getpid(), n++);
        fs::remove_all(path);
        fs::create_directories(path);
        for (const char* name : names) fs::copy_file(cert(name), path / name);
    }
    ~KeyFolder() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::vector<std::string> broker_args(const KeyFolder& keys) {
    return {"--bind",         "tcp://127.0.0.1:*",       "--heartbeat-ms",  "50",
            "--curve-secret", cert("server.key_secret"), "--curve-clients", keys.path.string()};
}

std::vector<std::string> peer_args(std::vector<std::string> args, const std::string& own,
                                   const std::string& server) {
    args.insert(args.end(), {"--curve-secret", cert(own), "--curve-server", cert(server)});
    return args;
}

std::vector<std::string> client_args(const std::string& ep, int requests = 2) {
    return {"--connect",    ep,     "--service", "echo", "--requests", std::to_string(requests),
            "--timeout-ms", "1500", "--retries", "1"};
}

std::vector<std::string> worker_args(const std::string& ep) {
    return {"--connect", ep, "--service", "echo", "--heartbeat-ms", "50"};
}

// Runs mdclient with `args` and returns its exit code.
std::optional<int> run_client(std::vector<std::string> args) {
    Process client("mdclient", std::move(args));
    return client.wait_exit(Duration{10000});
}

}  // namespace

TEST_CASE(
    "mdbroker with CURVE: admitted client served, unknown key, plaintext and wrong server key get nothing") {
    KeyFolder keys{"client.key", "worker.key"};
    Process broker("mdbroker", broker_args(keys));
    const std::string ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    Process worker("mdworker", peer_args(worker_args(ep), "worker.key_secret", "server.key"));

    CHECK(run_client(peer_args(client_args(ep), "client.key_secret", "server.key")) == 0);
    CHECK(run_client(peer_args(client_args(ep), "stranger.key_secret", "server.key")) == 1);
    CHECK(run_client(client_args(ep)) == 1);  // plaintext
    CHECK(run_client(peer_args(client_args(ep), "client.key_secret", "stranger.key")) ==
          1);  // wrong server key
    CHECK(run_client(peer_args(client_args(ep), "client.key_secret", "server.key")) == 0);  // still serving
    CHECK(broker.wait_for("ZAP: denied"));
    CHECK(broker.running());
}

TEST_CASE("mdbroker with CURVE: a worker with an unknown key cannot register for a service") {
    KeyFolder keys{"client.key"};
    Process broker("mdbroker", broker_args(keys));
    const std::string ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    Process intruder("mdworker", peer_args(worker_args(ep), "stranger.key_secret", "server.key"));
    CHECK(broker.wait_for("ZAP: denied"));
    CHECK(run_client(peer_args(client_args(ep, 1), "client.key_secret", "server.key")) == 1);
    CHECK(intruder.output().find("request") == std::string::npos);
    // The same worker with an admitted key (the folder gains it) serves.
    fs::copy_file(cert("worker.key"), keys.path / "worker.key");
    Process worker("mdworker", peer_args(worker_args(ep), "worker.key_secret", "server.key"));
    CHECK(run_client(peer_args(client_args(ep, 1), "client.key_secret", "server.key")) == 0);
}

TEST_CASE("mdbroker with CURVE: a key removed from the folder is refused from then on") {
    KeyFolder keys{"client.key", "worker.key"};
    Process broker("mdbroker", broker_args(keys));
    const std::string ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    Process worker("mdworker", peer_args(worker_args(ep), "worker.key_secret", "server.key"));
    CHECK(run_client(peer_args(client_args(ep), "client.key_secret", "server.key")) == 0);
    fs::remove(keys.path / "client.key");
    CHECK(run_client(peer_args(client_args(ep), "client.key_secret", "server.key")) == 1);
    // The worker, admitted at its handshake, keeps serving others.
    fs::copy_file(cert("stranger.key"), keys.path / "stranger.key");
    CHECK(run_client(peer_args(client_args(ep), "stranger.key_secret", "server.key")) == 0);
}

TEST_CASE("wire capture: with CURVE no request body crosses in the clear (and without it, it does)") {
    for (bool curve : {false, true}) {
        CAPTURE(curve);
        KeyFolder keys{"client.key", "worker.key"};
        std::vector<std::string> args{"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "50"};
        if (curve) args = broker_args(keys);
        Process broker("mdbroker", args);
        const std::string ep = broker.bound_endpoint("broker");
        REQUIRE(!ep.empty());
        TcpRelay to_broker(port_of(ep));  // the worker's and the client's bytes, both ways
        auto peer = [&](std::vector<std::string> a, const char* own) {
            return curve ? peer_args(std::move(a), own, "server.key") : a;
        };
        Process worker("mdworker", peer(worker_args(to_broker.endpoint()), "worker.key_secret"));
        CHECK(run_client(peer(client_args(to_broker.endpoint()), "client.key_secret")) == 0);
        const std::string wire = to_broker.captured();
        CHECK(wire.size() > 200);
        CHECK((wire.find("request 1 from") != std::string::npos) == !curve);
        CHECK((wire.find("MDPC01") != std::string::npos) == !curve);
        CHECK((wire.find("echo") != std::string::npos) == !curve);
        CHECK((wire.find("CURVE") != std::string::npos) == curve);  // the ZMTP greeting names the mechanism
    }
}

TEST_CASE("curve flags on the programs: usage errors exit 2") {
    Process secret_only("mdbroker",
                        {"--bind", "tcp://127.0.0.1:*", "--curve-secret", cert("server.key_secret")});
    CHECK(secret_only.wait_exit() == 2);
    CHECK(secret_only.wait_for("--curve-clients"));  // (the output is read by a thread: wait for it)
    Process public_only("mdbroker", {"--bind", "tcp://127.0.0.1:*", "--curve-secret", cert("server.key"),
                                     "--curve-allow-any"});
    CHECK(public_only.wait_exit() == 2);
    Process half("mdclient", {"--connect", "tcp://127.0.0.1:1", "--service", "echo", "--curve-secret",
                              cert("client.key_secret")});
    CHECK(half.wait_exit() == 2);
    Process missing("mdworker", {"--connect", "tcp://127.0.0.1:1", "--service", "echo", "--curve-secret",
                                 cert("nobody.key_secret"), "--curve-server", cert("server.key")});
    CHECK(missing.wait_exit() == 2);
}

TEST_CASE("mdbroker --curve-allow-any: any key is served, encrypted, with a warning at start") {
    Process broker("mdbroker", {"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "50", "--curve-secret",
                                cert("server.key_secret"), "--curve-allow-any"});
    const std::string ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    CHECK(broker.wait_for("without client authentication"));
    Process worker("mdworker", peer_args(worker_args(ep), "stranger.key_secret", "server.key"));
    CHECK(run_client(peer_args(client_args(ep), "peer.key_secret", "server.key")) == 0);
    CHECK(run_client(client_args(ep)) == 1);  // plaintext still refused
}
