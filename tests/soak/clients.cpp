#include "clients.hpp"

#include <pirates/common/frames.hpp>
#include <pirates/common/log.hpp>
#include <pirates/majordomo/client.hpp>

#include <fmt/format.h>

#include <algorithm>
#include <random>

namespace pirates::soak {

namespace {

Frames frames(std::initializer_list<std::string_view> parts) {
    Frames m;
    for (auto p : parts) m.add(frame(p));
    return m;
}

majordomo::ClientOptions options(std::string endpoint, Duration timeout, int attempts) {
    majordomo::ClientOptions o;
    o.connect = std::move(endpoint);
    o.timeout = timeout;
    o.attempts = attempts;
    return o;
}

// A body nobody else sends: the run's seed, a sequence number and some seeded random text.
std::string unique_body(const char* kind, std::uint64_t seed, std::uint64_t n, std::mt19937_64& rng) {
    static constexpr char letters[] = "abcdefghijklmnopqrstuvwxyz0123456789";
    std::string text(8 + rng() % 56, ' ');
    for (auto& c : text) c = letters[rng() % (sizeof(letters) - 1)];
    return fmt::format("{} {} #{} {}", kind, seed, n, text);
}

}  // namespace

// ---- Ledger

void Ledger::acked(std::string uuid, std::string body) {
    std::lock_guard lock(mutex_);
    ++counts_.acked;
    open_.emplace(std::move(uuid), std::move(body));
}

std::map<std::string, std::string> Ledger::outstanding() const {
    std::lock_guard lock(mutex_);
    return open_;
}

void Ledger::settle(const std::string& uuid) {
    std::lock_guard lock(mutex_);
    open_.erase(uuid);
}

TitanicCounts Ledger::counts() const {
    std::lock_guard lock(mutex_);
    auto c = counts_;
    c.outstanding = open_.size();
    return c;
}

// ---- Worker

Worker::~Worker() = default;  // derived classes stop() in their destructors

void Worker::start() {
    thread_ = std::thread([this] { run(); });
}

void Worker::stop_soon() {
    stop_ = true;
    interrupt();
}

void Worker::stop() {
    stop_soon();
    if (thread_.joinable()) thread_.join();
}

void Worker::pause(Duration d) const {
    const auto end = Clock::now() + d;
    while (!stop_ && Clock::now() < end)
        std::this_thread::sleep_for(std::min<Clock::duration>(Duration{20}, end - Clock::now()));
}

// ---- TitanicSender

struct TitanicSender::Impl {
    Impl(zmq::context_t& context, std::string endpoint, Ledger& l, Duration i, std::uint64_t s)
        : client(context, options(std::move(endpoint), Duration{1500}, 3)),
          ledger(l),
          interval(i),
          seed(s),
          rng(s ^ 0x7469746eULL) {}
    majordomo::Client client;
    Ledger& ledger;
    Duration interval;
    std::uint64_t seed;
    std::mt19937_64 rng;
};

TitanicSender::TitanicSender(zmq::context_t& context, std::string endpoint, Ledger& ledger, Duration interval,
                             std::uint64_t seed)
    : impl_(std::make_unique<Impl>(context, std::move(endpoint), ledger, interval, seed)) {}

TitanicSender::~TitanicSender() {
    stop();
}

void TitanicSender::interrupt() {
    impl_->client.request_stop();
}

void TitanicSender::run() {
    auto next = Clock::now();
    for (std::uint64_t n = 1; !stopping(); ++n) {
        const std::string body = unique_body("titanic", impl_->seed, n, impl_->rng);
        auto r = impl_->client.request("titanic.request", frames({"echo", body}));
        if (r.status == Status::interrupted) break;  // stopped: this one does not count
        impl_->ledger.update([](TitanicCounts& c) { ++c.requests; });
        if (r.ok() && r.reply.size() == 2 && equals(r.reply[0], "200")) {
            impl_->ledger.acked(r.reply[1].to_string(), body);
        } else {
            impl_->ledger.update([](TitanicCounts& c) { ++c.not_acked; });
            log::debug("titanic.request #{}: {}", n,
                       r.ok() ? printable(r.reply) : std::string(name(r.status)));
        }
        // A steady rate: the next send is due one interval after the last due time (not after a slow call).
        next += impl_->interval;
        const auto now = Clock::now();
        if (next < now) next = now;
        pause(std::chrono::duration_cast<Duration>(next - now));
    }
}

// ---- TitanicPoller

struct TitanicPoller::Impl {
    Impl(zmq::context_t& context, std::string endpoint, Ledger& l, Duration i)
        : client(context, options(std::move(endpoint), Duration{1500}, 3)), ledger(l), interval(i) {}
    majordomo::Client client;
    Ledger& ledger;
    Duration interval;
};

TitanicPoller::TitanicPoller(zmq::context_t& context, std::string endpoint, Ledger& ledger, Duration interval)
    : impl_(std::make_unique<Impl>(context, std::move(endpoint), ledger, interval)) {}

TitanicPoller::~TitanicPoller() {
    stop();
}

void TitanicPoller::interrupt() {
    impl_->client.request_stop();
}

void TitanicPoller::run() {
    auto& client = impl_->client;
    auto& ledger = impl_->ledger;
    while (!stopping()) {
        for (const auto& [uuid, body] : ledger.outstanding()) {
            if (stopping()) break;
            auto r = client.request("titanic.reply", frames({uuid}));
            if (!r.ok() || r.reply.empty()) break;  // Titanic or the broker away: next round
            const std::string code = r.reply[0].to_string();
            if (code == "300" || code == "500") continue;  // not answered yet, or a failure to retry
            if (code == "200") {
                r.reply.pop();
                const bool same = r.reply.size() == 1 && equals(r.reply[0], body);
                if (!same)
                    log::error("titanic.reply {}: sent '{}', got {}", uuid, body, printable(r.reply, 256));
                ledger.update([&](TitanicCounts& c) { ++(same ? c.replied : c.wrong); });
                auto closed = client.request("titanic.close", frames({uuid}));
                if (!closed.ok() || closed.reply.empty() || !equals(closed.reply[0], "200"))
                    ledger.update([](TitanicCounts& c) { ++c.close_failed; });
            } else {
                log::error("titanic.reply {}: answered {} for an acknowledged request", uuid,
                           printable(r.reply));
                ledger.update([](TitanicCounts& c) { ++c.unknown; });
            }
            ledger.settle(uuid);
        }
        pause(impl_->interval);
    }
}

// ---- EchoClient

struct EchoClient::Impl {
    Impl(zmq::context_t& context, std::string endpoint, Duration i, std::uint64_t s)
        : client(context, options(std::move(endpoint), Duration{500}, 2)),
          interval(i),
          seed(s),
          rng(s ^ 0x6563686fULL) {}
    majordomo::Client client;
    Duration interval;
    std::uint64_t seed;
    std::mt19937_64 rng;
    mutable std::mutex mutex;
    EchoCounts counts;
};

EchoClient::EchoClient(zmq::context_t& context, std::string endpoint, Duration interval, std::uint64_t seed)
    : impl_(std::make_unique<Impl>(context, std::move(endpoint), interval, seed)) {}

EchoClient::~EchoClient() {
    stop();
}

EchoCounts EchoClient::counts() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->counts;
}

void EchoClient::interrupt() {
    impl_->client.request_stop();
}

void EchoClient::run() {
    auto next = Clock::now();
    for (std::uint64_t n = 1; !stopping(); ++n) {
        const std::string body = unique_body("echo", impl_->seed, n, impl_->rng);
        auto r = impl_->client.request("echo", frames({body}));
        if (r.status == Status::interrupted) break;
        {
            std::lock_guard lock(impl_->mutex);
            ++impl_->counts.requests;
            if (!r.ok())
                ++impl_->counts.failed;
            else if (r.reply.size() == 1 && equals(r.reply[0], body))
                ++impl_->counts.ok;
            else {
                ++impl_->counts.wrong;
                log::error("echo: sent '{}', got {}", body, printable(r.reply, 256));
            }
        }
        next += impl_->interval;
        const auto now = Clock::now();
        if (next < now) next = now;
        pause(std::chrono::duration_cast<Duration>(next - now));
    }
}

}  // namespace pirates::soak
