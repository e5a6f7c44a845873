#include <doctest/doctest.h>
#include <pirates/common/frames.hpp>
#include <pirates/common/result.hpp>

#include "support/net.hpp"

using namespace pirates;
using pirates::test::make_frames;
using pirates::test::strings;

TEST_CASE("wrap puts the address and an empty delimiter in front") {
    Frames m = make_frames({"body"});
    wrap(m, frame("client-1"));
    CHECK(strings(m) == std::vector<std::string>{"client-1", "", "body"});
}

TEST_CASE("unwrap takes the address and the delimiter off") {
    Frames m = make_frames({"client-1", "", "a", "b"});
    auto address = unwrap(m);
    REQUIRE(address);
    CHECK(view(*address) == "client-1");
    CHECK(strings(m) == std::vector<std::string>{"a", "b"});
}

TEST_CASE("unwrap without a delimiter leaves the next frame alone") {
    Frames m = make_frames({"id", "body"});
    auto address = unwrap(m);
    REQUIRE(address);
    CHECK(view(*address) == "id");
    CHECK(strings(m) == std::vector<std::string>{"body"});
}

TEST_CASE("unwrap and pop_identity on an empty message are values, not crashes") {
    Frames m;
    CHECK_FALSE(unwrap(m).has_value());
    CHECK_FALSE(pop_identity(m).has_value());
    CHECK(pop_frame(m).size() == 0);
}

TEST_CASE("push and pop identity round trip, binary bytes intact") {
    Frames m = make_frames({"x"});
    const char raw[] = {'\0', '\x80', '\xff', 'A'};
    push_identity(m, Frame(raw, 4));
    auto id = pop_identity(m);
    REQUIRE(id);
    CHECK(id->size() == 4);
    CHECK(hex(view(*id)) == "0080FF41");
    CHECK(m.size() == 1);
}

TEST_CASE("byte frames and comparisons") {
    Frame ready = byte_frame(0x01);
    CHECK(is_byte(ready, 0x01));
    CHECK_FALSE(is_byte(ready, 0x02));
    CHECK_FALSE(is_byte(frame("\x01\x01"), 0x01));
    CHECK(equals(frame("MDPC01"), "MDPC01"));
    CHECK_FALSE(equals(frame("MDPC0"), "MDPC01"));
}

TEST_CASE("printable shows text as text and binary as hex, cut at a limit") {
    CHECK(printable(frame("hello")) == "\"hello\"");
    CHECK(printable(byte_frame(0x02)) == "0x02");
    CHECK(printable(frame(std::string(40, 'a')), 4) == "\"aaaa\"...");
    CHECK(printable(make_frames({"a", ""})) == "[\"a\" \"\"]");
}

namespace {
Result<int> parse_digit(std::string_view s) {
    if (s.size() != 1 || s[0] < '0' || s[0] > '9') return error("not a digit");
    return s[0] - '0';
}
}  // namespace

TEST_CASE("a Result carries a value or an error reason") {
    auto good = parse_digit("7");
    REQUIRE(good.ok());
    CHECK(*good == 7);
    auto bad = parse_digit("x7");
    CHECK_FALSE(bad.ok());
    CHECK(bad.error().reason == "not a digit");
}
