#!/bin/sh
# run.sh: builds what the benchmark needs and runs it; prints one Markdown table.
#
#   bench/run.sh [BUILD_DIR] [--quick] [bench.py options]
#                                (default BUILD_DIR: build/ of this repository)
#
# Configures BUILD_DIR if it has no CMakeCache.txt, builds the cluster
# binaries, vr-bench-zmq-rtt and vr-bench-turn, then runs in /usr/bin/python3
# (the interpreter with numpy):
#   1. bench/bench.py: the cluster backbone (turn protocol, attach); extra
#      options after BUILD_DIR go to it (see bench/bench.py --help);
#   2. bench/scale.py: the simulation at scale, one universe of 1M ships in
#      process (vr-bench-turn) and 10M ships over 8 universes on a real
#      cluster; it merges bench.py's rows into the one table it prints;
#   3. bench/bridge.py, bench/events.py and bench/recovery.py: the Python
#      bridge, the event stream and recovery after a worker kill, one table
#      each.
# --quick skips the 10M-ship cluster (the slow part: about 30 s here with
# today's turn, at most about 3 minutes: bench/scale.py fits it to a budget).
# A part that fails does not stop the others; the exit status is then 1.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
    build=$(mkdir -p "$1" && cd "$1" && pwd)
    shift
else
    build=$root/build
fi
python=/usr/bin/python3
quick=
n=$#
while [ "$n" -gt 0 ]; do # drop --quick from the arguments that go to bench.py
    a=$1
    shift
    n=$((n - 1))
    if [ "$a" = --quick ]; then quick=--quick; else set -- "$@" "$a"; fi
done

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
targets="--target vr-coordinator vr-worker vrctl vr-bench-zmq-rtt vr-bench-turn vr-bench-portal"
# a tree configured before bench/CMakeLists.txt had targets needs a re-configure
if ! cmake --build "$build" -j2 $targets >"$log" 2>&1; then
    quiet cmake "$build"
    quiet cmake --build "$build" -j2 $targets
fi
rm -f "$log"

backbone=$(mktemp "${TMPDIR:-/tmp}/vr-bench-backbone.XXXXXX")
trap 'rm -f "$backbone"' EXIT
# a failed part does not stop the others; the exit status tells
status=0
if "$python" "$root/bench/bench.py" "$build" "$@" >"$backbone"; then
    with="--backbone $backbone"
else
    echo "bench/run.sh: bench/bench.py failed (see above); its rows are missing from the table" >&2
    with=
    status=1
fi
"$python" "$root/bench/scale.py" "$build" $with $quick || status=1
# the Python bridge (attach, column reads, command round trip) and the event
# stream, each with its own table
echo
"$python" "$root/bench/bridge.py" "$build" $quick | sed '/^{/d' || status=1
echo
"$python" "$root/bench/events.py" --build "$build" || status=1
# portal transfers between two processes, beside msgpack and raw ZeroMQ floors
echo
"$build/bin/vr-bench-portal" || status=1
exit $status
