// Freelance server (models 1-3), what the server receives: decode_request() with one arbitrary message from its
// ROUTER (the client's identity first) under a model picked by the first byte. Checks the answer against the
// rules of docs/protocols.md: a model-3 PING is answered PONG; a model-3 request `sequence body...` gets
// `sequence OK`; models 1 and 2 keep the REP envelope (up to and including the empty delimiter); model 1 echoes
// the body, model 2 answers `sequence OK`; anything else is malformed and gets no reply. The reply always goes
// to the identity it came from.
#include "fuzz_input.hpp"

#include <pirates/freelance/server.hpp>

using namespace pirates;
using namespace pirates::freelance;
using Kind = DecodedRequest::Kind;

namespace {
const std::vector<std::string_view> tokens = {"PING", "PONG", "", "1", "OK", "client", "hello"};

std::vector<std::string> texts(const Frames& m) {
    std::vector<std::string> out;
    for (const auto& f : m) out.emplace_back(f.to_string_view());
    return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    const int model = 1 + in.byte() % 3;
    Frames m = in.message(tokens, 8);
    const auto sent = texts(m);
    auto decoded = decode_request(model, std::move(m));
    const auto reply = texts(decoded.reply);
    const std::string detail = printable(decoded.reply);

    if (decoded.kind == Kind::malformed) {
        FUZZ_CHECK(reply.empty() && !decoded.why.empty());
        FUZZ_CHECK(sent.size() < 2 || model != 3 || sent[1].empty());
        return 0;
    }
    FUZZ_CHECK(sent.size() >= 2 && !reply.empty() && reply[0] == sent[0]);
    if (decoded.kind == Kind::ping) {
        FUZZ_CHECK(model == 3 && sent.size() == 2 && sent[1] == "PING");
        FUZZ_CHECK_MSG(reply.size() == 2 && reply[1] == "PONG", detail);
        return 0;
    }
    if (model == 3) {
        FUZZ_CHECK(!(sent.size() == 2 && sent[1] == "PING"));
        FUZZ_CHECK_MSG(reply.size() == 3 && reply[1] == sent[1] && !reply[1].empty() && reply[2] == "OK",
                       detail);
        return 0;
    }
    // Models 1 and 2: the envelope is everything up to the first empty frame after the identity.
    std::size_t delimiter = 1;
    while (delimiter < sent.size() && !sent[delimiter].empty()) ++delimiter;
    FUZZ_CHECK(delimiter + 1 < sent.size());  // a delimiter and a body, or it was malformed
    for (std::size_t i = 0; i <= delimiter; ++i)
        FUZZ_CHECK_MSG(reply.size() > i && reply[i] == sent[i], detail);
    if (model == 1) {
        FUZZ_CHECK_MSG(reply == sent, detail);
    } else {
        FUZZ_CHECK_MSG(reply.size() == delimiter + 3 && reply[delimiter + 1] == sent[delimiter + 1] &&
                           reply[delimiter + 2] == "OK",
                       detail);
    }
    return 0;
}
