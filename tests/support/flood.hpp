#pragma once
// The hostile client of the byte-bound tests: it sends big requests and never reads a reply, so every reply
// it is sent stays with the server unless the server bounds what it keeps for one peer.
#include <pirates/common/frames.hpp>

#include "support/process.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <optional>
#include <string>

namespace pirates::test {

struct FloodResult {
    int sent = 0;              // requests the server's socket accepted from us
    std::size_t max_rss = 0;   // the largest RSS of `server` sampled while (and just after) sending
    std::size_t base_rss = 0;  // its RSS before the flood
};

// Connect a DEALER to `endpoint` and send `count` requests in REQ's wire format ("" then a body of `bytes`
// bytes), never reading. Our own receive side holds at most one reply (ZMQ_RCVHWM 1, small kernel buffer), so
// the replies back up into the server. Samples `server`'s RSS after every send. A send that cannot go for
// `stall` ends the flood early (the server stopped reading us): `sent` says how far it got.
inline FloodResult flood_without_reading(zmq::context_t& context, const std::string& endpoint, int count,
                                         std::size_t bytes, const Process& server,
                                         Duration stall = Duration{20000}) {
    FloodResult r;
    r.base_rss = server.rss_bytes();
    r.max_rss = r.base_rss;
    zmq::socket_t dealer(context, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.set(zmq::sockopt::rcvhwm, 1);
    dealer.set(zmq::sockopt::rcvbuf, 64 * 1024);
    dealer.set(zmq::sockopt::sndhwm, 2);
    dealer.set(zmq::sockopt::sndtimeo, static_cast<int>(stall.count()));
    dealer.connect(endpoint);
    const std::string body(bytes, 'x');
    for (int i = 0; i < count; ++i) {
        if (!dealer.send(zmq::const_buffer{}, zmq::send_flags::sndmore)) break;
        if (!dealer.send(zmq::buffer(body), zmq::send_flags::none)) break;
        ++r.sent;
        r.max_rss = std::max(r.max_rss, server.rss_bytes());
    }
    // What is still on its way in is read by the server within moments; look a few more times.
    for (int i = 0; i < 50; ++i) r.max_rss = std::max(r.max_rss, server.rss_bytes());
    return r;
}

// In an AddressSanitizer build, children started while this lives keep at most 16 MiB of freed memory in
// ASan's quarantine (256 MiB by default), so that their RSS shows what they hold, not what ASan keeps to
// catch a use after free. Nothing in other builds.
class SmallAsanQuarantine {
  public:
    SmallAsanQuarantine() {
#if defined(__SANITIZE_ADDRESS__)
        if (const char* old = std::getenv("ASAN_OPTIONS")) saved_ = old;
        const std::string options = (saved_ ? *saved_ + ":" : std::string()) + "quarantine_size_mb=16";
        setenv("ASAN_OPTIONS", options.c_str(), 1);
#endif
    }
    ~SmallAsanQuarantine() {
#if defined(__SANITIZE_ADDRESS__)
        if (saved_)
            setenv("ASAN_OPTIONS", saved_->c_str(), 1);
        else
            unsetenv("ASAN_OPTIONS");
#endif
    }
    SmallAsanQuarantine(const SmallAsanQuarantine&) = delete;
    SmallAsanQuarantine& operator=(const SmallAsanQuarantine&) = delete;

  private:
    [[maybe_unused]] std::optional<std::string> saved_;
};

// What an allocator may keep beyond the live bytes that a bound counts: in an AddressSanitizer build, the
// quarantine of a child started under SmallAsanQuarantine (16 MiB) and ASan's own caches of freed blocks.
// Zero otherwise.
inline constexpr std::size_t allocator_slack() {
#if defined(__SANITIZE_ADDRESS__)
    return std::size_t{64} << 20;
#else
    return 0;
#endif
}

// The decimal number written just before the last occurrence of `suffix` in `text` ("... 42 to clients not
// reading)"), or -1.
inline long number_before(const std::string& text, const std::string& suffix) {
    auto at = text.rfind(suffix);
    if (at == std::string::npos) return -1;
    std::size_t begin = at;
    while (begin > 0 && text[begin - 1] == ' ') --begin;
    std::size_t end = begin;
    while (begin > 0 && text[begin - 1] >= '0' && text[begin - 1] <= '9') --begin;
    if (begin == end) return -1;
    return std::stol(text.substr(begin, end - begin));
}

}  // namespace pirates::test
