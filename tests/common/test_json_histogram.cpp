#include <doctest/doctest.h>
#include <pirates/common/histogram.hpp>
#include <pirates/common/json.hpp>

#include <chrono>
#include <limits>

using namespace pirates;

TEST_CASE("json: nested objects and arrays, commas only between members, strings escaped") {
    JsonWriter j;
    j.begin_object()
        .key("a")
        .value(1)
        .key("s")
        .value("q\"b\\n\n\x01\xc3\xa9")
        .key("list")
        .begin_array()
        .value(true)
        .null()
        .begin_object()
        .key("x")
        .value(std::uint64_t{18446744073709551615u})
        .end_object()
        .end_array()
        .key("empty")
        .begin_object()
        .end_object()
        .key("nan")
        .value(std::numeric_limits<double>::quiet_NaN())
        .end_object();
    CHECK(
        j.str() ==
        "{\"a\":1,\"s\":\"q\\\"b\\\\n\\n\\u0001\xc3\xa9\",\"list\":[true,null,{\"x\":18446744073709551615}],"
        "\"empty\":{},\"nan\":null}");
}

TEST_CASE("histogram: each observation in its bucket, cumulative counts, count and sum") {
    Histogram h;
    h.observe(std::chrono::microseconds(200));  // 0.0002 s: first bucket
    h.observe(0.005);                           // on a bound: that bucket
    h.observe(std::chrono::milliseconds(30));   // 0.03: the 0.05 bucket
    h.observe(60.0);                            // over every bound: only in count (+Inf)
    CHECK(h.count == 4);
    CHECK(h.sum == doctest::Approx(60.0352));
    CHECK(h.buckets[0] == 2);
    CHECK(h.cumulative(2) == 2);
    CHECK(h.cumulative(3) == 3);
    CHECK(h.cumulative(Histogram::bounds.size() - 1) == 3);
}

TEST_CASE("parse_json reads what JsonWriter writes, and refuses what is not JSON") {
    JsonWriter j;
    j.begin_object()
        .key("n")
        .value(std::uint64_t{12})
        .key("s")
        .value("a\"b\\c\n\x01")
        .key("a")
        .begin_array()
        .value(true)
        .null()
        .value(-2.5)
        .end_array()
        .key("o")
        .begin_object()
        .end_object()
        .end_object();
    auto v = parse_json(j.str());
    REQUIRE(v);
    REQUIRE(v->object());
    CHECK(v->object()->size() == 4);
    REQUIRE(v->find("n"));
    CHECK(*v->find("n")->number() == 12);
    CHECK(*v->find("s")->string() == "a\"b\\c\n\x01");
    const auto* a = v->find("a")->array();
    REQUIRE(a);
    REQUIRE(a->size() == 3);
    CHECK(std::get<bool>((*a)[0].value));
    CHECK((*a)[1].is_null());
    CHECK(*(*a)[2].number() == -2.5);
    CHECK(v->find("o")->object()->empty());
    CHECK(v->find("missing") == nullptr);

    auto u = parse_json(" [\"\\u00e9\\ud83d\\ude00\\/\", 1e3, 0] ");
    REQUIRE(u);
    CHECK(*(*u->array())[0].string() == "\xc3\xa9\xf0\x9f\x98\x80/");
    CHECK(*(*u->array())[1].number() == 1000);

    for (const char* bad : {"", "{", "[1,]", "{\"a\" 1}", "01", "1.", "-", "\"abc", "tru", "[1] 2",
                            "{\"a\":}", "\"\\x\"", "\"\\ud800\"", "nul", "\"a\nb\""})
        CHECK_MESSAGE(!parse_json(bad), bad);
    std::string deep(100, '[');
    deep += std::string(100, ']');
    CHECK(!parse_json(deep));  // nesting bound
}
