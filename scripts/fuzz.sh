#!/usr/bin/env bash
# Builds the libFuzzer target (Fuzz/FuzzParsers: both framers, JSON, JSON-RPC decoding, the event-stream
# decoder) with AddressSanitizer and runs it for SECONDS (default 20) from Fuzz/Corpus.
# Usage: scripts/fuzz.sh [SECONDS]    CI runs 20 s; run it for hours by hand.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
swift build -c release --product FuzzParsers -Xswiftc -DFUZZING -Xswiftc -sanitize=fuzzer,address \
    --scratch-path .build-fuzz
work=$(mktemp -d)
trap 'rm -rf "$work" "${log:-}"' EXIT
cp Fuzz/Corpus/* "$work"/
# New crashes are written to Fuzz/Crashes/ and fail this script; they are replayed by the tests from then on.
# libFuzzer's progress lines go to a log; the summary (or, on a crash, the report) is printed.
log=$(mktemp)
if ASAN_OPTIONS=detect_leaks=0 .build-fuzz/release/FuzzParsers -max_total_time="$seconds" -max_len=4096 \
    -print_final_stats=1 -artifact_prefix=Fuzz/Crashes/ "$work" >"$log" 2>&1; then
    grep -E "^Done |stat::number_of_executed_units|stat::new_units_added" "$log"
    echo "fuzz: no crash in $seconds s"
else
    tail -60 "$log"
    echo "fuzz: crash found; the input is in Fuzz/Crashes/" >&2
    exit 1
fi
