# SPDX-License-Identifier: MIT
# Thin wrapper over meson: every target sets up what it needs.
BUILD      ?= build
BUILD_ASAN ?= build-asan
BUILD_FUZZ ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= routes fcgi_head hex base64url der base58 jwt tx canonical_json kms_client chain_client keystore
MESON_ASAN  = -Db_sanitize=address,undefined -Dcpp_args=-fno-sanitize-recover=all -Dcpp_link_args=-fno-sanitize-recover=all

export ASAN_OPTIONS  ?= detect_leaks=1:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1

.PHONY: all deps build build-asan test test-unit run bench bench-crypto fuzz fuzz-regressions clean

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

# The whole stack in the foreground on 127.0.0.1:8080 (https :8443, KMS
# :8090); state in var/, environment for clients in var/dev.env.
run: deps
	$(MAKE) build
	exec python3 scripts/stack.py run --var var --build $(BUILD) --source . \
		--http-port 8080 --https-port 8443 --kms-port 8090

bench: deps
	$(MAKE) build
	./$(BUILD)/bench_crypto
	python3 tests/bench/run_bench.py

bench-crypto: deps
	$(MAKE) build
	./$(BUILD)/bench_crypto

# libFuzzer targets (clang, ASan+UBSan): replay every seed and past crash,
# then fuzz each target for FUZZ_SECONDS (tests/fuzz/run.sh).
$(BUILD_FUZZ)/build.ninja:
	CXX=clang++ meson setup $(BUILD_FUZZ) -Dfuzz=true -Dtests=false

fuzz-regressions: deps $(BUILD_FUZZ)/build.ninja
	ninja -C $(BUILD_FUZZ) $(addprefix fuzz_,$(FUZZ_TARGETS))
	meson test -C $(BUILD_FUZZ) --no-rebuild --suite fuzz_regressions --print-errorlogs

fuzz: fuzz-regressions
	./tests/fuzz/run.sh $(BUILD_FUZZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf $(BUILD) $(BUILD_ASAN) $(BUILD_FUZZ)
