#!/usr/bin/env python3
"""A small stand-in for `contenox serve`, for developing and testing the editor glue without the
Swift build. It speaks the wire contract (../../docs/protocol.md) over stdio with LSP framing, and
answers like `contenox serve` does in front of the local Bedrock stand-in: the reply to a prompt is
"Echo: <prompt>" (directives removed), streamed word by word as chat/delta notifications.

Directives in the prompt: @@tokens=N (N deltas of " tok"), @@delay-ms=D (between deltas),
@@fail=access-denied (an AccessDeniedException with a hint). Sessions live in memory; a turn with
`sessionId` is appended to that session. Every request is logged to stderr, and session/get shows
the history, so tests can see what the server received.

Usage: fake_server.py [serve] [--framing lsp|ndjson]
"""

import json
import re
import sys
import threading
import time
import uuid

write_lock = threading.Lock()
state_lock = threading.Lock()
sessions = {}  # sessionId -> {"sessionId", "title", "model", "messages": [...]}
config = {"default-model": "amazon.nova-lite-v1:0", "default-provider": "standin"}
backends = {"standin": {"name": "standin", "type": "bedrock", "url": "http://127.0.0.1:1", "region": "us-east-1"}}
in_flight = {}  # json.dumps(id) -> threading.Event (set on cancel)
lifecycle = {"initialized": False, "shutdown": False}
framing = "lsp"

MODELS = [
    ("amazon.nova-lite-v1:0", "Nova Lite", "Amazon"),
    ("amazon.nova-pro-v1:0", "Nova Pro", "Amazon"),
    ("anthropic.claude-3-5-haiku-20241022-v1:0", "Claude 3.5 Haiku", "Anthropic"),
]


class RPCError(Exception):
    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code, self.message, self.data = code, message, data

    def json(self):
        error = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


def backend_error(code, type_, message, hint, http_status=None):
    data = {"type": type_, "message": message, "retryable": False, "hint": hint}
    if http_status is not None:
        data["httpStatus"] = http_status
    return RPCError(code, message, data)


def log(text):
    sys.stderr.write("fake-contenox: " + text + "\n")
    sys.stderr.flush()


def send(message):
    message = dict(message, jsonrpc="2.0")
    body = json.dumps(message, ensure_ascii=False).encode("utf-8")
    with write_lock:
        if framing == "ndjson":
            sys.stdout.buffer.write(body + b"\n")
        else:
            sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        sys.stdout.buffer.flush()


def read_message(stream):
    """Returns the next message body (bytes), or None at end of input."""
    if framing == "ndjson":
        while True:
            line = stream.readline()
            if not line:
                return None
            if line.strip():
                return line
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.rstrip(b"\r\n")
        if not line:
            if length is None:
                continue
            break
        name, _, value = line.decode("ascii", "replace").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    body = stream.read(length)
    return body if len(body) == length else None


def params_object(raw):
    """Absent, null, {} and [] all mean no params; a non-empty array is -32602."""
    if raw is None or raw == [] or raw == {}:
        return {}
    if isinstance(raw, dict):
        return raw
    raise RPCError(-32602, "params must be an object")


def required_string(params, key):
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise RPCError(-32602, "missing or invalid '%s'" % key)
    return value


def prompt_text(params):
    if isinstance(params.get("prompt"), str):
        return params["prompt"]
    for block in params.get("content") or []:
        if isinstance(block, dict) and isinstance(block.get("text"), str):
            return block["text"]
    raise RPCError(-32602, "chat needs 'prompt' or 'content'")


def directives(text):
    found = dict(re.findall(r"@@([a-z-]+)(?:=(\S+))?", text))
    clean = " ".join(word for word in text.split() if not word.startswith("@@"))
    return found, clean


def chat(request_id, params, streaming, cancelled):
    text = prompt_text(params)
    options, clean = directives(text)
    with state_lock:
        session_id = params.get("sessionId")
        if session_id is not None:
            if session_id not in sessions:
                raise backend_error(-32003, "SessionNotFound", "no session '%s'" % session_id,
                                    "List sessions with session/list, or leave sessionId out to start one.")
            session = sessions[session_id]
        else:
            session_id = str(uuid.uuid4())
            session = {"sessionId": session_id, "title": clean[:60], "messages": [],
                       "model": params.get("model") or config["default-model"]}
            if not params.get("ephemeral"):
                sessions[session_id] = session
        model = params.get("model") or session["model"]
        session["messages"].append({"role": "user", "content": [{"text": text}]})
    if options.get("fail") == "access-denied":
        raise backend_error(-32000, "AccessDeniedException",
                            "You don't have access to the model with the specified model ID.",
                            "Enable the model for this account and region under Model access in the Amazon "
                            "Bedrock console", 403)
    if "tokens" in options:
        pieces = [" tok"] * int(options["tokens"])
    else:
        pieces = ["Echo:"] + [" " + word for word in clean.split()]
    delay = int(options.get("delay-ms", "0")) / 1000.0
    answer = ""
    started = time.monotonic()
    for piece in pieces:
        if cancelled.wait(delay) if delay else cancelled.is_set():
            raise RPCError(-32800, "request cancelled")
        answer += piece
        if streaming:
            send({"method": "chat/delta", "params": {"requestId": request_id, "sessionId": session_id,
                                                     "contentBlockIndex": 0, "delta": {"text": piece}}})
    message = {"role": "assistant", "content": [{"text": answer}]}
    with state_lock:
        session["messages"].append(message)
    history = sum(len(m["content"][0]["text"].split()) for m in session["messages"][:-1])
    return {"sessionId": session_id, "model": model, "backend": params.get("backend") or config["default-provider"],
            "stopReason": "end_turn", "message": message,
            "usage": {"inputTokens": history, "outputTokens": len(pieces), "totalTokens": history + len(pieces)},
            "metrics": {"latencyMs": int((time.monotonic() - started) * 1000)}}


def handle(method, raw_params, request_id, cancelled):
    params = params_object(raw_params)
    if method == "initialize":
        return {"serverInfo": {"name": "contenox", "version": "0.0.0-fake"}, "protocolVersion": 1,
                "capabilities": {"methods": ["initialize", "shutdown", "chat/stream", "chat/send", "models/list",
                                             "config/get", "config/set", "backend/add", "backend/list",
                                             "session/get", "session/list"],
                                 "notifications": ["initialized", "exit", "$/cancelRequest", "chat/delta"]}}
    if method == "shutdown":
        lifecycle["shutdown"] = True
        return None
    if method in ("chat/stream", "chat/send"):
        return chat(request_id, params, method == "chat/stream", cancelled)
    if method == "models/list":
        return {"models": [{"id": id_, "name": name, "provider": provider, "backend": "standin", "streaming": True,
                            "requiresInferenceProfile": False, "default": id_ == config["default-model"]}
                           for id_, name, provider in MODELS]}
    if method == "config/get":
        if "key" in params:
            return {"key": params["key"], "value": config.get(params["key"])}
        return {"config": dict(config)}
    if method == "config/set":
        key = required_string(params, "key")
        if key not in config:
            raise RPCError(-32602, "unknown config key '%s'; valid keys: default-model, default-provider" % key,
                           {"type": "UnknownConfigKey", "message": "unknown config key", "retryable": False,
                            "hint": "default-model or default-provider"})
        config[key] = required_string(params, "value")
        return {"key": key, "value": config[key]}
    if method == "backend/add":
        name, url = required_string(params, "name"), required_string(params, "url")
        if params.get("type", "bedrock") != "bedrock":
            raise RPCError(-32602, "type must be 'bedrock'")
        if name in backends and not params.get("replace"):
            raise backend_error(-32003, "BackendExists", "a backend named '%s' already exists" % name,
                                "Add --replace (replace: true) to overwrite it, or choose another name.")
        backend = {"name": name, "type": "bedrock", "url": url,
                   "region": params.get("region") or (url if not url.startswith("http") else None)}
        backends[name] = backend
        return {"backend": backend}
    if method == "backend/list":
        return {"backends": list(backends.values())}
    if method == "session/get":
        session_id = required_string(params, "sessionId")
        with state_lock:
            if session_id not in sessions:
                raise RPCError(-32003, "no session '%s'" % session_id)
            return {"session": json.loads(json.dumps(sessions[session_id]))}
    if method == "session/list":
        with state_lock:
            return {"sessions": [{"sessionId": s["sessionId"], "title": s["title"], "model": s["model"],
                                  "messageCount": len(s["messages"])} for s in sessions.values()]}
    raise RPCError(-32601, "method not found: %s" % method)


def run_request(request_id, method, params):
    key = json.dumps(request_id)
    cancelled = in_flight[key]
    try:
        result = handle(method, params, request_id, cancelled)
        send({"id": request_id, "result": result})
    except RPCError as error:
        send({"id": request_id, "error": error.json()})
    except Exception as error:  # a bug in the fake: answer rather than hang the editor
        send({"id": request_id, "error": {"code": -32603, "message": "fake server: %r" % error}})
    finally:
        in_flight.pop(key, None)


def dispatch(message):
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" or not isinstance(message.get("method"), str):
        send({"id": message.get("id") if isinstance(message, dict) else None,
              "error": {"code": -32600, "message": "invalid request"}})
        return
    method, params = message["method"], message.get("params")
    if "id" not in message:
        log("notification %s %s" % (method, json.dumps(params)))
        if method == "$/cancelRequest" and isinstance(params, dict):
            event = in_flight.get(json.dumps(params.get("id")))
            if event:
                event.set()
        elif method == "exit":
            sys.exit(0 if lifecycle["shutdown"] else 1)
        return
    request_id = message["id"]
    log("request %s %s %s" % (json.dumps(request_id), method, json.dumps(params)))
    if lifecycle["shutdown"]:
        send({"id": request_id, "error": {"code": -32600, "message": "the server is shutting down"}})
    elif method != "initialize" and not lifecycle["initialized"]:
        send({"id": request_id, "error": {"code": -32002, "message": "server not initialized"}})
    else:
        if method == "initialize":
            lifecycle["initialized"] = True
        in_flight[json.dumps(request_id)] = threading.Event()
        threading.Thread(target=run_request, args=(request_id, method, params), daemon=True).start()


def main():
    global framing
    args = [a for a in sys.argv[1:] if a != "serve"]
    if args[:1] == ["--framing"] and len(args) > 1:
        framing = args[1]
    log("listening on stdio (%s framing)" % framing)
    while True:
        body = read_message(sys.stdin.buffer)
        if body is None:
            for event in list(in_flight.values()):
                event.set()
            sys.exit(0 if lifecycle["shutdown"] else 1)
        try:
            message = json.loads(body)
        except ValueError as error:
            send({"id": None, "error": {"code": -32700, "message": "parse error: %s" % error}})
            continue
        if isinstance(message, list):
            for item in message:  # answered one by one; enough for the editors, which never batch
                dispatch(item)
        else:
            dispatch(message)


if __name__ == "__main__":
    main()
