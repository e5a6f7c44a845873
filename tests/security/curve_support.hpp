#pragma once
// Shared by the CURVE process tests: the checked-in certificates (made by pyzmq's zmq.auth), a temporary
// folder of admitted public keys, and the flags servers and clients take.
#include "support/process.hpp"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

namespace pirates::test::curve {

inline std::string cert(const std::string& name) {
    return (std::filesystem::path(PIRATES_CERTS_DIR) / name).string();
}

// A fresh folder under /tmp holding copies of the named public certificates; removed at the end.
struct KeyFolder {
    std::filesystem::path path;
    explicit KeyFolder(std::initializer_list<const char*> names) {
        static int n = 0;
        path = std::filesystem::temp_directory_path() / fmt::format("pirates-curve-o-{}-{}", ::getpid(), n++);
        std::filesystem::remove_all(path);
        std::filesystem::create_directories(path);
        for (const char* name : names) std::filesystem::copy_file(cert(name), path / name);
    }
    ~KeyFolder() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    // Removes a certificate and puts the folder's modification time back as it was, so that only a reload
    // (SIGHUP) can notice.
    void remove_quietly(const std::string& name) const {
        struct stat before {};
        ::stat(path.c_str(), &before);
        std::filesystem::remove(path / name);
        const struct timespec times[2] = {before.st_atim, before.st_mtim};
        ::utimensat(AT_FDCWD, path.c_str(), times, 0);
    }
};

inline std::vector<std::string> with(std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
}

// A server's flags: its own secret certificate (server.key_secret by default) and the admitted folder.
inline std::vector<std::string> server_curve(const KeyFolder& keys,
                                             const std::string& own = "server.key_secret") {
    return {"--curve-secret", cert(own), "--curve-clients", keys.path.string()};
}

// A client's or worker's flags: its own certificate and the server's public one.
inline std::vector<std::string> client_curve(const std::string& own,
                                             const std::string& server = "server.key") {
    return {"--curve-secret", cert(own), "--curve-server", cert(server)};
}

// Runs a program to its end and returns its exit code.
inline std::optional<int> run(const std::string& program, std::vector<std::string> args) {
    Process p(program, std::move(args));
    return p.wait_exit(Duration{30000});
}

}  // namespace pirates::test::curve
