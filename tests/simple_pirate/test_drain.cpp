// spqueue as a service (issue 13): a graceful stop (--drain-ms), SIGUSR1's summary, SIGHUP ignored.
#include <doctest/doctest.h>

#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>

using namespace pirates;
using namespace pirates::test;
using Strings = std::vector<std::string>;

namespace {

struct Rig {
    Process queue;
    std::string frontend, backend;
    zmq::context_t ctx;
    explicit Rig(const std::string& drain_ms)
        : queue("spqueue", {"--frontend", "tcp://127.0.0.1:*", "--backend", "tcp://127.0.0.1:*", "-v",
                            "--drain-ms", drain_ms}),
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
    // A raw worker (a DEALER writing REQ's delimiter): READY, registered once the queue logs it (-v).
    zmq::socket_t worker() {
        const std::size_t before = queue.count(" ready");
        auto w = dealer(backend);
        make_frames({"", "\x01"}).send(w);
        REQUIRE(eventually([&] { return queue.count(" ready") > before; }));
        return w;
    }
};

}  // namespace

TEST_CASE(
    "spqueue SIGTERM drains: the reply a worker holds reaches its client, clients are not read, exit 0") {
    Rig rig("10000");
    auto held = rig.worker();
    auto client = rig.dealer(rig.frontend);
    make_frames({"", "first"}).send(client);
    Frames m;
    REQUIRE(recv_within(held, m));
    const Strings request = strings(m);  // "" [client] "" "first"
    REQUIRE(request.size() == 4);
    CHECK(request[3] == "first");
    auto idle = rig.worker();

    rig.queue.signal(SIGTERM);
    REQUIRE(rig.queue.wait_for("draining: 1 requests in workers' hands"));
    auto late = rig.dealer(rig.frontend);
    make_frames({"", "too late"}).send(late);
    rig.queue.signal(SIGUSR1);
    CHECK(rig.queue.wait_for("1 requests, 0 replies"));
    CHECK(rig.queue.running());

    make_frames({"", request[1], "", "first back"}).send(held);
    REQUIRE(recv_within(client, m));
    CHECK(strings(m) == Strings{"", "first back"});
    CHECK(rig.queue.wait_exit() == 0);
    CHECK(rig.queue.wait_for("drained"));
    CHECK(rig.queue.wait_for("stopping: 1 requests, 1 replies"));  // the late request was never taken
    Frames none;
    CHECK(!recv_within(idle, none, Duration{200}));
}

TEST_CASE("spqueue --drain-ms 0 stops at once with a request in a worker's hands, and SIGHUP is ignored") {
    Rig rig("0");
    rig.queue.signal(SIGHUP);
    CHECK(rig.queue.wait_for("SIGHUP ignored"));
    auto held = rig.worker();
    auto client = rig.dealer(rig.frontend);
    make_frames({"", "first"}).send(client);
    Frames m;
    REQUIRE(recv_within(held, m));
    rig.queue.signal(SIGTERM);
    CHECK(rig.queue.wait_exit() == 0);
    CHECK(rig.queue.output().find("draining:") == std::string::npos);
}
