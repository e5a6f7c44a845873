// bstarsrv --metrics: the state gauge and the fail-over counter follow a real fail-over.
#include <doctest/doctest.h>
#include <pirates/binary_star/client.hpp>

#include "pair.hpp"
#include "support/http.hpp"

using namespace pirates;
using namespace pirates::binary_star;
using namespace pirates::test;

TEST_CASE("bstarsrv --metrics: the backup's state gauge goes PASSIVE -> ACTIVE and counts one fail-over") {
    Pair pair({}, hb, {"--metrics", "127.0.0.1:0"});
    const auto port = url_port(pair.backup->bound_endpoint("metrics"));
    REQUIRE(port != 0);
    std::string text;
    CHECK(eventually([&] {
        text = http_get(port);
        return has_line(text, "bstarsrv_state{state=\"PASSIVE\"} 1");
    }));
    INFO(text);
    CHECK(has_line(text, "bstarsrv_state{state=\"ACTIVE\"} 0"));
    CHECK(has_line(text, "bstarsrv_active 0"));
    CHECK(has_line(text, "bstarsrv_failovers_total 0"));
    CHECK(has_line(text, "# TYPE bstarsrv_failovers_total counter"));

    pair.primary->kill9();
    Client client(pair.context, pair.client_config());
    auto r = client.request(std::string("after"));
    REQUIRE(r.ok());
    CHECK(r->server == 1);
    CHECK(eventually([&] {
        text = http_get(port);
        return has_line(text, "bstarsrv_failovers_total 1");
    }));
    CHECK(has_line(text, "bstarsrv_state{state=\"ACTIVE\"} 1"));
    CHECK(has_line(text, "bstarsrv_state{state=\"PASSIVE\"} 0"));
    CHECK(has_line(text, "bstarsrv_active 1"));
    CHECK(has_line(text, "bstarsrv_requests_served_total 1"));
}
