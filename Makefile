# Convenience front end; the real build is CMake (see README.md).
JOBS ?= $(shell nproc)

.PHONY: all build demo test bench clean

all: build

build:
	bash scripts/install-deps.sh
	cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j $(JOBS)

demo: build
	./build/headroom demo

test:
	bash scripts/test.sh

bench: build
	bash bench/run.sh

clean:
	rm -rf build build-san build-fuzz
