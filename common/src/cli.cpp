#include <pirates/common/cli.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/metrics.hpp>
#include <pirates/version.hpp>

#include <CLI/CLI.hpp>

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

// 16777216 -> "16M", 1536 -> "1536": the shortest exact spelling parse_bytes() reads back.
std::string format_bytes(std::size_t n) {
    if (n == 0) return "0";
    for (auto [shift, unit] : {std::pair{30, "G"}, std::pair{20, "M"}, std::pair{10, "K"}})
        if (n % (std::size_t{1} << shift) == 0) return fmt::format("{}{}", n >> shift, unit);
    return std::to_string(n);
}

// The name of the program being run, for exit_on_exception() (set by parse()).
std::string& current_program() {
    static std::string name;
    return name;
}

}  // namespace

struct CommandLine::Impl {
    struct Entry {
        std::vector<std::string> names;  // the first is the one shown first; the others are aliases
        std::string value_name;          // empty for flags
        std::string help;
        std::string default_text;  // shown in usage; empty: none (required, or no meaningful value)
        bool required = false;
        // Makes the CLI11 option under the given names ("--a,--b"); called again when an alias is added.
        std::function<CLI::Option*(const std::string& names)> make;
        CLI::Option* option = nullptr;

        std::string cli_names() const {
            std::string all;
            for (const auto& n : names) all += (all.empty() ? "--" : ",--") + n;
            return all;
        }
    };

    void add(Entry entry) {
        entry.option = entry.make(entry.cli_names());
        entries.push_back(std::move(entry));
    }

    Impl(std::string program_name, std::string summary_text)
        : program(std::move(program_name)), summary(std::move(summary_text)) {
        app.set_help_flag();  // ours below, so that --help is seen whatever else is wrong
        app.allow_extras();   // unknown options are collected and reported with the other errors
        app.allow_config_extras(CLI::config_extras_mode::error);
        help_option = app.add_flag("-h,--help", help, "show this help and exit");
        version_option = app.add_flag("--version", version, "print the program's name and version and exit");
        config_option =
            app.set_config("--config", "", "read options from a TOML/INI file; flags override it");
        app.add_flag("-v,--verbose", verbose, "log debug messages");
        app.add_flag("-q,--quiet", quiet, "log warnings and errors only");
        log_format_option =
            app.add_option("--log-format", log_format, "text or json (one JSON object a line)");
        log_format_option->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
        for (auto* o : {help_option, version_option}) o->configurable(false);
    }

    // An option taking a value: `set` checks and stores it, or returns an error message. Errors are collected,
    // not thrown, so that every one of them is reported at once.
    void add_value(std::string name, std::string value_name, std::string help, bool required,
                   std::string default_text,
                   std::function<std::optional<std::string>(std::string_view)> set) {
        auto callback = [this, name, set = std::move(set)](const CLI::results_t& results) {
            if (results.empty()) return true;
            if (auto err = set(results.back())) errors.push_back(fmt::format("--{}: {}", name, *err));
            return true;
        };
        auto make = [this, callback, help, value_name](const std::string& names) {
            CLI::Option* o = app.add_option(names, callback, help);
            o->type_name(value_name)->expected(1)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
            return o;
        };
        add({{std::move(name)},
             std::move(value_name),
             std::move(help),
             required ? std::string{} : std::move(default_text),
             required,
             std::move(make)});
    }

    std::string program;
    std::string summary;
    CLI::App app;
    std::vector<Entry> entries;
    std::vector<std::string> errors;
    CLI::Option* help_option = nullptr;
    CLI::Option* version_option = nullptr;
    CLI::Option* config_option = nullptr;
    bool help = false;
    bool version = false;
    bool verbose = false;
    bool quiet = false;
    std::vector<std::string>* positionals = nullptr;  // positionals(): where words that are not options go
    std::string positionals_name, positionals_help;
    std::string log_format = "text";
    CLI::Option* log_format_option = nullptr;
};

CommandLine::CommandLine(std::string program, std::string summary)
    : impl_(std::make_unique<Impl>(std::move(program), std::move(summary))) {}

CommandLine::~CommandLine() = default;

bool CommandLine::help_requested() const {
    return impl_->help;
}
bool CommandLine::version_requested() const {
    return impl_->version;
}
bool CommandLine::verbose() const {
    return impl_->verbose;
}

CommandLine& CommandLine::flag(std::string name, bool& out, std::string help) {
    auto make = [m = impl_.get(), &out, help](const std::string& names) {
        return m->app.add_flag(names, out, help)->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    };
    impl_->add({{std::move(name)}, "", std::move(help), "", false, std::move(make)});
    return *this;
}

CommandLine& CommandLine::positionals(std::string name, std::vector<std::string>& out, std::string help) {
    impl_->positionals = &out;
    impl_->positionals_name = std::move(name);
    impl_->positionals_help = std::move(help);
    return *this;
}

CommandLine& CommandLine::alias(std::string name) {
    if (impl_->entries.empty()) throw std::logic_error("CommandLine::alias: no option declared before it");
    auto& e = impl_->entries.back();
    impl_->app.remove_option(e.option);
    e.names.push_back(std::move(name));
    e.option = e.make(e.cli_names());
    return *this;
}

CommandLine& CommandLine::text(std::string name, std::string& out, std::string help, bool required) {
    impl_->add_value(std::move(name), "TEXT", std::move(help), required, out,
                     [&out](std::string_view v) -> std::optional<std::string> {
                         if (v.empty()) return "must not be empty";
                         out = std::string(v);
                         return std::nullopt;
                     });
    return *this;
}

CommandLine& CommandLine::metrics(std::string& out) {
    impl_->add_value("metrics", "HOST:PORT",
                     "serve Prometheus metrics on http://HOST:PORT/metrics (port 0: any free port, logged as "
                     "'bound metrics URL'); empty: off",
                     false, out, [&out](std::string_view v) -> std::optional<std::string> {
                         std::string why;
                         if (!v.empty() && !metrics::valid_address(std::string(v), &why)) return why;
                         out = std::string(v);
                         return std::nullopt;
                     });
    return *this;
}

CommandLine& CommandLine::endpoint(std::string name, std::string& out, std::string help, bool required) {
    impl_->add_value(std::move(name), "EP", std::move(help), required, out,
                     [&out](std::string_view v) -> std::optional<std::string> {
                         if (!valid_endpoint(v))
                             return fmt::format(
                                 "'{}' is not an endpoint (tcp://host:port with a port in 1-65535 or *, "
                                 "ipc://path, inproc://name)",
                                 v);
                         out = std::string(v);
                         return std::nullopt;
                     });
    return *this;
}

CommandLine& CommandLine::endpoints(std::string name, std::vector<std::string>& out, std::string help,
                                    bool required) {
    impl_->add_value(std::move(name), "EP1,EP2,...", std::move(help), required,
                     fmt::format("{}", fmt::join(out, ",")),
                     [&out](std::string_view v) -> std::optional<std::string> {
                         auto list = split_list(v);
                         for (auto& ep : list)
                             if (!valid_endpoint(ep)) return fmt::format("'{}' is not an endpoint", ep);
                         out = std::move(list);
                         return std::nullopt;
                     });
    return *this;
}

CommandLine& CommandLine::integer(std::string name, int& out, std::string help, int min, int max,
                                  bool required) {
    // A starting value outside the range is a sentinel ("not given"), not a default worth showing.
    std::string shown = out >= min && out <= max ? std::to_string(out) : std::string{};
    impl_->add_value(std::move(name), "N", std::move(help), required, std::move(shown),
                     [&out, min, max](std::string_view v) -> std::optional<std::string> {
                         auto n = parse_int(v);
                         if (!n) return fmt::format("'{}' is not an integer", v);
                         if (*n < min || *n > max)
                             return fmt::format("{} is out of range [{}, {}]", *n, min, max);
                         out = static_cast<int>(*n);
                         return std::nullopt;
                     });
    return *this;
}

CommandLine& CommandLine::millis(std::string name, Duration& out, std::string help, int min_ms, int max_ms) {
    std::string shown =
        out.count() >= min_ms && out.count() <= max_ms ? std::to_string(out.count()) : std::string{};
    impl_->add_value(std::move(name), "MS", std::move(help), false, std::move(shown),
                     [&out, min_ms, max_ms](std::string_view v) -> std::optional<std::string> {
                         auto n = parse_int(v);
                         if (!n) return fmt::format("'{}' is not a number of milliseconds", v);
                         if (*n < min_ms || *n > max_ms)
                             return fmt::format("{} ms is out of range [{}, {}]", *n, min_ms, max_ms);
                         out = Duration{*n};
                         return std::nullopt;
                     });
    return *this;
}

CommandLine& CommandLine::bytes(std::string name, std::size_t& out, std::string help, std::size_t min,
                                std::size_t max) {
    std::string shown = out >= min && out <= max ? format_bytes(out) : std::string{};
    impl_->add_value(std::move(name), "BYTES", std::move(help), false, std::move(shown),
                     [&out, min, max](std::string_view v) -> std::optional<std::string> {
                         auto n = parse_bytes(v);
                         if (!n)
                             return fmt::format("'{}' is not a size in bytes (e.g. 1048576, 512K, 16M, 1G)",
                                                v);
                         if (*n < min || *n > max)
                             return fmt::format("{} bytes is out of range [{}, {}]", *n, min, max);
                         out = *n;
                         return std::nullopt;
                     });
    return *this;
}

CommandLine& CommandLine::message_bounds(std::size_t& max_message_bytes, int& hwm, std::string_view peers) {
    bytes("max-message-bytes", max_message_bytes,
          fmt::format("largest frame {} may send; a peer that sends more is disconnected", peers), 1);
    return integer("hwm", hwm,
                   "messages queued per connection and direction; replies beyond it to a client that does "
                   "not read are dropped",
                   1);
}

std::string CommandLine::usage() const {
    const bool args = impl_->positionals != nullptr;
    std::string u = fmt::format("Usage: {} [options]{}{}\n{}\n\n", impl_->program, args ? " " : "",
                                args ? impl_->positionals_name : "", impl_->summary);
    auto line = [&](std::string left, std::string_view help) {
        if (left.size() < 28)
            left.resize(28, ' ');
        else
            left += "  ";
        u += fmt::format("  {}{}\n", left, help);
    };
    if (args) {
        u += "Arguments:\n";
        line(impl_->positionals_name, impl_->positionals_help);
        u += "\n";
    }
    u += "Options:\n";
    for (const auto& e : impl_->entries) {
        std::string left;
        for (const auto& n : e.names) left += (left.empty() ? "--" : ", --") + n;
        if (!e.value_name.empty()) left += " " + e.value_name;
        std::string help = e.help;
        if (e.required)
            help += " (required)";
        else if (!e.default_text.empty())
            help += fmt::format(" (default {})", e.default_text);
        line(left, help);
    }
    line("--config FILE", "read options from a TOML/INI file (keys: long flag names); flags override it");
    line("-v, --verbose", "log debug messages");
    line("-q, --quiet", "log warnings and errors only");
    line("--log-format FORMAT", "text or json (one JSON object a line) (default text)");
    line("--version", "print the program's name and version and exit");
    line("-h, --help", "show this help and exit");
    return u;
}

std::optional<std::string> CommandLine::try_parse(int argc, const char* const* argv) {
    Impl& m = *impl_;
    m.errors.clear();
    bool parsed_all_arguments = true;
    try {
        m.app.parse(argc, argv);
    } catch (const CLI::FileError& e) {  // --config: a file that cannot be read
        m.errors.push_back(fmt::format("--config {}: cannot read it", m.config_option->as<std::string>()));
    } catch (const CLI::ConfigError& e) {  // --config: an unknown key, or a line that is not key = value
        // CLI11 stops at the first one: "INI was not able to parse KEY" ("NAME.++" for a [NAME] section).
        std::string what = e.what();
        const std::string prefix = "INI was not able to parse ";
        if (what.starts_with(prefix)) {
            std::string key = what.substr(prefix.size());
            if (key.ends_with(".++")) key.resize(key.size() - 3);
            what = fmt::format("'{}' is not an option (keys are the long flag names, without sections)", key);
        }
        m.errors.push_back(fmt::format("--config {}: {}", m.config_option->as<std::string>(), what));
    } catch (const CLI::ArgumentMismatch& e) {
        parsed_all_arguments = false;
        // CLI11: "--name: 1 required N missing"; ours names the option and what it needs.
        std::string what = e.what();
        auto colon = what.find(':');
        const Impl::Entry* entry = nullptr;
        for (const auto& en : m.entries)
            for (const auto& n : en.names)
                if (colon != std::string::npos && what.substr(0, colon) == "--" + n) entry = &en;
        if (entry && !entry->value_name.empty() && what.find("missing") != std::string::npos)
            m.errors.push_back(
                fmt::format("option '{}' needs a value ({})", what.substr(0, colon), entry->value_name));
        else
            m.errors.push_back(what);
    } catch (const CLI::ParseError& e) {
        parsed_all_arguments = false;
        m.errors.push_back(e.what());
    }
    if (m.help_option->count() > 0 || m.version_option->count() > 0) {
        m.help = m.help_option->count() > 0;
        m.version = m.version_option->count() > 0;
        return std::nullopt;
    }
    // What no option took: unknown options, and stray arguments (a value after an unknown option is taken to
    // be its value, and not reported twice).
    bool after_unknown = false;
    if (m.positionals) m.positionals->clear();
    for (const auto& arg : m.app.remaining()) {
        if (arg.size() > 1 && arg[0] == '-') {
            m.errors.push_back(fmt::format("unknown option '{}'", arg.substr(0, arg.find('='))));
            after_unknown = arg.find('=') == std::string::npos;
        } else {
            if (!after_unknown) {  // (else: the value of the unknown option reported just before)
                if (m.positionals)
                    m.positionals->push_back(arg);
                else
                    m.errors.push_back(fmt::format("unexpected argument '{}'", arg));
            }
            after_unknown = false;
        }
    }
    if (m.log_format != "text" && m.log_format != "json")
        m.errors.push_back(fmt::format("--log-format: '{}' is not text or json", m.log_format));
    if (parsed_all_arguments)
        for (const auto& e : m.entries)
            if (e.required && e.option->count() == 0)
                m.errors.push_back(fmt::format("missing required option '--{}'", e.names.front()));
    if (m.errors.empty()) return std::nullopt;
    std::string all;
    for (const auto& e : m.errors) all += (all.empty() ? "" : "\n") + e;
    return all;
}

void CommandLine::parse(int argc, char** argv) {
    Impl& m = *impl_;
    if (argc > 0 && m.program.empty()) m.program = basename(argv[0]);
    current_program() = m.program;
    auto err = try_parse(argc, argv);
    if (m.help) {
        std::fputs(usage().c_str(), stdout);
        std::exit(0);
    }
    if (m.version) {
        std::printf("%s %s\n", m.program.c_str(), PIRATES_VERSION_STRING);
        std::exit(0);
    }
    if (err) fail(*err);
    log::set_name(m.program);
    log::set_format(m.log_format == "json" ? log::Format::json : log::Format::text);
    if (m.verbose)
        log::set_level(log::Level::debug);
    else if (m.quiet)
        log::set_level(log::Level::warn);
    log::info("{} {} starting", m.program, PIRATES_VERSION_STRING);
}

void CommandLine::fail(std::string_view message) const {
    const std::string& program = impl_->program;
    std::string out;
    // One line per error, each naming the program.
    std::size_t start = 0;
    while (start <= message.size()) {
        auto end = message.find('\n', start);
        if (end == std::string_view::npos) end = message.size();
        out += fmt::format("{}: {}\n", program, message.substr(start, end - start));
        start = end + 1;
    }
    out += fmt::format("Try '{} --help'.\n", program);
    std::fputs(out.c_str(), stderr);
    std::exit(2);
}

int exit_on_exception() noexcept {
    const std::string& program = current_program().empty() ? std::string("pirates") : current_program();
    try {
        throw;
    } catch (const BindError& e) {
        std::fprintf(stderr, "%s: cannot bind %s: %s\n", program.c_str(), e.endpoint().c_str(),
                     e.reason().c_str());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "%s: %s\n", program.c_str(), e.what());
    } catch (...) {
        std::fprintf(stderr, "%s: unknown error\n", program.c_str());
    }
    std::fflush(stderr);
    return 1;
}

}  // namespace pirates
