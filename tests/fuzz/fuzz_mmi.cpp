// 8/MMI and our additions, the broker's mmi.* handling: a BrokerCore with services whose names come from the
// input (a worker for some, a queued request for others), then mmi.* requests with arbitrary bodies in each
// framing. Each must get exactly one reply, to the asking client, in the client's framing, for the service
// asked, with the body frames before the argument untouched and then a status code (200, 404 or 501);
// mmi.service must say 200 exactly for a service with a worker. No mmi request creates a service.
#include "fuzz_outbox.hpp"

#include <pirates/majordomo/broker_core.hpp>
#include <pirates/majordomo/protocol.hpp>

using namespace pirates;
using namespace pirates::majordomo;
using namespace std::chrono_literals;

namespace {
const std::vector<std::string_view> tokens = {"mmi.service",
                                              "mmi.workers",
                                              "mmi.services",
                                              "mmi.stats",
                                              "mmi.",
                                              "echo",
                                              "",
                                              "\xFFPIRCID\x01\x00\x00\x00\x00\x00\x00\x00\x01",
                                              "\"",
                                              "\\"};
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    BrokerCore core;
    fuzz::FuzzOutbox out;
    const TimePoint now = TimePoint{} + 1000h;
    // Up to 4 workers and 2 waiting requests, names from the input.
    const std::size_t workers = in.byte() % 5;
    for (std::size_t i = 0; i < workers; ++i) {
        Frames m = encode_ready(in.frame_text(tokens), static_cast<Version>(in.byte() % 3));
        m.push(frame("W" + std::to_string(i)));
        core.on_message(std::move(m), now, out);
    }
    const std::size_t waiting = in.byte() % 3;
    for (std::size_t i = 0; i < waiting; ++i) {
        Frames m = encode_client_request(Version::v01, in.frame_text(tokens), fuzz::frames_of({"x"}));
        m.push(frame("Q" + std::to_string(i)));
        core.on_message(std::move(m), now, out);
    }
    out.items.clear();
    const std::size_t services = core.service_count();

    while (!in.empty()) {
        const Version v = static_cast<Version>(in.byte() % 3);
        std::string service = in.frame_text(tokens);
        if (!is_mmi(service)) service = "mmi." + service;
        Frames body = in.message(tokens, 6);
        if (body.empty()) body.add(frame(""));
        Frames sent = share(body);
        std::string argument;
        if (!is_correlation_frame(sent.back())) argument = sent.remove().to_string();
        Frames m = encode_client_request(v, service, std::move(body));
        m.push(frame("client"));
        core.on_message(std::move(m), now, out);

        FUZZ_CHECK(out.items.size() == 1);
        Frames& reply = out.items[0].message;
        FUZZ_CHECK(view(reply.pop()) == "client");
        auto answer = decode_client_answer(std::move(reply), v);
        FUZZ_CHECK_MSG(answer.ok(), answer.ok() ? "" : answer.error().reason);
        FUZZ_CHECK(answer->final);
        if (v != Version::majortomo) FUZZ_CHECK(view(answer->service) == service);
        Frames& b = answer->body;
        FUZZ_CHECK(b.size() > sent.size());
        for (std::size_t i = 0; i < sent.size(); ++i) FUZZ_CHECK(view(b[i]) == view(sent[i]));
        const std::string_view code = view(b[sent.size()]);
        FUZZ_CHECK(code == "200" || code == "404" || code == "501");
        if (service == "mmi.service") {
            auto s = core.service(argument);
            FUZZ_CHECK((code == "200") == (s && s->workers > 0));
        }
        FUZZ_CHECK(core.service_count() == services);
        out.items.clear();
        const std::string bad = core.check_invariants();
        FUZZ_CHECK_MSG(bad.empty(), bad);
    }
    return 0;
}
