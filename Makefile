# The two commands of the README, plus bench, sanitize and chaos.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
CTEST_ARGS ?=

.PHONY: all deps build demo test bench bench-nexmark sanitize chaos clean format

all: build

deps:
	@bash scripts/install-deps.sh
	@bash scripts/install-npm.sh

$(BUILD)/build.ninja: | deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: deps $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	./$(BUILD)/examples/demo

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

bench: build
	@for b in $(BUILD)/bench/bench_*; do echo "== $$b"; $$b --quick || exit 1; done

# Nexmark at full size (20 M events per run): the table next to the published figures.
bench-nexmark: build
	./$(BUILD)/bench/bench_nexmark

sanitize: deps
	cmake -S . -B $(ASAN_BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Debug -DSLUICE_SANITIZE=ON
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) $(CTEST_ARGS)

# `sluice chaos` with 500 kills (SIGKILL and every crash point) on a windowed count into files and
# a copy into Delta, then the crash tests with 500 SIGKILLs instead of the 20 of `make test`.
chaos: build
	./$(BUILD)/tools/sluice chaos --pipeline examples/chaos/windowed_counts.sql --kills 500
	./$(BUILD)/tools/sluice chaos --pipeline examples/chaos/delta_copy.sql --kills 500
	cd $(BUILD) && SLUICE_CHAOS_KILLS=500 ctest --output-on-failure -R 'crash_recovery|kafka_crash'

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
