#pragma once
// Prometheus metrics: a text-format builder and a tiny HTTP exporter that serves `GET /metrics`.
//
// The exporter is embedded (plain POSIX sockets, one thread) rather than prometheus-cpp: it needs no extra
// package, binds port 0 (OS-chosen) so tests never use a fixed port, and serves one pre-rendered text that
// the owning driver publishes. Nothing on the HTTP thread ever reads a core: the driver's own thread renders
// its stats() into text (MetricsText) on a Reactor timer and hands the string over with publish(); a scrape
// copies the last published text under a mutex. A slow or silent scraper holds the HTTP thread (bounded by a
// receive timeout), never the message loop.
//
// Names follow Prometheus: `<program>_<what>`, counters end in `_total`, durations in `_seconds`.
#include <pirates/common/clock.hpp>
#include <pirates/common/histogram.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

namespace pirates::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Builds the Prometheus text exposition format (version 0.0.4). Each family's HELP and TYPE lines are
// written once, before its first sample; samples of one family must be added one after the other.
class MetricsText {
  public:
    void counter(std::string_view name, std::string_view help, double value, const Labels& labels = {});
    void gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
    // `name` without a suffix: writes name_bucket{le=..}, name_sum, name_count.
    void histogram(std::string_view name, std::string_view help, const Histogram& h,
                   const Labels& labels = {});
    const std::string& text() const { return out_; }
    std::string take() { return std::move(out_); }

  private:
    void family(std::string_view name, std::string_view help, std::string_view type);
    void sample(std::string_view name, std::string_view suffix, const Labels& labels, double value,
                std::string_view extra_label = {}, std::string_view extra_value = {});
    std::string out_;
    std::string last_family_;
};

// Serves the last published text on http://HOST:PORT/metrics from its own thread. Binds in the constructor
// (throws BindError when it cannot) and logs "bound metrics http://HOST:PORT" with the port actually bound
// (PORT 0 picks a free one). Stops and joins in the destructor.
class Exporter {
  public:
    // `address` is HOST:PORT: an IPv4 address, a name, `*` (every interface) or [IPv6]:PORT.
    explicit Exporter(const std::string& address);
    ~Exporter();
    Exporter(const Exporter&) = delete;
    Exporter& operator=(const Exporter&) = delete;
    // Thread-safe: replaces the text every later scrape gets.
    void publish(std::string text);
    // Samples that do not come from the driver (e.g. a ZapHandler's denials, owned by main): `source` renders
    // its families at each scrape, after the published text, on the HTTP thread. So it may read only what is
    // safe from any thread (atomics) and must outlive the exporter. Thread-safe.
    using Source = std::function<void(MetricsText&)>;
    void add_source(Source source);
    // "http://HOST:PORT" as bound.
    const std::string& url() const { return url_; }
    std::uint16_t port() const { return port_; }
    // Scrapes answered so far.
    std::uint64_t scrapes() const { return scrapes_.load(std::memory_order_relaxed); }

  private:
    void serve();
    void answer(int fd);
    int listener_ = -1;
    std::uint16_t port_ = 0;
    std::string url_;
    std::mutex mutex_;
    std::string text_;
    std::vector<Source> sources_;
    std::atomic<bool> stop_{false};
    std::atomic<std::uint64_t> scrapes_{0};
    std::thread thread_;
};

// The one way every driver is exposed: binds an Exporter at `address`, publishes render(driver) at once and
// then every `interval` from the driver's own loop (driver.every(interval, fn) runs fn on the loop's thread,
// where reading the core is safe). Call before the driver's run(), from its thread; the exporter must outlive
// run(). Each module wraps it as serve_metrics(driver, address).
template <class Driver, class Render>
std::unique_ptr<Exporter> serve(Driver& driver, const std::string& address, Duration interval,
                                Render render) {
    auto exporter = std::make_unique<Exporter>(address);
    exporter->publish(render(driver));
    Exporter* target = exporter.get();
    driver.every(interval, [&driver, target, render] { target->publish(render(driver)); });
    return exporter;
}

// True when `address` looks like HOST:PORT (for a flag check); the message says what is wrong otherwise.
bool valid_address(const std::string& address, std::string* why = nullptr);

}  // namespace pirates::metrics
