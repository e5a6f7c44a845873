#include <pirates/common/endpoint.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/metrics.hpp>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

namespace pirates::metrics {
namespace {

void append_value(std::string& out, double v) {
    if (std::isnan(v))
        out += "NaN";
    else if (std::isinf(v))
        out += v > 0 ? "+Inf" : "-Inf";
    else if (v == std::floor(v) && std::fabs(v) < 9.0e15)
        fmt::format_to(std::back_inserter(out), "{}", static_cast<long long>(v));
    else
        fmt::format_to(std::back_inserter(out), "{}", v);
}

// Label values escape backslash, double quote and newline; HELP text backslash and newline.
void append_escaped(std::string& out, std::string_view text, bool quotes) {
    for (char c : text) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '\n')
            out += "\\n";
        else if (quotes && c == '"')
            out += "\\\"";
        else
            out += c;
    }
}

struct HostPort {
    std::string host;
    std::string port;
};

bool split(const std::string& address, HostPort& hp, std::string* why) {
    auto fail = [&](std::string m) {
        if (why) *why = std::move(m);
        return false;
    };
    const auto colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 == address.size())
        return fail(fmt::format("'{}' is not HOST:PORT", address));
    hp.host = address.substr(0, colon);
    hp.port = address.substr(colon + 1);
    if (hp.host.size() >= 2 && hp.host.front() == '[' && hp.host.back() == ']')
        hp.host = hp.host.substr(1, hp.host.size() - 2);
    if (hp.host.empty()) return fail(fmt::format("'{}' has no host", address));
    if (hp.port.size() > 5 || hp.port.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(hp.port) > 65535)
        return fail(fmt::format("'{}': port must be a number 0-65535", address));
    return true;
}

}  // namespace

void MetricsText::family(std::string_view name, std::string_view help, std::string_view type) {
    if (last_family_ == name) return;
    last_family_ = name;
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    append_escaped(out_, help, false);
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += ' ';
    out_ += type;
    out_ += '\n';
}

void MetricsText::sample(std::string_view name, std::string_view suffix, const Labels& labels, double value,
                         std::string_view extra_label, std::string_view extra_value) {
    out_ += name;
    out_ += suffix;
    if (!labels.empty() || !extra_label.empty()) {
        out_ += '{';
        bool first = true;
        for (const auto& [k, v] : labels) {
            if (!first) out_ += ',';
            first = false;
            out_ += k;
            out_ += "=\"";
            append_escaped(out_, v, true);
            out_ += '"';
        }
        if (!extra_label.empty()) {
            if (!first) out_ += ',';
            out_ += extra_label;
            out_ += "=\"";
            out_ += extra_value;
            out_ += '"';
        }
        out_ += '}';
    }
    out_ += ' ';
    append_value(out_, value);
    out_ += '\n';
}

void MetricsText::counter(std::string_view name, std::string_view help, double value, const Labels& labels) {
    family(name, help, "counter");
    sample(name, "", labels, value);
}

void MetricsText::gauge(std::string_view name, std::string_view help, double value, const Labels& labels) {
    family(name, help, "gauge");
    sample(name, "", labels, value);
}

void MetricsText::histogram(std::string_view name, std::string_view help, const Histogram& h,
                            const Labels& labels) {
    family(name, help, "histogram");
    for (std::size_t i = 0; i < Histogram::bounds.size(); ++i) {
        std::string le;
        append_value(le, Histogram::bounds[i]);
        sample(name, "_bucket", labels, static_cast<double>(h.cumulative(i)), "le", le);
    }
    sample(name, "_bucket", labels, static_cast<double>(h.count), "le", "+Inf");
    sample(name, "_sum", labels, h.sum);
    sample(name, "_count", labels, static_cast<double>(h.count));
}

bool valid_address(const std::string& address, std::string* why) {
    HostPort hp;
    return split(address, hp, why);
}

Exporter::Exporter(const std::string& address) {
    HostPort hp;
    std::string why;
    if (!split(address, hp, &why)) throw BindError(address, why);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    addrinfo* found = nullptr;
    const bool any = hp.host == "*";
    if (int rc = getaddrinfo(any ? nullptr : hp.host.c_str(), hp.port.c_str(), &hints, &found); rc != 0)
        throw BindError(address, gai_strerror(rc));
    int err = 0;
    for (addrinfo* ai = found; ai && listener_ < 0; ai = ai->ai_next) {
        int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) {
            err = errno;
            continue;
        }
        int one = 1;
        ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, 16) == 0) {
            listener_ = fd;
        } else {
            err = errno;
            ::close(fd);
        }
    }
    freeaddrinfo(found);
    if (listener_ < 0) throw BindError(address, std::strerror(err), err);
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&bound), &len);
    char host[INET6_ADDRSTRLEN] = "?";
    if (bound.ss_family == AF_INET6) {
        auto* a = reinterpret_cast<sockaddr_in6*>(&bound);
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
        port_ = ntohs(a->sin6_port);
        url_ = fmt::format("http://[{}]:{}", host, port_);
    } else {
        auto* a = reinterpret_cast<sockaddr_in*>(&bound);
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
        port_ = ntohs(a->sin_port);
        url_ = fmt::format("http://{}:{}", host, port_);
    }
    log::info(log::Fields{{"role", "metrics"}, {"endpoint", url_}}, "bound metrics {}", url_);
    thread_ = std::thread([this] { serve(); });
}

Exporter::~Exporter() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
    if (listener_ >= 0) ::close(listener_);
}

void Exporter::publish(std::string text) {
    std::lock_guard lock(mutex_);
    text_ = std::move(text);
}

void Exporter::add_source(Source source) {
    std::lock_guard lock(mutex_);
    sources_.push_back(std::move(source));
}

void Exporter::serve() {
    while (!stop_.load()) {
        pollfd p{listener_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
        if (fd < 0) continue;
        answer(fd);
        ::close(fd);
    }
}

// One request per connection, answered and closed. A request that does not arrive within a second, or whose
// head exceeds 8 KiB, is dropped.
void Exporter::answer(int fd) {
    timeval tv{1, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string head;
    char buf[1024];
    while (head.find("\r\n\r\n") == std::string::npos && head.find("\n\n") == std::string::npos) {
        if (head.size() > 8192) return;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) return;
        head.append(buf, static_cast<std::size_t>(n));
    }
    const auto line_end = head.find_first_of("\r\n");
    const std::string_view line(head.data(), line_end);
    std::string body;
    std::string status = "200 OK";
    std::string type = "text/plain; version=0.0.4; charset=utf-8";
    const bool get = line.starts_with("GET ");
    const auto path_end = line.find(' ', 4);
    const std::string_view path =
        get ? line.substr(4, path_end == std::string_view::npos ? line.npos : path_end - 4)
            : std::string_view{};
    if (!get) {
        status = "405 Method Not Allowed";
        type = "text/plain";
        body = "only GET\n";
    } else if (path == "/metrics" || path.starts_with("/metrics?")) {
        std::lock_guard lock(mutex_);
        body = text_;
        if (!sources_.empty()) {
            MetricsText extra;
            for (const auto& source : sources_) source(extra);
            body += extra.text();
        }
    } else {
        status = "404 Not Found";
        type = "text/plain";
        body = "try /metrics\n";
    }
    std::string response =
        fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    status, type, body.size());
    response += body;
    std::size_t sent = 0;
    while (sent < response.size()) {
        const ssize_t n = ::send(fd, response.data() + sent, response.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return;
        sent += static_cast<std::size_t>(n);
    }
    scrapes_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace pirates::metrics
