#include "fault_proxy.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <memory>
#include <random>
#include <stdexcept>
#include <vector>

namespace pirates::test {

namespace {

constexpr std::size_t max_buffered = 4 << 20;  // per direction: stop reading a peer beyond this
constexpr std::size_t read_size = 64 << 10;
constexpr Duration idle_poll{50};
constexpr Duration connect_timeout{2000};

int index(FaultProxy::Direction d) {
    return static_cast<int>(d);
}

sockaddr_storage resolve(const std::string& host, int port, socklen_t& len) {
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const std::string service = std::to_string(port);
    if (::getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0 || found == nullptr)
        throw std::invalid_argument("fault proxy: cannot resolve " + host);
    sockaddr_storage out{};
    std::memcpy(&out, found->ai_addr, found->ai_addrlen);
    len = found->ai_addrlen;
    ::freeaddrinfo(found);
    return out;
}

// Connect within connect_timeout; -1 when the target refuses or does not answer.
int connect_to(const std::string& host, int port) {
    socklen_t len = 0;
    sockaddr_storage addr;
    try {
        addr = resolve(host, port, len);
    } catch (const std::invalid_argument&) {
        return -1;
    }
    int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
        if (errno != EINPROGRESS) {
            ::close(fd);
            return -1;
        }
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t err_len = sizeof err;
        if (::poll(&p, 1, static_cast<int>(connect_timeout.count())) != 1 ||
            ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0 || err != 0) {
            ::close(fd);
            return -1;
        }
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

struct Chunk {
    TimePoint release;
    std::string bytes;
    std::size_t sent = 0;
};

// One direction of one connection: read from fd[d], write to fd[1 - d].
struct Flow {
    std::deque<Chunk> queue;
    std::size_t queued = 0;
    bool eof = false;  // the reading side closed (or failed)
    double tokens = 0;
    TimePoint refilled{};
};

struct Connection {
    std::array<int, 2> fd{-1, -1};  // 0: the peer that connected to us, 1: the target
    std::array<Flow, 2> flow;
    bool dead = false;
    ~Connection() {
        for (int f : fd)
            if (f >= 0) ::close(f);
    }
};

}  // namespace

std::pair<std::string, int> split_host_port(const std::string& address) {
    std::string a = address;
    if (a.rfind("tcp://", 0) == 0) a = a.substr(6);
    const auto colon = a.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == a.size())
        throw std::invalid_argument("not host:port: " + address);
    std::string host = a.substr(0, colon), port = a.substr(colon + 1);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    if (host == "*") host = "0.0.0.0";
    if (port == "*") return {host, 0};
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
        throw std::invalid_argument("bad port in " + address);
    const int p = std::stoi(port);
    if (p > 65535) throw std::invalid_argument("bad port in " + address);
    return {host, p};
}

FaultProxy::FaultProxy(const std::string& target, const std::string& listen) {
    auto [host, port] = split_host_port(listen);
    listen_host_ = host;
    socklen_t len = 0;
    sockaddr_storage addr = resolve(host, port, len);
    listen_fd_ = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
        ::listen(listen_fd_, 64) != 0) {
        if (listen_fd_ >= 0) ::close(listen_fd_);
        throw std::runtime_error("fault proxy: cannot listen on " + listen);
    }
    len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&addr)->sin6_port
                                             : reinterpret_cast<sockaddr_in*>(&addr)->sin_port);
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!target.empty()) {  // no thread yet to wait for
        auto [to_host, to_port] = split_host_port(target);
        target_host_ = to_host == "0.0.0.0" ? "127.0.0.1" : to_host;
        target_port_ = to_port;
    }
    thread_ = std::thread([this] { run(); });
}

FaultProxy::~FaultProxy() {
    stop_ = true;
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    thread_.join();
    ::close(listen_fd_);
    ::close(wake_fd_);
}

std::string FaultProxy::endpoint() const {
    const std::string host = listen_host_ == "0.0.0.0" ? "127.0.0.1" : listen_host_;
    return "tcp://" + host + ":" + std::to_string(port_);
}

// Change the shared settings, then wait (bounded) until the relay thread has taken them.
template <typename F>
void FaultProxy::command(F&& change) {
    std::unique_lock lock(mutex_);
    change();
    const auto mine = ++requested_;
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(wake_fd_, &one, sizeof one);
    applied_cv_.wait_for(lock, std::chrono::seconds(5), [&] { return applied_ >= mine || stop_; });
}

void FaultProxy::set_target(const std::string& target) {
    auto [host, port] = split_host_port(target);
    command([&] {
        target_host_ = host == "0.0.0.0" ? "127.0.0.1" : host;
        target_port_ = port;
    });
}

namespace {
template <typename F>
void for_each(std::array<FaultProxy::Faults, 2>& faults, FaultProxy::Direction d, F&& f) {
    for (int i = 0; i < 2; ++i)
        if (d == FaultProxy::Direction::both || index(d) == i) f(faults[static_cast<std::size_t>(i)]);
}
}  // namespace

void FaultProxy::delay(Duration by, Direction d) {
    command([&] { for_each(faults_, d, [&](Faults& f) { f.delay = by; }); });
}
void FaultProxy::drop(Direction d) {
    command([&] { for_each(faults_, d, [&](Faults& f) { f.drop = true; }); });
}
void FaultProxy::throttle(std::size_t bytes_per_second, Direction d) {
    command([&] { for_each(faults_, d, [&](Faults& f) { f.throttle = bytes_per_second; }); });
}
void FaultProxy::corrupt_every(std::size_t n, Direction d) {
    command([&] { for_each(faults_, d, [&](Faults& f) { f.corrupt_every = n; }); });
}
void FaultProxy::corrupt(double probability, Direction d, std::uint32_t seed) {
    command([&] {
        seed_ = seed;
        for_each(faults_, d, [&](Faults& f) { f.corrupt_probability = probability; });
    });
}
void FaultProxy::pass(Direction d) {
    command([&] { for_each(faults_, d, [&](Faults& f) { f = Faults{}; }); });
}
void FaultProxy::cut(bool refuse) {
    command([&] {
        ++cut_requested_;
        refuse_ = refuse;
    });
}
void FaultProxy::heal() {
    command([&] {
        faults_ = {};
        refuse_ = false;
    });
}

FaultProxy::Faults FaultProxy::faults(Direction d) const {
    std::lock_guard lock(mutex_);
    return faults_[static_cast<std::size_t>(index(d == Direction::both ? Direction::to_target : d))];
}

FaultProxy::Counters FaultProxy::counters() const {
    std::lock_guard lock(mutex_);
    return counters_;
}

void FaultProxy::run() {
    std::vector<std::unique_ptr<Connection>> conns;
    std::array<Faults, 2> faults{};
    std::string host;
    int port = 0;
    bool refuse = false;
    std::uint64_t cuts_done = 0;
    std::uint32_t seed = 0;
    std::mt19937 random;
    std::array<std::uint64_t, 2> position{};  // bytes seen each way, for corrupt_every
    Counters c{};
    std::vector<char> buf(read_size);
    std::vector<pollfd> fds;

    while (!stop_) {
        // 1. Take the commands.
        {
            std::lock_guard lock(mutex_);
            faults = faults_;
            host = target_host_;
            port = target_port_;
            refuse = refuse_;
            if (seed_ != seed) {
                seed = seed_;
                random.seed(seed);
            }
            if (cut_requested_ != cuts_done) {
                cuts_done = cut_requested_;
                c.cut += conns.size();
                conns.clear();
            }
            c.open = conns.size();
            counters_ = c;
            applied_ = requested_;
        }
        applied_cv_.notify_all();

        // 2. Wait for bytes, room to write, a new connection, a command, or the next held chunk's time.
        TimePoint now = Clock::now();
        TimePoint wake = now + idle_poll;
        fds.clear();
        fds.push_back({wake_fd_, POLLIN, 0});
        fds.push_back({listen_fd_, POLLIN, 0});
        for (auto& conn : conns) {
            for (int d = 0; d < 2; ++d) {
                Flow& flow = conn->flow[static_cast<std::size_t>(d)];
                const bool can_read = !flow.eof && flow.queued < max_buffered;
                fds.push_back({can_read ? conn->fd[static_cast<std::size_t>(d)] : -1, POLLIN, 0});
                if (!flow.queue.empty()) wake = std::min(wake, flow.queue.front().release);
            }
            // Writable: only asked when something is due (a full socket buffer), else every poll would spin.
            for (int d = 0; d < 2; ++d) {
                Flow& flow = conn->flow[static_cast<std::size_t>(d)];
                bool due = !flow.queue.empty() && flow.queue.front().release <= now;
                const std::size_t rate = faults[static_cast<std::size_t>(d)].throttle;
                if (due && rate > 0 && flow.tokens < 1.0) {  // wait for the throttle's next byte instead
                    due = false;
                    const double wait_s = (1.0 - flow.tokens) / static_cast<double>(rate);
                    wake = std::min(wake,
                                    now + std::chrono::ceil<Duration>(std::chrono::duration<double>(wait_s)));
                }
                fds.push_back({due ? conn->fd[static_cast<std::size_t>(1 - d)] : -1, POLLOUT, 0});
            }
        }
        const int timeout = static_cast<int>(std::max<Duration::rep>(1, until(now, wake).count()));
        if (::poll(fds.data(), fds.size(), timeout) < 0 && errno != EINTR) break;
        if (fds[0].revents & POLLIN) {
            std::uint64_t drained;
            [[maybe_unused]] auto n = ::read(wake_fd_, &drained, sizeof drained);
        }
        now = Clock::now();

        const std::size_t polled = conns.size();  // the ones fds describes; new ones are read next time

        // 3. New connections: relayed, or closed at once when there is nowhere to relay them.
        if (fds[1].revents & POLLIN) {
            for (;;) {
                int in = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
                if (in < 0) break;
                int out = refuse || port == 0 ? -1 : connect_to(host, port);
                if (out < 0) {
                    ::close(in);
                    ++c.refused;
                    continue;
                }
                int one = 1;
                ::setsockopt(in, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                auto conn = std::make_unique<Connection>();
                conn->fd = {in, out};
                for (auto& flow : conn->flow) flow.refilled = now;
                conns.push_back(std::move(conn));
                ++c.accepted;
            }
        }

        // 4. Read what arrived and treat it under this direction's faults.
        for (std::size_t i = 0; i < polled; ++i) {
            Connection& conn = *conns[i];
            for (std::size_t d = 0; d < 2; ++d) {
                const pollfd& p = fds[2 + i * 4 + d];
                if (p.fd < 0 || !(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
                Flow& flow = conn.flow[d];
                const ssize_t n = ::recv(conn.fd[d], buf.data(), buf.size(), 0);
                if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) continue;
                if (n <= 0) {
                    flow.eof = true;
                    continue;
                }
                const Faults& f = faults[d];
                const auto size = static_cast<std::size_t>(n);
                c.read[d] += size;
                if (f.drop) {
                    c.dropped[d] += size;
                    position[d] += size;
                    continue;
                }
                Chunk chunk{now + f.delay, std::string(buf.data(), size)};
                for (char& byte : chunk.bytes) {
                    ++position[d];
                    bool flip = f.corrupt_every > 0 && position[d] % f.corrupt_every == 0;
                    if (f.corrupt_probability > 0 &&
                        std::uniform_real_distribution<double>(0.0, 1.0)(random) < f.corrupt_probability)
                        flip = true;
                    if (flip) {
                        byte = static_cast<char>(~static_cast<unsigned char>(byte));
                        ++c.corrupted[d];
                    }
                }
                flow.queued += size;
                flow.queue.push_back(std::move(chunk));
            }
        }

        // 5. Write what is due, within the throttle's budget.
        for (auto& conn_ptr : conns) {
            Connection& conn = *conn_ptr;
            for (std::size_t d = 0; d < 2 && !conn.dead; ++d) {
                Flow& flow = conn.flow[d];
                const Faults& f = faults[d];
                if (f.throttle > 0) {
                    const double rate = static_cast<double>(f.throttle);
                    const double seconds = std::chrono::duration<double>(now - flow.refilled).count();
                    flow.tokens = std::min(std::max(rate / 20.0, 1.0), flow.tokens + seconds * rate);
                }
                flow.refilled = now;
                while (!flow.queue.empty() && flow.queue.front().release <= now) {
                    Chunk& chunk = flow.queue.front();
                    std::size_t want = chunk.bytes.size() - chunk.sent;
                    if (f.throttle > 0) want = std::min(want, static_cast<std::size_t>(flow.tokens));
                    if (want == 0) break;
                    const ssize_t n =
                        ::send(conn.fd[1 - d], chunk.bytes.data() + chunk.sent, want, MSG_NOSIGNAL);
                    if (n < 0) {
                        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) conn.dead = true;
                        break;
                    }
                    const auto sent = static_cast<std::size_t>(n);
                    c.written[d] += sent;
                    chunk.sent += sent;
                    flow.queued -= sent;
                    if (f.throttle > 0) flow.tokens -= static_cast<double>(sent);
                    if (chunk.sent == chunk.bytes.size()) flow.queue.pop_front();
                }
            }
            // A side that closed closes the other once what it sent has been passed on; not while that
            // direction is blackholed (a partition hides closes too: the other side sees silence).
            for (std::size_t d = 0; d < 2; ++d) {
                const Flow& flow = conn.flow[d];
                if (flow.eof && flow.queue.empty() && !faults[d].drop) conn.dead = true;
            }
            // Both sides gone: nothing left to hide.
            if (conn.flow[0].eof && conn.flow[1].eof) conn.dead = true;
        }
        std::erase_if(conns, [](const auto& conn) { return conn->dead; });
    }
    std::lock_guard lock(mutex_);
    c.open = 0;
    counters_ = c;
    applied_ = requested_;
    applied_cv_.notify_all();
}

}  // namespace pirates::test
