#!/usr/bin/env python3
"""Drives `contenox serve` over stdio the way an editor does, and prints what arrives.

Usage: rpc_session.py CONTENOX_BIN PROMPT [MODEL]
Sends initialize, initialized, models/list, chat/stream (printing each chat/delta as it comes),
a follow-up turn in the same session, shutdown and exit. Exits non-zero on any error response.
"""
import json
import subprocess
import sys


def frame(obj):
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def read_frame(stream):
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode().partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(stream.read(length))


def main():
    binary, prompt = sys.argv[1], sys.argv[2]
    model = sys.argv[3] if len(sys.argv) > 3 else None
    server = subprocess.Popen([binary, "serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    next_id = 0

    def call(method, params=None, on_notification=None):
        nonlocal next_id
        next_id += 1
        message = {"jsonrpc": "2.0", "id": next_id, "method": method}
        if params is not None:
            message["params"] = params
        server.stdin.write(frame(message))
        server.stdin.flush()
        while True:
            incoming = read_frame(server.stdout)
            if incoming is None:
                sys.exit(f"server closed stdout while waiting for {method}")
            if "id" in incoming and incoming["id"] == next_id:
                if "error" in incoming:
                    error = incoming["error"]
                    hint = (error.get("data") or {}).get("hint", "")
                    sys.exit(f"{method} failed: {error['message']}\n  hint: {hint}")
                return incoming["result"]
            if on_notification:
                on_notification(incoming)

    info = call("initialize", {"clientInfo": {"name": "rpc_session.py"}})
    print(f"> initialize: {info['serverInfo']['name']} {info['serverInfo']['version']}, "
          f"{len(info['capabilities']['methods'])} methods")
    server.stdin.write(frame({"jsonrpc": "2.0", "method": "initialized"}))
    models = call("models/list")["models"]
    print(f"> models/list: {len(models)} models; default: "
          f"{next((m['id'] for m in models if m.get('default')), '(none)')}")

    def show_delta(notification):
        if notification.get("method") == "chat/delta":
            text = notification["params"]["delta"].get("text")
            if text:
                print(text, end="", flush=True)

    session = None
    for turn in (prompt, "And once more, briefly."):
        params = {"prompt": turn}
        if model:
            params["model"] = model
        if session:
            params["sessionId"] = session
        print(f"> chat/stream: {turn}\n  ", end="")
        result = call("chat/stream", params, show_delta)
        session = result["sessionId"]
        usage = result["usage"]
        print(f"\n  [{result['stopReason']}; {usage.get('inputTokens')} in, {usage.get('outputTokens')} out; "
              f"session {session}]")
    history = call("session/get", {"sessionId": session})["session"]
    print(f"> session/get: {len(history['messages'])} messages kept")
    call("shutdown")
    server.stdin.write(frame({"jsonrpc": "2.0", "method": "exit"}))
    server.stdin.close()
    sys.exit(server.wait())


if __name__ == "__main__":
    main()
