"""Time to first token (issue 16), run by bench.py as the `ttft` measurement.

The stand-in serves HTTPS with a throwaway CA (made here with openssl, trusted through AWS_CA_BUNDLE and
curl's --cacert) behind bench/delay_proxy.py, which delays every byte by BENCH_ONE_WAY_MS (default 50 ms:
100 ms round trips) each way. Every prompt asks the stand-in to wait BENCH_TTFT_STALL_MS (default 20 ms)
before it answers: its own, known, first-event delay. A time to first token is taken from the moment the
request is written (contenox: the chat/stream request on its stdin; boto3: converse_stream called; curl: the
transfer starts) to the first text delta (curl: the first byte of the answer), and is also given in round
trips beyond the stand-in's delay: (ms - stall) / RTT.

Each run, for contenox (a fresh `contenox serve`) and for boto3 (a fresh process and client):
1. first chat, BENCH_TTFT_PAUSE_S (default 1 s: a person typing) after `initialize` / client creation;
2. a second chat on the same process;
3. a chat after the stand-in closed the idle connection (POST /_standin/close-idle), the same pause later;
4. two chats started at once (the slower of the two).
curl, the floor: a fresh process's first transfer (TCP and TLS included) and a second transfer on its
connection (`--next`), with SigV4 headers made by botocore.
"""
import json
import os
import ssl
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import lsp

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
ONE_WAY_MS = float(os.environ.get("BENCH_ONE_WAY_MS", 50))
STALL_MS = int(os.environ.get("BENCH_TTFT_STALL_MS", 20))
PAUSE = float(os.environ.get("BENCH_TTFT_PAUSE_S", 1.0))
MODEL = "amazon.nova-lite-v1:0"
SCENARIOS = [("first", "first chat after `initialize` / client creation"),
             ("second", "second chat, same process"),
             ("afterClose", "chat after the peer closed the idle connection"),
             ("concurrent", "two chats at once (the slower)")]


def prompt(tag):
    return "@@stall-before-ms=%d ttft %s" % (STALL_MS, tag)


def make_tls(work):
    """A throwaway CA and a certificate for 127.0.0.1 signed by it; returns (ca.pem, cert.pem, key.pem)."""
    ca_key, ca, key, csr, cert = (os.path.join(work, n) for n in ("ca.key", "ca.pem", "tls.key", "tls.csr",
                                                                  "tls.pem"))
    ext = os.path.join(work, "tls.ext")
    with open(ext, "w") as f:
        f.write("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\n"
                "extendedKeyUsage=serverAuth\n")
    run = lambda *argv: subprocess.run(argv, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", ca_key, "-out", ca, "-days", "2", "-subj", "/CN=contenox bench CA")
    run("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
        "-out", csr, "-subj", "/CN=127.0.0.1")
    run("openssl", "x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert,
        "-days", "2", "-extfile", ext)
    return ca, cert, key


def wait_for_port(path, process, what):
    """The port `process` writes to `path` (removed beforehand)."""
    deadline = time.time() + 20
    while time.time() < deadline:
        if os.path.exists(path) and open(path).read().strip():
            return int(open(path).read().strip())
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise RuntimeError("%s did not start" % what)


class Network:
    """The TLS stand-in and the delay proxy in front of it."""

    def __init__(self, work, standin_script):
        self.ca, cert, key = make_tls(work)
        self.context = ssl.create_default_context(cafile=self.ca)
        port_file, proxy_file = (os.path.join(work, name) for name in ("ttft-standin.port", "ttft-proxy.port"))
        for stale in (port_file, proxy_file):
            if os.path.exists(stale):
                os.remove(stale)
        log = open(os.path.join(work, "ttft-standin.log"), "wb")
        self.standin = subprocess.Popen([sys.executable, standin_script, "--port", "0", "--port-file", port_file,
                                         "--tls-cert", cert, "--tls-key", key], stdout=subprocess.DEVNULL,
                                        stderr=log)
        self.direct = "https://127.0.0.1:%d" % wait_for_port(port_file, self.standin, "the TLS stand-in")
        self.proxy = subprocess.Popen([sys.executable, os.path.join(HERE, "delay_proxy.py"), "--upstream",
                                       self.direct[len("https://"):], "--one-way-ms", str(ONE_WAY_MS),
                                       "--port-file", proxy_file], stdout=subprocess.DEVNULL, stderr=log)
        self.url = "https://127.0.0.1:%d" % wait_for_port(proxy_file, self.proxy, "the delay proxy")

    def call(self, method, path):
        request = urllib.request.Request(self.direct + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, context=self.context, timeout=10) as response:
            return json.loads(response.read())

    def close_idle(self):
        return self.call("POST", "/_standin/close-idle")["closed"]

    def connections(self):
        return self.call("GET", "/_standin/stats")["connections"]

    def stop(self):
        for process in (self.proxy, self.standin):
            process.kill()
            process.wait()


# -- contenox ---------------------------------------------------------------------------------------------

def contenox_chats(server, count, tag):
    """Writes `count` chat/stream requests at once; returns each one's time to its first chat/delta (ms),
    after reading every answer to the end."""
    ids = [server.new_id() for _ in range(count)]
    payload = b"".join(lsp.request(i, "chat/stream", {"prompt": prompt("%s %d" % (tag, i)), "ephemeral": True})
                       for i in ids)
    first, done = {}, set()
    t0 = time.perf_counter()
    server.write(payload)
    while len(done) < count:
        message = server.reader.next_message()
        if message is None:
            raise RuntimeError("contenox closed stdout during the TTFT chats")
        now = time.perf_counter()
        if message.get("method") == "chat/delta":
            first.setdefault(message["params"]["requestId"], (now - t0) * 1000)
        elif message.get("id") in ids:
            if "error" in message:
                raise RuntimeError("chat/stream failed: %s" % json.dumps(message["error"])[:400])
            done.add(message["id"])
    return [first[i] for i in ids]


def contenox_run(binary, env, network):
    server = lsp.Server([binary, "serve"], env)
    try:
        before = network.connections()
        server.initialize()
        time.sleep(PAUSE)
        result = {"first": contenox_chats(server, 1, "first")[0]}
        time.sleep(0.3)
        result["second"] = contenox_chats(server, 1, "second")[0]
        if network.close_idle() < 1:
            raise RuntimeError("the stand-in had no idle connection to close")
        time.sleep(PAUSE)
        result["afterClose"] = contenox_chats(server, 1, "after-close")[0]
        result["concurrent"] = max(contenox_chats(server, 2, "concurrent"))
        result["connections"] = network.connections() - before
        return result
    finally:
        server.close()


def configure(binary, env, url):
    for argv in (["backend", "add", "ttft", "--type", "bedrock", "--url", url, "--region", "us-east-1"],
                 ["config", "set", "default-provider", "ttft"], ["config", "set", "default-model", MODEL]):
        result = subprocess.run([binary] + argv, env=env, capture_output=True, timeout=60)
        if result.returncode != 0:
            raise RuntimeError("`contenox %s` failed: %s" % (" ".join(argv), result.stderr.decode(errors="replace")))


# -- curl, the floor --------------------------------------------------------------------------------------

def curl_times(network, env, transfers):
    """One curl process making `transfers` signed converse-stream requests in turn on one connection;
    returns each one's time to the first byte of the answer (ms)."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = network.url + "/model/%s/converse-stream" % MODEL.replace(":", "%3A")
    argv = ["curl"]
    for n in range(transfers):
        body = json.dumps({"messages": [{"role": "user", "content": [{"text": prompt("curl %d" % n)}]}]})
        request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
        SigV4Auth(Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]), "bedrock",
                  "us-east-1").add_auth(request)
        if n:
            argv.append("--next")  # which resets the options, not the connection
        argv += ["--silent", "--show-error", "--cacert", network.ca, "--http1.1", "--output", "/dev/null", "--write-out", "%{time_starttransfer}\\n", "--data-binary", body]
        for name in ("Content-Type", "X-Amz-Date", "Authorization"):
            argv += ["-H", "%s: %s" % (name, request.headers[name])]
        argv.append(url)
    result = subprocess.run(argv, capture_output=True, timeout=60, check=True)
    return [float(line) * 1000 for line in result.stdout.split()]


def tls_handshakes(network, tls_max):
    """TLS handshake time (appconnect - connect, ms) of a full handshake and of a resumed one: curl fetches
    twice, the first answer closing the connection, so the second opens another with the session ticket of
    the first (the curl tool shares its TLS session cache between transfers)."""
    argv = ["curl"]
    for n in range(2):
        if n:
            argv.append("--next")
        argv += ["--silent", "--show-error", "--cacert", network.ca, "--http1.1", "--tls-max", tls_max,
                 "--output", "/dev/null", "--write-out", "%{time_connect} %{time_appconnect}\\n"]
        if n == 0:
            argv += ["-H", "Connection: close"]
        argv.append(network.url + "/_standin/stats")
    result = subprocess.run(argv, capture_output=True, timeout=60, check=True)
    times = [[float(x) for x in line.split()] for line in result.stdout.decode().splitlines()]
    return [(appconnect - connect) * 1000 for connect, appconnect in times]


# -- the measurement --------------------------------------------------------------------------------------

def measure(bench, runs, standin_script, log):
    """Fills bench.ttft with {side: {scenario: [ms per run]}} and context."""
    network = Network(bench.work, standin_script)
    env = dict(bench.env)
    env["AWS_CA_BUNDLE"] = network.ca
    env["CONTENOX_HOME"] = os.path.join(bench.work, "ttft-home")
    results = {"contenox": {}, "boto3": {}, "curl": {}}
    connections = {"contenox": [], "boto3": []}
    handshakes = {}
    try:
        configure(bench.binary, env, network.url)
        for run in range(runs):
            log("ttft run %d/%d" % (run + 1, runs))

            def contenox():
                result = contenox_run(bench.binary, env, network)
                connections["contenox"].append(result.pop("connections"))
                for key, value in result.items():
                    results["contenox"].setdefault(key, []).append(value)

            def boto3():
                before = network.connections()
                argv = [sys.executable, os.path.join(HERE, "peer_boto3.py"), network.url, "ttft", PAUSE,
                        prompt("boto3"), network.direct]
                out = subprocess.run([str(a) for a in argv], env=env, capture_output=True, timeout=120)
                if out.returncode != 0:
                    raise RuntimeError("boto3 ttft failed: %s" % out.stderr.decode(errors="replace")[-1500:])
                for key, value in json.loads(out.stdout).items():
                    results["boto3"].setdefault(key, []).append(value)
                connections["boto3"].append(network.connections() - before)

            def curl():
                cold, warm = curl_times(network, env, 2)
                results["curl"].setdefault("first", []).append(cold)
                results["curl"].setdefault("second", []).append(warm)
                for version in ("1.3", "1.2"):
                    full, resumed = tls_handshakes(network, version)
                    handshakes.setdefault(version, {"full": [], "resumed": []})
                    handshakes[version]["full"].append(full)
                    handshakes[version]["resumed"].append(resumed)

            bench.attempt("ttft.contenox", contenox)
            bench.attempt("ttft.boto3", boto3)
            bench.attempt("ttft.curl", curl)
    finally:
        network.stop()
    bench.ttft = {"results": results, "connections": connections, "handshakes": handshakes}


def report(ttft):
    """Markdown lines for the TTFT table, and the JSON-able medians."""
    rtt = 2 * ONE_WAY_MS
    medians = {side: {key: statistics.median(values) for key, values in scenarios.items() if values}
               for side, scenarios in ttft["results"].items()}

    def cell(side, key):
        value = medians.get(side, {}).get(key)
        if value is None:
            return "- | -"
        return "%.1f | %s" % (value, "%.2f" % ((value - STALL_MS) / rtt) if rtt else "-")

    lines = ["", "## Time to first token", "",
             "Stand-in over TLS behind a delay proxy: %g ms each way (RTT %g ms); the stand-in's own first-event "
             "delay %d ms; %g s pause before the first prompt. Medians; RTTs = (ms - %d) / %g." % (
                 ONE_WAY_MS, rtt, STALL_MS, PAUSE, STALL_MS, rtt), "",
             "| scenario | contenox ms | contenox RTTs | boto3 ms | boto3 RTTs | curl ms | curl RTTs |",
             "|---|---|---|---|---|---|---|"]
    for key, label in SCENARIOS:
        lines.append("| %s | %s | %s | %s |" % (label, cell("contenox", key), cell("boto3", key), cell("curl", key)))
    first = medians.get("contenox", {}).get("first")
    bound = STALL_MS + rtt + 2
    floor = medians.get("curl", {}).get("second")
    if first is not None:
        lines.append("")
        lines.append("Target: first chat after `initialize` <= stand-in delay + 1 RTT + 2 ms = %.0f ms: %.1f ms, %s."
                     % (bound, first, "PASS" if first <= bound else "MISS"))
        if floor is not None:
            lines.append("Against the floor (curl's second transfer: the stand-in's delay and its own processing, "
                         "one RTT, no set-up): %.1f ms, contenox %+.1f ms." % (floor, first - floor))
    for side, counts in ttft["connections"].items():
        if counts:
            lines.append("- connections the stand-in accepted per %s run (median): %g" % (
                side, statistics.median(counts)))
    for version, times in sorted(ttft.get("handshakes", {}).items(), reverse=True):
        lines.append("- TLS %s handshake (curl, appconnect - connect): full %.1f ms, resumed %.1f ms" % (
            version, statistics.median(times["full"]), statistics.median(times["resumed"])))
    lines.append("- curl: first = a fresh process (TCP and TLS included), second = the next transfer on its "
                 "connection; the other rows have no curl equivalent.")
    return lines, {"oneWayMs": ONE_WAY_MS, "stallMs": STALL_MS, "pauseS": PAUSE, "medians": medians,
                   "samples": ttft["results"], "connections": ttft["connections"],
                   "handshakes": ttft.get("handshakes", {})}
