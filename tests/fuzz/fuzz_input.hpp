#pragma once
// The fuzz input as a stream of small values, shared by every target under tests/fuzz/.
//
// libFuzzer hands a target one byte string. Targets read it front to back with FuzzInput; when the bytes run
// out every read returns zero/empty, so any input is a complete, finite program.
//
// Frames (the unit of every ZeroMQ message) are length-prefixed: one byte L, then
//   L < 0xF0   L bytes of data (0..239);
//   L >= 0xF0  the target's token number L - 0xF0 (up to 16 per target: protocol headers, command bytes,
//              service names), so that a mutation can swap whole protocol words in and out and seeds stay
//              readable.
// A message is one count byte (count % max_frames frames) followed by its frames.
//
// Checks: fuzz_check() aborts with the failed condition (libFuzzer and the replay main both report an abort).
#include <pirates/common/frames.hpp>
#include <pirates/common/log.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

namespace pirates::fuzz {

class FuzzInput {
  public:
    FuzzInput(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}

    bool empty() const { return pos_ >= size_; }
    std::size_t remaining() const { return empty() ? 0 : size_ - pos_; }

    std::uint8_t byte() { return empty() ? 0 : data_[pos_++]; }
    std::uint16_t u16() {
        std::uint16_t hi = byte();
        return static_cast<std::uint16_t>(hi << 8 | byte());
    }
    // Up to n bytes (fewer at the end of the input).
    std::string_view bytes(std::size_t n) {
        if (n > remaining()) n = remaining();
        std::string_view s(reinterpret_cast<const char*>(data_ + pos_), n);
        pos_ += n;
        return s;
    }
    std::string_view rest() { return bytes(remaining()); }

    // One length-prefixed frame (see the top of this file); a token when the length byte says so.
    std::string frame_text(const std::vector<std::string_view>& tokens) {
        std::uint8_t len = byte();
        if (len >= 0xF0) {
            std::size_t k = len - 0xF0u;
            return k < tokens.size() ? std::string(tokens[k]) : std::string();
        }
        return std::string(bytes(len));
    }
    // One message: a count byte, then that many frames (count % max_frames).
    Frames message(const std::vector<std::string_view>& tokens, std::size_t max_frames = 12) {
        Frames m;
        std::size_t count = byte() % max_frames;
        for (std::size_t i = 0; i < count && !empty(); ++i) m.add(frame(frame_text(tokens)));
        return m;
    }

  private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

inline Frames frames_of(std::initializer_list<std::string_view> parts) {
    Frames m;
    for (auto p : parts) m.add(frame(p));
    return m;
}

[[noreturn]] inline void fail(const char* what, const std::string& detail, const char* file, int line) {
    std::fprintf(stderr, "fuzz check failed at %s:%d: %s %s\n", file, line, what, detail.c_str());
    std::abort();
}

// The libraries log what they drop; a fuzz run would spend its time formatting lines nobody reads.
struct QuietLogs {
    QuietLogs() {
        log::set_level(log::Level::error);
        log::set_sink([](log::Level, std::string_view, std::string_view) {});
    }
};
inline const QuietLogs quiet_logs{};

}  // namespace pirates::fuzz

#define FUZZ_CHECK(cond)                                                              \
    do {                                                                              \
        if (!(cond)) ::pirates::fuzz::fail(#cond, std::string(), __FILE__, __LINE__); \
    } while (0)
#define FUZZ_CHECK_MSG(cond, detail)                                             \
    do {                                                                         \
        if (!(cond)) ::pirates::fuzz::fail(#cond, (detail), __FILE__, __LINE__); \
    } while (0)

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);
