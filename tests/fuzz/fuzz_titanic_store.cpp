// Titanic's store recovery from arbitrary file bytes: the input becomes titanic.log in a scratch store
// directory, then Store::open replays it. Either as raw bytes, or (so that the fuzzer gets past the
// checksums) as the header and a list of record bodies the target frames itself with correct lengths and
// CRC-32C. Recovery must never crash; what it accepts must be consistent (answered <= open, every pending
// request readable or reported unreadable, a service for each); the store must then take a new request, and
// a second recovery must find exactly what the first left plus that request.
#include "fuzz_input.hpp"
#include "titanic_fixture.hpp"

#include "detail/crc32c.hpp"  // titanic/src/detail: the store's own checksum

#include <pirates/titanic/store.hpp>

#include <fcntl.h>
#include <unistd.h>

using namespace pirates;
using namespace pirates::titanic;

namespace {

void put32(std::string& s, std::uint32_t v) {
    for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>(v >> (8 * i)));
}

std::string log_bytes(fuzz::FuzzInput& in) {
    const std::uint8_t mode = in.byte();
    if ((mode & 1) == 0) return std::string(in.rest());
    std::string file = "TSPLOG01";
    while (!in.empty()) {
        const std::size_t len = in.u16() % 2048;
        std::string body(in.bytes(len));
        std::string head;
        put32(head, static_cast<std::uint32_t>(body.size()));
        std::uint32_t crc = crc32c(body.data(), body.size(), crc32c(head.data(), 4));
        if (mode & 2) crc ^= in.byte();  // sometimes a bad checksum
        put32(head, crc);
        file += head;
        file += body;
    }
    if (mode & 4) file.resize(file.size() - std::min<std::size_t>(file.size(), mode >> 4));  // a torn tail
    return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    fuzz::FuzzInput in(data, size);
    fuzz::scratch().clear();
    const std::string bytes = log_bytes(in);
    {
        int fd = ::open(fuzz::scratch().sub("titanic.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
        FUZZ_CHECK(fd >= 0);
        FUZZ_CHECK(::write(fd, bytes.data(), bytes.size()) == static_cast<long>(bytes.size()));
        ::close(fd);
    }
    auto store = fuzz::open_store(size % 2 ? 64 : 1 << 20);
    if (!store) {
        // Only a bad header is refused; anything after a good header is recovered (cut at the first bad record).
        FUZZ_CHECK(bytes.size() < 8 || bytes.compare(0, 8, "TSPLOG01") != 0);
        return 0;
    }
    const StoreStats s = store->stats();
    FUZZ_CHECK(s.answered <= s.open);
    const auto pending = store->pending_in_order();
    FUZZ_CHECK(pending.size() == s.open - s.answered);
    for (const auto& id : pending) {
        FUZZ_CHECK(store->state(id) == RequestState::pending && store->service(id) != nullptr);
        auto r = store->read_request(id);
        if (r) FUZZ_CHECK(r->size() >= 1 && view((*r)[0]) == *store->service(id));
    }
    const Uuid fresh = store->stage_request(fuzz::frames_of({"svc", "body"}));
    FUZZ_CHECK(store->commit().ok());
    store.reset();
    auto again = fuzz::open_store();
    FUZZ_CHECK(again != nullptr);
    FUZZ_CHECK(again->state(fresh) == RequestState::pending);
    const StoreStats s2 = again->stats();
    FUZZ_CHECK(s2.open == s.open + 1 && s2.answered == s.answered);
    FUZZ_CHECK(s2.torn_bytes == 0);
    for (const auto& id : pending) FUZZ_CHECK(again->state(id) == RequestState::pending);
    return 0;
}
