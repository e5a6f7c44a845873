// Corrupted bytes from a client against live servers (mdbroker, ppqueue): every Nth byte the client sends is
// flipped, over many connections (each retry opens a new one), so the flips land in ZMTP greetings,
// handshakes, frame headers and message bodies alike. The server must survive, drop or disconnect what it
// cannot read (docs/protocols.md), and serve a clean client afterwards at the first attempt.
#include <doctest/doctest.h>

#include <pirates/lazy_pirate/client.hpp>
#include <pirates/majordomo/client.hpp>

#include "rig.hpp"

#include <csignal>
#include <memory>
#include <regex>

using namespace pirates;
using namespace pirates::test;
using namespace pirates::test::fault;

namespace {

constexpr std::size_t every = 37;  // prime: the flips wander over every offset of the protocol
constexpr Duration corrupt_for{1500};

// Run `asker` against a corrupting link for a while, then stop it.
void run_for(Asker& asker, Duration d) {
    const TimePoint until = Clock::now() + d;
    while (Clock::now() < until && !asker.stop) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    asker.finish();
}

long field(const std::string& text, const std::string& name) {
    std::smatch m;
    if (!std::regex_search(text, m, std::regex(name + " ([0-9]+)"))) return -1;
    return std::stol(m[1]);
}

}  // namespace

TEST_CASE(
    "majordomo: a client link corrupting every 37th byte - the broker survives and serves a clean client") {
    auto broker = std::make_unique<Process>("mdbroker", with({"--bind", "tcp://127.0.0.1:*", "-v"}, timing));
    const auto endpoint = broker->bound_endpoint("broker");
    REQUIRE_FALSE(endpoint.empty());
    auto worker = std::make_unique<Process>(
        "mdworker", with({"--connect", endpoint, "--service", "echo", "--reconnect-ms", "50", "-v"}, timing));
    REQUIRE(broker->wait_for(" ready for 'echo'", slack));
    FaultProxy link(port_part(endpoint));
    link.corrupt_every(every, FaultProxy::Direction::to_target);

    zmq::context_t context;
    Asker dirty([&]() -> Asker::Ask {
        majordomo::ClientOptions options;
        options.connect = link.endpoint();
        options.timeout = Duration{150};
        options.attempts = 2;
        auto c = std::make_shared<majordomo::Client>(context, options);
        return [c](const std::string& body) { return c->request("echo", make_frames({body})); };
    });
    run_for(dirty, corrupt_for);
    dirty.report();
    const auto c = link.counters();
    MESSAGE("proxy: " << c.read[0] << " bytes from the client, " << c.corrupted[0] << " corrupted, "
                      << c.accepted << " connections");
    CHECK(c.corrupted[0] > 0);
    CHECK(dirty.answered < dirty.sent);  // the flips did harm (requests lost, or bodies echoed altered)
    CHECK(c.accepted >= 2);              // the client reconnected (retries) at least once
    CHECK(broker->running());

    // A clean client afterwards: every request answered with its own body at the first attempt.
    Asker clean([&]() -> Asker::Ask {
        majordomo::ClientOptions options;
        options.connect = endpoint;
        options.timeout = Duration{5000};
        options.attempts = 1;
        auto cl = std::make_shared<majordomo::Client>(context, options);
        return [cl](const std::string& body) { return cl->request("echo", make_frames({body})); };
    });
    CHECK(eventually([&] { return clean.sent >= 20; }, slack));
    clean.finish();
    clean.report();
    CHECK(clean.answered == clean.sent);
    CHECK(clean.took(1) == clean.sent);
    CHECK(broker->running());
    CHECK(worker->running());

    for (auto* p : {worker.get(), broker.get()}) {
        p->signal(SIGTERM);
        CHECK(p->wait_exit() == 0);  // under the sanitize preset: no sanitizer report either
    }
    // What the broker made of it: its closing summary.
    const std::string out = broker->output();
    const long malformed = field(out, "malformed"), protocol_errors = field(out, "protocol-errors");
    const long connections = field(out, "connections"), closed = field(out, "closed");
    MESSAGE("broker: malformed " << malformed << ", protocol errors " << protocol_errors << ", connections "
                                 << connections << ", closed " << closed);
    CHECK(malformed >= 0);  // the summary was logged (-1: not found)
    CHECK(protocol_errors >= 0);
    CHECK(connections >= 2);
}

TEST_CASE(
    "paranoid pirate: a client link corrupting every 37th byte - the queue survives and serves a clean "
    "client") {
    auto queue = std::make_unique<Process>(
        "ppqueue", with({"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "-v"}, timing));
    const auto frontend = queue->bound_endpoint("frontend");
    const auto backend = queue->bound_endpoint("backend");
    REQUIRE_FALSE(backend.empty());
    auto worker = std::make_unique<Process>(
        "ppworker",
        with({"--connect", backend, "--reconnect-ms", "50", "--reconnect-max-ms", "200", "-v"}, timing));
    REQUIRE(queue->wait_for(" ready\n", slack));
    FaultProxy link(port_part(frontend));
    link.corrupt_every(every, FaultProxy::Direction::to_target);

    zmq::context_t context;
    Asker dirty([&]() -> Asker::Ask {
        auto c =
            std::make_shared<lazy_pirate::Client>(context, link.endpoint(), RetryPolicy{Duration{150}, 2});
        return [c](const std::string& body) { return c->request(body); };
    });
    run_for(dirty, corrupt_for);
    dirty.report();
    const auto c = link.counters();
    MESSAGE("proxy: " << c.read[0] << " bytes from the client, " << c.corrupted[0] << " corrupted, "
                      << c.accepted << " connections");
    CHECK(c.corrupted[0] > 0);
    CHECK(dirty.answered < dirty.sent);  // the flips did harm (requests lost, or bodies echoed altered)
    CHECK(c.accepted >= 2);
    CHECK(queue->running());

    Asker clean([&]() -> Asker::Ask {
        auto cl = std::make_shared<lazy_pirate::Client>(context, frontend, RetryPolicy{Duration{5000}, 1});
        return [cl](const std::string& body) { return cl->request(body); };
    });
    CHECK(eventually([&] { return clean.sent >= 20; }, slack));
    clean.finish();
    clean.report();
    CHECK(clean.answered == clean.sent);
    CHECK(clean.took(1) == clean.sent);
    CHECK(queue->running());
    CHECK(worker->running());

    for (auto* p : {worker.get(), queue.get()}) {
        p->signal(SIGTERM);
        CHECK(p->wait_exit() == 0);
    }
    const std::string out = queue->output();
    MESSAGE(
        "queue: " << out.substr(out.rfind("stopped: ") == std::string::npos ? 0 : out.rfind("stopped: ")));
    CHECK(queue->count("stopped: ") == 1);
}
