#pragma once
// A stand-in for systemd's notification socket: an AF_UNIX datagram socket in a fresh temporary directory.
// Start a program with env() in its environment (Process's third argument) and wait_for("READY=1").
#include <pirates/common/clock.hpp>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace pirates::test {

class NotifyListener {
  public:
    NotifyListener() {
        char dir[] = "/tmp/pirates-notify-XXXXXX";
        if (!::mkdtemp(dir)) throw std::runtime_error("mkdtemp failed");
        dir_ = dir;
        path_ = dir_ + "/notify";
        fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        if (fd_ < 0 || path_.size() >= sizeof addr.sun_path) throw std::runtime_error("notify socket failed");
        std::memcpy(addr.sun_path, path_.c_str(), path_.size() + 1);
        if (::bind(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
            throw std::runtime_error("notify socket bind failed");
    }
    ~NotifyListener() {
        if (fd_ >= 0) ::close(fd_);
        ::unlink(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    NotifyListener(const NotifyListener&) = delete;
    NotifyListener& operator=(const NotifyListener&) = delete;

    // "NOTIFY_SOCKET=<path>", for the child's environment.
    std::string env() const { return "NOTIFY_SOCKET=" + path_; }

    // Wait until a datagram received (now or before) holds the line `line` (e.g. "READY=1").
    bool wait_for(const std::string& line, Duration timeout = Duration{10000}) {
        const TimePoint deadline = Clock::now() + timeout;
        for (;;) {
            if (seen(line)) return true;
            const auto left = std::chrono::duration_cast<Duration>(deadline - Clock::now()).count();
            if (left <= 0) return false;
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, static_cast<int>(left)) <= 0) continue;
            char buf[4096];
            const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
            if (n > 0) datagrams_.emplace_back(buf, static_cast<std::size_t>(n));
        }
    }
    const std::vector<std::string>& datagrams() const { return datagrams_; }

  private:
    bool seen(const std::string& line) const {
        for (const auto& d : datagrams_) {
            std::size_t start = 0;
            while (start <= d.size()) {
                auto end = d.find('\n', start);
                if (end == std::string::npos) end = d.size();
                if (d.compare(start, end - start, line) == 0) return true;
                start = end + 1;
            }
        }
        return false;
    }

    std::string dir_, path_;
    int fd_ = -1;
    std::vector<std::string> datagrams_;
};

}  // namespace pirates::test
