// Links pirates::common from the installed package and uses a little of it.
#include <pirates/common/backoff.hpp>
#include <pirates/common/frames.hpp>

#include <cstdio>

int main() {
    pirates::Frames m;
    m.addstr("hello");
    pirates::wrap(m, pirates::frame("client"));
    pirates::Backoff backoff({pirates::Duration{10}, pirates::Duration{40}, 0.0});
    auto first = backoff.next();
    std::printf("frames=%zu first-delay=%lldms\n", m.size(), static_cast<long long>(first.count()));
    return (m.size() == 3 && first.count() == 10) ? 0 : 1;
}
