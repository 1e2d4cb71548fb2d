#!/usr/bin/env bash
# Installs the Debian 12 packages hugemem builds, tests and benchmarks with. Idempotent: does
# nothing when everything is already there.
set -euo pipefail
pkgs=(build-essential cmake ninja-build pkg-config git
      libgtest-dev libbenchmark-dev linux-libc-dev
      libmimalloc-dev libjemalloc-dev libgoogle-perftools-dev libdpdk-dev
      qemu-system-x86 busybox-static cpio
      python3 python3-matplotlib sqlite3 xz-utils valgrind time linux-perf clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if ((${#missing[@]})); then
  echo "deps: installing ${missing[*]}"
  SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
