// FLP (Freelance model 3), what the client receives: RouterClientCore::on_message with one arbitrary message
// from a known or unknown server, with or without a request in flight. Only a PONG or the in-flight sequence
// (decimal) may count as heard; only the exact sequence completes the request, with the frames after it.
#include "fuzz_input.hpp"

#include <pirates/freelance/router.hpp>

using namespace pirates;
using namespace pirates::freelance;
using namespace std::chrono_literals;

namespace {
const std::vector<std::string_view> tokens = {"PONG", "PING", "1",  "2",
                                              "OK",   "",     "01", "18446744073709551616"};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    TimePoint now = TimePoint{} + 1000h;
    RouterClientCore core(RouterOptions{}, now);
    core.connect("tcp://a:1", now);
    core.connect("tcp://b:2", now);
    const std::uint8_t mode = in.byte();
    // Both servers answer a ping, so that a request can go out.
    core.on_message("tcp://a:1", fuzz::frames_of({"PONG"}), now);
    core.on_message("tcp://b:2", fuzz::frames_of({"PONG"}), now);
    if (mode & 1) FUZZ_CHECK(core.request(fuzz::frames_of({"body"}), now).ok());
    (void)core.take_outgoing();
    const auto before = core.stats();
    const std::string_view from = (mode & 2) ? "tcp://a:1" : ((mode & 4) ? "tcp://b:2" : "tcp://c:3");
    Frames m = in.message(tokens, 6);
    const bool is_sequence = !m.empty() && view(m[0]) == "1" && m.size() >= 1;
    Frames copy = share(m);
    core.on_message(from, std::move(m), now);
    const auto& after = core.stats();
    FUZZ_CHECK(after.answers + after.pongs + after.stale + after.malformed + after.unknown ==
               before.answers + before.pongs + before.stale + before.malformed + before.unknown + 1);
    auto done = core.take_completion();
    if (done) {
        FUZZ_CHECK((mode & 1) && is_sequence && from != "tcp://c:3");
        FUZZ_CHECK(done->sequence == 1 && !core.busy());
    } else if ((mode & 1) && is_sequence && from != "tcp://c:3") {
        FUZZ_CHECK_MSG(false, "the in-flight sequence did not complete the request: " + printable(copy));
    }
    return 0;
}
