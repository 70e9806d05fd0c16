# contenox: `make demo` runs the main job, `make test` runs every test. Both install what they need.
SWIFT ?= swift
# Debug builds and tests treat warnings as errors. `release` links the Swift runtime and FoundationEssentials
# statically: start-up drops from ~13 ms to ~8 ms, most of which was the dynamic loader. (No production
# target imports Foundation itself, which would bring ICU: 78 MB instead of 29 MB, ~3 MiB more RSS.)
WERROR := -Xswiftc -warnings-as-errors

.PHONY: all deps build release test sanitize sanitize-address sanitize-thread fuzz lint format demo bench clean

all: build

deps:
	scripts/deps.sh --editors

build: deps
	$(SWIFT) build $(WERROR)

# The binary the README's quick start builds; it needs the libraries, not the editors.
release:
	scripts/deps.sh
	$(SWIFT) build -c release --static-swift-stdlib

lint:
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests Fuzz

format:
	$(SWIFT) format --in-place --recursive --parallel Package.swift Sources Tests Fuzz

# Everything CI runs: build with warnings as errors, lint, the Swift tests, the stand-in's own tests
# (botocore as the oracle), and the editor glue in the real editors against the real server.
# RobustnessTests (a 20 MiB event, a stalled client, random SIGKILLs...) load the machine on purpose,
# so they run after the others instead of beside their timing checks. The other suites run one test at a
# time (80 s on 2 cores): run side by side, ~290 tests that each start servers, stand-ins and Python
# oracles pushed the fault tests' time bounds past their limits, which proves nothing about contenox.
test: deps
	$(SWIFT) build --build-tests $(WERROR)
	$(MAKE) --no-print-directory lint
	$(SWIFT) test --skip-build --no-parallel --skip RobustnessTests
	$(SWIFT) test --skip-build --filter RobustnessTests
	python3 -m pytest -q tools/standin/tests
	CONTENOX_BIN="$(CURDIR)/.build/debug/contenox" python3 -m pytest -q Tests/Clients
	CONTENOX_BIN="$(CURDIR)/.build/debug/contenox" python3 -m pytest -q Tests/ACP
	CONTENOX_REAL=1 CONTENOX_BIN="$(CURDIR)/.build/debug/contenox serve" editor-clients/tests/run.sh

demo: release
	scripts/demo.sh

bench: release
	bench/run.sh

clean:
	rm -rf .build

# The whole Swift suite under AddressSanitizer (with LeakSanitizer) and under ThreadSanitizer, each in its own
# scratch path (.build-asan, .build-tsan), split as `test` splits it, then the editor tests against the
# instrumented server; scripts/sanitize.sh has the options and why. The test runner and every `contenox` it
# spawns write their reports to SCRATCH/sanitizer-logs, and any report fails the target, even one from a child
# whose stderr no test reads. Wall-clock bounds in the tests are stretched, and RSS bounds under ASan, whose
# quarantine and shadow memory make RSS say little about the server (Tests/TestSupport/TestScale.swift).
# LSan's few suppressions, each explained, are in scripts/lsan.supp. The instrumented suites run one test at
# a time with Swift's own backtracer off, each phase under a hard time limit; a phase that TSan's own runtime
# kills with an internal CHECK failure (and nothing else) is run once more, named in the output;
# scripts/sanitize.sh has the details.
sanitize: sanitize-address sanitize-thread

sanitize-address: deps
	SWIFT="$(SWIFT)" scripts/sanitize.sh address

sanitize-thread: deps
	SWIFT="$(SWIFT)" scripts/sanitize.sh thread

# libFuzzer over every parser family (framers, JSON, JSON-RPC, event stream, AWS config files, credential
# JSON, STS) for FUZZ_SECONDS each (scripts/fuzz.sh); FUZZ_FAMILIES picks some. Crashes land in Fuzz/Crashes.
FUZZ_SECONDS ?= 5
FUZZ_FAMILIES ?=
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_FAMILIES)
