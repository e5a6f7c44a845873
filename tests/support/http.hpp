#pragma once
// A tiny HTTP/1.1 GET for the metrics tests: one request on a new TCP connection to 127.0.0.1, the whole
// answer (head and body) read until the server closes. "" on failure; bounded by a 5 s receive timeout.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdint>
#include <string>

namespace pirates::test {

inline std::string http_get(std::uint16_t port, const std::string& path = "/metrics") {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return "";
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
        const std::string req = "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
        if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size())) {
            char buf[4096];
            for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
                out.append(buf, static_cast<std::size_t>(n));
        }
    }
    ::close(fd);
    return out;
}

// True when `text` has `line` as a whole line.
inline bool has_line(const std::string& text, const std::string& line) {
    return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

// The port of a "bound metrics http://HOST:PORT" URL (0 if none).
inline std::uint16_t url_port(const std::string& url) {
    const auto colon = url.rfind(':');
    if (colon == std::string::npos || colon + 1 >= url.size()) return 0;
    return static_cast<std::uint16_t>(std::stoi(url.substr(colon + 1)));
}

}  // namespace pirates::test
