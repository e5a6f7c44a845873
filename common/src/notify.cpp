#include <pirates/common/notify.hpp>

#include <string>

#ifdef PIRATES_HAVE_SYSTEMD
#include <systemd/sd-daemon.h>
#endif

namespace pirates {

namespace {
void send([[maybe_unused]] const std::string& state) {
#ifdef PIRATES_HAVE_SYSTEMD
    // unset_environment 0: NOTIFY_SOCKET stays, so that STOPPING=1 after READY=1 reaches the manager too.
    (void)sd_notify(0, state.c_str());
#endif
}
}  // namespace

void notify_ready() {
    send("READY=1");
}

void notify_stopping() {
    send("STOPPING=1");
}

void notify_status(std::string_view s) {
    std::string line = "STATUS=";
    for (char c : s) line += (c == '\n') ? ' ' : c;
    send(line);
}

bool notify_supported() {
#ifdef PIRATES_HAVE_SYSTEMD
    return true;
#else
    return false;
#endif
}

}  // namespace pirates
