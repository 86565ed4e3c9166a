# Convenience front end; the real build is CMake (see README.md).
JOBS ?= $(shell nproc)

.PHONY: all build demo check test bench clean install

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

clean:
	rm -rf build build-san build-fuzz
