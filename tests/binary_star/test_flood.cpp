// A hostile flood of the primary's state port while a client uses the pair: anyone who can reach a state
// publisher can subscribe. The flood loads it with 20,000 distinct subscriptions and churns SUB connections
// (connect, subscribe, close) for seconds. Against libzmq's PUB this froze the primary's only thread (its
// subscription trie is walked whole on each disconnect): it stopped publishing and answering, the backup took
// over, and both stopped on "dual actives". The pair must keep serving, with one active, throughout.
#include <doctest/doctest.h>
#include <pirates/binary_star/client.hpp>

#include "pair.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <atomic>
#include <csignal>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

using namespace pirates;
using namespace pirates::binary_star;
using namespace pirates::test;
using namespace std::chrono_literals;

namespace {

// The prober, on its own context and threads: `loaders` sockets (SUB, and one XSUB) holding `per_loader`
// distinct 16-byte subscriptions each, and `churners` threads each opening a SUB, subscribing to two distinct
// 16-byte prefixes, waiting until its handshake with the publisher is done (socket monitor: an event, not a
// sleep), and closing it, over and over, until `duration` is up.
class Flood {
  public:
    Flood(std::string endpoint, Duration duration, int loaders = 4, int per_loader = 5000, int churners = 2)
        : endpoint_(std::move(endpoint)), deadline_(Clock::now() + duration) {
        threads_.emplace_back([this, loaders, per_loader] {
            guarded([&] {
                std::mt19937_64 rng(1);
                std::vector<zmq::socket_t> held;
                for (int i = 0; i < loaders; ++i) {
                    const bool xsub = i == loaders - 1;
                    held.emplace_back(context_, xsub ? zmq::socket_type::xsub : zmq::socket_type::sub);
                    zmq::socket_t& s = held.back();
                    s.set(zmq::sockopt::linger, 0);
                    // Every subscription goes out on connect: libzmq drops those past the send high-water
                    // mark.
                    s.set(zmq::sockopt::sndhwm, 0);
                    for (int k = 0; k < per_loader; ++k) {
                        const std::string prefix = topic(rng);
                        if (xsub)
                            s.send(zmq::buffer("\x01" + prefix),
                                   zmq::send_flags::none);  // XSUB: 0x01 + prefix
                        else
                            s.set(zmq::sockopt::subscribe, prefix);
                        ++subscriptions_;
                    }
                    s.connect(endpoint_);
                }
                churn(rng, 0);
            });
        });
        for (int t = 1; t <= churners; ++t)
            threads_.emplace_back([this, t] {
                guarded([&] {
                    std::mt19937_64 rng(static_cast<std::uint64_t>(t) + 1);
                    churn(rng, t);
                });
            });
    }
    ~Flood() {
        stop_ = true;
        for (auto& t : threads_) t.join();
    }
    bool done() const { return finished_ == static_cast<long>(threads_.size()); }
    // What went wrong in a prober's thread ("" if nothing): checked by the test, not thrown across threads.
    std::string failure() const {
        std::lock_guard lock(mutex_);
        return failure_;
    }
    long churned() const { return churned_; }  // SUB sockets that completed a handshake, then closed
    long subscriptions() const { return subscriptions_; }  // by the loaders, held throughout

  private:
    void guarded(const std::function<void()>& body) {
        try {
            body();
        } catch (const std::exception& e) {
            std::lock_guard lock(mutex_);
            failure_ = e.what();
        }
        ++finished_;
    }
    static std::string topic(std::mt19937_64& rng) {
        std::string t(16, '\0');
        for (auto& c : t) c = static_cast<char>(rng());
        return t;
    }
    void churn(std::mt19937_64& rng, int thread) {
        long n = 0;
        while (!stop_ && Clock::now() < deadline_) {
            zmq::socket_t sub(context_, zmq::socket_type::sub);
            sub.set(zmq::sockopt::linger, 0);
            const std::string monitor =
                "inproc://flood-" + std::to_string(thread) + "-" + std::to_string(++n);
            if (zmq_socket_monitor(sub.handle(), monitor.c_str(), ZMQ_EVENT_HANDSHAKE_SUCCEEDED) != 0)
                throw zmq::error_t();
            zmq::socket_t events(context_, zmq::socket_type::pair);
            events.set(zmq::sockopt::linger, 0);
            events.connect(monitor);
            sub.set(zmq::sockopt::subscribe, topic(rng));
            sub.set(zmq::sockopt::subscribe, topic(rng));
            sub.connect(endpoint_);
            Frames event;
            const bool shook = recv_within(events, event, 1000ms);
            sub.close();
            if (shook) ++churned_;
        }
    }

    zmq::context_t context_{1};
    std::string endpoint_;
    TimePoint deadline_;
    std::atomic<bool> stop_{false};
    std::atomic<long> finished_{0}, churned_{0}, subscriptions_{0};
    mutable std::mutex mutex_;
    std::string failure_;
    std::vector<std::thread> threads_;
};

// Watches a publisher from the test (a plain SUB to everything): the longest silence between two states.
class Watch {
  public:
    Watch(zmq::context_t& context, const std::string& endpoint) : socket_(context, zmq::socket_type::sub) {
        socket_.set(zmq::sockopt::linger, 0);
        socket_.set(zmq::sockopt::subscribe, "");
        socket_.connect(endpoint);
        thread_ = std::thread([this] {
            Frames m;
            while (!stop_ && !recv_within(socket_, m, 50ms)) {
            }
            TimePoint last = Clock::now();
            while (!stop_) {
                if (!recv_within(socket_, m, 50ms)) continue;
                const TimePoint now = Clock::now();
                longest_ = std::max<long>(longest_, std::chrono::duration_cast<Duration>(now - last).count());
                last = now;
                ++seen_;
            }
        });
    }
    ~Watch() { stop(); }
    void stop() {
        stop_ = true;
        if (thread_.joinable()) thread_.join();
    }
    long longest_ms() const { return longest_; }
    long seen() const { return seen_; }

  private:
    zmq::socket_t socket_;
    std::atomic<bool> stop_{false};
    std::atomic<long> longest_{0}, seen_{0};
    std::thread thread_;
};

}  // namespace

TEST_CASE(
    "a flood of the primary's state port (20,000 subscriptions, SUB connections churned for 4 s): no "
    "fail-over, no fatal exit, every request answered by the primary") {
    // A heartbeat of 100 ms (peer expiry 200 ms) and a client timeout of 1 s: short, with room for the
    // scheduling hiccups of a loaded 2-core machine. A frozen primary (the old failure) is silent for
    // seconds.
    constexpr Duration heartbeat = 100ms;
    Pair pair({}, heartbeat);
    ClientConfig config = pair.client_config();
    config.timeout = 1000ms;
    config.settle = 2 * heartbeat;
    Client client(pair.context, config);
    REQUIRE(client.request(std::string("warm-up")).ok());
    Watch watch(pair.context, pair.primary_pub);

    int sent = 0, answered = 0, by_primary = 0;
    {
        Flood flood(pair.primary_pub, 4000ms);
        // Requests one after another for as long as the flood lasts; the first failure ends the loop (against
        // a frozen primary each further request would take seconds).
        while (!flood.done()) {
            auto r = client.request(std::string("during-") + std::to_string(++sent));
            if (!r.ok()) break;
            ++answered;
            if (r->server != 0) break;
            ++by_primary;
        }
        MESSAGE("flood: " << flood.subscriptions() << " subscriptions held, " << flood.churned()
                          << " SUB connections churned; " << sent
                          << " requests during it, longest silence of the "
                          << "primary's publisher " << watch.longest_ms() << " ms (heartbeat "
                          << heartbeat.count() << " ms)");
        CHECK(flood.failure() == "");
        CHECK(flood.subscriptions() == 20000);
        CHECK(flood.churned() >= 100);  // the flood did reach the publisher
    }
    CHECK(sent >= 10);
    CHECK(answered == sent);
    CHECK(by_primary == sent);
    if (by_primary != sent)  // both logs are short (no -v): state changes, stalls, bound endpoints
        MESSAGE("primary's log:\n" << pair.primary->output() << "backup's log:\n" << pair.backup->output());
    REQUIRE(by_primary == sent);
    // And after it: still the same pair, the primary active and publishing it, the backup passive.
    for (int i = 0; i < 5; ++i) {
        auto r = client.request(std::string("after-") + std::to_string(i));
        REQUIRE(r.ok());
        CHECK(r->server == 0);
    }
    const long seen = watch.seen();
    CHECK(eventually([&] { return watch.seen() > seen + 3; }));
    watch.stop();
    CHECK(pair.proxy.last_state(StateProxy::primary_to_backup) == 3);
    CHECK(pair.proxy.last_state(StateProxy::backup_to_primary) == 4);
    CHECK(pair.backup->count("-> ACTIVE") == 0);
    CHECK(pair.primary->count("state ") == 2);  // "state PRIMARY (...)" and "state PRIMARY -> ACTIVE" only
    REQUIRE(pair.primary->running());
    REQUIRE(pair.backup->running());
    CHECK(pair.primary->count("fatal") + pair.backup->count("fatal") == 0);

    // Each server's account of it (logged on a clean stop). The primary dropped every loader's subscription,
    // at least once (a loader is closed after the handshake timeout, reconnects and sends them all again).
    pair.primary->signal(SIGTERM);
    pair.backup->signal(SIGTERM);
    CHECK(pair.primary->wait_exit() == 0);
    CHECK(pair.backup->wait_exit() == 0);
    REQUIRE(pair.primary->wait_for("other subscriptions dropped"));
    REQUIRE(pair.backup->wait_for("other subscriptions dropped"));
    const auto line = [](const std::string& out, const std::string& start) {
        const auto at = out.find(start);
        return at == std::string::npos ? std::string() : out.substr(at, out.find('\n', at) - at);
    };
    const std::string primary_out = pair.primary->output(), backup_out = pair.backup->output();
    MESSAGE("primary: " << line(primary_out, "stopping in state") << "; "
                        << line(primary_out, "state-pub: "));
    MESSAGE("backup: " << line(backup_out, "stopping in state"));
    const std::string pub = line(primary_out, "state-pub: ");
    const auto dropped_at = pub.find(" other subscriptions dropped");
    REQUIRE(dropped_at != std::string::npos);
    const auto from = pub.rfind(' ', dropped_at - 1) + 1;
    CHECK(std::stol(pub.substr(from, dropped_at - from)) >= 20000);
}
