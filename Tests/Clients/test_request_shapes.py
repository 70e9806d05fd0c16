"""botocore as the oracle for the request bodies contenox sends (issue 15): every field contenox passes to
Converse / ConverseStream / CountTokens is checked against botocore's own service model, with botocore's
parameter validator, exactly as an AWS SDK would check it before sending."""

import json
import subprocess

import botocore.session
from botocore.validate import ParamValidator

from contenox_harness import MODEL

SERVICE = botocore.session.get_session().get_service_model("bedrock-runtime")


def validate(operation: str, model_id: str, body: dict) -> None:
    shape = SERVICE.operation_model(operation).input_shape
    params = dict(body, modelId=model_id)
    report = ParamValidator().validate(params, shape)
    assert not report.has_errors(), report.generate_report()


def sent(standin, suffix: str) -> list:
    return [r for r in standin.requests() if r["path"].endswith(suffix)]


def test_every_passed_field_has_botocores_shape(home, standin):
    home.add_backend("shaped", standin.url, "--guardrail", "gr-team:3", "--guardrail-trace", "--latency",
                     "optimized", "--service-tier", "flex", "--metadata", "team=editors")
    home.cli("chat", "--backend", "shaped", "--ephemeral", "--max-tokens", "50", "--temperature", "0.5",
             "--system", "be brief", "shape check one")
    home.cli("tokens", "--backend", "shaped", "--model", "anthropic.claude-3-5-sonnet-20241022-v2:0", "count me")
    stream = [r for r in sent(standin, "/converse-stream") if "shape check one" in r["body"]]
    assert stream, "the chat reached the stand-in"
    body = json.loads(stream[-1]["body"])
    for field in ("guardrailConfig", "performanceConfig", "serviceTier", "requestMetadata", "inferenceConfig",
                  "system"):
        assert field in body, field
    validate("ConverseStream", MODEL, body)
    counted = [r for r in sent(standin, "/count-tokens") if "count me" in r["body"]]
    assert counted
    validate("CountTokens", "anthropic.claude-3-5-sonnet-20241022-v2:0", json.loads(counted[-1]["body"]))


def test_a_converse_body_drops_the_streams_own_guardrail_field(home, standin, binary):
    home.add_backend("plain", standin.url)
    request = {"jsonrpc": "2.0", "id": 1, "method": "initialize"}
    chat = {"jsonrpc": "2.0", "id": 2, "method": "chat/send", "params": {
        "prompt": "shape check two", "backend": "plain", "ephemeral": True,
        "guardrailConfig": {"guardrailIdentifier": "gr", "guardrailVersion": "DRAFT",
                            "streamProcessingMode": "async"},
        "additionalModelResponseFieldPaths": ["/stop_sequence"]}}
    lines = (json.dumps(request) + "\n" + json.dumps(chat) + "\n").encode()
    out = subprocess.run([binary, "serve", "--framing", "ndjson"], input=lines, env=home.env,
                         capture_output=True, timeout=60)
    answers = [json.loads(line) for line in out.stdout.splitlines()]
    assert any(a.get("id") == 2 and "result" in a for a in answers), answers
    converse = [r for r in sent(standin, "/converse") if "shape check two" in r["body"]]
    body = json.loads(converse[-1]["body"])
    assert "streamProcessingMode" not in body["guardrailConfig"]
    validate("Converse", MODEL, body)


def test_cache_points_and_thinking_have_botocores_shape(home, standin):
    """The server's own additions (cache points in system and history, the reasoning budget) are valid
    ConverseStream input for botocore too."""
    model = "us.anthropic.claude-sonnet-4-20250514-v1:0"
    system = "context " * 1500
    home.cli("chat", "--model", model, "--system", system, "--cache", "1h", "shape check three")
    home.cli("chat", "--model", model, "--system", system, "--cache", "1h", "--thinking", "2048", "--session",
             "last", "shape check four")
    stream = [r for r in sent(standin, "/converse-stream") if "shape check four" in r["body"]]
    body = json.loads(stream[-1]["body"])
    assert body["system"][-1] == {"cachePoint": {"type": "default", "ttl": "1h"}}
    assert any("cachePoint" in block for message in body["messages"] for block in message["content"])
    assert body["additionalModelRequestFields"]["thinking"]["budget_tokens"] == 2048
    validate("ConverseStream", model, body)
