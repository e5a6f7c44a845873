// MDP, what the broker receives (clients and workers, 0.1, 0.2 and majortomo framings): decode_broker_header,
// decode_broker_inbound and is_ready_command on one arbitrary message. Checks that the three agree, and that
// what decodes re-encodes (with the encoders of the version it was decoded as) to a message that decodes to
// the same thing.
#include "fuzz_input.hpp"

#include <pirates/majordomo/protocol.hpp>

using namespace pirates;
using namespace pirates::majordomo;

namespace {

const std::vector<std::string_view> tokens = {"",     "MDPC01", "MDPW01",      "MDPC02",  "MDPW02",
                                              "\x01", "\x02",   "\x03",        "\x04",    "\x05",
                                              "\x06", "echo",   "mmi.service", "client-1"};

bool same(const Frames& a, const Frames& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (view(a[i]) != view(b[i])) return false;
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    Frames message = in.message(tokens, 16);

    Frames routed = share(message);
    routed.push(frame("identity"));
    const bool ready_seen = is_ready_command(routed);

    Frames for_inbound = share(message);
    auto inbound = decode_broker_inbound(std::move(for_inbound));
    auto header = decode_broker_header(message);  // leaves the body in `message`
    FUZZ_CHECK(header.ok() == inbound.ok());
    if (!header) return 0;
    const BrokerHeader& h = header.value();
    const Version v = h.version;
    if (h.kind == InboundKind::ready) FUZZ_CHECK(ready_seen);

    switch (h.kind) {
        case InboundKind::client_request: {
            FUZZ_CHECK(std::holds_alternative<ClientRequest>(inbound.value()));
            FUZZ_CHECK(h.name.size() > 0 && !message.empty());
            auto again = encode_client_request(v, view(h.name), share(message));
            auto back = decode_broker_header(again);
            FUZZ_CHECK(back.ok() && back->kind == InboundKind::client_request && back->version == v);
            FUZZ_CHECK(view(back->name) == view(h.name) && same(again, message));
            break;
        }
        case InboundKind::ready: {
            FUZZ_CHECK(message.empty());
            auto again = encode_ready(view(h.name), v);
            auto back = decode_broker_header(again);
            FUZZ_CHECK(back.ok() && back->kind == InboundKind::ready && view(back->name) == view(h.name));
            FUZZ_CHECK(back->version == v);
            break;
        }
        case InboundKind::reply:
        case InboundKind::partial: {
            FUZZ_CHECK(h.kind == InboundKind::reply || v != Version::v01);
            FUZZ_CHECK(!message.empty());
            auto again = encode_reply(frame(view(h.name)), share(message), v, h.kind == InboundKind::reply);
            auto back = decode_broker_header(again);
            FUZZ_CHECK(back.ok() && back->kind == h.kind && view(back->name) == view(h.name));
            FUZZ_CHECK(back->version == v && same(again, message));
            break;
        }
        case InboundKind::heartbeat:
        case InboundKind::disconnect: {
            FUZZ_CHECK(message.empty());
            auto again = h.kind == InboundKind::heartbeat ? encode_heartbeat(v) : encode_disconnect(v);
            auto back = decode_broker_header(again);
            FUZZ_CHECK(back.ok() && back->kind == h.kind && back->version == v);
            break;
        }
    }
    return 0;
}
