#!/usr/bin/env bash
# Runs every libFuzzer harness of a fuzz build for a while (docs/fuzzing.md).
#   scripts/fuzz.sh BUILD_DIR SECONDS [OUT_DIR]
# Each harness starts from a copy of its seed corpus (fuzz/corpus/<name>),
# with its dictionary when fuzz/<name>.dict exists, inputs up to 64 KiB, a
# 2 GiB memory limit, a 25 s limit per input (a hang is a failure) and the
# seed HR_FUZZ_SEED (default 1).  Then
# it must run its whole seed corpus cleanly.  With OUT_DIR (make fuzz-long),
# the grown corpora, the logs and any crash, leak or timeout inputs are kept
# there; without, they go to a temporary folder.  Exits 1 when any harness
# found a failure, after running all of them.
set -uo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [OUT_DIR]}
secs=${2:?usage: scripts/fuzz.sh BUILD_DIR SECONDS [OUT_DIR]}
out=${3:-}
cd "$(dirname "$0")/.."
keep=1
if [ -z "$out" ]; then
  out=$(mktemp -d)
  keep=0
fi
mkdir -p "$out"
# A fixed seed: the same code explores the same inputs in the same order, so
# a CI run is reproducible (a faster machine only goes further along the
# same path).  HR_FUZZ_SEED=0 lets libFuzzer pick one (make fuzz-long).
seed=${HR_FUZZ_SEED:-1}
failed=()
# Harnesses to leave out (names between spaces), for a defect being fixed;
# HR_FUZZ_ALL=1 runs them anyway.  Empty: every harness runs.
skip=" "
for f in "$build"/fuzz_*; do
  [ -x "$f" ] || continue
  name=$(basename "$f")
  if [ -z "${HR_FUZZ_ALL:-}" ] && [[ "$skip" == *" $name "* ]]; then
    echo "--- $name: skipped (known defect, docs/fuzzing.md)"
    continue
  fi
  corpus="$out/corpus/$name"
  mkdir -p "$corpus" "$out/artifacts/$name"
  if [ -d "fuzz/corpus/$name" ]; then cp -r "fuzz/corpus/$name/." "$corpus/"; fi
  dict=()
  if [ -f "fuzz/$name.dict" ]; then dict=(-dict="fuzz/$name.dict"); fi
  echo "--- $name (${secs}s)"
  "$f" "${dict[@]}" -seed="$seed" -max_total_time="$secs" -max_len=65536 -rss_limit_mb=2048 -timeout=25 \
    -print_final_stats=1 -artifact_prefix="$out/artifacts/$name/" "$corpus" \
    > "$out/$name.log" 2>&1
  rc=$?
  grep -E 'stat::number_of_executed_units|stat::average_exec_per_sec|ERROR|SUMMARY' \
    "$out/$name.log" || true
  if [ $rc -ne 0 ] || ls "$out/artifacts/$name/"* >/dev/null 2>&1; then
    echo "$name: found a failure; input(s): $(ls "$out/artifacts/$name/" | tr '\n' ' ')"
    tail -n 40 "$out/$name.log"
    failed+=("$name")
    continue
  fi
  if ! "$f" -runs=0 "fuzz/corpus/$name" >"$out/$name.seeds.log" 2>&1; then
    echo "$name: failed on its seed corpus"
    tail -n 40 "$out/$name.seeds.log"
    failed+=("$name")
  fi
done
# Every reproducer in fuzz/reproducers/ (docs/fuzzing.md) through its harness,
# named by the file's prefix: fixed defects must stay fixed, and open ones must
# be stepped around outside strict mode.
harness_of() {
  case "$1" in
  meter-*) echo fuzz_meter ;;
  traceset-*) echo fuzz_traceset ;;
  lut-*) echo fuzz_lut ;;
  plan-workload-*) echo fuzz_plan_workload ;;
  plan-metrics-*) echo fuzz_plan_metrics ;;
  lease-*) echo fuzz_lease ;;
  svg-* | png-*) echo fuzz_charts ;;
  gen-*) echo fuzz_gen ;;
  wire-pb-*) echo fuzz_wire_pb ;;
  *) echo "" ;;
  esac
}
for r in fuzz/reproducers/*; do
  [ -f "$r" ] || continue
  h=$(harness_of "$(basename "$r")")
  if [ -z "$h" ] || [ ! -x "$build/$h" ]; then
    echo "reproducer $r: no harness for its name"
    failed+=("reproducers")
    continue
  fi
  if ! "$build/$h" -timeout=25 -rss_limit_mb=2048 "$r" >"$out/repro.log" 2>&1; then
    echo "reproducer $r fails in $h:"
    tail -n 20 "$out/repro.log"
    failed+=("$h($(basename "$r"))")
  fi
done
echo "reproducers: $(ls fuzz/reproducers | wc -l) replayed"
if [ $keep -eq 0 ]; then rm -rf "$out"; else echo "corpora, logs and findings kept in $out"; fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found failures in: ${failed[*]}"
  exit 1
fi
echo "fuzz: every harness ran clean"
