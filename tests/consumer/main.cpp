// Links pirates::common, pirates::majordomo and pirates::titanic from the installed package (CMake package or
// pkg-config) and uses a little of each.
#include <pirates/common/backoff.hpp>
#include <pirates/common/frames.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/titanic/uuid.hpp>
#if __has_include(<pirates/version.hpp>)
#include <pirates/version.hpp>
#endif

#include <cstdio>

int main() {
    pirates::Frames m;
    m.addstr("hello");
    pirates::wrap(m, pirates::frame("client"));
    pirates::Backoff backoff({pirates::Duration{10}, pirates::Duration{40}, 0.0});
    auto first = backoff.next();
    auto heartbeat = pirates::majordomo::encode_heartbeat();
    auto uuid = pirates::titanic::Uuid::parse("0123456789abcdef0123456789ABCDEF");
    bool ok = m.size() == 3 && first.count() == 10 && heartbeat.size() >= 2 && uuid &&
              uuid->str() == "0123456789ABCDEF0123456789ABCDEF";
    std::printf("frames=%zu first-delay=%lldms heartbeat-frames=%zu uuid=%s\n", m.size(),
                static_cast<long long>(first.count()), heartbeat.size(), uuid ? uuid->str().c_str() : "-");
#ifdef PIRATES_VERSION_STRING
    std::printf("pirates %s\n", PIRATES_VERSION_STRING);
#endif
    return ok ? 0 : 1;
}
