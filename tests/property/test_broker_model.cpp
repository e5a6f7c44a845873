// The Majordomo broker core (7/MDP 0.1, 8/MMI) against a model of the broker rules in docs/protocols.md:
//  - a worker is known once it has sent READY; READY from a known worker, READY for an mmi.* service, REPLY or
//    HEARTBEAT from an unknown worker: DISCONNECT to it, and a known one is forgotten; DISCONNECT from a worker:
//    forgotten, nothing sent;
//  - REPLY from a worker holding a request: `"" "MDPC01" service body...` to the client it names, and the worker
//    is idle again (an idle worker's unsolicited REPLY is forwarded too, and changes nothing);
//  - a client request goes to the service's least recently used idle worker (`"" "MDPW01" 0x02 client ""
//    body...`), or waits in the service's queue; each worker that becomes idle takes the oldest queued one;
//  - a worker forgotten while it holds a request gives it back to the FRONT of its service's queue (ours);
//  - mmi.service: 200 if the named service has a worker, 404 otherwise; other mmi.* names: 501.
// Time stands still here (heartbeats and expiry are the Paranoid Pirate model's and the unit tests' subject).
#include "property.hpp"

#include <pirates/majordomo/broker_core.hpp>

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

using namespace pirates;
using namespace pirates::majordomo;

namespace {

using Message = std::vector<std::string>;

struct RecordingOutbox final : Outbox {
    std::vector<Message> sent;
    SendResult send(Frames& message, Channel) override {
        Message m;
        for (const auto& f : message) m.push_back(f.to_string());
        sent.push_back(std::move(m));
        return SendResult::sent;
    }
};

const std::string kReady = "\x01", kRequest = "\x02", kReply = "\x03", kHeartbeat = "\x04",
                  kDisconnect = "\x05";

struct Model {
    struct Job {
        std::string client;
        Message body;
    };
    struct Worker {
        std::string service;
        std::optional<Job> holding;
    };
    struct Service {
        std::deque<std::string> idle;  // least recently used first
        std::deque<Job> queue;         // oldest first
    };
    std::map<std::string, Worker> workers;
    std::map<std::string, Service> services;
    std::vector<Message> sent;

    std::size_t workers_of(const std::string& service) const {
        return static_cast<std::size_t>(std::count_if(
            workers.begin(), workers.end(), [&](const auto& w) { return w.second.service == service; }));
    }
    void give(const std::string& id, Job job) {
        Message m{id, "", "MDPW01", kRequest, job.client, ""};
        m.insert(m.end(), job.body.begin(), job.body.end());
        sent.push_back(std::move(m));
        workers[id].holding = std::move(job);
    }
    void dispatch(const std::string& name) {
        Service& s = services[name];
        while (!s.idle.empty() && !s.queue.empty()) {
            const std::string id = s.idle.front();
            s.idle.pop_front();
            Job job = std::move(s.queue.front());
            s.queue.pop_front();
            give(id, std::move(job));
        }
    }
    void forget(const std::string& id) {
        Worker w = workers.at(id);
        workers.erase(id);
        Service& s = services[w.service];
        std::erase(s.idle, id);
        if (w.holding) {
            s.queue.push_front(std::move(*w.holding));
            dispatch(w.service);
        }
    }
    void disconnect(const std::string& id) {
        // The order of the two is not the protocol's; the core forgets (and re-dispatches) first.
        if (workers.count(id)) forget(id);
        sent.push_back(Message{id, "", "MDPW01", kDisconnect});
    }
    void ready(const std::string& id, const std::string& service) {
        if (workers.count(id) || service.rfind("mmi.", 0) == 0) return disconnect(id);
        workers[id] = Worker{service, std::nullopt};
        services[service].idle.push_back(id);
        dispatch(service);
    }
    void reply(const std::string& id, const std::string& client, const Message& body) {
        if (!workers.count(id)) return disconnect(id);
        Worker& w = workers[id];
        Message m{client, "", "MDPC01", w.service};
        m.insert(m.end(), body.begin(), body.end());
        sent.push_back(std::move(m));
        if (!w.holding) return;  // unsolicited: forwarded, nothing else changes
        w.holding.reset();
        services[w.service].idle.push_back(id);
        dispatch(w.service);
    }
    void heartbeat(const std::string& id) {
        if (!workers.count(id)) disconnect(id);
    }
    void worker_disconnect(const std::string& id) {
        if (workers.count(id)) forget(id);
    }
    void request(const std::string& client, const std::string& service, const Message& body) {
        if (service.rfind("mmi.", 0) == 0) {
            std::string code = "501";
            if (service == "mmi.service") code = workers_of(body.back()) > 0 ? "200" : "404";
            Message m{client, "", "MDPC01", service};
            m.insert(m.end(), body.begin(), body.end() - 1);
            m.push_back(code);
            sent.push_back(std::move(m));
            return;
        }
        services[service].queue.push_back(Job{client, body});
        dispatch(service);
    }
};

Frames to_frames(const Message& strings) {
    Frames f;
    for (const auto& s : strings) f.add(Frame(s.data(), s.size()));
    return f;
}

}  // namespace

TEST_CASE("property: the Majordomo broker core follows the MDP 0.1 and MMI rules step by step") {
    PIRATES_PROPERTY("BrokerCore == model (0.1 dispatch, protocol errors, MMI)", [] {
        // One operation: (kind, worker 0..3, client 0..2, service 0..2, a number for the body).
        const auto ops = *rc::gen::container<std::vector<std::tuple<int, int, int, int, int>>>(
            rc::gen::tuple(rc::gen::inRange(0, 9), rc::gen::inRange(0, 4), rc::gen::inRange(0, 3),
                           rc::gen::inRange(0, 3), rc::gen::inRange(0, 1000)));
        const std::vector<std::string> service_names{"echo", "time", "mmi.bad"};
        BrokerCore core;
        RecordingOutbox out;
        Model model;
        const TimePoint now = ManualClock{}.now();
        for (const auto& [kind, worker_number, client_number, service_number, number] : ops) {
            const std::string w = "W" + std::to_string(worker_number);
            const std::string c = "C" + std::to_string(client_number);
            const std::string& service = service_names[static_cast<std::size_t>(service_number)];
            const Message body{"body " + std::to_string(number)};
            Message in;
            switch (kind) {
                case 0:
                    in = {w, "", "MDPW01", kReady, service};
                    model.ready(w, service);
                    break;
                case 1:
                case 2: {
                    // A reply to the client the worker holds (most replies), or to another one.
                    std::string to = c;
                    if (kind == 1 && model.workers.count(w) && model.workers[w].holding)
                        to = model.workers[w].holding->client;
                    in = {w, "", "MDPW01", kReply, to, "", body[0]};
                    model.reply(w, to, body);
                    break;
                }
                case 3:
                    in = {w, "", "MDPW01", kHeartbeat};
                    model.heartbeat(w);
                    break;
                case 4:
                    in = {w, "", "MDPW01", kDisconnect};
                    model.worker_disconnect(w);
                    break;
                case 5:
                case 6:
                    in = {c, "", "MDPC01", service_names[static_cast<std::size_t>(service_number % 2)],
                          body[0]};
                    model.request(c, in[3], body);
                    break;
                case 7:
                    in = {c, "", "MDPC01", "mmi.service", service};
                    model.request(c, "mmi.service", Message{service});
                    break;
                default:
                    in = {c, "", "MDPC01", "mmi.nothing", "x"};
                    model.request(c, "mmi.nothing", Message{"x"});
                    break;
            }
            core.on_message(to_frames(in), now, out);
            RC_ASSERT(out.sent == model.sent);
            RC_ASSERT(core.check_invariants() == std::string());
            RC_ASSERT(core.worker_count() == model.workers.size());
            std::size_t idle = 0, queued = 0;
            for (const auto& [name, s] : model.services) {
                idle += s.idle.size();
                queued += s.queue.size();
            }
            RC_ASSERT(core.idle_count() == idle);
            RC_ASSERT(core.queued_count() == queued);
            for (const auto& [id, mw] : model.workers) {
                const auto view = core.worker(id);
                RC_ASSERT(view.has_value());
                RC_ASSERT(view->service == mw.service);
                RC_ASSERT(view->idle == !mw.holding.has_value());
            }
        }
    });
}
