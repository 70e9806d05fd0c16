"""The stand-in checked against botocore: boto3 signs and decodes exactly as AWS SDKs do."""
import http.client
import json
import socket
import time
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EventStreamError, HTTPClientError
import botocore.eventstream
import sys, os
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from conftest import KEYS, make_client

SEED = "anthropic.claude-3-5-sonnet-20241022-v2:0"


def user(text):
    return [{"role": "user", "content": [{"text": text}]}]


def stream_text(response):
    return "".join(e["contentBlockDelta"]["delta"].get("text", "")
                   for e in response["stream"] if "contentBlockDelta" in e)


def test_converse_stream_decodes_with_botocore(runtime):
    response = runtime.converse_stream(modelId=SEED, messages=user("hello there"))
    events = list(response["stream"])
    assert "messageStart" in events[0]
    text = "".join(e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e)
    assert text == "Echo: hello there"
    assert events[-2]["messageStop"]["stopReason"] == "end_turn"
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 3


def test_converse(runtime):
    response = runtime.converse(modelId="amazon.nova-lite-v1:0", messages=user("one two"))
    assert response["output"]["message"]["content"][0]["text"] == "Echo: one two"
    assert response["stopReason"] == "end_turn"


def test_session_keys(standin):
    client = make_client(standin, aws_access_key_id="ASIASTANDINSESSION", aws_secret_access_key="standinSessionSecret",
                         aws_session_token="standin-session-token")
    assert stream_text(client.converse_stream(modelId=SEED, messages=user("s"))) == "Echo: s"
    wrong = make_client(standin, aws_access_key_id="ASIASTANDINSESSION", aws_secret_access_key="standinSessionSecret",
                        aws_session_token="other")
    with pytest.raises(ClientError) as error:
        wrong.converse(modelId=SEED, messages=user("s"))
    assert error.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_wrong_secret_and_unknown_key(standin):
    with pytest.raises(ClientError) as error:
        make_client(standin, aws_access_key_id="AKIASTANDINEXAMPLE", aws_secret_access_key="wrong").converse(
            modelId=SEED, messages=user("x"))
    assert error.value.response["Error"]["Code"] == "InvalidSignatureException"
    with pytest.raises(ClientError) as error:
        make_client(standin, aws_access_key_id="AKIAUNKNOWN", aws_secret_access_key="x").converse(
            modelId=SEED, messages=user("x"))
    assert error.value.response["Error"]["Code"] == "UnrecognizedClientException"


def test_wrong_region_is_rejected(standin):
    client = boto3.client("bedrock-runtime", endpoint_url=standin, region_name="eu-west-1",
                          config=Config(retries={"total_max_attempts": 1}), **KEYS)
    with pytest.raises(ClientError) as error:
        client.converse(modelId=SEED, messages=user("x"))
    assert error.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert "eu-west-1" in error.value.response["Error"]["Message"]


def test_bearer_token(standin):
    url = urlsplit(standin)
    for token, status in (("standin-bedrock-api-key", 200), ("nope", 403)):
        connection = http.client.HTTPConnection(url.hostname, url.port)
        connection.request("POST", f"/model/{SEED.replace(':', '%3A')}/converse",
                           body=json.dumps({"messages": user("b")}),
                           headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == status
        response.read()


@pytest.mark.parametrize("name,code,status", [
    ("access-denied", "AccessDeniedException", 403), ("on-demand", "ValidationException", 400),
    ("throttle", "ThrottlingException", 429), ("unrecognized-client", "UnrecognizedClientException", 403),
    ("expired-token", "ExpiredTokenException", 403), ("internal", "InternalServerException", 500),
    ("service-unavailable", "ServiceUnavailableException", 503), ("model-not-ready", "ModelNotReadyException", 429),
    ("model-timeout", "ModelTimeoutException", 408), ("resource-not-found", "ResourceNotFoundException", 404),
])
def test_failures(runtime, name, code, status):
    with pytest.raises(ClientError) as error:
        runtime.converse(modelId=SEED, messages=user(f"x @@fail={name}"))
    assert error.value.response["Error"]["Code"] == code
    assert error.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_throttle_once(runtime):
    with pytest.raises(ClientError):
        runtime.converse(modelId=SEED, messages=user("x @@throttle-once=k1"))
    assert runtime.converse(modelId=SEED, messages=user("x @@throttle-once=k1"))["stopReason"] == "end_turn"


def test_stream_exception(runtime):
    response = runtime.converse_stream(modelId=SEED, messages=user("x @@tokens=10 @@stream-exception=3"))
    with pytest.raises(EventStreamError) as error:
        list(response["stream"])
    assert "modelStreamErrorException" in str(error.value)


def test_bad_crc_is_rejected_by_botocore(runtime):
    response = runtime.converse_stream(modelId=SEED, messages=user("x @@tokens=10 @@bad-crc-after=2"))
    with pytest.raises(botocore.eventstream.ChecksumMismatch):
        list(response["stream"])


def test_tool_use_and_result(runtime):
    tools = {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}]}
    events = list(runtime.converse_stream(modelId=SEED, messages=user("find cats @@tool=lookup"),
                                          toolConfig=tools)["stream"])
    start = next(e["contentBlockStart"] for e in events if "contentBlockStart" in e)
    assert start["start"]["toolUse"]["name"] == "lookup"
    fragments = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e)
    assert json.loads(fragments) == {"query": "find cats"}
    assert any(e.get("messageStop", {}).get("stopReason") == "tool_use" for e in events)
    history = user("find cats @@tool=lookup") + [
        {"role": "assistant", "content": [{"toolUse": {"toolUseId": start["start"]["toolUse"]["toolUseId"],
                                                       "name": "lookup", "input": {"query": "find cats"}}}]},
        {"role": "user", "content": [{"toolResult": {"toolUseId": start["start"]["toolUse"]["toolUseId"],
                                                     "content": [{"text": "3 cats"}]}}]}]
    assert stream_text(runtime.converse_stream(modelId=SEED, messages=history, toolConfig=tools)) == "Tool said: 3 cats"
    with pytest.raises(ClientError) as error:
        runtime.converse(modelId=SEED, messages=history)
    assert "toolConfig" in error.value.response["Error"]["Message"]


def test_tool_path_gives_a_file_tools_input_streamed_and_whole(runtime):
    tools = {"tools": [{"toolSpec": {"name": "write_file", "inputSchema": {"json": {"type": "object"}}}}]}
    prompt = user("new text @@tool=write_file @@tool-path=src/a.txt")
    events = list(runtime.converse_stream(modelId=SEED, messages=prompt, toolConfig=tools)["stream"])
    fragments = "".join(e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e)
    assert json.loads(fragments) == {"path": "src/a.txt", "content": "new text"}
    whole = runtime.converse(modelId=SEED, messages=prompt, toolConfig=tools)["output"]["message"]["content"]
    assert whole[0]["toolUse"]["input"] == {"path": "src/a.txt", "content": "new text"}


def test_reasoning(runtime):
    events = list(runtime.converse_stream(modelId=SEED, messages=user("think @@reasoning"))["stream"])
    reasoning = [e["contentBlockDelta"]["delta"]["reasoningContent"] for e in events
                 if "reasoningContent" in e.get("contentBlockDelta", {}).get("delta", {})]
    assert "".join(r.get("text", "") for r in reasoning) == "Let me think about it."
    assert reasoning[-1]["signature"] == "standin-signature"


@pytest.mark.parametrize("messages,fragment", [
    ([{"role": "assistant", "content": [{"text": "x"}]}], "start with a user"),
    (user("a") + user("b"), "alternate"),
    ([{"role": "user", "content": [{"text": "  "}]}], "blank"),
])
def test_validation(runtime, messages, fragment):
    with pytest.raises(ClientError) as error:
        runtime.converse(modelId=SEED, messages=messages)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert fragment in error.value.response["Error"]["Message"]


@pytest.mark.parametrize("model,ok", [
    ("us.anthropic.claude-3-7-sonnet-20250219-v1:0", True),
    ("arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-sonnet-4-20250514-v1:0", True),
    ("anthropic.claude-3-7-sonnet-20250219-v1:0", False), ("no.such-model", False),
])
def test_model_ids(runtime, model, ok):
    if ok:
        assert runtime.converse(modelId=model, messages=user("m"))["stopReason"] == "end_turn"
    else:
        with pytest.raises(ClientError) as error:
            runtime.converse(modelId=model, messages=user("m"))
        assert error.value.response["Error"]["Code"] == "ValidationException"


def test_web_identity_via_boto3_sts(standin):
    sts = boto3.client("sts", endpoint_url=standin, region_name="us-east-1")
    credentials = sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::123456789012:role/r", RoleSessionName="ss",
                                                    WebIdentityToken="standin-web-identity-token")["Credentials"]
    client = make_client(standin, aws_access_key_id=credentials["AccessKeyId"],
                         aws_secret_access_key=credentials["SecretAccessKey"],
                         aws_session_token=credentials["SessionToken"])
    assert client.converse(modelId=SEED, messages=user("w"))["stopReason"] == "end_turn"
    with pytest.raises(ClientError) as error:
        sts.assume_role_with_web_identity(RoleArn="arn:aws:iam::1:role/r", RoleSessionName="ss", WebIdentityToken="bad-token-value")
    assert error.value.response["Error"]["Code"] == "InvalidIdentityToken"


def test_imds_and_container(standin):
    url = urlsplit(standin)
    connection = http.client.HTTPConnection(url.hostname, url.port)
    connection.request("GET", "/latest/meta-data/iam/security-credentials/")
    assert connection.getresponse().status == 401
    connection = http.client.HTTPConnection(url.hostname, url.port)
    connection.request("PUT", "/latest/api/token", headers={"x-aws-ec2-metadata-token-ttl-seconds": "60"})
    token = connection.getresponse().read().decode()
    connection.request("GET", "/latest/meta-data/iam/security-credentials/", headers={"x-aws-ec2-metadata-token": token})
    role = connection.getresponse().read().decode()
    connection.request("GET", f"/latest/meta-data/iam/security-credentials/{role}",
                       headers={"x-aws-ec2-metadata-token": token})
    assert json.loads(connection.getresponse().read())["Code"] == "Success"
    connection.request("GET", "/container/credentials", headers={"Authorization": "standin-container-token"})
    assert "AccessKeyId" in json.loads(connection.getresponse().read())


def test_control_plane_with_boto3(standin):
    bedrock = make_client(standin, service="bedrock")
    models = bedrock.list_foundation_models(byOutputModality="TEXT")["modelSummaries"]
    assert any(m["modelId"] == SEED for m in models)
    profiles = []
    token = None
    while True:
        page = bedrock.list_inference_profiles(maxResults=5, **({"nextToken": token} if token else {}))
        profiles += page["inferenceProfileSummaries"]
        token = page.get("nextToken")
        if not token:
            break
    assert any(p["inferenceProfileId"] == "us.anthropic.claude-3-7-sonnet-20250219-v1:0" for p in profiles)


def test_client_disconnect_is_counted(standin):
    def stats():
        connection = http.client.HTTPConnection(urlsplit(standin).hostname, urlsplit(standin).port)
        connection.request("GET", "/_standin/stats")
        return json.loads(connection.getresponse().read())
    before = stats()["clientDisconnects"]
    response = make_client(standin).converse_stream(modelId=SEED, messages=user("x @@tokens=200 @@delay-ms=20"))
    stream = iter(response["stream"])
    next(stream)
    response["stream"]._raw_stream.close()
    deadline = time.time() + 5
    while stats()["clientDisconnects"] == before and time.time() < deadline:
        time.sleep(0.05)
    assert stats()["clientDisconnects"] == before + 1


def test_stand_in_knows_every_catalog_model():
    """The stand-in serves every model contenox's catalog lists, with the same inference-profile rule."""
    import os
    import re
    import standin as module
    source = open(os.path.join(os.path.dirname(__file__), "..", "..", "..", "Sources", "Bedrock", "Models",
                               "ModelCatalog.swift")).read()
    entries = re.findall(r'id: "([^"]+)".*?requiresInferenceProfile: (true|false)', source, re.S)
    assert len(entries) >= 20
    for model_id, needs_profile in entries:
        if needs_profile == "true":
            assert model_id in module.PROFILE_ONLY, model_id
        else:
            assert model_id in module.ON_DEMAND, model_id


def test_timestamps_are_monotonic_write_times(runtime):
    # The benchmark's added-latency measurement (bench/bench.py) relies on this: every text delta is
    # " t<CLOCK_MONOTONIC ns>" taken just before the event is written, so a reader on the same host can
    # subtract it from its own time.monotonic_ns() on arrival.
    before = time.monotonic_ns()
    response = runtime.converse_stream(modelId=SEED, messages=user("@@timestamps @@tokens=5 @@delay-ms=2"))
    arrivals = []
    for event in response["stream"]:
        if "contentBlockDelta" in event:
            arrivals.append((event["contentBlockDelta"]["delta"]["text"], time.monotonic_ns()))
    assert len(arrivals) == 5
    stamps = []
    for text, arrived in arrivals:
        assert text.startswith(" t") and text[2:].isdigit()
        stamps.append(int(text[2:]))
        assert before <= stamps[-1] <= arrived
    assert stamps == sorted(stamps) and stamps[-1] - stamps[0] >= 4 * 2_000_000


def raw_stream(standin, text):
    """A ConverseStream request (Bedrock API key) over a bare socket: what arrived, and the error that ended
    the read (None for an ordinary close). No HTTP client in between to hide how the connection ended."""
    url = urlsplit(standin)
    body = json.dumps({"messages": user(text)}).encode()
    head = (f"POST /model/{SEED.replace(':', '%3A')}/converse-stream HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Authorization: Bearer standin-bedrock-api-key\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    received, error = b"", None
    with socket.create_connection((url.hostname, url.port), timeout=10) as connection:
        connection.sendall(head.encode() + body)
        try:
            while True:
                data = connection.recv(65536)
                if not data:
                    break
                received += data
        except OSError as e:
            error = e
    return received, error


def test_reset_after_is_a_tcp_reset(standin):
    received, error = raw_stream(standin, "x @@tokens=10 @@reset-after=3")
    assert isinstance(error, ConnectionResetError), error
    assert received.startswith(b"HTTP/1.1 200")
    # The deltas written before the reset still arrive; the stream's end (a zero-length chunk) never does.
    assert received.count(b"contentBlockDelta") == 3
    assert not received.endswith(b"\r\n0\r\n\r\n")


def test_cut_after_is_a_clean_close(standin):
    received, error = raw_stream(standin, "x @@tokens=10 @@cut-after=3")
    assert error is None
    assert received.count(b"contentBlockDelta") == 3
    assert not received.endswith(b"\r\n0\r\n\r\n")


def test_garbage_reply_is_not_http(standin):
    received, error = raw_stream(standin, "x @@garbage-reply")
    assert error is None
    assert len(received) >= 200 and not received.startswith(b"HTTP/")
    with pytest.raises(HTTPClientError):
        make_client(standin).converse(modelId=SEED, messages=user("x @@garbage-reply"))


def test_a_million_events(standin):
    """The firehose path: 10^6 delta frames and the stream's end. (Counted in the raw bytes: botocore takes
    half a minute to decode that many; test_converse_stream_decodes_with_botocore checks the frames.)"""
    url = urlsplit(standin)
    body = json.dumps({"messages": user("x @@tokens=1000000")}).encode()
    head = (f"POST /model/{SEED.replace(':', '%3A')}/converse-stream HTTP/1.1\r\nHost: {url.netloc}\r\n"
            "Authorization: Bearer standin-bedrock-api-key\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n")
    marker = b"\x07\x00\x11contentBlockDelta"  # the :event-type header's value, type 7 (string), length 17
    deltas, tail, last = 0, b"", b""
    with socket.create_connection((url.hostname, url.port), timeout=30) as connection:
        connection.sendall(head.encode() + body)
        while data := connection.recv(1 << 20):
            window = tail + data
            deltas += window.count(marker)
            # Keep a marker's length less one, so that one split between reads is counted once.
            tail = window[-(len(marker) - 1):]
            last = (last + data)[-4096:]
    assert deltas == 1_000_000
    assert b'"outputTokens":1000000' in last and last.endswith(b"\r\n0\r\n\r\n")


def test_exit_with_parent_ends_with_its_parent(tmp_path):
    """A stand-in started with --exit-with-parent by a process that then dies is gone soon after."""
    import subprocess
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "standin.py")
    port_file = tmp_path / "port"
    launcher = subprocess.run(
        [sys.executable, "-c",
         "import subprocess, sys, time, os\n"
         "p = subprocess.Popen([sys.executable, sys.argv[1], '--port', '0', '--port-file', sys.argv[2],"
         " '--exit-with-parent'], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
         "deadline = time.time() + 20\n"
         "while not os.path.exists(sys.argv[2]) and time.time() < deadline: time.sleep(0.05)\n"
         "print(p.pid)\n", script, str(port_file)],
        capture_output=True, text=True, timeout=30)
    pid = int(launcher.stdout.strip())
    assert port_file.exists(), "the stand-in started and wrote its port"
    deadline = time.time() + 5
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.05)
    os.kill(pid, 9)
    pytest.fail("the stand-in outlived its parent by 5 s")


def test_count_tokens_with_botocore(runtime):
    """botocore's own CountTokens request is what the stand-in accepts, and the count equals the inputTokens of
    a Converse call with the same messages; profile ids and models without the API are refused as Bedrock does."""
    messages = [{"role": "user", "content": [{"text": "count these words please"}]}]
    counted = runtime.count_tokens(modelId="anthropic.claude-3-5-sonnet-20241022-v2:0",
                                   input={"converse": {"messages": messages}})
    used = runtime.converse(modelId="anthropic.claude-3-5-sonnet-20241022-v2:0", messages=messages)
    assert counted["inputTokens"] == used["usage"]["inputTokens"] > 0
    for model in ("us.anthropic.claude-sonnet-4-20250514-v1:0", "amazon.nova-lite-v1:0"):
        with pytest.raises(ClientError) as error:
            runtime.count_tokens(modelId=model, input={"converse": {"messages": messages}})
        assert error.value.response["Error"]["Code"] == "ValidationException"
        assert "doesn't support counting tokens" in error.value.response["Error"]["Message"]


def test_thinking_rules(runtime):
    """Extended thinking as Bedrock checks it: a budget below maxTokens, and a tool-using assistant turn that
    kept its signed reasoning; such a turn without it is refused."""
    model = "us.anthropic.claude-sonnet-4-20250514-v1:0"
    thinking = {"thinking": {"type": "enabled", "budget_tokens": 2048}}
    tool = {"tools": [{"toolSpec": {"name": "lookup", "inputSchema": {"json": {"type": "object"}}}}]}
    use = {"toolUse": {"toolUseId": "t1", "name": "lookup", "input": {}}}
    history = [{"role": "user", "content": [{"text": "look"}]},
               {"role": "assistant", "content": [use]},
               {"role": "user", "content": [{"toolResult": {"toolUseId": "t1", "content": [{"text": "42"}]}}]}]
    with pytest.raises(ClientError) as error:
        runtime.converse(modelId=model, messages=history, toolConfig=tool, inferenceConfig={"maxTokens": 4096},
                         additionalModelRequestFields=thinking)
    assert "must start with a thinking block" in error.value.response["Error"]["Message"]
    signed = {"reasoningContent": {"reasoningText": {"text": "hm", "signature": "standin-signature"}}}
    history[1]["content"] = [signed, use]
    answer = runtime.converse(modelId=model, messages=history, toolConfig=tool, inferenceConfig={"maxTokens": 4096},
                              additionalModelRequestFields=thinking)
    assert answer["output"]["message"]["content"][-1]["text"] == "Tool said: 42"
    with pytest.raises(ClientError):
        runtime.converse(modelId=model, messages=history[:1], inferenceConfig={"maxTokens": 1024},
                         additionalModelRequestFields=thinking)


def test_connections_are_counted_and_idle_ones_closed(standin):
    from urllib.parse import urlsplit

    host = urlsplit(standin).netloc

    def stats():
        connection = http.client.HTTPConnection(host, timeout=10)
        connection.request("GET", "/_standin/stats")
        return json.loads(connection.getresponse().read())

    before = stats()
    api = http.client.HTTPConnection(host, timeout=10)
    for _ in range(2):  # two API requests (an UnknownOperation answer) on one kept-alive connection
        api.request("GET", "/")
        assert api.getresponse().read()
    during = stats()
    assert during["connections"] == before["connections"] + 1, "stats connections are not counted"
    assert during["openConnections"] == before["openConnections"] + 1

    closing = http.client.HTTPConnection(host, timeout=10)
    closing.request("POST", "/_standin/close-idle", body=b"")
    assert json.loads(closing.getresponse().read())["closed"] >= 1
    assert api.sock.recv(1) == b"", "the idle connection was closed (EOF)"
    # Idle connections of earlier tests' clients are closed too: at least ours is gone from the gauge.
    deadline = time.time() + 10
    while stats()["openConnections"] > before["openConnections"] and time.time() < deadline:
        time.sleep(0.02)
    assert stats()["openConnections"] <= before["openConnections"]
