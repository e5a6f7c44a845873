#pragma once
// Shared by the fault tests: timings, and a client loop that counts what it was told.
#include <doctest/doctest.h>

#include <pirates/common/frames.hpp>
#include <pirates/common/outcome.hpp>

#include "support/fault_proxy.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace pirates::test::fault {

using namespace std::chrono_literals;

// Protocol timings are short; the waits for "it eventually happens" are long (a loaded 2-core machine).
inline constexpr int heartbeat_ms = 50;
inline constexpr int liveness = 3;
inline constexpr Duration expiry = Duration{heartbeat_ms * liveness};
inline constexpr Duration slack = 5000ms;  // waits only; never a bound on how fast something must be
// The flags that give a queue, broker or worker those timings.
inline const std::vector<std::string> timing = {"--heartbeat-ms", std::to_string(heartbeat_ms), "--liveness",
                                                std::to_string(liveness)};

inline std::vector<std::string> with(std::vector<std::string> a, const std::vector<std::string>& more) {
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

inline std::string port_part(const std::string& endpoint) {
    return "127.0.0.1:" + endpoint.substr(endpoint.rfind(':') + 1);
}

// Asks in a loop until stopped, with a caller-given request function (body -> outcome). Every reply is
// compared with its request here (no ReplyCheck: a check would hide a mismatched reply as a failed attempt).
struct Asker {
    using Ask = std::function<Outcome<Frames>(const std::string&)>;
    std::atomic<bool> stop{false};
    std::atomic<int> sent{0}, answered{0}, wrong{0}, gave_up{0};
    mutable std::mutex mutex;
    std::vector<int> attempts;  // of each request, in order
    std::thread thread;

    explicit Asker(std::function<Ask()> make) {
        thread = std::thread([this, make] {
            Ask ask = make();
            for (int i = 0; !stop; ++i) {
                const std::string body = "q-" + std::to_string(i);
                ++sent;
                auto outcome = ask(body);
                {
                    std::lock_guard lock(mutex);
                    attempts.push_back(outcome.attempts);
                }
                if (!outcome)
                    ++gave_up;
                else if (outcome.reply.size() == 1 && outcome.reply[0].to_string() == body)
                    ++answered;
                else
                    ++wrong;
            }
        });
    }
    ~Asker() { finish(); }
    void finish() {
        stop = true;
        if (thread.joinable()) thread.join();
    }
    // How many requests took exactly n attempts.
    int took(int n) const {
        std::lock_guard lock(mutex);
        return static_cast<int>(std::count(attempts.begin(), attempts.end(), n));
    }
    // Attempts of the i-th request (0 while it is still being asked).
    int attempts_of(int i) const {
        std::lock_guard lock(mutex);
        return i >= 0 && i < static_cast<int>(attempts.size()) ? attempts[static_cast<std::size_t>(i)] : 0;
    }
    int index_of_first(int n) const {
        std::lock_guard lock(mutex);
        auto it = std::find(attempts.begin(), attempts.end(), n);
        return it == attempts.end() ? -1 : static_cast<int>(it - attempts.begin());
    }
    void report() const {
        MESSAGE("client: " << sent.load() << " sent, " << answered.load() << " answered, " << gave_up.load()
                           << " gave up, " << wrong.load() << " wrong; " << took(1)
                           << " at the first attempt, " << took(2) << " at the second");
    }
};

}  // namespace pirates::test::fault
