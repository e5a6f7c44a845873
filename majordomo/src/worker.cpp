#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/majordomo/worker.hpp>

#include <fmt/format.h>

#include <algorithm>
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
    : context_(context), clock_(clock), options_(std::move(options)), own_reactor_(clock) {
    const std::vector<std::string> brokers = split_list(options_.endpoint());  // "A,B": one link each
    for (std::size_t i = 0; i < brokers.size(); ++i) {
        WorkerOptions one = options_;
        one.connect = brokers[i];
        one.broker.clear();
        links_.push_back(std::make_unique<Link>(std::move(one), clock_.now(), i));
    }
    for (auto& link : links_) open(*link);
    register_with(own_reactor_);
}

Worker::~Worker() {
    unregister();
    if (handler_thread_) own_reactor_.remove(handler_thread_->driver_end);
    for (auto& link : links_) {
        if (!link->socket) continue;
        try {
            link->core.on_close(link->out);
            link->socket.set(zmq::sockopt::linger, 100);  // give the goodbye a moment to leave
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

bool Worker::connected() const {
    for (const auto& link : links_)
        if (link->socket) return true;
    return false;
}

WorkerStats Worker::stats() const {
    WorkerStats total;
    for (const auto& link : links_) {
        const WorkerStats& s = link->core.stats();
        total.requests += s.requests;
        total.replies += s.replies;
        total.partials += s.partials;
        total.unroutable += s.unroutable;
        total.malformed += s.malformed;
        total.heartbeats_sent += s.heartbeats_sent;
        total.heartbeats_received += s.heartbeats_received;
        total.disconnects += s.disconnects;
        total.reconnects += s.reconnects;
        total.expired += s.expired;
    }
    return total;
}

TimePoint Worker::next_deadline() const {
    TimePoint when = TimePoint::max();
    for (const auto& link : links_) when = std::min(when, link->core.next_deadline());
    return when;
}

void Worker::open(Link& link) {
    SocketOptions options;
    options.max_message_bytes = options_.max_message_bytes;
    options.security = options_.security;
    link.socket = make_socket(context_, zmq::socket_type::dealer, options);
    connect_endpoint(link.socket, link.core.options().connect);
    link.core.on_connected(clock_.now(), link.out);
}

void Worker::register_with(Reactor& reactor) {
    reactor_ = &reactor;
    for (auto& l : links_) {
        Link& link = *l;
        // Registered once: a reconnect replaces the socket in place, and a closed socket is not polled.
        reactor.add(link.socket, [this, &link] { return on_socket(link); });
        link.timer.reset();
        schedule(link);
    }
}

void Worker::unregister() {
    if (!reactor_) return;
    for (auto& link : links_) {
        reactor_->remove(link->socket);
        if (link->timer) reactor_->cancel(*link->timer);
        link->timer.reset();
    }
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

void Worker::schedule(Link& link) {
    if (!reactor_) return;
    const TimePoint when = link.core.next_deadline();
    if (link.timer) {
        // A timer firing before the deadline only costs a tick(), which schedules again: move it only when
        // the deadline came closer (a DISCONNECT).
        if (when >= link.timer_at) return;
        if (reactor_->rearm_at(*link.timer, when)) {
            link.timer_at = when;
            return;
        }
    }
    link.timer = reactor_->add_timer_at(when, [this, &link] { on_timer_fired(link); });
    link.timer_at = when;
}

void Worker::on_timer_fired(Link& link) {
    link.timer.reset();  // one-shot: gone
    tick(link);
}

void Worker::tick() {
    for (auto& link : links_) tick(*link);
}

void Worker::tick(Link& link) {
    const WorkerCore::Actions actions = link.core.tick(clock_.now(), link.out);
    if (actions.close_socket && link.socket) link.socket.close();  // linger 0 (make_socket)
    if (actions.open_socket) open(link);
    schedule(link);
}

// A request read from `link`, for recv(): queued (behind one from the other broker, if any). Its connection
// counts as busy from now: that broker sends nothing more (not even heartbeats) until we answer, and its
// silence must not expire the connection while the request waits its turn.
void Worker::take(Link& link, Request&& request) {
    request.link = link.index;
    if (links_.size() > 1) link.core.handling(clock_.now());
    ready_.push_back(std::move(request));
}

// The reactor's handler: one message; a request goes to attach()'s handler, or to recv().
bool Worker::on_socket(Link& link) {
    if (!link.socket || !recv_nowait(link.socket, link.in)) return false;
    std::optional<Request> request = link.core.on_message(std::move(link.in), clock_.now());
    link.in.clear();  // what on_message() left of it
    schedule(link);
    if (!request) return true;
    if (on_request_) {
        request->link = link.index;
        on_request_(std::move(*request));
        return true;
    }
    take(link, std::move(*request));
    return false;  // recv() hands it out: this burst ends here
}

std::optional<Request> Worker::on_readable() {
    for (auto& l : links_) {
        Link& link = *l;
        while (link.socket) {
            Frames message;
            if (!recv_nowait(link.socket, message)) break;
            auto request = link.core.on_message(std::move(message), clock_.now());
            if (request) {
                request->link = link.index;
                schedule(link);
                return request;
            }
            if (link.core.disconnect_pending()) {
                tick(link);  // register again (at once the first time)
                break;
            }
        }
        schedule(link);
    }
    return std::nullopt;
}

std::optional<Request> Worker::recv(Duration timeout) {
    if (handed_out_) {
        // The previous request was handled (answered or dropped): the time it took was not silence.
        links_.at(*handed_out_)->core.handled(clock_.now());
        handed_out_.reset();
    }
    if (reactor_ != &own_reactor_) {
        log::warn("worker: recv() while attached to another reactor; detach() first");
        return std::nullopt;
    }
    const TimePoint deadline = clock_.now() + timeout;
    while (!stopped()) {
        if (!ready_.empty()) {  // (one that came from the other broker while the last was handled)
            Request request = std::move(ready_.front());
            ready_.pop_front();
            handed_out_ = request.link;
            return request;
        }
        const bool running = own_reactor_.run_once(until(clock_.now(), deadline));
        if (!ready_.empty()) continue;
        if (!running || clock_.now() >= deadline) break;
    }
    return std::nullopt;
}

bool Worker::reply(Request&& request, Frames body) {
    handed_out_.reset();
    if (request.link >= links_.size()) return false;
    Link& link = *links_[request.link];
    return link.core.reply(std::move(request), std::move(body), clock_.now(), link.out);
}

bool Worker::partial(const Request& request, Frames body) {
    if (request.link >= links_.size()) return false;
    Link& link = *links_[request.link];
    return link.core.partial(request, std::move(body), clock_.now(), link.out);
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
    if (request.link >= links_.size()) return false;
    handler_request_ = &request;
    handler_answer_.reset();
    links_[request.link]->core.handling(clock_.now());
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
        (void)partial(*handler_request_, std::move(m));
}

}  // namespace pirates::majordomo
