#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/routed_send.hpp>
#include <pirates/freelance/router.hpp>

#include <atomic>
#include <cstring>
#include <type_traits>

namespace pirates::freelance {
namespace {

std::atomic<std::uint64_t> next_agent{0};

// Commands on the inproc pipe, API -> agent: CONNECT endpoint | REQUEST body... | STATS | STOP | CANCEL.
// Answers, agent -> API: OK server body... | FAILED reason | counters (one binary frame) | DONE. Every
// command but CANCEL gets exactly one answer; CANCEL gets none of its own: it makes the request in flight, if
// any, answer FAILED "interrupted" at once (if the request has just completed, its answer is on its way and
// CANCEL does nothing), so the API always reads exactly one answer per REQUEST.
class Agent {
  public:
    Agent(zmq::context_t& context, const std::string& pipe_endpoint, RouterOptions options)
        : core_(options, Clock::now()),
          pipe_(context, zmq::socket_type::pair),
          router_(context, zmq::socket_type::router) {
        pipe_.set(zmq::sockopt::linger, 0);
        pipe_.connect(pipe_endpoint);
        router_.set(zmq::sockopt::linger, 0);
        router_.set(zmq::sockopt::router_mandatory,
                    1);  // "not connected yet" as EHOSTUNREACH, not a silent drop
        router_.set(zmq::sockopt::router_handover, 1);  // a restarted server takes its identity back at once
    }

    void run() {
        while (true) {
            TimePoint now = Clock::now();
            Duration wait = std::min(until(now, core_.next_deadline()), Duration{500});
            zmq::pollitem_t items[] = {{pipe_.handle(), 0, ZMQ_POLLIN, 0},
                                       {router_.handle(), 0, ZMQ_POLLIN, 0}};
            try {
                zmq::poll(items, 2, wait);
            } catch (const zmq::error_t& e) {
                if (e.num() != EINTR) throw;
                continue;
            }
            if (items[0].revents & ZMQ_POLLIN) {
                Frames command;
                if (recv_nowait(pipe_, command) && !on_command(std::move(command))) return;
            }
            if (items[1].revents & ZMQ_POLLIN) {
                Frames message;
                for (int n = 0; n < 1000 && recv_nowait(router_, message); ++n) {
                    Frame identity = pop_frame(message);
                    core_.on_message(view(identity), std::move(message), Clock::now());
                    message.clear();
                    pump();
                }
            }
            core_.tick(Clock::now());
            pump();
        }
    }

  private:
    // Returns false on STOP.
    bool on_command(Frames command) {
        Frame verb = pop_frame(command);
        if (equals(verb, "STOP")) {
            reply(make("DONE"));
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
                router_.connect(endpoint);
            } catch (const zmq::error_t& e) {
                log::warn("cannot connect to '{}': {}", endpoint, e.what());
                reply(make("FAILED"));
                return true;
            }
            core_.connect(endpoint, Clock::now());
            reply(make("OK"));
            pump();
        } else if (equals(verb, "REQUEST")) {
            auto started = core_.request(std::move(command), Clock::now());
            if (!started) {
                Frames failed = make("FAILED");
                failed.add(frame(started.error().reason));
                reply(std::move(failed));
            }
            pump();
        } else if (equals(verb, "STATS")) {
            static_assert(std::is_trivially_copyable_v<RouterCounters>);
            Frames stats;
            stats.add(Frame(&core_.counters(), sizeof(RouterCounters)));
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
            router_.connect(endpoint);
        }
        while (true) {
            auto out = core_.take_outgoing();
            if (out.empty()) break;
            for (auto& o : out) {
                // [endpoint] frames...: the server's routing identity is its endpoint.
                o.frames.push(frame(o.endpoint));
                if (send_routed(router_, o.frames) != SendResult::sent)
                    core_.on_unroutable(o.endpoint, Clock::now());  // not connected, or its pipe is full
            }
        }
        if (auto done = core_.take_completion()) {
            Frames m;
            if (done->reply) {
                m.add(frame("OK"));
                m.add(frame(done->reply->server));
                for (auto& f : done->reply->body) m.add(std::move(f));
            } else {
                m.add(frame("FAILED"));
                m.add(frame(done->reply.error().reason));
            }
            reply(std::move(m));
        }
    }

    RouterCore core_;
    zmq::socket_t pipe_;
    zmq::socket_t router_;
};

}  // namespace

RouterClient::RouterClient(zmq::context_t& context, RouterOptions options)
    : pipe_(context, zmq::socket_type::pair) {
    std::string endpoint = fmt::format("inproc://pirates-freelance-agent-{}", next_agent++);
    pipe_.set(zmq::sockopt::linger, 0);
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
            zmq::socket_t pipe(context, zmq::socket_type::pair);
            pipe.set(zmq::sockopt::linger, 0);
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
    if (stop_.stop_requested()) return error("interrupted");
    body.push(frame("REQUEST"));
    Frames answer = call(std::move(body), true);
    Frame status = pop_frame(answer);
    if (!equals(status, "OK"))
        return error(answer.empty() ? std::string("failed") : answer.pop().to_string());
    std::string server = pop_frame(answer).to_string();
    return Answer{std::move(answer), std::move(server)};
}

RouterCounters RouterClient::counters() {
    Frames command;
    command.add(frame("STATS"));
    Frames answer = call(std::move(command));
    RouterCounters c;
    if (answer.size() == 1 && answer.front().size() == sizeof c)
        std::memcpy(&c, answer.front().data(), sizeof c);
    return c;
}

}  // namespace pirates::freelance
