// Raw frames: the test is the broker (a ROUTER socket) and speaks MDP 0.1 + TSP to a real titanic with bytes
// written here from docs/protocols.md, not with our codec, so a symmetric encoding bug cannot pass.
#include <doctest/doctest.h>

#include "support/disconnect_watch.hpp"
#include "support/net.hpp"
#include "support/process.hpp"
#include "temp_dir.hpp"

#include <deque>
#include <map>

using namespace pirates;
using namespace std::chrono_literals;
using pirates::test::bind_loopback;
using pirates::test::make_frames;
using pirates::test::Process;
using pirates::test::recv_within;
using pirates::test::strings;
using pirates::test::TempDir;
using Strings = std::vector<std::string>;

namespace {

struct FakeBroker {
    zmq::context_t context;
    zmq::socket_t router{context, zmq::socket_type::router};
    std::string endpoint;
    std::map<std::string, std::string> worker;  // service -> identity of one worker registered for it
    std::string lane;                           // identity of the dispatcher's client socket, once heard

    FakeBroker() {
        router.set(zmq::sockopt::linger, 0);
        endpoint = bind_loopback(router);
    }
    void send(std::vector<std::string> frames) {
        Frames m;
        for (auto& f : frames) m.add(frame(f));
        m.send(router);
    }
    // Messages that arrived while the test waited for another peer's: worker replies and the dispatcher's
    // lane travel on different connections, so their order is not fixed (the lane's mmi.service query may
    // overtake the REPLY that acknowledged the request).
    std::deque<Strings> stash;

    // The next message, from anyone, that is not a worker heartbeat or a READY.
    Strings next() {
        if (!stash.empty()) {
            Strings s = std::move(stash.front());
            stash.pop_front();
            return s;
        }
        return next_on_wire();
    }
    // The next such message from `identity`; others are kept for next().
    Strings next_from(const std::string& identity) {
        for (auto it = stash.begin(); it != stash.end(); ++it)
            if (it->at(0) == identity) {
                Strings s = std::move(*it);
                stash.erase(it);
                return s;
            }
        while (true) {
            Strings s = next_on_wire();
            if (s[0] == identity) return s;
            stash.push_back(std::move(s));
        }
    }
    // The next message read from the socket that is not a worker heartbeat or a READY (READYs are recorded).
    Strings next_on_wire() {
        while (true) {
            Frames m;
            REQUIRE(recv_within(router, m, 5s));
            auto s = strings(m);
            REQUIRE(s.size() >= 4);
            if (s[1] == "" && s[2] == "MDPW01" && s[3] == "\x04" && s.size() == 4) continue;  // HEARTBEAT
            if (s.size() == 5 && s[1] == "" && s[2] == "MDPW01" && s[3] == "\x01") {          // READY service
                worker.emplace(s[4], s[0]);
                continue;
            }
            return s;
        }
    }
    void await_ready(const std::string& service) {
        while (!worker.count(service)) {
            Frames m;
            REQUIRE(recv_within(router, m, 5s));
            auto s = strings(m);
            if (s.size() == 5 && s[1] == "" && s[2] == "MDPW01" && s[3] == "\x01") worker.emplace(s[4], s[0]);
        }
    }
    // Deliver a client request to the titanic worker registered for `service`; return its REPLY's body.
    Strings request(const std::string& service, const std::string& client, std::vector<std::string> body) {
        std::vector<std::string> m{worker.at(service), "", "MDPW01", "\x02", client, ""};
        m.insert(m.end(), body.begin(), body.end());
        send(m);
        auto r = next_from(worker.at(service));
        REQUIRE(r.size() >= 6);
        CHECK(r[0] == worker.at(service));
        CHECK(r[1] == "");
        CHECK(r[2] == "MDPW01");
        CHECK(r[3] == "\x03");  // REPLY
        CHECK(r[4] == client);
        CHECK(r[5] == "");
        return Strings(r.begin() + 6, r.end());
    }
};

}  // namespace

TEST_CASE(
    "titanic raw frames: READY, TSP requests as MDP REQUEST/REPLY, dispatch as MDP client with mmi.service") {
    TempDir dir;
    FakeBroker broker;
    Process titanic("titanic", {"--connect", broker.endpoint, "--dir", dir.sub("store"), "--pool", "1",
                                "--lanes", "1", "--heartbeat-ms", "2000", "--liveness", "10", "--retry-ms",
                                "20", "--timeout-ms", "5000"});
    broker.await_ready("titanic.request");
    broker.await_ready("titanic.reply");
    broker.await_ready("titanic.close");

    // titanic.request: "service" "request..." -> "200" uuid
    auto ack = broker.request("titanic.request", "client-A", {"echo", "hello", std::string("\0\x01\xff", 3)});
    REQUIRE(ack.size() == 2);
    CHECK(ack[0] == "200");
    const std::string uuid = ack[1];
    REQUIRE(uuid.size() == 32);
    CHECK(uuid.find_first_not_of("0123456789ABCDEF") == std::string::npos);

    // The dispatcher asks mmi.service first: "" "MDPC01" "mmi.service" "echo".
    auto q = broker.next();
    REQUIRE(q.size() == 5);
    broker.lane = q[0];
    CHECK(q[1] == "");
    CHECK(q[2] == "MDPC01");
    CHECK(q[3] == "mmi.service");
    CHECK(q[4] == "echo");
    // While the service is unknown the request stays pending.
    CHECK(broker.request("titanic.reply", "client-B", {uuid}) == Strings{"300"});
    broker.send({broker.lane, "", "MDPC01", "mmi.service", "404"});
    q = broker.next();  // asked again after the back-off
    CHECK(q == Strings{broker.lane, "", "MDPC01", "mmi.service", "echo"});
    broker.send({broker.lane, "", "MDPC01", "mmi.service", "200"});
    // Now the stored request itself, exactly as submitted.
    q = broker.next();
    CHECK(q == Strings{broker.lane, "", "MDPC01", "echo", "hello", std::string("\0\x01\xff", 3)});
    broker.send({broker.lane, "", "MDPC01", "echo", "HELLO", "world"});

    // titanic.reply: "200" reply... once stored (ask until the commit is done).
    Strings reply;
    for (int i = 0; i < 100; ++i) {
        reply = broker.request("titanic.reply", "client-B", {uuid});
        if (reply.at(0) != "300") break;
    }
    CHECK(reply == Strings{"200", "HELLO", "world"});
    // Lower-case UUIDs are the same request.
    std::string lower = uuid;
    for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    CHECK(broker.request("titanic.reply", "client-B", {lower}) == Strings{"200", "HELLO", "world"});
    // titanic.close: "200"; then the UUID is unknown.
    CHECK(broker.request("titanic.close", "client-C", {uuid}) == Strings{"200"});
    CHECK(broker.request("titanic.reply", "client-B", {uuid}) == Strings{"400"});

    // Garbage from the "broker" is dropped; Titanic keeps serving.
    broker.send({broker.worker.at("titanic.reply"), "", "MDPW01", "\x02"});       // REQUEST too short
    broker.send({broker.worker.at("titanic.reply"), "", "MDPW01", "\x09", "x"});  // unknown command
    broker.send({broker.worker.at("titanic.reply"), "junk"});                     // not MDP at all
    broker.send({broker.worker.at("titanic.reply"), "", "MDPW99", "\x02", "c", "", "x"});  // wrong protocol
    broker.send({broker.lane, "", "MDPC01"});  // short reply on the lane
    CHECK(broker.request("titanic.reply", "client-D", {"../../etc/passwd0000000000000000"}) ==
          Strings{"400"});
    CHECK(broker.request("titanic.request", "client-E", {"echo"}) == Strings{"400"});
    CHECK(titanic.running());
}

TEST_CASE(
    "titanic --max-message-bytes: a larger message from the broker drops that connection, Titanic serves "
    "on") {
    TempDir dir;
    FakeBroker broker;
    pirates::test::DisconnectWatch watch(broker.context, broker.router);
    Process titanic("titanic",
                    {"--connect", broker.endpoint, "--dir", dir.sub("store"), "--pool", "1", "--lanes", "1",
                     "--heartbeat-ms", "2000", "--liveness", "10", "--max-message-bytes", "64K"});
    broker.await_ready("titanic.request");
    broker.await_ready("titanic.reply");
    broker.await_ready("titanic.close");

    // A REQUEST to a titanic.reply connection with a body frame one byte over the bound.
    const std::string over(64 * 1024 + 1, 'x');
    broker.send({broker.worker.at("titanic.reply"), "", "MDPW01", "\x02", "client-X", "", over});
    CHECK(watch.wait(1, 5s));  // libzmq in Titanic closed that connection

    // The other connections serve on; a request just under the bound is stored.
    const std::string big(60 * 1024, 'y');
    auto ack = broker.request("titanic.request", "client-A", {"echo", big});
    REQUIRE(ack.size() == 2);
    CHECK(ack[0] == "200");
    CHECK(broker.request("titanic.close", "client-B", {ack[1]}) == Strings{"200"});
    CHECK(titanic.running());
}
