#!/bin/sh
# run.sh: builds what the benchmark needs and runs it; prints a Markdown table.
#
#   bench/run.sh [BUILD_DIR]     (default: build/ of this repository)
#
# Configures BUILD_DIR if it has no CMakeCache.txt, builds the cluster
# binaries and vr-bench-zmq-rtt, then runs bench/bench.py in /usr/bin/python3
# (the interpreter with numpy).  Extra bench.py options may follow BUILD_DIR
# (see /usr/bin/python3 bench/bench.py --help).  Takes about a minute.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ]; then
    build=$(mkdir -p "$1" && cd "$1" && pwd)
    shift
else
    build=$root/build
fi
python=/usr/bin/python3

log=$(mktemp "${TMPDIR:-/tmp}/vr-bench-build.XXXXXX")
trap 'rm -f "$log"' EXIT
quiet() { # runs a build step; shows its output only when it fails
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "bench/run.sh: failed: $*" >&2
        exit 1
    fi
}
if [ ! -f "$build/CMakeCache.txt" ]; then
    quiet cmake -S "$root" -B "$build" -DPython3_EXECUTABLE=$python
fi
targets="--target vr-coordinator vr-worker vrctl vr-bench-zmq-rtt"
# a tree configured before bench/CMakeLists.txt had targets needs a re-configure
if ! cmake --build "$build" -j2 $targets >"$log" 2>&1; then
    quiet cmake "$build"
    quiet cmake --build "$build" -j2 $targets
fi
rm -f "$log"
trap - EXIT

exec "$python" "$root/bench/bench.py" "$build" "$@"
