// Integration over tcp loopback with the real executables: faults, restarts, MMI, several services, async
// load.
#include <doctest/doctest.h>
#include <pirates/majordomo/async_client.hpp>
#include <pirates/majordomo/client.hpp>

#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>

using namespace pirates;
using namespace pirates::majordomo;
using namespace std::chrono_literals;
using pirates::test::eventually;
using pirates::test::make_frames;
using pirates::test::Process;
using pirates::test::strings;
using S = std::vector<std::string>;

namespace {

const std::string READY_LOG = "ready for 'echo'";

std::unique_ptr<Process> broker_process(const std::string& bind = "tcp://127.0.0.1:*",
                                        const std::string& hb = "50") {
    return std::make_unique<Process>("mdbroker",
                                     std::vector<std::string>{"--bind", bind, "--heartbeat-ms", hb, "-v"});
}

std::unique_ptr<Process> worker_process(const std::string& ep, const std::string& service,
                                        std::vector<std::string> extra = {}, const std::string& hb = "50") {
    std::vector<std::string> args{"--connect",      ep, "--service",      service,
                                  "--heartbeat-ms", hb, "--reconnect-ms", "50"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<Process>("mdworker", args);
}

}  // namespace

TEST_CASE("a worker killed in the middle of a request: another worker answers, the client need not retry") {
    // Slower heartbeats here (expiry 750 ms): the test relies on the LRU order, which a spurious expiry on a
    // loaded machine would change.
    auto broker = broker_process("tcp://127.0.0.1:*", "250");
    std::string ep = broker->bound_endpoint("broker");
    REQUIRE(!ep.empty());
    auto doomed = worker_process(ep, "echo", {"--crash-after", "1"}, "250");  // dies on its second request
    REQUIRE(broker->wait_for(READY_LOG));
    zmq::context_t ctx;
    // A long attempt timeout: the broker, not the client's retry, must bring the request to the healthy
    // worker.
    Client client(ctx, ClientConfig{ep, 5000ms, 3});
    auto first = client.request("echo", make_frames({"one"}));
    REQUIRE(first.ok());
    CHECK(first.attempts == 1);

    auto healthy = worker_process(ep, "echo", {}, "250");
    REQUIRE(eventually([&] { return broker->count(READY_LOG) >= 2; }));
    // The doomed worker has been idle longest: it gets the next request and dies holding it. The broker sees
    // its connection close and hands the request to the healthy worker.
    const auto start = Clock::now();
    auto second = client.request("echo", make_frames({"two"}));
    REQUIRE(second.ok());
    CHECK(strings(second.reply) == S{"two"});
    CHECK(second.attempts == 1);
    MESSAGE("answered ", std::chrono::duration_cast<Duration>(Clock::now() - start).count(),
            " ms after it was sent, by the second worker");
    CHECK(doomed->wait_exit() == 3);  // chaos crash exit code
    CHECK(healthy->running());
}

TEST_CASE("the broker killed and restarted on the same endpoint: workers register again, clients complete") {
    auto broker = broker_process();
    std::string ep = broker->bound_endpoint("broker");
    REQUIRE(!ep.empty());
    auto w1 = worker_process(ep, "echo");
    auto w2 = worker_process(ep, "echo");
    REQUIRE(eventually([&] { return broker->count(READY_LOG) >= 2; }));
    zmq::context_t ctx;
    Client client(ctx, ClientConfig{ep, 300ms, 30});
    REQUIRE(client.request("echo", make_frames({"before"})).ok());

    broker->kill9();
    broker->wait_exit();
    // A client starts while there is no broker at all.
    Process mdclient("mdclient", {"--connect", ep, "--service", "echo", "--requests", "20", "--timeout-ms",
                                  "300", "--retries", "40"});
    broker = broker_process(ep);
    REQUIRE(broker->bound_endpoint("broker") == ep);
    CHECK(eventually([&] { return broker->count(READY_LOG) >= 2; }, 10s));
    auto after = client.request("echo", make_frames({"after"}));
    REQUIRE(after.ok());
    CHECK(strings(after.reply) == S{"after"});
    CHECK(mdclient.wait_exit(20s) == 0);
    CHECK(mdclient.wait_for("answered 20 matched 20"));
}

TEST_CASE("MMI through the broker: 200 for a served service, 404 otherwise, 501 for other mmi.*") {
    // Heartbeat 250 ms: at 50 ms a worker started on a loaded machine may give up on the broker before its
    // first heartbeat and register again, and the broker forgets its first connection at once, so 200 would
    // not hold between the two.
    auto broker = broker_process("tcp://127.0.0.1:*", "250");
    std::string ep = broker->bound_endpoint("broker");
    auto w = worker_process(ep, "echo", {}, "250");
    REQUIRE(broker->wait_for(READY_LOG));
    zmq::context_t ctx;
    Client client(ctx, ClientConfig{ep, 2000ms, 1});
    CHECK(eventually([&] {
        auto r = client.request("mmi.service", make_frames({"echo"}));
        return r.ok() && strings(r.reply) == S{"200"};
    }));
    auto missing = client.request("mmi.service", make_frames({"nosuch"}));
    REQUIRE(missing.ok());
    CHECK(strings(missing.reply) == S{"404"});
    auto other = client.request("mmi.whatever", make_frames({"x"}));
    REQUIRE(other.ok());
    CHECK(strings(other.reply) == S{"501"});
    // The lookup did not create "nosuch": still 404, and the worker count of echo is untouched.
    CHECK(strings(client.request("mmi.service", make_frames({"nosuch"})).reply) == S{"404"});
    // The async client too: its correlation frame travels in front of the name and comes back in front of the
    // code (the broker reads the last frame and replaces it, as the reference does).
    AsyncClient async(ctx, AsyncClientConfig{ep, 5000ms, 1});
    const auto asked = async.send("mmi.service", make_frames({"echo"}));
    auto done = async.recv(5000ms);
    REQUIRE(done);
    CHECK(done->id == asked);
    REQUIRE(done->ok());
    CHECK(strings(done->reply) == S{"200"});
    w->signal(SIGTERM);
    CHECK(w->wait_exit() == 0);
    CHECK(eventually([&] {
        auto r = client.request("mmi.service", make_frames({"echo"}));
        return r.ok() && strings(r.reply) == S{"404"};
    }));
}

TEST_CASE("several services at once, each client served by its own service's workers") {
    auto broker = broker_process();
    std::string ep = broker->bound_endpoint("broker");
    std::vector<std::unique_ptr<Process>> workers;
    for (const char* svc : {"alpha", "alpha", "beta", "gamma"}) workers.push_back(worker_process(ep, svc));
    REQUIRE(eventually([&] { return broker->count("ready for '") >= 4; }));
    std::vector<std::unique_ptr<Process>> clients;
    for (const char* svc : {"alpha", "beta", "gamma"})
        clients.push_back(std::make_unique<Process>(
            "mdclient", std::vector<std::string>{"--connect", ep, "--service", svc, "--requests", "100"}));
    clients.push_back(std::make_unique<Process>(
        "mdclient",
        std::vector<std::string>{"--connect", ep, "--service", "alpha", "--requests", "300", "--async"}));
    for (auto& c : clients) CHECK(c->wait_exit(30s) == 0);
}

TEST_CASE("async client: 1,000 requests in flight across 4 workers, every reply matched") {
    auto broker = broker_process();
    std::string ep = broker->bound_endpoint("broker");
    std::vector<std::unique_ptr<Process>> workers;
    for (int i = 0; i < 4; ++i) workers.push_back(worker_process(ep, "echo"));
    REQUIRE(eventually([&] { return broker->count(READY_LOG) >= 4; }));
    Process client("mdclient", {"--connect", ep, "--service", "echo", "--requests", "1000", "--async",
                                "--window", "1000", "--timeout-ms", "10000"});
    CHECK(client.wait_exit(60s) == 0);
    CHECK(client.wait_for("sent 1000 answered 1000 matched 1000"));
    for (auto& w : workers) CHECK(w->running());
}

TEST_CASE("a request far longer than heartbeat x liveness is still answered: busy workers are not expired") {
    // Heartbeat 50 ms x liveness 3 = 150 ms; the worker takes 600 ms over its second request, heartbeating
    // meanwhile (Worker::handle). The broker keeps it, and neither side reconnects. (A worker silent while
    // busy, as the reference's: test_mdp02.cpp, "a Guide-style worker".)
    auto broker = broker_process();
    std::string ep = broker->bound_endpoint("broker");
    REQUIRE(!ep.empty());
    auto worker = worker_process(ep, "echo", {"--slow-after", "1", "--delay-ms", "600", "-v"});
    REQUIRE(broker->wait_for(READY_LOG));
    zmq::context_t ctx;
    Client client(ctx, ClientConfig{ep, 5000ms, 1});  // one attempt: the first worker must answer
    // Counted from the first answer on: a worker started on a loaded machine may give up on a slow broker
    // before its first heartbeat and connect again; that is not what this test is about.
    std::size_t ready = 0, reconnects = 0, expired = 0;
    for (const char* body : {"quick", "slow", "slow again"}) {
        auto r = client.request("echo", make_frames({body}));
        REQUIRE(r.ok());
        CHECK(strings(r.reply) == S{body});
        if (ready == 0) {
            ready = broker->count(READY_LOG);
            reconnects = worker->count("reconnecting");
            expired = broker->count("expired");
        }
    }
    CHECK(broker->count("expired") == expired);
    CHECK(broker->count(READY_LOG) == ready);  // never dropped, never registered again
    CHECK(worker->count("reconnecting") == reconnects);
}
