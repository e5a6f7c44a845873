#include <doctest/doctest.h>
#include <pirates/titanic/core.hpp>

#include "support/net.hpp"
#include "temp_dir.hpp"

#include <cerrno>
#include <set>

using namespace pirates;
using namespace pirates::titanic;
using namespace std::chrono_literals;
using pirates::test::make_frames;
using pirates::test::strings;
using pirates::test::TempDir;
using Strings = std::vector<std::string>;

namespace {

std::unique_ptr<Store> open_store(const std::string& dir, FileIo* io = nullptr) {
    StoreOptions o;
    o.dir = dir;
    o.io = io;
    auto r = Store::open(o);
    REQUIRE_MESSAGE(r.ok(), (r.ok() ? "" : r.error().reason));
    return std::move(r.value());
}

DispatchPolicy policy(int lanes = 4) {
    DispatchPolicy p;
    p.lanes = lanes;
    p.timeout = 100ms;
    p.backoff = BackoffPolicy{Duration{50}, Duration{400}, 0.0};  // no jitter: exact delays
    return p;
}

// One core on one store, with a manual clock and helpers that play the driver.
struct Fixture {
    TempDir dir;
    ManualClock clock;
    std::unique_ptr<Store> store;
    std::unique_ptr<TitanicCore> core;
    explicit Fixture(FileIo* io = nullptr, int lanes = 4) { open(io, lanes); }
    void open(FileIo* io = nullptr, int lanes = 4) {
        core.reset();
        store.reset();
        store = open_store(dir.str(), io);
        core = std::make_unique<TitanicCore>(*store, policy(lanes), 7);
    }
    // One service call and the commit at the end of the turn; the answer's frames.
    Strings call(std::string_view service, std::initializer_list<std::string_view> body) {
        std::vector<Answer> out;
        Frames m = make_frames(body);
        if (service == services::request)
            core->request(1, std::move(m), out);
        else if (service == services::reply)
            core->reply(1, std::move(m), out);
        else
            core->close(1, std::move(m), out);
        core->commit(clock.now(), out);
        REQUIRE(out.size() == 1);
        CHECK(out[0].to == 1);
        return strings(out[0].body);
    }
    std::string submit(std::string_view service, std::string_view body) {
        auto a = call(services::request, {service, body});
        REQUIRE(a.size() == 2);
        REQUIRE(a[0] == "200");
        return a[1];
    }
    std::vector<LaneCommand> dispatch() {
        std::vector<LaneCommand> out;
        core->dispatch(clock.now(), out);
        return out;
    }
    std::vector<LaneCommand> lane_reply(int lane, std::string_view service,
                                        std::initializer_list<std::string_view> b) {
        std::vector<LaneCommand> out;
        core->lane_reply(lane, service, make_frames(b), clock.now(), out);
        return out;
    }
    void commit() {
        std::vector<Answer> out;
        core->commit(clock.now(), out);
    }
};

bool is_send(const LaneCommand& c, std::string_view service, const Strings& body) {
    return c.kind == LaneCommand::Kind::send && c.service == service && strings(c.body) == body;
}

}  // namespace

TEST_CASE("core: request, pending, dispatch through mmi.service, reply stored, reply read, close") {
    Fixture f;
    auto id = f.submit("echo", "hello");
    CHECK(id.size() == 32);
    CHECK(f.call(services::reply, {id}) == Strings{"300"});

    auto cmds = f.dispatch();
    REQUIRE(cmds.size() == 1);
    CHECK(is_send(cmds[0], "mmi.service", {"echo"}));
    int lane = cmds[0].lane;
    cmds = f.lane_reply(lane, "mmi.service", {"200"});
    REQUIRE(cmds.size() == 1);
    CHECK(is_send(cmds[0], "echo", {"hello"}));
    CHECK(cmds[0].lane == lane);
    CHECK(f.lane_reply(lane, "echo", {"HELLO", "again"}).empty());
    CHECK(f.call(services::reply, {id}) == Strings{"300"});  // staged, not yet committed
    f.commit();
    CHECK(f.core->stats().replies_stored == 1);
    CHECK(f.call(services::reply, {id}) == Strings{"200", "HELLO", "again"});
    CHECK(f.dispatch().empty());  // nothing left to do

    CHECK(f.call(services::close, {id}) == Strings{"200"});
    CHECK(f.call(services::reply, {id}) == Strings{"400"});
    CHECK(f.call(services::close, {id}) == Strings{"200"});  // closing twice is harmless
    CHECK(f.store->stats().open == 0);
}

TEST_CASE("core: uuids are accepted in lower case too") {
    Fixture f;
    auto id = f.submit("echo", "x");
    std::string lower = id;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK(f.call(services::reply, {lower}) == Strings{"300"});
    CHECK(f.call(services::close, {lower}) == Strings{"200"});
    CHECK(f.call(services::reply, {id}) == Strings{"400"});
}

TEST_CASE("core: requests arriving in one turn share one fsync (group commit)") {
    Fixture f;
    std::vector<Answer> out;
    for (Handle h = 1; h <= 8; ++h) f.core->request(h, make_frames({"echo", std::to_string(h)}), out);
    CHECK(out.empty());  // nothing acknowledged before the commit
    CHECK(f.core->has_staged());
    auto before = f.store->stats().commits;
    f.core->commit(f.clock.now(), out);
    CHECK(f.store->stats().commits == before + 1);
    REQUIRE(out.size() == 8);
    std::set<std::string> ids;
    for (Handle h = 1; h <= 8; ++h) {
        CHECK(out[h - 1].to == h);
        auto a = strings(out[h - 1].body);
        REQUIRE(a.size() == 2);
        CHECK(a[0] == "200");
        ids.insert(a[1]);
    }
    CHECK(ids.size() == 8);
}

TEST_CASE("core: hostile input answers 400 and touches nothing") {
    Fixture f;
    const std::string path_like = "../../etc/passwd0000000000000000";
    CHECK(path_like.size() == 32);
    for (auto service : {services::reply, services::close}) {
        CAPTURE(service);
        CHECK(f.call(service, {}) == Strings{"400"});                                     // missing frame
        CHECK(f.call(service, {"0123456789ABCDEF0123456789ABCDE"}) == Strings{"400"});    // short
        CHECK(f.call(service, {"0123456789ABCDEF0123456789ABCDEF0"}) == Strings{"400"});  // long
        CHECK(f.call(service, {"0123456789ABCDEF0123456789ABCDEZ"}) == Strings{"400"});   // not hex
        CHECK(f.call(service, {path_like}) == Strings{"400"});                            // path-like
        CHECK(f.call(service, {std::string_view("0123456789ABCDEF\0"
                                                "123456789ABCDE",
                                                32)}) == Strings{"400"});
        CHECK(f.call(service, {"0123456789ABCDEF0123456789ABCDEF", "extra"}) == Strings{"400"});
    }
    // A well-formed UUID nobody issued: unknown for reply, nothing to forget for close.
    CHECK(f.call(services::reply, {"0123456789ABCDEF0123456789ABCDEF"}) == Strings{"400"});
    CHECK(f.call(services::close, {"0123456789ABCDEF0123456789ABCDEF"}) == Strings{"200"});
    CHECK(f.call(services::request, {}) == Strings{"400"});            // no service
    CHECK(f.call(services::request, {"echo"}) == Strings{"400"});      // no body
    CHECK(f.call(services::request, {"", "body"}) == Strings{"400"});  // empty service name
    CHECK(f.core->stats().bad_input == 2 * 7 + 3);
    CHECK(f.store->stats().open == 0);
    CHECK(f.store->stats().records == 0);  // nothing was written
}

TEST_CASE("core: an unavailable service is retried with back-off, and a success resets the back-off") {
    Fixture f;
    f.submit("later", "a");
    auto cmds = f.dispatch();
    REQUIRE(cmds.size() == 1);
    CHECK(f.lane_reply(cmds[0].lane, "mmi.service", {"404"}).empty());
    CHECK(f.core->stats().unavailable == 1);
    CHECK(f.dispatch().empty());
    CHECK(f.core->next_deadline() == f.clock.now() + 50ms);
    f.clock.advance(49ms);
    CHECK(f.dispatch().empty());
    f.clock.advance(1ms);
    cmds = f.dispatch();
    REQUIRE(cmds.size() == 1);
    CHECK(f.lane_reply(cmds[0].lane, "mmi.service", {"404"}).empty());
    CHECK(f.core->next_deadline() == f.clock.now() + 100ms);  // doubled
    f.clock.advance(100ms);
    cmds = f.dispatch();
    REQUIRE(cmds.size() == 1);
    cmds = f.lane_reply(cmds[0].lane, "mmi.service", {"200"});
    REQUIRE(cmds.size() == 1);
    CHECK(f.lane_reply(cmds[0].lane, "later", {"done"}).empty());
    f.commit();
    CHECK(f.core->stats().replies_stored == 1);
    // Next request to the same service goes at once, and a 404 now waits the initial delay again.
    f.submit("later", "b");
    cmds = f.dispatch();
    REQUIRE(cmds.size() == 1);
    f.lane_reply(cmds[0].lane, "mmi.service", {"404"});
    CHECK(f.core->next_deadline() == f.clock.now() + 50ms);
}

TEST_CASE("core: a lane that times out is reset and its service retried later") {
    Fixture f;
    auto id = f.submit("slow", "a");
    auto cmds = f.dispatch();
    REQUIRE(cmds.size() == 1);
    int lane = cmds[0].lane;
    cmds = f.lane_reply(lane, "mmi.service", {"200"});
    REQUIRE(cmds.size() == 1);
    CHECK(f.core->next_deadline() == f.clock.now() + 100ms);
    f.clock.advance(100ms);
    cmds = f.dispatch();
    REQUIRE(cmds.size() == 1);
    CHECK(cmds[0].kind == LaneCommand::Kind::reset);
    CHECK(cmds[0].lane == lane);
    CHECK(f.core->stats().timeouts == 1);
    // A late reply on the reset lane matches nothing.
    CHECK(f.lane_reply(lane, "slow", {"late"}).empty());
    CHECK(f.core->stats().stray_replies == 1);
    CHECK(f.call(services::reply, {id}) == Strings{"300"});
    f.clock.advance(50ms);
    cmds = f.dispatch();
    REQUIRE(cmds.size() == 1);
    CHECK(is_send(cmds[0], "mmi.service", {"slow"}));
}

TEST_CASE("core: one request in flight per service, in order, services in parallel up to the lanes") {
    Fixture f(nullptr, 2);
    auto a1 = f.submit("a", "1");
    f.submit("a", "2");
    f.submit("b", "1");
    f.submit("c", "1");
    auto cmds = f.dispatch();
    REQUIRE(cmds.size() == 2);  // two lanes: a and b; c waits for a lane
    CHECK(is_send(cmds[0], "mmi.service", {"a"}));
    CHECK(is_send(cmds[1], "mmi.service", {"b"}));
    int la = cmds[0].lane;
    cmds = f.lane_reply(la, "mmi.service", {"200"});
    CHECK(is_send(cmds.at(0), "a", {"1"}));
    // A reply for the wrong service on that lane is stray.
    CHECK(f.lane_reply(la, "b", {"x"}).empty());
    CHECK(f.core->stats().stray_replies == 1);
    f.lane_reply(la, "a", {"r1"});
    f.commit();
    CHECK(f.call(services::reply, {a1}) == Strings{"200", "r1"});
    cmds = f.dispatch();  // the free lane goes to c (scheduled before a came back)
    REQUIRE(cmds.size() == 1);
    CHECK(is_send(cmds[0], "mmi.service", {"c"}));
}

TEST_CASE("core: a request closed while in flight: its reply is dropped, never stored") {
    Fixture f;
    auto id = f.submit("echo", "a");
    auto cmds = f.dispatch();
    cmds = f.lane_reply(cmds.at(0).lane, "mmi.service", {"200"});
    CHECK(f.call(services::close, {id}) == Strings{"200"});
    f.lane_reply(cmds.at(0).lane, "echo", {"r"});
    f.commit();
    CHECK(f.core->stats().replies_stored == 0);
    CHECK(f.store->stats().open == 0);
    CHECK(f.core->dispatcher().services() == 0);  // nothing kept for a service with no requests
    CHECK(f.dispatch().empty());
}

TEST_CASE("core: after a restart, requests whose reply was not stored are dispatched again (at-least-once)") {
    Fixture f;
    auto a = f.submit("echo", "a");
    auto b = f.submit("echo", "b");
    auto cmds = f.dispatch();
    cmds = f.lane_reply(cmds.at(0).lane, "mmi.service", {"200"});
    CHECK(is_send(cmds.at(0), "echo", {"a"}));
    f.lane_reply(cmds.at(0).lane, "echo", {"ra"});
    // crash here: the reply of a was staged, never committed
    f.open();
    CHECK(f.call(services::reply, {a}) == Strings{"300"});
    cmds = f.dispatch();
    cmds = f.lane_reply(cmds.at(0).lane, "mmi.service", {"200"});
    CHECK(is_send(cmds.at(0), "echo", {"a"}));  // a again, before b
    f.lane_reply(cmds.at(0).lane, "echo", {"ra"});
    f.commit();
    f.open();  // a's reply survives this one
    CHECK(f.call(services::reply, {a}) == Strings{"200", "ra"});
    CHECK(f.call(services::reply, {b}) == Strings{"300"});
    cmds = f.dispatch();
    cmds = f.lane_reply(cmds.at(0).lane, "mmi.service", {"200"});
    CHECK(is_send(cmds.at(0), "echo", {"b"}));
}

namespace {
struct FullDisk : FileIo {
    bool full = false;
    long pwrite(int fd, const void* data, std::size_t size, std::int64_t offset) override {
        return full ? -ENOSPC : FileIo::pwrite(fd, data, size, offset);
    }
};
}  // namespace

TEST_CASE(
    "core: a full disk answers 500, acknowledges nothing, and the service recovers when space is back") {
    FullDisk io;
    Fixture f(&io);
    auto kept = f.submit("echo", "kept");
    io.full = true;
    std::vector<Answer> out;
    f.core->request(1, make_frames({"echo", "x"}), out);
    f.core->request(2, make_frames({"echo", "y"}), out);
    f.core->close(3, make_frames({kept}), out);
    f.core->commit(f.clock.now(), out);
    REQUIRE(out.size() == 3);
    for (auto& a : out) CHECK(strings(a.body) == Strings{"500"});
    CHECK(f.core->stats().write_failures == 1);
    CHECK(f.store->stats().open == 1);
    CHECK(f.call(services::reply, {kept}) == Strings{"300"});  // the close did not happen

    // A reply that cannot be stored leaves the request pending; it is dispatched again later.
    auto cmds = f.dispatch();
    cmds = f.lane_reply(cmds.at(0).lane, "mmi.service", {"200"});
    f.lane_reply(cmds.at(0).lane, "echo", {"r"});
    f.commit();
    CHECK(f.core->stats().replies_stored == 0);
    CHECK(f.call(services::reply, {kept}) == Strings{"300"});

    io.full = false;
    f.clock.advance(1000ms);
    cmds = f.dispatch();
    cmds = f.lane_reply(cmds.at(0).lane, "mmi.service", {"200"});
    f.lane_reply(cmds.at(0).lane, "echo", {"r"});
    f.commit();
    CHECK(f.call(services::reply, {kept}) == Strings{"200", "r"});
    f.submit("echo", "after");
}

TEST_CASE("core: a service's state is forgotten on every path once it has no requests") {
    Fixture f;
    SUBCASE("closed while waiting for a lane") {
        auto id = f.submit("s", "a");
        CHECK(f.core->dispatcher().services() == 1);
        f.call(services::close, {id});
    }
    SUBCASE("closed while its mmi.service query is in flight, then 200") {
        auto id = f.submit("s", "a");
        auto cmds = f.dispatch();
        f.call(services::close, {id});
        CHECK(f.lane_reply(cmds.at(0).lane, "mmi.service", {"200"}).empty());  // nothing left to send
    }
    SUBCASE("closed while its query is in flight, then 404") {
        auto id = f.submit("s", "a");
        auto cmds = f.dispatch();
        f.call(services::close, {id});
        f.lane_reply(cmds.at(0).lane, "mmi.service", {"404"});
    }
    SUBCASE("closed while in flight, then the lane times out") {
        auto id = f.submit("s", "a");
        auto cmds = f.dispatch();
        f.lane_reply(cmds.at(0).lane, "mmi.service", {"200"});
        f.call(services::close, {id});
        f.clock.advance(100ms);
        cmds = f.dispatch();
        CHECK(cmds.at(0).kind == LaneCommand::Kind::reset);
    }
    SUBCASE("its last reply stored") {
        f.submit("s", "a");
        auto cmds = f.dispatch();
        cmds = f.lane_reply(cmds.at(0).lane, "mmi.service", {"200"});
        f.lane_reply(cmds.at(0).lane, "s", {"r"});
        f.commit();
    }
    CHECK(f.core->dispatcher().services() == 0);
    CHECK(f.core->dispatcher().pending() == 0);
    CHECK(f.core->dispatcher().lanes_busy() == 0);
    f.clock.advance(10000ms);
    CHECK(f.dispatch().empty());
    CHECK(f.core->next_deadline() == TimePoint::max());
}

TEST_CASE(
    "core: with max_open requests open, titanic.request answers 500 and stores nothing, until a close") {
    Fixture f;
    f.core->set_max_open(3);
    auto a = f.submit("echo", "a");
    f.submit("echo", "b");

    // Two more in one turn: the batch counts, so the 4th open one is refused at once, before the commit.
    std::vector<Answer> out;
    f.core->request(1, make_frames({"echo", "c"}), out);
    f.core->request(2, make_frames({"echo", "d"}), out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].to == 2);
    CHECK(strings(out[0].body) == Strings{"500"});
    CHECK(f.core->open_requests() == 3);
    out.clear();
    f.core->commit(f.clock.now(), out);
    REQUIRE(out.size() == 1);
    CHECK(out[0].to == 1);
    CHECK(strings(out[0].body).at(0) == "200");
    CHECK(f.store->stats().open == 3);
    CHECK(f.call(services::request, {"echo", "e"}) == Strings{"500"});
    CHECK(f.core->stats().refused_full == 2);
    CHECK(f.core->stats().requests == 3);
    CHECK(f.store->stats().open == 3);  // nothing stored for the refused ones

    // Answered but not closed still counts: a reply stored does not free the slot.
    auto cmds = f.dispatch();
    REQUIRE(cmds.size() == 1);
    cmds = f.lane_reply(cmds[0].lane, "mmi.service", {"200"});
    REQUIRE(cmds.size() == 1);
    f.lane_reply(cmds[0].lane, "echo", {"A"});
    f.commit();
    CHECK(f.call(services::reply, {a}) == Strings{"200", "A"});
    CHECK(f.call(services::request, {"echo", "f"}) == Strings{"500"});

    // A close frees one.
    CHECK(f.call(services::close, {a}) == Strings{"200"});
    CHECK(f.store->stats().open == 2);
    auto g = f.call(services::request, {"echo", "g"});
    REQUIRE(g.size() == 2);
    CHECK(g[0] == "200");
    CHECK(f.call(services::request, {"echo", "h"}) == Strings{"500"});
    CHECK(f.core->stats().refused_full == 4);

    // After a restart with a lower bound, what the store holds is kept, and new requests are refused until
    // enough are closed.
    f.open();
    f.core->set_max_open(1);
    CHECK(f.store->stats().open == 3);
    CHECK(f.call(services::request, {"echo", "i"}) == Strings{"500"});
}
