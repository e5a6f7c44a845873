// The Titanic core (TitanicCore over a real Store in a scratch directory) under arbitrary sequences of
// operations: titanic.request / reply / close calls (well-formed or not), commits, the dispatcher's lanes
// (mmi.service answers "200"/"404"/garbage, replies from the service, stray replies, time passing so lanes time
// out and back-offs run out) and restarts (core and store closed and reopened: recovery from the log it
// wrote). After every step: check_invariants() is empty; open requests stay under max_open; lane commands
// name a lane of the pool; every request acknowledged "200" and not closed is still known after a restart,
// and every reply stored is still there.
#include "fuzz_input.hpp"
#include "titanic_fixture.hpp"

#include <pirates/titanic/core.hpp>

#include <map>
#include <set>

using namespace pirates;
using namespace pirates::titanic;
using namespace std::chrono_literals;

namespace {

const std::vector<std::string_view> tokens = {"echo", "x", "", "200", "404", "mmi.service", "hello"};
const std::vector<std::string_view> services_pool = {"echo", "x", "y"};
constexpr int kLanes = 3;
constexpr std::size_t kMaxOpen = 12;

DispatchPolicy policy() {
    DispatchPolicy p;
    p.lanes = kLanes;
    p.timeout = 100ms;
    p.backoff = BackoffPolicy{Duration{20}, Duration{200}, 0.2};
    return p;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    fuzz::scratch().clear();
    auto store = fuzz::open_store(in.byte() & 1 ? 512 : 1 << 20);
    FUZZ_CHECK(store != nullptr);
    auto core = std::make_unique<TitanicCore>(*store, policy(), 7);
    core->set_max_open(kMaxOpen);
    TimePoint now = TimePoint{} + 1000h;

    std::vector<Uuid> acked;           // acknowledged "200" uuid, not closed (as far as we know)
    std::set<std::string> closing;     // str() of the UUIDs a close was asked for (may be gone)
    std::map<int, std::string> lanes;  // lane -> service of the request in flight on it
    std::size_t steps = 0;
    while (!in.empty() && steps++ < 600) {
        const std::uint8_t op = in.byte();
        std::vector<Answer> out;
        std::vector<LaneCommand> commands;
        switch (op % 9) {
            case 0: {  // titanic.request
                Frames body;
                if (op & 0x80) {
                    body = in.message(tokens, 5);
                } else {
                    body.add(frame(services_pool[in.byte() % services_pool.size()]));
                    body.add(frame("request"));
                }
                core->request(1, std::move(body), out);
                break;
            }
            case 1:    // titanic.reply
            case 2: {  // titanic.close
                Frames body;
                const std::uint8_t which = in.byte();
                if (!acked.empty() && which < 0xF0)
                    body.add(frame(acked[which % acked.size()].str()));
                else
                    body = in.message(tokens, 3);
                if (op % 9 == 2 && body.size() == 1) {
                    std::string text(view(body[0]));
                    if (auto id = Uuid::parse(text)) closing.insert(id->str());
                }
                if (op % 9 == 1)
                    core->reply(2, std::move(body), out);
                else
                    core->close(3, std::move(body), out);
                break;
            }
            case 3:
                core->commit(now, out);
                break;
            case 4:
                core->dispatch(now, commands);
                break;
            case 5: {  // a lane's MDP client got something
                const int lane = in.byte() % (kLanes + 1);
                const std::uint8_t what = in.byte();
                std::string service = "mmi.service";
                Frames body;
                if (what % 4 == 0) {
                    body.add(frame("200"));
                } else if (what % 4 == 1) {
                    body.add(frame("404"));
                } else if (what % 4 == 2) {
                    auto it = lanes.find(lane);
                    service = it != lanes.end() ? it->second : "echo";
                    body.add(frame("reply"));
                } else {
                    service = std::string(services_pool[in.byte() % services_pool.size()]);
                    body = in.message(tokens, 3);
                }
                core->lane_reply(lane, service, std::move(body), now, commands);
                break;
            }
            case 6:
                now += Duration{in.byte() * 2};
                core->dispatch(now, commands);
                break;
            case 7: {  // restart: everything acknowledged must survive
                core->commit(now, out);
                core.reset();
                store.reset();
                store = fuzz::open_store(in.byte() & 1 ? 512 : 1 << 20);
                FUZZ_CHECK(store != nullptr);
                for (const auto& id : acked)
                    if (!closing.contains(id.str()))
                        FUZZ_CHECK_MSG(store->state(id) != RequestState::unknown,
                                       id.str() + " lost at restart");
                core = std::make_unique<TitanicCore>(*store, policy(), 7);
                core->set_max_open(kMaxOpen);
                lanes.clear();
                break;
            }
            case 8:
                core->commit(now, out);
                core->dispatch(now, commands);
                break;
        }
        for (auto& c : commands) {
            FUZZ_CHECK(c.lane >= 0 && c.lane < kLanes);
            if (c.kind == LaneCommand::Kind::reset) {
                lanes.erase(c.lane);
            } else {
                FUZZ_CHECK(!c.service.empty() && !c.body.empty());
                lanes[c.lane] = c.service;
            }
        }
        for (auto& a : out) {
            FUZZ_CHECK(!a.body.empty());
            if (a.to == 1 && view(a.body[0]) == status::ok) {  // request acknowledged
                FUZZ_CHECK(a.body.size() == 2);
                auto id = Uuid::parse(view(a.body[1]));
                FUZZ_CHECK(id.has_value());
                acked.push_back(*id);
            }
        }
        for (const auto& id : acked)
            if (!closing.contains(id.str()))
                FUZZ_CHECK_MSG(store->state(id) != RequestState::unknown, id.str() + " lost");
        FUZZ_CHECK(core->open_requests() <= kMaxOpen);
        FUZZ_CHECK(core->dispatcher().lanes_busy() <= kLanes);
        const std::string bad = core->check_invariants();
        FUZZ_CHECK_MSG(bad.empty(), bad);
        if (store->staged() == 0)
            FUZZ_CHECK(core->dispatcher().pending() == store->stats().open - store->stats().answered);
    }
    return 0;
}
