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
