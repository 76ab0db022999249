#!/usr/bin/env bash
# run.sh: set up (install, build) and run the default cluster: 4 universes on
# the built-in scenario until Ctrl-C.  Extra arguments go to vr-coordinator
# (e.g. ./deploy/run.sh --turns 500).
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/deploy/setup.sh" build
exec "$root/build/bin/vr-coordinator" "$@"
