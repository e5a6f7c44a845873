#!/usr/bin/env bash
# Checks the Debian packages that `./pirates package` wrote into <build dir>: their control fields and contents
# (dpkg-deb -I / -c), then extracts both into a scratch root (dpkg -x: nothing is installed on this machine),
# runs the extracted mdbroker, and builds tests/consumer against the extracted headers and libraries, both
# with find_package(pirates ... COMPONENTS ...) and with pkg-config.
# Usage: tests/package/check.sh [build dir, default build]   (RUN_FLAG=--help to try it without --version)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=$(realpath "${1:-build}")
run_flag=${RUN_FLAG:-"--version"}
version=$(sed -n 's/^CMAKE_PROJECT_VERSION:STATIC=//p' "$build/CMakeCache.txt")
arch=$(dpkg --print-architecture)
programs_deb=$build/pirates_${version}_${arch}.deb
dev_deb=$build/libpirates-dev_${version}_${arch}.deb
fail() { echo "package check: $*" >&2; exit 1; }
[ -f "$programs_deb" ] || fail "no $programs_deb (run ./pirates package)"
[ -f "$dev_deb" ] || fail "no $dev_deb (run ./pirates package)"

scratch=$(mktemp -d "${TMPDIR:-/tmp}/pirates-package.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Control fields.
for deb in "$programs_deb" "$dev_deb"; do
    echo "== $(basename "$deb")"
    dpkg-deb -I "$deb"
done
field() { dpkg-deb -f "$1" "$2"; }
[ "$(field "$programs_deb" Package)" = pirates ] || fail "programs package is not named pirates"
[ "$(field "$dev_deb" Package)" = libpirates-dev ] || fail "dev package is not named libpirates-dev"
[ "$(field "$programs_deb" Version)" = "$version" ] || fail "programs package version is not $version"
depends=$(field "$programs_deb" Depends)
for dep in libzmq5 libc6 libstdc++6; do
    grep -q "\b$dep\b" <<<"$depends" || fail "pirates does not depend on $dep (Depends: $depends)"
done
dev_depends=$(field "$dev_deb" Depends)
for dep in libzmq3-dev cppzmq-dev libfmt-dev; do
    grep -q "\b$dep\b" <<<"$dev_depends" || fail "libpirates-dev does not depend on $dep (Depends: $dev_depends)"
done
dpkg-deb --ctrl-tarfile "$programs_deb" | tar -x -C "$scratch" ./conffiles
for conf in dist/config/*.toml; do
    grep -qx "/etc/pirates/$(basename "$conf")" "$scratch/conffiles" || fail "$conf is not a conffile"
done

# Contents. Whatever the build installs is in one of the two packages: no install() outside the components.
cmake --install "$build" --component Unspecified --prefix "$scratch/unspecified" >/dev/null
[ -z "$(find "$scratch/unspecified" -type f 2>/dev/null)" ] \
    || fail "files installed outside the components programs and dev: $(find "$scratch/unspecified" -type f)"
dpkg-deb -c "$programs_deb" | awk '{print $6}' | sed 's|^\./|/|' > "$scratch/programs.list"
dpkg-deb -c "$dev_deb" | awk '{print $6}' | sed 's|^\./|/|' > "$scratch/dev.list"
echo "== contents of $(basename "$programs_deb")"; cat "$scratch/programs.list"
echo "== contents of $(basename "$dev_deb")"; cat "$scratch/dev.list"
has() { grep -qx -- "$2" "$scratch/$1.list" || fail "$1 package has no $2"; }
programs=(lpclient lpserver spqueue spworker ppqueue ppworker mdbroker mdclient mdworker mdadmin titanic ticlient
          bstarsrv bstarcli flserver flclient bstarwitness)
for p in "${programs[@]}"; do
    has programs "/usr/bin/$p"
    has programs "/usr/share/man/man1/$p.1.gz"
done
for unit in dist/systemd/*.service; do has programs "/lib/systemd/system/$(basename "$unit")"; done
for conf in dist/config/*.toml; do has programs "/etc/pirates/$(basename "$conf")"; done
! grep -E '/(bench_|example_|pirates_test)' "$scratch/programs.list" "$scratch/dev.list" \
    || fail "a benchmark, example or test program is packaged"
modules=(common lazy_pirate simple_pirate paranoid_pirate majordomo titanic binary_star freelance)
for m in "${modules[@]}"; do
    grep -q "^/usr/include/pirates/$m/" "$scratch/dev.list" || fail "dev package has no headers of $m"
    grep -qE "^/usr/lib/(.*/)?libpirates_$m\.(a|so)$" "$scratch/dev.list" || fail "dev package has no libpirates_$m"
    grep -qE "^/usr/lib/(.*/)?pkgconfig/pirates-$m\.pc$" "$scratch/dev.list" || fail "dev package has no pirates-$m.pc"
done
grep -qE '^/usr/lib/(.*/)?cmake/pirates/piratesConfig\.cmake$' "$scratch/dev.list" || fail "dev package has no CMake package"

# The units, as systemd reads them (when systemd-analyze is there; the programs are not in /usr/bin here).
if command -v systemd-analyze >/dev/null; then
    mkdir -p "$scratch/units"
    for unit in dist/systemd/*.service; do
        name=$(basename "$unit"); name=${name/@.service/@primary.service}
        cp "$unit" "$scratch/units/$name"
        report=$(systemd-analyze verify --man=no "$scratch/units/$name" 2>&1 | grep -v 'is not executable' || true)
        [ -z "$report" ] || fail "systemd-analyze verify $name: $report"
    done
    echo "== systemd-analyze verify: the units are clean"
fi

# Extract both into a scratch root and use them from there.
root=$scratch/root
dpkg -x "$programs_deb" "$root"
dpkg -x "$dev_deb" "$root"
libdirs=$(find "$root/usr/lib" -name 'libpirates_*.so*' -printf '%h\n' | sort -u | paste -sd:)
out=$(LD_LIBRARY_PATH=${libdirs} "$root/usr/bin/mdbroker" "$run_flag" 2>&1) \
    || fail "the extracted mdbroker $run_flag failed: $out"
echo "== mdbroker $run_flag"; echo "$out"
if [ "$run_flag" = --version ]; then
    [ "$out" = "mdbroker $version" ] || fail "mdbroker --version printed '$out', not 'mdbroker $version'"
fi
zcat "$root/usr/share/man/man1/mdbroker.1.gz" | grep -q '^\.SH DESCRIPTION' || fail "mdbroker.1 has no DESCRIPTION"

cmake -DBUILD_DIR="$build" -DSOURCE_DIR="$PWD/tests/consumer" -DWORK_DIR="$scratch/consumer" \
      -DPREFIX="$root/usr" -DVERSION="$version" -P tests/consumer/check.cmake
# And by hand, as the documentation says: pkg-config --cflags --libs.
pcdir=$(dirname "$(find "$root/usr/lib" -name pirates-majordomo.pc)")
flags=$(PKG_CONFIG_PATH=$pcdir pkg-config --cflags --libs pirates-majordomo pirates-titanic)
echo "== c++ -std=c++20 main.cpp $flags"
# shellcheck disable=SC2086
c++ -std=c++20 tests/consumer/main.cpp $flags -o "$scratch/consumer-by-hand"
LD_LIBRARY_PATH=${libdirs} "$scratch/consumer-by-hand"
echo "package check: both packages look right ($(wc -l <"$scratch/programs.list") + $(wc -l <"$scratch/dev.list") paths)"
