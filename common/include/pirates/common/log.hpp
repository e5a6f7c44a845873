#pragma once
// One small logger for every program and library object: fmt formatting, levels, timestamps. Info and above
// by default; -v turns on debug. Lines go to a sink, stderr unless the application sets its own (set_sink):
// an application that embeds a broker sends the library's lines wherever its own go. Thread-safe: the sink
// is called with whole lines, one at a time.
#include <fmt/format.h>

#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pirates::log {

enum class Level { error = 0, warn = 1, info = 2, debug = 3 };

void set_level(Level level);
Level level();
inline bool enabled(Level l) {
    return static_cast<int>(l) <= static_cast<int>(level());
}
// How lines are written: text (the default: "2026-11-30T19:10:02.123Z I mdbroker: message") or json, one
// object a line for log collectors: {"time":"2026-11-30T19:10:02.123Z","level":"info","program":"mdbroker",
// "msg":"message"} (--log-format on every program). The message text is the same in both.
enum class Format { text, json };
void set_format(Format format);
Format format();
// The name printed on every line (the executable's name).
void set_name(std::string name);
// Named values a line carries besides its message (endpoint, service, role...): --log-format json writes each
// as a member of the line's object ("endpoint":"tcp://..."); the text format shows the message alone (which
// says them already).
using Fields = std::vector<std::pair<std::string_view, std::string_view>>;
void write(Level level, std::string_view message, const Fields& fields = {});

// Receives each line: its level, the message alone, and the whole formatted line (time, level letter, name,
// message, newline; or the JSON object and newline) as stderr shows it.
using Sink = std::function<void(Level level, std::string_view message, std::string_view line)>;
// Replace the sink; an empty function restores the default (stderr).
void set_sink(Sink sink);

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
// The same with fields: log::info(log::Fields{{"endpoint", ep}}, "bound {}", ep).
template <typename... Args>
void warn(const Fields& fields, fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::warn)) write(Level::warn, fmt::format(f, std::forward<Args>(args)...), fields);
}
template <typename... Args>
void info(const Fields& fields, fmt::format_string<Args...> f, Args&&... args) {
    if (enabled(Level::info)) write(Level::info, fmt::format(f, std::forward<Args>(args)...), fields);
}

}  // namespace pirates::log
