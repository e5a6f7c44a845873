#pragma once
// Hostile and plain peers for process-level tests of mdbroker: raw DEALER sockets speaking MDP 0.1 frames
// written here by hand (protocols.md), and a reader of mdbroker's one-line summary (-v --summary-ms).
#include "support/net.hpp"
#include "support/process.hpp"

#include <csignal>
#include <cstdint>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace pirates::test::md {

// A child's RSS says something about its memory bounds only without AddressSanitizer, whose allocator keeps
// freed memory in quarantine (and pads every block): RSS assertions are skipped in the sanitizer build.
#if defined(__SANITIZE_ADDRESS__)
inline constexpr bool rss_is_meaningful = false;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
inline constexpr bool rss_is_meaningful = false;
#else
inline constexpr bool rss_is_meaningful = true;
#endif
#else
inline constexpr bool rss_is_meaningful = true;
#endif

using S = std::vector<std::string>;

inline zmq::socket_t dealer(zmq::context_t& ctx, const std::string& ep, int linger_ms = 0) {
    zmq::socket_t s(ctx, zmq::socket_type::dealer);
    s.set(zmq::sockopt::linger, linger_ms);
    s.connect(ep);
    return s;
}

inline void send(zmq::socket_t& s, const S& parts) {
    Frames m;
    for (const auto& p : parts) m.add(frame(p));
    m.send(s);
}

inline S next(zmq::socket_t& s, Duration timeout = Duration{5000}) {
    Frames m;
    if (!recv_within(s, m, timeout)) return {};
    return strings(m);
}

// The next message that is not a broker HEARTBEAT ("" "MDPW01" 0x04); {} on timeout.
inline S next_not_heartbeat(zmq::socket_t& s, Duration timeout = Duration{5000}) {
    const auto deadline = Clock::now() + timeout;
    while (true) {
        S m = next(s, until(Clock::now(), deadline));
        if (m == S{"", "MDPW01", "\x04"}) continue;
        return m;
    }
}

// A worker that registers and then does only what the test makes it do.
inline zmq::socket_t raw_worker(zmq::context_t& ctx, const std::string& ep, const std::string& service,
                                int linger_ms = 0) {
    auto w = dealer(ctx, ep, linger_ms);
    send(w, {"", "MDPW01", "\x01", service});
    return w;
}

// mmi.service through `client` (a DEALER): "200", "404", or "" on timeout.
inline std::string mmi_service(zmq::socket_t& client, const std::string& service) {
    send(client, {"", "MDPC01", "mmi.service", service});
    S r = next(client, Duration{3000});
    return r.size() == 4 ? r[3] : "";
}

// A value of mdbroker's last summary line ("services 1 workers 2 ... | requests 5 ... closed 3"), by name;
// only a line that starts at or after `from` in the output counts.
inline std::optional<std::uint64_t> summary_value(const Process& broker, const std::string& name,
                                                  std::size_t from = 0) {
    const std::string out = broker.output();
    auto line_start = out.rfind("queued-bytes");
    if (line_start == std::string::npos) return std::nullopt;
    line_start = out.rfind('\n', line_start);
    line_start = line_start == std::string::npos ? 0 : line_start + 1;
    if (line_start < from) return std::nullopt;
    const auto line_end = out.find('\n', line_start);
    if (line_end == std::string::npos) return std::nullopt;  // the line is not complete yet
    std::istringstream words(out.substr(line_start, line_end - line_start));
    std::string word, previous;
    while (words >> word) {
        if (previous == name) {
            try {
                return std::stoull(word);
            } catch (...) {
                return std::nullopt;
            }
        }
        previous = word;
    }
    return std::nullopt;
}

// Whether the summary's value `name` satisfies pred within `timeout`, on a summary line printed after this
// call began (so that a line older than what the test just did cannot answer).
template <typename Pred>
bool summary_eventually(const Process& broker, const std::string& name, Pred pred,
                        Duration timeout = Duration{5000}) {
    const std::size_t from = broker.output().size();
    return eventually(
        [&] {
            auto v = summary_value(broker, name, from);
            return v && pred(*v);
        },
        timeout);
}

// SIGTERM: the broker stops cleanly (exit 0, its closing summary). In the sanitizer build, LeakSanitizer
// checks at that exit that nothing it held (queued requests, workers' kept requests) leaked.
inline bool stops_cleanly(Process& broker) {
    broker.signal(SIGTERM);
    return broker.wait_exit(Duration{10000}) == 0 &&
           broker.output().find("broker stopping") != std::string::npos;
}

}  // namespace pirates::test::md
