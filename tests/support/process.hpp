#pragma once
// Start one of our executables as a child process, read what it prints, signal it, reap it.
// The destructor kills (SIGKILL) and reaps a child still running, so a failing test leaves nothing behind.
#include <pirates/common/clock.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace pirates::test {

class Process {
  public:
    // `program` is a name in build/bin (or a path containing '/'). The child inherits this process's
    // environment plus `env` ("NAME=value" entries, replacing a variable of the same name).
    Process(const std::string& program, std::vector<std::string> args, std::vector<std::string> env = {});
    ~Process();
    Process(const Process&) = delete;
    Process& operator=(const Process&) = delete;

    int pid() const { return pid_; }
    // Everything printed so far on stdout and stderr, interleaved.
    std::string output() const;
    // Wait until the output contains `text`.
    bool wait_for(const std::string& text, Duration timeout = Duration{10000}) const;
    // Wait for the "bound <role> <endpoint>" line of bind_and_announce() and return the endpoint ("" on
    // timeout).
    std::string bound_endpoint(const std::string& role, Duration timeout = Duration{10000}) const;
    // Count of occurrences of `text` in the output.
    std::size_t count(const std::string& text) const;

    void signal(int sig);
    void kill9() { signal(9); }
    // Wait for exit: the exit code, or 128 + signal number; nullopt on timeout.
    std::optional<int> wait_exit(Duration timeout = Duration{10000});
    bool running();
    // Resident set size in bytes (VmRSS from /proc), 0 when the process is gone.
    std::size_t rss_bytes() const;

  private:
    int pid_ = -1;
    int out_fd_ = -1;
    std::optional<int> status_;
    mutable std::mutex mutex_;
    std::string output_;
    std::thread reader_;
};

std::string bin_path(const std::string& program);

}  // namespace pirates::test
