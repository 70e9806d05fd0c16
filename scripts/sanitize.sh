#!/usr/bin/env bash
# Builds the whole Swift test suite with one sanitizer and runs it, split as `make test` splits it, then the
# editor tests against the instrumented `contenox serve`:
#   address   AddressSanitizer with LeakSanitizer (suppressions: scripts/lsan.supp), scratch path .build-asan
#   thread    ThreadSanitizer, scratch path .build-tsan
# Every instrumented process (the test runner and each `contenox` the tests spawn) writes its reports to
# files under SCRATCH/sanitizer-logs rather than to stderr, which tests often discard or never read. Any file
# there fails this script, and all of them are printed. halt_on_error=1 also makes a process stop at its
# first report, so the test that spawned it fails as well.
# Usage: scripts/sanitize.sh address|thread    ($SWIFT, default swift, is the toolchain's driver)
set -euo pipefail
cd "$(dirname "$0")/.."
swift=${SWIFT:-swift}
kind=${1:-}
case "$kind" in
address) scratch=.build-asan ;;
thread) scratch=.build-tsan ;;
*)
    echo "usage: scripts/sanitize.sh address|thread" >&2
    exit 2
    ;;
esac

"$swift" build --build-tests -Xswiftc -warnings-as-errors -Xswiftc -sanitize="$kind" --scratch-path "$scratch"

logs="$PWD/$scratch/sanitizer-logs"
rm -rf "$logs"
mkdir -p "$logs"
# Everything runs several times slower, and RSS includes shadow memory (see Tests/TestSupport/TestScale.swift).
export CONTENOX_TEST_TIME_SCALE=4
if [[ $kind == address ]]; then
    # ASan's quarantine keeps up to 256 MiB of freed blocks resident: 520 MiB where a plain build peaks at 53.
    export CONTENOX_TEST_MEMORY_SCALE=8
    export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:log_path=$logs/asan"
    export LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp:print_suppressions=0"
else
    export CONTENOX_TEST_MEMORY_SCALE=1
    # atexit_sleep_ms: TSan's default keeps every exiting process alive one more second, and the tests run
    # hundreds of short `contenox` commands, each blocking a test thread meanwhile.
    export TSAN_OPTIONS="halt_on_error=1:log_path=$logs/tsan:atexit_sleep_ms=50"
fi

# ThreadSanitizer's own runtime now and then fails an internal check in the child of a clone() (posix_spawn,
# which every test that starts a process goes through): "ThreadSanitizer: CHECK failed: tsan_rtl.cpp:...
# FindSlotAndLock" under ForkChildAfter, which kills the process that spawned. That is a fault of the
# runtime, not a report about this code. A phase that fails leaving only such files (no WARNING, ERROR or
# SUMMARY of a report) is run once more; the files are kept in $runtime_failures and named below, and the
# second run's result stands. Any real report fails as always.
runtime_failures="$PWD/$scratch/sanitizer-runtime-failures"
rm -rf "$runtime_failures"
only_runtime_failures() {
    local files=("$logs"/*)
    [[ $kind == thread && -e ${files[0]} ]] || return 1
    local file
    for file in "${files[@]}"; do
        grep -q "ThreadSanitizer: CHECK failed" "$file" || return 1
        ! grep -qE "(WARNING|ERROR|SUMMARY): ThreadSanitizer" "$file" || return 1
    done
}
phase() {
    "$@" && return 0
    only_runtime_failures || return 1
    mkdir -p "$runtime_failures"
    mv "$logs"/* "$runtime_failures"/
    echo "sanitize: $kind: the TSan runtime failed its own CHECK (kept in $runtime_failures); running again: $*" >&2
    "$@"
}

# The sanitizers report crashes themselves. Swift's own backtracer, inside an instrumented process, is what
# trips them instead (ASan flags its memory reader; under TSan its spawn hits the CHECK above), and its
# helper process then lingers holding the test runner's output open, so `swift test` never returns.
export SWIFT_BACKTRACE=enable=no
# One test at a time: at the sanitizers' slowdown, the suite's parallel tests (each with Python fixtures and
# `contenox` children) oversubscribed 2 cores until time-bounded tests missed their bounds. Each phase also
# has a hard limit, so that a hang fails in minutes instead of holding CI to its own limit.
limit=(timeout --kill-after=30 1500)

started=$SECONDS
status=0
phase "${limit[@]}" "$swift" test --skip-build --no-parallel --scratch-path "$scratch" --skip RobustnessTests || status=1
phase "${limit[@]}" "$swift" test --skip-build --no-parallel --scratch-path "$scratch" --filter RobustnessTests || status=1
# The editor glue in the real editors, against this instrumented server (what `make test` runs last).
phase "${limit[@]}" env CONTENOX_REAL=1 CONTENOX_BIN="$PWD/$scratch/debug/contenox serve" editor-clients/tests/run.sh \
    || status=1
reports=("$logs"/*)
if [[ -e ${reports[0]} ]]; then
    for report in "${reports[@]}"; do
        echo "==== $report"
        cat "$report"
    done
    echo "sanitize: $kind: ${#reports[@]} process(es) reported, see above" >&2
    status=1
fi
if [[ -d $runtime_failures ]]; then
    echo "sanitize: $kind: runtime CHECK failures retried: $(ls "$runtime_failures" | tr '\n' ' ')"
fi
echo "sanitize: $kind: tests ran for $((SECONDS - started)) s, status $status"
exit $status
