#pragma once
// SIGINT/SIGTERM become a stop flag that reactors and blocking loops check. The handler only sets the flag;
// zmq calls interrupted by the signal return EINTR, which our loops treat as "check the flag".
namespace pirates {

void install_stop_signals();
bool stop_requested();
void request_stop();        // the same flag, set from code (tests, a fatal protocol state)
void clear_stop_request();  // for tests that stop and restart loops in one process

// Exit code of a client stopped by SIGINT/SIGTERM before all its requests were answered (128 + SIGINT, as a
// shell reports Ctrl-C): a clean stop, but not a success. Servers stopped by a signal exit 0.
inline constexpr int exit_interrupted = 130;

}  // namespace pirates
