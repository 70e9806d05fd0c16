#!/usr/bin/env python3
"""contenox benchmark against a peer (issue 6). Run through bench/run.sh (or `make bench`).

Every figure is measured for contenox and for the peer in the same run, against the same local Bedrock
stand-in, BENCH_RUNS times (default 5); the report gives medians and the ratio contenox/peer. See
docs/performance.md for what each measurement means.

Environment:
    CONTENOX_BIN        the binary measured (default .build/release/contenox)
    BENCH_RUNS          repetitions of each timed measurement (default 5)
    BENCH_STARTUP_REPS  process spawns per start-up sample (default 10)
    BENCH_MEM_RUNS      repetitions of the memory measurements (default 1: they are slow and deterministic)
    BENCH_STREAM_TOKENS deltas in the throughput stream (default 200000)
    BENCH_RPC_REQUESTS  pipelined requests (default 20000)
    BENCH_ONLY          comma list of startup,stream,latency,rpc,memory,ttft (default: all)
    BENCH_TTFT_RUNS     repetitions of the time-to-first-token scenarios (default BENCH_RUNS)
    BENCH_ONE_WAY_MS, BENCH_TTFT_STALL_MS, BENCH_TTFT_PAUSE_S: see bench/ttft.py
    BENCH_STANDIN       the stand-in script (default tools/standin/standin.py)
    BENCH_TIMEOUT       seconds any one stream may take before its server is killed (default 180)
"""
import datetime
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
import lsp  # noqa: E402
import ttft  # noqa: E402

MODEL = "amazon.nova-lite-v1:0"
ACCESS_KEY, SECRET_KEY = "AKIASTANDINEXAMPLE", "standinSecretKey/EXAMPLEKEY"
MiB = 1024.0


def env_int(name, default):
    return int(os.environ.get(name, default))


RUNS = env_int("BENCH_RUNS", 5)
STARTUP_REPS = env_int("BENCH_STARTUP_REPS", 10)
MEM_RUNS = env_int("BENCH_MEM_RUNS", 1)
STREAM_TOKENS = env_int("BENCH_STREAM_TOKENS", 200000)
RPC_REQUESTS = env_int("BENCH_RPC_REQUESTS", 20000)
TIMEOUT = env_int("BENCH_TIMEOUT", 180)
LATENCY_EVENTS, LATENCY_DELAY_MS = 300, 5
MEMORY_SHORT, MEMORY_LONG, CONCURRENT, CONCURRENT_TOKENS = 100000, 1000000, 32, 20000
TTFT_RUNS = env_int("BENCH_TTFT_RUNS", RUNS)
ONLY = set(filter(None, os.environ.get("BENCH_ONLY", "startup,stream,latency,rpc,memory,ttft").split(",")))


def log(message):
    print("[bench %s] %s" % (time.strftime("%H:%M:%S"), message), file=sys.stderr, flush=True)


class Bench:
    def __init__(self, binary):
        self.binary = binary
        self.work = tempfile.mkdtemp(prefix="contenox-bench-")
        self.home = os.path.join(self.work, "home")
        os.makedirs(self.home)
        self.env = self._environment()
        self.standin = None
        self.url = None
        self.samples = {}   # key -> {"contenox": [...], "peer": [...]} (one value per run)
        self.context = {}   # key -> [...] (figures that explain the others: floors and ceilings)
        self.errors = []
        self.ttft = None    # bench/ttft.py's samples, when measured

    def _environment(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        missing = os.path.join(self.work, "no-such-file")
        env.update({
            "CONTENOX_HOME": self.home, "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_CONFIG_FILE": missing, "AWS_SHARED_CREDENTIALS_FILE": missing,
            "AWS_EC2_METADATA_DISABLED": "true", "AWS_REGION": "us-east-1", "HOME": self.work,
        })
        return env

    # -- set-up -------------------------------------------------------------------------------------------
    def start_standin(self, script):
        port_file = os.path.join(self.work, "standin.port")
        self.standin = subprocess.Popen([sys.executable, script, "--port", "0", "--port-file", port_file,
                                         "--region", "us-east-1"], stdout=subprocess.DEVNULL,
                                        stderr=open(os.path.join(self.work, "standin.log"), "wb"))
        deadline = time.time() + 20
        while time.time() < deadline:
            if os.path.exists(port_file) and open(port_file).read().strip():
                self.url = "http://127.0.0.1:%s" % open(port_file).read().strip()
                return
            if self.standin.poll() is not None:
                break
            time.sleep(0.05)
        raise SystemExit("the stand-in did not start; see %s/standin.log" % self.work)

    def configure(self):
        for argv in (["backend", "add", "bench", "--type", "bedrock", "--url", self.url, "--region", "us-east-1"],
                     ["config", "set", "default-provider", "bench"],
                     ["config", "set", "default-model", MODEL]):
            result = subprocess.run([self.binary] + argv, env=self.env, capture_output=True, timeout=60)
            if result.returncode != 0:
                raise SystemExit("`contenox %s` failed (%d): %s" % (" ".join(argv), result.returncode,
                                                                    result.stderr.decode(errors="replace")))
        server = self.serve()
        try:
            self.server_info = server.initialize().get("serverInfo", {})
        finally:
            server.close()

    def serve(self):
        server = lsp.Server([self.binary, "serve"], self.env)
        watchdog = threading.Timer(TIMEOUT, server.process.kill)
        watchdog.daemon = True
        watchdog.start()
        server.watchdog = watchdog
        return server

    def close(self):
        if self.standin:
            self.standin.kill()
            self.standin.wait()
        shutil.rmtree(self.work, ignore_errors=True)

    def peer(self, *args):
        result = subprocess.run([sys.executable, os.path.join(HERE, "peer_boto3.py"), self.url]
                                + [str(a) for a in args], env=self.env, capture_output=True, timeout=TIMEOUT * 4)
        if result.returncode != 0:
            raise RuntimeError("peer %s failed: %s" % (args, result.stderr.decode(errors="replace")[-2000:]))
        return json.loads(result.stdout)

    def record(self, key, contenox=None, peer=None):
        entry = self.samples.setdefault(key, {"contenox": [], "peer": []})
        if contenox is not None:
            entry["contenox"].append(contenox)
        if peer is not None:
            entry["peer"].append(peer)

    def note(self, key, value):
        self.context.setdefault(key, []).append(value)

    def attempt(self, name, function):
        try:
            function()
        except Exception as error:  # one broken measurement must not stop the others
            message = "%s: %s: %s" % (name, type(error).__name__, error)
            log("ERROR " + message)
            self.errors.append(message)

    # -- 1. start-up ----------------------------------------------------------------------------------------
    def startup(self):
        def spawn_wait(argv):
            t0 = time.perf_counter()
            subprocess.run(argv, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
            return time.perf_counter() - t0

        def serve_to_initialize(env=self.env):
            t0 = time.perf_counter()
            server = lsp.Server([self.binary, "serve"], env)
            server.write(lsp.request(1, "initialize", {"clientInfo": {"name": "contenox-bench"}}))
            message = server.reader.next_message()
            elapsed = time.perf_counter() - t0
            if not message or "result" not in message:
                raise RuntimeError("initialize answered %r" % (message,))
            server.process.stdin.close()    # end of stdin: the server exits
            server.process.wait(timeout=10)
            server.process.stdout.close()
            return elapsed

        peer_code = ("import boto3; boto3.client('bedrock-runtime', endpoint_url=%r, region_name='us-east-1')"
                     % self.url)
        floor = statistics.median(spawn_wait(["/bin/true"]) for _ in range(STARTUP_REPS))
        peer = statistics.median(spawn_wait([sys.executable, "-c", peer_code]) for _ in range(STARTUP_REPS))
        self.note("spawnFloorMs", floor * 1000)
        self.attempt("startup.serve", lambda: self.record(
            "startup.serve", statistics.median(serve_to_initialize() for _ in range(STARTUP_REPS)) * 1000,
            peer * 1000))
        # The same without the warm-up that `initialize` starts, interleaved, to show it costs the answer nothing.
        cold = dict(self.env, CONTENOX_PREWARM="0")
        self.attempt("startup.serveNoPrewarm", lambda: self.record(
            "startup.serveNoPrewarm", statistics.median(serve_to_initialize(cold) for _ in range(STARTUP_REPS))
            * 1000, peer * 1000))
        self.attempt("startup.modelList", lambda: self.record(
            "startup.modelList", statistics.median(spawn_wait([self.binary, "model", "list"])
                                                   for _ in range(STARTUP_REPS)) * 1000, peer * 1000))

    # -- 2. streaming throughput ---------------------------------------------------------------------------
    def chat(self, server, prompt):
        id_ = server.new_id()
        server.write(lsp.request(id_, "chat/stream", {"prompt": prompt, "ephemeral": True}))
        return id_

    def contenox_stream(self, tokens, concurrency=1):
        """Streams through `contenox serve`; returns (deltas, seconds, server CPU seconds, server)."""
        server = self.serve()
        server.initialize()
        cpu0, t0 = lsp.proc_cpu_seconds(server.pid), time.perf_counter()
        for _ in range(concurrency):
            self.chat(server, "@@tokens=%d" % tokens)
        deltas, frames, _ = lsp.count_stream(server.reader, concurrency)
        seconds, cpu = time.perf_counter() - t0, lsp.proc_cpu_seconds(server.pid) - cpu0
        self.last_frames = frames
        if deltas != tokens * concurrency:
            server.close()
            raise RuntimeError("received %d text deltas, expected %d" % (deltas, tokens * concurrency))
        return deltas, seconds, cpu, server

    def stream(self):
        def contenox():
            deltas, seconds, cpu, server = self.contenox_stream(STREAM_TOKENS)
            server.close()
            self.record("stream.rate", contenox=deltas / seconds)
            self.note("streamNotificationsPerDelta", self.last_frames / deltas)
            self.record("stream.cpu", contenox=cpu / deltas * 100000)

        def peer():
            result = self.peer("stream", STREAM_TOKENS)
            if result["deltas"] != STREAM_TOKENS:
                raise RuntimeError("boto3 received %d deltas" % result["deltas"])
            self.record("stream.rate", peer=result["deltas"] / result["seconds"])
            self.record("stream.cpu", peer=result["cpuSeconds"] / result["deltas"] * 100000)

        def standin_ceiling():
            result = self.peer("raw", STREAM_TOKENS)
            self.note("standinCeilingDeltasPerSecond", result["deltas"] / result["seconds"])

        self.attempt("stream.contenox", contenox)
        self.attempt("stream.peer", peer)
        self.attempt("stream.standinCeiling", standin_ceiling)
        self.attempt("stream.readerCeiling", self.reader_ceiling)

    def reader_ceiling(self):
        """The fast reader alone, on a pre-recorded file of STREAM_TOKENS one-delta chat/delta frames (the
        worst case: no coalescing) plus the result, fed through a pipe by `cat`."""
        path = os.path.join(self.work, "frames.bin")
        if not os.path.exists(path):
            delta = lsp.notification("chat/delta", {"requestId": 2, "sessionId": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                                                    "contentBlockIndex": 0, "delta": {"text": " tok"}})
            result = lsp.frame({"jsonrpc": "2.0", "id": 2, "result": {"stopReason": "end_turn"}})
            with open(path, "wb") as f:
                f.write(delta * STREAM_TOKENS + result)
        t0 = time.perf_counter()
        cat = subprocess.Popen(["cat", path], stdout=subprocess.PIPE, bufsize=0)
        deltas, _, _ = lsp.count_stream(lsp.FrameReader(cat.stdout.fileno()), 1)
        seconds = time.perf_counter() - t0
        cat.wait()
        cat.stdout.close()
        if deltas != STREAM_TOKENS:
            raise RuntimeError("reader counted %d" % deltas)
        self.note("readerCeilingDeltasPerSecond", deltas / seconds)

    # -- 3. added latency ----------------------------------------------------------------------------------
    def latency(self):
        def contenox():
            server = self.serve()
            server.initialize()
            self.chat(server, "@@tokens=1")     # warm-up: connection set-up is not in the samples
            lsp.count_stream(server.reader, 1)
            self.chat(server, "@@timestamps @@tokens=%d @@delay-ms=%d" % (LATENCY_EVENTS, LATENCY_DELAY_MS))
            samples, done = [], False
            stamp = re.compile(rb" t(\d+)")
            reader = server.reader
            while not done:
                bodies = reader.read_batch()
                now = time.monotonic_ns()
                if not bodies and reader.eof:
                    raise RuntimeError("server closed stdout during the latency stream")
                for body in bodies:
                    if b"chat/delta" in body:
                        samples.extend(now - int(t) for t in stamp.findall(body))
                    elif b'"result"' in body or b'"error"' in body:
                        if b'"error"' in body and b'"result"' not in body:
                            raise RuntimeError("chat/stream failed: %s" % body[:500])
                        done = True
            server.close()
            self.record_latency("contenox", samples)

        def peer():
            self.record_latency("peer", self.peer("latency", LATENCY_EVENTS, LATENCY_DELAY_MS)["samplesNs"])

        self.attempt("latency.contenox", contenox)
        self.attempt("latency.peer", peer)

    def record_latency(self, side, samples_ns):
        if len(samples_ns) != LATENCY_EVENTS:
            raise RuntimeError("%s: %d timestamped deltas, expected %d" % (side, len(samples_ns), LATENCY_EVENTS))
        ordered = sorted(samples_ns)
        p50 = ordered[len(ordered) // 2] / 1e6
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] / 1e6
        self.record("latency.p50", **{side: p50})
        self.record("latency.p99", **{side: p99})

    # -- 4. memory -----------------------------------------------------------------------------------------
    def memory(self):
        def idle(key="memory.idle", env=self.env):
            server = lsp.Server([self.binary, "serve"], env)
            server.initialize()
            time.sleep(0.2)
            hwm = lsp.proc_status_kib(server.pid, "VmHWM")
            server.close()
            self.record(key, contenox=hwm / MiB)

        def streamed(key, tokens, concurrency=1):
            deltas, seconds, _, server = self.contenox_stream(tokens, concurrency)
            hwm = lsp.proc_status_kib(server.pid, "VmHWM")
            server.close()
            self.record(key, contenox=hwm / MiB)
            self.note(key + ".contenoxDeltasPerSecond", deltas / seconds)

        def peer():
            self.record("memory.idle", peer=self.peer("idle")["hwmKiB"] / MiB)
            for key, tokens, concurrency in (("memory.100k", MEMORY_SHORT, 1), ("memory.1m", MEMORY_LONG, 1),
                                             ("memory.concurrent", CONCURRENT_TOKENS, CONCURRENT)):
                result = self.peer("stream", tokens, concurrency)
                if result["deltas"] != tokens * concurrency:
                    raise RuntimeError("boto3 received %d deltas" % result["deltas"])
                self.record(key, peer=result["hwmKiB"] / MiB)
                self.note(key + ".peerDeltasPerSecond", result["deltas"] / result["seconds"])

        self.attempt("memory.idle", idle)
        self.attempt("memory.idleNoPrewarm", lambda: idle("memory.idleNoPrewarm", dict(self.env, CONTENOX_PREWARM="0")))
        self.attempt("memory.100k", lambda: streamed("memory.100k", MEMORY_SHORT))
        self.attempt("memory.1m", lambda: streamed("memory.1m", MEMORY_LONG))
        self.attempt("memory.concurrent", lambda: streamed("memory.concurrent", CONCURRENT_TOKENS, CONCURRENT))
        self.attempt("memory.peer", peer)

    # -- 5. JSON-RPC request throughput --------------------------------------------------------------------
    def rpc(self):
        def pipelined(server):
            server.initialize()
            payload = b"".join(lsp.request(1000 + i, "config/get") for i in range(RPC_REQUESTS))
            t0 = time.perf_counter()
            writer = threading.Thread(target=server.write, args=(payload,))
            writer.start()
            answered = errors = 0
            reader = server.reader
            pending = reader._pending[:]
            del reader._pending[:]
            while answered < RPC_REQUESTS:
                bodies = pending or reader.read_batch()
                pending = None
                if not bodies and reader.eof:
                    raise RuntimeError("server closed stdout after %d answers" % answered)
                for body in bodies:
                    answered += 1
                    errors += b'"error"' in body
            seconds = time.perf_counter() - t0
            writer.join()
            server.close()
            if errors:
                raise RuntimeError("%d of %d config/get requests answered with an error" % (errors, answered))
            return answered / seconds

        echo = [sys.executable, os.path.join(HERE, "peer_echo_server.py")]
        self.attempt("rpc.contenox", lambda: self.record("rpc.rate", contenox=pipelined(self.serve())))
        self.attempt("rpc.peer", lambda: self.record("rpc.rate", peer=pipelined(lsp.Server(echo, self.env))))


# -- report -------------------------------------------------------------------------------------------------
ROWS = [
    # key, label, unit, better ("lower"/"higher"), target text, target check on (contenox, peer, samples)
    ("startup.serve", "start-up: spawn `serve` to `initialize` answer", "ms", "lower", "< 10 ms",
     lambda c, p, s: c < 10),
    ("startup.serveNoPrewarm", "start-up: the same with the warm-up off (CONTENOX_PREWARM=0)", "ms", "lower", None,
     None),
    ("startup.modelList", "start-up: `model list`, whole process", "ms", "lower", "< 10 ms",
     lambda c, p, s: c < 10),
    ("stream.rate", "stream: deltas/s (200k-delta stream)", "deltas/s", "higher", ">= 20x boto3",
     lambda c, p, s: c / p >= 20),
    ("stream.cpu", "stream: CPU s per 100k deltas", "s", "lower", None, None),
    ("latency.p50", "added latency p50 (5 ms-spaced deltas)", "ms", "lower", None, None),
    ("latency.p99", "added latency p99", "ms", "lower", "p99 < 1 ms", lambda c, p, s: c < 1),
    ("memory.idle", "peak RSS idle (after initialize and its warm-up / ready client)", "MiB", "lower", "< 20 MiB",
     lambda c, p, s: c < 20),
    ("memory.idleNoPrewarm", "peak RSS idle, warm-up off (libcurl not loaded, no connection)", "MiB", "lower",
     None, None),
    ("memory.100k", "peak RSS after a 100k-delta stream", "MiB", "lower", None, None),
    ("memory.1m", "peak RSS after a 1M-delta stream", "MiB", "lower", None, None),
    ("memory.perAnswerByte", "peak RSS above idle / answer text size (1M-delta stream)", "B/B", "lower",
     "text held once (<= 1.5)", lambda c, p, s: c <= 1.5),
    ("memory.perEventGrowth", "peak RSS growth per event beyond its text (100k to 1M deltas)", "B/event", "lower",
     "0 (< 0.5)", lambda c, p, s: c < 0.5),
    ("memory.concurrent", "peak RSS, 32 concurrent 20k-delta streams", "MiB", "lower", None, None),
    ("rpc.rate", "JSON-RPC: pipelined config/get answered/s", "req/s", "higher", None, None),
]

PEER_NAMES = {
    "startup.serve": "python3: import boto3 + client", "startup.modelList": "python3: import boto3 + client",
    "startup.serveNoPrewarm": "python3: import boto3 + client",
    "rpc.rate": "minimal Python JSON-RPC loop",
}


def fmt(value):
    if value is None:
        return "-"
    if value >= 1000:
        return "{:,.0f}".format(value)
    if value >= 10:
        return "%.1f" % value
    return "%.3g" % value


ANSWER_BYTES_PER_DELTA = len(" tok")


def derive_memory(samples):
    """Peak RSS above idle per byte of the 1M-delta answer's text, and the growth per event from the 100k to
    the 1M stream beyond the text those events add (zero when nothing is kept per event)."""
    for side in ("contenox",):  # boto3 keeps no answer: the peer has nothing to compare here
        get = lambda key: samples.get(key, {}).get(side) or []  # noqa: E731
        idle, short, long_ = get("memory.idle"), get("memory.100k"), get("memory.1m")
        if not (idle and short and long_):
            continue
        idle, short, long_ = (statistics.median(v) * MiB * 1024 for v in (idle, short, long_))
        text = ANSWER_BYTES_PER_DELTA * MEMORY_LONG
        samples.setdefault("memory.perAnswerByte", {"contenox": [], "peer": []})[side] = [(long_ - idle) / text]
        events = MEMORY_LONG - MEMORY_SHORT
        growth = (long_ - short - ANSWER_BYTES_PER_DELTA * events) / events
        samples.setdefault("memory.perEventGrowth", {"contenox": [], "peer": []})[side] = [growth]


def summarise(bench, started):
    derive_memory(bench.samples)
    is_contenox = bench.server_info.get("name") == "contenox"
    measurements = {}
    lines = []
    who = "%s (serverInfo: %s %s)" % (bench.binary, bench.server_info.get("name"), bench.server_info.get("version"))
    lines.append("# contenox benchmark, %s" % started)
    lines.append("")
    lines.append("Binary measured: `%s`" % who)
    if not is_contenox:
        lines.append("")
        lines.append("**WARNING: the measured binary is not contenox (serverInfo.name is %r). These numbers are "
                     "NOT contenox numbers; they only show the harness works.**" % bench.server_info.get("name"))
    if "/debug/" in bench.binary:
        lines.append("")
        lines.append("**Note: this is a debug build; publish only numbers from `.build/release/contenox`.**")
    lines.append("")
    lines.append("Runs: %d (medians), memory runs: %d, host: %d cores, load average %s." % (
        RUNS, MEM_RUNS, os.cpu_count(), " ".join("%.2f" % x for x in os.getloadavg())))
    lines.append("")
    lines.append("| measurement | unit | contenox | peer | contenox/peer | target | status |")
    lines.append("|---|---|---|---|---|---|---|")
    for key, label, unit, better, target, check in ROWS:
        entry = bench.samples.get(key, {"contenox": [], "peer": []})
        c = statistics.median(entry["contenox"]) if entry["contenox"] else None
        p = statistics.median(entry["peer"]) if entry["peer"] else None
        ratio = c / p if c is not None and p else None
        status = "-"
        if target:
            if c is None or (check is not None and "boto3" in target and p is None):
                status = "not measured"
            else:
                try:
                    status = "PASS" if check(c, p, bench.samples) else "MISS"
                except (KeyError, ValueError, statistics.StatisticsError, TypeError, ZeroDivisionError):
                    status = "not measured"
                if not is_contenox:
                    status = "(not contenox)"
        measurements[key] = {"label": label, "unit": unit, "better": better, "contenox": c, "peer": p,
                             "ratio": ratio, "target": target, "status": status,
                             "peerIs": PEER_NAMES.get(key, "boto3 converse_stream"), "samples": entry}
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (label, unit, fmt(c), fmt(p),
                                                             "-" if ratio is None else "%.3gx" % ratio,
                                                             target or "-", status))
    context = {k: statistics.median(v) for k, v in bench.context.items()}
    lines.append("")
    lines.append("Peer: boto3 %s `converse_stream` on the same stand-in, except JSON-RPC throughput, whose peer is "
                 "bench/peer_echo_server.py (a minimal Python JSON-RPC loop), and start-up, whose peer is a "
                 "python3 process importing boto3 and making a bedrock-runtime client." % boto3_version())
    lines.append("")
    lines.append("Context (medians):")
    for key, label in (("spawnFloorMs", "spawn+wait of /bin/true (harness floor), ms"),
                       ("standinCeilingDeltasPerSecond", "stand-in ceiling (raw socket read, no decoding), deltas/s"),
                       ("readerCeilingDeltasPerSecond", "benchmark reader ceiling (pre-recorded frames), deltas/s"),
                       ("streamNotificationsPerDelta", "chat/delta notifications per text delta in the 200k stream"),
                       ("memory.1m.contenoxDeltasPerSecond", "contenox deltas/s during the 1M stream"),
                       ("memory.1m.peerDeltasPerSecond", "boto3 deltas/s during the 1M stream")):
        if key in context:
            lines.append("- %s: %s" % (label, fmt(context[key])))
    c_rate = measurements["stream.rate"]["contenox"]
    for key, what in (("standinCeilingDeltasPerSecond", "stand-in"), ("readerCeilingDeltasPerSecond", "reader")):
        # The reader ceiling is measured on one frame per delta; coalesced frames cost it far less.
        uncoalesced = context.get("streamNotificationsPerDelta", 1) > 0.5
        if c_rate and key in context and c_rate > 0.8 * context[key] and (what == "stand-in" or uncoalesced):
            lines.append("- NOTE: contenox's stream rate is within 20%% of the %s ceiling: the figure is bound "
                         "by the %s, not by contenox." % (what, what))
    ttft_data = None
    if bench.ttft:
        ttft_lines, ttft_data = ttft.report(bench.ttft)
        lines.extend(ttft_lines)
    if bench.errors:
        lines.append("")
        lines.append("Errors (these measurements are missing above):")
        lines.extend("- %s" % e.replace("\n", " ")[:400] for e in bench.errors)
    return {"startedAt": started, "binary": bench.binary, "serverInfo": bench.server_info,
            "isContenox": is_contenox, "runs": RUNS, "memoryRuns": MEM_RUNS,
            "host": {"cores": os.cpu_count(), "loadavg": os.getloadavg(), "python": platform.python_version(),
                     "boto3": boto3_version(), "kernel": platform.release()},
            "measurements": measurements, "context": context, "ttft": ttft_data,
            "errors": bench.errors}, "\n".join(lines) + "\n"


def boto3_version():
    import boto3

    return boto3.__version__


def main():
    binary = os.path.abspath(os.environ.get("CONTENOX_BIN", os.path.join(REPO, ".build/release/contenox")))
    standin = os.environ.get("BENCH_STANDIN", os.path.join(REPO, "tools/standin/standin.py"))
    if not os.access(binary, os.X_OK):
        raise SystemExit("no executable at %s (build with `make release` or set CONTENOX_BIN)" % binary)
    started = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    bench = Bench(binary)
    try:
        bench.start_standin(standin)
        bench.configure()
        log("measuring %s (serverInfo %s) against the stand-in at %s" % (binary, bench.server_info, bench.url))
        for run in range(RUNS):
            for name in ("startup", "stream", "latency", "rpc"):
                if name in ONLY:
                    log("run %d/%d: %s" % (run + 1, RUNS, name))
                    getattr(bench, name)()
        if "memory" in ONLY:
            for run in range(MEM_RUNS):
                log("memory run %d/%d" % (run + 1, MEM_RUNS))
                bench.memory()
        if "ttft" in ONLY:
            bench.attempt("ttft", lambda: ttft.measure(bench, TTFT_RUNS, standin, log))
    finally:
        bench.close()
    results, table = summarise(bench, started)
    out = os.path.join(HERE, "results")
    os.makedirs(out, exist_ok=True)
    stamp = started.replace(":", "").replace("-", "")
    with open(os.path.join(out, "%s.json" % stamp), "w") as f:
        json.dump(results, f, indent=2)
    with open(os.path.join(out, "latest.md"), "w") as f:
        f.write(table)
    print(table)
    log("results: bench/results/%s.json and bench/results/latest.md" % stamp)


if __name__ == "__main__":
    main()
