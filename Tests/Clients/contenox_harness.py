"""Helpers for the black-box client tests: the stand-in, a private CONTENOX_HOME, and `contenox serve`
driven over raw pipes with exact bytes in either framing.

Nothing here sleeps to wait for an event that can be awaited; every read has a deadline, and every
process started here is killed in a `finally` (or by the context managers) so no test can hang.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

REPO = Path(__file__).resolve().parents[2]
STANDIN_SCRIPT = REPO / "tools" / "standin" / "standin.py"

# A model the stand-in serves (through a `us.` inference profile, as current models need).
MODEL = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
ACCESS_KEY_ID = "AKIASTANDINEXAMPLE"
SECRET_ACCESS_KEY = "standinSecretKey/EXAMPLEKEY"

CANCELLED = -32800
INVALID_REQUEST = -32600
CREDENTIALS = -32001


def contenox_bin() -> str:
    """$CONTENOX_BIN, else the debug build of this checkout."""
    path = os.environ.get("CONTENOX_BIN")
    if not path:
        path = str(REPO / ".build" / "debug" / "contenox")
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"contenox binary not found or not executable: {path} (set CONTENOX_BIN)")
    return path


# --------------------------------------------------------------------------------------------------
# The stand-in


class StandIn:
    """A running tools/standin/standin.py on a port of its own choosing."""

    def __init__(self) -> None:
        self.dir = tempfile.mkdtemp(prefix="standin-")
        port_file = os.path.join(self.dir, "port")
        self.log = open(os.path.join(self.dir, "stderr"), "wb")
        self.process = subprocess.Popen(
            ["python3", str(STANDIN_SCRIPT), "--port", "0", "--port-file", port_file, "--exit-with-parent"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 30
        self.port = 0
        while time.monotonic() < deadline:
            try:
                text = Path(port_file).read_text().strip()
                if text and int(text) > 0:
                    self.port = int(text)
                    break
            except (FileNotFoundError, ValueError):
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"standin.py exited with {self.process.returncode}")
            time.sleep(0.02)  # polling a file the stand-in writes once; nothing to await
        if not self.port:
            self.stop()
            raise RuntimeError("standin.py did not write its port within 30 s")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def http(self, method: str, path: str) -> Any:
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            sock.sendall(f"{method} {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n\r\n".encode())
            data = b""
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        return json.loads(data.split(b"\r\n\r\n", 1)[1])

    def requests(self) -> list:
        """GET /_standin/requests: the last 1000 requests, [{method, path, headers, body}]."""
        return self.http("GET", "/_standin/requests")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=10)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class SilentEndpoint:
    """A TCP server on 127.0.0.1 that accepts connections and never answers."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.held: list = []
        self.closed = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()
        for conn in self.held:
            conn.close()


# --------------------------------------------------------------------------------------------------
# A private CONTENOX_HOME


class Home:
    """A temporary CONTENOX_HOME and the environment a server or CLI run gets: the stand-in's static
    keys, no profile, no IMDS, no AWS config files."""

    def __init__(self, root: str) -> None:
        self.path = os.path.join(root, "contenox-home")
        os.makedirs(self.path, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_") and k != "CONTENOX_LOG"}
        env.update({
            "CONTENOX_HOME": self.path,
            "HOME": root,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_CONFIG_FILE": os.path.join(root, "nonexistent", "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(root, "nonexistent", "credentials"),
        })
        self.env = env

    def cli(self, *args: str, env: Optional[dict] = None) -> subprocess.CompletedProcess:
        result = subprocess.run([contenox_bin(), *args], env=env or self.env, capture_output=True,
                                timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"contenox {' '.join(args)} failed ({result.returncode}): "
                               f"{result.stderr.decode(errors='replace')}")
        return result

    def add_backend(self, name: str, url: str, *extra: str) -> None:
        self.cli("backend", "add", name, "--type", "bedrock", "--url", url, "--region", "us-east-1", *extra)

    def use_standin(self, standin: StandIn) -> "Home":
        """The stand-in as backend `standin`, the default provider, with MODEL as default model."""
        self.add_backend("standin", standin.url)
        self.cli("config", "set", "default-model", MODEL)
        self.cli("config", "set", "default-provider", "standin")
        return self


# --------------------------------------------------------------------------------------------------
# Framing and raw ids


def request(id_: Any, method: str, params: Any = None) -> dict:
    message = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        message["params"] = params
    return message


def notification(method: str, params: Any = None) -> dict:
    message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return message


def body_bytes(message: Any) -> bytes:
    """A message as its JSON text: bytes and str are taken as written (for exact raw ids)."""
    if isinstance(message, bytes):
        return message
    if isinstance(message, str):
        return message.encode()
    return json.dumps(message, separators=(",", ":")).encode()


def frame(message: Any, framing: str) -> bytes:
    """One message framed: LSP `Content-Length` headers, or one line for `ndjson`."""
    body = body_bytes(message)
    if framing == "ndjson":
        assert b"\n" not in body
        return body + b"\n"
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def frames(messages: Iterable[Any], framing: str) -> bytes:
    return b"".join(frame(m, framing) for m in messages)


_WS = " \t\r\n"


def raw_members(text: str) -> dict:
    """The top-level members of a JSON object as their exact JSON text, e.g. {"id": "1e2"}."""
    decoder = json.JSONDecoder()
    out = {}
    i = 0
    n = len(text)

    def skip(j: int) -> int:
        while j < n and text[j] in _WS:
            j += 1
        return j

    i = skip(i)
    if i >= n or text[i] != "{":
        return out
    i = skip(i + 1)
    if i < n and text[i] == "}":
        return out
    while i < n:
        if text[i] != '"':
            raise ValueError(f"bad object at {i}")
        key, i = json.decoder.scanstring(text, i + 1)
        i = skip(i)
        assert text[i] == ":"
        i = skip(i + 1)
        _, end = decoder.raw_decode(text, i)
        out[key] = text[i:end]
        i = skip(end)
        if i < n and text[i] == ",":
            i = skip(i + 1)
            continue
        break
    return out


@dataclass
class Frame:
    """One message the server wrote: its exact body bytes and the parsed JSON."""
    raw: bytes
    msg: Any
    _raw_id: Optional[str] = field(default=None, repr=False)

    @property
    def raw_id(self) -> Optional[str]:
        """The exact JSON text of the response's id (None for notifications or arrays)."""
        if self._raw_id is None and isinstance(self.msg, dict) and "id" in self.msg:
            self._raw_id = raw_members(self.raw.decode())["id"]
        return self._raw_id

    @property
    def is_response(self) -> bool:
        return isinstance(self.msg, dict) and "method" not in self.msg and "id" in self.msg

    @property
    def method(self) -> Optional[str]:
        return self.msg.get("method") if isinstance(self.msg, dict) else None

    @property
    def error_code(self) -> Optional[int]:
        if isinstance(self.msg, dict) and isinstance(self.msg.get("error"), dict):
            return self.msg["error"].get("code")
        return None


# --------------------------------------------------------------------------------------------------
# `contenox serve` over raw pipes


class Server:
    """`contenox serve` as a subprocess. Writes are exact bytes; reads are frames with deadlines."""

    def __init__(self, home: Home, framing: str = "lsp", args: Iterable[str] = (),
                 env: Optional[dict] = None, log_level: str = "error") -> None:
        self.framing = framing
        self.stderr = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [contenox_bin(), "serve", "--framing", framing, "--log-level", log_level, *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env or home.env,
            bufsize=0)
        self.pid = self.process.pid
        self.out_fd = self.process.stdout.fileno()
        os.set_blocking(self.out_fd, False)
        self.buf = bytearray()
        self.pos = 0
        self.eof = False
        self.writers: list = []
        self.written = 0  # bytes written so far by write() (from any thread)

    # -- context

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.kill()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:
                pass
        for thread in self.writers:
            thread.join(timeout=10)
        self.stderr.close()

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")[-4000:]

    # -- writing

    def write(self, data: bytes) -> None:
        """Writes bytes in one write (a short write is finished with more writes)."""
        view = memoryview(data)
        while view:
            n = os.write(self.process.stdin.fileno(), view)
            view = view[n:]
            self.written += n

    def send(self, *messages: Any) -> None:
        """The messages framed and written in one go."""
        self.write(frames(messages, self.framing))

    def write_in_background(self, data: bytes, chunks: Optional[Iterable[bytes]] = None,
                            close: bool = False) -> threading.Thread:
        """Writes from a thread (for floods the server may stop reading until we read its answers)."""
        def run() -> None:
            try:
                for piece in (chunks if chunks is not None else [data]):
                    self.write(piece)
                if close:
                    self.process.stdin.close()
            except (BrokenPipeError, OSError, ValueError):
                pass
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.writers.append(thread)
        return thread

    def write_mode(self, messages: list, mode: str) -> None:
        """`one`: everything in one write; `pipelined`: one write per message; `bytes`: one write per
        byte."""
        data = [frame(m, self.framing) for m in messages]
        if mode == "one":
            self.write(b"".join(data))
        elif mode == "pipelined":
            for piece in data:
                self.write(piece)
        elif mode == "bytes":
            for piece in data:
                for i in range(len(piece)):
                    self.write(piece[i:i + 1])
        else:
            raise ValueError(mode)

    def wait_until_writer_done_or_stalled(self, writer: threading.Thread, stall: float = 1.0,
                                          timeout: float = 120.0) -> bool:
        """Waits until a background writer is done (True) or wrote nothing for `stall` seconds (False):
        the server stopped reading its input."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            before = self.written
            writer.join(stall)
            if not writer.is_alive():
                return True
            if self.written == before:
                return False
        raise TimeoutError("the writer neither finished nor stalled")

    def close_stdin(self) -> None:
        try:
            self.process.stdin.close()
        except (BrokenPipeError, OSError):
            pass

    # -- reading

    def _fill(self, deadline: float) -> bool:
        """Reads what is there, waiting until the deadline. False at end of output."""
        if self.eof:
            return False
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no complete frame from the server in time; stderr: {self.stderr_text()}")
        ready, _, _ = select.select([self.out_fd], [], [], remaining)
        if not ready:
            raise TimeoutError(f"no complete frame from the server in time; stderr: {self.stderr_text()}")
        try:
            chunk = os.read(self.out_fd, 1 << 20)
        except BlockingIOError:
            return True
        if not chunk:
            self.eof = True
            return False
        if self.pos > (1 << 20):
            del self.buf[:self.pos]
            self.pos = 0
        self.buf += chunk
        return True

    def _take_frame(self) -> Optional[bytes]:
        buf = self.buf
        if self.framing == "ndjson":
            end = buf.find(b"\n", self.pos)
            if end < 0:
                return None
            body = bytes(buf[self.pos:end])
            self.pos = end + 1
            return body
        header_end = buf.find(b"\r\n\r\n", self.pos)
        if header_end < 0:
            return None
        length = None
        for line in bytes(buf[self.pos:header_end]).split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        if length is None:
            raise AssertionError(f"frame without Content-Length: {bytes(buf[self.pos:header_end])!r}")
        start = header_end + 4
        if len(buf) - start < length:
            return None
        body = bytes(buf[start:start + length])
        self.pos = start + length
        return body

    def read_frame(self, timeout: float = 10.0) -> Optional[Frame]:
        """The next frame, or None at end of output. TimeoutError if none is complete in time."""
        deadline = time.monotonic() + timeout
        while True:
            body = self._take_frame()
            if body is not None:
                return Frame(body, json.loads(body))
            if not self._fill(deadline):
                if self.pos < len(self.buf):
                    raise AssertionError(f"output ended inside a frame: {bytes(self.buf[self.pos:])[:200]!r}")
                return None

    def read_until(self, done: Callable[[Frame], bool], timeout: float = 10.0) -> list:
        """Frames up to and including the first one `done` accepts."""
        deadline = time.monotonic() + timeout
        got = []
        while True:
            f = self.read_frame(max(0.0, deadline - time.monotonic()) or 0.001)
            if f is None:
                raise AssertionError(f"output ended before the awaited frame; got {[x.msg for x in got][-5:]}; "
                                     f"stderr: {self.stderr_text()}")
            got.append(f)
            if done(f):
                return got

    def response(self, raw_id: str, timeout: float = 10.0) -> Frame:
        """Reads until the response whose id is exactly `raw_id`; earlier frames are dropped."""
        return self.read_until(lambda f: f.is_response and f.raw_id == raw_id, timeout)[-1]

    def responses(self, raw_ids: Iterable[str], timeout: float = 10.0) -> dict:
        """Reads until every one of these ids is answered; {raw id: Frame} (other frames dropped)."""
        pending = set(raw_ids)
        got: dict = {}

        def done(f: Frame) -> bool:
            if f.is_response and f.raw_id in pending:
                pending.discard(f.raw_id)
                got[f.raw_id] = f
            return not pending

        self.read_until(done, timeout)
        return got

    def read_to_eof(self, timeout: float = 20.0) -> list:
        deadline = time.monotonic() + timeout
        got = []
        while True:
            f = self.read_frame(max(0.001, deadline - time.monotonic()))
            if f is None:
                return got
            got.append(f)

    def wait(self, timeout: float = 10.0) -> int:
        return self.process.wait(timeout=timeout)

    # -- helpers

    def initialize(self, timeout: float = 10.0) -> Frame:
        self.send(request(0, "initialize", {"clientInfo": {"name": "pytest"}}))
        f = self.response("0", timeout)
        assert "result" in f.msg, f.msg
        return f

    def vm_hwm_kib(self) -> int:
        """Peak resident set size so far (VmHWM), in KiB."""
        with open(f"/proc/{self.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        raise AssertionError("no VmHWM")


def message_text(result: dict) -> str:
    """The text of a chat result's assistant message."""
    return "".join(block.get("text", "") for block in result["message"]["content"])


def delta_text(frames_: Iterable[Frame], request_id: Any) -> str:
    """Every chat/delta text for one request, joined."""
    return "".join(f.msg["params"]["delta"].get("text", "") for f in frames_
                   if f.method == "chat/delta" and f.msg["params"]["requestId"] == request_id)


def check_each_answered_once(frames_: list, ids: Iterable[str]) -> dict:
    """Every id (raw JSON text) answered exactly once and nothing else answered; {raw id: Frame}."""
    responses = [f for f in frames_ if f.is_response]
    seen: dict = {}
    for f in responses:
        assert f.raw_id not in seen, f"id {f.raw_id} answered twice: {seen[f.raw_id].msg} and {f.msg}"
        seen[f.raw_id] = f
    expected = set(ids)
    missing = expected - set(seen)
    extra = set(seen) - expected
    assert not missing, f"ids never answered: {sorted(missing)}; got {[f.msg for f in responses]}"
    assert not extra, f"answers for ids never sent: {sorted(extra)}"
    return seen
