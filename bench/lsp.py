"""LSP (Content-Length) framing for the benchmark client: a fast frame reader and a `contenox serve` driver.

The reader is built to not be the bottleneck: it reads the server's stdout with large os.read calls and
splits frames with bytes.find, parsing JSON only for the frames it has to look at (responses). Its ceiling is
measured on every run (`reader_ceiling`) so a throughput figure close to it is visibly reader-bound.
"""
import json
import os
import subprocess
import threading
import time

READ_SIZE = 1 << 20
CLK_TCK = os.sysconf("SC_CLK_TCK")


def frame(obj):
    body = json.dumps(obj, separators=(",", ":")).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(id_, method, params=None):
    message = {"jsonrpc": "2.0", "id": id_, "method": method}
    if params is not None:
        message["params"] = params
    return frame(message)


def notification(method, params=None):
    message = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        message["params"] = params
    return frame(message)


class FrameReader:
    """Splits LSP frames out of a file descriptor. `frames()` yields every body that is complete in the
    buffer after one read, so callers pay one generator step per frame and one syscall per megabyte."""

    def __init__(self, fd):
        self.fd = fd
        self.buffer = b""
        self.eof = False
        self._pending = []  # complete bodies read but not yet consumed by next_message/count_stream

    def read_batch(self):
        """Reads once and returns the list of complete frame bodies (possibly empty). [] with eof set at
        end of stream."""
        chunk = os.read(self.fd, READ_SIZE)
        if not chunk:
            self.eof = True
            return []
        buffer = self.buffer + chunk if self.buffer else chunk
        bodies = []
        position = 0
        end = len(buffer)
        find = buffer.find
        while True:
            header_end = find(b"\r\n\r\n", position)
            if header_end < 0:
                break
            if buffer.startswith(b"Content-Length: ", position):
                try:
                    length = int(buffer[position + 16:header_end])
                except ValueError:
                    length = self._parse_headers(buffer[position:header_end])
            else:
                length = self._parse_headers(buffer[position:header_end])
            body_start = header_end + 4
            body_end = body_start + length
            if body_end > end:
                break
            bodies.append(buffer[body_start:body_end])
            position = body_end
        self.buffer = buffer[position:]
        return bodies

    @staticmethod
    def _parse_headers(block):
        for line in block.split(b"\r\n"):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                return int(value)
        raise ValueError("frame without Content-Length: %r" % block[:200])

    def next_message(self):
        """Slow path for request/response exchanges: the next frame as parsed JSON (None at end)."""
        while True:
            if self._pending:
                return json.loads(self._pending.pop(0))
            if self.eof:
                return None
            self._pending.extend(self.read_batch())


def proc_cpu_seconds(pid):
    """utime + stime of every thread of `pid` (clock-tick resolution, usually 10 ms)."""
    with open("/proc/%d/stat" % pid, "rb") as f:
        fields = f.read().rsplit(b")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def proc_status_kib(pid, key):
    """A kB field of /proc/<pid>/status, e.g. VmHWM (peak RSS) or VmRSS."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


class Server:
    """One `contenox serve` child with pipes; `command` is the argv (e.g. [bin, "serve"])."""

    def __init__(self, command, env):
        self.started = time.perf_counter()
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env, bufsize=0)
        self.reader = FrameReader(self.process.stdout.fileno())
        self.next_id = 0
        self.write_lock = threading.Lock()

    @property
    def pid(self):
        return self.process.pid

    def write(self, data):
        with self.write_lock:
            view = memoryview(data)
            while view:
                written = os.write(self.process.stdin.fileno(), view)
                view = view[written:]

    def new_id(self):
        self.next_id += 1
        return self.next_id

    def call(self, method, params=None):
        """A request answered before anything else arrives (no notifications expected)."""
        id_ = self.new_id()
        self.write(request(id_, method, params))
        while True:
            message = self.reader.next_message()
            if message is None:
                raise RuntimeError("server closed stdout while waiting for %s" % method)
            if message.get("id") == id_:
                if "error" in message:
                    raise RuntimeError("%s failed: %s" % (method, json.dumps(message["error"])))
                return message["result"]

    def initialize(self):
        result = self.call("initialize", {"clientInfo": {"name": "contenox-bench", "version": "1"}})
        self.write(notification("initialized"))
        return result

    def close(self):
        watchdog = getattr(self, "watchdog", None)
        if watchdog is not None:
            watchdog.cancel()
        try:
            if self.process.poll() is None:
                try:
                    self.call("shutdown")
                    self.write(notification("exit"))
                except (RuntimeError, OSError):
                    pass
                self.process.stdin.close()
                try:
                    self.process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.process.kill()
                    self.process.wait()
        finally:
            self.process.stdout.close()


def count_stream(reader, responses_wanted, token=b" tok"):
    """Reads until `responses_wanted` responses have arrived, counting occurrences of `token` in the text of
    every notification (chat/delta bodies; the server may coalesce adjacent text deltas, so tokens are counted,
    not frames). Returns (tokens, notification_frames, responses). Responses are parsed; notifications are
    scanned as bytes (a JSON string holding " tok" is encoded as exactly those bytes)."""
    tokens = 0
    frames = 0
    responses = []
    pending = reader._pending
    while len(responses) < responses_wanted:
        if pending:
            bodies = pending[:]
            del pending[:]
        else:
            bodies = reader.read_batch()
            if not bodies and reader.eof:
                raise RuntimeError("server closed stdout mid-stream (%d tokens so far)" % tokens)
        for body in bodies:
            if b'"result"' in body or b'"error"' in body:
                message = json.loads(body)
                if "id" in message and "method" not in message:
                    if "error" in message:
                        raise RuntimeError("request failed: %s" % json.dumps(message["error"])[:500])
                    responses.append(message)
                    continue
            frames += 1
            tokens += body.count(token)
    return tokens, frames, responses
