#!/usr/bin/env python3
"""The peer: what a Python user would write with boto3, run as its own process so its CPU and RSS are its own.

    peer_boto3.py URL stream TOKENS [CONCURRENCY]   converse_stream of "@@tokens=TOKENS", iterate the events
    peer_boto3.py URL latency EVENTS DELAY_MS       "@@timestamps" stream; now - t for every delta
    peer_boto3.py URL idle                           import boto3, make the client, report peak RSS
    peer_boto3.py URL raw TOKENS                     NOT boto3: the stand-in's own ceiling (see below)
    peer_boto3.py URL ttft PAUSE PROMPT DIRECT_URL   time to first token in the TTFT scenarios (bench/ttft.py)

Each prints one JSON object on stdout. Credentials come from the environment (the stand-in's test keys).
"""
import json
import os
import sys
import threading
import time

MODEL = "amazon.nova-lite-v1:0"


def hwm_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise KeyError("VmHWM")


def make_client(url, pool=10):
    import boto3
    from botocore.config import Config

    return boto3.client("bedrock-runtime", endpoint_url=url, region_name="us-east-1",
                        config=Config(max_pool_connections=pool, read_timeout=300))


def converse_stream(client, prompt):
    return client.converse_stream(modelId=MODEL, messages=[{"role": "user", "content": [{"text": prompt}]}])


def stream(url, tokens, concurrency=1):
    client = make_client(url, pool=max(10, concurrency))
    idle = hwm_kib()
    counts = [0] * concurrency

    def one(slot):
        deltas = 0
        for event in converse_stream(client, "@@tokens=%d" % tokens)["stream"]:
            if "contentBlockDelta" in event:
                deltas += 1
        counts[slot] = deltas

    cpu0, t0 = time.process_time(), time.perf_counter()
    if concurrency == 1:
        one(0)
    else:
        threads = [threading.Thread(target=one, args=(slot,)) for slot in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    return {"deltas": sum(counts), "seconds": seconds, "cpuSeconds": cpu, "hwmKiBIdle": idle, "hwmKiB": hwm_kib()}


def latency(url, events, delay_ms):
    client = make_client(url)
    # One warm-up call so connection set-up is not in the first sample.
    for _ in converse_stream(client, "@@tokens=1")["stream"]:
        pass
    samples = []
    prompt = "@@timestamps @@tokens=%d @@delay-ms=%d" % (events, delay_ms)
    for event in converse_stream(client, prompt)["stream"]:
        if "contentBlockDelta" in event:
            now = time.monotonic_ns()
            for word in event["contentBlockDelta"]["delta"].get("text", "").split():
                if word.startswith("t") and word[1:].isdigit():
                    samples.append(now - int(word[1:]))
    return {"samplesNs": samples}


def idle(url):
    make_client(url)
    return {"hwmKiB": hwm_kib()}


def raw(url, tokens):
    """The stand-in's ceiling: a SigV4-signed converse-stream request sent on a plain socket, the response read
    in 1 MiB recv calls and only counted. Nothing decodes the event stream, so this is as fast as the stand-in
    can produce the stream; a throughput figure near it is bound by the stand-in, not by the client."""
    import socket
    import urllib.parse

    import botocore.session
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    parsed = urllib.parse.urlparse(url)
    path = "/model/%s/converse-stream" % urllib.parse.quote(MODEL, safe="")
    body = json.dumps({"messages": [{"role": "user", "content": [{"text": "@@tokens=%d" % tokens}]}]}).encode()
    request = AWSRequest(method="POST", url=url + path, data=body,
                         headers={"Content-Type": "application/json", "Connection": "close"})
    credentials = botocore.session.get_session().get_credentials()
    SigV4Auth(credentials, "bedrock", "us-east-1").add_auth(request)
    head = "POST %s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n" % (path, parsed.netloc, len(body))
    head += "".join("%s: %s\r\n" % (k, v) for k, v in request.headers.items() if k.lower() != "host")
    cpu0, t0 = time.process_time(), time.perf_counter()
    sock = socket.create_connection((parsed.hostname, parsed.port))
    sock.sendall(head.encode() + b"\r\n" + body)
    received = 0
    tail = b""
    while True:
        chunk = sock.recv(1 << 20)
        if not chunk:
            break
        received += len(chunk)
        tail = (tail + chunk)[-16:]
        if tail.endswith(b"\r\n0\r\n\r\n"):
            break
    sock.close()
    seconds = time.perf_counter() - t0
    return {"deltas": tokens, "bytes": received, "seconds": seconds, "cpuSeconds": time.process_time() - cpu0}


def ttft(url, pause, prompt, direct):
    """bench/ttft.py's scenarios, as a boto3 user meets them: ms from converse_stream called to the first
    text delta, each answer read to its end. DIRECT_URL is the stand-in itself (not through the delay proxy),
    asked to close its idle connections between the second and third chat."""
    import ssl
    import urllib.request

    client = make_client(url)
    time.sleep(float(pause))

    def one(tag):
        t0 = time.perf_counter()
        first = None
        for event in converse_stream(client, "%s %s" % (prompt, tag))["stream"]:
            if first is None and "contentBlockDelta" in event:
                first = (time.perf_counter() - t0) * 1000
        return first

    result = {"first": one("first")}
    time.sleep(0.3)
    result["second"] = one("second")
    context = ssl.create_default_context(cafile=os.environ["AWS_CA_BUNDLE"])
    close = urllib.request.Request(direct + "/_standin/close-idle", method="POST", data=b"")
    urllib.request.urlopen(close, context=context, timeout=10).read()
    time.sleep(float(pause))
    result["afterClose"] = one("after-close")
    times = [None, None]

    def concurrent(slot):
        times[slot] = one("concurrent %d" % slot)

    threads = [threading.Thread(target=concurrent, args=(slot,)) for slot in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    result["concurrent"] = max(times)
    return result


def main():
    url, mode = sys.argv[1], sys.argv[2]
    args = sys.argv[3:] if mode == "ttft" else [int(a) for a in sys.argv[3:]]
    result = {"stream": stream, "latency": latency, "idle": idle, "raw": raw, "ttft": ttft}[mode](url, *args)
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
