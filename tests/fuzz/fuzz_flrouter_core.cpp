// The Freelance RouterClientCore under arbitrary sequences of operations: servers added, requests started
// and cancelled, PONGs, replies (the right sequence, a stale one, garbage) from any server, unroutable
// servers, time passing. After every step: check_invariants() is empty; every message to send goes to a
// known server and is a PING or the request in flight; each request completes exactly once, and no later than
// its request_timeout; after tick(now) the next deadline lies in the future.
#include "fuzz_input.hpp"

#include <pirates/freelance/router.hpp>

using namespace pirates;
using namespace pirates::freelance;
using namespace std::chrono_literals;

namespace {
const std::vector<std::string_view> tokens = {"PONG", "PING", "1", "2", "3", "OK", ""};
constexpr std::size_t kServers = 4;
std::string endpoint(std::size_t i) {
    return "tcp://s" + std::to_string(i % kServers) + ":1";
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    TimePoint now = TimePoint{} + 1000h;
    RouterOptions o;
    o.ping_interval = 100ms;
    o.server_ttl = 300ms;
    o.request_timeout = 400ms;
    o.attempt_timeout = 100ms;
    o.unroutable_retry = 10ms;
    o.reconnect_after = 300ms;
    RouterClientCore core(o, now);
    std::uint64_t in_flight = 0;  // the sequence of the request in flight; 0: none (they start at 1)
    TimePoint started{};
    std::uint64_t last_sequence = 0;

    std::size_t steps = 0;
    while (!in.empty() && steps++ < 2000) {
        const std::uint8_t op = in.byte();
        const std::string ep = endpoint(in.byte());
        switch (op % 8) {
            case 0:
                core.connect(ep, now);
                break;
            case 1:
                if (auto r = core.request(fuzz::frames_of({"body"}), now)) {
                    FUZZ_CHECK(in_flight == 0 && *r > last_sequence);
                    in_flight = last_sequence = *r;
                    started = now;
                } else {
                    FUZZ_CHECK(in_flight != 0);
                }
                break;
            case 2:
                core.on_message(ep, fuzz::frames_of({"PONG"}), now);
                break;
            case 3: {  // a reply: the sequence in flight, or another
                Frames m;
                const std::uint8_t which = in.byte();
                std::uint64_t seq = last_sequence + (which & 3) - 1;  // in flight, one before, after
                m.add(frame(std::to_string(seq)));
                m.add(frame("OK"));
                core.on_message(ep, std::move(m), now);
                break;
            }
            case 4:
                core.on_message(ep, in.message(tokens, 5), now);
                break;
            case 5:
                core.on_unroutable(ep, now);
                break;
            case 6:
                now += Duration{in.byte() * 3};
                break;
            case 7:
                if ((in.byte() & 7) == 0) FUZZ_CHECK(core.cancel() == (in_flight != 0));
                break;
        }
        if (now >= core.next_deadline()) {
            core.tick(now);
            FUZZ_CHECK(core.next_deadline() > now);
        }
        const std::string bad = core.check_invariants();
        FUZZ_CHECK_MSG(bad.empty(), bad);
        FUZZ_CHECK(core.server_count() <= kServers);
        for (auto& out : core.take_outgoing()) {
            FUZZ_CHECK(core.known(out.endpoint));
            FUZZ_CHECK(!out.frames.empty());
            if (view(out.frames[0]) == "PING") {
                FUZZ_CHECK(out.frames.size() == 1);
            } else {
                FUZZ_CHECK(in_flight != 0 && view(out.frames[0]) == std::to_string(in_flight));
            }
        }
        for (auto& ep2 : core.take_reconnects()) FUZZ_CHECK(core.known(ep2));
        if (auto done = core.take_completion()) {
            FUZZ_CHECK(in_flight != 0 && done->sequence == in_flight);
            FUZZ_CHECK(!core.busy());
            in_flight = 0;
        }
        FUZZ_CHECK(core.busy() == (in_flight != 0));
        if (in_flight != 0) FUZZ_CHECK(now < started + o.request_timeout);
    }
    return 0;
}
