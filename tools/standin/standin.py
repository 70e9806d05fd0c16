#!/usr/bin/env python3
"""A local stand-in for Amazon Bedrock Runtime, for tests, the demo and benchmarks.

A real HTTP/1.1 server on 127.0.0.1 that checks SigV4 signatures with botocore against known test
identities, rejects what Bedrock rejects, and streams ConverseStream answers as chunked
`application/vnd.amazon.eventstream` frames it encodes itself (struct + zlib). Directives in the last
user message make it misbehave on purpose; see README.md beside this file.
"""
import argparse
import hmac
import hashlib
import json
import os
import random
import re
import select
import socket
import string
import struct
import sys
import threading
import time
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from signin_fakes import SigninFakesMixin, SigninFakesState

# --- identities -----------------------------------------------------------------------------------

STATIC_KEYS = {
    "AKIASTANDINEXAMPLE": ("standinSecretKey/EXAMPLEKEY", None),
    "ASIASTANDINSESSION": ("standinSessionSecret", "standin-session-token"),
}
BEARER_TOKEN = "standin-bedrock-api-key"
WEB_IDENTITY_TOKEN = "standin-web-identity-token"
CONTAINER_TOKEN = "standin-container-token"
IMDS_ROLE = "standin-role"

# --- models ---------------------------------------------------------------------------------------

ON_DEMAND = {
    "anthropic.claude-3-5-sonnet-20241022-v2:0": ("Claude 3.5 Sonnet v2", "Anthropic"),
    "anthropic.claude-3-5-sonnet-20240620-v1:0": ("Claude 3.5 Sonnet", "Anthropic"),
    "anthropic.claude-3-5-haiku-20241022-v1:0": ("Claude 3.5 Haiku", "Anthropic"),
    "anthropic.claude-3-haiku-20240307-v1:0": ("Claude 3 Haiku", "Anthropic"),
    "meta.llama3-1-70b-instruct-v1:0": ("Llama 3.1 70B Instruct", "Meta"),
    "meta.llama3-1-8b-instruct-v1:0": ("Llama 3.1 8B Instruct", "Meta"),
    "mistral.mistral-large-2407-v1:0": ("Mistral Large (24.07)", "Mistral AI"),
    "amazon.nova-pro-v1:0": ("Nova Pro", "Amazon"),
    "amazon.nova-lite-v1:0": ("Nova Lite", "Amazon"),
    "amazon.nova-micro-v1:0": ("Nova Micro", "Amazon"),
    "mistral.mistral-large-2402-v1:0": ("Mistral Large (24.02)", "Mistral AI"),
    "mistral.mistral-small-2402-v1:0": ("Mistral Small (24.02)", "Mistral AI"),
}
PROFILE_ONLY = {
    "anthropic.claude-3-7-sonnet-20250219-v1:0": ("Claude 3.7 Sonnet", "Anthropic"),
    "anthropic.claude-sonnet-4-20250514-v1:0": ("Claude Sonnet 4", "Anthropic"),
    "anthropic.claude-opus-4-20250514-v1:0": ("Claude Opus 4", "Anthropic"),
    "anthropic.claude-opus-4-1-20250805-v1:0": ("Claude Opus 4.1", "Anthropic"),
    "anthropic.claude-sonnet-4-5-20250929-v1:0": ("Claude Sonnet 4.5", "Anthropic"),
    "anthropic.claude-haiku-4-5-20251001-v1:0": ("Claude Haiku 4.5", "Anthropic"),
    "meta.llama3-3-70b-instruct-v1:0": ("Llama 3.3 70B Instruct", "Meta"),
    "meta.llama3-2-1b-instruct-v1:0": ("Llama 3.2 1B Instruct", "Meta"),
    "meta.llama3-2-3b-instruct-v1:0": ("Llama 3.2 3B Instruct", "Meta"),
    "meta.llama3-2-11b-instruct-v1:0": ("Llama 3.2 11B Vision Instruct", "Meta"),
    "meta.llama3-2-90b-instruct-v1:0": ("Llama 3.2 90B Vision Instruct", "Meta"),
    "meta.llama4-scout-17b-instruct-v1:0": ("Llama 4 Scout 17B Instruct", "Meta"),
    "meta.llama4-maverick-17b-instruct-v1:0": ("Llama 4 Maverick 17B Instruct", "Meta"),
    "amazon.nova-premier-v1:0": ("Nova Premier", "Amazon"),
    "mistral.pixtral-large-2502-v1:0": ("Pixtral Large (25.02)", "Mistral AI"),
}
# Models with prompt caching, by base id, and the shortest prefix they cache (in the stand-in's tokens).
CACHING_MODELS = {"anthropic.claude-3-5-haiku-20241022-v1:0": 2048, "anthropic.claude-3-7-sonnet-20250219-v1:0": 1024,
                  "anthropic.claude-sonnet-4-20250514-v1:0": 1024, "anthropic.claude-opus-4-20250514-v1:0": 1024,
                  "anthropic.claude-opus-4-1-20250805-v1:0": 1024, "anthropic.claude-sonnet-4-5-20250929-v1:0": 1024,
                  "anthropic.claude-haiku-4-5-20251001-v1:0": 2048, "amazon.nova-pro-v1:0": 1024,
                  "amazon.nova-lite-v1:0": 1024, "amazon.nova-micro-v1:0": 1024, "amazon.nova-premier-v1:0": 1024}
# Models with extended thinking (additionalModelRequestFields.thinking), by base id.
REASONING_MODELS = {"anthropic.claude-3-7-sonnet-20250219-v1:0", "anthropic.claude-sonnet-4-20250514-v1:0",
                    "anthropic.claude-opus-4-20250514-v1:0", "anthropic.claude-opus-4-1-20250805-v1:0",
                    "anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic.claude-haiku-4-5-20251001-v1:0"}
# The account's application inference profiles (ListInferenceProfiles typeEquals=APPLICATION): id -> model.
APPLICATION_PROFILES = {"contenoxteam01": ("Team Claude", "anthropic.claude-3-5-sonnet-20241022-v2:0")}
NOT_ENABLED = {"anthropic.claude-3-opus-20240229-v1:0": ("Claude 3 Opus", "Anthropic")}
PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.")

FAILURES = {
    "access-denied": (403, "AccessDeniedException", "You don't have access to the model with the specified model ID."),
    "throttle": (429, "ThrottlingException", "Too many requests, please wait before trying again."),
    "unrecognized-client": (403, "UnrecognizedClientException", "The security token included in the request is invalid."),
    "expired-token": (403, "ExpiredTokenException", "The security token included in the request is expired"),
    "invalid-signature": (403, "InvalidSignatureException",
                          "The request signature we calculated does not match the signature you provided."),
    "validation": (400, "ValidationException", "Malformed input request, please reformat your input and try again."),
    "internal": (500, "InternalServerException", "The server encountered an internal error."),
    "service-unavailable": (503, "ServiceUnavailableException", "Service is temporarily unavailable."),
    "model-not-ready": (429, "ModelNotReadyException", "The model is not ready to serve inference requests."),
    "model-timeout": (408, "ModelTimeoutException", "The request took too long to process."),
    "resource-not-found": (404, "ResourceNotFoundException", "The requested resource could not be found."),
}
CONTENT_MEMBERS = {"text", "image", "document", "video", "audio", "toolUse", "toolResult", "guardContent",
                   "cachePoint", "reasoningContent", "citationsContent"}
TOP_LEVEL_FIELDS = {"messages", "system", "inferenceConfig", "toolConfig", "guardrailConfig",
                    "additionalModelRequestFields", "promptVariables", "additionalModelResponseFieldPaths",
                    "requestMetadata", "performanceConfig", "serviceTier"}
DIRECTIVE = re.compile(r"@@([a-z0-9-]+)(?:=(\S+))?")


class BedrockError(Exception):
    def __init__(self, status, error_type, message):
        super().__init__(message)
        self.status, self.error_type, self.message = status, error_type, message


def on_demand_error(model_id):
    return BedrockError(400, "ValidationException",
                        f"Invocation of model ID {model_id} with on-demand throughput isn\u2019t supported. Retry your "
                        "request with the ID or ARN of an inference profile that contains this model.")


# --- event stream ----------------------------------------------------------------------------------

def _string_header(name, value):
    raw_name, raw_value = name.encode(), value.encode()
    return bytes([len(raw_name)]) + raw_name + b"\x07" + struct.pack(">H", len(raw_value)) + raw_value


def encode_frame(headers, payload):
    header_bytes = b"".join(_string_header(k, v) for k, v in headers)
    total = 12 + len(header_bytes) + len(payload) + 4
    prelude = struct.pack(">II", total, len(header_bytes))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + header_bytes + payload
    return body + struct.pack(">I", zlib.crc32(body))


def padding(n):
    return "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456"[: max(1, n % 40)]


def event_frame(event_type, payload):
    payload = dict(payload)
    payload["p"] = padding(len(event_type) + len(json.dumps(payload)))
    return encode_frame([(":event-type", event_type), (":content-type", "application/json"),
                         (":message-type", "event")], json.dumps(payload, separators=(",", ":")).encode())


def exception_frame(exception_type, message):
    return encode_frame([(":exception-type", exception_type), (":content-type", "application/json"),
                         (":message-type", "exception")], json.dumps({"message": message}).encode())


# --- state ---------------------------------------------------------------------------------------

class State:
    def __init__(self, region, temp_ttl):
        self.region = region
        self.temp_ttl = temp_ttl
        self.lock = threading.Lock()
        self.prompt_cache = set()  # sha256 of every prompt prefix a cache point wrote
        self.issued = {}  # access key -> (secret, token, expiry datetime)
        self.imds_tokens = set()
        self.once_keys = set()
        # connections: those that carried an API request (not only /_standin/ ones); openConnections and
        # active are gauges, which a reset leaves alone.
        self.stats = {"requests": 0, "streamsStarted": 0, "streamsCompleted": 0, "clientDisconnects": 0, "active": 0,
                      "connections": 0, "openConnections": 0}
        self.requests = []
        self.fakes = SigninFakesState()
        self.handlers = set()  # the Handler of every open connection

    def bump(self, key, delta=1):
        with self.lock:
            self.stats[key] += delta

    def issue(self, ttl=None):
        access = "ASIA" + "".join(random.choices(string.ascii_uppercase + string.digits, k=16))
        secret = "".join(random.choices(string.ascii_letters + string.digits + "/+", k=40))
        token = "standin-issued-" + uuid.uuid4().hex
        expiry = datetime.now(timezone.utc) + timedelta(seconds=self.temp_ttl if ttl is None else ttl)
        with self.lock:
            self.issued[access] = (secret, token, expiry)
        return access, secret, token, expiry

    def secret_for(self, access_key):
        if access_key in STATIC_KEYS:
            secret, token = STATIC_KEYS[access_key]
            return secret, token, None
        with self.lock:
            return self.issued.get(access_key)

    def first_time(self, key):
        with self.lock:
            if key in self.once_keys:
                return False
            self.once_keys.add(key)
            return True


# --- request handling ------------------------------------------------------------------------------

class Handler(SigninFakesMixin, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # TCP_NODELAY: without it a small event written while the previous one is unacknowledged waits for the
    # client's delayed ACK (up to 40 ms on Linux), which swamps the benchmark's added-latency measurement.
    disable_nagle_algorithm = True
    server_version = "standin"
    sys_version = ""

    @property
    def state(self):
        return self.server.state

    # -- connections: counted once they carry an API request; idle ones can be closed on demand

    def setup(self):
        self.counted = False
        self.busy = False
        if self.server.tls is not None:
            self.request.do_handshake()  # here, on the connection's thread, not in the accepting one
        super().setup()
        with self.state.lock:
            self.state.handlers.add(self)

    def finish(self):
        with self.state.lock:
            self.state.handlers.discard(self)
            if self.counted:
                self.state.stats["openConnections"] -= 1
        try:
            super().finish()
        except OSError:
            pass

    def count_connection(self):
        if not self.counted:
            self.counted = True
            self.state.bump("connections")
            self.state.bump("openConnections")

    def close_idle(self):
        """Shuts down every idle API connection (a FIN, as a server's keep-alive timeout would), but this one."""
        with self.state.lock:
            idle = [h for h in self.state.handlers if h is not self and h.counted and not h.busy]
        for handler in idle:
            try:
                # socket.socket's own shutdown: on a TLS socket it sends the FIN without unwrapping the TLS
                # layer under the thread that is reading from it.
                socket.socket.shutdown(handler.connection, socket.SHUT_RDWR)
            except OSError:
                pass
        return len(idle)

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("standin: " + (fmt % args) + "\n")

    # -- plumbing

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks = []
            while True:
                size = int(self.rfile.readline().strip().split(b";")[0], 16)
                if size == 0:
                    self.rfile.readline()
                    break
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(chunks)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_body(self, status, body, content_type="application/json", extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("x-amzn-RequestId", self.request_id)
        for name, value in extra:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, obj):
        self.send_body(status, json.dumps(obj).encode())

    def send_error_json(self, error):
        self.send_body(error.status, json.dumps({"message": error.message}).encode(), extra=[
            ("X-Amzn-ErrorType", f"{error.error_type}:http://internal.amazon.com/coral/com.amazon.bedrock/")])

    def record(self, body):
        headers = {k: ("<redacted>" if k.lower() == "authorization" else v) for k, v in self.headers.items()}
        entry = {"method": self.command, "path": self.path, "headers": headers,
                 "body": body[:65536].decode("utf-8", "replace")}
        with self.state.lock:
            self.state.stats["requests"] += 1
            self.state.requests.append(entry)
            del self.state.requests[:-1000]

    # -- dispatch

    def do_GET(self):
        self.handle_any()

    def do_POST(self):
        self.handle_any()

    def do_PUT(self):
        self.handle_any()

    def handle_any(self):
        self.request_id = str(uuid.uuid4())
        self.busy = True
        try:
            self.handle_request()
        finally:
            self.busy = False

    def handle_request(self):
        body = self.read_body()
        path = urlsplit(self.path).path
        if not path.startswith("/_standin/"):
            self.count_connection()
            self.record(body)
        try:
            if path == "/_standin/stats":
                with self.state.lock:
                    return self.send_json(200, dict(self.state.stats))
            if path == "/_standin/requests":
                with self.state.lock:
                    return self.send_json(200, list(self.state.requests))
            if path == "/_standin/reset":
                with self.state.lock:
                    self.state.requests.clear()
                    self.state.once_keys.clear()
                    for key in self.state.stats:
                        if key not in ("active", "openConnections"):
                            self.state.stats[key] = 0
                return self.send_json(200, {})
            if path == "/_standin/counts" or path.startswith("/_standin/sso/") or path.startswith("/_standin/login/"):
                return self.fakes_control(path)
            if path == "/federation/credentials" and self.command == "GET":
                return self.sso_portal()
            if path == "/token" and self.command == "POST":
                return self.sso_oidc_token(body)
            if path == "/v1/token" and self.command == "POST":
                return self.signin_token(body)
            if path == "/_standin/close-idle":
                return self.send_json(200, {"closed": self.close_idle()})
            if path.startswith("/latest/"):
                return self.imds(path)
            if path == "/container/credentials":
                return self.container()
            if path == "/" and self.command == "POST":
                return self.sts(body)
            match = re.fullmatch(r"/model/([^/]+)/count-tokens", path)
            if match and self.command == "POST":
                self.authenticate(body, "bedrock")
                return self.count_tokens(unquote(match.group(1)), body)
            match = re.fullmatch(r"/model/([^/]+)/(converse|converse-stream)", path)
            if match and self.command == "POST":
                self.authenticate(body, "bedrock")
                return self.converse(unquote(match.group(1)), body, match.group(2) == "converse-stream")
            if path == "/foundation-models" and self.command == "GET":
                self.authenticate(body, "bedrock")
                return self.foundation_models()
            if path == "/inference-profiles" and self.command == "GET":
                self.authenticate(body, "bedrock")
                return self.inference_profiles()
            raise BedrockError(404, "UnknownOperationException", f"no operation at {self.command} {path}")
        except BedrockError as error:
            self.send_error_json(error)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- SigV4 and bearer

    def authenticate(self, body, service):
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            if authorization[len("Bearer "):].strip() == BEARER_TOKEN:
                return
            raise BedrockError(403, "UnrecognizedClientException", "Invalid API Key format: the API key is not valid.")
        if not authorization:
            raise BedrockError(403, "MissingAuthenticationTokenException", "Missing Authentication Token")
        match = re.fullmatch(
            r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, *"
            r"SignedHeaders=([^,]+), *Signature=([0-9a-f]{64})", authorization.strip())
        if not match:
            raise BedrockError(403, "IncompleteSignatureException", "Authorization header is not a valid SigV4 header.")
        access_key, day, region, signed_service, signed_headers, signature = match.groups()
        found = self.state.secret_for(access_key)
        if found is None:
            raise BedrockError(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        secret, token, expiry = found
        if expiry is not None and expiry <= datetime.now(timezone.utc):
            raise BedrockError(403, "ExpiredTokenException", "The security token included in the request is expired")
        if token is not None and self.headers.get("X-Amz-Security-Token") != token:
            raise BedrockError(403, "UnrecognizedClientException", "The security token included in the request is invalid.")
        if region != self.state.region:
            raise BedrockError(403, "InvalidSignatureException",
                               f"Credential should be scoped to a valid region, not '{region}'. ")
        if signed_service != service:
            raise BedrockError(403, "InvalidSignatureException",
                               f"Credential should be scoped to correct service: '{service}'. ")
        amz_date = self.headers.get("X-Amz-Date", "")
        try:
            moment = datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            raise BedrockError(403, "IncompleteSignatureException", "X-Amz-Date is missing or malformed.")
        if abs((datetime.now(timezone.utc) - moment).total_seconds()) > 300 or amz_date[:8] != day:
            raise BedrockError(403, "InvalidSignatureException", f"Signature expired: {amz_date} is now earlier or "
                               "later than 5 minutes from the current time.")
        names = signed_headers.split(";")
        if "host" not in names:
            raise BedrockError(403, "InvalidSignatureException", "The host header must be signed.")
        headers = {}
        for name in names:
            value = self.headers.get(name)
            if value is None:
                raise BedrockError(403, "InvalidSignatureException", f"Signed header '{name}' is missing.")
            headers[name] = value
        request = AWSRequest(method=self.command, url=f"http://{headers['host']}{self.path}", data=body, headers=headers)
        request.context["timestamp"] = amz_date
        auth = SigV4Auth(Credentials(access_key, secret, token), service, region)
        canonical = auth.canonical_request(request)
        expected = auth.signature(auth.string_to_sign(request, canonical), request)
        if not hmac.compare_digest(expected, signature):
            raise BedrockError(403, "InvalidSignatureException",
                               "The request signature we calculated does not match the signature you provided. "
                               "Check your AWS Secret Access Key and signing method.")

    # -- credentials endpoints

    def sts(self, body):
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        action = form.get("Action")
        if action == "AssumeRoleWithWebIdentity":
            if form.get("WebIdentityToken") != WEB_IDENTITY_TOKEN:
                return self.sts_error(400, "InvalidIdentityToken", "The web identity token could not be validated.")
        elif action == "AssumeRole":
            try:
                self.authenticate(body, "sts")
            except BedrockError as error:
                return self.sts_error(error.status, error.error_type, error.message)
        else:
            return self.sts_error(400, "InvalidAction", f"Could not find operation {action}")
        access, secret, token, expiry = self.state.issue()
        xml = (f'<{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{action}Result>'
               f"<Credentials><AccessKeyId>{access}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
               f"<SessionToken>{token}</SessionToken><Expiration>{expiry.strftime('%Y-%m-%dT%H:%M:%SZ')}</Expiration>"
               f"</Credentials><AssumedRoleUser><Arn>arn:aws:sts::123456789012:assumed-role/standin/"
               f"{form.get('RoleSessionName', 'session')}</Arn><AssumedRoleId>AROASTANDIN:x</AssumedRoleId>"
               f"</AssumedRoleUser></{action}Result><ResponseMetadata><RequestId>{self.request_id}</RequestId>"
               f"</ResponseMetadata></{action}Response>")
        self.send_body(200, xml.encode(), "text/xml")

    def sts_error(self, status, code, message):
        xml = (f'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
               f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{self.request_id}</RequestId>"
               "</ErrorResponse>")
        self.send_body(status, xml.encode(), "text/xml")

    def credentials_json(self):
        access, secret, token, expiry = self.state.issue()
        return {"Code": "Success", "Type": "AWS-HMAC", "AccessKeyId": access, "SecretAccessKey": secret,
                "Token": token, "Expiration": expiry.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "LastUpdated": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}

    def imds(self, path):
        if path == "/latest/api/token" and self.command == "PUT":
            if not self.headers.get("x-aws-ec2-metadata-token-ttl-seconds"):
                return self.send_body(400, b"missing ttl", "text/plain")
            token = uuid.uuid4().hex
            with self.state.lock:
                self.state.imds_tokens.add(token)
            return self.send_body(200, token.encode(), "text/plain")
        with self.state.lock:
            authorised = self.headers.get("x-aws-ec2-metadata-token") in self.state.imds_tokens
        if not authorised:
            return self.send_body(401, b"", "text/plain")
        if path == "/latest/meta-data/iam/security-credentials/":
            return self.send_body(200, IMDS_ROLE.encode(), "text/plain")
        if path == f"/latest/meta-data/iam/security-credentials/{IMDS_ROLE}":
            return self.send_json(200, self.credentials_json())
        self.send_body(404, b"", "text/plain")

    def container(self):
        if self.headers.get("Authorization") != CONTAINER_TOKEN:
            return self.send_json(403, {"code": "AccessDenied", "message": "bad authorization token"})
        self.send_json(200, self.credentials_json())

    # -- control plane

    def all_models(self):
        for table, types in ((ON_DEMAND, ["ON_DEMAND"]), (PROFILE_ONLY, ["INFERENCE_PROFILE"]), (NOT_ENABLED, ["ON_DEMAND"])):
            for model_id, (name, provider) in table.items():
                yield model_id, name, provider, types

    def foundation_models(self):
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        summaries = []
        for model_id, name, provider, types in self.all_models():
            if "byProvider" in query and query["byProvider"].lower() != provider.lower():
                continue
            if "byInferenceType" in query and query["byInferenceType"] not in types:
                continue
            if query.get("byOutputModality", "TEXT") != "TEXT":
                continue
            summaries.append({"modelArn": f"arn:aws:bedrock:{self.state.region}::foundation-model/{model_id}",
                              "modelId": model_id, "modelName": name, "providerName": provider,
                              "inputModalities": ["TEXT"], "outputModalities": ["TEXT"],
                              "responseStreamingSupported": True, "customizationsSupported": [],
                              "inferenceTypesSupported": types, "modelLifecycle": {"status": "ACTIVE"}})
        self.send_json(200, {"modelSummaries": summaries})

    def inference_profiles(self):
        query = {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}
        geo = {"us": "us", "eu": "eu", "ap": "apac"}.get(self.state.region.split("-")[0], "us")
        profiles = []
        for model_id, name, provider, _ in self.all_models():
            profile_id = f"{geo}.{model_id}"
            profiles.append({
                "inferenceProfileId": profile_id, "inferenceProfileName": f"{geo.upper()} {name}",
                "inferenceProfileArn": f"arn:aws:bedrock:{self.state.region}:123456789012:inference-profile/{profile_id}",
                "models": [{"modelArn": f"arn:aws:bedrock:{self.state.region}::foundation-model/{model_id}"}],
                "status": "ACTIVE", "type": "SYSTEM_DEFINED", "description": f"Routes requests to {name}"})
        application = []
        for profile_id, (name, model_id) in APPLICATION_PROFILES.items():
            arn = f"arn:aws:bedrock:{self.state.region}:123456789012:application-inference-profile/{profile_id}"
            application.append({
                "inferenceProfileId": profile_id, "inferenceProfileName": name, "inferenceProfileArn": arn,
                "models": [{"modelArn": f"arn:aws:bedrock:{self.state.region}::foundation-model/{model_id}"}],
                "status": "ACTIVE", "type": "APPLICATION"})
        kind = query.get("typeEquals")
        if kind not in (None, "SYSTEM_DEFINED", "APPLICATION"):
            raise BedrockError(400, "ValidationException", f"typeEquals must be SYSTEM_DEFINED or APPLICATION")
        profiles = application if kind == "APPLICATION" else profiles if kind == "SYSTEM_DEFINED" else profiles + application
        start = int(query.get("nextToken") or 0)
        size = int(query.get("maxResults") or 1000)
        page = {"inferenceProfileSummaries": profiles[start:start + size]}
        if start + size < len(profiles):
            page["nextToken"] = str(start + size)
        self.send_json(200, page)

    # -- runtime

    def count_tokens(self, model_id, body):
        """CountTokens: base ids of Anthropic models only, as Bedrock has it; the count is the one a Converse
        call with the same messages reports as inputTokens."""
        try:
            request = json.loads(body or b"null")
        except ValueError:
            raise BedrockError(400, "ValidationException", "Malformed input request: the body is not valid JSON.")
        converse = request.get("input", {}).get("converse") if isinstance(request, dict) else None
        if not isinstance(converse, dict) or set(request) != {"input"} or set(request["input"]) != {"converse"}:
            raise BedrockError(400, "ValidationException", "Malformed input request: expected {input: {converse: {...}}}.")
        unknown = set(converse) - {"messages", "system", "toolConfig"}
        if unknown:
            raise BedrockError(400, "ValidationException", f"Unknown field(s) in input.converse: {', '.join(sorted(unknown))}")
        if model_id.startswith("arn:") or model_id.startswith(PROFILE_PREFIXES) or not model_id.startswith("anthropic."):
            raise BedrockError(400, "ValidationException", "The provided model doesn't support counting tokens.")
        if model_id in NOT_ENABLED:
            raise BedrockError(403, "AccessDeniedException", "You don't have access to the model with the specified model ID.")
        if model_id not in ON_DEMAND and model_id not in PROFILE_ONLY:
            raise BedrockError(400, "ValidationException", "The provided model identifier is invalid.")
        self.validate(json.dumps(converse).encode())
        input_tokens = sum(len(json.dumps(m).split()) for m in converse["messages"])
        return self.send_json(200, {"inputTokens": input_tokens})

    def resolve_model(self, model_id):
        base = model_id
        application = re.fullmatch(r"arn:aws:bedrock:[a-z0-9-]+:\d+:application-inference-profile/([a-z0-9]+)", model_id)
        if application:
            if application.group(1) not in APPLICATION_PROFILES:
                raise BedrockError(400, "ValidationException", "The provided model identifier is invalid.")
            return
        arn = re.fullmatch(r"arn:aws:bedrock:[a-z0-9-]+:\d*:(inference-profile|foundation-model)/(.+)", model_id)
        profile = False
        if arn:
            profile = arn.group(1) == "inference-profile"
            base = arn.group(2)
        if base.startswith(PROFILE_PREFIXES):
            profile = True
            base = base.split(".", 1)[1]
        if base in NOT_ENABLED:
            raise BedrockError(403, "AccessDeniedException", "You don't have access to the model with the specified model ID.")
        if base in PROFILE_ONLY:
            if not profile:
                raise on_demand_error(model_id)
        elif base not in ON_DEMAND:
            raise BedrockError(400, "ValidationException", "The provided model identifier is invalid.")

    def validate(self, body):
        try:
            request = json.loads(body or b"null")
        except ValueError:
            raise BedrockError(400, "ValidationException", "Malformed input request: the body is not valid JSON.")
        if not isinstance(request, dict):
            raise BedrockError(400, "ValidationException", "Malformed input request: expected a JSON object.")
        unknown = set(request) - TOP_LEVEL_FIELDS
        if unknown:
            raise BedrockError(400, "ValidationException", f"Unknown field(s): {', '.join(sorted(unknown))}")
        messages = request.get("messages")
        if not isinstance(messages, list) or not messages:
            raise BedrockError(400, "ValidationException", "The messages field is required and must not be empty.")
        tool_blocks = False
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
                raise BedrockError(400, "ValidationException", f"messages.{index}.role must be user or assistant.")
            expected = "user" if index % 2 == 0 else "assistant"
            if message["role"] != expected:
                if index == 0:
                    raise BedrockError(400, "ValidationException", "A conversation must start with a user message. "
                                       "Try again with a conversation that starts with a user message.")
                raise BedrockError(400, "ValidationException", "A conversation must alternate between user and "
                                   "assistant roles. Make sure the conversation alternates between user and "
                                   "assistant roles and try again.")
            content = message.get("content")
            if not isinstance(content, list) or not content:
                raise BedrockError(400, "ValidationException", f"messages.{index}.content must be a non-empty list.")
            for block_index, block in enumerate(content):
                if not isinstance(block, dict) or len(block) != 1 or next(iter(block)) not in CONTENT_MEMBERS:
                    raise BedrockError(400, "ValidationException",
                                       f"messages.{index}.content.{block_index} must have exactly one known member.")
                kind, value = next(iter(block.items()))
                if kind == "text" and (not isinstance(value, str) or not value.strip()):
                    raise BedrockError(400, "ValidationException", "The text field in the ContentBlock object at "
                                       f"messages.{index}.content.{block_index} is blank. Add text to the text field, "
                                       "and try again.")
                if kind in ("toolUse", "toolResult"):
                    tool_blocks = True
                if kind == "image":
                    data = (value.get("source") or {}).get("bytes", "")
                    try:
                        import base64
                        base64.b64decode(data, validate=True)
                    except Exception:
                        raise BedrockError(400, "ValidationException", "Image bytes are not valid base64.")
        if tool_blocks and "toolConfig" not in request:
            raise BedrockError(400, "ValidationException", "The toolConfig field must be defined when using toolUse "
                               "and toolResult content blocks.")
        config = request.get("inferenceConfig") or {}
        if not isinstance(config, dict):
            raise BedrockError(400, "ValidationException", "inferenceConfig must be an object.")
        if "maxTokens" in config and (not isinstance(config["maxTokens"], int) or config["maxTokens"] < 1):
            raise BedrockError(400, "ValidationException", "inferenceConfig.maxTokens must be an integer >= 1.")
        for key in ("temperature", "topP"):
            if key in config and (not isinstance(config[key], (int, float)) or not 0 <= config[key] <= 1):
                raise BedrockError(400, "ValidationException", f"inferenceConfig.{key} must be between 0 and 1.")
        if "stopSequences" in config and not (isinstance(config["stopSequences"], list)
                                               and all(isinstance(s, str) for s in config["stopSequences"])):
            raise BedrockError(400, "ValidationException", "inferenceConfig.stopSequences must be a list of strings.")
        if "system" in request and not isinstance(request["system"], list):
            raise BedrockError(400, "ValidationException", "system must be a list of SystemContentBlock.")
        return request

    def plan(self, request):
        """What to answer: directives, the reply tokens, tool and reasoning blocks, the stop reason."""
        last = request["messages"][-1]
        texts = [b["text"] for b in last["content"] if "text" in b]
        text = " ".join(texts)
        directives = {name: value for name, value in DIRECTIVE.findall(text)}
        cleaned = " ".join(DIRECTIVE.sub(" ", text).split())
        tool_results = [b["toolResult"] for b in last["content"] if "toolResult" in b]
        if tool_results:
            said = []
            for result in tool_results:
                for item in result.get("content", []):
                    said.append(item["text"] if "text" in item else json.dumps(item.get("json")))
            reply = "Tool said: " + " ".join(said)
        else:
            reply = "Echo: " + cleaned if cleaned else "Echo:"
        if "tokens" in directives:
            tokens = [" tok"] * int(directives["tokens"])
        else:
            tokens = re.findall(r"\s*\S+", reply)
        if "big-event" in directives:
            tokens = ["x" * int(directives["big-event"])]
        tool = None
        if directives.get("tool") and "toolConfig" in request and not tool_results:
            tool = directives["tool"]
        input_tokens = sum(len(json.dumps(m).split()) for m in request["messages"])
        return directives, tokens, tool, cleaned, input_tokens

    @staticmethod
    def tool_input(directives, cleaned):
        """A tool's input: `{"query": text}`, or with @@tool-path=P `{"path": P, "content": text}` (a file tool's)."""
        if "tool-path" in directives:
            return {"path": directives["tool-path"], "content": cleaned}
        return {"query": cleaned}

    def pre_failures(self, directives):
        if "stall-before-ms" in directives:
            time.sleep(int(directives["stall-before-ms"]) / 1000)
        if "fail" in directives:
            name = directives["fail"]
            if name == "on-demand":
                raise on_demand_error("anthropic.claude-3-7-sonnet-20250219-v1:0")
            if name in FAILURES:
                raise BedrockError(*FAILURES[name])
        if "throttle-once" in directives and self.state.first_time("throttle:" + directives["throttle-once"]):
            raise BedrockError(*FAILURES["throttle"])
        if "unavailable-once" in directives and self.state.first_time("unavailable:" + directives["unavailable-once"]):
            raise BedrockError(*FAILURES["service-unavailable"])

    def validate_options(self, request, streaming):
        """The fields contenox passes through, checked as botocore's shapes have them; what the answer echoes."""
        echo = {}
        guardrail = request.get("guardrailConfig")
        if guardrail is not None:
            allowed = {"guardrailIdentifier", "guardrailVersion", "trace"} | ({"streamProcessingMode"} if streaming else set())
            if (not isinstance(guardrail, dict) or set(guardrail) - allowed
                    or not isinstance(guardrail.get("guardrailIdentifier"), str)
                    or not re.fullmatch(r"DRAFT|[1-9][0-9]*", str(guardrail.get("guardrailVersion")))
                    or guardrail.get("trace", "disabled") not in ("enabled", "disabled", "enabled_full")
                    or guardrail.get("streamProcessingMode", "sync") not in ("sync", "async")):
                raise BedrockError(400, "ValidationException", f"Invalid guardrailConfig: {json.dumps(guardrail)}")
        performance = request.get("performanceConfig")
        if performance is not None:
            if performance not in ({"latency": "standard"}, {"latency": "optimized"}):
                raise BedrockError(400, "ValidationException", f"Invalid performanceConfig: {json.dumps(performance)}")
            echo["performanceConfig"] = performance
        tier = request.get("serviceTier")
        if tier is not None:
            if not isinstance(tier, dict) or set(tier) != {"type"} or tier["type"] not in ("priority", "default", "flex", "reserved"):
                raise BedrockError(400, "ValidationException", f"Invalid serviceTier: {json.dumps(tier)}")
            echo["serviceTier"] = tier
        metadata = request.get("requestMetadata")
        if metadata is not None:
            if (not isinstance(metadata, dict) or len(metadata) > 16
                    or not all(isinstance(k, str) and isinstance(v, str) and 1 <= len(k) <= 256 and len(v) <= 256
                               for k, v in metadata.items())):
                raise BedrockError(400, "ValidationException", f"Invalid requestMetadata: {json.dumps(metadata)}")
        paths = request.get("additionalModelResponseFieldPaths")
        if paths is not None:
            if not isinstance(paths, list) or not all(isinstance(p, str) and p.startswith("/") for p in paths):
                raise BedrockError(400, "ValidationException", "Invalid additionalModelResponseFieldPaths")
        return echo

    def prompt_cache(self, model_id, request):
        """Bedrock's prompt cache: cache points in tools, system and messages, checked as Bedrock checks them
        (a model that caches, at most 4, TTLs not increasing, none right after a reasoning block); the longest
        prefix a point closes that an earlier request wrote is read, the rest up to the last point written.
        Returns (read, written) tokens, or None when the request has no cache point."""
        parts = []  # (ttl, prefix) for each point, in request order
        sequence = []
        for tool in (request.get("toolConfig") or {}).get("tools", []):
            sequence.append(tool)
            if "cachePoint" in tool:
                parts.append((tool["cachePoint"].get("ttl", "5m"), json.dumps(sequence)))
        for block in request.get("system") or []:
            sequence.append(block)
            if "cachePoint" in block:
                parts.append((block["cachePoint"].get("ttl", "5m"), json.dumps(sequence)))
        for index, message in enumerate(request["messages"]):
            for position, block in enumerate(message["content"]):
                sequence.append({message["role"]: block})
                if "cachePoint" in block:
                    if position > 0 and "reasoningContent" in message["content"][position - 1]:
                        raise BedrockError(400, "ValidationException", f"messages.{index}.content.{position}: a "
                                           "cache point cannot directly follow a reasoning block.")
                    parts.append((block["cachePoint"].get("ttl", "5m"), json.dumps(sequence)))
        if not parts:
            return None
        base = model_id.split(".", 1)[1] if model_id.startswith(PROFILE_PREFIXES) else model_id
        if base not in CACHING_MODELS:
            raise BedrockError(403, "AccessDeniedException", "You invoked an unsupported model or your request did "
                               "not allow prompt caching. See the documentation for more information.")
        if len(parts) > 4:
            raise BedrockError(400, "ValidationException", "A maximum of 4 blocks with cache_control may be "
                               f"provided. Found {len(parts)}.")
        for (earlier, _), (later, _) in zip(parts, parts[1:]):
            if earlier == "5m" and later == "1h":
                raise BedrockError(400, "ValidationException", "a ttl='1h' cache_control block must not come after "
                                   "a ttl='5m' cache_control block.")
        minimum = CACHING_MODELS[base]
        sizes = [len(prefix.split()) for _, prefix in parts]
        keys = [hashlib.sha256(prefix.encode()).hexdigest() for _, prefix in parts]
        read = 0
        with self.state.lock:
            for size, key in zip(sizes, keys):
                if size >= minimum and key in self.state.prompt_cache:
                    read = size
            written = max(sizes[-1] - read, 0) if sizes[-1] >= minimum and keys[-1] not in self.state.prompt_cache else 0
            for size, key in zip(sizes, keys):
                if size >= minimum:
                    self.state.prompt_cache.add(key)
        return read, written

    def validate_thinking(self, model_id, request):
        """Anthropic's extended thinking (additionalModelRequestFields.thinking), with its rules: a model that
        has it, a budget of at least 1024 below maxTokens, and every assistant turn that used a tool starting
        with its signed reasoning (Bedrock refuses a history that dropped it)."""
        thinking = (request.get("additionalModelRequestFields") or {}).get("thinking")
        if thinking is None:
            return False
        base = model_id.split(".", 1)[1] if model_id.startswith(PROFILE_PREFIXES) else model_id
        if base not in REASONING_MODELS:
            raise BedrockError(400, "ValidationException", "The model returned the following errors: thinking: "
                               "Extra inputs are not permitted")
        budget = thinking.get("budget_tokens") if isinstance(thinking, dict) else None
        if thinking.get("type") != "enabled" or not isinstance(budget, int) or budget < 1024:
            raise BedrockError(400, "ValidationException", "thinking.budget_tokens: must be at least 1024")
        max_tokens = (request.get("inferenceConfig") or {}).get("maxTokens")
        if not isinstance(max_tokens, int) or max_tokens <= budget:
            raise BedrockError(400, "ValidationException", "`max_tokens` must be greater than "
                               "`thinking.budget_tokens`.")
        for index, message in enumerate(request["messages"]):
            content = message["content"]
            if message["role"] == "assistant" and any("toolUse" in block for block in content):
                first = content[0].get("reasoningContent", {})
                signed = "redactedContent" in first or "signature" in first.get("reasoningText", {})
                if not signed:
                    raise BedrockError(400, "ValidationException", f"messages.{index}.content.0.type: Expected "
                                       "`thinking` or `redacted_thinking`, but found `tool_use`. When `thinking` is "
                                       "enabled, a final `assistant` message must start with a thinking block.")
        return True

    @staticmethod
    def guardrail_trace(guardrail):
        """What a guardrail's trace says when it blocked the prompt (stand-in: a content filter)."""
        return {"guardrail": {"inputAssessment": {guardrail["guardrailIdentifier"]: {
            "contentPolicy": {"filters": [{"type": "VIOLENCE", "confidence": "HIGH", "action": "BLOCKED"}]}}}}}

    def converse(self, model_id, body, streaming):
        request = self.validate(body)
        self.resolve_model(model_id)
        # A handler serves every request of its connection: nothing of the last answer may carry over.
        self.echo = self.validate_options(request, streaming)
        self.stop_reason = "end_turn"
        guardrail = request.get("guardrailConfig")
        thinking = self.validate_thinking(model_id, request)
        cache = self.prompt_cache(model_id, request)
        directives, tokens, tool, cleaned, input_tokens = self.plan(request)
        self.cache_fields = {}
        if cache is not None:
            read, written = cache
            input_tokens = max(input_tokens - read - written, 1)
            self.cache_fields = {"cacheReadInputTokens": read, "cacheWriteInputTokens": written}
        if thinking:
            directives["reasoning"] = ""
        if guardrail and "guardrail-block" in directives:
            # The guardrail blocks the prompt: its configured message is the answer.
            tokens = re.findall(r"\s*\S+", "Sorry, this request is not allowed (stand-in guardrail).")
            tool = None
            self.stop_reason = "guardrail_intervened"
            if guardrail.get("trace") in ("enabled", "enabled_full"):
                self.echo["trace"] = self.guardrail_trace(guardrail)
        self.pre_failures(directives)
        if "garbage-reply" in directives:
            return self.garbage_reply()
        if streaming:
            return self.stream(directives, tokens, tool, cleaned, input_tokens)
        content = []
        if "reasoning" in directives:
            content.append({"reasoningContent": {"reasoningText": {"text": "Let me think about it.",
                                                                   "signature": "standin-signature"}}})
        if tool:
            content.append({"toolUse": {"toolUseId": "tooluse_" + uuid.uuid4().hex[:20], "name": tool,
                                        "input": self.tool_input(directives, cleaned)}})
        else:
            content.append({"text": "".join(tokens)})
        self.send_json(200, {
            "output": {"message": {"role": "assistant", "content": content}},
            "stopReason": "tool_use" if tool else getattr(self, "stop_reason", "end_turn"),
            "usage": {"inputTokens": input_tokens, "outputTokens": len(tokens),
                      "totalTokens": input_tokens + len(tokens), **self.cache_fields},
            "metrics": {"latencyMs": 1}, **getattr(self, "echo", {})})

    def client_gone(self):
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except OSError:
            return True

    def reset(self):
        """Ends the connection with a TCP RST instead of a FIN: SO_LINGER with a zero timeout, then close.
        rfile holds a reference to the socket, which would keep it open, so it is closed first; wfile writes
        straight to the socket and holds none."""
        self.wfile.flush()
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.rfile.close()
        self.connection.close()
        self.close_connection = True

    def garbage_reply(self):
        """Bytes that are no HTTP response at all, then an ordinary close."""
        self.wfile.write(b"\x00\xff garbage, not HTTP \x1b[0m" + bytes(random.getrandbits(8) for _ in range(200)))
        self.wfile.flush()
        self.close_connection = True

    def write_chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def stream(self, directives, tokens, tool, cleaned, input_tokens):
        started = time.monotonic()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.amazon.eventstream")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-amzn-RequestId", self.request_id)
        self.end_headers()
        self.state.bump("streamsStarted")
        self.state.bump("active")
        try:
            self.stream_events(directives, tokens, tool, cleaned, input_tokens, started)
            self.state.bump("streamsCompleted")
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            self.state.bump("clientDisconnects")
            self.close_connection = True
        finally:
            self.state.bump("active", -1)

    def stream_events(self, directives, tokens, tool, cleaned, input_tokens, started):
        delay = int(directives.get("delay-ms", 0)) / 1000
        timestamps = "timestamps" in directives
        cut_after = int(directives["cut-after"]) if "cut-after" in directives else None
        reset_after = int(directives["reset-after"]) if "reset-after" in directives else None
        bad_crc_after = int(directives["bad-crc-after"]) if "bad-crc-after" in directives else None
        garbage_after = int(directives["garbage-after"]) if "garbage-after" in directives else None
        exception_after = int(directives["stream-exception"]) if "stream-exception" in directives else None
        stall_ms = int(directives.get("stall-ms", 0))
        self.write_chunk(event_frame("messageStart", {"role": "assistant"}))
        index = 0
        if "reasoning" in directives:
            for piece in ["Let me", " think", " about it."]:
                self.write_chunk(event_frame("contentBlockDelta", {"contentBlockIndex": index,
                                                                   "delta": {"reasoningContent": {"text": piece}}}))
            self.write_chunk(event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {
                "reasoningContent": {"signature": "standin-signature"}}}))
            self.write_chunk(event_frame("contentBlockStop", {"contentBlockIndex": index}))
            index += 1
        if tool:
            tool_input = json.dumps(self.tool_input(directives, cleaned))
            self.write_chunk(event_frame("contentBlockStart", {"contentBlockIndex": index, "start": {
                "toolUse": {"toolUseId": "tooluse_" + uuid.uuid4().hex[:20], "name": tool}}}))
            for start in range(0, len(tool_input), 7):
                self.write_chunk(event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {
                    "toolUse": {"input": tool_input[start:start + 7]}}}))
            self.write_chunk(event_frame("contentBlockStop", {"contentBlockIndex": index}))
            stop_reason = "tool_use"
        else:
            fast = (delay == 0 and not timestamps and cut_after is None and reset_after is None
                    and bad_crc_after is None and garbage_after is None and exception_after is None
                    and stall_ms == 0 and len(tokens) > 64 and len(set(tokens)) == 1)
            if fast:
                # One pre-encoded frame written many times per chunk: the benchmark's firehose.
                frame = event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": tokens[0]}})
                remaining = len(tokens)
                while remaining:
                    batch = min(remaining, 2048)
                    self.write_chunk(frame * batch)
                    remaining -= batch
            else:
                for sent, token in enumerate(tokens):
                    if sent == cut_after:
                        self.wfile.flush()
                        self.connection.shutdown(socket.SHUT_RDWR)
                        self.close_connection = True
                        return
                    if sent == reset_after:
                        self.reset()
                        return
                    if sent == exception_after:
                        self.write_chunk(exception_frame("modelStreamErrorException",
                                                         "The model stream was interrupted (stand-in)."))
                        self.write_chunk(b"")
                        return
                    if sent == garbage_after:
                        self.write_chunk(bytes(random.getrandbits(8) for _ in range(64)))
                        self.write_chunk(b"")
                        return
                    if delay and self.client_gone():
                        raise BrokenPipeError("client went away")
                    text = f" t{time.monotonic_ns()}" if timestamps else token
                    frame = event_frame("contentBlockDelta", {"contentBlockIndex": index, "delta": {"text": text}})
                    if sent == bad_crc_after:
                        frame = frame[:-1] + bytes([frame[-1] ^ 0xFF])
                    self.write_chunk(frame)
                    if sent == 0 and stall_ms:
                        time.sleep(stall_ms / 1000)
                    if delay:
                        time.sleep(delay)
            self.write_chunk(event_frame("contentBlockStop", {"contentBlockIndex": index}))
            stop_reason = getattr(self, "stop_reason", "end_turn")
        self.write_chunk(event_frame("messageStop", {"stopReason": stop_reason}))
        output_tokens = len(tokens)
        self.write_chunk(event_frame("metadata", {
            "usage": {"inputTokens": input_tokens, "outputTokens": output_tokens,
                      "totalTokens": input_tokens + output_tokens, **getattr(self, "cache_fields", {})},
            "metrics": {"latencyMs": int((time.monotonic() - started) * 1000)}, **getattr(self, "echo", {})}))
        self.write_chunk(b"")


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True
    tls = None  # an ssl.SSLContext when serving HTTPS

    def get_request(self):
        sock, address = super().get_request()
        if self.tls is not None:
            # The handshake runs in the connection's thread (Handler.setup), so a slow client does not hold
            # up the accepting loop.
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, address


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--temp-ttl", type=int, default=3600, help="lifetime of issued temporary keys, seconds")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--tls-cert", help="serve HTTPS with this PEM certificate (chain) ...")
    parser.add_argument("--tls-key", help="... and this PEM private key")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="exit as soon as the process that started it is gone (the Swift tests pass it, so "
                             "that a test runner that crashes leaves no stand-in holding its output open)")
    args = parser.parse_args()
    if args.exit_with_parent:
        parent = os.getppid()

        def watch_parent():
            while os.getppid() == parent:
                time.sleep(0.2)
            os._exit(0)

        threading.Thread(target=watch_parent, daemon=True).start()
    server = Server(("127.0.0.1", args.port), Handler)
    server.state = State(args.region, args.temp_ttl)
    if args.tls_cert:
        import ssl
        server.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        server.tls.load_cert_chain(args.tls_cert, args.tls_key)
        server.tls.set_alpn_protocols(["http/1.1"])
    server.verbose = args.verbose
    port = server.server_address[1]
    if args.port_file:
        temporary = args.port_file + ".tmp"
        with open(temporary, "w") as f:
            f.write(str(port))
        os.replace(temporary, args.port_file)
    scheme = "https" if args.tls_cert else "http"
    sys.stderr.write(f"standin: listening on {scheme}://127.0.0.1:{port} (region {args.region})\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
