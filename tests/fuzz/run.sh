#!/bin/sh
# SPDX-License-Identifier: MIT
# Runs libFuzzer targets of a fuzz build (meson -Dfuzz=true) one after the
# other, SECONDS each, one job each:
#
#   tests/fuzz/run.sh BUILD_DIR SECONDS TARGET...      (TARGET: routes, hex, ...)
#
# Each target starts from its committed seeds (tests/fuzz/corpus/<t>) and past
# crashes (tests/fuzz/regressions/<t>); what it learns goes to
# BUILD_DIR/fuzz-work/<t>/corpus, crashes to BUILD_DIR/fuzz-work/<t>/. Prints
# one line per target (executions, crashes) and fails if any target crashed.
# Copy a crash file into tests/fuzz/regressions/<t>/ once it is fixed: the
# fuzz_regressions meson suite replays that directory.
set -u
# Paths are split on spaces below: keep the checkout path free of them.

if [ $# -lt 3 ]; then
    echo "usage: $0 BUILD_DIR SECONDS TARGET..." >&2
    exit 2
fi
build=$(cd "$1" && pwd)
seconds=$2
shift 2
src=$(cd "$(dirname "$0")" && pwd)

# libFuzzer reports through abort(); leaks count as failures.
export ASAN_OPTIONS="${FUZZ_ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}"
export UBSAN_OPTIONS="${FUZZ_UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

failed=0
summary=""
for t in "$@"; do
    exe="$build/fuzz_$t"
    if [ ! -x "$exe" ]; then
        echo "fuzz: $exe is missing (ninja -C $build fuzz_$t)" >&2
        exit 2
    fi
    work="$build/fuzz-work/$t"
    mkdir -p "$work/corpus"
    rm -f "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-* "$work"/fuzz-*.log
    dirs="$work/corpus"
    for d in "$src/corpus/$t" "$src/regressions/$t"; do
        [ -d "$d" ] && dirs="$dirs $d"
    done
    echo "fuzz: $t for ${seconds}s"
    # -jobs=1 writes the run's output to fuzz-0.log in the working directory.
    (cd "$work" && "$exe" -max_total_time="$seconds" -jobs=1 -print_final_stats=1 -timeout=25 \
        -rss_limit_mb=2560 -artifact_prefix="$work/" $dirs >/dev/null 2>&1)
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz-0.log" | tail -n 1)
    crashes=$(find "$work" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
    line="$t: execs=${execs:-?} crashes=$crashes"
    summary="$summary$line
"
    echo "fuzz: $line"
    if [ "$crashes" -ne 0 ] || [ -z "$execs" ]; then
        failed=1
        echo "fuzz: $t failed; log: $work/fuzz-0.log" >&2
        grep -E 'ERROR: |SUMMARY: |fuzz property failed' "$work/fuzz-0.log" | head -n 5 >&2
    fi
done
printf 'fuzz summary:\n%s' "$summary"
exit $failed
