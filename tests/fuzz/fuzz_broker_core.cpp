// The Majordomo BrokerCore under arbitrary sequences of operations: messages from a small pool of peers
// (well-formed client requests, READY, REPLY/PARTIAL, HEARTBEAT, DISCONNECT in every framing, or raw frames),
// connections closing, sends failing, time passing, drain and shutdown. After every step:
// check_invariants() is empty, memory stays under the configured bounds, every message the core sent is
// well-formed MDP addressed to a peer of the pool, and after tick(now) the next deadline lies in the future.
#include "fuzz_outbox.hpp"

#include <pirates/majordomo/broker_core.hpp>
#include <pirates/majordomo/protocol.hpp>

using namespace pirates;
using namespace pirates::majordomo;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string_view> tokens = {
    "",     "MDPC01", "MDPW01", "MDPC02", "MDPW02",      "\x01",      "\x02", "\x03",
    "\x04", "\x05",   "\x06",   "echo",   "mmi.service", "mmi.stats", "A",    "B"};
const std::vector<std::string_view> services = {"echo",        "echo2",        "x",         "mmi.service",
                                                "mmi.workers", "mmi.services", "mmi.stats", "mmi.nope"};
constexpr std::size_t kPeers = 8;
constexpr std::size_t kMaxQueue = 6;
constexpr std::size_t kMaxServices = 5;
constexpr std::size_t kMaxQueueBytes = 12000;

std::string peer(std::size_t i) {
    return std::string(1, static_cast<char>('A' + i % kPeers));
}

Frames body(fuzz::FuzzInput& in) {
    Frames b = in.message(tokens, 4);
    if (b.empty()) b.add(frame("hello"));
    return b;
}

// What the broker sends must be something a client or a worker of some version can decode.
void check_sent(Frames& m) {
    FUZZ_CHECK(m.size() >= 2);
    const std::string id(view(m[0]));
    FUZZ_CHECK(id.size() == 1 && id[0] >= 'A' && id[0] < static_cast<char>('A' + kPeers));
    m.pop();
    for (Version v : {Version::v01, Version::v02, Version::majortomo}) {
        if (decode_worker_inbound(share(m), v).ok()) return;
        if (decode_client_answer(share(m), v).ok()) return;
    }
    FUZZ_CHECK_MSG(false, "broker sent " + printable(m));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    BrokerCoreOptions o;
    o.heartbeat = 100ms;
    o.liveness = 3;
    o.max_queue = kMaxQueue;
    o.max_services = kMaxServices;
    o.max_queue_bytes = kMaxQueueBytes;
    o.request_ttl = 1000ms;
    const std::uint8_t config = in.byte();
    o.busy_timeout = (config & 1) ? 700ms : 0ms;
    o.max_redeliveries = (config >> 1) & 3;
    BrokerCore core(o);
    fuzz::FuzzOutbox out;
    TimePoint now = TimePoint{} + 1000h;

    std::size_t steps = 0;
    while (!in.empty() && steps++ < 2000) {
        const std::uint8_t op = in.byte();
        const std::size_t p = in.byte() % kPeers;
        const Version v = static_cast<Version>(op >> 6 < 3 ? op >> 6 : 0);
        const int connection = (p & 4) ? BrokerCore::no_connection : static_cast<int>(p);
        Frames m;
        switch (op % 11) {
            case 0:  // raw frames
                m = in.message(tokens, 10);
                break;
            case 1:
                m = encode_ready(services[in.byte() % services.size()], v);
                break;
            case 2:
                m = encode_client_request(v, services[in.byte() % services.size()], body(in));
                break;
            case 3: {
                const bool final = v == Version::v01 || (in.byte() & 1);
                m = encode_reply(frame(peer(in.byte())), body(in), v, final);
                break;
            }
            case 4:
                m = encode_heartbeat(v);
                break;
            case 5:
                m = encode_disconnect(v);
                break;
            case 6:
                now += Duration{in.byte() * 10};
                break;
            case 7:
                core.on_connection_closed(static_cast<int>(p), now, out);
                break;
            case 8:
                out.plan(in);
                break;
            case 9:
                if ((in.byte() & 7) == 0) core.begin_drain();
                break;
            case 10:
                if ((in.byte() & 15) == 0) core.disconnect_all(out);
                break;
        }
        if (op % 11 <= 5) {
            m.push(frame(peer(p)));
            core.on_message(std::move(m), now, out, connection);
        }
        if (now >= core.next_deadline()) {
            core.tick(now, out);
            FUZZ_CHECK(core.next_deadline() > now);
        }

        const std::string bad = core.check_invariants();
        FUZZ_CHECK_MSG(bad.empty(), bad);
        FUZZ_CHECK(core.service_count() <= kMaxServices);
        FUZZ_CHECK(core.worker_count() <= kPeers);
        // A worker forgotten busy gives its request back past max_queue: one per worker at most.
        FUZZ_CHECK(core.queued_count() <= core.service_count() * kMaxQueue + kPeers);
        FUZZ_CHECK(core.queued_bytes() <= kMaxQueueBytes + kPeers * (queued_request_overhead + 4 * 240 + 8));
        for (auto& item : out.items) check_sent(item.message);
        out.items.clear();
    }
    return 0;
}
