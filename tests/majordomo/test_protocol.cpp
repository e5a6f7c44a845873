// The MDP codec against byte strings written from docs/protocols.md.
#include <doctest/doctest.h>
#include <pirates/majordomo/protocol.hpp>

#include "support/net.hpp"

using namespace pirates;
using namespace pirates::majordomo;
using pirates::test::make_frames;
using pirates::test::strings;
using S = std::vector<std::string>;

TEST_CASE("encoders produce the frames of docs/protocols.md") {
    CHECK(strings(encode_ready("echo")) == S{"", "MDPW01", "\x01", "echo"});
    CHECK(strings(encode_heartbeat()) == S{"", "MDPW01", "\x04"});
    CHECK(strings(encode_disconnect()) == S{"", "MDPW01", "\x05"});
    CHECK(strings(encode_reply(frame("CID"), make_frames({"a", "b"}))) ==
          S{"", "MDPW01", "\x03", "CID", "", "a", "b"});
    CHECK(strings(encode_request(frame("CID"), make_frames({"a"}))) ==
          S{"", "MDPW01", "\x02", "CID", "", "a"});
    CHECK(strings(encode_client_request("echo", make_frames({"a", "b"}))) ==
          S{"", "MDPC01", "echo", "a", "b"});
    CHECK(strings(encode_client_request("echo", make_frames({"a"}), false)) == S{"MDPC01", "echo", "a"});
    CHECK(strings(encode_client_reply(std::string_view("echo"), make_frames({"a"}))) ==
          S{"", "MDPC01", "echo", "a"});
}

TEST_CASE("the broker decodes client and worker commands, moving bodies") {
    Frames m = make_frames({"", "MDPC01", "echo", "b1", "b2"});
    const void* body_data = m[3].data();
    auto r = decode_broker_inbound(std::move(m));
    REQUIRE(r);
    auto& req = std::get<ClientRequest>(*r);
    CHECK(view(req.service) == "echo");
    CHECK(strings(req.body) == S{"b1", "b2"});
    CHECK(req.body[0].data() == body_data);  // moved, not copied

    auto ready = decode_broker_inbound(make_frames({"", "MDPW01", "\x01", "svc"}));
    REQUIRE(ready);
    CHECK(view(std::get<WorkerReady>(*ready).service) == "svc");
    auto reply = decode_broker_inbound(make_frames({"", "MDPW01", "\x03", "C", "", "x"}));
    REQUIRE(reply);
    CHECK(view(std::get<WorkerReply>(*reply).client) == "C");
    CHECK(std::holds_alternative<WorkerHeartbeat>(
        decode_broker_inbound(make_frames({"", "MDPW01", "\x04"})).value()));
    CHECK(std::holds_alternative<WorkerDisconnect>(
        decode_broker_inbound(make_frames({"", "MDPW01", "\x05"})).value()));
    auto bad = decode_broker_inbound(make_frames({"", "MDPX01", "\x05"}));
    CHECK_FALSE(bad);
    CHECK(bad.error().reason.find("protocol") != std::string::npos);
}

TEST_CASE("the worker decodes REQUEST, HEARTBEAT, DISCONNECT and rejects the rest") {
    auto r = decode_worker_inbound(make_frames({"", "MDPW01", "\x02", "C", "", "x", "y"}));
    REQUIRE(r);
    CHECK(strings(std::get<BrokerRequest>(*r).body) == S{"x", "y"});
    CHECK(std::holds_alternative<BrokerHeartbeat>(
        decode_worker_inbound(make_frames({"", "MDPW01", "\x04"})).value()));
    CHECK(std::holds_alternative<BrokerDisconnect>(
        decode_worker_inbound(make_frames({"", "MDPW01", "\x05"})).value()));
    CHECK_FALSE(decode_worker_inbound(make_frames({"", "MDPW01", "\x01", "svc"})));
    CHECK_FALSE(decode_worker_inbound(make_frames({"", "MDPW01", "\x02", "C", "x", "y"})));
    CHECK_FALSE(decode_worker_inbound(make_frames({"", "MDPC01", "\x04"})));
    CHECK_FALSE(decode_worker_inbound(make_frames({"x", "MDPW01", "\x04"})));
    CHECK_FALSE(decode_worker_inbound(make_frames({"", "MDPW01"})));
}

TEST_CASE("the client decodes replies with or without the delimiter") {
    auto r = decode_client_reply(make_frames({"", "MDPC01", "echo", "x"}));
    REQUIRE(r);
    CHECK(view(r->service) == "echo");
    CHECK(strings(r->body) == S{"x"});
    CHECK(decode_client_reply(make_frames({"MDPC01", "echo", "x"}), false));
    CHECK_FALSE(decode_client_reply(make_frames({"MDPC01", "echo", "x"})));
    CHECK_FALSE(decode_client_reply(make_frames({"", "MDPC01", "echo"})));
    CHECK_FALSE(decode_client_reply(make_frames({"", "MDPW01", "echo", "x"})));
}

TEST_CASE("mmi prefix test and correlation frames") {
    CHECK(is_mmi("mmi.service"));
    CHECK(is_mmi("mmi."));
    CHECK_FALSE(is_mmi("mmi"));
    CHECK_FALSE(is_mmi("mmix"));
    CHECK_FALSE(is_mmi("xmmi.service"));
    CHECK_FALSE(is_mmi(""));
    Frame c = make_correlation_frame(0x0102030405060708ULL);
    CHECK(c.size() == 16);
    CHECK(hex(view(c)) == "FF504952434944010102030405060708");
    CHECK(is_correlation_frame(c));
    CHECK(correlation_id(c) == 0x0102030405060708ULL);
    CHECK_FALSE(is_correlation_frame(frame("0123456789abcdef")));
}

TEST_CASE("share() keeps large payloads shared, not copied") {
    std::string big(100000, 'x');
    Frames m;
    m.add(frame(big));
    Frames s = share(m);
    CHECK(s[0].data() == m[0].data());
    CHECK(view(s[0]) == big);
}
