// ppqueue as a service (issue 13): a graceful stop (--drain-ms), SIGUSR1's summary, SIGHUP ignored.
#include <doctest/doctest.h>

#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>

using namespace pirates;
using namespace pirates::test;
using namespace std::string_view_literals;
using Strings = std::vector<std::string>;

namespace {

struct Rig {
    Process queue;
    std::string frontend, backend;
    zmq::context_t ctx;
    explicit Rig(const std::string& drain_ms)
        : queue("ppqueue", {"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*",
                            "--heartbeat-ms", "50", "--liveness", "100", "--drain-ms", drain_ms}),
          frontend(queue.bound_endpoint("frontend")),
          backend(queue.bound_endpoint("backend")) {
        REQUIRE(!frontend.empty());
        REQUIRE(!backend.empty());
    }
    zmq::socket_t dealer(const std::string& ep) {
        zmq::socket_t s(ctx, zmq::socket_type::dealer);
        s.set(zmq::sockopt::linger, 0);
        s.connect(ep);
        return s;
    }
    // A raw worker: READY, then the queue's first heartbeat says it is registered.
    zmq::socket_t worker() {
        auto w = dealer(backend);
        make_frames({"\x01"}).send(w);
        Frames m;
        REQUIRE(recv_within(w, m));
        CHECK(strings(m) == Strings{"\x02"});
        return w;
    }
};

// The next message that is not a heartbeat; {} on timeout.
Strings next_request(zmq::socket_t& worker, Duration timeout = Duration{5000}) {
    const auto deadline = Clock::now() + timeout;
    Frames m;
    while (recv_within(worker, m, until(Clock::now(), deadline))) {
        if (!(m.size() == 1 && m[0].to_string_view() == "\x02"sv)) return strings(m);
        m.clear();
    }
    return {};
}

}  // namespace

TEST_CASE(
    "ppqueue SIGTERM drains: the reply a worker holds reaches its client, clients are not read, exit 0") {
    Rig rig("10000");
    auto held = rig.worker();
    auto client = rig.dealer(rig.frontend);
    make_frames({"", "first"}).send(client);
    const Strings request = next_request(held);
    REQUIRE(request.size() == 3);
    CHECK(request[2] == "first");
    auto idle = rig.worker();  // registered after the request went out: idle through the drain

    rig.queue.signal(SIGTERM);
    REQUIRE(rig.queue.wait_for("draining: 1 requests in workers' hands"));
    auto late = rig.dealer(rig.frontend);
    make_frames({"", "too late"}).send(late);
    rig.queue.signal(SIGUSR1);  // the summary during the drain, and the queue carries on
    CHECK(rig.queue.wait_for("1 requests, 0 replies"));
    CHECK(rig.queue.running());

    make_frames({request[0], "", "first back"}).send(held);
    Frames m;
    REQUIRE(recv_within(client, m));
    CHECK(strings(m) == Strings{"", "first back"});
    CHECK(rig.queue.wait_exit() == 0);
    CHECK(rig.queue.wait_for("drained"));
    CHECK(rig.queue.wait_for("stopped: 1 requests, 1 replies"));  // the late request was never taken
    CHECK(next_request(idle, Duration{200}).empty());
}

TEST_CASE("ppqueue --drain-ms 0 stops at once with a request in a worker's hands, and SIGHUP is ignored") {
    Rig rig("0");
    rig.queue.signal(SIGHUP);
    CHECK(rig.queue.wait_for("SIGHUP ignored"));
    auto held = rig.worker();
    auto client = rig.dealer(rig.frontend);
    make_frames({"", "first"}).send(client);
    REQUIRE(next_request(held).size() == 3);
    rig.queue.signal(SIGTERM);
    CHECK(rig.queue.wait_exit() == 0);
    CHECK(rig.queue.output().find("draining:") == std::string::npos);
}
