// Unit tests of the Simple Pirate queue core: LRU order, held requests, lost workers, malformed input.
#include <doctest/doctest.h>
#include <pirates/simple_pirate/queue_core.hpp>

#include "support/net.hpp"

#include <set>

using namespace pirates;
using namespace pirates::simple_pirate;
using S = std::vector<std::string>;

namespace {

const std::string READY("\x01", 1);

// What the core sent, by channel; a send to a worker named in `gone` fails as libzmq fails it for a peer that
// has disconnected (peer_gone, the message untouched).
struct Sent {
    Channel to;
    Frames frames;
};
struct TestOutbox final : Outbox {
    std::vector<Sent> sent;
    std::set<std::string> gone;
    SendResult send(Frames& message, Channel channel) override {
        if (channel == kBackend && gone.count(message.front().to_string())) return SendResult::peer_gone;
        sent.push_back(Sent{channel, std::move(message)});
        return SendResult::sent;
    }
};

struct Harness {
    QueueCore queue;
    TestOutbox out;

    explicit Harness(std::size_t max_held = 10000, std::size_t max_held_bytes = kDefaultMaxQueueBytes)
        : queue(max_held, max_held_bytes) {}
    void backend(std::initializer_list<std::string_view> parts) {
        queue.on_message(kBackend, test::make_frames(parts), TimePoint{}, out);
        CHECK(queue.check_invariants() == "");
    }
    void frontend(std::initializer_list<std::string_view> parts) {
        queue.on_message(kFrontend, test::make_frames(parts), TimePoint{}, out);
        CHECK(queue.check_invariants() == "");
    }
    // The messages sent so far, as (side, frames), then forgotten.
    std::vector<std::pair<Channel, S>> take() {
        std::vector<std::pair<Channel, S>> r;
        for (auto& o : out.sent) r.emplace_back(o.to, test::strings(o.frames));
        out.sent.clear();
        return r;
    }
};

constexpr Channel FE = kFrontend;
constexpr Channel BE = kBackend;

}  // namespace

TEST_CASE("queue: workers join the idle list in order - requests go to the least recently used") {
    Harness h;
    CHECK_FALSE(h.queue.accepting());
    h.backend({"w1", "", READY});
    h.backend({"w2", "", READY});
    h.backend({"w3", "", READY});
    CHECK(h.take().empty());
    CHECK(h.queue.accepting());
    CHECK(h.queue.idle_order() == S{"w1", "w2", "w3"});

    h.frontend({"c1", "", "req-1"});
    h.frontend({"c2", "", "req-2", "part-2"});
    auto sent = h.take();
    REQUIRE(sent.size() == 2);
    CHECK(sent[0] == std::pair{BE, S{"w1", "", "c1", "", "req-1"}});
    CHECK(sent[1] == std::pair{BE, S{"w2", "", "c2", "", "req-2", "part-2"}});
    CHECK(h.queue.idle_order() == S{"w3"});
    CHECK_FALSE(h.queue.is_idle("w1"));

    // A reply goes to its client, and its worker joins the tail: now w3 is the least recently used.
    h.backend({"w1", "", "c1", "", "rep-1"});
    sent = h.take();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0] == std::pair{FE, S{"c1", "", "rep-1"}});
    CHECK(h.queue.idle_order() == S{"w3", "w1"});
    h.backend({"w2", "", "c2", "", "rep-2", "part-2"});
    CHECK(h.take()[0] == std::pair{FE, S{"c2", "", "rep-2", "part-2"}});
    CHECK(h.queue.idle_order() == S{"w3", "w1", "w2"});

    h.frontend({"c3", "", "req-3"});
    CHECK(h.take()[0].second.at(0) == "w3");
    CHECK(h.queue.stats().requests == 3);
    CHECK(h.queue.stats().replies == 2);
    CHECK(h.queue.stats().readies == 3);
}

TEST_CASE("queue: requests are held while no worker is idle, and served oldest first") {
    Harness h;
    h.frontend({"c1", "", "first"});
    h.frontend({"c2", "", "second"});
    CHECK(h.take().empty());
    CHECK(h.queue.held_requests() == 2);
    CHECK_FALSE(h.queue.accepting());

    h.backend({"w1", "", READY});  // takes the oldest at once
    auto sent = h.take();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0] == std::pair{BE, S{"w1", "", "c1", "", "first"}});
    CHECK(h.queue.idle_workers() == 0);
    CHECK(h.queue.held_requests() == 1);

    h.backend({"w1", "", "c1", "", "done"});  // reply forwarded, then the next held request
    sent = h.take();
    REQUIRE(sent.size() == 2);
    CHECK(sent[0] == std::pair{FE, S{"c1", "", "done"}});
    CHECK(sent[1] == std::pair{BE, S{"w1", "", "c2", "", "second"}});
    CHECK(h.queue.held_requests() == 0);
    CHECK(h.queue.stats().held == 2);
}

TEST_CASE("queue: the hold queue is bounded") {
    Harness h(2);
    h.frontend({"c1", "", "1"});
    h.frontend({"c2", "", "2"});
    h.frontend({"c3", "", "3"});
    CHECK(h.queue.held_requests() == 2);
    CHECK(h.queue.stats().dropped_overflow == 1);
}

TEST_CASE("queue: the hold queue is bounded in bytes - the newest request over the bound is dropped") {
    Harness h(10000, 20);                  // 20 bytes held at most: byte_size() of [client-id] "" request...
    h.frontend({"c1", "", "0123456789"});  // 12 bytes
    h.frontend({"c2", "", "abcdefghij"});  // 12 more: 24 > 20, dropped
    CHECK(h.queue.held_requests() == 1);
    CHECK(h.queue.held_bytes() == 12);
    CHECK(h.queue.stats().dropped_overflow == 1);
    h.frontend({"c3", "", "123456"});  // 8 more: exactly 20, held
    CHECK(h.queue.held_requests() == 2);
    CHECK(h.queue.held_bytes() == 20);
    h.frontend({"c4", "", ""});  // 2 + 0 + 0 = 2 bytes: over the bound too
    CHECK(h.queue.stats().dropped_overflow == 2);

    // A worker takes the oldest held request: its bytes are freed, and a new request fits again.
    h.backend({"w1", "", READY});
    auto sent = h.take();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0] == std::pair{BE, S{"w1", "", "c1", "", "0123456789"}});
    CHECK(h.queue.held_bytes() == 8);
    h.frontend({"c5", "", "abcdefghij"});
    CHECK(h.queue.held_bytes() == 20);
    CHECK(h.queue.stats().dropped_overflow == 2);

    // A request re-held after its worker was found gone counts its bytes again (at the head of the queue).
    h.out.gone.insert("w1");                  // w1 disconnects after this reply
    h.backend({"w1", "", "c1", "", "done"});  // reply; w1 idle again, takes c3, but cannot be reached
    sent = h.take();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0] == std::pair{FE, S{"c1", "", "done"}});
    CHECK(h.queue.stats().workers_lost == 1);
    CHECK(h.queue.held_requests() == 2);
    CHECK(h.queue.held_bytes() == 20);
    h.backend({"w2", "", READY});
    CHECK(h.take()[0] == std::pair{BE, S{"w2", "", "c3", "", "123456"}});
    CHECK(h.queue.held_bytes() == 12);
}

TEST_CASE("queue: a worker that has gone is forgotten and its request goes to the next idle worker") {
    Harness h;
    h.backend({"w1", "", READY});
    h.backend({"w2", "", READY});
    // w1 has disconnected: the send to it fails, and the request goes to w2 in the same step.
    h.out.gone.insert("w1");
    h.frontend({"c1", "", "req"});
    auto sent = h.take();
    REQUIRE(sent.size() == 1);
    CHECK(sent[0] == std::pair{BE, S{"w2", "", "c1", "", "req"}});
    CHECK_FALSE(h.queue.is_idle("w1"));
    CHECK_FALSE(h.queue.is_idle("w2"));
    CHECK(h.queue.idle_workers() == 0);
    CHECK(h.queue.stats().workers_lost == 1);
    CHECK(h.queue.stats().unroutable == 1);
    CHECK(h.queue.stats().dispatched == 2);

    // A request given to a worker that has gone, with no worker left, is held ahead of newer ones.
    h.frontend({"c2", "", "older"});
    h.frontend({"c3", "", "newer"});
    CHECK(h.queue.held_requests() == 2);
    h.out.gone.insert("w3");
    h.backend({"w3", "", READY});  // takes c2's request, cannot be reached: the request goes back to the head
    CHECK(h.take().empty());
    CHECK(h.queue.held_requests() == 2);
    CHECK(h.queue.stats().workers_lost == 2);
    h.backend({"w4", "", READY});
    CHECK(h.take()[0] == std::pair{BE, S{"w4", "", "c2", "", "older"}});
}

TEST_CASE("queue: a message from a worker that is already idle is dropped, the worker kept once") {
    Harness h;
    h.backend({"w1", "", READY});
    h.backend({"w1", "", READY});
    h.backend({"w1", "", "c9", "", "unsolicited"});
    CHECK(h.take().empty());
    CHECK(h.queue.idle_order() == S{"w1"});
    CHECK(h.queue.stats().protocol_errors == 2);
    // Dispatching it removes it from every structure: nothing is left behind to be dispatched twice.
    h.frontend({"c1", "", "x"});
    h.frontend({"c2", "", "y"});
    auto sent = h.take();
    REQUIRE(sent.size() == 1);
    CHECK(h.queue.held_requests() == 1);
}

TEST_CASE("queue: malformed worker messages are counted and dropped - the worker does not join") {
    Harness h;
    h.backend({"w1"});                                           // identity only
    h.backend({"w1", ""});                                       // nothing after the delimiter
    h.backend({"w1", "x", "\x01"});                              // no delimiter
    h.backend({"w1", "", "\x02"});                               // not READY
    h.backend({"w1", "", "READY"});                              // READY spelled out is not READY
    h.backend({"w1", "", "c1", ""});                             // reply without a body
    h.backend({"w1", "", "c1", "no-delimiter", "body"});         // reply envelope without its delimiter
    h.backend({"w1", "", std::string_view("\x00\xff\xfe", 3)});  // binary junk
    h.queue.on_message(kBackend, Frames{}, TimePoint{}, h.out);  // nothing at all
    CHECK(h.take().empty());
    CHECK(h.queue.idle_workers() == 0);
    CHECK(h.queue.stats().malformed_from_workers == 9);
    CHECK(h.queue.stats().malformed == 9);
    CHECK(h.queue.stats().readies == 0);
}

TEST_CASE("queue: malformed client messages are counted and dropped") {
    Harness h;
    h.backend({"w1", "", READY});
    h.frontend({"c1"});
    h.frontend({"c1", ""});
    h.frontend({"c1", "x", "y"});
    h.frontend({"", "", "y"});
    h.queue.on_message(kFrontend, Frames{}, TimePoint{}, h.out);
    CHECK(h.take().empty());
    CHECK(h.queue.stats().malformed == 5);
    CHECK(h.queue.idle_order() == S{"w1"});  // still there for a real request
    h.frontend({"c1", "", "ok"});
    CHECK(h.take().size() == 1);
}
