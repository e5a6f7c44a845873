#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/freelance/router.hpp>

#include <atomic>
#include <cstring>
#include <type_traits>

namespace pirates::freelance {
namespace {

std::atomic<std::uint64_t> next_agent{0};

// Commands on the inproc pipe, API -> agent: CONNECT endpoint | REQUEST body... | STATS | STOP | CANCEL.
// Answers, agent -> API: OK server attempts body... | FAILED reason [status attempts] | counters (one binary
// frame) | DONE. Every command but CANCEL gets exactly one answer; CANCEL gets none of its own: it makes the
// request in flight, if any, answer FAILED "interrupted" at once (if the request has just completed, its
// answer is on its way and CANCEL does nothing), so the API always reads exactly one answer per REQUEST.
class Agent {
  public:
    Agent(zmq::context_t& context, const std::string& pipe_endpoint, RouterOptions options)
        : core_(options, clock_.now()),
          pipe_(make_socket(context, zmq::socket_type::pair)),
          // ROUTER_MANDATORY: "not connected yet" as EHOSTUNREACH, not a silent drop
          router_(make_router(context, 1000, 0, options.security)),
          reactor_(clock_) {
        pipe_.connect(pipe_endpoint);
        router_.set(zmq::sockopt::router_handover, 1);  // a restarted server takes its identity back at once
    }

    void run() {
        // The pipe first (a command, CANCEL say, is never queued behind a burst of replies), then the
        // servers.
        reactor_.add(pipe_, [this] {
            Frames command;
            if (!recv_nowait(pipe_, command)) return false;
            if (!on_command(std::move(command))) reactor_.request_stop();
            return false;  // one command per turn, as before
        });
        reactor_.add(router_, [this] {
            Frames message;
            if (!recv_nowait(router_, message)) return false;
            Frame identity = pop_frame(message);
            core_.on_message(view(identity), std::move(message), clock_.now());
            pump();
            return true;
        });
        // The core's timers: it says when it next has work (at most every 500 ms, as it may change with any
        // message), so each turn waits until then and ticks it.
        while (!stopped_) {
            const Duration wait = std::min(until(clock_.now(), core_.next_deadline()), Duration{500});
            reactor_.run_once(wait);
            if (stopped_) break;
            core_.tick(clock_.now());
            pump();
        }
    }

  private:
    // Returns false on STOP.
    bool on_command(Frames command) {
        Frame verb = pop_frame(command);
        if (equals(verb, "STOP")) {
            reply(make("DONE"));
            stopped_ = true;
            return false;
        }
        if (equals(verb, "CANCEL")) {
            if (core_.cancel()) pump();
            return true;
        }
        if (equals(verb, "CONNECT")) {
            std::string endpoint = pop_frame(command).to_string();
            if (!valid_endpoint(endpoint) || core_.known(endpoint)) {
                log::warn("not connecting to '{}': {}", endpoint,
                          core_.known(endpoint) ? "already connected" : "not an endpoint");
                reply(make("FAILED"));
                return true;
            }
            try {
                connect_endpoint(router_, endpoint);
            } catch (const zmq::error_t& e) {
                log::warn("cannot connect to '{}': {}", endpoint, e.what());
                reply(make("FAILED"));
                return true;
            }
            core_.connect(endpoint, clock_.now());
            reply(make("OK"));
            pump();
        } else if (equals(verb, "REQUEST")) {
            auto started = core_.request(std::move(command), clock_.now());
            if (!started) {
                Frames failed = make("FAILED");
                failed.add(frame(started.error().reason));
                reply(std::move(failed));
            }
            pump();
        } else if (equals(verb, "STATS")) {
            static_assert(std::is_trivially_copyable_v<RouterClientStats>);
            Frames stats;
            stats.add(Frame(&core_.stats(), sizeof(RouterClientStats)));
            reply(std::move(stats));
        }
        return true;
    }

    static Frames make(std::string_view verb) {
        Frames m;
        m.add(frame(verb));
        return m;
    }
    void reply(Frames m) { m.send(pipe_); }

    // Send what the core wants sent (an unroutable send goes back to the core, which may want to send more),
    // then hand a finished request to the API.
    void pump() {
        for (auto& endpoint : core_.take_reconnects()) {
            log::debug("{} unroutable for too long: reconnecting", endpoint);
            try {
                router_.disconnect(endpoint);
            } catch (const zmq::error_t&) {
            }
            connect_endpoint(router_, endpoint);
        }
        while (true) {
            auto out = core_.take_outgoing();
            if (out.empty()) break;
            for (auto& o : out) {
                // [endpoint] frames...: the server's routing identity is its endpoint.
                o.frames.push(frame(o.endpoint));
                if (send_routed(router_, o.frames) != SendResult::sent)
                    core_.on_unroutable(o.endpoint, clock_.now());  // not connected, or its pipe is full
            }
        }
        if (auto done = core_.take_completion()) {
            Frames m;
            if (done->reply) {
                m.add(frame("OK"));
                m.add(frame(done->reply->server));
                m.add(frame(std::to_string(done->reply.attempts)));
                for (auto& f : done->reply->body) m.add(std::move(f));
            } else {
                m.add(frame("FAILED"));
                m.add(frame(done->reply.reason));
                m.add(frame(std::to_string(static_cast<int>(done->reply.status))));
                m.add(frame(std::to_string(done->reply.attempts)));
            }
            reply(std::move(m));
        }
    }

    const ClockSource& clock_ = steady_clock();
    RouterClientCore core_;
    zmq::socket_t pipe_;
    zmq::socket_t router_;
    Reactor reactor_;
    bool stopped_ = false;
};

}  // namespace

RouterClient::RouterClient(zmq::context_t& context, RouterOptions options)
    : pipe_(make_socket(context, zmq::socket_type::pair)) {
    std::string endpoint = fmt::format("inproc://pirates-freelance-agent-{}", next_agent++);
    pipe_.bind(endpoint);
    agent_ = std::thread([&context, endpoint, options] {
        try {
            Agent(context, endpoint, options).run();
            return;
        } catch (const zmq::error_t& e) {
            if (e.num() == ETERM) return;
            log::error("freelance agent stopped: {}", e.what());
        }
        // The agent failed: keep answering the API (FAILED) so that it never blocks, until STOP.
        try {
            zmq::socket_t pipe = make_socket(context, zmq::socket_type::pair);
            pipe.connect(endpoint);
            while (true) {
                Frames command;
                if (!command.recv(pipe)) continue;
                if (equals(command.front(), "CANCEL")) continue;  // no answer of its own
                Frames answer;
                bool stop = equals(command.front(), "STOP");
                answer.add(frame(stop ? "DONE" : "FAILED"));
                answer.add(frame("client agent failed"));
                answer.send(pipe);
                if (stop) return;
            }
        } catch (const zmq::error_t&) {
        }
    });
}

RouterClient::~RouterClient() {
    try {
        Frames stop;
        stop.add(frame("STOP"));
        call(std::move(stop));
    } catch (const zmq::error_t&) {
    }
    if (agent_.joinable()) agent_.join();
}

Frames RouterClient::call(Frames command, bool interruptible) {
    static const StopSource never;  // for waits that no stop may cut short
    command.send(pipe_);
    while (true) {
        // A stop request is seen within a slice of the wait: 10 ms while it matters.
        const auto waited = wait_readable(pipe_, TimePoint::max(), steady_clock(),
                                          interruptible ? stop_ : never, Duration{interruptible ? 10 : 1000});
        if (waited == WaitResult::stopped) {
            // The agent answers the request at once now (FAILED "interrupted", or the reply that just came).
            Frames cancel;
            cancel.add(frame("CANCEL"));
            cancel.send(pipe_);
            interruptible = false;
            continue;
        }
        Frames answer;
        if (recv_nowait(pipe_, answer)) return answer;  // the agent answers every command but CANCEL
    }
}

bool RouterClient::connect(const std::string& endpoint) {
    Frames command;
    command.add(frame("CONNECT"));
    command.add(frame(endpoint));
    Frames answer = call(std::move(command));
    return !answer.empty() && equals(answer.front(), "OK");
}

Reply RouterClient::request(Frames body) {
    if (stop_.stop_requested()) return Reply::failed(Status::interrupted, 0, "interrupted");
    body.push(frame("REQUEST"));
    Frames answer = call(std::move(body), true);
    Frame verdict = pop_frame(answer);
    if (!equals(verdict, "OK")) {
        // FAILED reason [status attempts]
        std::string reason = answer.empty() ? std::string("failed") : answer.pop().to_string();
        Status status = Status::gave_up;
        int attempts = 0;
        if (answer.size() == 2) {
            status = static_cast<Status>(std::stoi(answer.pop().to_string()));
            attempts = std::stoi(answer.pop().to_string());
        }
        return Reply::failed(status, attempts, std::move(reason));
    }
    std::string server = pop_frame(answer).to_string();
    const int attempts = std::stoi(pop_frame(answer).to_string());
    return Reply::answered(Answer{std::move(answer), std::move(server)}, attempts);
}

RouterClientStats RouterClient::stats() {
    Frames command;
    command.add(frame("STATS"));
    Frames answer = call(std::move(command));
    RouterClientStats c;
    if (answer.size() == 1 && answer.front().size() == sizeof c)
        std::memcpy(&c, answer.front().data(), sizeof c);
    return c;
}

}  // namespace pirates::freelance
