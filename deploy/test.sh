#!/usr/bin/env bash
# test.sh: set up (install, build) and run every test: Check suites, pytest
# suites and end-to-end cluster tests, first in the normal build, then the
# whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

leftover() { ls /dev/shm 2>/dev/null | grep -E '^vr\.(e2e|t)' | sort || true; }
# Segments that were there before this run are not this run's doing (a
# debugging session's CK_FORK=no run, another checkout's tests): only new
# ones fail the run.
before=$(leftover)

"$root/deploy/setup.sh" build
echo "== tests (build/)"
(cd build && ctest --output-on-failure -j2)

echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer (build-asan/)"
"$root/deploy/setup.sh" build-asan -DVR_SANITIZE=ON
(cd build-asan && CK_TIMEOUT_MULTIPLIER=3 ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
   ctest --output-on-failure -j2)

left=$(comm -13 <(echo "$before") <(leftover) | grep . || true)
if [ -n "$before" ]; then
  echo "test.sh: segments already in /dev/shm before the run (not checked):" >&2
  echo "$before" >&2
fi
if [ -n "$left" ]; then
  echo "test.sh: tests left shared-memory segments behind:" >&2
  echo "$left" >&2
  exit 1
fi
