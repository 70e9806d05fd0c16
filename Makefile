# contenox: `make demo` runs the main job, `make test` runs every test. Both install what they need.
SWIFT ?= swift
# Debug builds and tests treat warnings as errors. `release` links the Swift runtime and FoundationEssentials
# statically: start-up drops from ~13 ms to ~8 ms, most of which was the dynamic loader. (No production
# target imports Foundation itself, which would bring ICU: 78 MB instead of 29 MB, ~3 MiB more RSS.)
WERROR := -Xswiftc -warnings-as-errors

.PHONY: all deps build release test sanitize fuzz lint format demo bench clean

all: build

deps:
	scripts/deps.sh --editors

build: deps
	$(SWIFT) build $(WERROR)

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

lint:
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests Fuzz

format:
	$(SWIFT) format --in-place --recursive --parallel Package.swift Sources Tests Fuzz

# Everything CI runs: build with warnings as errors, lint, the Swift tests, the stand-in's own tests
# (botocore as the oracle), and the editor glue in the real editors against the real server.
# RobustnessTests (a 20 MiB event, a stalled client, random SIGKILLs...) load the machine on purpose,
# so they run after the others instead of beside their timing checks.
test: deps
	$(SWIFT) build --build-tests $(WERROR)
	$(MAKE) --no-print-directory lint
	$(SWIFT) test --skip-build --skip RobustnessTests
	$(SWIFT) test --skip-build --filter RobustnessTests
	python3 -m pytest -q tools/standin/tests
	CONTENOX_REAL=1 CONTENOX_BIN="$(CURDIR)/.build/debug/contenox serve" editor-clients/tests/run.sh

demo: release
	scripts/demo.sh

bench: release
	bench/run.sh

clean:
	rm -rf .build

# AddressSanitizer over the code that handles raw bytes and unsafe pointers: the JSON bridge to jansson,
# the framers, SigV4, the event-stream decoder, and the seeded random-input tests. Leak detection is off:
# what it reports at exit is held by Foundation (ProcessInfo.environment) and the test runner.
# ThreadSanitizer is not run: Synchronization.Mutex is not instrumented, so every Mutex looks like a race.
ASAN_FILTER := JSONTests\.|JSONRPCTests\.|SigV4Tests|EventStreamTests|ConverseTypesTests|AWSConfigFileTests|CredentialDocumentTests|RandomInputTests
sanitize:
	$(SWIFT) build --build-tests -Xswiftc -sanitize=address --scratch-path .build-asan
	ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 $(SWIFT) test --skip-build --scratch-path .build-asan --filter '$(ASAN_FILTER)'

# libFuzzer over every parser family (framers, JSON, JSON-RPC, event stream, AWS config files, credential
# JSON, STS) for FUZZ_SECONDS each (scripts/fuzz.sh); FUZZ_FAMILIES picks some. Crashes land in Fuzz/Crashes.
FUZZ_SECONDS ?= 5
FUZZ_FAMILIES ?=
fuzz:
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_FAMILIES)
