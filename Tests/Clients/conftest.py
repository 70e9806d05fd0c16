"""Fixtures for the black-box client tests (issue 12).

Run: CONTENOX_BIN=/path/to/contenox python3 -m pytest -q Tests/Clients
(CONTENOX_BIN defaults to .build/debug/contenox of this checkout.)
"""

import faulthandler
import sys

import pytest

from contenox_harness import Home, StandIn, contenox_bin

# No test may hang: past this many seconds the whole run stops with every thread's stack on stderr.
TEST_WATCHDOG_SECONDS = 240


@pytest.fixture(autouse=True)
def _watchdog():
    faulthandler.dump_traceback_later(TEST_WATCHDOG_SECONDS, exit=True, file=sys.stderr)
    yield
    faulthandler.cancel_dump_traceback_later()


@pytest.fixture(scope="session")
def binary() -> str:
    return contenox_bin()


@pytest.fixture(scope="session")
def standin():
    instance = StandIn()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def home(tmp_path, standin, binary) -> Home:
    """A private CONTENOX_HOME with the stand-in as default backend and a default model."""
    return Home(str(tmp_path)).use_standin(standin)
