#!/usr/bin/env bash
# Installs the Debian 12 packages headroom needs to build, test and run.
# Idempotent: packages already present are not touched, and apt is only
# called when something is missing.
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev          # libFuzzer harnesses and sanitizer runtime
  libcmocka-dev                     # unit-test framework
  python3 python3-numpy python3-scipy  # test oracles and the NumPy benchmark baseline
  libyaml-dev                       # tree/config files
  libpng-dev zlib1g-dev             # PNG charts of the planning studies
  libjansson-dev libcsv-dev         # JSON Lines and CSV request traces (plan)
  scdoc                             # the man page (docs/headroom.1.scd)
)

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
