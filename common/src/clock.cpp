#include <pirates/common/clock.hpp>

namespace pirates {

const ClockSource& steady_clock() {
    static const SteadyClock clock;
    return clock;
}

}  // namespace pirates
