#!/usr/bin/env python3
"""Profiles `contenox serve` under callgrind during one stream from the stand-in (docs/performance.md).

    bench/profile.py [TOKENS]                  default 20000; CONTENOX_BIN as for bench.py
    BENCH_PROFILER=perf bench/profile.py       perf record -g instead of callgrind

Writes bench/results/callgrind.out.<time> (or perf.data.<time>) and prints the top of `callgrind_annotate`
(or `perf report`). Instruction counts are repeatable, so compare them before and after a change (wall times
under valgrind mean nothing).
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402
import lsp  # noqa: E402


def main():
    tokens = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    binary = os.path.abspath(os.environ.get("CONTENOX_BIN", os.path.join(bench.REPO, ".build/release/contenox")))
    out_dir = os.path.join(bench.HERE, "results")
    os.makedirs(out_dir, exist_ok=True)
    profiler = os.environ.get("BENCH_PROFILER", "callgrind")
    stamp = time.strftime("%Y%m%dT%H%M%S")
    if profiler == "perf":
        out = os.path.join(out_dir, "perf.data.%s" % stamp)
        wrapper = ["perf", "record", "-g", "-o", out]
        report = ["perf", "report", "--stdio", "--no-children", "-i", out]
    else:
        out = os.path.join(out_dir, "callgrind.out.%s" % stamp)
        wrapper = ["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out]
        report = ["callgrind_annotate", out]
    session = bench.Bench(binary)
    try:
        session.start_standin(os.environ.get("BENCH_STANDIN", os.path.join(bench.REPO, "tools/standin/standin.py")))
        session.configure()
        server = lsp.Server(wrapper + [binary, "serve"], session.env)
        server.initialize()
        session.chat(server, "@@tokens=%d" % tokens)
        deltas, frames, _ = lsp.count_stream(server.reader, 1)
        server.close()
        print("streamed %d deltas in %d notifications under %s -> %s" % (deltas, frames, profiler, out), flush=True)
    finally:
        session.close()
    annotate = subprocess.run(report, stdout=subprocess.PIPE, text=True, errors="replace").stdout
    try:  # Swift symbols are mangled in perf's output (callgrind_annotate shows them mangled too)
        annotate = subprocess.run(["swift", "demangle", "--simplified"], input=annotate, stdout=subprocess.PIPE,
                                  text=True, errors="replace", check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        pass
    print("\n".join(annotate.splitlines()[:80]))


if __name__ == "__main__":
    main()
