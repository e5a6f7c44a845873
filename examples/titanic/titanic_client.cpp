// SPDX-License-Identifier: MIT (examples/LICENSE): copy this file freely.
// A Titanic client in a few lines: hand a request to Titanic (it is on disk when the "200" comes back), go
// away, come back for the reply later, then close it. Titanic talks 9/TSP over any Majordomo broker.
//   example_titanic_client tcp://127.0.0.1:5555 echo "Hello world"
#include <pirates/majordomo/client.hpp>

#include <fmt/format.h>

#include <chrono>
#include <thread>

using namespace pirates;

int main(int argc, char** argv) {
    if (argc != 4) {
        fmt::print(stderr, "usage: {} BROKER SERVICE BODY\n", argv[0]);
        return 2;
    }
    zmq::context_t context;
    majordomo::Client client(context, {argv[1], Duration{2500}, 3});
    auto ask = [&](std::string_view service, std::initializer_list<std::string_view> body) {
        Frames m;
        for (auto part : body) m.add(frame(part));
        return client.request(service, std::move(m));
    };

    // 1. Submit: the answer is "200" and the request's UUID once Titanic has fsync'd it.
    auto r = ask("titanic.request", {argv[2], argv[3]});
    if (!r.ok() || r.reply.size() != 2 || !equals(r.reply[0], "200")) {
        fmt::print(stderr, "titanic did not take the request\n");
        return 1;
    }
    const std::string uuid = r.reply[1].to_string();
    fmt::print("stored as {}\n", uuid);

    // 2. Poll: "300" while pending, "200" reply... once the service answered (even if Titanic restarted).
    while (true) {
        r = ask("titanic.reply", {uuid});
        if (r.ok() && !r.reply.empty() && equals(r.reply[0], "200")) break;
        if (r.ok() && !r.reply.empty() && equals(r.reply[0], "400"))
            return 1;                                          // unknown: closed or never stored
        std::this_thread::sleep_for(std::chrono::seconds(1));  // pending, or no answer: later
    }
    r.reply.pop();
    fmt::print("reply: {}\n", printable(r.reply, 256));

    // 3. Close: Titanic forgets the request and its reply.
    auto closed = ask("titanic.close", {uuid});
    return closed.ok() ? 0 : 1;
}
