#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/majordomo/worker.hpp>
#include <pirates/titanic/titanic.hpp>

#include <algorithm>

namespace pirates::titanic {

struct Titanic::Slot {
    Kind kind;
    std::unique_ptr<majordomo::Worker> worker;
    zmq::socket_t* watched = nullptr;  // the worker's socket as registered with the reactor
};

struct Titanic::Held {
    Slot* slot;
    majordomo::Request request;
};

Titanic::Titanic(zmq::context_t& context, TitanicOptions config, const ClockSource& clock)
    : context_(context), config_(std::move(config)), clock_(clock), reactor_(clock) {}

Titanic::~Titanic() = default;

Result<std::unique_ptr<Titanic>> Titanic::open(zmq::context_t& context, TitanicOptions config,
                                               const ClockSource& clock) {
    if (config.dir.empty()) return error("a store directory is required");
    if (config.broker.empty()) return error("a broker endpoint is required");
    std::unique_ptr<Titanic> s(new Titanic(context, std::move(config), clock));
    const TitanicOptions& c = s->config_;

    StoreOptions options;
    options.dir = c.dir;
    options.io = c.io;
    options.compact_min_bytes = c.compact_min_bytes;
    auto store = Store::open(options);
    if (!store) return store.error();
    s->store_ = std::move(store.value());
    s->core_ = std::make_unique<TitanicCore>(*s->store_, c.dispatch);
    s->core_->set_max_open(c.max_open);

    auto add = [&](Kind kind, std::string_view service, int count) {
        for (int i = 0; i < count; ++i) {
            majordomo::WorkerConfig wc;
            wc.broker = c.broker;
            wc.service = std::string(service);
            wc.heartbeat = c.heartbeat;
            wc.liveness = c.liveness;
            wc.reconnect = BackoffPolicy{c.reconnect, std::max(c.reconnect, Duration{32000}), 0.2};
            wc.max_message_bytes = c.max_message_bytes;
            wc.security = c.security;
            s->slots_.push_back(
                std::make_unique<Slot>(Slot{kind, std::make_unique<majordomo::Worker>(context, wc, clock)}));
        }
    };
    const int pool = std::max(1, c.pool);
    add(Kind::request, services::request, pool);
    add(Kind::close, services::close, pool);
    add(Kind::reply, services::reply, 2);
    s->lanes_.resize(static_cast<std::size_t>(std::max(1, c.dispatch.lanes)));
    for (std::size_t i = 0; i < s->lanes_.size(); ++i) {
        s->open_lane(i);
        // Every reply waiting on the lane. The lane's socket object stays in place when the lane is reopened.
        s->reactor_.add(s->lanes_[i], [t = s.get(), i] {
            Frames m;
            if (!recv_nowait(t->lanes_[i], m)) return false;
            auto reply = majordomo::decode_client_reply(std::move(m));
            if (!reply) {
                ++t->stats_.lane_malformed;
                log::debug("malformed reply on lane {}: {}", i, reply.error().reason);
                return true;
            }
            t->core_->lane_reply(static_cast<int>(i), view(reply->service), std::move(reply->body),
                                 t->clock_.now(), t->commands_);
            return true;
        });
    }
    s->watch_workers();

    auto st = s->store_->stats();
    log::info("store {} holds {} open requests ({} answered, {} to dispatch), log {} bytes", c.dir, st.open,
              st.answered, s->core_->dispatcher().pending(), st.log_bytes);
    log::info("serving {} x {}, {} x {}, 2 x {} through {}, {} dispatch lanes", pool, services::request, pool,
              services::close, services::reply, c.broker, s->lanes_.size());
    return s;
}

void Titanic::open_lane(std::size_t lane) {
    SocketOptions options;
    options.max_message_bytes = config_.max_message_bytes;
    options.security = config_.security;
    zmq::socket_t socket = make_socket(context_, zmq::socket_type::dealer, options);
    connect_endpoint(socket, config_.broker);
    lanes_[lane] = std::move(socket);  // the old one (if any) closes with linger 0: late replies die with it
}

void Titanic::watch_workers() {
    for (auto& slot : slots_) {
        zmq::socket_t* socket = slot->worker->socket();
        if (!socket || socket == slot->watched) continue;
        if (slot->watched) reactor_.remove(*slot->watched);
        slot->watched = socket;
        // At most one request per worker connection and turn (MDP hands out one at a time).
        reactor_.add(*socket, [this, s = slot.get()] {
            if (auto request = s->worker->on_readable()) take(*s, std::move(*request), clock_.now());
            return false;
        });
    }
}

void Titanic::run() {
    reactor_.on_summary([this] { log::info("{}", summary()); });
    while (!reactor_.stopped()) turn(Duration{100});
    log::info("stopping; {}", summary());
}

void Titanic::turn(Duration max_wait) {
    watch_workers();
    TimePoint now = clock_.now();
    TimePoint deadline = std::min(now + max_wait, core_->next_deadline());
    for (auto& slot : slots_) deadline = std::min(deadline, slot->worker->next_deadline());
    reactor_.run_once(until(now, deadline));  // the handlers take what came
    now = clock_.now();

    for (auto& slot : slots_) slot->worker->on_timer();

    // One commit for everything staged in this turn, then the answers that waited for it.
    const auto before = core_->stats().requests;
    const auto commits_before = store_->stats().commits;
    const auto started = std::chrono::steady_clock::now();  // real time: the disk's, whatever clock_ says
    core_->commit(now, answers_);
    if (store_->stats().commits != commits_before)
        stats_.commit_duration.observe(std::chrono::steady_clock::now() - started);
    const auto batch = core_->stats().requests - before;
    if (batch) {
        ++stats_.batches;
        stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, batch);
    }
    deliver(answers_);

    core_->dispatch(now, commands_);
    execute(commands_);
    ++stats_.turns;
}

void Titanic::take(Slot& slot, majordomo::Request&& request, TimePoint) {
    const Handle h = next_handle_++;
    Frames body = std::move(request.body);
    held_.emplace(h, std::make_unique<Held>(Held{&slot, std::move(request)}));
    switch (slot.kind) {
        case Kind::request:
            core_->request(h, std::move(body), answers_);
            break;
        case Kind::reply:
            core_->reply(h, std::move(body), answers_);
            break;
        case Kind::close:
            core_->close(h, std::move(body), answers_);
            break;
    }
}

void Titanic::deliver(std::vector<Answer>& answers) {
    for (auto& a : answers) {
        auto it = held_.find(a.to);
        if (it == held_.end()) continue;
        Held& h = *it->second;
        if (!h.slot->worker->reply(std::move(h.request), std::move(a.body)))
            log::debug("an answer was lost (its worker connection was replaced)");
        held_.erase(it);
    }
    answers.clear();
}

void Titanic::execute(std::vector<LaneCommand>& commands) {
    for (auto& c : commands) {
        const auto lane = static_cast<std::size_t>(c.lane);
        if (c.kind == LaneCommand::Kind::reset) {
            open_lane(lane);
            continue;
        }
        try {
            if (!majordomo::encode_client_request(c.service, std::move(c.body))
                     .send(lanes_[lane], ZMQ_DONTWAIT))
                log::debug("lane {} could not send to {} now; it will time out and retry", lane, c.service);
        } catch (const zmq::error_t& e) {
            log::debug("lane {} send failed: {}", lane, e.what());
        }
    }
    commands.clear();
}

std::string Titanic::summary() const {
    const auto& c = core_->stats();
    auto st = store_->stats();
    return fmt::format(
        "requests {} replies stored {} closes {} bad input {} refused (max open) {} write failures {} "
        "dispatched "
        "{} unavailable {} timeouts {}; commits {} largest batch {}; open {} log {} bytes compactions {}",
        c.requests, c.replies_stored, c.closes, c.bad_input, c.refused_full, c.write_failures, c.dispatched,
        c.unavailable, c.timeouts, st.commits, stats_.largest_batch, st.open, st.log_bytes, st.compactions);
}

}  // namespace pirates::titanic
