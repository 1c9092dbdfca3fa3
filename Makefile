# SPDX-License-Identifier: MIT
# Thin wrapper over meson: every target sets up what it needs.
BUILD      ?= build
BUILD_ASAN ?= build-asan
MESON_ASAN  = -Db_sanitize=address,undefined -Dcpp_args=-fno-sanitize-recover=all -Dcpp_link_args=-fno-sanitize-recover=all

export ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: all deps build build-asan test test-unit run bench bench-crypto clean

all: build

deps:
	./scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

$(BUILD_ASAN)/build.ninja:
	meson setup $(BUILD_ASAN) $(MESON_ASAN)

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

build-asan: $(BUILD_ASAN)/build.ninja
	ninja -C $(BUILD_ASAN)

# deps + both builds + the whole suite twice (plain, then ASan+UBSan).
test: deps
	$(MAKE) build build-asan
	./tests/run-tests.sh $(BUILD) $(BUILD_ASAN)

# Quick loop: unit tests of the plain build only.
test-unit: build
	./tests/run-tests.sh $(BUILD)

# The FastCGI service arrives with issue 3; until then run runs the
# start-up self-test, the first thing the service will do.
run: deps
	$(MAKE) build
	./$(BUILD)/patchproof selftest

bench: bench-crypto

bench-crypto: deps
	$(MAKE) build
	./$(BUILD)/bench_crypto

clean:
	rm -rf $(BUILD) $(BUILD_ASAN)
