#!/bin/sh
# contenox benchmark against boto3 (issue 6). `make bench` builds the release binary first and runs this;
# this script builds nothing. Environment: CONTENOX_BIN (default .build/release/contenox), BENCH_RUNS
# (default 5) and the others listed at the top of bench/bench.py. Results: bench/results/<time>.json and
# bench/results/latest.md (also printed).
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import boto3' 2>/dev/null; then
    echo "bench: installing boto3 with pip" >&2
    "$PYTHON" -m pip install --quiet --user boto3 ||
        "$PYTHON" -m pip install --quiet --user --break-system-packages boto3
fi
exec "$PYTHON" bench/bench.py "$@"
