#pragma once
// A raw TCP relay for wire-capture tests: listens on 127.0.0.1 (OS-chosen port), forwards each accepted
// connection to `target_port` on 127.0.0.1, and keeps a copy of every byte that crossed it, both ways.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace pirates::test {

class TcpRelay {
  public:
    explicit TcpRelay(int target_port) : target_port_(target_port) {
        listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
            ::listen(listen_fd_, 16) != 0)
            throw std::runtime_error("relay: cannot listen");
        socklen_t len = sizeof a;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
        port_ = ntohs(a.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~TcpRelay() {
        stop_ = true;
        thread_.join();
        for (auto& p : pairs_) {
            if (p.first >= 0) ::close(p.first);
            if (p.second >= 0) ::close(p.second);
        }
        ::close(listen_fd_);
    }
    TcpRelay(const TcpRelay&) = delete;
    TcpRelay& operator=(const TcpRelay&) = delete;

    std::string endpoint() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
    // Every byte relayed so far, both directions.
    std::string captured() const {
        std::lock_guard lock(mutex_);
        return bytes_;
    }

  private:
    void run() {
        std::vector<char> buf(65536);
        while (!stop_) {
            std::vector<pollfd> fds{{listen_fd_, POLLIN, 0}};
            for (auto& p : pairs_) {
                fds.push_back({p.first, POLLIN, 0});
                fds.push_back({p.second, POLLIN, 0});
            }
            if (::poll(fds.data(), fds.size(), 20) <= 0) continue;
            if (fds[0].revents & POLLIN) accept_one();
            for (std::size_t i = 1; i < fds.size(); ++i) {
                if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
                auto& pair = pairs_[(i - 1) / 2];
                if (pair.first < 0) continue;
                int from = fds[i].fd, to = from == pair.first ? pair.second : pair.first;
                ssize_t n = ::read(from, buf.data(), buf.size());
                if (n <= 0) {  // one side closed: close both (the peers reconnect through us if they want)
                    if (pair.first >= 0) ::close(pair.first);
                    if (pair.second >= 0) ::close(pair.second);
                    pair = {-1, -1};  // poll() skips negative descriptors
                    continue;
                }
                {
                    std::lock_guard lock(mutex_);
                    bytes_.append(buf.data(), static_cast<std::size_t>(n));
                }
                ssize_t off = 0;
                while (off < n) {
                    ssize_t w = ::write(to, buf.data() + off, static_cast<std::size_t>(n - off));
                    if (w <= 0) break;
                    off += w;
                }
            }
        }
    }
    void accept_one() {
        int in = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (in < 0) return;
        int out = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = htons(static_cast<std::uint16_t>(target_port_));
        if (::connect(out, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
            ::close(in);
            ::close(out);
            return;
        }
        pairs_.emplace_back(in, out);
    }

    int target_port_;
    int port_ = 0;
    int listen_fd_ = -1;
    std::atomic<bool> stop_{false};
    std::vector<std::pair<int, int>> pairs_;  // relay thread only
    mutable std::mutex mutex_;
    std::string bytes_;
    std::thread thread_;
};

inline int port_of(const std::string& endpoint) {
    return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));
}

}  // namespace pirates::test
