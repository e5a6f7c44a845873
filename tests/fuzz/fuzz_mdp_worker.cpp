// MDP, what a worker receives from the broker, in each framing (0.1, 0.2, majortomo): decode_worker_inbound
// on one arbitrary message; a REQUEST that decodes is re-headed (push_request_header) and must decode to the
// same client and body, and pop_request_header must take exactly that header off again.
#include "fuzz_input.hpp"

#include <pirates/majordomo/protocol.hpp>

using namespace pirates;
using namespace pirates::majordomo;

namespace {

const std::vector<std::string_view> tokens = {"",     "MDPW01", "MDPW02", "MDPC01", "\x01",    "\x02",
                                              "\x03", "\x04",   "\x05",   "\x06",   "client-1"};

bool same(const Frames& a, const Frames& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (view(a[i]) != view(b[i])) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    const Version v = static_cast<Version>(in.byte() % 3);
    Frames message = in.message(tokens, 16);
    auto r = decode_worker_inbound(std::move(message), v);
    if (!r) return 0;
    if (auto* req = std::get_if<BrokerRequest>(&r.value())) {
        FUZZ_CHECK(!req->body.empty());
        Frames again = share(req->body);
        push_request_header(again, frame(view(req->client)), v);
        Frames popped = share(again);
        Frame client = pop_request_header(popped, v);
        FUZZ_CHECK(view(client) == view(req->client) && same(popped, req->body));
        auto back = decode_worker_inbound(std::move(again), v);
        FUZZ_CHECK(back.ok());
        auto* req2 = std::get_if<BrokerRequest>(&back.value());
        FUZZ_CHECK(req2 && view(req2->client) == view(req->client) && same(req2->body, req->body));
    }
    return 0;
}
