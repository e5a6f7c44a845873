#pragma once
// Readiness and stop notices to a service manager (systemd's Type=notify), through libsystemd's sd_notify().
// A program calls notify_ready() once its sockets are bound and it is about to serve, and notify_stopping()
// when it begins to stop (a signal arrived). With no NOTIFY_SOCKET in the environment (not run by systemd),
// or in a build without libsystemd (PIRATES_HAVE_SYSTEMD undefined), each call does nothing. Never throws;
// a notice that cannot be sent is ignored (the service manager's timeout says the rest).
#include <string_view>

namespace pirates {

void notify_ready();                     // READY=1
void notify_stopping();                  // STOPPING=1
void notify_status(std::string_view s);  // STATUS=<s> (one line, shown by systemctl status)
// True when this build sends notices (built with libsystemd).
bool notify_supported();

}  // namespace pirates
