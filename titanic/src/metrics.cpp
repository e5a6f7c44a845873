#include <pirates/titanic/metrics.hpp>

namespace pirates::titanic {

std::string titanic_metrics(const Titanic& t) {
    const TitanicCoreStats& c = t.core().stats();
    const StoreStats st = t.store_stats();
    const TitanicStats& d = t.stats();
    auto n = [](std::uint64_t v) { return static_cast<double>(v); };
    metrics::MetricsText m;
    m.counter("titanic_requests_total", "titanic.request acknowledged 200 (stored)", n(c.requests));
    m.counter("titanic_replies_stored_total", "replies of services stored", n(c.replies_stored));
    m.counter("titanic_closes_total", "titanic.close handled", n(c.closes));
    m.counter("titanic_bad_input_total", "requests answered 400 (malformed)", n(c.bad_input));
    m.counter("titanic_write_failures_total", "commits that failed (answered 500)", n(c.write_failures));
    m.counter("titanic_refused_full_total", "titanic.request answered 500 because --max-open are open",
              n(c.refused_full));
    m.counter("titanic_dispatched_total", "stored requests sent to their service", n(c.dispatched));
    m.counter("titanic_unavailable_total", "dispatches held back: mmi.service said the service is not there",
              n(c.unavailable));
    m.counter("titanic_timeouts_total", "dispatch lanes reset after a timeout", n(c.timeouts));
    m.counter("titanic_stray_replies_total", "lane replies that matched nothing (dropped)",
              n(c.stray_replies));
    m.counter("titanic_lane_malformed_total", "lane replies that were not MDP client replies",
              n(d.lane_malformed));
    m.counter("titanic_fsyncs_total", "commits of the log (one fdatasync each)", n(st.commits));
    m.counter("titanic_records_total", "records committed to the log", n(st.records));
    m.counter("titanic_compactions_total", "log compactions", n(st.compactions));
    m.gauge("titanic_open_requests", "requests stored and not closed",
            static_cast<double>(t.core().open_requests()));
    m.gauge("titanic_answered_requests", "open requests with a reply stored",
            static_cast<double>(st.answered));
    m.gauge("titanic_store_bytes", "size of the log file", n(st.log_bytes));
    m.gauge("titanic_store_live_bytes", "bytes of the log still needed", n(st.live_bytes));
    m.gauge("titanic_store_dead_bytes", "bytes of the log a compaction would drop", n(st.dead_bytes));
    m.gauge("titanic_largest_batch", "most titanic.request answered by one commit", n(d.largest_batch));
    m.histogram("titanic_commit_duration_seconds", "time of a commit that wrote the log, fdatasync included",
                d.commit_duration);
    return m.take();
}

std::unique_ptr<metrics::Exporter> serve_metrics(Titanic& titanic, const std::string& address,
                                                 Duration interval) {
    return metrics::serve(titanic, address, interval, titanic_metrics);
}

}  // namespace pirates::titanic
