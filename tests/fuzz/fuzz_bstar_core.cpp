// The Binary Star ServerCore: a primary and a backup under arbitrary sequences of operations: each publishes
// its state to the other (or the message is lost: the input decides what is delivered), clients ask either,
// time passes (the servers' loops run, awake(), or stall), a server that hit a fatal combination restarts
// in its role. After every step each core agrees with the pure decision table transition(): a peer event
// sets peer expiry to now + 2 x heartbeat and then moves exactly as the table says, a client request is
// served only by a server that is (then) active, and an Error leaves the state unchanged.
#include "fuzz_input.hpp"

#include <pirates/binary_star/server_core.hpp>

#include <memory>

using namespace pirates;
using namespace pirates::binary_star;
using namespace std::chrono_literals;

namespace {

constexpr Duration kHeartbeat = 100ms;

struct Side {
    State role;
    std::unique_ptr<ServerCore> core;
    void start(TimePoint now) { core = std::make_unique<ServerCore>(role, kHeartbeat, now + 2 * kHeartbeat); }
};

bool valid(State s) {
    const int n = static_cast<int>(s);
    return n >= 1 && n <= 4;
}

// Feed one event and check the core against the table. Returns false if the event was fatal.
bool feed(Side& side, Event e, TimePoint now) {
    ServerCore& c = *side.core;
    const State before = c.state();
    const bool peer = e != Event::client_request;
    const TimePoint expiry_before = c.peer_expiry();
    auto r = c.on_event(e, now);
    if (peer)
        FUZZ_CHECK(c.peer_expiry() == now + 2 * kHeartbeat);
    else
        FUZZ_CHECK(c.peer_expiry() == expiry_before);
    auto expected = transition(before, e, c.peer_expired(now));
    FUZZ_CHECK(r.ok() == expected.ok());
    if (!r) {
        FUZZ_CHECK(c.state() == before);
        return false;
    }
    FUZZ_CHECK(r.value() == expected.value());
    FUZZ_CHECK(c.state() == r->next && valid(c.state()));
    if (e == Event::client_request && r->accepted) FUZZ_CHECK(c.state() == State::active);
    if (peer) FUZZ_CHECK(r->accepted);
    // Roles never swap: a backup never becomes PRIMARY and the other way round.
    if (side.role == State::primary) FUZZ_CHECK(c.state() != State::backup);
    if (side.role == State::backup) FUZZ_CHECK(c.state() != State::primary);
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    TimePoint now = TimePoint{} + 1000h;
    Side sides[2] = {{State::primary, nullptr}, {State::backup, nullptr}};
    for (auto& s : sides) s.start(now);

    std::size_t steps = 0;
    while (!in.empty() && steps++ < 4000) {
        const std::uint8_t op = in.byte();
        Side& self = sides[op & 1];
        Side& other = sides[(op & 1) ^ 1];
        switch ((op >> 1) % 6) {
            case 0:  // self's state reaches the other
                if (!feed(other, peer_event(self.core->state()), now)) other.start(now);
                break;
            case 1:  // a client asks self
                if (!feed(self, Event::client_request, now)) self.start(now);
                break;
            case 2:  // time passes; both loops run
                now += Duration{in.byte() * 5};
                for (auto& s : sides) {
                    const TimePoint before = s.core->peer_expiry();
                    const bool stalled = s.core->awake(now);
                    if (stalled)
                        FUZZ_CHECK(s.core->peer_expiry() >= now + 2 * kHeartbeat);
                    else
                        FUZZ_CHECK(s.core->peer_expiry() == before);
                }
                break;
            case 3:  // time passes; only self's loop runs (the other is stalled)
                now += Duration{in.byte() * 5};
                self.core->awake(now);
                break;
            case 4:  // self restarts
                if ((in.byte() & 3) == 0) self.start(now);
                break;
            case 5: {  // an arbitrary event (a stale or forged state message)
                const Event e = static_cast<Event>(in.byte() % 5 + 1);
                if (!feed(self, e, now)) self.start(now);
                break;
            }
        }
    }
    return 0;
}
