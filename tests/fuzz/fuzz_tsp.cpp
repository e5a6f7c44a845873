// 9/TSP, what Titanic's three services receive: one titanic.request, titanic.reply or titanic.close with an
// arbitrary body, on a core whose store holds one pending and one answered request (their UUIDs are tokens,
// so the fuzzer reaches the known-UUID paths). Each call gets exactly one answer (after the commit, for what
// is staged), whose first frame is a TSP status code; "200" to a request is followed by a UUID that the store
// knows.
#include "fuzz_input.hpp"
#include "titanic_fixture.hpp"

#include <pirates/titanic/core.hpp>

using namespace pirates;
using namespace pirates::titanic;
using namespace std::chrono_literals;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    fuzz::scratch().clear();
    auto store = fuzz::open_store();
    FUZZ_CHECK(store != nullptr);
    const Uuid pending = store->stage_request(fuzz::frames_of({"echo", "hello"}));
    const Uuid answered = store->stage_request(fuzz::frames_of({"echo", "again"}));
    FUZZ_CHECK(store->commit().ok());
    store->stage_reply(answered, fuzz::frames_of({"world"}));
    FUZZ_CHECK(store->commit().ok());
    const std::string p = pending.str(), a = answered.str();
    std::string lower = a;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    const std::vector<std::string_view> tokens = {p, a, lower, "echo", "", "mmi.service"};

    TitanicCore core(*store, DispatchPolicy{}, 1);
    core.set_max_open(3 + (in.byte() & 1));
    TimePoint now = TimePoint{} + 1000h;
    std::size_t steps = 0;
    while (!in.empty() && steps++ < 64) {
        const std::uint8_t op = in.byte();
        Frames body = in.message(tokens, 6);
        std::vector<Answer> out;
        const Handle h = steps;
        switch (op % 3) {
            case 0:
                core.request(h, std::move(body), out);
                break;
            case 1:
                core.reply(h, std::move(body), out);
                break;
            case 2:
                core.close(h, std::move(body), out);
                break;
        }
        core.commit(now, out);
        FUZZ_CHECK(out.size() == 1 && out[0].to == h && !out[0].body.empty());
        const std::string_view code = view(out[0].body[0]);
        FUZZ_CHECK_MSG(code == status::ok || code == status::pending || code == status::unknown ||
                           code == status::failure,
                       std::string(code));
        if (op % 3 == 0 && code == status::ok) {
            FUZZ_CHECK(out[0].body.size() == 2);
            auto id = Uuid::parse(view(out[0].body[1]));
            FUZZ_CHECK(id && store->state(*id) == RequestState::pending);
        }
        if (op % 3 != 1) FUZZ_CHECK(out[0].body.size() <= 2);
        FUZZ_CHECK(core.open_requests() <= core.max_open() || core.open_requests() <= 2);
        const std::string bad = core.check_invariants();
        FUZZ_CHECK_MSG(bad.empty(), bad);
    }
    return 0;
}
