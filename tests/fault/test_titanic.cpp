// Titanic with its broker link cut mid-dispatch: mdbroker, titanic reaching it through the fault proxy, a slow
// echo mdworker, ticlient. The link is cut (and refused) while Titanic waits for the worker's reply, so that
// reply is lost; once the link heals, Titanic dispatches again and every acknowledged request is answered.
#include <doctest/doctest.h>

#include "rig.hpp"
#include "titanic/temp_dir.hpp"

#include <csignal>
#include <memory>

using namespace pirates;
using namespace pirates::test;
using namespace pirates::test::fault;

TEST_CASE("titanic: broker link cut mid-dispatch - every acknowledged request is answered after the heal") {
    auto broker = std::make_unique<Process>("mdbroker", with({"--bind", "tcp://127.0.0.1:*", "-v"}, timing));
    const auto endpoint = broker->bound_endpoint("broker");
    REQUIRE_FALSE(endpoint.empty());
    FaultProxy link(port_part(endpoint));
    TempDir dir;
    auto titanic = std::make_unique<Process>(
        "titanic", with({"--connect", link.endpoint(), "--dir", dir.str(), "--reconnect-ms", "50",
                         "--timeout-ms", "2500", "--retry-ms", "50", "--retry-max-ms", "200", "-v"},
                        timing));
    // The first request is answered at once, the others after 1 s: time to cut the link in the middle.
    auto worker = std::make_unique<Process>(
        "mdworker", with({"--connect", endpoint, "--service", "echo", "--reconnect-ms", "50", "--slow-after",
                          "1", "--delay-ms", "1000", "-v"},
                         timing));
    REQUIRE(eventually([&] { return broker->count(" ready for 'echo'") >= 1; }, slack));
    REQUIRE(eventually([&] { return broker->count(" ready for 'titanic.") >= 3; }, slack));

    auto client = std::make_unique<Process>(
        "ticlient", std::vector<std::string>{"--connect", endpoint, "--service", "echo", "--requests", "3",
                                             "--poll-ms", "50", "--timeout-ms", "2000", "--retries", "10"});
    // Acknowledged: stored by Titanic, the client told so.
    const bool stored = client->wait_for("request 3 stored as", 30000ms);  // three fsyncs, maybe sanitized
    if (!stored) MESSAGE("ticlient:\n" << client->output() << "titanic:\n" << titanic->output());
    REQUIRE(stored);
    // Titanic has dispatched #2 and waits for its answer: cut its link to the broker, refusing reconnection.
    REQUIRE(worker->wait_for("request 2: ", slack));
    link.cut(true);
    const auto cut_at = link.counters();
    CHECK(cut_at.cut >= 1);
    // The worker's reply reaches the broker, which has no Titanic to give it to: lost on the way.
    CHECK(broker->wait_for("peer gone", slack));
    link.heal();
    // Titanic reconnects, dispatches what it has not been answered again, and the client gets all three.
    CHECK(client->wait_for("3 of 3 replies received", 30000ms));
    CHECK(client->wait_exit(slack) == 0);
    for (int n = 1; n <= 3; ++n) CHECK(client->count("reply " + std::to_string(n) + " (") == 1);
    CHECK(client->count("Hello world #2") == 1);
    CHECK(titanic->count("timed out, retrying later") + titanic->count("not available") >= 1);
    CHECK(link.counters().accepted > cut_at.accepted);  // it came back through the healed link
    for (auto* p : {titanic.get(), worker.get(), broker.get()}) {
        p->signal(SIGTERM);
        CHECK(p->wait_exit() == 0);
    }
}
