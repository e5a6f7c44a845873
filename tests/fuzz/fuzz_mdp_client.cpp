// MDP, what a client receives from the broker: decode_client_reply (DEALER and REQ forms, 0.1) and
// decode_client_answer (each framing) on one arbitrary message, plus the async client's correlation frame.
// An answer that decodes is re-headed (push_client_reply_header) and must decode the same.
#include "fuzz_input.hpp"

#include <pirates/majordomo/protocol.hpp>

using namespace pirates;
using namespace pirates::majordomo;

namespace {

const std::vector<std::string_view> tokens = {
    "",     "MDPC01", "MDPC02", "MDPW01", "\x01",
    "\x02", "\x03",   "\x04",   "echo",   "\xFFPIRCID\x01\x00\x00\x00\x00\x00\x00\x00\x07"};

bool same(const Frames& a, const Frames& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (view(a[i]) != view(b[i])) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    const std::uint8_t mode = in.byte();
    Frames message = in.message(tokens, 16);
    for (const auto& f : message)
        if (is_correlation_frame(f)) FUZZ_CHECK(view(make_correlation_frame(correlation_id(f))) == view(f));

    if (mode % 4 == 3) {
        const bool delimited = mode & 0x10;
        auto r = decode_client_reply(std::move(message), delimited);
        if (r) FUZZ_CHECK(!r->body.empty());
        return 0;
    }
    const Version v = static_cast<Version>(mode % 4);
    auto r = decode_client_answer(std::move(message), v);
    if (!r) return 0;
    FUZZ_CHECK(!r->body.empty());
    FUZZ_CHECK(r->final || v != Version::v01);
    if (v == Version::v01 && !r->final) return 0;
    Frames again = share(r->body);
    push_client_reply_header(again, view(r->service), v, r->final);
    auto back = decode_client_answer(std::move(again), v);
    FUZZ_CHECK(back.ok() && back->final == r->final && same(back->body, r->body));
    FUZZ_CHECK(view(back->service) == view(r->service));
    return 0;
}
