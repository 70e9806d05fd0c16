"""`contenox serve` driven by pygls's JsonRPCClient (`start_io`), a JSON-RPC client nobody here wrote.

Notes for client authors, found while writing these tests (pygls 2.1.1):
- pygls's default converter turns every JSON object of a result or notification into a namedtuple built
  with `rename=True`: keys that are not Python identifiers are renamed `_0`, `_1`, ..., so
  `config/get`'s `{"config": {"default-model": ..., "default-provider": ...}}` arrives with its key
  names lost, and a key named `type_name` is removed. The tests below pass a converter that keeps
  results and params as plain dicts (`plain_converter`).
- `start_io` starts the server with `stderr=PIPE` and never reads that pipe: a server that logs more
  than a pipe's buffer (64 KiB on Linux) to stderr blocks. The tests run `serve --log-level error`.
- pygls has no client-side cancel: send `$/cancelRequest` yourself (`protocol.notify`); the -32800 answer
  then fails the request's future with `JsonRpcRequestCancelled`, as it should.
"""

import asyncio
import uuid

import pytest

from contenox_harness import MODEL, contenox_bin

# A plain import: without pygls this file fails to collect (CI installs it; nothing is skipped).
from pygls.client import JsonRPCClient
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage, JsonRPCResponseMessage, default_converter

TIMEOUT = 15


def plain_converter():
    """pygls's converter, but results and params stay plain dicts (see the module notes)."""
    converter = default_converter()

    def keep(obj, cls):
        return cls(**obj)

    for cls in (JsonRPCRequestMessage, JsonRPCResponseMessage, JsonRPCNotification):
        converter.register_structure_hook(cls, keep)
    return converter


class Client:
    def __init__(self, home):
        self.home = home
        self.client = JsonRPCClient(converter_factory=plain_converter)
        self.deltas = {}  # requestId -> [params]
        self.first_delta = {}  # requestId -> asyncio.Event

        @self.client.feature("chat/delta")
        def on_delta(params):  # pygls passes the client first only to a parameter named `ls`
            request_id = params["requestId"]
            self.deltas.setdefault(request_id, []).append(params)
            self.event(request_id).set()

    def event(self, request_id):
        return self.first_delta.setdefault(request_id, asyncio.Event())

    async def start(self):
        await self.client.start_io(contenox_bin(), "serve", "--log-level", "error", env=self.home.env)

    async def call(self, method, params=None, msg_id=None, timeout=TIMEOUT):
        future = self.client.protocol.send_request_async(method, params, msg_id=msg_id)
        return await asyncio.wait_for(future, timeout)

    def notify(self, method, params=None):
        self.client.protocol.notify(method, params)

    def text(self, request_id):
        return "".join(p["delta"].get("text", "") for p in self.deltas.get(request_id, []))

    async def close(self):
        server = self.client._server
        if server is not None and server.returncode is None:
            server.kill()
            await server.wait()
        await asyncio.wait_for(self.client.stop(), TIMEOUT)


def message_text(result):
    return "".join(block.get("text", "") for block in result["message"]["content"])


def run(coro):
    asyncio.run(asyncio.wait_for(coro, 120))


def test_pygls_session(home):
    async def session():
        c = Client(home)
        await c.start()
        try:
            init = await c.call("initialize", {"clientInfo": {"name": "pygls"}})
            assert init["serverInfo"]["name"] == "contenox"
            assert "chat/stream" in init["capabilities"]["methods"]
            c.notify("initialized", {})

            models = await c.call("models/list")
            assert any(m["id"] == MODEL or m["id"].endswith(MODEL.split(".", 1)[1]) for m in models["models"])

            assert await c.call("config/set", {"key": "default-model", "value": MODEL}) == \
                {"key": "default-model", "value": MODEL}
            assert await c.call("config/get", {"key": "default-model"}) == {"key": "default-model", "value": MODEL}
            assert (await c.call("config/get"))["config"]["default-model"] == MODEL

            # A streamed chat: its deltas, joined, are the result's text.
            chat_id = str(uuid.uuid4())
            result = await c.call("chat/stream", {"prompt": "hello from pygls @@tokens=40"}, msg_id=chat_id)
            assert result["message"]["role"] == "assistant"
            assert message_text(result) == " tok" * 40
            assert c.text(chat_id) == message_text(result)

            # A cancel of a long chat is answered -32800 quickly.
            long_id = "long-" + str(uuid.uuid4())
            long_chat = asyncio.ensure_future(
                c.call("chat/stream", {"prompt": "long @@tokens=100000 @@delay-ms=5"}, msg_id=long_id, timeout=60))
            await asyncio.wait_for(c.event(long_id).wait(), TIMEOUT)
            loop = asyncio.get_running_loop()
            started = loop.time()
            c.notify("$/cancelRequest", {"id": long_id})
            with pytest.raises(JsonRpcException) as cancelled:
                await long_chat
            assert cancelled.value.code == -32800
            assert loop.time() - started < 2.0

            # Two chats at once: both complete, each one's deltas carry its own requestId.
            first, second = "two-a-" + str(uuid.uuid4()), "two-b-" + str(uuid.uuid4())
            a, b = await asyncio.gather(
                c.call("chat/stream", {"prompt": "alpha words one two three @@delay-ms=20"}, msg_id=first),
                c.call("chat/stream", {"prompt": "beta @@tokens=30 @@delay-ms=5"}, msg_id=second))
            assert message_text(a) == "Echo: alpha words one two three"
            assert message_text(b) == " tok" * 30
            assert c.text(first) == message_text(a)
            assert c.text(second) == message_text(b)
            assert a["sessionId"] != b["sessionId"]

            # shutdown, then exit: exit code 0.
            assert await c.call("shutdown") is None
            c.notify("exit")
            assert await asyncio.wait_for(c.client._server.wait(), TIMEOUT) == 0
        finally:
            await c.close()

    run(session())
