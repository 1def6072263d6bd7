# shellcheck shell=bash
# Shared by demo.sh and test.sh (sourced, not run): installs what is missing
# on Debian (bookworm) and configures/builds a meson build directory.

WEFT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WEFT_LIT=/usr/lib/llvm-19/build/utils/lit/lit.py
WEFT_LLVM_BIN=/usr/lib/llvm-19/bin
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

# Everything a fresh Debian bookworm needs to build and test Weft.
WEFT_PACKAGES=(
  meson ninja-build pkg-config flex bison libfl-dev
  gcc g++ libc6-dev
  llvm-19-dev llvm-19-tools
  libuv1-dev libcmocka-dev
  python3 python3-psutil
  cmake make   # tests/lit/integration: the CMake and Makefile recipes
)

weft_say() { printf '\n==> %s\n' "$*"; }
weft_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

weft_missing_packages() {
  local p
  for p in "${WEFT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' \
      || printf '%s\n' "$p"
  done
}

# Installs the packages that are not installed yet (apt only; nothing when
# everything is there). Root runs apt-get itself; others go through sudo.
weft_install_deps() {
  if ! command -v dpkg-query >/dev/null 2>&1; then
    weft_say "not a Debian system: make sure these are installed: ${WEFT_PACKAGES[*]}"
    return 0
  fi
  local missing
  missing=$(weft_missing_packages | tr '\n' ' ')
  if [ -z "${missing// /}" ]; then
    weft_say "all required packages are installed"
    return 0
  fi
  weft_say "installing: $missing"
  local sudo=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 \
      || weft_die "not root and no sudo: install as root: apt-get install $missing"
    if [ -t 0 ]; then sudo=(sudo); else sudo=(sudo -n); fi
  fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update </dev/null \
    || weft_die "apt-get update failed"
  # shellcheck disable=SC2086
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    $missing </dev/null || weft_die "apt-get install failed"
}

# weft_configure DIR [meson options...]: sets up DIR unless it already is.
weft_configure() {
  local dir=$1
  shift
  cd "$WEFT_ROOT" || return 1
  if [ -f "$dir/build.ninja" ]; then
    if [ $# -gt 0 ]; then
      meson configure "$dir" "$@" >/dev/null || return 1
    fi
    return 0
  fi
  local wipe=()
  [ -d "$dir/meson-private" ] && wipe=(--wipe)
  weft_say "configuring $dir"
  meson setup "${wipe[@]}" "$dir" --native-file llvm19.ini "$@"
}

# weft_build DIR: builds everything it can (-k 0), on all cores.
weft_build() {
  weft_say "building $1"
  ninja -C "$WEFT_ROOT/$1" -j "$JOBS" -k 0
}
