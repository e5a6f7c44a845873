#include <doctest/doctest.h>
#include <pirates/common/routed_send.hpp>

#include "support/net.hpp"

using namespace pirates;
using namespace pirates::test;

TEST_CASE(
    "send_routed: sent to a connected peer, peer_gone for an unknown identity, would_block at the HWM") {
    zmq::context_t context;
    zmq::socket_t router(context, zmq::socket_type::router);
    router.set(zmq::sockopt::router_mandatory, 1);
    router.set(zmq::sockopt::sndhwm, 2);
    router.set(zmq::sockopt::linger, 0);
    std::string ep = bind_loopback(router);
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::routing_id, "peer");
    dealer.set(zmq::sockopt::rcvhwm, 2);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(ep);
    dealer.send(zmq::str_buffer("hi"));
    Frames in;
    REQUIRE(recv_within(router, in));

    Frames gone = make_frames({"nobody", "body"});
    CHECK(send_routed(router, gone) == SendResult::peer_gone);
    CHECK(strings(gone) == std::vector<std::string>{"nobody", "body"});  // untouched, can be re-queued

    Frames m = make_frames({"peer", "one"});
    CHECK(send_routed(router, m) == SendResult::sent);
    CHECK(m.empty());
    Frames got;
    REQUIRE(recv_within(dealer, got));
    CHECK(strings(got) == std::vector<std::string>{"one"});

    // The dealer reads nothing more: the pipe fills up and the router says would_block, message untouched.
    SendResult last = SendResult::sent;
    for (int i = 0; i < 100000 && last == SendResult::sent; ++i) {
        Frames more = make_frames({"peer", "filler"});
        last = send_routed(router, more);
        if (last != SendResult::sent) CHECK(strings(more) == std::vector<std::string>{"peer", "filler"});
    }
    CHECK(last == SendResult::would_block);
}
