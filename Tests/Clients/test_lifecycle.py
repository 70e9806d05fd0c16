"""The lifecycle of docs/protocol.md, run many times in both framings and three write modes: everything
in one write, one write per message (pipelined), one write per byte. No response may be lost or
duplicated: every request id is answered exactly once, and nothing else is answered.

- end of input: every request received is answered, then the process exits;
- shutdown: requests received before it are answered (with results) before it; later ones get -32600;
  `exit` after it exits 0;
- unknown notifications (`textDocument/didOpen`, `$/setTrace`, ...) get no answer and the server serves on.
"""

import pytest

from contenox_harness import INVALID_REQUEST, Server, check_each_answered_once, notification, request

FRAMINGS = ["lsp", "ndjson"]
# Runs per (scenario, framing, mode): 6 x (40 + 25 + 5) = 420 server runs in all, plus test_bugs.py's.
RUNS = {"one": 40, "pipelined": 25, "bytes": 5}

INIT = request(1, "initialize", {"clientInfo": {"name": "pytest", "version": "1"}})
DID_OPEN = notification("textDocument/didOpen", {"textDocument": {
    "uri": "file:///tmp/a.swift", "languageId": "swift", "version": 1, "text": "let x = 1\n"}})


def end_of_input(server: Server, mode: str) -> None:
    ids = ["1", "2", "3", '"four"', "5"]
    server.write_mode([INIT, request(2, "backend/list"), request(3, "config/get", {"key": "default-model"}),
                       request("four", "models/list"), request(5, "session/list")], mode)
    server.close_stdin()
    got = server.read_to_eof()
    answered = check_each_answered_once(got, ids)
    for raw_id in ids:
        assert "result" in answered[raw_id].msg, answered[raw_id].msg
    server.wait()


def shutdown_ordering(server: Server, mode: str) -> None:
    server.write_mode([INIT, request(2, "backend/list"), request(3, "config/get"), request(4, "models/list"),
                       request(5, "shutdown"), request(6, "backend/list"), notification("exit")], mode)
    got = server.read_to_eof()
    answered = check_each_answered_once(got, ["1", "2", "3", "4", "5", "6"])
    for raw_id in ["1", "2", "3", "4"]:
        assert "result" in answered[raw_id].msg, answered[raw_id].msg
    assert answered["5"].msg.get("result", "missing") is None, answered["5"].msg
    assert answered["6"].error_code == INVALID_REQUEST, answered["6"].msg
    order = [f.raw_id for f in got if f.is_response]
    assert order.index("5") > max(order.index(i) for i in ["1", "2", "3", "4"]), order
    assert server.wait() == 0


def unknown_notifications(server: Server, mode: str) -> None:
    server.write_mode([INIT, notification("initialized", {}), DID_OPEN, request(2, "backend/list"),
                       notification("$/setTrace", {"value": "off"}), notification("no/such/notification"),
                       request(3, "config/get"),
                       notification("textDocument/didClose", {"textDocument": {"uri": "file:///tmp/a.swift"}})],
                      mode)
    # Awaited before shutdown, so that this scenario does not depend on shutdown's ordering.
    pending = {"1", "2", "3"}
    got = server.read_until(lambda f: f.is_response and (pending.discard(f.raw_id) or not pending))
    # shutdown awaited before exit, as an LSP client does (test_bugs.py pipelines `shutdown; exit`).
    server.write_mode([DID_OPEN, request(4, "shutdown")], mode)
    got += server.read_until(lambda f: f.is_response)
    server.write_mode([notification("exit")], mode)
    got += server.read_to_eof()
    answered = check_each_answered_once(got, ["1", "2", "3", "4"])
    assert all(f.is_response for f in got), [f.raw for f in got if not f.is_response]
    for raw_id in ["1", "2", "3"]:
        assert "result" in answered[raw_id].msg, answered[raw_id].msg
    assert answered["4"].msg.get("result", "missing") is None, answered["4"].msg
    assert server.wait() == 0


SCENARIOS = {"end_of_input": end_of_input, "shutdown": shutdown_ordering, "unknown_notifications": unknown_notifications}


@pytest.mark.parametrize("mode", list(RUNS))
@pytest.mark.parametrize("framing", FRAMINGS)
@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_lifecycle(home, scenario, framing, mode):
    for run in range(RUNS[mode]):
        with Server(home, framing) as server:
            try:
                SCENARIOS[scenario](server, mode)
            except AssertionError as error:
                raise AssertionError(f"run {run} of {RUNS[mode]}: {error}") from error
