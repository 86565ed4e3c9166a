#!/usr/bin/env bash
# Measurement-engine benchmark: the whole engine and the per-cycle subset in C,
# and the NumPy baseline of the subset, on the same data in one command.
# usage: bench/run.sh [SECONDS=120] [REPEATS=5]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-120}
repeats=${2:-5}
build=${HR_BUILD:-build}
[ -x "$build/bench_meter" ] || { cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null; cmake --build "$build" -j "$(nproc)" >/dev/null; }
data=$(mktemp --suffix=.f32)
trap 'rm -f "$data"' EXIT
/usr/bin/python3 bench/make_signal.py "$data" "$seconds" 8000 60
c_out=$("$build/bench_meter" "$data" 8000 60 "$repeats")
np_out=$(/usr/bin/python3 bench/numpy_subset.py "$data" 8000 "$repeats")
echo "$c_out"
echo "$np_out"
/usr/bin/python3 - "$c_out" "$np_out" <<'PY'
import re, sys
c, n = sys.argv[1], sys.argv[2]
whole = float(re.search(r"whole\s+samples_per_s=(\S+)", c).group(1))
sub = float(re.search(r"subset samples_per_s=(\S+)", c).group(1))
base = float(re.search(r"samples_per_s=(\S+)", n).group(1))
print(f"ratio whole engine / numpy subset = {whole / base:.2f}")
print(f"ratio C subset    / numpy subset = {sub / base:.2f}")
PY
