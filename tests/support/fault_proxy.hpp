#pragma once
// FaultProxy: a TCP relay that misbehaves on command, to put a bad network between two live processes.
//
// It listens on a TCP address (127.0.0.1, OS-chosen port, by default) and relays each accepted connection to
// a target host:port, on its own thread (one poll loop). Each direction has its own faults, changed at run
// time from any thread; a command returns once the relay thread has taken it, so the bytes read after the
// call are treated under the new faults:
//   delay(ms)      hold every byte that long before passing it on (order kept)
//   drop           a blackhole: read and discard, keep the connections open (the peers see silence, not a
//                  close; a peer that closes meanwhile is not reported to the other side either)
//   throttle(B/s)  pass at most that many bytes a second
//   corrupt        flip every bit of every Nth byte, or of each byte with a probability (seeded)
//   cut            close every current connection (both sides); with refuse, also close every new one at once
//                  until heal()
//   heal / pass    back to a plain relay
// Faults combine (a delay and a throttle, say); pass() clears one direction's, heal() clears everything.
// Counters: bytes read, written, dropped and corrupted each way, connections accepted, refused and cut.
//
// The target may be given after construction (set_target): a test usually needs the proxy's port before the
// server behind it has bound. Until then (and while refusing) an accepted connection is closed at once.
#include <pirates/common/clock.hpp>

#include <array>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

namespace pirates::test {

class FaultProxy {
  public:
    // to_target: bytes from the connecting peer to the target; to_client: the replies.
    enum class Direction { to_target = 0, to_client = 1, both = 2 };

    struct Faults {
        Duration delay{0};
        bool drop = false;
        std::size_t throttle = 0;       // bytes per second, 0: no limit
        std::size_t corrupt_every = 0;  // flip every Nth byte, 0: never
        double corrupt_probability = 0.0;
        bool operator==(const Faults&) const = default;
    };

    struct Counters {
        std::array<std::uint64_t, 2> read{}, written{}, dropped{}, corrupted{};  // by Direction
        std::uint64_t accepted = 0;  // connections relayed to the target
        std::uint64_t refused = 0;   // accepted and closed at once (no target, target down, refusing)
        std::uint64_t cut = 0;       // connections closed by cut()
        std::uint64_t open = 0;      // connections open now
    };

    // `target`: "tcp://host:port" or "host:port" ("" to set later). `listen`: the same forms, port 0 or '*'
    // for an OS-chosen port.
    explicit FaultProxy(const std::string& target = {}, const std::string& listen = "tcp://127.0.0.1:*");
    ~FaultProxy();
    FaultProxy(const FaultProxy&) = delete;
    FaultProxy& operator=(const FaultProxy&) = delete;

    // "tcp://127.0.0.1:<port>": what a peer connects to instead of the target.
    std::string endpoint() const;
    int port() const { return port_; }
    void set_target(const std::string& target);

    void delay(Duration by, Direction d = Direction::both);
    void drop(Direction d = Direction::both);
    void throttle(std::size_t bytes_per_second, Direction d = Direction::both);
    void corrupt_every(std::size_t n, Direction d = Direction::both);
    void corrupt(double probability, Direction d = Direction::both, std::uint32_t seed = 1);
    void pass(Direction d = Direction::both);
    // Close every current connection; with `refuse`, close new ones at once too, until heal().
    void cut(bool refuse = false);
    // Every fault off, new connections relayed again.
    void heal();

    Faults faults(Direction d) const;
    Counters counters() const;

  private:
    struct Impl;
    template <typename F>
    void command(F&& change);
    void run();

    int listen_fd_ = -1;
    int wake_fd_ = -1;  // eventfd: a command is waiting
    int port_ = 0;
    std::string listen_host_;

    mutable std::mutex mutex_;
    std::condition_variable applied_cv_;
    std::array<Faults, 2> faults_{};
    std::string target_host_;
    int target_port_ = 0;
    bool refuse_ = false;
    std::uint64_t cut_requested_ = 0;
    std::uint32_t seed_ = 1;
    std::uint64_t requested_ = 0, applied_ = 0;  // command generations
    Counters counters_{};

    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// "tcp://host:port" or "host:port" -> host, port ('*' -> 0). Throws std::invalid_argument.
std::pair<std::string, int> split_host_port(const std::string& address);

}  // namespace pirates::test
