// Thousands of random and half-valid messages thrown at the broker from several sockets: it keeps serving and
// its state stays bounded.
#include <doctest/doctest.h>
#include <pirates/majordomo/broker.hpp>
#include <pirates/majordomo/client.hpp>
#include <pirates/majordomo/worker.hpp>

#include "support/net.hpp"

#include <random>
#include <thread>

using namespace pirates;
using namespace pirates::majordomo;
using namespace std::chrono_literals;
using pirates::test::eventually;

namespace {

std::string random_bytes(std::mt19937& rng, std::size_t max) {
    std::string s(rng() % (max + 1), '\0');
    for (auto& c : s) c = static_cast<char>(rng() & 0xFF);
    return s;
}

Frames random_message(std::mt19937& rng) {
    static const char* services[] = {"echo", "a", "b", "mmi.service", "mmi.x", "mmi", ""};
    auto pick_service = [&]() -> std::string {
        if (rng() % 3 == 0)
            return "svc" + std::to_string(rng() % 200);  // many names: services must stay bounded
        return services[rng() % 7];
    };
    Frames m;
    auto add = [&](std::string_view s) { m.add(frame(s)); };
    switch (rng() % 10) {
        case 0:  // pure junk
            for (std::size_t n = 1 + rng() % 6; n > 0; --n) add(random_bytes(rng, 20));
            break;
        case 1:  // client request, valid or not
            add("");
            add("MDPC01");
            if (rng() % 4) add(pick_service());
            for (std::size_t n = rng() % 3; n > 0; --n) add(random_bytes(rng, 50));
            break;
        case 2:  // READY, maybe bad
            add("");
            add("MDPW01");
            add("\x01");
            if (rng() % 4) add(pick_service());
            if (rng() % 5 == 0) add("extra");
            break;
        case 3:  // REPLY, maybe bad
            add("");
            add("MDPW01");
            add("\x03");
            if (rng() % 3) add(random_bytes(rng, 8));
            if (rng() % 3) add(rng() % 4 ? "" : "x");
            for (std::size_t n = rng() % 3; n > 0; --n) add(random_bytes(rng, 30));
            break;
        case 4:
            add("");
            add("MDPW01");
            add("\x04");
            break;
        case 5:
            add("");
            add("MDPW01");
            add("\x05");
            break;
        case 6: {  // unknown command byte
            add("");
            add("MDPW01");
            unsigned char b = static_cast<unsigned char>(rng() & 0xFF);
            m.add(Frame(&b, 1));
            break;
        }
        case 7:  // wrong protocol or delimiter
            add(rng() % 2 ? "" : "x");
            add(rng() % 2 ? "MDPC02" : "MDPW0");
            add(pick_service());
            add("body");
            break;
        case 8:  // truncated
            add("");
            if (rng() % 2) add(rng() % 2 ? "MDPC01" : "MDPW01");
            break;
        default:  // REQUEST sent the wrong way
            add("");
            add("MDPW01");
            add("\x02");
            add("C");
            add("");
            add("b");
    }
    return m;
}

}  // namespace

TEST_CASE("a flood of random and half-valid messages: the broker still serves and its state stays bounded") {
    zmq::context_t ctx;
    BrokerOptions options;
    options.bind = "tcp://127.0.0.1:*";
    // busy_timeout: fake workers that were handed a request and never answer are reclaimed too.
    options.core = BrokerConfig{Duration{50}, 3, 20, 40, Duration{200}};
    options.disconnect_on_stop = false;
    Broker broker(ctx, options);
    std::thread loop([&] { broker.run(); });

    constexpr int sockets = 6, per_socket = 2000;
    std::mt19937 rng(20261126);
    std::vector<zmq::socket_t> peers;
    for (int i = 0; i < sockets; ++i) {
        peers.emplace_back(ctx, zmq::socket_type::dealer);
        peers.back().set(zmq::sockopt::linger, 0);
        peers.back().set(zmq::sockopt::sndhwm, 0);
        peers.back().connect(broker.endpoint());
    }
    for (int n = 0; n < per_socket; ++n)
        for (auto& p : peers) random_message(rng).send(p);
    // Drain what the broker sent back (DISCONNECTs, MMI replies, requests to fake workers), so nothing
    // blocks.
    auto drain = [&] {
        for (auto& p : peers) {
            Frames m;
            while (m.recv(p, ZMQ_DONTWAIT)) m.clear();
        }
    };
    CHECK(eventually([&] {
        drain();
        return broker.snapshot().malformed + broker.snapshot().requests + broker.snapshot().protocol_errors >
                   0 &&
               broker.snapshot().services <= 40;
    }));

    // A normal worker and client still get served.
    Worker worker(ctx, WorkerConfig{broker.endpoint(), "echo", 50ms, 3, {50ms, 500ms, 0.2}});
    std::thread serve([&] { worker.run([](Frames&& body) { return std::move(body); }); });
    Client client(ctx, ClientConfig{broker.endpoint(), 500ms, 20});
    auto r = client.request("echo", pirates::test::make_frames({"still alive"}));
    CHECK(r.ok());
    CHECK(pirates::test::strings(r.reply) == std::vector<std::string>{"still alive"});

    // The fake workers registered by the flood never heartbeat: they expire, and only ours is left. The
    // broker may still be working through the flood's backlog (slow under sanitizers), so wait for both:
    // most of the flood counted as malformed, and the fake workers gone.
    CHECK(eventually(
        [&] {
            drain();
            auto s = broker.snapshot();
            return s.malformed > 1000 && s.workers == 1;
        },
        Duration{30000}));
    auto snap = broker.snapshot();
    CHECK(snap.services <= 40);
    CHECK(snap.queued <= 40u * 20u);
    CHECK(snap.malformed > 1000);

    worker.stop();
    serve.join();
    broker.stop();
    loop.join();
    CHECK(broker.core().check_invariants() == "");
    CHECK(broker.core().service_count() <= 40);
}
