#!/usr/bin/env bash
# The main demo. Until a pattern module exists it shows the common layer's tests passing.
set -euo pipefail
bin=${1:-build/bin}
"$bin/test_common" --minimal
