// Exhaustive edge inputs for the parsers at the edges (the class of bug a mutation audit found surviving: which
// characters a parser accepts). Each test tries every byte value, or every length, where a parser decides on
// one, and states the accepted set from docs/protocols.md (or the flag's documented form) in the test.
#include <doctest/doctest.h>
#include <pirates/binary_star/server_core.hpp>
#include <pirates/common/endpoint.hpp>
#include <pirates/majordomo/protocol.hpp>
#include <pirates/paranoid_pirate/protocol.hpp>
#include <pirates/titanic/uuid.hpp>

#include <fmt/format.h>

#include <string>
#include <vector>

using namespace pirates;

namespace {

Frames frames_of(const std::vector<std::string>& strings) {
    Frames f;
    for (const auto& s : strings) f.add(Frame(s.data(), s.size()));
    return f;
}

std::string byte(int b) {
    return std::string(1, static_cast<char>(b));
}

}  // namespace

TEST_CASE("edge: a Binary Star state is exactly one frame of one byte '1'..'4'") {
    for (int b = 0; b < 256; ++b) {
        const bool valid = b >= '1' && b <= '4';
        CAPTURE(b);
        CHECK(static_cast<bool>(binary_star::decode_state(frames_of({byte(b)}))) == valid);
        CHECK_FALSE(binary_star::decode_state(frames_of({byte(b), byte(b)})));  // two frames
        CHECK_FALSE(binary_star::decode_state(frames_of({"1" + byte(b)})));     // two bytes
    }
    CHECK_FALSE(binary_star::decode_state(frames_of({""})));
    CHECK_FALSE(binary_star::decode_state(Frames{}));
}

TEST_CASE(
    "edge: 6/PPP one-frame commands are exactly 0x01 READY and 0x02 HEARTBEAT (a queue sends only 0x02)") {
    using namespace paranoid_pirate;
    for (int b = 0; b < 256; ++b) {
        CAPTURE(b);
        auto from_worker = classify_from_worker(frames_of({byte(b)}));
        CHECK(static_cast<bool>(from_worker) == (b == 0x01 || b == 0x02));
        if (b == 0x01) CHECK(*from_worker == WorkerCommand::ready);
        if (b == 0x02) CHECK(*from_worker == WorkerCommand::heartbeat);
        auto from_queue = classify_from_queue(frames_of({byte(b)}));
        CHECK(static_cast<bool>(from_queue) == (b == 0x02));
        // A two-byte frame is never a command, whatever it starts with.
        CHECK_FALSE(classify_from_worker(frames_of({byte(b) + byte(b)})));
    }
    CHECK_FALSE(classify_from_worker(frames_of({""})));
    CHECK(classify_from_worker(frames_of({"client", "", "reply"})));
    CHECK_FALSE(classify_from_worker(frames_of({"client", ""})));  // no body
    CHECK_FALSE(classify_from_queue(frames_of({"client", "x"})));  // two frames
}

TEST_CASE("edge: an MDP 0.1 worker command is one of 0x01..0x05, each with exactly its own frames") {
    using majordomo::InboundKind;
    // The frames after the command byte, and for which command each shape is the valid one.
    struct Shape {
        std::vector<std::string> rest;
        int valid_for;  // the one command byte this shape is valid with
        InboundKind kind;
    };
    const std::vector<Shape> shapes{
        {{"echo"}, 0x01, InboundKind::ready},
        {{"client", "", "body"}, 0x03, InboundKind::reply},
        {{}, 0x04, InboundKind::heartbeat},
    };
    for (int b = 0; b < 256; ++b) {
        for (const auto& shape : shapes) {
            std::vector<std::string> m{"", "MDPW01", byte(b)};
            m.insert(m.end(), shape.rest.begin(), shape.rest.end());
            Frames f = frames_of(m);
            auto header = majordomo::decode_broker_header(f);
            CAPTURE(b);
            CAPTURE(shape.rest.size());
            const bool valid = b == shape.valid_for || (shape.rest.empty() && b == 0x05);
            CHECK(static_cast<bool>(header) == valid);
            if (header && b != 0x05) CHECK(header->kind == shape.kind);
        }
    }
}

TEST_CASE(
    "edge: an MDP header is exactly MDPC01/MDPW01 (or 0x02's MDPC02/MDPW02): every one-byte change is "
    "refused") {
    for (const std::string good : {"MDPC01", "MDPW01"}) {
        for (std::size_t at = 0; at < good.size(); ++at) {
            for (int b = 0; b < 256; ++b) {
                std::string header = good;
                header[at] = static_cast<char>(b);
                if (header == "MDPC01" || header == "MDPW01" || header == "MDPC02" || header == "MDPW02")
                    continue;
                CAPTURE(header);
                // A well-formed 0.1 client request / worker HEARTBEAT apart from the header.
                Frames f = good[3] == 'C' ? frames_of({"", header, "echo", "body"})
                                          : frames_of({"", header, "\x04"});
                CHECK_FALSE(majordomo::decode_broker_header(f));
            }
        }
    }
    // Lengths around six.
    CHECK_FALSE([] {
        Frames f = frames_of({"", "MDPC0", "echo", "body"});
        return static_cast<bool>(majordomo::decode_broker_header(f));
    }());
    CHECK_FALSE([] {
        Frames f = frames_of({"", "MDPC011", "echo", "body"});
        return static_cast<bool>(majordomo::decode_broker_header(f));
    }());
}

TEST_CASE("edge: a TSP UUID is exactly 32 hex digits, either case") {
    const std::string good = "0123456789ABCDEFabcdef0123456789";
    REQUIRE(titanic::Uuid::parse(good));
    for (std::size_t at = 0; at < good.size(); ++at) {
        for (int b = 0; b < 256; ++b) {
            std::string text = good;
            text[at] = static_cast<char>(b);
            const bool hex = (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
            CAPTURE(at);
            CAPTURE(b);
            CHECK(static_cast<bool>(titanic::Uuid::parse(text)) == hex);
        }
    }
    for (std::size_t length = 0; length <= 64; ++length)
        CHECK(static_cast<bool>(titanic::Uuid::parse(std::string(length, 'a'))) == (length == 32));
    // What it makes is what it reads back, in upper case.
    auto u = titanic::Uuid::parse("abcdefabcdefabcdefabcdefabcdefab");
    REQUIRE(u);
    CHECK(u->str() == "ABCDEFABCDEFABCDEFABCDEFABCDEFAB");
}

TEST_CASE("edge: a tcp endpoint's port is 1..65535 in decimal digits, or *") {
    for (int port = 0; port <= 70000; ++port)
        CHECK(valid_endpoint(fmt::format("tcp://127.0.0.1:{}", port)) == (port >= 1 && port <= 65535));
    for (int b = 0; b < 256; ++b) {
        CAPTURE(b);
        CHECK(valid_endpoint("tcp://127.0.0.1:" + byte(b)) == ((b >= '1' && b <= '9') || b == '*'));
        CHECK(valid_endpoint("tcp://127.0.0.1:55" + byte(b)) == (b >= '0' && b <= '9'));
    }
    CHECK_FALSE(valid_endpoint("tcp://127.0.0.1:00000"));
    CHECK(valid_endpoint("tcp://127.0.0.1:00001"));         // leading zeros still name a port
    CHECK_FALSE(valid_endpoint("tcp://127.0.0.1:000001"));  // but at most five digits
    CHECK_FALSE(valid_endpoint("tcp://:5555"));
    CHECK_FALSE(valid_endpoint("tcp://127.0.0.1:"));
    CHECK_FALSE(valid_endpoint("tcp://127.0.0.1"));
    CHECK_FALSE(valid_endpoint("tcp://[::1:5555"));
    CHECK(valid_endpoint("tcp://[::1]:5555"));
    CHECK_FALSE(valid_endpoint("ipc://"));
    CHECK_FALSE(valid_endpoint("inproc://"));
    CHECK_FALSE(valid_endpoint("udp://127.0.0.1:5555"));
    CHECK_FALSE(valid_endpoint("TCP://127.0.0.1:5555"));
}
