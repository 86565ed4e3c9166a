#!/usr/bin/env bash
# Runs the whole test suite the way CI does:
#   1. installs the Debian packages (idempotent),
#   2. a strict build (-Wall -Wextra -Werror) and the full suite,
#   3. an AddressSanitizer + UndefinedBehaviorSanitizer build and the full suite, with
#      LeakSanitizer on: tests/cli/test_cli_harden.py runs the command's error paths there
#      and fails on any leak report (after a probe that LeakSanitizer works here at all),
#   4. every libFuzzer harness for a short time (HR_FUZZ_SECONDS, default 10;
#      `make fuzz-long` runs them longer, docs/fuzzing.md),
#   5. a check that the shared library exports only hr_ symbols,
#   6. a check that every C file follows .clang-format (scripts/format.sh --check).
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${HR_JOBS:-$(nproc)}
fuzz_s=${HR_FUZZ_SECONDS:-10}

bash scripts/install-deps.sh
# The store's PostgreSQL tests (tests/store/pg_server.sh) must run here: a
# missing server is a failure, not a skip.
export HR_REQUIRE_PG=1

# Ninja comes with install-deps.sh; make build and make demo use it too, so
# the build directories are shared without a generator clash.
gen=(-G Ninja)

step() { printf '\n=== %s ===\n' "$*"; }

step "strict build"
cmake -S . -B build "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DHR_STRICT=ON >/dev/null
cmake --build build -j "$jobs"

step "format"
bash scripts/format.sh --check

step "exported symbols"
bad=$(nm -D --defined-only build/libheadroom.so | awk '$2 ~ /[TDRB]/ {print $3}' | grep -v '^hr_' || true)
if [ -n "$bad" ]; then echo "symbols without the hr_ prefix exported:"; echo "$bad"; exit 1; fi
echo "ok: $(nm -D --defined-only build/libheadroom.so | awk '$2 ~ /T/' | wc -l) exported functions, all hr_"

step "test suite"
(cd build && ctest --output-on-failure -j "$jobs")

step "test suite under AddressSanitizer + UndefinedBehaviorSanitizer"
cmake -S . -B build-san "${gen[@]}" -DCMAKE_BUILD_TYPE=Debug -DHR_SANITIZE=ON -DHR_STRICT=ON \
  -DHR_BENCH=OFF -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
cmake --build build-san -j "$jobs"
# The leak checks of the CLI's error paths pass vacuously where LeakSanitizer
# cannot run (some containers forbid what it needs): prove it reports a leak.
probe=$(mktemp -d)
printf '#include <stdlib.h>\nint main(void) { void *volatile p = malloc(64); p = 0; return 0; }\n' \
  > "$probe/leak.c"
cc -fsanitize=address -g "$probe/leak.c" -o "$probe/leak"
# (the probe exits non-zero by design; under pipefail a pipe into grep would
# then count as a failure, so its output is kept first)
probe_out=$(ASAN_OPTIONS=detect_leaks=1 "$probe/leak" 2>&1 || true)
if grep -q "LeakSanitizer: detected memory leaks" <<<"$probe_out"; then
  echo "ok: LeakSanitizer reports leaks here"
else
  echo "LeakSanitizer does not work here: the CLI error-path leak checks would prove nothing"
  exit 1
fi
rm -rf "$probe"
(cd build-san && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ctest --output-on-failure -j "$jobs")

step "fuzz harnesses (${fuzz_s}s each)"
CC=clang cmake -S . -B build-fuzz "${gen[@]}" -DCMAKE_BUILD_TYPE=Debug -DHR_FUZZ=ON -DHR_TESTS=OFF \
  -DHR_BENCH=OFF -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
cmake --build build-fuzz -j "$jobs"
bash scripts/fuzz.sh build-fuzz "$fuzz_s"

step "all passed"
