#include <pirates/common/log.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace pirates::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
std::mutex g_mutex;
std::string& name() {
    static std::string n;
    return n;
}
constexpr char letters[] = {'E', 'W', 'I', 'D'};
Sink& sink() {
    static Sink s;
    return s;
}
}  // namespace

void set_level(Level l) {
    g_level.store(static_cast<int>(l));
}
Level level() {
    return static_cast<Level>(g_level.load(std::memory_order_relaxed));
}

void set_name(std::string n) {
    std::lock_guard lock(g_mutex);
    name() = std::move(n);
}

void set_sink(Sink s) {
    std::lock_guard lock(g_mutex);
    sink() = std::move(s);
}

void write(Level l, std::string_view message) {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    std::lock_guard lock(g_mutex);
    std::string line = fmt::format("{}.{:03d} {} {}{}{}\n", stamp, static_cast<int>(ms),
                                   letters[static_cast<int>(l)], name(), name().empty() ? "" : ": ", message);
    if (sink()) {
        sink()(l, message, line);
        return;
    }
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace pirates::log
