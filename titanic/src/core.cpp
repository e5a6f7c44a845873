#include <pirates/common/log.hpp>
#include <pirates/titanic/core.hpp>

#include <algorithm>

namespace pirates::titanic {

// ---------------------------------------------------------------------------------------------------------------
// Dispatcher

Dispatcher::Dispatcher(Store& store, DispatchPolicy policy, std::uint64_t seed)
    : store_(store), policy_(policy), seeds_(seed) {
    lanes_.resize(static_cast<std::size_t>(std::max(1, policy_.lanes)));
    for (int i = static_cast<int>(lanes_.size()) - 1; i >= 0; --i) free_lanes_.push_back(i);
}

void Dispatcher::add(const Uuid& id, const std::string& service) {
    if (where_.count(id)) return;
    auto it = services_.find(service);
    if (it == services_.end())
        it = services_
                 .emplace(service,
                          Queue{service, {}, Backoff(policy_.backoff, seeds_()), {}, false, false, {}})
                 .first;
    Queue& q = it->second;
    auto pos = q.waiting.insert(q.waiting.end(), id);
    where_.emplace(id, std::make_pair(&q, pos));
    if (!q.busy) schedule(q);
}

void Dispatcher::erase_waiting(const Uuid& id) {
    auto it = where_.find(id);
    if (it == where_.end()) return;
    it->second.first->waiting.erase(it->second.second);
    where_.erase(it);
}

void Dispatcher::remove(const Uuid& id) {
    auto it = where_.find(id);
    if (it == where_.end()) return;
    Queue& q = *it->second.first;
    erase_waiting(id);
    if (q.waiting.empty() && !q.busy) {
        unschedule(q);
        services_.erase(services_.find(q.name));
    }
}

void Dispatcher::schedule(Queue& q) {
    if (q.scheduled) return;
    q.slot = schedule_.emplace(q.not_before, &q);
    q.scheduled = true;
}

void Dispatcher::unschedule(Queue& q) {
    if (!q.scheduled) return;
    schedule_.erase(q.slot);
    q.scheduled = false;
}

void Dispatcher::release(Queue& q) {
    q.busy = false;
    if (q.waiting.empty()) {
        unschedule(q);
        services_.erase(services_.find(q.name));
    } else {
        schedule(q);
    }
}

void Dispatcher::retry_later(Queue& q, TimePoint now) {
    q.not_before = now + q.backoff.next();
}

void Dispatcher::free_lane(int lane) {
    lanes_[static_cast<std::size_t>(lane)] = Lane{};
    free_lanes_.push_back(lane);
}

int Dispatcher::lanes_busy() const {
    return static_cast<int>(lanes_.size() - free_lanes_.size());
}

void Dispatcher::dispatch(TimePoint now, std::vector<LaneCommand>& out, TitanicCoreStats& counters) {
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
        Lane& l = lanes_[i];
        if (l.stage == Lane::Stage::idle || l.deadline > now) continue;
        Queue& q = *l.queue;
        ++counters.timeouts;
        log::debug("dispatch: {} to {} timed out, retrying later",
                   l.stage == Lane::Stage::querying ? "mmi.service query" : "request", q.name);
        out.push_back(LaneCommand{LaneCommand::Kind::reset, static_cast<int>(i), {}, {}});
        free_lane(static_cast<int>(i));
        retry_later(q, now);
        release(q);
    }
    while (!free_lanes_.empty() && !schedule_.empty() && schedule_.begin()->first <= now) {
        Queue& q = *schedule_.begin()->second;
        unschedule(q);
        int lane = free_lanes_.back();
        free_lanes_.pop_back();
        Lane& l = lanes_[static_cast<std::size_t>(lane)];
        l.stage = Lane::Stage::querying;
        l.queue = &q;
        l.id = q.waiting.front();
        l.deadline = now + policy_.timeout;
        q.busy = true;
        Frames body;
        body.add(frame(q.name));
        out.push_back(
            LaneCommand{LaneCommand::Kind::send, lane, std::string(services::mmi_service), std::move(body)});
    }
}

void Dispatcher::lane_reply(int lane, std::string_view service, Frames body, TimePoint now,
                            std::vector<LaneCommand>& out, TitanicCoreStats& counters) {
    if (lane < 0 || static_cast<std::size_t>(lane) >= lanes_.size() ||
        lanes_[static_cast<std::size_t>(lane)].stage == Lane::Stage::idle) {
        ++counters.stray_replies;
        return;
    }
    Lane& l = lanes_[static_cast<std::size_t>(lane)];
    Queue& q = *l.queue;
    if (l.stage == Lane::Stage::querying) {
        if (service != services::mmi_service) {
            ++counters.stray_replies;
            return;
        }
        if (body.size() != 1 || !equals(body[0], status::ok)) {
            ++counters.unavailable;
            log::debug("dispatch: service {} not available ({}), retrying later", q.name, printable(body));
            free_lane(lane);
            retry_later(q, now);
            release(q);
            return;
        }
        if (q.waiting.empty()) {  // closed meanwhile
            free_lane(lane);
            release(q);
            return;
        }
        l.id = q.waiting.front();
        auto request = store_.read_request(l.id);
        if (!request || request->size() < 2) {
            log::error("dispatch: cannot read request {}: {}", l.id.str(),
                       request ? "no body" : request.error().reason);
            free_lane(lane);
            retry_later(q, now);
            release(q);
            return;
        }
        Frames msg = std::move(*request);
        msg.pop();  // the service frame
        l.stage = Lane::Stage::requesting;
        l.deadline = now + policy_.timeout;
        ++counters.dispatched;
        out.push_back(LaneCommand{LaneCommand::Kind::send, lane, q.name, std::move(msg)});
        return;
    }
    // requesting
    if (service != q.name) {
        ++counters.stray_replies;
        return;
    }
    Uuid id = l.id;
    free_lane(lane);
    if (store_.state(id) == RequestState::pending) {
        store_.stage_reply(id, body);
        storing_.emplace_back(&q, id);  // q stays busy until the reply is committed
    } else {
        release(q);  // closed while in flight: the reply has nowhere to go
    }
}

void Dispatcher::committed(bool ok, TimePoint now, TitanicCoreStats& counters) {
    for (auto& [q, id] : storing_) {
        if (ok) {
            ++counters.replies_stored;
            q->backoff.reset();
            q->not_before = TimePoint{};
            erase_waiting(id);
        } else {
            retry_later(*q, now);
        }
        release(*q);
    }
    storing_.clear();
}

TimePoint Dispatcher::next_deadline() const {
    TimePoint next = TimePoint::max();
    for (const auto& l : lanes_)
        if (l.stage != Lane::Stage::idle) next = std::min(next, l.deadline);
    if (!free_lanes_.empty() && !schedule_.empty()) next = std::min(next, schedule_.begin()->first);
    return next;
}

std::string Dispatcher::check_invariants() const {
    std::string bad;
    auto known = [&](const Queue* q) {
        auto it = q ? services_.find(q->name) : services_.end();
        return it != services_.end() && &it->second == q;
    };
    std::vector<bool> free(lanes_.size(), false);
    for (int lane : free_lanes_) {
        if (lane < 0 || static_cast<std::size_t>(lane) >= lanes_.size() ||
            free[static_cast<std::size_t>(lane)])
            bad += "free lane list wrong; ";
        else
            free[static_cast<std::size_t>(lane)] = true;
    }
    for (std::size_t i = 0; i < lanes_.size(); ++i) {
        const Lane& l = lanes_[i];
        if ((l.stage == Lane::Stage::idle) != (i < free.size() && free[i]))
            bad += "lane free list disagrees; ";
        if (l.stage != Lane::Stage::idle && (!known(l.queue) || !l.queue->busy))
            bad += "busy lane without its busy queue; ";
    }
    std::size_t waiting = 0, scheduled = 0;
    for (const auto& [name, q] : services_) {
        if (q.name != name) bad += "queue name mismatch; ";
        waiting += q.waiting.size();
        if (q.waiting.empty() && !q.busy) bad += "empty idle queue kept; ";
        if (q.scheduled) {
            ++scheduled;
            if (q.busy) bad += "busy queue scheduled; ";
            if (q.slot->second != &q) bad += "queue's schedule slot is another's; ";
        } else if (!q.busy && !q.waiting.empty()) {
            bad += "queue with waiting requests neither busy nor scheduled; ";
        }
    }
    if (scheduled != schedule_.size()) bad += "schedule holds queues not marked scheduled; ";
    if (waiting != where_.size()) bad += "waiting lists and their index differ in size; ";
    for (const auto& [id, at] : where_)
        if (!known(at.first) || *at.second != id) bad += "waiting index points to the wrong place; ";
    for (const auto& [q, id] : storing_)
        if (!known(q) || !q->busy) bad += "reply being stored for a queue that is not busy; ";
    return bad;
}

// ---------------------------------------------------------------------------------------------------------------
// TitanicCore

TitanicCore::TitanicCore(Store& store, DispatchPolicy policy, std::uint64_t seed)
    : store_(store), dispatcher_(store, policy, seed) {
    for (const auto& id : store_.pending_in_order()) dispatcher_.add(id, *store_.service(id));
    if (dispatcher_.pending())
        log::info("{} requests pending from the store, to dispatch", dispatcher_.pending());
}

void TitanicCore::answer(std::vector<Answer>& out, Handle to, std::string_view code) {
    Frames body;
    body.add(frame(code));
    out.push_back(Answer{to, std::move(body)});
}

void TitanicCore::request(Handle from, Frames body, std::vector<Answer>& out) {
    if (body.size() < 2 || body[0].size() == 0) {
        ++counters_.bad_input;
        log::debug("titanic.request: malformed ({} frames), answered 400", body.size());
        return answer(out, from, status::unknown);
    }
    if (Store::record_size(body) > store_.max_record_bytes()) {
        ++counters_.bad_input;
        log::debug("titanic.request: too large, answered 400");
        return answer(out, from, status::unknown);
    }
    if (open_requests() >= max_open_) {
        ++counters_.refused_full;
        if (!full_)
            log::warn(
                "titanic.request: {} requests are open (--max-open); new ones are answered 500 until some "
                "are closed",
                open_requests());
        full_ = true;
        return answer(out, from, status::failure);
    }
    if (full_) {
        log::info("titanic.request: fewer than {} requests open, accepting again", max_open_);
        full_ = false;
    }
    if (store_.broken()) return answer(out, from, status::failure);
    Uuid id = store_.stage_request(body);
    held_.push_back(Held{Held::Kind::request, from, id, body[0].to_string()});
    ++staged_requests_;
}

namespace {
// The one UUID frame of titanic.reply / titanic.close, or nullopt.
std::optional<Uuid> uuid_of(const Frames& body) {
    if (body.size() != 1) return std::nullopt;
    return Uuid::parse(view(body[0]));
}
}  // namespace

void TitanicCore::reply(Handle from, Frames body, std::vector<Answer>& out) {
    auto id = uuid_of(body);
    if (!id) {
        ++counters_.bad_input;
        log::debug("titanic.reply: not a UUID ({}), answered 400", printable(body));
        return answer(out, from, status::unknown);
    }
    switch (store_.state(*id)) {
        case RequestState::unknown:
            return answer(out, from, status::unknown);
        case RequestState::pending:
            return answer(out, from, status::pending);
        case RequestState::answered:
            break;
    }
    auto stored = store_.read_reply(*id);
    if (!stored) {
        log::error("titanic.reply: cannot read the reply of {}: {}", id->str(), stored.error().reason);
        return answer(out, from, status::failure);
    }
    Frames msg;
    msg.add(frame(status::ok));
    msg.append(std::move(*stored));
    out.push_back(Answer{from, std::move(msg)});
}

void TitanicCore::close(Handle from, Frames body, std::vector<Answer>& out) {
    auto id = uuid_of(body);
    if (!id) {
        ++counters_.bad_input;
        log::debug("titanic.close: not a UUID ({}), answered 400", printable(body));
        return answer(out, from, status::unknown);
    }
    if (store_.state(*id) == RequestState::unknown)
        return answer(out, from, status::ok);  // nothing to forget
    if (store_.broken()) return answer(out, from, status::failure);
    store_.stage_close(*id);
    held_.push_back(Held{Held::Kind::close, from, *id, {}});
}

void TitanicCore::commit(TimePoint now, std::vector<Answer>& out) {
    if (store_.staged() == 0) return;
    auto result = store_.commit();
    bool ok = result.ok();
    if (!ok) {
        ++counters_.write_failures;
        log::error("store write failed, {} answers are \"500\": {}", held_.size(), result.error().reason);
    }
    dispatcher_.committed(ok, now, counters_);
    for (auto& h : held_) {
        if (!ok) {
            answer(out, h.to, status::failure);
            continue;
        }
        if (h.kind == Held::Kind::request) {
            ++counters_.requests;
            dispatcher_.add(h.id, h.service);
            Frames msg;
            msg.add(frame(status::ok));
            msg.add(frame(h.id.str()));
            out.push_back(Answer{h.to, std::move(msg)});
        } else {
            ++counters_.closes;
            dispatcher_.remove(h.id);
            answer(out, h.to, status::ok);
        }
    }
    held_.clear();
    staged_requests_ = 0;
}

std::string TitanicCore::check_invariants() const {
    std::string bad = dispatcher_.check_invariants();
    std::size_t requests = 0;
    for (const auto& h : held_)
        if (h.kind == Held::Kind::request) ++requests;
    if (requests != staged_requests_) bad += "staged request count wrong; ";
    if (dispatcher_.pending() > store_.stats().open) bad += "more requests to dispatch than open; ";
    return bad;
}

}  // namespace pirates::titanic
