// Unit tests of the Paranoid Pirate queue core, driven by a manual clock. Messages are written as the ROUTER
// sockets deliver them, bytes spelled out from docs/protocols.md (0x01 READY, 0x02 HEARTBEAT).
#include <doctest/doctest.h>
#include <pirates/paranoid_pirate/queue_core.hpp>

#include "support/net.hpp"

#include <algorithm>
#include <set>

using namespace pirates;
using namespace pirates::paranoid_pirate;
using namespace std::chrono_literals;
using pirates::test::make_frames;
using pirates::test::strings;
using Strings = std::vector<std::string>;

namespace {

// What the core sent, by channel; a send to a worker named in `gone` fails as libzmq fails it for a peer that
// has disconnected (peer_gone, the message untouched).
struct TestOutbox final : Outbox {
    struct Item {
        Channel channel;
        Frames message;
    };
    std::vector<Item> items;
    std::set<std::string> gone;
    SendResult send(Frames& message, Channel channel) override {
        if (channel == kBackend && gone.count(message.front().to_string())) return SendResult::peer_gone;
        items.push_back(Item{channel, std::move(message)});
        return SendResult::sent;
    }
    bool empty() const { return items.empty(); }
    std::size_t size() const { return items.size(); }
    void clear() { items.clear(); }
};

struct Fixture {
    ManualClock clock;
    QueueCore queue{QueueOptions{1000ms, 3}, clock.now()};
    TestOutbox out;

    void worker(std::initializer_list<std::string_view> frames) {
        queue.on_message(kBackend, make_frames(frames), clock.now(), out);
    }
    void ready(std::string_view id) { worker({id, "\x01"}); }
    void heartbeat(std::string_view id) { worker({id, "\x02"}); }
    void client(std::initializer_list<std::string_view> frames) {
        queue.on_message(kFrontend, make_frames(frames), clock.now(), out);
    }
    void tick() { queue.tick(clock.now(), out); }
    std::vector<Strings> sent(Channel to) {
        std::vector<Strings> r;
        for (auto& o : out.items)
            if (o.channel == to) r.push_back(strings(o.message));
        return r;
    }
    // The idle list must be in expiry order and hold each worker once.
    void check_invariants() {
        auto ids = queue.idle_workers();
        CHECK(ids.size() == queue.idle_count());
        auto sorted = ids;
        std::sort(sorted.begin(), sorted.end());
        CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
        for (std::size_t i = 1; i < ids.size(); ++i)
            CHECK(*queue.expiry_of(ids[i - 1]) <= *queue.expiry_of(ids[i]));
    }
};

}  // namespace

TEST_CASE("a worker expires exactly at liveness x interval after it was last heard") {
    Fixture f;
    auto t0 = f.clock.now();
    f.ready("A");
    CHECK(f.queue.expiry_of("A") == t0 + 3000ms);
    f.clock.advance(2999ms);
    f.tick();
    CHECK(f.queue.idle_workers() == Strings{"A"});
    f.clock.advance(1ms);
    f.tick();
    CHECK(f.queue.idle_count() == 0);
    CHECK_FALSE(f.queue.expiry_of("A").has_value());
    CHECK(f.queue.stats().expired == 1);
}

TEST_CASE("heartbeats go to every idle worker once per interval, and only when due") {
    Fixture f;
    f.ready("A");
    f.ready("B");
    f.clock.advance(999ms);
    f.tick();
    CHECK(f.out.empty());
    CHECK(f.queue.next_deadline() == f.clock.now() + 1ms);
    f.clock.advance(1ms);
    f.tick();
    CHECK(f.sent(kBackend) == std::vector<Strings>{{"A", "\x02"}, {"B", "\x02"}});
    f.out.clear();
    f.clock.advance(500ms);
    f.heartbeat("A");  // incoming traffic does not move the queue's own heartbeat schedule
    f.tick();
    CHECK(f.out.empty());
    f.clock.advance(500ms);
    f.tick();
    CHECK(f.sent(kBackend).size() == 2);
    CHECK(f.queue.stats().heartbeats_sent == 4);
}

TEST_CASE("a busy worker gets no heartbeat - an empty queue sends none") {
    Fixture f;
    f.clock.advance(1000ms);
    f.tick();
    CHECK(f.out.empty());
    f.ready("A");
    f.ready("B");
    f.client({"C", "", "req"});  // A is busy now
    f.out.clear();
    f.clock.advance(1000ms);
    f.tick();
    CHECK(f.sent(kBackend) == std::vector<Strings>{{"B", "\x02"}});
}

TEST_CASE("a heartbeat from an unknown worker makes it idle, as any worker message does") {
    Fixture f;
    f.heartbeat("stranger");
    CHECK(f.queue.idle_workers() == Strings{"stranger"});
    CHECK(f.queue.expiry_of("stranger") == f.clock.now() + 3000ms);
    f.client({"C", "", "hello"});
    CHECK(f.sent(kBackend) == std::vector<Strings>{{"stranger", "C", "", "hello"}});
}

TEST_CASE("a worker that comes back after expiry is idle again, once, with a fresh expiry") {
    Fixture f;
    f.ready("A");
    f.clock.advance(3000ms);
    f.tick();
    REQUIRE(f.queue.idle_count() == 0);
    f.clock.advance(100ms);
    f.heartbeat("A");
    CHECK(f.queue.idle_workers() == Strings{"A"});
    CHECK(f.queue.expiry_of("A") == f.clock.now() + 3000ms);
    f.ready("A");
    CHECK(f.queue.idle_workers() == Strings{"A"});
    f.check_invariants();
}

TEST_CASE("a worker heard again moves to the tail and is never in the idle list twice") {
    Fixture f;
    f.ready("A");
    f.clock.advance(10ms);
    f.ready("B");
    f.clock.advance(10ms);
    f.heartbeat("A");
    CHECK(f.queue.idle_workers() == Strings{"B", "A"});
    f.heartbeat("A");
    f.ready("A");
    CHECK(f.queue.idle_workers() == Strings{"B", "A"});
    f.check_invariants();
}

TEST_CASE("the purge stops at the first live worker and still drops every expired one (expiry order)") {
    Fixture f;
    auto t0 = f.clock.now();
    for (auto id : {"A", "B", "C", "D"}) {
        f.ready(id);
        f.clock.advance(100ms);
    }
    // A and C keep talking; B and D go silent. Without moving A and C to the tail, B would sit behind a live
    // head and never be purged.
    for (int i = 0; i < 30; ++i) {
        f.clock.advance(100ms);
        f.heartbeat("A");
        f.heartbeat("C");
        f.tick();
        f.check_invariants();
    }
    CHECK(f.clock.now() - t0 == 3400ms);
    auto ids = f.queue.idle_workers();
    CHECK(ids == Strings{"A", "C"});
    CHECK(f.queue.stats().expired == 2);
}

TEST_CASE(
    "requests go to the least recently used worker; the reply goes to the client and the worker is idle "
    "again") {
    Fixture f;
    f.ready("A");
    f.ready("B");
    f.client({"client-1", "", "one", "two"});
    CHECK(f.sent(kBackend) == std::vector<Strings>{{"A", "client-1", "", "one", "two"}});
    CHECK(f.queue.idle_workers() == Strings{"B"});
    f.out.clear();
    f.worker({"A", "client-1", "", "ONE"});
    CHECK(f.sent(kFrontend) == std::vector<Strings>{{"client-1", "", "ONE"}});
    CHECK(f.queue.idle_workers() == Strings{"B", "A"});
    CHECK(f.queue.stats().requests == 1);
    CHECK(f.queue.stats().replies == 1);
}

TEST_CASE("a request never goes to a worker whose expiry has passed, even between ticks") {
    Fixture f;
    f.ready("A");
    f.clock.advance(2000ms);
    f.ready("B");
    f.clock.advance(1000ms);  // A expired just now; no tick has run
    f.client({"C", "", "x"});
    CHECK(f.sent(kBackend) == std::vector<Strings>{{"B", "C", "", "x"}});
    CHECK(f.queue.idle_count() == 0);
}

TEST_CASE(
    "expire() drops dead workers before the driver reads the frontend, so no request is taken in vain") {
    Fixture f;
    f.ready("A");
    f.clock.advance(2999ms);
    f.queue.expire(f.clock.now());
    CHECK(f.queue.has_idle_worker());
    f.clock.advance(1ms);
    f.queue.expire(f.clock.now());
    CHECK_FALSE(f.queue.has_idle_worker());  // the driver stops polling the frontend: requests wait there
    CHECK(f.queue.stats().expired == 1);
}

TEST_CASE("a request while no worker is idle is counted and dropped (the driver does not read then)") {
    Fixture f;
    f.client({"C", "", "x"});
    CHECK(f.out.empty());
    CHECK(f.queue.stats().no_worker == 1);
}

TEST_CASE("every removal path leaves the worker in no structure: dispatch, expiry, unreachable") {
    Fixture f;
    f.ready("A");
    f.ready("B");
    f.ready("C");
    f.client({"X", "", "r"});  // A: dispatched
    f.queue.on_unroutable("B");
    f.queue.on_unroutable("nobody");  // unknown: harmless
    CHECK(f.queue.idle_workers() == Strings{"C"});
    f.clock.advance(3000ms);
    f.tick();  // C: expired
    CHECK(f.queue.idle_count() == 0);
    for (auto id : {"A", "B", "C"}) CHECK_FALSE(f.queue.expiry_of(id).has_value());
    for (auto id : {"C", "B", "A", "C"}) f.heartbeat(id);
    CHECK(f.queue.idle_workers() == Strings{"B", "A", "C"});
    f.check_invariants();
}

TEST_CASE("next deadline: the earlier of the next heartbeat and the first expiry") {
    Fixture f;
    auto t0 = f.clock.now();
    CHECK(f.queue.next_deadline() == t0 + 1000ms);
    QueueCore fast(QueueOptions{1000ms, 1}, t0);
    TestOutbox out;
    f.clock.advance(200ms);
    fast.on_message(kBackend, make_frames({"A", "\x01"}), f.clock.now(), out);
    CHECK(fast.next_deadline() == t0 + 1000ms);
    f.clock.advance(800ms);
    fast.tick(f.clock.now(), out);  // heartbeat sent; the next is at t0 + 2000 ms, A expires before that
    CHECK(out.size() == 1);
    CHECK(fast.next_deadline() == t0 + 1200ms);
}

TEST_CASE("malformed worker messages are counted and dropped - the sender still counts as alive") {
    using namespace std::string_view_literals;
    Fixture f;
    f.worker({"A", "\x03"});                                       // unknown one-byte command
    f.worker({"A", "READY"});                                      // text, not the byte
    f.worker({"A", "\x01\x00"sv});                                 // two bytes
    f.worker({"A", ""});                                           // one empty frame
    f.worker({"A", "client", "x"});                                // no empty delimiter
    f.worker({"A", "client", ""});                                 // no body
    f.worker({"A"});                                               // identity only
    f.queue.on_message(kBackend, Frames{}, f.clock.now(), f.out);  // nothing at all
    CHECK(f.out.empty());
    CHECK(f.queue.stats().malformed_from_workers == 8);
    CHECK(f.queue.stats().malformed == 8);
    CHECK(f.queue.idle_workers() == Strings{"A"});
    f.check_invariants();
}

TEST_CASE("garbage on the frontend is counted and dropped, and no worker is used up") {
    using namespace std::string_view_literals;
    Fixture f;
    f.ready("A");
    f.client({"C"});
    f.client({"C", ""});
    f.client({"C", "x", "y"});
    f.client({"", "", "y"});
    f.client({"C", "\xff\x00\x01"sv, "\x00"sv});
    f.queue.on_message(kFrontend, Frames{}, f.clock.now(), f.out);
    CHECK(f.out.empty());
    CHECK(f.queue.stats().malformed == 6);
    CHECK(f.queue.stats().malformed_from_workers == 0);
    CHECK(f.queue.idle_workers() == Strings{"A"});
    f.client({"C", "", "\x00\xff"sv});  // binary body: fine, the queue does not parse it
    CHECK(f.sent(kBackend).size() == 1);
}

TEST_CASE("a send that finds a worker gone forgets it: a request goes to the next idle worker") {
    Fixture f;
    f.ready("A");
    f.ready("B");
    f.out.gone.insert("A");
    f.client({"C", "", "r"});
    CHECK(f.sent(kBackend) == std::vector<Strings>{{"B", "C", "", "r"}});
    CHECK(f.queue.idle_count() == 0);
    CHECK_FALSE(f.queue.expiry_of("A").has_value());
    CHECK(f.queue.stats().unroutable == 1);
    f.out.clear();

    // Both gone: the request is dropped (the client retries), and nobody is left idle.
    f.ready("A");
    f.ready("B");
    f.out.gone.insert("B");
    f.client({"C", "", "again"});
    CHECK(f.out.empty());
    CHECK(f.queue.idle_count() == 0);
    CHECK(f.queue.stats().unroutable == 3);
    f.check_invariants();
}

TEST_CASE("a heartbeat that finds a worker gone forgets it - the others get theirs") {
    Fixture f;
    f.ready("A");
    f.ready("B");
    f.ready("C");
    f.out.gone.insert("B");
    f.clock.advance(1000ms);
    f.tick();
    CHECK(f.sent(kBackend) == std::vector<Strings>{{"A", "\x02"}, {"C", "\x02"}});
    CHECK(f.queue.idle_workers() == Strings{"A", "C"});
    CHECK(f.queue.stats().unroutable == 1);
    f.check_invariants();
}

TEST_CASE("a reply to a client that has gone or does not read is dropped and counted") {
    struct Refusing final : Outbox {
        SendResult result = SendResult::peer_gone;
        SendResult send(Frames&, Channel channel) override {
            return channel == kFrontend ? result : SendResult::sent;
        }
    } out;
    ManualClock clock;
    QueueCore queue(QueueOptions{1000ms, 3}, clock.now());
    queue.on_message(kBackend, make_frames({"A", "client", "", "reply"}), clock.now(), out);
    out.result = SendResult::would_block;
    queue.on_message(kBackend, make_frames({"A", "client", "", "reply"}), clock.now(), out);
    CHECK(queue.stats().replies == 2);
    CHECK(queue.stats().replies_to_gone_clients == 1);
    CHECK(queue.stats().replies_would_block == 1);
    CHECK(queue.idle_workers() == Strings{"A"});  // the worker is idle again all the same
}
