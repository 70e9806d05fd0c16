"""`contenox serve` driven by python-lsp-jsonrpc (`Endpoint` over `JsonRpcStreamReader/Writer`), the
JSON-RPC layer of python-lsp-server, a client nobody here wrote.

Broken in the library (python-lsp-jsonrpc 1.1.2), for docs/protocol.md's notes to client authors:
`Endpoint.request()` returns a `concurrent.futures.Future` whose `cancel()` is the documented way to cancel,
and it does not work against any server that answers the cancelled request (as JSON-RPC requires):
1. `future.cancel()` runs the done-callback `Endpoint._cancel_callback`, which sends `$/cancelRequest`
   and then calls `future.set_exception(JsonRpcRequestCancelled())` on the already-cancelled future;
   that raises `concurrent.futures.InvalidStateError` inside the callback (logged by concurrent.futures
   as "exception calling callback for <Future ... state=cancelled>", otherwise swallowed).
2. The future stays in `Endpoint._server_request_futures`. When the server's -32800 answer arrives,
   `Endpoint._handle_response` pops it and calls `set_exception` on the cancelled future again:
   `InvalidStateError` propagates out of `Endpoint.consume`, and `JsonRpcStreamReader.listen` (which only
   catches `ValueError`) dies with it. The reader thread is gone: every later answer and notification
   is never read, so the client hangs on its next request.
Workaround used here (`cancel`): never call `future.cancel()`; send `$/cancelRequest` with
`endpoint.notify` and let the -32800 answer fail the future with `JsonRpcRequestCancelled`.
`test_library_cancel_is_broken` pins this behaviour so that a fixed library version is noticed.
"""

import itertools
import subprocess
import threading
import time
from concurrent import futures

import pytest

from contenox_harness import MODEL, contenox_bin

# Plain imports: without python-lsp-jsonrpc this file fails to collect (CI installs it).
from pylsp_jsonrpc.endpoint import Endpoint
from pylsp_jsonrpc.exceptions import JsonRpcRequestCancelled
from pylsp_jsonrpc.streams import JsonRpcStreamReader, JsonRpcStreamWriter

TIMEOUT = 15


class Client:
    def __init__(self, home):
        self.process = subprocess.Popen([contenox_bin(), "serve", "--log-level", "error"],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=home.env)
        self.lock = threading.RLock()
        self.deltas = {}  # requestId -> [params]
        self.first_delta = {}  # requestId -> threading.Event
        self.ids = itertools.count(1)
        self.last_id = None
        self.endpoint = Endpoint({"chat/delta": self.on_delta}, JsonRpcStreamWriter(self.process.stdin).write,
                                 id_generator=self.next_id)
        self.reader = JsonRpcStreamReader(self.process.stdout)
        self.reader_error = []
        self.thread = threading.Thread(target=self.listen, daemon=True)
        self.thread.start()

    def listen(self):
        try:
            self.reader.listen(self.endpoint.consume)
        except BaseException as error:  # noqa: B036 - kept to show what killed the reader
            self.reader_error.append(error)

    def next_id(self):
        self.last_id = next(self.ids)
        return self.last_id

    def on_delta(self, params):
        with self.lock:
            self.deltas.setdefault(params["requestId"], []).append(params)
            self.event(params["requestId"]).set()

    def event(self, request_id):
        with self.lock:
            return self.first_delta.setdefault(request_id, threading.Event())

    def request(self, method, params=None):
        """(id, future): the endpoint numbers its requests 1, 2, ..."""
        future = self.endpoint.request(method, params)  # requests are only made from the test's thread
        return self.last_id, future

    def call(self, method, params=None):
        return self.request(method, params)[1].result(TIMEOUT)

    def cancel(self, request_id):
        # The workaround: see the module docstring for why not `future.cancel()`.
        self.endpoint.notify("$/cancelRequest", {"id": request_id})

    def text(self, request_id):
        with self.lock:
            return "".join(p["delta"].get("text", "") for p in self.deltas.get(request_id, []))

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(TIMEOUT)
        self.thread.join(TIMEOUT)
        self.endpoint.shutdown()


def message_text(result):
    return "".join(block.get("text", "") for block in result["message"]["content"])


def test_lsp_jsonrpc_session(home):
    c = Client(home)
    try:
        init = c.call("initialize", {"clientInfo": {"name": "python-lsp-jsonrpc"}})
        assert init["serverInfo"]["name"] == "contenox"
        c.endpoint.notify("initialized", {})

        models = c.call("models/list")["models"]
        assert models and all({"id", "name", "provider"} <= set(m) for m in models)

        assert c.call("config/set", {"key": "default-model", "value": MODEL}) == {"key": "default-model", "value": MODEL}
        assert c.call("config/get")["config"] == {"default-model": MODEL, "default-provider": "standin"}

        # A streamed chat whose deltas, joined, are the result's text.
        chat_id, chat = c.request("chat/stream", {"prompt": "hello from pylsp @@tokens=25 @@delay-ms=2"})
        result = chat.result(TIMEOUT)
        assert message_text(result) == " tok" * 25
        assert c.text(chat_id) == message_text(result)

        # A cancel answered -32800 quickly (with the workaround).
        long_id, long_chat = c.request("chat/stream", {"prompt": "long @@tokens=100000 @@delay-ms=5"})
        assert c.event(long_id).wait(TIMEOUT), "the long chat never streamed"
        started = time.monotonic()
        c.cancel(long_id)
        with pytest.raises(JsonRpcRequestCancelled) as cancelled:
            long_chat.result(TIMEOUT)
        assert cancelled.value.code == -32800
        assert time.monotonic() - started < 2.0

        # Two chats at once, deltas routed by requestId.
        a_id, a = c.request("chat/stream", {"prompt": "first of two @@delay-ms=15"})
        b_id, b = c.request("chat/stream", {"prompt": "second @@tokens=20 @@delay-ms=5"})
        a_result, b_result = a.result(TIMEOUT), b.result(TIMEOUT)
        assert message_text(a_result) == "Echo: first of two"
        assert message_text(b_result) == " tok" * 20
        assert c.text(a_id) == message_text(a_result)
        assert c.text(b_id) == message_text(b_result)

        # The reader is still alive after all that.
        assert not c.reader_error, c.reader_error

        assert c.call("shutdown") is None
        c.endpoint.notify("exit")
        assert c.process.wait(TIMEOUT) == 0
    finally:
        c.close()


def test_library_cancel_is_broken(home):
    """Pins the library bug described in the module docstring: `future.cancel()` followed by the
    server's -32800 kills the reader thread. If this test fails, the library was fixed: update
    docs/protocol.md's note for client authors and drop the workaround."""
    c = Client(home)
    try:
        c.call("initialize")
        long_id, long_chat = c.request("chat/stream", {"prompt": "long @@tokens=100000 @@delay-ms=5"})
        assert c.event(long_id).wait(TIMEOUT)
        assert long_chat.cancel()  # sends $/cancelRequest; its callback's set_exception raises (logged)
        c.thread.join(TIMEOUT)  # the -32800 answer arrives and kills the reader
        assert not c.thread.is_alive()
        assert len(c.reader_error) == 1 and isinstance(c.reader_error[0], futures.InvalidStateError)
        # The next request is never answered: nobody reads stdout any more.
        _, after = c.request("backend/list")
        with pytest.raises(futures.TimeoutError):
            after.result(1.0)
    finally:
        c.close()
