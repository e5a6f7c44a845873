// The Paranoid Pirate QueueCore under arbitrary sequences of operations: worker messages (READY, HEARTBEAT,
// replies, raw frames) and client requests from small pools of peers, unroutable workers, failing sends and
// time passing. The driver's rule is kept: a client request is read only while has_idle_worker(). After every
// step: check_invariants() is empty, the idle list holds no more workers than there are, every message sent
// is valid 6/PPP for its side, and after tick(now) the next deadline lies in the future.
#include "fuzz_outbox.hpp"

#include <pirates/paranoid_pirate/protocol.hpp>
#include <pirates/paranoid_pirate/queue_core.hpp>

using namespace pirates;
using namespace pirates::paranoid_pirate;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string_view> tokens = {"", "\x01", "\x02", "c0", "c1", "w0", "hello"};
constexpr std::size_t kPeers = 6;

std::string worker(std::size_t i) {
    return "w" + std::to_string(i % kPeers);
}
std::string client(std::size_t i) {
    return "c" + std::to_string(i % kPeers);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    TimePoint now = TimePoint{} + 1000h;
    QueueOptions o;
    o.heartbeat = 100ms;
    o.liveness = 3;
    QueueCore core(o, now);
    fuzz::FuzzOutbox out;

    std::size_t steps = 0;
    while (!in.empty() && steps++ < 2000) {
        const std::uint8_t op = in.byte();
        const std::size_t p = in.byte();
        Frames m;
        switch (op % 9) {
            case 0:
                m = ready_message();
                break;
            case 1:
                m = heartbeat_message();
                break;
            case 2:  // a reply: [client-id] "" reply...
                m.add(frame(client(in.byte())));
                m.add(empty_frame());
                m.add(frame("reply"));
                break;
            case 3:  // raw frames from a worker
                m = in.message(tokens, 8);
                break;
            case 4:  // a client request: [client-id] "" request... or raw
                if (op & 0x80) {
                    m = in.message(tokens, 8);
                } else {
                    m.add(frame(client(p)));
                    m.add(empty_frame());
                    m.add(frame("request"));
                }
                break;
            case 5:
                now += Duration{in.byte() * 5};
                break;
            case 6:
                core.on_unroutable(worker(p));
                break;
            case 7:
                out.plan(in);
                break;
            case 8:
                core.expire(now);
                break;
        }
        if (op % 9 <= 3) {
            m.push(frame(worker(p)));
            core.on_message(kBackend, std::move(m), now, out);
        } else if (op % 9 == 4) {
            core.expire(now);  // as the driver does before it reads the frontend
            if (core.has_idle_worker()) core.on_message(kFrontend, std::move(m), now, out);
        }
        if (now >= core.next_deadline()) {
            core.tick(now, out);
            FUZZ_CHECK(core.next_deadline() > now);
            for (const auto& id : core.idle_workers()) FUZZ_CHECK(core.expiry_of(id).value() > now);
        }

        const std::string bad = core.check_invariants();
        FUZZ_CHECK_MSG(bad.empty(), bad);
        FUZZ_CHECK(core.idle_count() <= kPeers);
        for (auto& item : out.items) {
            Frames& sent = item.message;
            FUZZ_CHECK(sent.size() >= 2 && sent[0].size() > 0);
            if (item.channel == kFrontend) {  // [client-id] ... "" reply...
                const std::size_t start = body_start(sent);
                FUZZ_CHECK(start > 0 && start < sent.size());
                continue;
            }
            FUZZ_CHECK(item.channel == kBackend);
            sent.pop();
            FUZZ_CHECK_MSG(classify_from_queue(sent).ok(), printable(sent));
        }
        out.items.clear();
    }
    return 0;
}
