// Crash tests: titanic is killed (kill -9, or a crash injected at a chosen point of a commit) while clients
// submit; every request it acknowledged must come back with the right reply once a worker runs.
#include <doctest/doctest.h>
#include <fmt/format.h>
#include <pirates/majordomo/client.hpp>

#include "rig.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "temp_dir.hpp"

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

using namespace pirates;
using namespace std::chrono_literals;
using pirates::test::eventually;
using pirates::test::make_frames;
using pirates::test::Process;
using pirates::test::Rig;
using pirates::test::strings;
using pirates::test::Strings;
using pirates::test::TempDir;

namespace {

// Submits parcel-0, parcel-1, ... through titanic.request and records what was acknowledged. After a failed
// call the client is replaced, so that a late acknowledgement can never be paired with the wrong body.
class Submitter {
  public:
    Submitter(Rig& rig, Duration timeout) : rig_(rig), timeout_(timeout) {}
    // One attempt; true if acknowledged.
    bool submit_one() {
        if (!client_)
            client_ = std::make_unique<majordomo::Client>(
                rig_.context, majordomo::ClientConfig{rig_.endpoint, timeout_, 1});
        std::string body = fmt::format("parcel-{}", next_++);
        auto r = client_->request("titanic.request", make_frames({"echo", body}));
        if (r.ok() && r.reply.size() == 2 && equals(r.reply[0], "200") && r.reply[1].size() == 32) {
            std::lock_guard lock(mutex_);
            acked_.emplace_back(r.reply[1].to_string(), body);
            ++count_;
            return true;
        }
        client_.reset();
        return false;
    }
    int count() const { return count_; }
    std::vector<std::pair<std::string, std::string>> acked() const {
        std::lock_guard lock(mutex_);
        return acked_;
    }

  private:
    Rig& rig_;
    Duration timeout_;
    std::unique_ptr<majordomo::Client> client_;
    int next_ = 0;
    std::atomic<int> count_{0};
    mutable std::mutex mutex_;
    std::vector<std::pair<std::string, std::string>> acked_;
};

void check_all_answered(Rig& rig, const std::vector<std::pair<std::string, std::string>>& acked) {
    for (const auto& [uuid, body] : acked) {
        CAPTURE(uuid);
        CHECK(rig.await_reply(uuid, 15s) == Strings{body});
    }
}

// Titanic dies at `point` of its `commit`-th commit; restarted, it must still hold all it acknowledged.
void crash_at(const std::string& point, int commit) {
    CAPTURE(point);
    CAPTURE(commit);
    Rig rig;
    rig.start_broker();
    rig.start_titanic({"--crash-at", point, "--crash-commit", std::to_string(commit)});
    Submitter submitter(rig, 1000ms);
    // One request at a time (one per commit) until Titanic dies.
    REQUIRE(eventually(
        [&] {
            submitter.submit_one();
            return !rig.titanic->running();
        },
        20s));
    REQUIRE(rig.titanic->wait_exit() == 3);  // crash_now()
    CHECK(submitter.count() == commit - 1);  // the commit that crashed acknowledged nothing

    rig.start_titanic();
    if (point == "torn-write")
        CHECK(rig.titanic->wait_for("dropping"));  // the half record, found and cut off
    REQUIRE(eventually([&] { return submitter.submit_one(); }, 10s));
    submitter.submit_one();
    auto worker = rig.start_worker("echo");
    check_all_answered(rig, submitter.acked());
}

}  // namespace

TEST_CASE("titanic crash: kill -9 at random moments while a client submits and a worker answers") {
    Rig rig;
    rig.start_broker();
    rig.start_titanic();
    auto worker = rig.start_worker("echo");
    Submitter submitter(rig, 500ms);
    std::atomic<bool> done{false};
    std::thread client([&] {
        while (!done) submitter.submit_one();
    });
    const auto seed = std::random_device{}();
    INFO("seed " << seed);
    std::mt19937 rng(seed);
    for (int kill = 0; kill < 5; ++kill) {
        const int target = submitter.count() + std::uniform_int_distribution<int>(1, 15)(rng);
        REQUIRE(eventually([&] { return submitter.count() >= target; }, 15s));
        // The kill instant itself, spread over what Titanic may be doing (storing, dispatching, replying).
        std::this_thread::sleep_for(
            std::chrono::microseconds(std::uniform_int_distribution<int>(0, 20000)(rng)));
        rig.titanic->kill9();
        rig.titanic->wait_exit();
        rig.start_titanic();
    }
    const int target = submitter.count() + 5;
    CHECK(eventually([&] { return submitter.count() >= target; }, 15s));
    done = true;
    client.join();
    auto acked = submitter.acked();
    MESSAGE(acked.size() << " requests acknowledged across 5 kills");
    check_all_answered(rig, acked);
}

TEST_CASE("titanic crash: torn write in the middle of a commit") {
    crash_at("torn-write", 1);
    crash_at("torn-write", 4);
}

TEST_CASE("titanic crash: after the write, before the fsync") {
    crash_at("before-fsync", 1);
    crash_at("before-fsync", 4);
}

TEST_CASE("titanic crash: after the fsync, before the acknowledgement") {
    crash_at("after-fsync", 1);
    crash_at("after-fsync", 4);
}
