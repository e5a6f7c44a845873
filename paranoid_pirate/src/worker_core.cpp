#include <pirates/common/log.hpp>
#include <pirates/paranoid_pirate/protocol.hpp>
#include <pirates/paranoid_pirate/worker_core.hpp>

namespace pirates::paranoid_pirate {

WorkerCore::WorkerCore(WorkerTiming timing, TimePoint now, std::uint64_t seed)
    : timing_(timing), link_(peer_link_options(timing), now, seed) {}

void WorkerCore::on_connected(TimePoint now, Outbox& out) {
    // Silence counts from the READY: the time the driver took to open the socket (the first one starts
    // libzmq's I/O thread, slow on a loaded machine) is not the queue's.
    link_.resume(now);
    Frames ready = ready_message();
    (void)out.send(ready);  // on a new DEALER: queued until the connection is up
}

std::optional<WorkerRequest> WorkerCore::on_message(Frames&& message, TimePoint now) {
    if (!link_.connected()) return std::nullopt;  // a late message from a closed socket
    // Any message from the queue proves it alive: full liveness, and the back-off starts over.
    link_.heard(now);
    auto command = classify_from_queue(message);
    if (!command) {
        ++stats_.malformed;
        log::debug("dropped invalid message from queue: {}", command.error().reason);
        return std::nullopt;
    }
    if (*command == QueueCommand::heartbeat) {
        ++stats_.heartbeats_received;
        return std::nullopt;
    }
    ++stats_.requests;
    // Built in place: every Frames made or moved costs its deque an allocation, on each request.
    const std::size_t start = body_start(message);
    std::optional<WorkerRequest> request(std::in_place);  // (no aggregate paren-init: clang 14 lacks it)
    for (std::size_t i = 0; i < start; ++i) request->envelope.add(message.pop());
    request->body = std::move(message);
    return request;
}

WorkerCore::Actions WorkerCore::tick(TimePoint now, Outbox& out) {
    const PeerLink::Actions link = link_.tick(now);
    Actions actions;
    actions.close_socket = link.close_socket;
    actions.open_socket = link.open_socket;
    actions.reconnect_in = link.reconnect_in;
    if (link.close_socket) ++stats_.expired;
    if (link.open_socket) ++stats_.reconnects;
    if (link.send_heartbeat) {
        Frames heartbeat = heartbeat_message();
        if (out.send(heartbeat) == SendResult::sent) ++stats_.heartbeats_sent;
    }
    return actions;
}

SendResult WorkerCore::reply(WorkerRequest&& request, Frames&& body, TimePoint now, Outbox& out) {
    handled(now);
    if (!link_.connected()) {
        ++stats_.unroutable;
        return SendResult::peer_gone;
    }
    // The envelope becomes the reply (make_reply()'s frames, without a new message).
    Frames& message = request.envelope;
    if (body.empty()) message.add(Frame());
    while (!body.empty()) message.add(body.pop());
    const SendResult result = out.send(message);
    if (result == SendResult::sent)
        ++stats_.replies;
    else
        ++stats_.unroutable;
    return result;
}

void WorkerCore::handled(TimePoint now) {
    link_.resume(now);
}

Frames WorkerCore::make_reply(Frames request, Frames body) {
    const std::size_t start = body_start(request);
    Frames reply;
    for (std::size_t i = 0; i < start; ++i) reply.add(request.pop());
    if (body.empty()) reply.add(Frame());
    while (!body.empty()) reply.add(body.pop());
    return reply;
}

}  // namespace pirates::paranoid_pirate
