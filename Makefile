# segdb — thin wrapper over CMake. Targets:
#   make run     install deps, build (Release), start the server with 1M demo contacts
#   make test    install deps, build with ASan+UBSan, run every test suite
#   make bench   Release build with -march=native, segdb-bench at N contacts (N=10000000 by hand)
#   make bench-server  server and durability figures (PING vs redis-server, group commit,
#                COUNT, BGSAVE, restart) at N contacts, with bench/server-bench.sh
#   make fuzz    build the libFuzzer targets (clang) into build-fuzz/; FUZZ_SECONDS each
N ?= 1000000
PORT ?= 7311
JOBS ?= 2
FUZZ_SECONDS ?= 60
BUILD := build
RELEASE := build-release

.PHONY: all deps build release test unit integration bench bench-server run fuzz clean

all: build

deps:
	@bash tools/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Debug -DSEGDB_SANITIZE=ON >/dev/null
	cmake --build $(BUILD) -j$(JOBS)

release: deps
	cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DSEGDB_NATIVE=ON -DSEGDB_TESTS=OFF >/dev/null
	cmake --build $(RELEASE) -j$(JOBS)

unit: build
	cd $(BUILD) && ctest --output-on-failure

integration: build
	@if [ -x tests/integration/run.sh ] && [ -x $(BUILD)/segdb-server ]; then \
	  tests/integration/run.sh $(abspath $(BUILD)); \
	else echo "integration: skipped (no server built)"; fi

test: unit integration

bench: release
	$(RELEASE)/segdb-bench --n $(N) --tsv bench-$(N).tsv

bench-server: release
	bash bench/server-bench.sh $(RELEASE) $(N)

run: release
	@bash tools/run-demo.sh $(RELEASE) $(PORT)

fuzz:
	@bash tests/fuzz/build.sh build-fuzz $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD) $(RELEASE) build-fuzz

# ---- crash test (durability): kill -9 a real server under write load, restart,
# check that no acknowledged write is lost and none is half applied.
# `make test` runs CRASH_ROUNDS rounds (a few seconds); `make test-crash ROUNDS=100` many.
ROUNDS ?= 100
CRASH_ROUNDS ?= 5
.PHONY: crash test-crash

crash: build
	timeout -k 10 300 /usr/bin/python3 tests/integration/crash_test.py $(BUILD)/segdb-server --rounds $(CRASH_ROUNDS)

test-crash: build
	timeout -k 10 7200 /usr/bin/python3 tests/integration/crash_test.py $(BUILD)/segdb-server --rounds $(ROUNDS)

test: crash
