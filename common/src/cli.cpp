#include <pirates/common/cli.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>

#include <charconv>
#include <cstdio>
#include <cstdlib>

namespace pirates {
namespace {

std::optional<long long> parse_int(std::string_view s) {
    long long v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc{} || end != s.data() + s.size() || s.empty()) return std::nullopt;
    return v;
}

// "16M", "16MiB", "1048576": bytes, or nullopt when not a size.
std::optional<std::size_t> parse_bytes(std::string_view s) {
    std::size_t digits = 0;
    while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
    auto n = parse_int(s.substr(0, digits));
    if (!n || *n < 0) return std::nullopt;
    std::string_view unit = s.substr(digits);
    int shift = 0;
    if (unit.empty())
        shift = 0;
    else if (unit == "K" || unit == "KiB" || unit == "k")
        shift = 10;
    else if (unit == "M" || unit == "MiB")
        shift = 20;
    else if (unit == "G" || unit == "GiB")
        shift = 30;
    else
        return std::nullopt;
    auto v = static_cast<unsigned long long>(*n);
    if (v > (~0ULL >> shift)) return std::nullopt;
    return static_cast<std::size_t>(v << shift);
}

std::string basename(std::string_view path) {
    auto slash = path.rfind('/');
    return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

}  // namespace

CommandLine::CommandLine(std::string program, std::string summary)
    : program_(std::move(program)), summary_(std::move(summary)) {}

CommandLine& CommandLine::add(Option option) {
    options_.push_back(std::move(option));
    return *this;
}

CommandLine::Option* CommandLine::find(std::string_view name) {
    for (auto& o : options_)
        if (o.name == name) return &o;
    return nullptr;
}

CommandLine& CommandLine::flag(std::string name, bool& out, std::string help) {
    return add({std::move(name), "", std::move(help), false, false, [&out](std::string_view) {
                    out = true;
                    return std::optional<std::string>{};
                }});
}

CommandLine& CommandLine::text(std::string name, std::string& out, std::string help, bool required) {
    return add({std::move(name), "TEXT", std::move(help), required, false,
                [&out](std::string_view v) -> std::optional<std::string> {
                    if (v.empty()) return "must not be empty";
                    out = std::string(v);
                    return std::nullopt;
                }});
}

CommandLine& CommandLine::endpoint(std::string name, std::string& out, std::string help, bool required) {
    return add({std::move(name), "EP", std::move(help), required, false,
                [&out](std::string_view v) -> std::optional<std::string> {
                    if (!valid_endpoint(v))
                        return fmt::format(
                            "'{}' is not an endpoint (tcp://host:port, ipc://path, inproc://name)", v);
                    out = std::string(v);
                    return std::nullopt;
                }});
}

CommandLine& CommandLine::endpoints(std::string name, std::vector<std::string>& out, std::string help,
                                    bool required) {
    return add({std::move(name), "EP1,EP2,...", std::move(help), required, false,
                [&out](std::string_view v) -> std::optional<std::string> {
                    auto list = split_list(v);
                    for (auto& ep : list)
                        if (!valid_endpoint(ep)) return fmt::format("'{}' is not an endpoint", ep);
                    out = std::move(list);
                    return std::nullopt;
                }});
}

CommandLine& CommandLine::integer(std::string name, int& out, std::string help, int min, int max,
                                  bool required) {
    return add({std::move(name), "N", std::move(help), required, false,
                [&out, min, max](std::string_view v) -> std::optional<std::string> {
                    auto n = parse_int(v);
                    if (!n) return fmt::format("'{}' is not an integer", v);
                    if (*n < min || *n > max) return fmt::format("{} is out of range [{}, {}]", *n, min, max);
                    out = static_cast<int>(*n);
                    return std::nullopt;
                }});
}

CommandLine& CommandLine::millis(std::string name, Duration& out, std::string help, int min_ms, int max_ms) {
    return add({std::move(name), "MS", std::move(help), false, false,
                [&out, min_ms, max_ms](std::string_view v) -> std::optional<std::string> {
                    auto n = parse_int(v);
                    if (!n) return fmt::format("'{}' is not a number of milliseconds", v);
                    if (*n < min_ms || *n > max_ms)
                        return fmt::format("{} ms is out of range [{}, {}]", *n, min_ms, max_ms);
                    out = Duration{*n};
                    return std::nullopt;
                }});
}

CommandLine& CommandLine::bytes(std::string name, std::size_t& out, std::string help, std::size_t min,
                                std::size_t max) {
    return add({std::move(name), "BYTES", std::move(help), false, false,
                [&out, min, max](std::string_view v) -> std::optional<std::string> {
                    auto n = parse_bytes(v);
                    if (!n)
                        return fmt::format("'{}' is not a size in bytes (e.g. 1048576, 512K, 16M, 1G)", v);
                    if (*n < min || *n > max)
                        return fmt::format("{} bytes is out of range [{}, {}]", *n, min, max);
                    out = *n;
                    return std::nullopt;
                }});
}

CommandLine& CommandLine::message_bounds(std::size_t& max_message_bytes, int& hwm, std::string_view peers) {
    bytes(
        "max-message-bytes", max_message_bytes,
        fmt::format("largest frame {} may send; a peer that sends more is disconnected (default 16M)", peers),
        1);
    return integer(
        "hwm", hwm,
        "messages queued per connection and direction; replies beyond it to a client that does not read "
        "are dropped (default 1000)",
        1);
}

std::string CommandLine::usage() const {
    std::string u = fmt::format("Usage: {} [options]\n{}\n\nOptions:\n", program_, summary_);
    auto line = [&](std::string left, std::string_view help) {
        if (left.size() < 28)
            left.resize(28, ' ');
        else
            left += "  ";
        u += fmt::format("  {}{}\n", left, help);
    };
    for (const auto& o : options_) {
        std::string left = "--" + o.name + (o.value_name.empty() ? "" : " " + o.value_name);
        line(left, o.required ? o.help + " (required)" : o.help);
    }
    line("-v, --verbose", "log debug messages");
    line("-q, --quiet", "log warnings and errors only");
    line("-h, --help", "show this help and exit");
    return u;
}

std::optional<std::string> CommandLine::try_parse(int argc, const char* const* argv) {
    for (int i = 1; i < argc; ++i) {
        std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            help_ = true;
            return std::nullopt;
        }
        if (arg == "-v" || arg == "--verbose") {
            verbose_ = true;
            continue;
        }
        if (arg == "-q" || arg == "--quiet") {
            quiet_ = true;
            continue;
        }
        if (arg.substr(0, 2) != "--") return fmt::format("unexpected argument '{}'", arg);
        std::string_view name = arg.substr(2);
        std::optional<std::string_view> value;
        if (auto eq = name.find('='); eq != std::string_view::npos) {
            value = name.substr(eq + 1);
            name = name.substr(0, eq);
        }
        Option* o = find(name);
        if (!o) return fmt::format("unknown option '--{}'", name);
        if (o->value_name.empty()) {
            if (value) return fmt::format("option '--{}' takes no value", name);
        } else if (!value) {
            if (i + 1 >= argc) return fmt::format("option '--{}' needs a value ({})", name, o->value_name);
            value = argv[++i];
        }
        if (auto err = o->set(value.value_or(""))) return fmt::format("--{}: {}", name, *err);
        o->seen = true;
    }
    for (const auto& o : options_)
        if (o.required && !o.seen) return fmt::format("missing required option '--{}'", o.name);
    return std::nullopt;
}

void CommandLine::parse(int argc, char** argv) {
    if (argc > 0 && program_.empty()) program_ = basename(argv[0]);
    auto err = try_parse(argc, argv);
    if (help_) {
        std::fputs(usage().c_str(), stdout);
        std::exit(0);
    }
    if (err) fail(*err);
    log::set_name(program_);
    if (verbose_)
        log::set_level(log::Level::debug);
    else if (quiet_)
        log::set_level(log::Level::warn);
}

void CommandLine::fail(std::string_view message) const {
    std::fprintf(stderr, "%s: %.*s\nTry '%s --help'.\n", program_.c_str(), static_cast<int>(message.size()),
                 message.data(), program_.c_str());
    std::exit(2);
}

}  // namespace pirates
