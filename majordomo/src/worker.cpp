#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/majordomo/worker.hpp>

#include <fmt/format.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace pirates::majordomo {

// The handler's thread: one per Worker, started by the first handle(), waiting for one job at a time. It
// talks back over an inproc PAIR (the driver's socket stays on the driver's thread): "P" body... for a
// partial, "F" body... for the final answer; the driver's reactor wakes on it at once.
struct Worker::HandlerThread {
    zmq::socket_t driver_end;  // the driver's thread reads it
    zmq::socket_t thread_end;  // the handler's thread writes it
    std::mutex mutex;
    std::condition_variable wake;
    const StreamHandler* handler = nullptr;  // the job; nullptr: none
    Frames body;
    bool quit = false;
    std::thread thread;

    explicit HandlerThread(zmq::context_t& context)
        : driver_end(context, zmq::socket_type::pair), thread_end(context, zmq::socket_type::pair) {
        static std::atomic<std::uint64_t> counter{0};
        const std::string ep = fmt::format("inproc://pirates-md-worker-handler-{}", counter++);
        driver_end.set(zmq::sockopt::linger, 0);
        thread_end.set(zmq::sockopt::linger, 0);
        driver_end.bind(ep);
        thread_end.connect(ep);
        thread = std::thread([this] { loop(); });
    }
    ~HandlerThread() {
        {
            std::lock_guard lock(mutex);
            quit = true;
        }
        wake.notify_one();
        thread.join();
    }
    void start(const StreamHandler& h, Frames&& b) {
        {
            std::lock_guard lock(mutex);
            handler = &h;
            body = std::move(b);
        }
        wake.notify_one();
    }
    void loop() {
        while (true) {
            const StreamHandler* h = nullptr;
            Frames b;
            {
                std::unique_lock lock(mutex);
                wake.wait(lock, [&] { return quit || handler != nullptr; });
                if (quit) return;
                h = handler;
                handler = nullptr;
                b = std::move(body);
            }
            PartialSink sink = [this](Frames partial) {
                partial.push(Frame("P", 1));
                partial.send(thread_end);
            };
            Frames answer;
            try {
                answer = (*h)(std::move(b), sink);
            } catch (const std::exception& e) {
                log::error("worker: handler threw: {}; answering with an empty reply", e.what());
                answer.clear();
            }
            answer.push(Frame("F", 1));
            answer.send(thread_end);
        }
    }
};

Worker::Worker(zmq::context_t& context, WorkerOptions options, const ClockSource& clock)
    : context_(context), clock_(clock), core_(std::move(options), clock.now()), own_reactor_(clock) {
    open();
    register_with(own_reactor_);
}

Worker::~Worker() {
    unregister();
    if (handler_thread_) own_reactor_.remove(handler_thread_->driver_end);
    if (socket_) {
        try {
            core_.on_close(out_);
            socket_.set(zmq::sockopt::linger, 100);  // give the goodbye a moment to leave
        } catch (const zmq::error_t&) {
            // A destructor does not throw: the broker will count us dead by liveness instead.
        }
    }
}

bool Worker::stopped() const {
    return stop_.stop_requested() || own_reactor_.stopped();
}

void Worker::request_stop() {
    stop_.request_stop();
    own_reactor_.request_stop();
}

void Worker::open() {
    SocketOptions options;
    options.max_message_bytes = core_.options().max_message_bytes;
    options.security = core_.options().security;
    socket_ = make_socket(context_, zmq::socket_type::dealer, options);
    connect_endpoint(socket_, core_.options().endpoint());
    core_.on_connected(clock_.now(), out_);
}

void Worker::register_with(Reactor& reactor) {
    reactor_ = &reactor;
    // Registered once: a reconnect replaces the socket in place, and a closed socket is not polled.
    reactor.add(socket_, [this] { return on_socket(); });
    timer_.reset();
    schedule();
}

void Worker::unregister() {
    if (!reactor_) return;
    reactor_->remove(socket_);
    if (timer_) reactor_->cancel(*timer_);
    timer_.reset();
    reactor_ = nullptr;
}

void Worker::attach(Reactor& reactor, RequestHandler on_request) {
    unregister();
    on_request_ = std::move(on_request);
    register_with(reactor);
}

void Worker::detach() {
    unregister();
    on_request_ = nullptr;
    register_with(own_reactor_);
}

void Worker::schedule() {
    if (!reactor_) return;
    const TimePoint when = core_.next_deadline();
    if (timer_) {
        // A timer firing before the deadline only costs a tick(), which schedules again: move it only when
        // the deadline came closer (a DISCONNECT).
        if (when >= timer_at_) return;
        if (reactor_->rearm_at(*timer_, when)) {
            timer_at_ = when;
            return;
        }
    }
    timer_ = reactor_->add_timer_at(when, [this] { on_timer_fired(); });
    timer_at_ = when;
}

void Worker::on_timer_fired() {
    timer_.reset();  // one-shot: gone
    tick();
}

void Worker::tick() {
    const WorkerCore::Actions actions = core_.tick(clock_.now(), out_);
    if (actions.close_socket && socket_) socket_.close();  // linger 0 (make_socket)
    if (actions.open_socket) open();
    schedule();
}

// The reactor's handler: one message; a request goes to attach()'s handler, or to recv().
bool Worker::on_socket() {
    if (!socket_ || !recv_nowait(socket_, in_)) return false;
    ready_ = core_.on_message(std::move(in_), clock_.now());
    in_.clear();  // what on_message() left of it
    schedule();
    if (!ready_) return true;
    if (on_request_) {
        Request request = std::move(*ready_);
        ready_.reset();
        on_request_(std::move(request));
        return true;
    }
    return false;  // recv() hands it out: this burst ends here
}

std::optional<Request> Worker::on_readable() {
    while (socket_) {
        Frames message;
        if (!recv_nowait(socket_, message)) break;
        auto request = core_.on_message(std::move(message), clock_.now());
        if (request) {
            schedule();
            return request;
        }
        if (core_.disconnect_pending()) {
            tick();  // register again (at once the first time)
            return std::nullopt;
        }
    }
    schedule();
    return std::nullopt;
}

std::optional<Request> Worker::recv(Duration timeout) {
    if (handed_out_) {
        // The previous request was handled (answered or dropped): the time it took was not silence.
        core_.handled(clock_.now());
        handed_out_ = false;
    }
    if (reactor_ != &own_reactor_) {
        log::warn("worker: recv() while attached to another reactor; detach() first");
        return std::nullopt;
    }
    const TimePoint deadline = clock_.now() + timeout;
    while (!stopped()) {
        const bool running = own_reactor_.run_once(until(clock_.now(), deadline));
        if (ready_) {
            std::optional<Request> request = std::move(ready_);
            ready_.reset();
            handed_out_ = true;
            return request;  // (no copy: NRVO)
        }
        if (!running || clock_.now() >= deadline) break;
    }
    return std::nullopt;
}

bool Worker::reply(Request&& request, Frames body) {
    handed_out_ = false;
    return core_.reply(std::move(request), std::move(body), clock_.now(), out_);
}

bool Worker::partial(const Request& request, Frames body) {
    return core_.partial(request, std::move(body), clock_.now(), out_);
}

void Worker::run(const Handler& handler) {
    run(StreamHandler([&handler](Frames&& body, const PartialSink&) { return handler(std::move(body)); }));
}

void Worker::run(const StreamHandler& handler) {
    while (!stopped()) {
        auto request = recv(Duration{1000});
        if (!request) continue;
        handle(std::move(*request), handler);
    }
}

bool Worker::handle(Request&& request, const StreamHandler& handler) {
    if (reactor_ != &own_reactor_) {
        log::warn("worker: handle() while attached to another reactor; detach() first");
        return false;
    }
    if (!handler_thread_) {
        handler_thread_ = std::make_unique<HandlerThread>(context_);
        own_reactor_.add(handler_thread_->driver_end, [this] { return on_handler_message(); });
    }
    handler_request_ = &request;
    handler_answer_.reset();
    core_.handling(clock_.now());
    handler_thread_->start(handler, std::move(request.body));
    // Turn the reactor (heartbeats; the handler's partials and answer wake it) until the answer is in.
    while (!handler_answer_) {
        if (!stopped()) {
            own_reactor_.run_once(Duration{100});
            continue;
        }
        // Stopping: the handler finishes, and its reply goes if it still can.
        Frames m;
        if (m.recv(handler_thread_->driver_end)) deliver_from_handler(std::move(m));
    }
    handler_request_ = nullptr;
    Frames answer = std::move(*handler_answer_);
    handler_answer_.reset();
    return reply(std::move(request), std::move(answer));
}

bool Worker::on_handler_message() {
    Frames m;
    if (!recv_nowait(handler_thread_->driver_end, m)) return false;
    deliver_from_handler(std::move(m));
    return true;
}

void Worker::deliver_from_handler(Frames&& m) {
    const bool final = m.front().to_string_view() == "F";
    m.pop();
    if (final)
        handler_answer_ = std::move(m);
    else if (handler_request_)
        core_.partial(*handler_request_, std::move(m), clock_.now(), out_);
}

}  // namespace pirates::majordomo
