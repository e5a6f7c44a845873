// 18/MDP 0.2 and the majortomo dialect, beside 0.1, in the broker core and in mdbroker: every command in both
// directions in both framings, the mixed-version table, malformed 0.2 input, and busy workers that heartbeat.
// Messages are written frame by frame from docs/protocols.md, never built with our encoder.
#include <doctest/doctest.h>
#include <pirates/common/outbox.hpp>
#include <pirates/majordomo/async_client.hpp>
#include <pirates/majordomo/broker_core.hpp>
#include <pirates/majordomo/client.hpp>

#include "raw_peer.hpp"
#include "support/net.hpp"

#include <atomic>
#include <csignal>
#include <map>
#include <set>
#include <thread>

using namespace pirates;
using namespace pirates::majordomo;
using namespace std::chrono_literals;
using pirates::test::eventually;
using pirates::test::make_frames;
using pirates::test::strings;
using S = std::vector<std::string>;

namespace {

struct Core {
    ManualClock clock;
    BrokerCore core;
    explicit Core(BrokerCoreOptions o = small()) : core(o) {}
    static BrokerCoreOptions small() {
        BrokerCoreOptions o;
        o.heartbeat = Duration{100};
        o.liveness = 3;
        return o;
    }
    std::vector<S> send(std::initializer_list<std::string_view> parts) {
        OutboxVector out;
        core.on_message(make_frames(parts), clock.now(), out);
        return all(out.take_messages());
    }
    std::vector<S> tick() {
        OutboxVector out;
        core.tick(clock.now(), out);
        return all(out.take_messages());
    }
    static std::vector<S> all(const std::vector<Frames>& out) {
        std::vector<S> v;
        for (const auto& m : out) v.push_back(strings(m));
        return v;
    }
    void check() { CHECK(core.check_invariants() == ""); }
};

// Frames as each version writes them (protocols.md), behind the peer's identity.
const std::string kC01 = "MDPC01", kW01 = "MDPW01", kC02 = "MDPC02", kW02 = "MDPW02";

}  // namespace

TEST_CASE("18/MDP 0.2 (RFC framing): every command in both directions, MMI, protocol errors") {
    Core f;
    // READY "MDPW02" 0x01 service: no empty frame before the header.
    CHECK(f.send({"W", "MDPW02", "\x01", "echo"}).empty());
    REQUIRE(f.core.worker("W"));
    // The broker heartbeats an idle 0.2 worker with 0x05.
    f.clock.advance(100ms);
    CHECK(f.tick() == std::vector<S>{{"W", kW02, "\x05"}});
    // HEARTBEAT from the worker.
    CHECK(f.send({"W", "MDPW02", "\x05"}).empty());
    CHECK(f.core.stats().heartbeats_received == 1);
    // Client REQUEST "MDPC02" 0x01 service body... -> worker REQUEST "MDPW02" 0x02 client "" body...
    CHECK(f.send({"C", "MDPC02", "\x01", "echo", "a", "b"}) ==
          std::vector<S>{{"W", kW02, "\x02", "C", "", "a", "b"}});
    // PARTIAL 0x03 client "" body -> client PARTIAL "MDPC02" 0x02 service body...
    for (const char* part : {"p1", "p2", "p3"})
        CHECK(f.send({"W", "MDPW02", "\x03", "C", "", part}) ==
              std::vector<S>{{"C", kC02, "\x02", "echo", part}});
    CHECK_FALSE(f.core.worker("W")->idle);  // a PARTIAL does not end the request
    // FINAL 0x04 -> client FINAL "MDPC02" 0x03 service body...; the worker is idle again.
    CHECK(f.send({"W", "MDPW02", "\x04", "C", "", "end", "2"}) ==
          std::vector<S>{{"C", kC02, "\x03", "echo", "end", "2"}});
    CHECK(f.core.worker("W")->idle);
    CHECK(f.core.stats().partials == 3);
    CHECK(f.core.stats().replies == 1);
    f.check();
    // MMI for a 0.2 client: the answer is a FINAL.
    CHECK(f.send({"C", "MDPC02", "\x01", "mmi.service", "echo"}) ==
          std::vector<S>{{"C", kC02, "\x03", "mmi.service", "200"}});
    CHECK(f.send({"C", "MDPC02", "\x01", "mmi.service", "nobody"}) ==
          std::vector<S>{{"C", kC02, "\x03", "mmi.service", "404"}});
    CHECK(f.send({"C", "MDPC02", "\x01", "mmi.nothing", "x"}) ==
          std::vector<S>{{"C", kC02, "\x03", "mmi.nothing", "501"}});
    // Valid but unexpected: DISCONNECT "MDPW02" 0x06, in the 0.2 framing.
    CHECK(f.send({"W", "MDPW02", "\x01", "echo"}) == std::vector<S>{{"W", kW02, "\x06"}});  // second READY
    CHECK_FALSE(f.core.worker("W"));
    CHECK(f.send({"X", "MDPW02", "\x05"}) == std::vector<S>{{"X", kW02, "\x06"}});  // HEARTBEAT, unknown
    CHECK(f.send({"X", "MDPW02", "\x04", "C", "", "r"}) == std::vector<S>{{"X", kW02, "\x06"}});
    CHECK(f.send({"X", "MDPW02", "\x03", "C", "", "r"}) == std::vector<S>{{"X", kW02, "\x06"}});
    CHECK(f.send({"X", "MDPW02", "\x01", "mmi.x"}) == std::vector<S>{{"X", kW02, "\x06"}});
    CHECK(f.core.stats().protocol_errors == 5);
    // DISCONNECT from a worker: forgotten, nothing sent.
    f.send({"V", "MDPW02", "\x01", "echo"});
    CHECK(f.send({"V", "MDPW02", "\x06"}).empty());
    CHECK_FALSE(f.core.worker("V"));
    // A worker that changes version is a protocol error.
    f.send({"U", "MDPW02", "\x01", "echo"});
    CHECK(f.send({"U", "", "MDPW01", "\x04"}) == std::vector<S>{{"U", "", kW01, "\x05"}});
    CHECK(f.core.stats().protocol_errors == 6);
    CHECK_FALSE(f.core.worker("U"));
    CHECK(f.core.stats().malformed == 0);
    f.check();
}

TEST_CASE("the majortomo dialect: every command in both directions, MMI, protocol errors") {
    Core f;
    CHECK(f.send({"W", "", "MDPW02", "\x01", "echo"}).empty());
    REQUIRE(f.core.worker("W"));
    f.clock.advance(100ms);
    CHECK(f.tick() == std::vector<S>{{"W", "", kW02, "\x05"}});
    CHECK(f.send({"W", "", "MDPW02", "\x05"}).empty());
    // Client REQUEST is 0x02 behind an empty frame; the worker gets the RFC's REQUEST behind an empty frame.
    CHECK(f.send({"C", "", "MDPC02", "\x02", "echo", "a"}) ==
          std::vector<S>{{"W", "", kW02, "\x02", "C", "", "a"}});
    // Replies to the client: PARTIAL 0x03 and FINAL 0x04, no service frame.
    CHECK(f.send({"W", "", "MDPW02", "\x03", "C", "", "p"}) == std::vector<S>{{"C", "", kC02, "\x03", "p"}});
    CHECK(f.send({"W", "", "MDPW02", "\x04", "C", "", "f"}) == std::vector<S>{{"C", "", kC02, "\x04", "f"}});
    CHECK(f.core.worker("W")->idle);
    // MMI (majortomo has none; we answer in its framing).
    CHECK(f.send({"C", "", "MDPC02", "\x02", "mmi.service", "echo"}) ==
          std::vector<S>{{"C", "", kC02, "\x04", "200"}});
    // Protocol errors: DISCONNECT 0x06 behind an empty frame.
    CHECK(f.send({"W", "", "MDPW02", "\x01", "echo"}) == std::vector<S>{{"W", "", kW02, "\x06"}});
    CHECK(f.send({"X", "", "MDPW02", "\x05"}) == std::vector<S>{{"X", "", kW02, "\x06"}});
    CHECK(f.core.stats().protocol_errors == 2);
    f.send({"V", "", "MDPW02", "\x01", "echo"});
    CHECK(f.send({"V", "", "MDPW02", "\x06"}).empty());
    CHECK(f.core.worker_count() == 0);
    CHECK(f.core.stats().malformed == 0);
    f.check();
}

TEST_CASE("malformed 0.2 input (both framings) is dropped and counted, nothing sent, nobody forgotten") {
    Core f;
    f.send({"W", "MDPW02", "\x01", "echo"});
    f.send({"M", "", "MDPW02", "\x01", "echo"});
    const std::vector<std::vector<std::string_view>> bad = {
        {"C", "MDPC02"},                            // no command
        {"C", "MDPC02", "\x01", "echo"},            // no body
        {"C", "MDPC02", "\x01", "", "x"},           // empty service
        {"C", "MDPC02", "\x01\x01", "echo", "x"},   // two-byte command
        {"C", "MDPC02", "\x02", "echo", "x"},       // PARTIAL from a client
        {"C", "MDPC02", "\x03", "echo", "x"},       // FINAL from a client
        {"C", "", "MDPC02", "\x01", "echo", "x"},   // the RFC's REQUEST byte in majortomo framing
        {"C", "", "MDPC02", "\x03", "echo", "x"},   // a reply command from a majortomo client
        {"C", "MDPC01", "echo", "x"},               // 0.1 without its empty frame
        {"C", "MDPC03", "\x01", "echo", "x"},       // unknown header
        {"W", "MDPW02"},                            // no command
        {"W", "MDPW02", "\x07"},                    // unknown command
        {"W", "MDPW02", "\x00"},                    // unknown command
        {"W", "MDPW02", "\x02", "C", "", "x"},      // REQUEST from a worker
        {"W", "MDPW02", "\x01"},                    // READY without service
        {"W", "MDPW02", "\x01", "a", "b"},          // READY with two
        {"W", "MDPW02", "\x05", "x"},               // HEARTBEAT with a frame
        {"W", "MDPW02", "\x06", "x"},               // DISCONNECT with a frame
        {"W", "MDPW02", "\x04", "C", "body"},       // FINAL without the empty frame (too short)
        {"W", "MDPW02", "\x04", "C", "x", "body"},  // FINAL whose second frame is not empty
        {"W", "MDPW02", "\x03", "", "", "body"},    // PARTIAL with an empty client address
        {"W", "MDPW02", "\x05\x05"},                // two-byte command
        {"W", "MDPW01", "\x04"},                    // 0.1 without its empty frame
        {"M", "", "MDPW02", "\x05", "x"},           // majortomo HEARTBEAT with a frame
        {"M", "", "MDPW02", "\x04", "C"},           // majortomo FINAL, too short
        {"M", "", "", "MDPW02", "\x05"},            // two empty frames
    };
    for (const auto& m : bad) {
        OutboxVector out;
        Frames frames;
        for (auto p : m) frames.add(Frame(p.data(), p.size()));
        f.core.on_message(std::move(frames), f.clock.now(), out);
        CHECK(out.take_messages().empty());
    }
    CHECK(f.core.stats().malformed == bad.size());
    CHECK(f.core.stats().protocol_errors == 0);
    CHECK(f.core.worker_count() == 2);
    CHECK(f.core.stats().requests == 0);
    f.check();
}

TEST_CASE("mixed versions: each peer is answered in its own framing (the table in protocols.md)") {
    Core f;
    SUBCASE("0.2 client, 0.1 worker: the REPLY is the client's FINAL") {
        f.send({"W", "", "MDPW01", "\x01", "echo"});
        CHECK(f.send({"C", "MDPC02", "\x01", "echo", "a"}) ==
              std::vector<S>{{"W", "", kW01, "\x02", "C", "", "a"}});
        CHECK(f.send({"W", "", "MDPW01", "\x03", "C", "", "A"}) ==
              std::vector<S>{{"C", kC02, "\x03", "echo", "A"}});
    }
    SUBCASE("majortomo client, 0.1 worker") {
        f.send({"W", "", "MDPW01", "\x01", "echo"});
        f.send({"C", "", "MDPC02", "\x02", "echo", "a"});
        CHECK(f.send({"W", "", "MDPW01", "\x03", "C", "", "A"}) ==
              std::vector<S>{{"C", "", kC02, "\x04", "A"}});
    }
    SUBCASE("0.1 client, 0.2 worker: the FINAL is its reply, PARTIALs are dropped and counted") {
        f.send({"W", "MDPW02", "\x01", "echo"});
        CHECK(f.send({"C", "", "MDPC01", "echo", "a"}) == std::vector<S>{{"W", kW02, "\x02", "C", "", "a"}});
        CHECK(f.send({"W", "MDPW02", "\x03", "C", "", "p1"}).empty());
        CHECK(f.send({"W", "MDPW02", "\x03", "C", "", "p2"}).empty());
        CHECK(f.core.stats().partials_dropped == 2);
        CHECK(f.send({"W", "MDPW02", "\x04", "C", "", "A"}) == std::vector<S>{{"C", "", kC01, "echo", "A"}});
        CHECK(f.core.worker("W")->idle);
    }
    SUBCASE("RFC 0.2 client, majortomo worker, and the reverse") {
        f.send({"M", "", "MDPW02", "\x01", "echo"});
        CHECK(f.send({"C", "MDPC02", "\x01", "echo", "a"}) ==
              std::vector<S>{{"M", "", kW02, "\x02", "C", "", "a"}});
        CHECK(f.send({"M", "", "MDPW02", "\x03", "C", "", "p"}) ==
              std::vector<S>{{"C", kC02, "\x02", "echo", "p"}});
        CHECK(f.send({"M", "", "MDPW02", "\x04", "C", "", "f"}) ==
              std::vector<S>{{"C", kC02, "\x03", "echo", "f"}});
        f.send({"M", "", "MDPW02", "\x06"});
        f.send({"R", "MDPW02", "\x01", "echo"});
        CHECK(f.send({"D", "", "MDPC02", "\x02", "echo", "b"}) ==
              std::vector<S>{{"R", kW02, "\x02", "D", "", "b"}});
        CHECK(f.send({"R", "MDPW02", "\x03", "D", "", "p"}) == std::vector<S>{{"D", "", kC02, "\x03", "p"}});
        CHECK(f.send({"R", "MDPW02", "\x04", "D", "", "f"}) == std::vector<S>{{"D", "", kC02, "\x04", "f"}});
    }
    SUBCASE("one service, workers of every version, clients of every version, queued requests") {
        // Requests queue first, then workers of three versions take them in order.
        CHECK(f.send({"C1", "", "MDPC01", "echo", "1"}).empty());
        CHECK(f.send({"C2", "MDPC02", "\x01", "echo", "2"}).empty());
        CHECK(f.send({"C3", "", "MDPC02", "\x02", "echo", "3"}).empty());
        CHECK(f.send({"W2", "MDPW02", "\x01", "echo"}) ==
              std::vector<S>{{"W2", kW02, "\x02", "C1", "", "1"}});
        CHECK(f.send({"WM", "", "MDPW02", "\x01", "echo"}) ==
              std::vector<S>{{"WM", "", kW02, "\x02", "C2", "", "2"}});
        CHECK(f.send({"W1", "", "MDPW01", "\x01", "echo"}) ==
              std::vector<S>{{"W1", "", kW01, "\x02", "C3", "", "3"}});
        CHECK(f.core.service("echo")->workers == 3);
        CHECK(f.send({"W1", "", "MDPW01", "\x03", "C3", "", "3!"}) ==
              std::vector<S>{{"C3", "", kC02, "\x04", "3!"}});
        CHECK(f.send({"WM", "", "MDPW02", "\x04", "C2", "", "2!"}) ==
              std::vector<S>{{"C2", kC02, "\x03", "echo", "2!"}});
        CHECK(f.send({"W2", "MDPW02", "\x04", "C1", "", "1!"}) ==
              std::vector<S>{{"C1", "", kC01, "echo", "1!"}});
        CHECK(f.core.idle_count() == 3);
    }
    f.check();
}

TEST_CASE("busy workers: one seen heartbeating while busy is expired when silent, its request redelivered") {
    Core f;  // heartbeat 100 ms x liveness 3
    f.send({"A", "MDPW02", "\x01", "echo"});
    f.send({"B", "", "MDPW01", "\x01", "echo"});  // never heartbeats while busy (a Guide worker)
    CHECK(f.send({"C", "MDPC02", "\x01", "echo", "job"}) ==
          std::vector<S>{{"A", kW02, "\x02", "C", "", "job"}});
    CHECK(f.send({"D", "", "MDPC01", "echo", "long"}) ==
          std::vector<S>{{"B", "", kW01, "\x02", "D", "", "long"}});
    f.clock.advance(100ms);
    f.tick();
    f.send({"A", "MDPW02", "\x05"});  // one: it may have left A before A read the request
    f.send({"B", "", "MDPW01", "\x04"});
    CHECK_FALSE(f.core.worker("A")->beats_while_busy);
    f.clock.advance(100ms);
    f.tick();
    f.send({"A", "MDPW02", "\x05"});  // two in one request: from now on A is expired when silent
    CHECK(f.core.worker("A")->beats_while_busy);
    CHECK_FALSE(f.core.worker("B")->beats_while_busy);
    f.clock.advance(299ms);
    CHECK(f.tick().empty());
    f.clock.advance(1ms);  // A silent for heartbeat x liveness: DISCONNECT, request back at the front
    CHECK(f.tick() == std::vector<S>{{"A", kW02, "\x06"}});
    CHECK(f.core.stats().busy_expired == 1);
    CHECK(f.core.service("echo")->queued == 1);
    // B, silent while busy far longer than heartbeat x liveness, is still there.
    f.clock.advance(10s);
    CHECK(f.tick().empty());
    REQUIRE(f.core.worker("B"));
    // A late reply from the expired A is not forwarded: DISCONNECT, as any unknown worker.
    CHECK(f.send({"A", "MDPW02", "\x04", "C", "", "late"}) == std::vector<S>{{"A", kW02, "\x06"}});
    // B answers; then it takes C's request (redelivered, in C's framing back).
    CHECK(f.send({"B", "", "MDPW01", "\x03", "D", "", "LONG"}) ==
          std::vector<S>{{"D", "", kC01, "echo", "LONG"}, {"B", "", kW01, "\x02", "C", "", "job"}});
    CHECK(f.send({"B", "", "MDPW01", "\x03", "C", "", "JOB"}) ==
          std::vector<S>{{"C", kC02, "\x03", "echo", "JOB"}});
    CHECK(f.core.stats().requests_requeued == 1);
    f.check();
}

TEST_CASE("busy workers: a request whose workers hang is redelivered at most max_redeliveries times") {
    for (int max : {0, 1, 2}) {
        CAPTURE(max);
        auto o = Core::small();
        o.max_redeliveries = max;
        Core f(o);
        f.send({"C", "MDPC02", "\x01", "echo", "poison"});
        for (int i = 0; i <= max; ++i) {
            const std::string w = "W" + std::to_string(i);
            auto out = f.send({w, "MDPW02", "\x01", "echo"});
            REQUIRE(out == std::vector<S>{{w, kW02, "\x02", "C", "", "poison"}});
            f.send({w, "MDPW02", "\x05"});  // heartbeats while busy, then hangs
            f.send({w, "MDPW02", "\x05"});
            f.clock.advance(300ms);
            CHECK(f.tick() == std::vector<S>{{w, kW02, "\x06"}});
            f.check();
        }
        CHECK(f.core.stats().requests_requeued == static_cast<std::uint64_t>(max));
        CHECK(f.core.stats().redelivery_drops == 1);
        CHECK(f.core.queued_count() == 0);
    }
}

// ---- The same bytes to the mdbroker program ----

TEST_CASE("raw 0.2 frames to mdbroker: RFC and majortomo peers share a service, PARTIALs, FINAL, MMI") {
    using namespace pirates::test::md;
    pirates::test::Process broker("mdbroker", {"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "50"});
    const std::string ep = broker.bound_endpoint("broker");
    REQUIRE(!ep.empty());
    zmq::context_t ctx;
    auto w = dealer(ctx, ep);
    send(w, {"MDPW02", "\x01", "echo"});
    CHECK(next(w) == S{"MDPW02", "\x05"});  // heartbeat in 0.2 framing
    auto client = dealer(ctx, ep);
    send(client, {"MDPC02", "\x01", "echo", "hello"});
    S req;
    do req = next(w);
    while (req == S{"MDPW02", "\x05"});
    REQUIRE(req.size() == 5);
    CHECK(req[0] == "MDPW02");
    CHECK(req[1] == "\x02");
    CHECK(req[3] == "");
    CHECK(req[4] == "hello");
    for (const char* p : {"1", "2", "3"}) send(w, {"MDPW02", "\x03", req[2], "", p});
    send(w, {"MDPW02", "\x04", req[2], "", "done"});
    CHECK(next(client) == S{"MDPC02", "\x02", "echo", "1"});
    CHECK(next(client) == S{"MDPC02", "\x02", "echo", "2"});
    CHECK(next(client) == S{"MDPC02", "\x02", "echo", "3"});
    CHECK(next(client) == S{"MDPC02", "\x03", "echo", "done"});
    // A majortomo client of the same worker.
    auto mt = dealer(ctx, ep);
    send(mt, {"", "MDPC02", "\x02", "echo", "hi"});
    do req = next(w);
    while (req == S{"MDPW02", "\x05"});
    REQUIRE(req.size() == 5);
    send(w, {"MDPW02", "\x03", req[2], "", "p"});
    send(w, {"MDPW02", "\x04", req[2], "", "f"});
    CHECK(next(mt) == S{"", "MDPC02", "\x03", "p"});
    CHECK(next(mt) == S{"", "MDPC02", "\x04", "f"});
    send(client, {"MDPC02", "\x01", "mmi.service", "echo"});
    CHECK(next(client) == S{"MDPC02", "\x03", "mmi.service", "200"});
    // Malformed 0.2 input does not hurt: the broker still answers.
    send(client, {"MDPC02", "\x07", "echo", "x"});
    send(client, {"MDPW02"});
    send(client, {"MDPC02", "\x01", "mmi.service", "nobody"});
    CHECK(next(client) == S{"MDPC02", "\x03", "mmi.service", "404"});
    CHECK(stops_cleanly(broker));
}

// ---- The APIs and programs, over tcp loopback ----

namespace {

std::unique_ptr<pirates::test::Process> md_broker() {
    return std::make_unique<pirates::test::Process>(
        "mdbroker", std::vector<std::string>{"--bind", "tcp://127.0.0.1:*", "--heartbeat-ms", "50", "-v"});
}

std::unique_ptr<pirates::test::Process> md_worker(const std::string& ep, std::vector<std::string> extra) {
    std::vector<std::string> args{"--connect",      ep,   "--service", "echo", "--heartbeat-ms", "50",
                                  "--reconnect-ms", "50", "-v"};
    args.insert(args.end(), extra.begin(), extra.end());
    return std::make_unique<pirates::test::Process>("mdworker", args);
}

}  // namespace

TEST_CASE(
    "a 0.2 client gets three PARTIALs and one FINAL in order (mdworker --partials 3, each 0.2 framing)") {
    auto broker = md_broker();
    const std::string ep = broker->bound_endpoint("broker");
    REQUIRE(!ep.empty());
    for (const std::string worker_mdp : {"0.2", "majortomo"}) {
        for (Version client_version : {Version::v02, Version::majortomo}) {
            CAPTURE(worker_mdp);
            const std::string client_mdp(version_name(client_version));
            CAPTURE(client_mdp);
            auto worker = md_worker(ep, {"--mdp", worker_mdp, "--partials", "3"});
            REQUIRE(worker->wait_for("connecting to"));
            zmq::context_t ctx;
            ClientOptions o{ep, Duration{5000}, 1};
            o.version = client_version;
            Client client(ctx, o);
            std::vector<std::string> got;
            auto r = client.request("echo", make_frames({"hello"}), [&](Frames&& partial) {
                REQUIRE(partial.size() == 1);
                got.push_back(partial[0].to_string());
            });
            REQUIRE(r.ok());
            CHECK(got == S{"partial 1/3", "partial 2/3", "partial 3/3"});
            CHECK(strings(r.reply) == S{"hello"});
            CHECK(client.stats().partials == 3);
            worker->signal(SIGTERM);
            CHECK(worker->wait_exit(Duration{5000}) == 0);
        }
    }
    {
        // The async client: partials by request id, each request's three before its completion.
        auto worker = md_worker(ep, {"--mdp", "0.2", "--partials", "3"});
        REQUIRE(worker->wait_for("connecting to"));
        zmq::context_t ctx;
        std::map<std::uint64_t, S> partials;
        AsyncClientOptions o{ep, Duration{5000}, 1, Version::v02};
        o.on_partial = [&](std::uint64_t id, Frames&& body) { partials[id].push_back(body[0].to_string()); };
        AsyncClient client(ctx, o);
        std::set<std::uint64_t> ids;
        for (int i = 0; i < 5; ++i) ids.insert(client.send("echo", make_frames({"r" + std::to_string(i)})));
        for (int i = 0; i < 5; ++i) {
            auto c = client.recv(Duration{5000});
            REQUIRE(c);
            REQUIRE(c->ok());
            CHECK(ids.erase(c->id) == 1);
            CHECK(partials[c->id] == S{"partial 1/3", "partial 2/3", "partial 3/3"});
        }
        CHECK(client.stats().partials == 15);
        worker->signal(SIGTERM);
        CHECK(worker->wait_exit(Duration{5000}) == 0);
    }
    // mdclient --mdp 0.2 prints each partial; a 0.1 mdclient gets only the FINAL (the broker drops the
    // PARTIALs it cannot take).
    auto worker = md_worker(ep, {"--mdp", "0.2", "--partials", "3"});
    pirates::test::Process v02("mdclient",
                               {"--connect", ep, "--service", "echo", "--requests", "2", "--mdp", "0.2"});
    CHECK(v02.wait_exit(Duration{10000}) == 0);
    CHECK(v02.wait_for("answered 2 matched 2"));  // (all its output read)
    CHECK(v02.count("partial [\"partial ") == 6);
    CHECK(v02.output().find(
              "request 1 partial [\"partial 1/3\"]\nmdclient: request 1 partial [\"partial 2/3\"]\n"
              "mdclient: request 1 partial [\"partial 3/3\"]\nmdclient: request 2 partial") !=
          std::string::npos);
    pirates::test::Process v01("mdclient", {"--connect", ep, "--service", "echo", "--requests", "2"});
    CHECK(v01.wait_exit(Duration{10000}) == 0);
    CHECK(v01.wait_for("answered 2 matched 2"));
    CHECK(v01.count("partial") == 0);
    pirates::test::Process bad("mdworker", {"--connect", ep, "--service", "echo", "--mdp", "0.3"});
    CHECK(bad.wait_exit(Duration{5000}) == 2);
    pirates::test::Process bad2("mdworker", {"--connect", ep, "--service", "echo", "--partials", "2"});
    CHECK(bad2.wait_exit(Duration{5000}) == 2);
}

TEST_CASE(
    "a worker frozen (SIGSTOP) in the middle of a long request is replaced, without the client resending") {
    for (const std::string mdp : {"0.1", "0.2"}) {
        CAPTURE(mdp);
        auto broker = md_broker();  // heartbeat 50 ms x liveness 3
        const std::string ep = broker->bound_endpoint("broker");
        REQUIRE(!ep.empty());
        // The first request quick, the second 5 s long: the worker heartbeats while it works on it.
        auto frozen = md_worker(ep, {"--mdp", mdp, "--slow-after", "1", "--delay-ms", "5000"});
        REQUIRE(broker->wait_for("ready for 'echo'"));
        zmq::context_t ctx;
        ClientOptions o{ep, Duration{10000}, 1};  // one attempt: the broker, not a retry, must move it
        o.version = parse_version(mdp).value();
        Client client(ctx, o);
        REQUIRE(client.request("echo", make_frames({"quick"})).ok());
        auto healthy = md_worker(ep, {"--mdp", mdp});
        REQUIRE(eventually([&] { return broker->count("ready for 'echo'") >= 2; }));
        std::atomic<bool> done{false};
        Outcome<Frames> slow = Outcome<Frames>::failed(Status::gave_up, 0, "not run");
        std::thread t([&] {
            slow = client.request("echo", make_frames({"slow"}));
            done = true;
        });
        // The broker has seen the busy worker heartbeat; then the worker freezes, its connection open.
        REQUIRE(broker->wait_for("heartbeats while busy"));
        frozen->signal(SIGSTOP);
        const auto frozen_at = Clock::now();
        REQUIRE(eventually([&] { return done.load(); }, Duration{4000}));
        const auto took = std::chrono::duration_cast<Duration>(Clock::now() - frozen_at);
        t.join();
        REQUIRE(slow.ok());
        CHECK(strings(slow.reply) == S{"slow"});
        CHECK(slow.attempts == 1);
        CHECK(broker->wait_for("heartbeating while busy, then silent"));
        MESSAGE("MDP ", mdp, ": answered by the other worker ", took.count(),
                " ms after the first froze (heartbeat 50 ms x liveness 3)");
        frozen->signal(SIGKILL);
        CHECK(frozen->wait_exit(Duration{5000}));
    }
}

TEST_CASE("a Guide-style worker, silent while busy far longer than heartbeat x liveness, is not expired") {
    using namespace pirates::test::md;
    auto broker = md_broker();  // heartbeat 50 ms x liveness 3 = 150 ms
    const std::string ep = broker->bound_endpoint("broker");
    REQUIRE(!ep.empty());
    zmq::context_t ctx;
    for (const std::string version : {"0.1", "0.2"}) {
        CAPTURE(version);
        const bool v01 = version == "0.1";
        const S heartbeat = v01 ? S{"", "MDPW01", "\x04"} : S{"MDPW02", "\x05"};
        auto w = dealer(ctx, ep);
        send(w, v01 ? S{"", "MDPW01", "\x01", "slow"} : S{"MDPW02", "\x01", "slow"});
        REQUIRE(next(w) == heartbeat);  // registered, and idle heartbeats flow
        send(w, heartbeat);
        auto client = dealer(ctx, ep);
        send(client, v01 ? S{"", "MDPC01", "slow", "job"} : S{"MDPC02", "\x01", "slow", "job"});
        S request;
        do request = next(w);
        while (request == heartbeat);
        REQUIRE(request.size() == (v01 ? 6u : 5u));
        // One HEARTBEAT that had left before the worker read the request, then silence while it works.
        send(w, heartbeat);
        CHECK(next(client, Duration{800}).empty());  // 800 ms of work: nothing comes back meanwhile
        const std::string& client_id = request[v01 ? 3 : 2];
        send(w,
             v01 ? S{"", "MDPW01", "\x03", client_id, "", "JOB"} : S{"MDPW02", "\x04", client_id, "", "JOB"});
        CHECK(next(client) == (v01 ? S{"", "MDPC01", "slow", "JOB"} : S{"MDPC02", "\x03", "slow", "JOB"}));
        // Not expired: it is still registered (idle heartbeats come, no DISCONNECT).
        CHECK(next(w) == heartbeat);
        send(w, v01 ? S{"", "MDPW01", "\x05"} : S{"MDPW02", "\x06"});
    }
    CHECK(stops_cleanly(*broker));  // (its output read to the end)
    CHECK(broker->count("' expired: ") ==
          0);  // no worker expired, busy or not ("worker W of 's' expired: ...")
}

TEST_CASE("client codec, 0.2 and majortomo: requests as the broker expects them, PARTIAL/FINAL decoded") {
    CHECK(strings(encode_client_request(Version::v02, "svc", make_frames({"a", "b"}))) ==
          S{"MDPC02", "\x01", "svc", "a", "b"});
    CHECK(strings(encode_client_request(Version::majortomo, "svc", make_frames({"a"}))) ==
          S{"", "MDPC02", "\x02", "svc", "a"});
    CHECK(strings(encode_client_request(Version::v01, "svc", make_frames({"a"}))) ==
          S{"", "MDPC01", "svc", "a"});
    auto partial = decode_client_answer(make_frames({"MDPC02", "\x02", "svc", "p"}), Version::v02);
    REQUIRE(partial);
    CHECK_FALSE(partial->final);
    CHECK(partial->service.to_string_view() == "svc");
    CHECK(strings(partial->body) == S{"p"});
    auto final = decode_client_answer(make_frames({"MDPC02", "\x03", "svc", "f", "g"}), Version::v02);
    REQUIRE(final);
    CHECK(final->final);
    CHECK(strings(final->body) == S{"f", "g"});
    auto mt = decode_client_answer(make_frames({"", "MDPC02", "\x03", "p"}), Version::majortomo);
    REQUIRE(mt);
    CHECK_FALSE(mt->final);
    CHECK(strings(mt->body) == S{"p"});
    auto mtf = decode_client_answer(make_frames({"", "MDPC02", "\x04", "f"}), Version::majortomo);
    REQUIRE(mtf);
    CHECK(mtf->final);
    auto v01 = decode_client_answer(make_frames({"", "MDPC01", "svc", "r"}), Version::v01);
    REQUIRE(v01);
    CHECK(v01->final);
    // Malformed for the version spoken.
    for (auto bad : std::vector<std::pair<std::vector<std::string_view>, Version>>{
             {{"MDPC02", "\x01", "svc", "x"}, Version::v02},         // REQUEST is not a reply
             {{"MDPC02", "\x03", "svc"}, Version::v02},              // no body
             {{"", "MDPC02", "\x03", "svc", "x"}, Version::v02},     // majortomo framing to a 0.2 client
             {{"MDPC02", "\x04", "x"}, Version::majortomo},          // no empty frame
             {{"", "MDPC02", "\x02", "x"}, Version::majortomo},      // 0x02 is not a majortomo reply
             {{"", "MDPC02", "\x04"}, Version::majortomo},           // no body
             {{"", "MDPC01", "svc", "x"}, Version::v02},             // 0.1 to a 0.2 client
             {{"MDPC02", "\x03\x03", "svc", "x"}, Version::v02}}) {  // two-byte command
        Frames m;
        for (auto p : bad.first) m.add(Frame(p.data(), p.size()));
        CHECK_FALSE(decode_client_answer(std::move(m), bad.second));
    }
    CHECK(parse_version("0.2") == Version::v02);
    CHECK(parse_version("majortomo") == Version::majortomo);
    CHECK_FALSE(parse_version("0.3"));
}

TEST_CASE("programs: --max-redeliveries, --mdp and --partials are checked (exit 2), and shown by --help") {
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"mdbroker", "--bind", "tcp://127.0.0.1:*", "--max-redeliveries", "-1"},
             {"mdbroker", "--bind", "tcp://127.0.0.1:*", "--max-redeliveries", "x"},
             {"mdclient", "--connect", "tcp://127.0.0.1:1", "--service", "echo", "--mdp", "0.9"},
             {"mdworker", "--connect", "tcp://127.0.0.1:1", "--service", "echo", "--mdp", "majortomo",
              "--partials", "-2"}}) {
        CAPTURE(args[0]);
        pirates::test::Process p(args[0], std::vector<std::string>(args.begin() + 1, args.end()));
        CHECK(p.wait_exit(Duration{5000}) == 2);
    }
    pirates::test::Process broker_help("mdbroker", {"--help"});
    CHECK(broker_help.wait_for("--max-redeliveries"));
    CHECK(broker_help.wait_exit(Duration{5000}) == 0);
    pirates::test::Process worker_help("mdworker", {"--help"});
    CHECK(worker_help.wait_for("--mdp"));
    CHECK(worker_help.wait_for("--partials"));
    CHECK(worker_help.wait_exit(Duration{5000}) == 0);
}
