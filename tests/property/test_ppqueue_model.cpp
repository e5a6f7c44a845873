// The Paranoid Pirate queue core against a model of 6/PPP as docs/protocols.md states it:
//  - any message from a worker marks it alive and idle: tail of the LRU list, expiry = now + interval x
//    liveness (even when what it said is invalid and dropped);
//  - READY (one frame 0x01) and HEARTBEAT (one frame 0x02) are absorbed; `[client-id] "" reply...` goes to the
//    frontend as it is; anything else is dropped;
//  - a client request `[client-id] "" request...` goes to the least recently used idle worker that is alive,
//    which is no longer idle; one that cannot be reached is forgotten and the next is tried;
//  - every interval the queue sends HEARTBEAT to each idle worker and removes those whose expiry has passed.
// The model is a plain vector; the core's list/map is what is checked against it after every step.
#include "property.hpp"

#include <pirates/paranoid_pirate/queue_core.hpp>

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace pirates;
using namespace pirates::paranoid_pirate;
using namespace std::chrono_literals;

namespace {

using Sent = std::vector<std::pair<Channel, std::vector<std::string>>>;

struct RecordingOutbox final : Outbox {
    Sent sent;
    std::set<std::string> gone;  // workers whose connection is closed: sends to them fail as libzmq's do
    SendResult send(Frames& message, Channel channel) override {
        if (channel == kBackend && gone.count(message.front().to_string())) return SendResult::peer_gone;
        std::vector<std::string> frames;
        for (const auto& f : message) frames.push_back(f.to_string());
        sent.emplace_back(channel, std::move(frames));
        return SendResult::sent;
    }
};

struct Model {
    struct Idle {
        std::string id;
        TimePoint expiry;
    };
    Duration interval;
    Duration ttl;
    TimePoint next_heartbeat;
    std::vector<Idle> idle;  // least recently heard first
    std::set<std::string> gone;
    Sent sent;

    void heard(const std::string& id, TimePoint now) {
        std::erase_if(idle, [&](const Idle& w) { return w.id == id; });
        idle.push_back({id, now + ttl});
    }
    void purge(TimePoint now) {
        std::erase_if(idle, [&](const Idle& w) { return w.expiry <= now; });
    }
    void worker(const std::string& id, const std::vector<std::string>& frames, TimePoint now) {
        heard(id, now);
        const bool reply = frames.size() >= 3 && !frames[0].empty() && frames[1].empty();
        if (reply) sent.emplace_back(kFrontend, frames);
    }
    void client(const std::vector<std::string>& frames, TimePoint now) {
        if (frames.size() < 3 || frames[0].empty() || !frames[1].empty()) return;  // malformed: dropped
        purge(now);
        while (!idle.empty()) {
            const std::string id = idle.front().id;
            idle.erase(idle.begin());
            if (gone.count(id)) continue;
            std::vector<std::string> out{id};
            out.insert(out.end(), frames.begin(), frames.end());
            sent.emplace_back(kBackend, std::move(out));
            return;
        }
    }
    void tick(TimePoint now) {
        purge(now);
        if (now < next_heartbeat) return;
        next_heartbeat += interval;
        if (next_heartbeat <= now) next_heartbeat = now + interval;
        std::vector<Idle> kept;
        for (const auto& w : idle) {
            if (gone.count(w.id)) continue;  // the send fails: forgotten
            sent.emplace_back(kBackend, std::vector<std::string>{w.id, "\x02"});
            kept.push_back(w);
        }
        idle = std::move(kept);
    }
};

Frames to_frames(const std::vector<std::string>& strings) {
    Frames f;
    for (const auto& s : strings) f.add(Frame(s.data(), s.size()));
    return f;
}

}  // namespace

TEST_CASE("property: the Paranoid Pirate queue core follows 6/PPP's rules step by step") {
    PIRATES_PROPERTY("PPP queue core == model", [] {
        const auto interval = Duration{*rc::gen::inRange(1, 200)};
        const int liveness = *rc::gen::inRange(1, 5);
        // One operation: (kind, worker or client number, amount).
        const auto ops = *rc::gen::container<std::vector<std::tuple<int, int, int>>>(
            rc::gen::tuple(rc::gen::inRange(0, 10), rc::gen::inRange(0, 4), rc::gen::inRange(0, 400)));

        ManualClock clock;
        QueueCore core(QueueOptions{interval, liveness}, clock.now());
        RecordingOutbox out;
        Model model{interval, interval * liveness, clock.now() + interval, {}, {}, {}};
        const std::vector<std::string> names{"W0", "W1", "W2", "W3", "W4"};

        for (const auto& [kind, who, amount] : ops) {
            const std::string& w = names[static_cast<std::size_t>(who)];
            const std::string client = "C" + std::to_string(who);
            std::vector<std::string> frames;
            switch (kind) {
                case 0:
                    frames = {"\x01"};  // READY
                    break;
                case 1:
                    frames = {"\x02"};  // HEARTBEAT
                    break;
                case 2:
                    frames = {client, "", "reply " + std::to_string(amount)};
                    break;
                case 3:
                    frames = {std::string(1, static_cast<char>(amount % 256))};  // a one-frame message
                    break;
                case 4:
                    frames = {client, "", "request " + std::to_string(amount)};
                    break;
                case 5:
                    frames = {client, "request without delimiter"};
                    break;
                case 6:
                case 7:
                    clock.advance(Duration{amount});
                    break;
                case 8:
                    out.gone.insert(w);  // the worker's connection closes
                    model.gone.insert(w);
                    break;
                default:
                    out.gone.erase(w);  // it reconnects (it will say READY again)
                    model.gone.erase(w);
                    break;
            }
            const TimePoint now = clock.now();
            if (kind <= 3) {
                if (out.gone.count(w)) continue;  // a closed connection sends nothing
                auto m = to_frames(frames);
                m.push(Frame(w.data(), w.size()));
                core.on_message(kBackend, std::move(m), now, out);
                // The model: a one-frame message that is neither READY nor HEARTBEAT still marks the worker.
                model.worker(w, frames, now);
            } else if (kind <= 5) {
                core.expire(now);  // what the driver does before reading the frontend
                model.purge(now);
                if (!core.has_idle_worker()) {
                    RC_ASSERT(model.idle.empty());
                    continue;  // the driver does not read the frontend without an idle worker
                }
                core.on_message(kFrontend, to_frames(frames), now, out);
                model.client(frames, now);
            } else if (kind <= 7) {
                core.tick(now, out);
                model.tick(now);
            }
            RC_ASSERT(out.sent == model.sent);
            std::vector<std::string> model_ids;
            for (const auto& i : model.idle) model_ids.push_back(i.id);
            RC_ASSERT(core.idle_workers() == model_ids);
            for (const auto& i : model.idle)
                RC_ASSERT(core.expiry_of(i.id) == std::optional<TimePoint>(i.expiry));
            TimePoint deadline = model.next_heartbeat;
            if (!model.idle.empty()) deadline = std::min(deadline, model.idle.front().expiry);
            RC_ASSERT(core.next_deadline() == deadline);
        }
    });
}
