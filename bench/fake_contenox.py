#!/usr/bin/env python3
"""A FAKE `contenox`, for developing the benchmark harness before the real server existed.

It is NOT contenox and its numbers are never contenox numbers: it answers `initialize` with serverInfo.name
"fake-contenox", and bench.py prints and records that the measured binary is not contenox. It implements just
what the harness drives, with boto3 underneath:
    fake_contenox.py backend add NAME --type bedrock --url URL [--region R]
    fake_contenox.py config set KEY VALUE
    fake_contenox.py model list
    fake_contenox.py serve          (initialize, initialized, config/get, backend/list, models/list,
                                     chat/stream, shutdown, exit; LSP framing on stdio)
State lives in $CONTENOX_HOME/fake-contenox.json.
"""
import argparse
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lsp  # noqa: E402

STATE_FILE = os.path.join(os.environ.get("CONTENOX_HOME", os.path.expanduser("~/.contenox")), "fake-contenox.json")
MODELS = ["amazon.nova-lite-v1:0", "amazon.nova-pro-v1:0", "anthropic.claude-3-5-haiku-20241022-v1:0"]


def load_state():
    try:
        with open(STATE_FILE) as f:
            return json.load(f)
    except FileNotFoundError:
        return {"backends": {}, "config": {}}


def save_state(state):
    os.makedirs(os.path.dirname(STATE_FILE), exist_ok=True)
    with open(STATE_FILE, "w") as f:
        json.dump(state, f)


def make_client(state):
    import boto3
    from botocore.config import Config

    backend = state["backends"][state["config"]["default-provider"]]
    return boto3.client("bedrock-runtime", endpoint_url=backend["url"], region_name=backend["region"],
                        config=Config(max_pool_connections=64))


class FakeServer:
    def __init__(self):
        self.state = load_state()
        self.client = None
        self.out_lock = threading.Lock()
        self.out = sys.stdout.buffer

    def send(self, obj):
        data = lsp.frame(obj)
        with self.out_lock:
            self.out.write(data)
            self.out.flush()

    def answer(self, id_, result):
        self.send({"jsonrpc": "2.0", "id": id_, "result": result})

    def run(self):
        reader = lsp.FrameReader(sys.stdin.buffer.fileno())
        threads = []
        while True:
            message = reader.next_message()
            if message is None:
                break
            method, id_, params = message.get("method"), message.get("id"), message.get("params") or {}
            if method == "initialize":
                self.answer(id_, {"serverInfo": {"name": "fake-contenox", "version": "0-bench-dev"},
                                  "protocolVersion": 1,
                                  "capabilities": {"methods": ["chat/stream"], "notifications": ["chat/delta"]}})
            elif method == "config/get":
                self.answer(id_, {"config": self.state["config"]})
            elif method == "backend/list":
                self.answer(id_, {"backends": list(self.state["backends"].values())})
            elif method == "models/list":
                self.answer(id_, {"models": [{"id": m} for m in MODELS]})
            elif method == "chat/stream":
                if self.client is None:
                    self.client = make_client(self.state)
                thread = threading.Thread(target=self.chat_stream, args=(id_, params))
                thread.start()
                threads.append(thread)
            elif method == "shutdown":
                self.answer(id_, None)
            elif method == "exit":
                break
            elif id_ is not None:
                self.send({"jsonrpc": "2.0", "id": id_, "error": {"code": -32601, "message": "no " + method}})
        for thread in threads:
            thread.join()

    def chat_stream(self, id_, params):
        model = params.get("model") or self.state["config"]["default-model"]
        response = self.client.converse_stream(
            modelId=model, messages=[{"role": "user", "content": [{"text": params["prompt"]}]}])
        text = []
        stop_reason, usage = None, {}
        for event in response["stream"]:
            if "contentBlockDelta" in event:
                delta = event["contentBlockDelta"]
                text.append(delta["delta"].get("text", ""))
                self.send({"jsonrpc": "2.0", "method": "chat/delta",
                           "params": {"requestId": id_, "sessionId": "fake", "contentBlockIndex":
                                      delta["contentBlockIndex"], "delta": delta["delta"]}})
            elif "messageStop" in event:
                stop_reason = event["messageStop"]["stopReason"]
            elif "metadata" in event:
                usage = event["metadata"]["usage"]
        self.answer(id_, {"sessionId": "fake", "model": model, "backend": self.state["config"]["default-provider"],
                          "stopReason": stop_reason, "usage": usage,
                          "message": {"role": "assistant", "content": [{"text": "".join(text)}]}})


def main():
    parser = argparse.ArgumentParser(prog="fake_contenox.py")
    sub = parser.add_subparsers(dest="command", required=True)
    backend = sub.add_parser("backend").add_subparsers(dest="action", required=True).add_parser("add")
    backend.add_argument("name")
    backend.add_argument("--type", default="bedrock")
    backend.add_argument("--url", required=True)
    backend.add_argument("--region", default="us-east-1")
    config = sub.add_parser("config").add_subparsers(dest="action", required=True).add_parser("set")
    config.add_argument("key")
    config.add_argument("value")
    sub.add_parser("model").add_subparsers(dest="action", required=True).add_parser("list")
    sub.add_parser("serve")
    args = parser.parse_args()

    state = load_state()
    if args.command == "backend":
        state["backends"][args.name] = {"name": args.name, "type": args.type, "url": args.url, "region": args.region}
        save_state(state)
    elif args.command == "config":
        state["config"][args.key] = args.value
        save_state(state)
    elif args.command == "model":
        for model in MODELS:
            print(model)
    elif args.command == "serve":
        FakeServer().run()


if __name__ == "__main__":
    main()
