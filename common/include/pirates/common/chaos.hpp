#pragma once
// Fault injection for the reference servers and workers, so that tests and demos can make them realistic:
//   --crash-after N   exit abruptly (no reply, no goodbye) on the request after the N-th
//   --hang-after N    stop answering and stop all traffic (heartbeats too) after N requests, staying alive
//   --slow-after N --delay-ms D   answer every request after the N-th D ms late
//   --drop-every K    never answer every K-th request
// 0 disables each one.
#include <pirates/common/cli.hpp>
#include <pirates/common/clock.hpp>
#include <pirates/common/stop.hpp>

namespace pirates {

struct Chaos {
    int crash_after = 0;
    int hang_after = 0;
    int slow_after = 0;
    Duration delay{0};
    int drop_every = 0;

    enum class Action { answer, delay_then_answer, drop, crash, hang };

    void add_flags(CommandLine& cli);
    // After parsing: flags that only work together (--slow-after needs --delay-ms); exits 2 otherwise.
    void check(const CommandLine& cli) const;
    // What to do with the n-th request (n counts from 1).
    Action on_request(long n) const;
};

// Exit at once, as a crash would: no destructors, no linger, no goodbye on the wire.
[[noreturn]] void crash_now();
// Stay alive and silent until a stop signal arrives, then exit 0.
[[noreturn]] void hang_until_stopped();
// The same for library objects, which never read the process-wide flag: until `stop` is requested (the
// object's request_stop(), which a program's StopSignalHook calls), then exit 0.
[[noreturn]] void hang_until_stopped(const StopSource& stop);

}  // namespace pirates
