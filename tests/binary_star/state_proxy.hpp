#pragma once
// A forwarding proxy for the state channel of a Binary Star pair, owned by the test.
//
// Why: each server must be told its peer's publisher endpoint (--state-sub) at start, before the peer has
// bound its own publisher on an OS-picked port. Rather than reserving ports by binding and closing throw-away
// sockets (a race with every other process on the machine), the test binds the proxy's two output PUB sockets
// on tcp://127.0.0.1:* first and gives those to the servers as --state-sub. The servers bind their publishers
// on :* too; the test reads the announced endpoints and connects the proxy's input SUB sockets to them. No
// port is fixed and none is reserved-then-released. A restarted server binds the same concrete endpoint
// again, and the proxy's SUB reconnects to it by itself.
//
// The proxy can cut either direction (messages are read and dropped, the TCP connections stay up: a partition
// of the state channel only), and remembers the last state each server published, so a test can watch a
// server's state on the wire even while it is cut off.
#include <pirates/common/frames.hpp>

#include <array>
#include <atomic>
#include <string>
#include <thread>

namespace pirates::test {

class StateProxy {
  public:
    enum Direction { primary_to_backup = 0, backup_to_primary = 1 };

    explicit StateProxy(zmq::context_t& context);
    ~StateProxy();
    StateProxy(const StateProxy&) = delete;
    StateProxy& operator=(const StateProxy&) = delete;

    // What each server connects its subscriber to (its --state-sub).
    const std::string& primary_state_sub() const { return out_ep_[backup_to_primary]; }
    const std::string& backup_state_sub() const { return out_ep_[primary_to_backup]; }

    // Before start(): connect the proxy to the servers' announced publishers.
    void connect(const std::string& primary_pub, const std::string& backup_pub);
    void start();

    void cut(Direction d, bool cut) { cut_[d] = cut; }
    void cut_both(bool c) {
        cut(primary_to_backup, c);
        cut(backup_to_primary, c);
    }
    // The last state number the source of `d` published (0: nothing yet), and how many messages went through.
    int last_state(Direction d) const { return last_[d]; }
    long forwarded(Direction d) const { return forwarded_[d]; }
    long seen(Direction d) const { return seen_[d]; }

  private:
    void loop();

    std::array<zmq::socket_t, 2> in_;   // SUB: from the source server's publisher
    std::array<zmq::socket_t, 2> out_;  // PUB: to the other server's subscriber
    std::array<std::string, 2> out_ep_;
    std::array<std::atomic<bool>, 2> cut_{};
    std::array<std::atomic<int>, 2> last_{};
    std::array<std::atomic<long>, 2> forwarded_{};
    std::array<std::atomic<long>, 2> seen_{};
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

}  // namespace pirates::test
