#include <pirates/common/log.hpp>
#include <pirates/freelance/router.hpp>

#include <algorithm>

namespace pirates::freelance {
namespace {

bool is_decimal(const Frame& f) {
    auto s = view(f);
    if (s.empty() || s.size() > 20) return false;
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

RouterClientCore::RouterClientCore(RouterOptions options, TimePoint /*now*/) : options_(options) {}

RouterClientCore::Server* RouterClientCore::find(std::string_view endpoint) {
    auto it = index_.find(std::string(endpoint));
    return it == index_.end() ? nullptr : &servers_[it->second];
}

bool RouterClientCore::connect(std::string endpoint, TimePoint now) {
    if (index_.contains(endpoint)) return false;
    index_.emplace(endpoint, servers_.size());
    servers_.push_back(Server{std::move(endpoint), now, now, false, std::nullopt});
    run_timers(now);
    return true;
}

Result<std::uint64_t> RouterClientCore::request(Frames body, TimePoint now) {
    if (pending_) return error("a request is already in flight");
    Pending p;
    p.sequence = ++sequence_;
    p.sequence_text = std::to_string(p.sequence);
    p.body = std::move(body);
    p.deadline = now + options_.request_timeout;
    pending_ = std::move(p);
    log::debug("request {} started, {} of {} servers alive", sequence_, alive_count(now), servers_.size());
    dispatch(now);
    run_timers(now);
    return sequence_;
}

void RouterClientCore::heard(Server& s, TimePoint now) {
    s.alive = true;
    s.unroutable_since.reset();
    s.expiry = now + options_.server_ttl;
}

// Send the request in flight to the next live server (round robin), or wait for one to answer a ping.
void RouterClientCore::dispatch(TimePoint now) {
    if (!pending_) return;
    pending_->server.reset();
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        std::size_t k = (cursor_ + i) % servers_.size();
        Server& s = servers_[k];
        if (!usable(s, now)) continue;
        cursor_ = (k + 1) % servers_.size();
        Frames message;
        message.add(frame(pending_->sequence_text));
        for (const auto& f : pending_->body) message.add(Frame(f.data(), f.size()));
        outbox_.push_back(Outgoing{s.endpoint, std::move(message)});
        pending_->server = k;
        ++pending_->attempts;
        pending_->attempt_deadline = now + options_.attempt_timeout;
        return;
    }
}

bool RouterClientCore::cancel() {
    if (!pending_) return false;
    ++counters_.cancelled;
    log::debug("request {} cancelled", pending_->sequence);
    finish(Reply::failed(Status::interrupted, pending_->attempts, "interrupted"));
    return true;
}

void RouterClientCore::finish(Reply reply) {
    done_ = Completion{pending_->sequence, std::move(reply)};
    pending_.reset();
}

void RouterClientCore::on_message(std::string_view endpoint, Frames message, TimePoint now) {
    Server* s = find(endpoint);
    if (!s) {
        ++counters_.unknown;
        log::debug("message from unknown peer {}", hex(endpoint));
        return;
    }
    if (message.empty() ||
        !(is_decimal(message.front()) || (message.size() == 1 && equals(message.front(), "PONG")))) {
        ++counters_.malformed;
        log::debug("malformed message from {}: {}", s->endpoint, printable(message));
        return;
    }
    heard(*s, now);
    if (equals(message.front(), "PONG")) {
        ++counters_.pongs;
    } else if (pending_ && equals(message.front(), pending_->sequence_text)) {
        message.pop();
        ++counters_.answers;
        finish(Reply::answered(Answer{std::move(message), s->endpoint}, pending_->attempts));
    } else {
        ++counters_.stale;
        log::debug("stale reply {} from {}", view(message.front()), s->endpoint);
    }
    // A request waiting for a live server can go now.
    if (pending_ && !pending_->server) dispatch(now);
    run_timers(now);
}

void RouterClientCore::on_unroutable(std::string_view endpoint, TimePoint now) {
    Server* s = find(endpoint);
    if (!s) return;
    ++counters_.unroutable;
    s->alive = false;
    if (!s->unroutable_since) s->unroutable_since = now;
    s->ping_at = std::min(s->ping_at, now + std::min(options_.unroutable_retry, options_.ping_interval));
    if (pending_ && pending_->server && &servers_[*pending_->server] == s) {
        ++counters_.failovers;  // the server holding the request is gone: do not wait for its attempt timeout
        dispatch(now);
    }
    run_timers(now);
}

void RouterClientCore::tick(TimePoint now) {
    run_timers(now);
}

void RouterClientCore::run_timers(TimePoint now) {
    if (pending_) {
        if (now >= pending_->deadline) {
            ++counters_.failures;
            finish(Reply::failed(
                Status::timed_out, pending_->attempts,
                fmt::format("no reply within {} ms ({} of {} servers alive)",
                            options_.request_timeout.count(), alive_count(now), servers_.size())));
        } else if (pending_->server) {
            Server& s = servers_[*pending_->server];
            if (now >= pending_->attempt_deadline || !usable(s, now)) {
                // Silent or expired: it is not alive until it answers again.
                s.alive = false;
                ++counters_.failovers;
                log::debug("no reply from {}, failing over", s.endpoint);
                dispatch(now);
            }
        }
    }
    for (Server& s : servers_) {
        if (s.unroutable_since && now >= *s.unroutable_since + options_.reconnect_after) {
            reconnects_.push_back(s.endpoint);
            ++counters_.reconnects;
            s.unroutable_since = now;
        }
        if (now < s.ping_at) continue;
        Frames ping;
        ping.add(frame("PING"));
        outbox_.push_back(Outgoing{s.endpoint, std::move(ping)});
        ++counters_.pings;
        s.ping_at += options_.ping_interval;
        if (s.ping_at <= now) s.ping_at = now + options_.ping_interval;
    }
}

TimePoint RouterClientCore::next_deadline() const {
    TimePoint next = TimePoint::max();
    for (const Server& s : servers_) {
        next = std::min(next, s.ping_at);
        if (s.unroutable_since) next = std::min(next, *s.unroutable_since + options_.reconnect_after);
    }
    if (pending_) {
        next = std::min(next, pending_->deadline);
        if (pending_->server) {
            next = std::min(next, pending_->attempt_deadline);
            const Server& s = servers_[*pending_->server];
            if (s.alive) next = std::min(next, s.expiry);
        }
    }
    return next;
}

std::string RouterClientCore::check_invariants() const {
    std::string bad;
    if (index_.size() != servers_.size()) bad += "index and server list sizes differ; ";
    for (std::size_t i = 0; i < servers_.size(); ++i) {
        auto it = index_.find(servers_[i].endpoint);
        if (it == index_.end() || it->second != i) bad += "server not indexed to its place; ";
    }
    if (!servers_.empty() && cursor_ >= servers_.size()) bad += "round-robin cursor past the servers; ";
    if (pending_) {
        if (pending_->server && *pending_->server >= servers_.size()) bad += "request sent to no server; ";
        if (pending_->sequence != sequence_) bad += "request in flight is not the latest; ";
        if (done_ && done_->sequence == pending_->sequence) bad += "request both in flight and done; ";
    }
    return bad;
}

std::vector<Outgoing> RouterClientCore::take_outgoing() {
    std::vector<Outgoing> out;
    out.swap(outbox_);
    return out;
}

std::vector<std::string> RouterClientCore::take_reconnects() {
    std::vector<std::string> out;
    out.swap(reconnects_);
    return out;
}

std::optional<Completion> RouterClientCore::take_completion() {
    std::optional<Completion> out;
    out.swap(done_);
    return out;
}

bool RouterClientCore::alive(std::string_view endpoint, TimePoint now) const {
    auto it = index_.find(std::string(endpoint));
    return it != index_.end() && usable(servers_[it->second], now);
}

std::size_t RouterClientCore::alive_count(TimePoint now) const {
    return static_cast<std::size_t>(
        std::count_if(servers_.begin(), servers_.end(), [&](const Server& s) { return usable(s, now); }));
}

}  // namespace pirates::freelance
