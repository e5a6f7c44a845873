#include "faults.hpp"

#include <pirates/common/log.hpp>

#include <csignal>

namespace pirates::soak {

const char* name(Fault f) {
    switch (f) {
        case Fault::kill_worker:
            return "kill-worker";
        case Fault::kill_titanic:
            return "kill-titanic";
        case Fault::kill_broker:
            return "kill-broker";
        case Fault::drop:
            return "drop";
        case Fault::cut:
            return "cut";
        case Fault::delay:
            return "delay";
    }
    return "?";
}

FaultSchedule::FaultSchedule(Topology& topology, std::uint64_t seed)
    : topology_(topology), rng_(seed), first_(between(1000, 5000)), heal_at_(topology.links().size()) {
    start();
}

void FaultSchedule::start() {
    next_ = Clock::now() + first_;
}

Duration FaultSchedule::between(int min_ms, int max_ms) {
    return Duration{std::uniform_int_distribution<int>(min_ms, max_ms)(rng_)};
}

void FaultSchedule::tick() {
    const auto now = Clock::now();
    auto links = topology_.links();
    for (std::size_t n = 0; n < links.size(); ++n) {
        if (heal_at_[n] != TimePoint{} && now >= heal_at_[n]) {
            links[n]->heal();
            heal_at_[n] = TimePoint{};
            log::debug("healed link {}", topology_.link_names()[n]);
        }
    }
    if (now < next_) return;
    inject(static_cast<Fault>(std::uniform_int_distribution<std::size_t>(0, fault_kinds - 1)(rng_)));
    next_ = Clock::now() + between(1000, 5000);
}

void FaultSchedule::inject(Fault f) {
    ++counts_[static_cast<std::size_t>(f)];
    switch (f) {
        case Fault::kill_worker: {
            auto workers = topology_.workers();
            auto* w = workers[std::uniform_int_distribution<std::size_t>(0, workers.size() - 1)(rng_)];
            log::info("fault: SIGKILL {} and restart it", w->label);
            topology_.restart(*w, SIGKILL);
            return;
        }
        case Fault::kill_titanic:
            log::info("fault: SIGKILL titanic and restart it");
            topology_.restart(topology_.titanic(), SIGKILL);
            return;
        case Fault::kill_broker: {
            const int sig = rng_() % 2 ? SIGKILL : SIGTERM;
            log::info("fault: {} mdbroker and restart it", sig == SIGKILL ? "SIGKILL" : "SIGTERM");
            topology_.restart(topology_.broker(), sig);
            return;
        }
        case Fault::drop:
        case Fault::cut:
        case Fault::delay:
            break;
    }
    auto links = topology_.links();
    const auto n = std::uniform_int_distribution<std::size_t>(0, links.size() - 1)(rng_);
    auto& link = *links[n];
    link.heal();  // a fault still on that link ends here
    Duration lasts{0};
    if (f == Fault::drop) {
        lasts = between(500, 3000);
        link.drop();
    } else if (f == Fault::cut) {
        lasts = between(500, 3000);
        link.cut(true);
    } else {
        lasts = between(1000, 4000);
        const auto by = between(100, 500);
        link.delay(by);
        log::info("fault: delay link {} by {} ms for {} ms", topology_.link_names()[n], by.count(),
                  lasts.count());
    }
    if (f != Fault::delay)
        log::info("fault: {} link {} for {} ms", name(f), topology_.link_names()[n], lasts.count());
    heal_at_[n] = Clock::now() + lasts;
}

void FaultSchedule::heal_all() {
    topology_.heal_links();
    std::fill(heal_at_.begin(), heal_at_.end(), TimePoint{});
}

}  // namespace pirates::soak
