#!/usr/bin/env bash
# Builds the libFuzzer target (Fuzz/FuzzParsers) with AddressSanitizer and runs it from Fuzz/Corpus on each
# parser family in turn, SECONDS (default 5) each: lsp and ndjson framing, json, jsonrpc decoding, the
# eventstream decoder, the awsconfig/credentials files, the credential JSON documents (credentials:
# credential_process, apiKeyEnv, container/IMDS), sts answers and signin (the IAM Identity Center portal's and
# the sign-in service's answers). Each family gets its own run
# (CONTENOX_FUZZ_FAMILY), so the easy ones cannot take the time of the others.
# Usage: scripts/fuzz.sh [SECONDS] [FAMILY...]    CI: 5 s per family; by hand, e.g. scripts/fuzz.sh 1800 awsconfig
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
shift || true
families=("$@")
if [ ${#families[@]} -eq 0 ]; then
    families=(lsp ndjson json jsonrpc eventstream awsconfig credentials sts signin)
fi
swift build -c release --product FuzzParsers -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer,address \
    --scratch-path .build-fuzz
work=$(mktemp -d)
log=$(mktemp)
trap 'rm -rf "$work" "$log"' EXIT
# New crashes are written to Fuzz/Crashes/ and fail this script; they are replayed by the tests from then on.
# libFuzzer's progress lines go to a log; the summary (or, on a crash, the report) is printed.
for family in "${families[@]}"; do
    rm -rf "${work:?}"/*
    cp Fuzz/Corpus/* "$work"/
    # SWIFT_BACKTRACE=enable=no: libFuzzer reports the crash; Swift's backtracer would only add a long wait.
    if CONTENOX_FUZZ_FAMILY="$family" ASAN_OPTIONS=detect_leaks=0 SWIFT_BACKTRACE=enable=no \
        .build-fuzz/release/FuzzParsers \
        -max_total_time="$seconds" -max_len=4096 -dict=Fuzz/parsers.dict -print_final_stats=1 \
        -artifact_prefix=Fuzz/Crashes/ "$work" >"$log" 2>&1; then
        runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
        added=$(sed -n 's/^stat::new_units_added: *//p' "$log")
        echo "fuzz $family: no crash in $seconds s ($runs runs, $added new inputs)"
    else
        tail -40 "$log"
        grep -m1 "Fatal error" "$log" || true
        echo "fuzz $family: crash found; the input is in Fuzz/Crashes/" >&2
        exit 1
    fi
done
