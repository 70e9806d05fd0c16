"""Fixtures for the black-box client tests of issue 12: the real `contenox` binary as a subprocess.

Run: CONTENOX_BIN=/path/to/contenox python3 -m pytest -q Tests/Clients
(CONTENOX_BIN defaults to .build/debug/contenox of this checkout.) Needs python3 with pytest, pygls,
python-lsp-jsonrpc and botocore (for the stand-in); a missing one fails collection, nothing is skipped.

- contenox_harness.py: the stand-in, a private CONTENOX_HOME per test, `contenox serve` over raw pipes
  (exact bytes in, frames with their exact bytes out, in either framing), raw-id helpers.
- test_pygls.py, test_lsp_jsonrpc.py: the server driven by two client libraries nobody here wrote.
- test_bugs.py: one regression test per bug of the issue.
- test_lifecycle.py: end of input, shutdown ordering, unknown notifications, hundreds of runs.
- test_hints.py: commands quoted in hints exist.
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
