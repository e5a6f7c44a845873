#pragma once
// The command line every executable shares: --help, -v/--verbose, -q/--quiet, plus typed options declared by
// each program (endpoints, timings in ms, counts). An unknown flag or a bad value prints a message on stderr
// and exits with code 2; --help prints usage on stdout and exits 0.
#include <pirates/common/clock.hpp>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pirates {

class CommandLine {
  public:
    CommandLine(std::string program, std::string summary);

    // --name (no value)
    CommandLine& flag(std::string name, bool& out, std::string help);
    // --name VALUE: free text
    CommandLine& text(std::string name, std::string& out, std::string help, bool required = false);
    // --name EP: one ZeroMQ endpoint, checked
    CommandLine& endpoint(std::string name, std::string& out, std::string help, bool required = false);
    // --name EP1,EP2,...: a comma-separated list of endpoints, checked
    CommandLine& endpoints(std::string name, std::vector<std::string>& out, std::string help,
                           bool required = false);
    // --name N: an integer in [min, max]
    CommandLine& integer(std::string name, int& out, std::string help, int min = 0, int max = 1 << 30,
                         bool required = false);
    // --name-ms N: a duration in milliseconds, in [min_ms, max_ms]
    CommandLine& millis(std::string name, Duration& out, std::string help, int min_ms = 1,
                        int max_ms = 24 * 3600 * 1000);
    // --name N: a size in bytes, in [min, max]; a suffix K, M or G (or KiB, MiB, GiB) multiplies by 1024^n.
    CommandLine& bytes(std::string name, std::size_t& out, std::string help, std::size_t min = 0,
                       std::size_t max = std::size_t{1} << 40);
    // The two bounds every server and queue takes, with one wording everywhere: --max-message-bytes (a peer
    // sending a larger frame is disconnected) and --hwm (messages queued per connection and direction).
    // `peers` names who sends ("a client", "a client or worker").
    CommandLine& message_bounds(std::size_t& max_message_bytes, int& hwm, std::string_view peers);
    // Options that are only meaningful together, or mutually exclusive, are checked by the caller after
    // parse() with fail().

    // Parse or exit (0 for --help, 2 for errors). Also sets the log level and the logger's name.
    void parse(int argc, char** argv);
    // Parse without exiting: returns the error message, or nullopt. help_requested() tells if --help was
    // seen.
    std::optional<std::string> try_parse(int argc, const char* const* argv);
    bool help_requested() const { return help_; }
    bool verbose() const { return verbose_; }

    std::string usage() const;
    // Report a usage error found after parsing (conflicting flags...) and exit 2.
    [[noreturn]] void fail(std::string_view message) const;

  private:
    struct Option {
        std::string name;
        std::string value_name;  // empty for flags
        std::string help;
        bool required = false;
        bool seen = false;
        std::function<std::optional<std::string>(std::string_view)> set;  // error message or nullopt
    };
    CommandLine& add(Option option);
    Option* find(std::string_view name);

    std::string program_;
    std::string summary_;
    std::vector<Option> options_;
    bool help_ = false;
    bool verbose_ = false;
    bool quiet_ = false;
};

}  // namespace pirates
