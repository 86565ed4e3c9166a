# Convenience front end; the real build is CMake (see README.md).
JOBS ?= $(shell nproc)

.PHONY: all build demo check test bench fuzz-long clean install results

all: build

build:
	bash scripts/install-deps.sh
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j $(JOBS)

demo: build
	./build/headroom demo

# The quick tier for the edit-compile-test loop (under a minute): the tests
# labelled quick in CMakeLists.txt, on the normal build.
check: build
	cd build && ctest -L quick -j $(JOBS) --output-on-failure

# Everything, as CI runs it: strict, sanitizers, fuzzing (scripts/test.sh).
test:
	bash scripts/test.sh

# PREFIX=/usr/local by default: library, headers, headroom.pc, the command.
PREFIX ?= /usr/local
install: build
	cmake --install build --prefix $(PREFIX)

bench: build
	bash bench/run.sh

# docs/results.md: every scenario under every policy, and the capacity search
# (scripts/results.py; docs/sim.md).
results: build
	python3 scripts/results.py --bin build/headroom --out docs/results.md \
	  --capacity scenarios/sync-restart.yaml:scenarios/capacity/utility-outage-row.yaml,scenarios/capacity/training-2n.yaml

# Nightly-style fuzzing: every harness for FUZZ_SECONDS (default 600) each,
# corpora, logs and findings kept in FUZZ_OUT (docs/fuzzing.md).
FUZZ_SECONDS ?= 600
FUZZ_OUT ?= build-fuzz/out

fuzz-long:
	CC=clang cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DHR_FUZZ=ON -DHR_TESTS=OFF \
	  -DHR_BENCH=OFF -DCMAKE_C_FLAGS_DEBUG="-O1 -g" >/dev/null
	cmake --build build-fuzz -j $(JOBS)
	HR_FUZZ_SEED=$${HR_FUZZ_SEED:-0} bash scripts/fuzz.sh build-fuzz $(FUZZ_SECONDS) $(FUZZ_OUT)

clean:
	rm -rf build build-san build-fuzz
