#!/usr/bin/env bash
# Installs the Debian 12 packages headroom needs to build, test and run.
# Idempotent: packages already present are not touched, and apt is only
# called when something is missing.
set -euo pipefail

pkgs=(
  build-essential cmake ninja-build pkg-config git
  clang libclang-rt-14-dev          # libFuzzer harnesses and sanitizer runtime
  clang-format                      # the code's layout, checked by scripts/format.sh --check
  libcmocka-dev                     # unit-test framework
  python3 python3-numpy python3-scipy  # test oracles and the NumPy benchmark baseline
  libyaml-dev                       # tree/config files
  libcairo2-dev fonts-dejavu-core   # the studies' charts (PNG, SVG), drawn by the command
  libsqlite3-dev sqlite3            # the measurement store (src/store)
  protobuf-c-compiler libprotobuf-c-dev  # the PowerMeasurement wire message
  protobuf-compiler python3-protobuf     # tests/wire: an independent decoder of our bytes
  postgresql-15 libpq-dev           # the PostgreSQL store backend and its test server
  locales                           # tests/core: a comma-decimal locale (de_DE.UTF-8)
  libjansson-dev libcsv-dev         # JSON Lines and CSV request traces (plan)
  scdoc                             # the man page (docs/headroom.1.scd)
  libkissfft-dev                    # the FFT of the harmonics (src/pq/fft.c)
)

# tests/core/test_core.c sets a comma-decimal locale to prove that model files
# and JSON do not depend on the host's locale; generate it when missing.
need_locale() { ! locale -a 2>/dev/null | grep -qi '^de_DE\.utf-\?8$'; }

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

make_locale() {
  if need_locale; then
    echo "install-deps: generating the de_DE.UTF-8 locale" >&2
    $SUDO localedef -i de_DE -f UTF-8 de_DE.UTF-8
  fi
}

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -eq 0 ]; then
  make_locale
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
make_locale
