#pragma once
// Test-owned peers of a Majordomo broker pair (mdbroker --primary/--backup), written here over raw DEALER
// sockets so that a test controls and sees everything they do (MDP 0.1 frames, docs/protocols.md):
//   DualWorker      one DEALER per broker: READY on each, HEARTBEATs to each, echoes every request on the
//                   socket it came from; READY again after a DISCONNECT. Records each READY it sends and each
//                   request it serves, per broker, with the time.
//   FailoverClient  a stream of requests, one at a time, each a distinct body: sent to the current broker,
//                   resent to the other one after `timeout` (and the Binary Star settle delay), up to
//                   `attempts`. Records, per request, the attempts it took, the broker that answered and when.
// Each runs on a thread of its own, which makes and owns its sockets. Used by test_ha_pair.cpp and by
// bench/majordomo/bench_ha.cpp (so: cppzmq and pirates::common only).
#include <pirates/common/clock.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/common/reactor.hpp>

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pirates::test::ha {

inline Frames mdp(std::initializer_list<std::string> parts) {
    Frames m;
    for (const auto& p : parts) m.add(Frame(p.data(), p.size()));
    return m;
}

// Sends without ever blocking: a message for a broker that is not there is dropped (false).
inline bool send_now(zmq::socket_t& s, Frames& m) {
    return m.send(s, ZMQ_DONTWAIT);
}

class DualWorker {
  public:
    struct Served {
        std::size_t broker;
        TimePoint at;
    };

    DualWorker(zmq::context_t& context, std::vector<std::string> brokers, std::string service,
               Duration heartbeat)
        : brokers_(std::move(brokers)), service_(std::move(service)), heartbeat_(heartbeat) {
        readies_.resize(brokers_.size());
        thread_ = std::thread([this, &context] { loop(context); });
    }
    ~DualWorker() {
        stop_ = true;
        thread_.join();
    }
    DualWorker(const DualWorker&) = delete;
    DualWorker& operator=(const DualWorker&) = delete;

    // When each READY to broker i was sent.
    std::vector<TimePoint> readies(std::size_t i) const {
        std::lock_guard lock(mutex_);
        return readies_[i];
    }
    std::vector<Served> served() const {
        std::lock_guard lock(mutex_);
        return served_;
    }
    std::size_t served_by(std::size_t broker) const {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(std::count_if(served_.begin(), served_.end(),
                                                      [&](const Served& s) { return s.broker == broker; }));
    }

  private:
    void ready(zmq::socket_t& s, std::size_t i) {
        Frames m = mdp({"", "MDPW01", "\x01", service_});
        send_now(s, m);
        std::lock_guard lock(mutex_);
        readies_[i].push_back(Clock::now());
    }

    void loop(zmq::context_t& context) {
        std::vector<zmq::socket_t> sockets;
        for (const auto& ep : brokers_) {
            sockets.emplace_back(context, zmq::socket_type::dealer);
            sockets.back().set(zmq::sockopt::linger, 0);
            sockets.back().set(zmq::sockopt::reconnect_ivl, 20);
            sockets.back().connect(ep);
        }
        for (std::size_t i = 0; i < sockets.size(); ++i) ready(sockets[i], i);
        TimePoint beat = Clock::now() + heartbeat_;
        std::vector<zmq::pollitem_t> items;
        for (auto& s : sockets) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
        while (!stop_) {
            const auto wait =
                std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(beat - Clock::now()),
                           std::chrono::milliseconds(0), std::chrono::milliseconds(10));
            zmq::poll(items.data(), items.size(), wait);
            for (std::size_t i = 0; i < sockets.size(); ++i) {
                Frames m;
                while (recv_nowait(sockets[i], m)) {
                    // "" MDPW01 command ...
                    if (m.size() < 3 || m[1].to_string_view() != "MDPW01") continue;
                    const std::string_view command = m[2].to_string_view();
                    if (command == "\x02" && m.size() >= 5) {  // REQUEST: client "" body...
                        Frames reply = mdp({"", "MDPW01", "\x03"});
                        for (std::size_t f = 3; f < m.size(); ++f) reply.add(Frame(m[f].data(), m[f].size()));
                        send_now(sockets[i], reply);
                        std::lock_guard lock(mutex_);
                        served_.push_back({i, Clock::now()});
                    } else if (command == "\x05") {  // DISCONNECT: a broker that does not know us
                        ready(sockets[i], i);
                    }
                }
            }
            if (Clock::now() >= beat) {
                for (auto& s : sockets) {
                    Frames hb = mdp({"", "MDPW01", "\x04"});
                    send_now(s, hb);
                }
                beat = Clock::now() + heartbeat_;
            }
        }
    }

    std::vector<std::string> brokers_;
    std::string service_;
    Duration heartbeat_;
    mutable std::mutex mutex_;
    std::vector<std::vector<TimePoint>> readies_;
    std::vector<Served> served_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

class FailoverClient {
  public:
    struct Options {
        Duration timeout{300};  // per attempt
        Duration settle{100};   // before resending to the other broker
        int attempts = 10;      // per request
    };
    struct Answer {
        int attempts;
        std::size_t broker;  // index in `brokers`
        TimePoint sent, answered;
    };

    FailoverClient(zmq::context_t& context, std::vector<std::string> brokers, std::string service,
                   Options options, std::string name)
        : brokers_(std::move(brokers)),
          service_(std::move(service)),
          options_(options),
          name_(std::move(name)) {
        thread_ = std::thread([this, &context] { loop(context); });
    }
    ~FailoverClient() { join(); }
    FailoverClient(const FailoverClient&) = delete;
    FailoverClient& operator=(const FailoverClient&) = delete;

    // Ends the stream after the request in flight (answered or given up).
    void stop() { stop_ = true; }
    void join() {
        stop();
        if (thread_.joinable()) thread_.join();
    }
    std::vector<Answer> answers() const {
        std::lock_guard lock(mutex_);
        return answers_;
    }
    std::size_t answered() const {
        std::lock_guard lock(mutex_);
        return answers_.size();
    }
    // Answers received after `t`.
    std::size_t answered_after(TimePoint t) const {
        std::lock_guard lock(mutex_);
        return static_cast<std::size_t>(
            std::count_if(answers_.begin(), answers_.end(), [&](const Answer& a) { return a.answered > t; }));
    }
    // When the first answer from `broker` after `t` came (nullopt: none yet).
    std::optional<TimePoint> first_answer(std::size_t broker, TimePoint t) const {
        std::lock_guard lock(mutex_);
        for (const Answer& a : answers_)
            if (a.broker == broker && a.answered > t) return a.answered;
        return std::nullopt;
    }
    // Requests given up after `attempts` (none, in a passing test), and replies that matched no request.
    int failed() const { return failed_; }
    int strays() const { return strays_; }

  private:
    void loop(zmq::context_t& context) {
        std::vector<zmq::socket_t> sockets;
        for (const auto& ep : brokers_) {
            sockets.emplace_back(context, zmq::socket_type::dealer);
            sockets.back().set(zmq::sockopt::linger, 0);
            sockets.back().set(zmq::sockopt::reconnect_ivl, 20);
            sockets.back().connect(ep);
        }
        std::vector<zmq::pollitem_t> items;
        for (auto& s : sockets) items.push_back({s.handle(), 0, ZMQ_POLLIN, 0});
        std::size_t current = 0;
        for (long n = 1; !stop_; ++n) {
            const std::string body = name_ + "-" + std::to_string(n);
            const TimePoint sent = Clock::now();
            std::optional<Answer> answer;
            for (int attempt = 1; attempt <= options_.attempts && !answer; ++attempt) {
                if (attempt > 1) {
                    current = (current + 1) % sockets.size();
                    // The settle delay, spent reading (and dropping) late replies.
                    const TimePoint resume = Clock::now() + options_.settle;
                    while (Clock::now() < resume) {
                        zmq::poll(items.data(), items.size(), std::chrono::milliseconds(5));
                        for (std::size_t i = 0; i < sockets.size(); ++i) {
                            Frames stale;
                            while (recv_nowait(sockets[i], stale)) ++strays_;
                        }
                    }
                }
                Frames request = mdp({"", "MDPC01", service_, body});
                send_now(sockets[current], request);
                const TimePoint deadline = Clock::now() + options_.timeout;
                while (!answer && Clock::now() < deadline) {
                    const auto wait = std::clamp(
                        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                        std::chrono::milliseconds(0), std::chrono::milliseconds(10));
                    zmq::poll(items.data(), items.size(), wait);
                    for (std::size_t i = 0; i < sockets.size(); ++i) {
                        Frames reply;
                        while (recv_nowait(sockets[i], reply)) {
                            // "" MDPC01 service body
                            if (!answer && reply.size() == 4 && reply[3].to_string_view() == body)
                                answer = Answer{attempt, i, sent, Clock::now()};
                            else
                                ++strays_;  // a late reply to an earlier attempt
                        }
                    }
                }
            }
            if (!answer) {
                ++failed_;
                continue;
            }
            current = answer->broker;
            std::lock_guard lock(mutex_);
            answers_.push_back(*answer);
        }
    }

    std::vector<std::string> brokers_;
    std::string service_;
    Options options_;
    std::string name_;
    mutable std::mutex mutex_;
    std::vector<Answer> answers_;
    std::atomic<int> failed_{0}, strays_{0};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// One request through a raw DEALER (a fresh one, so that nothing stale answers): the reply frames after the
// service frame ("" MDPC01 service ...), or nullopt after `timeout`.
inline std::optional<std::vector<std::string>> ask(zmq::context_t& context, const std::string& broker,
                                                   const std::string& service, const std::string& body,
                                                   Duration timeout) {
    zmq::socket_t s(context, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, 0);
    s.connect(broker);
    Frames request = mdp({"", "MDPC01", service, body});
    request.send(s);
    zmq::pollitem_t item{s.handle(), 0, ZMQ_POLLIN, 0};
    const TimePoint deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
        zmq::poll(&item, 1,
                  std::clamp(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()),
                             std::chrono::milliseconds(0), std::chrono::milliseconds(50)));
        Frames reply;
        if (recv_nowait(s, reply)) {
            if (reply.size() < 3) return std::nullopt;
            std::vector<std::string> out;
            for (std::size_t f = 3; f < reply.size(); ++f) out.push_back(reply[f].to_string());
            return out;
        }
    }
    return std::nullopt;
}

// A string member of mmi.stats ("ha": "active", "passive", "single"; "ha_state": "PRIMARY", ..., "PASSIVE"), or
// "" if the broker did not answer or has no such member.
inline std::string stats_string(zmq::context_t& context, const std::string& broker, const std::string& member,
                                Duration timeout = Duration{3000}) {
    auto r = ask(context, broker, "mmi.stats", "", timeout);
    if (!r || r->size() != 2 || (*r)[0] != "200") return "";
    const std::string& json = (*r)[1];
    const std::string key = "\"" + member + "\":\"";
    const auto at = json.find(key);
    if (at == std::string::npos) return "";
    const auto end = json.find('"', at + key.size());
    return json.substr(at + key.size(), end - at - key.size());
}

inline std::string ha_of(zmq::context_t& context, const std::string& broker,
                         Duration timeout = Duration{3000}) {
    return stats_string(context, broker, "ha", timeout);
}

}  // namespace pirates::test::ha
