#pragma once
// Child: one program run by the soak, its stdout and stderr appended to a log file. Killed (SIGKILL) and
// reaped by the destructor; also dies with the soak (PR_SET_PDEATHSIG), so a soak killed with SIGKILL leaves
// nothing running.
#include <pirates/common/clock.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace pirates::soak {

class Child {
  public:
    Child(const std::string& path, const std::vector<std::string>& args, const std::string& log_file);
    ~Child();
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;

    int pid() const { return pid_; }
    const std::string& log_file() const { return log_file_; }
    // Still running (reaps it if it has exited).
    bool running();
    // The exit code, or 128 + signal number, once reaped.
    std::optional<int> exit_status() const { return status_; }
    void signal(int sig);
    // Wait for exit up to `timeout`; then (if `force`) SIGKILL and reap.
    std::optional<int> stop(int sig, Duration timeout);
    // Resident set size in KB (VmRSS), 0 when gone.
    std::size_t rss_kb() const;

  private:
    int pid_ = -1;
    std::string log_file_;
    std::optional<int> status_;
};

// The text of `file` from byte `from` on ("" when missing).
std::string read_file(const std::string& file, std::size_t from = 0);
// The endpoint of the first "bound <role> <endpoint>" line in `file` from byte `from`, polling until
// `timeout`; "" when it did not appear.
std::string wait_bound(const std::string& file, const std::string& role, Duration timeout,
                       std::size_t from = 0);

}  // namespace pirates::soak
