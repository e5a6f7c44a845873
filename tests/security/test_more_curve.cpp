// CURVE on the remaining families' programs (issue 15's "Done when"): a queue (ppqueue + ppworker +
// lpclient), Titanic (titanic and ticlient through a CURVE mdbroker) and the Binary Star frontend (bstarsrv +
// bstarcli). Each: an admitted client is served; an unknown key, a plaintext client and a client expecting
// the wrong server key get nothing, and the server goes on serving the admitted.
#include <doctest/doctest.h>

#include "curve_support.hpp"
#include "support/process.hpp"

#include <filesystem>

using namespace pirates;
using namespace pirates::test;
using namespace pirates::test::curve;

TEST_CASE("ppqueue with CURVE: an admitted worker serves admitted clients, strangers get nothing") {
    KeyFolder keys{"client.key"};
    Process queue("ppqueue", with({"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*",
                                   "--heartbeat-ms", "100"},
                                  server_curve(keys)));
    const std::string front = queue.bound_endpoint("frontend"), back = queue.bound_endpoint("backend");
    REQUIRE(!front.empty());
    REQUIRE(!back.empty());
    const std::vector<std::string> client{"--connect",    front, "--requests", "2",
                                          "--timeout-ms", "500", "--retries",  "1"};
    const std::vector<std::string> worker_base{"--connect",      back, "--heartbeat-ms", "100",
                                               "--reconnect-ms", "100"};
    Process intruder("ppworker", with(worker_base, client_curve("stranger.key_secret")));
    CHECK(queue.wait_for("ZAP: denied"));
    CHECK(run("lpclient", with(client, client_curve("client.key_secret"))) == 1);  // no worker admitted
    std::filesystem::copy_file(cert("worker.key"), keys.path / "worker.key");
    Process worker("ppworker", with(worker_base, client_curve("worker.key_secret")));
    CHECK(run("lpclient", with(client, client_curve("client.key_secret"))) == 0);
    CHECK(run("lpclient", with(client, client_curve("stranger.key_secret"))) == 1);
    CHECK(run("lpclient", client) == 1);  // plaintext
    CHECK(run("lpclient", with(client, client_curve("client.key_secret", "stranger.key"))) ==
          1);  // wrong key
    CHECK(run("lpclient", with(client, client_curve("client.key_secret"))) == 0);
    CHECK(queue.running());
    CHECK(intruder.output().find("request") == std::string::npos);
}

TEST_CASE("titanic with CURVE through a CURVE mdbroker: admitted ticlient served, others get nothing") {
    KeyFolder keys{"client.key", "worker.key"};
    Process broker("mdbroker",
                   with({"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "100"}, server_curve(keys)));
    const std::string ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    KeyFolder store{};
    Process echo("mdworker", with({"--connect", ep, "--service", "echo", "--heartbeat-ms", "100"},
                                  client_curve("worker.key_secret")));
    Process titanic("titanic", with({"--connect", ep, "--dir", (store.path / "store").string(),
                                     "--heartbeat-ms", "100", "--retry-ms", "50", "--timeout-ms", "1000"},
                                    client_curve("worker.key_secret")));
    REQUIRE(titanic.wait_for("serving"));
    // The admitted client is given time (Titanic registers and dispatches on a loaded machine); the others
    // fail at the handshake, so a short timeout is enough for them.
    const std::vector<std::string> client{"--connect", ep,   "--service",    "echo", "--requests", "2",
                                          "--poll-ms", "50", "--timeout-ms", "500",  "--retries",  "1"};
    const std::vector<std::string> patient{"--connect", ep,   "--service",    "echo", "--requests", "2",
                                           "--poll-ms", "50", "--timeout-ms", "4000", "--retries",  "3"};
    CHECK(run("ticlient", with(patient, client_curve("client.key_secret"))) == 0);
    CHECK(run("ticlient", with(client, client_curve("stranger.key_secret"))) == 1);
    CHECK(run("ticlient", client) == 1);  // plaintext
    CHECK(run("ticlient", with(client, client_curve("client.key_secret", "stranger.key"))) ==
          1);  // wrong key
    CHECK(run("ticlient", with(patient, client_curve("client.key_secret"))) == 0);
    CHECK(broker.wait_for("ZAP: denied"));
    CHECK(titanic.running());
}

TEST_CASE("titanic without a key the broker admits cannot register its services") {
    KeyFolder keys{"client.key", "worker.key"};
    Process broker("mdbroker",
                   with({"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "100"}, server_curve(keys)));
    const std::string ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    KeyFolder store{};
    Process titanic("titanic",
                    with({"--connect", ep, "--dir", (store.path / "store").string(), "--heartbeat-ms", "100"},
                         client_curve("stranger.key_secret")));
    CHECK(broker.wait_for("ZAP: denied"));
    CHECK(run("ticlient", with({"--connect", ep, "--service", "echo", "--requests", "1", "--timeout-ms",
                                "500", "--retries", "1"},
                               client_curve("client.key_secret"))) == 1);
}

TEST_CASE("bstarsrv with CURVE on its frontend: admitted bstarcli served, others get nothing") {
    KeyFolder keys{"client.key"};
    // A lone primary (its peer's state-pub is nowhere) becomes active on a client request once the peer has
    // been silent for two heartbeats; a request before that is dropped, hence the attempts.
    Process primary("bstarsrv",
                    with({"--primary", "--frontend", "tcp://127.0.0.1:*", "--state-pub", "tcp://127.0.0.1:*",
                          "--state-sub", "tcp://127.0.0.1:1", "--heartbeat-ms", "50"},
                         server_curve(keys)));
    const std::string front = primary.bound_endpoint("frontend");
    REQUIRE(!front.empty());
    const std::vector<std::string> client{"--servers",    front + ",tcp://127.0.0.1:1",
                                          "--requests",   "2",
                                          "--timeout-ms", "500",
                                          "--settle-ms",  "100",
                                          "--retries",    "5"};
    CHECK(run("bstarcli", with(client, client_curve("client.key_secret"))) == 0);
    CHECK(run("bstarcli", with(client, client_curve("stranger.key_secret"))) == 1);
    CHECK(run("bstarcli", client) == 1);  // plaintext
    CHECK(run("bstarcli", with(client, client_curve("client.key_secret", "stranger.key"))) ==
          1);  // wrong key
    CHECK(run("bstarcli", with(client, client_curve("client.key_secret"))) == 0);
    CHECK(primary.wait_for("ZAP: denied"));
    CHECK(primary.running());
}
