#include <pirates/common/json.hpp>
#include <pirates/common/log.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace pirates::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::info)};
std::atomic<int> g_format{static_cast<int>(Format::text)};
constexpr const char* level_names[] = {"error", "warn", "info", "debug"};
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

void set_format(Format f) {
    g_format.store(static_cast<int>(f));
}
Format format() {
    return static_cast<Format>(g_format.load(std::memory_order_relaxed));
}

void set_name(std::string n) {
    std::lock_guard lock(g_mutex);
    name() = std::move(n);
}

void set_sink(Sink s) {
    std::lock_guard lock(g_mutex);
    sink() = std::move(s);
}

void write(Level l, std::string_view message, const Fields& fields) {
    auto now = std::chrono::system_clock::now();
    auto secs = std::chrono::system_clock::to_time_t(now);
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char stamp[32];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    const std::string time = fmt::format("{}.{:03d}Z", stamp, static_cast<int>(ms));
    std::lock_guard lock(g_mutex);
    std::string line;
    if (format() == Format::json) {
        line =
            "{\"time\":\"" + time + "\",\"level\":\"" + level_names[static_cast<int>(l)] + "\",\"program\":";
        append_json_string(line, name());
        line += ",\"msg\":";
        append_json_string(line, message);
        for (const auto& [key, value] : fields) {
            line += ',';
            append_json_string(line, key);
            line += ':';
            append_json_string(line, value);
        }
        line += "}\n";
    } else {
        line = fmt::format("{} {} {}{}{}\n", time, letters[static_cast<int>(l)], name(),
                           name().empty() ? "" : ": ", message);
    }
    if (sink()) {
        sink()(l, message, line);
        return;
    }
    std::fwrite(line.data(), 1, line.size(), stderr);
    std::fflush(stderr);
}

}  // namespace pirates::log
