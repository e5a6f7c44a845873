#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/signals.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/majordomo/worker.hpp>
#include <pirates/titanic/server.hpp>

#include <algorithm>

namespace pirates::titanic {

struct Server::Slot {
    Kind kind;
    std::unique_ptr<majordomo::Worker> worker;
};

struct Server::Held {
    Slot* slot;
    majordomo::Request request;
};

Server::Server(zmq::context_t& context, ServerConfig config, const ClockSource& clock)
    : context_(context), config_(std::move(config)), clock_(clock) {}

Server::~Server() = default;

Result<std::unique_ptr<Server>> Server::open(zmq::context_t& context, ServerConfig config,
                                             const ClockSource& clock) {
    if (config.dir.empty()) return error("a store directory is required");
    if (config.broker.empty()) return error("a broker endpoint is required");
    std::unique_ptr<Server> s(new Server(context, std::move(config), clock));
    const ServerConfig& c = s->config_;

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
            s->slots_.push_back(
                std::make_unique<Slot>(Slot{kind, std::make_unique<majordomo::Worker>(context, wc, clock)}));
        }
    };
    const int pool = std::max(1, c.pool);
    add(Kind::request, services::request, pool);
    add(Kind::close, services::close, pool);
    add(Kind::reply, services::reply, 2);
    s->lanes_.resize(static_cast<std::size_t>(std::max(1, c.dispatch.lanes)));
    for (std::size_t i = 0; i < s->lanes_.size(); ++i) s->open_lane(i);

    auto st = s->store_->stats();
    log::info("store {} holds {} open requests ({} answered, {} to dispatch), log {} bytes", c.dir, st.open,
              st.answered, s->core_->dispatcher().pending(), st.log_bytes);
    log::info("serving {} x {}, {} x {}, 2 x {} through {}, {} dispatch lanes", pool, services::request, pool,
              services::close, services::reply, c.broker, s->lanes_.size());
    return s;
}

void Server::open_lane(std::size_t lane) {
    SocketOptions options;
    options.max_message_bytes = config_.max_message_bytes;
    zmq::socket_t socket = make_socket(context_, zmq::socket_type::dealer, options);
    socket.connect(config_.broker);
    lanes_[lane] = std::move(socket);  // the old one (if any) closes with linger 0: late replies die with it
}

void Server::run() {
    while (!stop_ && !stop_requested()) turn(Duration{100});
    log::info("stopping; {}", summary());
}

void Server::turn(Duration max_wait) {
    std::vector<zmq::pollitem_t> items;
    std::vector<Slot*> owners;
    items.reserve(slots_.size() + lanes_.size());
    for (auto& slot : slots_) {
        if (auto* socket = slot->worker->socket()) {
            items.push_back(zmq::pollitem_t{socket->handle(), 0, ZMQ_POLLIN, 0});
            owners.push_back(slot.get());
        }
    }
    const std::size_t first_lane = items.size();
    for (auto& lane : lanes_) items.push_back(zmq::pollitem_t{lane.handle(), 0, ZMQ_POLLIN, 0});

    TimePoint now = clock_.now();
    TimePoint deadline = std::min(now + max_wait, core_->next_deadline());
    for (auto& slot : slots_) deadline = std::min(deadline, slot->worker->next_deadline());
    try {
        zmq::poll(items.data(), items.size(), until(now, deadline));
    } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
    }
    now = clock_.now();

    // Take what came: at most one request per worker connection (MDP hands out one at a time).
    for (std::size_t i = 0; i < first_lane; ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        if (auto request = owners[i]->worker->on_readable()) take(*owners[i], std::move(*request), now);
    }
    for (std::size_t i = first_lane; i < items.size(); ++i) {
        if (!(items[i].revents & ZMQ_POLLIN)) continue;
        const std::size_t lane = i - first_lane;
        Frames m;
        while (recv_nowait(lanes_[lane], m)) {
            auto reply = majordomo::decode_client_reply(std::move(m));
            if (!reply) {
                ++stats_.lane_malformed;
                log::debug("malformed reply on lane {}: {}", lane, reply.error().reason);
                continue;
            }
            core_->lane_reply(static_cast<int>(lane), view(reply->service), std::move(reply->body), now,
                              commands_);
        }
    }
    for (auto& slot : slots_) slot->worker->on_timer();

    // One commit for everything staged in this turn, then the answers that waited for it.
    const auto before = core_->counters().requests;
    core_->commit(now, answers_);
    const auto batch = core_->counters().requests - before;
    if (batch) {
        ++stats_.batches;
        stats_.largest_batch = std::max<std::uint64_t>(stats_.largest_batch, batch);
    }
    deliver(answers_);

    core_->dispatch(now, commands_);
    execute(commands_);
    ++stats_.turns;
}

void Server::take(Slot& slot, majordomo::Request&& request, TimePoint) {
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

void Server::deliver(std::vector<Answer>& answers) {
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

void Server::execute(std::vector<LaneCommand>& commands) {
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

std::string Server::summary() const {
    const auto& c = core_->counters();
    auto st = store_->stats();
    return fmt::format(
        "requests {} replies stored {} closes {} bad input {} refused (max open) {} write failures {} "
        "dispatched "
        "{} unavailable {} timeouts {}; commits {} largest batch {}; open {} log {} bytes compactions {}",
        c.requests, c.replies_stored, c.closes, c.bad_input, c.refused_full, c.write_failures, c.dispatched,
        c.unavailable, c.timeouts, st.commits, stats_.largest_batch, st.open, st.log_bytes, st.compactions);
}

}  // namespace pirates::titanic
