#pragma once
// One small logger for every program: fmt formatting, levels, timestamps, to stderr. Quiet by default (info
// and above); -v turns on debug. Thread-safe: whole lines are written under a lock.
#include <fmt/format.h>

#include <string>
#include <string_view>
#include <utility>

namespace pirates::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(Level level);
Level level();
inline bool enabled(Level l) {
    return static_cast<int>(l) <= static_cast<int>(level());
}
// The name printed on every line (the executable's name).
void set_name(std::string name);
void write(Level level, std::string_view message);

template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::error)) write(Level::error, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::warn)) write(Level::warn, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::debug)) write(Level::debug, fmt::format(f, std::forward<Args>(args)...));
}

}  // namespace pirates::log
