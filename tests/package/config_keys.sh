#!/usr/bin/env bash
# Every key of dist/config/<program>[-role].toml, set or commented out ("# key = value"), is a long flag of that
# program's --help, and every long flag of a server's --help has its key (but --help, --config, --version).
# So the example configs follow the programs' flags. Usage: config_keys.sh <bin dir> <dist/config dir>
set -euo pipefail
bin=$1 dir=$2
fail=0
for conf in "$dir"/*.toml; do
    name=$(basename "$conf" .toml)
    program=${name%%-*}
    help=$("$bin/$program" --help)
    flags=$(grep -oE -- '--[a-z][a-z0-9-]*' <<<"$help" | sed 's/^--//' | sort -u | grep -vxE 'help|config|version')
    keys=$(sed -nE 's/^#? ?([a-z][a-z0-9-]*) = .*/\1/p' "$conf" | sort -u)
    for key in $keys; do
        grep -qx -- "$key" <<<"$flags" || { echo "$conf: key '$key' is not a flag of $program"; fail=1; }
    done
    for flag in $flags; do
        grep -qx -- "$flag" <<<"$keys" || { echo "$conf: no key for $program --$flag"; fail=1; }
    done
    echo "$conf: $(wc -w <<<"$keys") keys"
done
exit $fail
