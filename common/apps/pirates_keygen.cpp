// pirates-keygen: makes a CURVE certificate pair, NAME.key (public, to give out) and NAME.key_secret (0600,
// kept by its owner), in the text format pyzmq's zmq.auth and czmq's zcert read and write.
#include <pirates/common/cli.hpp>
#include <pirates/common/log.hpp>
#include <pirates/common/security.hpp>

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char** argv) try {
    // NAME may come first, as a plain word (pirates-keygen NAME --dir D), or as --name NAME.
    std::string name;
    std::string dir = ".";
    std::vector<char*> rest{argv[0]};
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i == 1 && !a.empty() && a[0] != '-')
            name = a;
        else
            rest.push_back(argv[i]);
    }
    pirates::CommandLine cli(
        "pirates-keygen",
        "Writes a CURVE certificate pair: NAME.key (public) and NAME.key_secret (secret, "
        "mode 0600).\nUsage also: pirates-keygen NAME [--dir D]");
    cli.text("name", name, "certificate name (the files are NAME.key and NAME.key_secret)")
        .text("dir", dir, "folder to write the files into (must exist)");
    cli.parse(static_cast<int>(rest.size()), rest.data());
    if (name.empty()) cli.fail("give the certificate NAME (pirates-keygen NAME [--dir D])");
    if (name.find('/') != std::string::npos) cli.fail("NAME must not contain '/': use --dir");

    auto written = pirates::write_certificate_pair(pirates::generate_certificate(), dir, name);
    if (!written) {
        std::fprintf(stderr, "pirates-keygen: %s\n", written.error().reason.c_str());
        return 1;
    }
    pirates::log::info("wrote {}/{}.key and {}", dir, name, written->string());
    return 0;
} catch (...) {
    return pirates::exit_on_exception();
}
