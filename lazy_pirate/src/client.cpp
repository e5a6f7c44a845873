#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/reactor.hpp>
#include <pirates/common/socket.hpp>
#include <pirates/lazy_pirate/client.hpp>

#include <fmt/format.h>

namespace pirates::lazy_pirate {

Client::Client(zmq::context_t& context, std::string endpoint, RetryPolicy policy, ClientOptions options,
               const ClockSource& clock)
    : context_(context),
      endpoint_(std::move(endpoint)),
      options_(std::move(options)),
      clock_(clock),
      retry_(policy, options_.check) {
    if (options_.poll_slice.count() <= 0) options_.poll_slice = Duration{100};
}

void Client::open() {
    SocketOptions o;  // linger 0: a lost request goes with it
    o.security = options_.security;
    socket_.emplace(make_socket(context_, zmq::socket_type::req, o));
    connect_endpoint(*socket_, endpoint_);
}

void Client::close() {
    if (!socket_) return;
    socket_.reset();
    ++stats_.reconnects;
}

bool Client::send_request() {
    if (!socket_) open();
    Frames copy = share(retry_.request());
    try {
        // A REQ socket queues the request on its connecting pipe even before the TCP connection is up; "would
        // block" (high-water mark) is treated as a lost request: the timeout moves things on.
        if (!copy.send(*socket_, ZMQ_DONTWAIT)) {
            log::debug("lazy pirate: request to {} would block; waiting for the timeout", endpoint_);
            return false;
        }
    } catch (const zmq::error_t& e) {
        log::warn("lazy pirate: sending to {} failed: {}", endpoint_, e.what());
        return false;
    }
    return true;
}

Outcome<Frames> Client::request(std::string_view body) {
    Frames m;
    m.add(frame(body));
    return request(std::move(m));
}

Outcome<Frames> Client::finish(Status status, Frames reply) {
    const int attempts = retry_.attempts_used();
    stats_.discarded += static_cast<std::uint64_t>(retry_.discarded());
    retry_.take_request();
    switch (status) {
        case Status::reply:
            ++stats_.replies;
            return Outcome<Frames>::answered(std::move(reply), attempts);
        case Status::gave_up:
        case Status::timed_out:
            ++stats_.gave_up;
            break;
        case Status::interrupted:
            ++stats_.interrupted;
            break;
    }
    // A REQ socket still waiting for a reply cannot send again: start the next request on a new socket.
    close();
    return Outcome<Frames>::failed(
        status, attempts,
        status == Status::interrupted
            ? std::string("interrupted")
            : fmt::format("no reply from {} after {} attempts", endpoint_, attempts));
}

Outcome<Frames> Client::request(Frames request) {
    ++stats_.requests;
    if (stop_->stop_requested()) {  // stopped: the request never leaves
        ++stats_.interrupted;
        return Outcome<Frames>::failed(Status::interrupted, 0, "interrupted");
    }
    RetryCore::Action action = retry_.start(std::move(request), clock_.now());
    bool discarded_last = false;  // why the next attempt happens, for the log
    Frames answer;
    while (true) {
        switch (action) {
            case RetryCore::Action::send:
                send_request();
                break;
            case RetryCore::Action::resend:
                ++stats_.retries;
                log::warn("lazy pirate: {} from {}, retrying (attempt {} of {})",
                          discarded_last ? "wrong reply" : "no reply", endpoint_, retry_.attempts_used(),
                          retry_.policy().attempts);
                close();
                send_request();
                break;
            case RetryCore::Action::deliver:
                return finish(Status::reply, std::move(answer));
            case RetryCore::Action::give_up:
                log::warn("lazy pirate: {} unreachable, giving up after {} attempts", endpoint_,
                          retry_.attempts_used());
                return finish(Status::gave_up, {});
            case RetryCore::Action::wait:
                break;
        }

        if (!socket_) open();  // attempts == 0 never gets here; defensive for a failed send
        discarded_last = false;
        switch (wait_readable(*socket_, retry_.deadline(), clock_, *stop_, options_.poll_slice)) {
            case WaitResult::stopped:
                return finish(Status::interrupted, {});
            case WaitResult::ready: {
                Frames reply;
                if (recv_nowait(*socket_, reply)) {
                    action = retry_.on_reply(reply, clock_.now());
                    if (action == RetryCore::Action::deliver) {
                        answer = std::move(reply);
                    } else {
                        discarded_last = true;
                        log::warn(
                            "lazy pirate: discarded a reply from {} that does not answer the request in "
                            "flight: "
                            "{}",
                            endpoint_, printable(reply));
                    }
                    break;
                }
                action =
                    retry_.on_timeout(clock_.now());  // readable, but nothing whole to take: as a timeout
                break;
            }
            case WaitResult::timeout:
                action = retry_.on_timeout(clock_.now());
                break;
        }
    }
}

}  // namespace pirates::lazy_pirate
