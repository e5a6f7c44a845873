// Prometheus metrics: the text format, mdbroker's /metrics after N requests (counters and per-service gauges),
// scrapes during a request flood, and mdbroker's --metrics flag.
#include <doctest/doctest.h>
#include <pirates/common/metrics.hpp>
#include <pirates/majordomo/broker.hpp>
#include <pirates/majordomo/broker_metrics.hpp>
#include <pirates/majordomo/client.hpp>
#include <pirates/majordomo/worker.hpp>

#include "support/http.hpp"
#include "support/net.hpp"
#include "support/process.hpp"

#include <atomic>
#include <csignal>
#include <thread>

using namespace pirates;
using namespace pirates::majordomo;
using namespace pirates::test;
using namespace std::chrono_literals;

namespace {

// A broker with a metrics exporter, run on its own thread.
struct Running {
    zmq::context_t context;
    BrokerOptions options;
    std::unique_ptr<Broker> broker;
    std::unique_ptr<metrics::Exporter> exporter;
    std::thread thread;
    Running() {
        options.bind = "tcp://127.0.0.1:*";
        options.core.heartbeat = 50ms;
        broker = std::make_unique<Broker>(context, options);
        exporter = serve_metrics(*broker, "127.0.0.1:0", 10ms);
        thread = std::thread([this] { broker->run(); });
    }
    ~Running() {
        broker->request_stop();
        thread.join();
    }
};

}  // namespace

TEST_CASE(
    "metrics: the Prometheus text format - HELP and TYPE once per family, with labels escaped, histogram") {
    metrics::MetricsText m;
    m.counter("x_requests_total", "requests", 3);
    m.gauge("x_queued", "queued \\ per service", 2, {{"service", "a\"b"}});
    m.gauge("x_queued", "queued \\ per service", 0, {{"service", "c"}});
    Histogram h;
    h.observe(0.003);
    h.observe(0.2);
    m.histogram("x_duration_seconds", "duration", h);
    const std::string& t = m.text();
    CHECK(has_line(t, "# HELP x_requests_total requests"));
    CHECK(has_line(t, "# TYPE x_requests_total counter"));
    CHECK(has_line(t, "x_requests_total 3"));
    CHECK(has_line(t, "# HELP x_queued queued \\\\ per service"));
    CHECK(has_line(t, "x_queued{service=\"a\\\"b\"} 2"));
    CHECK(has_line(t, "x_queued{service=\"c\"} 0"));
    CHECK(t.find("# TYPE x_queued gauge") == t.rfind("# TYPE x_queued gauge"));
    CHECK(has_line(t, "# TYPE x_duration_seconds histogram"));
    CHECK(has_line(t, "x_duration_seconds_bucket{le=\"0.005\"} 1"));
    CHECK(has_line(t, "x_duration_seconds_bucket{le=\"0.1\"} 1"));
    CHECK(has_line(t, "x_duration_seconds_bucket{le=\"0.25\"} 2"));
    CHECK(has_line(t, "x_duration_seconds_bucket{le=\"+Inf\"} 2"));
    CHECK(has_line(t, "x_duration_seconds_count 2"));
}

TEST_CASE("metrics: an embedded broker's /metrics counts its requests and replies and shows each service") {
    Running r;
    REQUIRE(r.exporter->port() != 0);
    WorkerOptions wo;
    wo.connect = r.broker->endpoint();
    wo.service = "echo";
    wo.heartbeat = 50ms;
    Worker worker(r.context, wo);
    std::thread worker_thread([&] { worker.run([](Frames&& body) { return std::move(body); }); });

    constexpr int n = 7;
    Client client(r.context, ClientOptions{r.broker->endpoint(), 2000ms, 3});
    for (int i = 0; i < n; ++i) REQUIRE(client.request("echo", make_frames({"x"})).ok());
    // Two requests for a service nobody serves stay queued (sent raw, so nothing retries them).
    zmq::socket_t raw(r.context, zmq::socket_type::dealer);
    raw.connect(r.broker->endpoint());
    for (int i = 0; i < 2; ++i) make_frames({"", "MDPC01", "nobody", "y"}).send(raw);

    std::string text;
    CHECK(eventually([&] {
        text = http_get(r.exporter->port());
        return has_line(text, "mdbroker_requests_total " + std::to_string(n + 2)) &&
               has_line(text, "mdbroker_service_queued{service=\"nobody\"} 2");
    }));
    INFO(text);
    CHECK(text.starts_with("HTTP/1.1 200 OK\r\n"));
    CHECK(text.find("Content-Type: text/plain; version=0.0.4") != std::string::npos);
    CHECK(has_line(text, "mdbroker_replies_total " + std::to_string(n)));
    CHECK(has_line(text, "mdbroker_malformed_total 0"));
    CHECK(has_line(text, "mdbroker_workers 1"));
    CHECK(has_line(text, "mdbroker_queued_requests 2"));
    CHECK(has_line(text, "mdbroker_service_workers{service=\"echo\"} 1"));
    CHECK(has_line(text, "mdbroker_service_workers{service=\"nobody\"} 0"));
    CHECK(has_line(text, "mdbroker_service_queued{service=\"echo\"} 0"));
    CHECK(has_line(text, "# TYPE mdbroker_requests_total counter"));
    CHECK(has_line(text, "# TYPE mdbroker_service_queued gauge"));
    // Per-service counters and the request-duration histogram: one observation per answered request.
    CHECK(has_line(text, "mdbroker_service_requests_total{service=\"echo\"} " + std::to_string(n)));
    CHECK(has_line(text, "mdbroker_service_replies_total{service=\"echo\"} " + std::to_string(n)));
    CHECK(has_line(text, "mdbroker_service_requests_total{service=\"nobody\"} 2"));
    CHECK(has_line(text, "# TYPE mdbroker_request_duration_seconds histogram"));
    CHECK(has_line(text, "mdbroker_request_duration_seconds_count " + std::to_string(n)));
    CHECK(has_line(text, "mdbroker_request_duration_seconds_bucket{le=\"+Inf\"} " + std::to_string(n)));

    // Anything but GET /metrics is answered and dropped, and the exporter goes on serving.
    CHECK(http_get(r.exporter->port(), "/other").starts_with("HTTP/1.1 404"));
    CHECK(http_get(r.exporter->port()).starts_with("HTTP/1.1 200"));

    worker.request_stop();
    worker_thread.join();
}

TEST_CASE("metrics: scraping in a loop during a request flood neither fails nor stalls the flood") {
    Running r;
    WorkerOptions wo;
    wo.connect = r.broker->endpoint();
    wo.service = "echo";
    wo.heartbeat = 50ms;
    Worker worker(r.context, wo);
    std::thread worker_thread([&] { worker.run([](Frames&& body) { return std::move(body); }); });

    std::atomic<bool> flooding{true};
    std::atomic<int> scrapes{0}, failed{0};
    std::thread scraper([&] {
        while (flooding.load()) {
            const std::string t = http_get(r.exporter->port());
            if (t.starts_with("HTTP/1.1 200") && t.find("mdbroker_requests_total") != std::string::npos)
                ++scrapes;
            else
                ++failed;
        }
    });
    constexpr int n = 2000;
    int ok = 0;
    Client client(r.context, ClientOptions{r.broker->endpoint(), 2000ms, 3});
    for (int i = 0; i < n; ++i) ok += client.request("echo", make_frames({"flood"})).ok() ? 1 : 0;
    // A few scrapes more once the flood is over, so the loop surely ran during it too.
    const int before = scrapes.load();
    CHECK(eventually([&] { return scrapes.load() >= before + 3; }));
    flooding = false;
    scraper.join();
    CHECK(ok == n);
    CHECK(failed.load() == 0);
    CHECK(scrapes.load() > 3);
    CHECK(eventually([&] {
        return has_line(http_get(r.exporter->port()), "mdbroker_replies_total " + std::to_string(n));
    }));
    worker.request_stop();
    worker_thread.join();
}

TEST_CASE(
    "mdbroker --metrics 127.0.0.1:0 logs the bound URL and serves /metrics, and a bad address exits 2") {
    Process broker("mdbroker",
                   {"--bind", "tcp://127.0.0.1:*", "--metrics", "127.0.0.1:0", "--log-format", "json"});
    const std::string url = broker.bound_endpoint("metrics");
    REQUIRE(url.starts_with("http://127.0.0.1:"));
    const auto port = url_port(url);
    std::string text;
    CHECK(eventually([&] {
        text = http_get(port);
        return has_line(text, "mdbroker_workers 0");
    }));
    CHECK(broker.output().find("{\"time\":\"") != std::string::npos);
    broker.signal(SIGTERM);
    CHECK(broker.wait_exit() == 0);

    Process bad("mdbroker", {"--metrics", "nowhere"});
    CHECK(bad.wait_exit() == 2);
    Process bad_format("mdbroker", {"--log-format", "xml"});
    CHECK(bad_format.wait_exit() == 2);
}
