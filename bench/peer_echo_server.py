#!/usr/bin/env python3
"""The peer for JSON-RPC request throughput: a minimal Python JSON-RPC loop over the same LSP framing.

boto3 has no JSON-RPC side, so the comparison is with what a Python author would write in a few lines: read
headers with readline, read the body, json.loads, answer every request with a small fixed result
({"config": {...}}, the shape of config/get) via json.dumps, write and flush each response. It does no
dispatch, storage or validation beyond that, so it is a floor for a Python server, not a full one.
"""
import json
import sys

RESULT = {"config": {"default-provider": "bench", "default-model": "amazon.nova-lite-v1:0"}}


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    while True:
        length = None
        while True:
            line = stdin.readline()
            if not line:
                return
            line = line.strip()
            if not line:
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        message = json.loads(stdin.read(length))
        if "id" not in message:
            if message.get("method") == "exit":
                return
            continue
        result = None if message.get("method") == "shutdown" else RESULT
        if message.get("method") == "initialize":
            result = {"serverInfo": {"name": "python-echo-peer", "version": "1"}, "protocolVersion": 1}
        body = json.dumps({"jsonrpc": "2.0", "id": message["id"], "result": result}).encode()
        stdout.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        stdout.flush()


if __name__ == "__main__":
    main()
