#pragma once
// The soak's clients, each on its own thread with its own majordomo::Client (retries, a new socket per
// attempt), all through the topology's front proxy:
//   TitanicSender  titanic.request (service echo, a unique body each) at a steady rate; each request
//                  acknowledged ("200" uuid) goes into the Ledger.
//   TitanicPoller  titanic.reply for every outstanding UUID, round after round; a "200" reply is checked
//                  against the body sent, then closed with titanic.close.
//   EchoClient     plain echo requests straight to the broker; answered or failed (failures during faults
//                  are expected), a wrong body is an error.
#include <pirates/common/clock.hpp>

#include <zmq.hpp>

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

namespace pirates::soak {

struct TitanicCounts {
    std::uint64_t requests = 0;      // titanic.request sent
    std::uint64_t acked = 0;         // answered "200" uuid
    std::uint64_t not_acked = 0;     // no answer, or not "200"
    std::uint64_t replied = 0;       // reply with the body sent
    std::uint64_t wrong = 0;         // reply with another body
    std::uint64_t unknown = 0;       // titanic.reply "400" for an acknowledged UUID
    std::uint64_t close_failed = 0;  // titanic.close without "200"
    std::uint64_t outstanding = 0;   // acknowledged, no reply yet
};

// The acknowledged requests not yet replied, shared by sender and poller.
class Ledger {
  public:
    void acked(std::string uuid, std::string body);
    std::map<std::string, std::string> outstanding() const;
    void settle(const std::string& uuid);
    TitanicCounts counts() const;
    template <typename F>
    void update(F&& f) {
        std::lock_guard lock(mutex_);
        f(counts_);
    }

  private:
    mutable std::mutex mutex_;
    std::map<std::string, std::string> open_;  // uuid -> body
    TitanicCounts counts_;
};

// A client's thread, running until stop() (which also interrupts the client's wait).
class Worker {
  public:
    virtual ~Worker();
    void start();
    // Stop and join the thread.
    void stop();
    // Ask it to stop (thread-safe, returns at once: a signal hook).
    void stop_soon();

  protected:
    virtual void run() = 0;
    virtual void interrupt() = 0;
    bool stopping() const { return stop_; }
    // Wait `d`, returning early on stop().
    void pause(Duration d) const;

  private:
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

class TitanicSender : public Worker {
  public:
    TitanicSender(zmq::context_t& context, std::string endpoint, Ledger& ledger, Duration interval,
                  std::uint64_t seed);
    ~TitanicSender() override;

  private:
    void run() override;
    void interrupt() override;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class TitanicPoller : public Worker {
  public:
    TitanicPoller(zmq::context_t& context, std::string endpoint, Ledger& ledger, Duration interval);
    ~TitanicPoller() override;

  private:
    void run() override;
    void interrupt() override;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

struct EchoCounts {
    std::uint64_t requests = 0, ok = 0, failed = 0, wrong = 0;
};

class EchoClient : public Worker {
  public:
    EchoClient(zmq::context_t& context, std::string endpoint, Duration interval, std::uint64_t seed);
    ~EchoClient() override;
    EchoCounts counts() const;

  private:
    void run() override;
    void interrupt() override;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace pirates::soak
