#include "support/process.hpp"

#include "support/net.hpp"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include <csignal>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <string_view>

namespace pirates::test {

std::string bin_path(const std::string& program) {
    if (program.find('/') != std::string::npos) return program;
    return std::string(PIRATES_BIN_DIR) + "/" + program;
}

Process::Process(const std::string& program, std::vector<std::string> args, std::vector<std::string> env) {
    std::string path = bin_path(program);
    // The child's environment, built before fork (the child only calls async-signal-safe functions).
    std::vector<std::string> vars = std::move(env);
    for (char** e = environ; *e; ++e) {
        const std::string_view var(*e);
        const auto name = var.substr(0, var.find('=') + 1);
        bool replaced = false;
        for (const auto& v : vars) replaced = replaced || std::string_view(v).starts_with(name);
        if (!replaced) vars.emplace_back(var);
    }
    std::vector<char*> envp;
    for (auto& v : vars) envp.push_back(v.data());
    envp.push_back(nullptr);
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    std::vector<char*> argv;
    argv.push_back(path.data());
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_ = fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        execve(path.c_str(), argv.data(), envp.data());
        const char* msg = "exec failed\n";
        (void)!write(2, msg, std::strlen(msg));
        _exit(127);
    }
    close(fds[1]);
    out_fd_ = fds[0];
    reader_ = std::thread([this] {
        char buf[4096];
        while (true) {
            ssize_t n = read(out_fd_, buf, sizeof buf);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;
            std::lock_guard lock(mutex_);
            output_.append(buf, static_cast<std::size_t>(n));
        }
    });
}

Process::~Process() {
    if (running()) {
        signal(SIGKILL);
        wait_exit(Duration{10000});
    }
    if (reader_.joinable()) reader_.join();  // ends when every holder of the pipe (grandchildren too) is gone
    if (out_fd_ >= 0) close(out_fd_);
}

std::string Process::output() const {
    std::lock_guard lock(mutex_);
    return output_;
}

std::size_t Process::count(const std::string& text) const {
    std::string out = output();
    std::size_t n = 0;
    for (auto pos = out.find(text); pos != std::string::npos; pos = out.find(text, pos + text.size())) ++n;
    return n;
}

bool Process::wait_for(const std::string& text, Duration timeout) const {
    return eventually([&] { return output().find(text) != std::string::npos; }, timeout);
}

std::string Process::bound_endpoint(const std::string& role, Duration timeout) const {
    const std::string marker = "bound " + role + " ";
    if (!wait_for(marker, timeout)) return "";
    std::string out = output();
    auto start = out.find(marker) + marker.size();
    auto end = out.find_first_of(" \"\r\n", start);  // '"': the end of a --log-format json message
    if (end == std::string::npos) return "";         // line not complete yet
    return out.substr(start, end - start);
}

void Process::signal(int sig) {
    if (pid_ > 0 && !status_) ::kill(pid_, sig);
}

std::optional<int> Process::wait_exit(Duration timeout) {
    if (status_) return status_;
    eventually(
        [&] {
            int st = 0;
            pid_t r = waitpid(pid_, &st, WNOHANG);
            if (r == pid_) status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            return status_.has_value();
        },
        timeout);
    return status_;
}

bool Process::running() {
    if (status_ || pid_ <= 0) return false;
    int st = 0;
    pid_t r = waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        return false;
    }
    return true;
}

std::size_t Process::rss_bytes() const {
    std::ifstream status("/proc/" + std::to_string(pid_) + "/status");
    std::string key;
    while (status >> key) {
        if (key == "VmRSS:") {
            std::size_t kib = 0;
            status >> kib;
            return kib * 1024;
        }
        status.ignore(1 << 12, '\n');
    }
    return 0;
}

}  // namespace pirates::test
