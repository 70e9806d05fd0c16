# contenox: `make demo` runs the main job, `make test` runs every test. Both install what they need.
SWIFT ?= swift
# `release` links the Swift runtime and Foundation statically: start-up drops from ~13 ms to ~8 ms,
# most of which was the dynamic loader. Our own targets are compiled with warnings as errors (see Package.swift); CI passes STRICT=1 to make
# that explicit on the command line too.
WERROR := -Xswiftc -warnings-as-errors

.PHONY: all deps build release test test-swift test-standin test-editors lint format demo bench clean

all: build

deps:
	scripts/deps.sh --editors

build: deps
	$(SWIFT) build $(WERROR)

release: deps
	$(SWIFT) build -c release --static-swift-stdlib

lint:
	$(SWIFT) format lint --strict --recursive --parallel Package.swift Sources Tests

format:
	$(SWIFT) format --in-place --recursive --parallel Package.swift Sources Tests

# Everything CI runs: build with warnings as errors, lint, the Swift tests, the stand-in's own tests
# (botocore as the oracle), and the editor glue in the real editors against the real server.
test: deps
	$(SWIFT) build --build-tests $(WERROR)
	$(MAKE) --no-print-directory lint
	$(SWIFT) test --skip-build
	python3 -m pytest -q tools/standin/tests
	CONTENOX_REAL=1 CONTENOX_BIN="$(CURDIR)/.build/debug/contenox serve" editor-clients/tests/run.sh

demo: release
	scripts/demo.sh

bench: release
	bench/run.sh

clean:
	rm -rf .build
