// Freelance model 3 with one server's link blackholed: two flservers (one behind the fault proxy, its routing
// identity the proxy's endpoint), the router client in the test. Every request is answered within the global
// timeout, and the attempts are counted: a request caught by the blackhole fails over once, none more.
#include <doctest/doctest.h>

#include <pirates/freelance/router.hpp>

#include "rig.hpp"

#include <map>
#include <memory>

using namespace pirates;
using namespace pirates::freelance;
using namespace pirates::test;
using namespace pirates::test::fault;

TEST_CASE("freelance model 3: one server blackholed - requests fail over once, within the global timeout") {
    FaultProxy link;
    auto far = std::make_unique<Process>(
        "flserver", std::vector<std::string>{"--model", "3", "--bind", "tcp://127.0.0.1:*", "--identity",
                                             link.endpoint()});
    auto near = std::make_unique<Process>(
        "flserver", std::vector<std::string>{"--model", "3", "--bind", "tcp://127.0.0.1:*"});
    const auto far_bound = far->bound_endpoint("server");
    const auto near_ep = near->bound_endpoint("server");
    REQUIRE_FALSE(far_bound.empty());
    REQUIRE_FALSE(near_ep.empty());
    link.set_target(port_part(far_bound));
    const std::string far_ep = link.endpoint();

    RouterOptions o;
    o.ping_interval = 50ms;
    o.server_ttl = 300ms;
    o.attempt_timeout = 200ms;
    o.request_timeout = 2000ms;
    o.unroutable_retry = 10ms;
    o.reconnect_after = 300ms;
    zmq::context_t context;
    RouterClient client(context, o);
    REQUIRE(client.connect(far_ep));
    REQUIRE(client.connect(near_ep));
    std::map<std::string, int> used;
    REQUIRE(eventually(
        [&] {
            Reply r = client.request(make_frames({"hello"}));
            REQUIRE(r);
            ++used[r->server];
            return used.size() == 2;
        },
        slack));

    link.drop();
    const TimePoint dropped = Clock::now();
    // Until well past the server's ttl: each request answered, by the near server, in one or two attempts,
    // within the global timeout.
    std::map<int, int> by_attempts;
    int requests = 0;
    while (Clock::now() < dropped + 4 * o.server_ttl || requests < 4) {
        const TimePoint sent = Clock::now();
        Reply r = client.request(make_frames({"hello"}));
        REQUIRE_MESSAGE(r, "request " << requests << " after the drop: " << (r ? "" : r.reason));
        if (r->server != near_ep || r.attempts < 1 || r.attempts > 2 ||
            Clock::now() - sent >=
                o.request_timeout + slack)  // slack for CI; the client enforces the timeout
            FAIL_CHECK("request " << requests << ": from " << r->server << " in " << r.attempts
                                  << " attempts");
        ++by_attempts[r.attempts];
        ++requests;
    }
    MESSAGE(requests << " requests after the drop: " << by_attempts[1] << " in 1 attempt, " << by_attempts[2]
                     << " in 2");
    // Round robin sent one to the blackholed server before its ttl ran out: that one failed over, once.
    CHECK(by_attempts[2] >= 1);
    CHECK(client.stats().failovers >= 1);
    // Past the ttl, the silent server is no longer tried: one attempt each.
    for (int i = 0; i < 20; ++i) {
        Reply r = client.request(make_frames({"hello"}));
        REQUIRE(r);
        CHECK(r.attempts == 1);
        CHECK(r->server == near_ep);
    }
    CHECK(link.counters().dropped[0] > 0);

    link.heal();
    // Its pings are answered again: it is used again.
    used.clear();
    CHECK(eventually(
        [&] {
            Reply r = client.request(make_frames({"hello"}));
            REQUIRE(r);
            ++used[r->server];
            return used[far_ep] > 0;
        },
        slack));
}
