// Operating a CURVE server: SIGHUP re-reads the client key folder (a key removed without the folder's
// modification time changing is refused only after it), and denials are counted on the metrics endpoint.
#include <doctest/doctest.h>

#include "curve_support.hpp"
#include "support/http.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>

using namespace pirates;
using namespace pirates::test;
using namespace pirates::test::curve;

namespace {

std::vector<std::string> md_client(const std::string& ep) {
    return {"--connect",    ep,     "--service", "echo", "--requests", "1",
            "--timeout-ms", "1500", "--retries", "1"};
}

// The value of an unlabelled sample `name` in Prometheus text, -1 when absent.
double sample(const std::string& text, const std::string& name) {
    const auto at = ("\n" + text).find("\n" + name + " ");
    if (at == std::string::npos) return -1;
    return std::stod(text.substr(at + name.size() + 1));
}

}  // namespace

TEST_CASE(
    "mdbroker with CURVE: SIGHUP re-reads the key folder, so a key removed quietly is refused after it") {
    KeyFolder keys{"client.key", "worker.key"};
    Process broker("mdbroker",
                   with({"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "50"}, server_curve(keys)));
    const std::string ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    Process worker("mdworker", with({"--connect", ep, "--service", "echo", "--heartbeat-ms", "50"},
                                    client_curve("worker.key_secret")));
    CHECK(run("mdclient", with(md_client(ep), client_curve("client.key_secret"))) == 0);
    keys.remove_quietly("client.key");
    // The folder looks unchanged: the key is still admitted.
    CHECK(run("mdclient", with(md_client(ep), client_curve("client.key_secret"))) == 0);
    broker.signal(SIGHUP);
    CHECK(broker.wait_for("SIGHUP: client keys re-read"));
    CHECK(run("mdclient", with(md_client(ep), client_curve("client.key_secret"))) == 1);
    CHECK(broker.wait_for("ZAP: denied"));
    CHECK(broker.running());
    // SIGUSR1 logs the handler's counters.
    broker.signal(SIGUSR1);
    CHECK(broker.wait_for("ZAP: auth-denied"));
}

TEST_CASE("lpserver with CURVE: SIGHUP re-reads the key folder and does not stop the server") {
    KeyFolder keys{"client.key"};
    Process server("lpserver", with({"--bind", "tcp://127.0.0.1:*"}, server_curve(keys)));
    const std::string ep = server.bound_endpoint("server");
    REQUIRE(!ep.empty());
    const std::vector<std::string> base{"--connect",    ep,     "--requests", "1",
                                        "--timeout-ms", "1500", "--retries",  "1"};
    CHECK(run("lpclient", with(base, client_curve("client.key_secret"))) == 0);
    keys.remove_quietly("client.key");
    server.signal(SIGHUP);
    CHECK(server.wait_for("SIGHUP: client keys re-read"));
    CHECK(run("lpclient", with(base, client_curve("client.key_secret"))) == 1);
    CHECK(server.running());
}

TEST_CASE("plaintext servers still log and ignore SIGHUP") {
    Process server("lpserver", {"--bind", "tcp://127.0.0.1:*"});
    REQUIRE(!server.bound_endpoint("server").empty());
    server.signal(SIGHUP);
    CHECK(server.wait_for("SIGHUP ignored"));
    CHECK(server.running());
}

TEST_CASE("mdbroker with CURVE: a denied client raises mdbroker_auth_denied_total on /metrics") {
    KeyFolder keys{"client.key"};
    Process broker("mdbroker",
                   with({"--bind", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0"}, server_curve(keys)));
    const std::string ep = broker.bound_endpoint("broker");
    const std::string url = broker.bound_endpoint("metrics");
    REQUIRE(!ep.empty());
    REQUIRE(url.starts_with("http://127.0.0.1:"));
    const auto port = url_port(url);
    // (The exporter is bound, and logs so, a moment before main hands it the counter: poll.)
    CHECK(eventually([&] { return sample(http_get(port), "mdbroker_auth_denied_total") == 0; },
                     Duration{10000}));
    CHECK(run("mdclient", with(md_client(ep), client_curve("stranger.key_secret"))) == 1);
    CHECK(eventually([&] { return sample(http_get(port), "mdbroker_auth_denied_total") >= 1; },
                     Duration{10000}));
    // Without a worker the admitted client is not served, but its handshake is not counted as denied.
    const double denied = sample(http_get(port), "mdbroker_auth_denied_total");
    CHECK(run("mdclient", with(md_client(ep), client_curve("client.key_secret"))) == 1);
    CHECK(sample(http_get(port), "mdbroker_auth_denied_total") == denied);
}

TEST_CASE("a plaintext mdbroker --metrics shows mdbroker_auth_denied_total 0") {
    Process broker("mdbroker", {"--bind", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0"});
    const std::string url = broker.bound_endpoint("metrics");
    REQUIRE(url.starts_with("http://127.0.0.1:"));
    CHECK(eventually([&] { return sample(http_get(url_port(url)), "mdbroker_auth_denied_total") == 0; },
                     Duration{10000}));
}

TEST_CASE(
    "mdadmin --curve-secret/--curve-server asks a CURVE mdbroker; a stranger or plaintext gets nothing") {
    KeyFolder keys{"client.key"};
    Process broker("mdbroker", with({"--bind", "tcp://127.0.0.1:*"}, server_curve(keys)));
    const std::string ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    const std::vector<std::string> base{"--connect", ep, "--timeout-ms", "1000", "services"};
    CHECK(run("mdadmin", with(base, client_curve("client.key_secret"))) == 0);
    CHECK(run("mdadmin", with(base, client_curve("stranger.key_secret"))) == 1);
    CHECK(run("mdadmin", base) == 1);
    CHECK(run("mdadmin", with(base, {"--curve-secret", cert("client.key_secret")})) == 2);
}
