#!/usr/bin/env python3
"""A tiny HTTP server for the transport's own tests (not Bedrock): slow, stalled and cut bodies.

python3 http_fixture.py PORT_FILE   -- listens on 127.0.0.1:0, writes the port, serves until killed.
"""
import json
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATS = {"disconnects": 0, "completed": 0, "connections": 0}
LOCK = threading.Lock()


def bump(key):
    with LOCK:
        STATS[key] += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        bump("connections")

    def log_message(self, *args):
        pass

    def query(self):
        out = {}
        if "?" in self.path:
            for part in self.path.split("?", 1)[1].split("&"):
                k, _, v = part.partition("=")
                out[k] = v
        return out

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def start_chunked(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", "fixture-request")
        self.end_headers()

    def do_GET(self):
        path = self.path.split("?")[0]
        q = self.query()
        if path == "/stats":
            body = json.dumps(STATS).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if path == "/slow":
            self.start_chunked()
            try:
                for i in range(int(q.get("n", "10"))):
                    self.chunk(b"chunk%d;" % i)
                    time.sleep(int(q.get("delay", "50")) / 1000)
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
                bump("completed")
            except (BrokenPipeError, ConnectionResetError):
                bump("disconnects")
                self.close_connection = True
            return
        if path == "/stall":
            self.start_chunked()
            self.chunk(b"first;")
            time.sleep(int(q.get("ms", "5000")) / 1000)
            try:
                self.chunk(b"late;")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                bump("disconnects")
            return
        if path == "/cut":
            self.start_chunked()
            self.chunk(b"partial;")
            self.close_connection = True
            return
        if path == "/status":
            body = b'{"message":"nope"}'
            self.send_response(int(q.get("code", "400")))
            self.send_header("X-Amzn-ErrorType", q.get("type", "ValidationException") + ":http://x/")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8", "replace")
        answer = json.dumps({"method": "POST", "headers": {k.lower(): v for k, v in self.headers.items()},
                             "body": body}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    do_PUT = do_POST


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(server.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    # Go with the test runner: one that crashes (no atexit) must not leave this holding its output open.
    parent = os.getppid()

    def watch_parent():
        while os.getppid() == parent:
            time.sleep(0.2)
        os._exit(0)

    threading.Thread(target=watch_parent, daemon=True).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
