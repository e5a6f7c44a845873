#pragma once
// The command line every executable shares: --help, --version, --config FILE, -v/--verbose, -q/--quiet,
// --log-format text|json, plus
// typed options declared by each program (endpoints, timings in ms, counts). --help prints usage on stdout
// (each option with its default, taken from the variable it sets) and exits 0; --version prints
// "<program> <version>" and exits 0. Bad flags or values are all reported at once on stderr, one line each,
// and the program exits with code 2.
//
// --config FILE reads options from a TOML/INI file whose keys are the long flag names without the dashes
// (`heartbeat-ms = 2500`); a flag given on the command line overrides the file. A missing or malformed file,
// or an unknown key, is a usage error.
//
// Built on CLI11, which stays out of this header: programs and libpirates-dev users do not need it.
#include <pirates/common/clock.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace pirates {

class CommandLine {
  public:
    CommandLine(std::string program, std::string summary);
    ~CommandLine();
    CommandLine(const CommandLine&) = delete;
    CommandLine& operator=(const CommandLine&) = delete;

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
    // Positional arguments (words that are not options, in their order: a command and its operands) go to
    // `out`; without this call any such word is a usage error. `name` shows in the usage line ("COMMAND
    // [NAME]"); the caller checks how many it got after parse() and calls fail() if they do not fit.
    CommandLine& positionals(std::string name, std::vector<std::string>& out, std::string help);
    // --metrics HOST:PORT: where to serve Prometheus metrics (common/metrics.hpp); empty (the default): off.
    CommandLine& metrics(std::string& out);
    // Another name for the option declared just before (an old or the Guide's spelling): --name works as
    // well on the command line and as a key in the config file.
    CommandLine& alias(std::string name);
    // Options that are only meaningful together, or mutually exclusive, are checked by the caller after
    // parse() with fail().

    // Parse or exit (0 for --help and --version, 2 for errors). Also sets the log level and the logger's name,
    // and logs "<program> <version> starting".
    void parse(int argc, char** argv);
    // Parse without exiting: returns every error found, one per line, or nullopt. help_requested() and
    // version_requested() tell if --help or --version was seen (then nothing else is checked).
    std::optional<std::string> try_parse(int argc, const char* const* argv);
    bool help_requested() const;
    bool version_requested() const;
    bool verbose() const;

    std::string usage() const;
    // Report a usage error found after parsing (conflicting flags...) and exit 2.
    [[noreturn]] void fail(std::string_view message) const;

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// The program-level catch every main shares, called from `catch (...)` (a function-try-block on main):
//   int main(int argc, char** argv) try { ... } catch (...) { return pirates::exit_on_exception(); }
// A BindError prints "<program>: cannot bind <endpoint>: <reason>" on stderr; any other exception
// "<program>: <what>". Returns 1, the exit code of a run-time failure (2 is a usage error).
int exit_on_exception() noexcept;

}  // namespace pirates
