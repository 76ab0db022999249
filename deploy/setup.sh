#!/usr/bin/env bash
# setup.sh: installs what is missing (Debian packages), configures and builds
# vr, and makes the Python package importable.  Idempotent and quiet when
# nothing is missing.  Sourced by run.sh and test.sh; usable alone.
#
#   deploy/setup.sh [BUILD_DIR [CMAKE_ARGS...]]     (default BUILD_DIR: build)
set -euo pipefail

VR_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${1:-build}
shift || true
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$VR_ROOT/$BUILD_DIR" ;; esac

PACKAGES=(build-essential cmake pkg-config libzmq3-dev libmsgpack-dev libhwloc-dev hwloc
          check libsubunit-dev libxxhash-dev libjansson-dev python3 python3-numpy python3-zmq
          python3-msgpack python3-pytest python3-matplotlib python3-pandas)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "setup: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
    SUDO=sudo
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq >/dev/null
  # --no-install-recommends: msgpack's C++ half and Boost are not needed
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

log="$BUILD_DIR.log"
mkdir -p "$BUILD_DIR"
if ! cmake -S "$VR_ROOT" -B "$BUILD_DIR" -DPython3_EXECUTABLE=/usr/bin/python3 -DVR_WERROR=ON "$@" >"$log" 2>&1 \
   || ! cmake --build "$BUILD_DIR" -j"$(nproc)" >>"$log" 2>&1; then
  cat "$log" >&2
  echo "setup: build failed (log: $log)" >&2
  exit 1
fi

# The Python package: a venv on the distribution's Python that sees Debian's
# numpy/pyzmq/msgpack, with bridge/python on its path.
venv="$BUILD_DIR/venv"
if [ ! -x "$venv/bin/python" ]; then
  /usr/bin/python3 -m venv --without-pip --system-site-packages "$venv" >/dev/null
fi
site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
echo "$VR_ROOT/bridge/python" > "$site/voidreckoning.pth"
