#include "child.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace pirates::soak {

Child::Child(const std::string& path, const std::vector<std::string>& args, const std::string& log_file)
    : log_file_(log_file) {
    std::vector<std::string> words{path};
    words.insert(words.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& w : words) argv.push_back(w.data());
    argv.push_back(nullptr);
    const int fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) throw std::runtime_error("cannot open " + log_file);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        ::close(fd);
        throw std::runtime_error("fork failed");
    }
    if (pid_ == 0) {
        // Only async-signal-safe calls from here to exec.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(fd, 1);
        ::dup2(fd, 2);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    ::close(fd);
}

Child::~Child() {
    if (running()) stop(SIGKILL, Duration{5000});
}

bool Child::running() {
    if (status_) return false;
    int st = 0;
    const pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == 0) return true;
    if (r == pid_)
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    else
        status_ = -1;  // not our child any more (cannot happen): count it gone
    return false;
}

void Child::signal(int sig) {
    if (!status_) ::kill(pid_, sig);
}

std::optional<int> Child::stop(int sig, Duration timeout) {
    if (!running()) return status_;
    signal(sig);
    const auto end = Clock::now() + timeout;
    while (running()) {
        if (Clock::now() >= end) {
            signal(SIGKILL);
            int st = 0;
            while (::waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
            }
            status_ = 128 + SIGKILL;
            break;
        }
        std::this_thread::sleep_for(Duration{10});
    }
    return status_;
}

std::size_t Child::rss_kb() const {
    if (status_) return 0;
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            std::istringstream words(line.substr(6));
            std::size_t kb = 0;
            words >> kb;
            return kb;
        }
    }
    return 0;
}

std::string read_file(const std::string& file, std::size_t from) {
    std::ifstream in(file, std::ios::binary);
    if (!in) return {};
    in.seekg(static_cast<std::streamoff>(from));
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string wait_bound(const std::string& file, const std::string& role, Duration timeout, std::size_t from) {
    const std::string key = "bound " + role + " ";
    const auto end = Clock::now() + timeout;
    for (;;) {
        const std::string text = read_file(file, from);
        if (const auto at = text.find(key); at != std::string::npos) {
            const auto start = at + key.size();
            const auto stop = text.find_first_of(" \r\n", start);
            if (stop != std::string::npos) return text.substr(start, stop - start);
        }
        if (Clock::now() >= end) return {};
        std::this_thread::sleep_for(Duration{20});
    }
}

}  // namespace pirates::soak
