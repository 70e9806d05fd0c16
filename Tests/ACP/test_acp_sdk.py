"""`contenox acp` driven by the official ACP Python SDK (agent-client-protocol on pip) against the stand-in.

Run: CONTENOX_BIN=/path/to/contenox python3 -m pytest -q Tests/ACP
The stand-in, the private CONTENOX_HOME and the watchdog are those of Tests/Clients (shared, not copied).
"""

from __future__ import annotations

import asyncio
import base64
import importlib.util
import json
import os
import subprocess
import sys
import time
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

CLIENTS = Path(__file__).resolve().parents[1] / "Clients"
sys.path.insert(0, str(CLIENTS))

from acp import PROTOCOL_VERSION, RequestError, spawn_agent_process, text_block  # noqa: E402
from acp.schema import (  # noqa: E402
    AllowedOutcome,
    AuthCapabilities,
    BlobResourceContents,
    ClientCapabilities,
    EmbeddedResourceContentBlock,
    FileSystemCapabilities,
    ImageContentBlock,
    ReadTextFileResponse,
    RequestPermissionResponse,
    ResourceContentBlock,
    TextResourceContents,
    WriteTextFileResponse,
)

from contenox_harness import MODEL, Home  # noqa: E402

# The fixtures of Tests/Clients (stand-in, private home, watchdog), loaded under a name of their own.
_spec = importlib.util.spec_from_file_location("client_fixtures", CLIENTS / "conftest.py")
_fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_fixtures)
binary, standin, home, _watchdog = _fixtures.binary, _fixtures.standin, _fixtures.home, _fixtures._watchdog

# A 1x1 PNG.
PNG = base64.b64encode(bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")).decode()


class Editor:
    """The client side: records every session/update, serves fs requests from the disk, answers
    permission requests as told."""

    def __init__(self, allow_writes: bool = True) -> None:
        self.updates: list = []
        self.reads: list = []
        self.writes: list = []
        self.permissions: list = []
        self.allow_writes = allow_writes

    async def session_update(self, session_id, update, **kwargs):
        self.updates.append((session_id, update))

    async def request_permission(self, options, session_id, tool_call, **kwargs):
        self.permissions.append(tool_call)
        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id="allow" if self.allow_writes else "reject"))

    async def read_text_file(self, session_id, path, line=None, limit=None, **kwargs):
        self.reads.append(path)
        return ReadTextFileResponse(content=Path(path).read_text())

    async def write_text_file(self, session_id, path, content, **kwargs):
        self.writes.append(path)
        Path(path).parent.mkdir(parents=True, exist_ok=True)  # as editors do
        Path(path).write_text(content)
        return WriteTextFileResponse()

    def kinds(self, session_id=None):
        return [u.session_update for s, u in self.updates if session_id in (None, s)]

    def text(self, kind="agent_message_chunk", start=0):
        return "".join(u.content.text for _, u in self.updates[start:]
                       if u.session_update == kind and u.content.type == "text")


FS = ClientCapabilities(fs=FileSystemCapabilities(read_text_file=True, write_text_file=True))


@asynccontextmanager
async def agent(home: Home, editor: Editor, capabilities=FS, env=None, args=()):
    async with spawn_agent_process(editor, os.environ.get("CONTENOX_BIN") or _fixtures.contenox_bin(), "acp",
                                   *args, env=env or home.env) as (conn, process):
        reply = await asyncio.wait_for(conn.initialize(protocol_version=PROTOCOL_VERSION,
                                                       client_capabilities=capabilities), 30)
        assert reply.protocol_version == 1
        yield conn, reply


def run(coroutine):
    return asyncio.run(asyncio.wait_for(coroutine, 120))


def show(home: Home, session_id: str) -> dict:
    return json.loads(home.cli("session", "show", "--json", session_id).stdout)


def stats(standin) -> dict:
    return standin.http("GET", "/_standin/stats")


def converse_bodies(standin) -> list:
    return [json.loads(r["body"]) for r in standin.requests() if "/converse" in r["path"]]


def test_initialize_new_session_and_a_streamed_prompt_equal_to_the_stored_answer(home, standin, tmp_path):
    editor = Editor()

    async def scenario():
        async with agent(home, editor) as (conn, init):
            caps = init.agent_capabilities
            assert caps.load_session is True
            assert caps.prompt_capabilities.image and caps.prompt_capabilities.embedded_context
            sessions = caps.session_capabilities
            assert None not in (sessions.list, sessions.resume, sessions.close, sessions.delete)
            assert init.agent_info.name == "contenox"
            assert [m.type for m in init.auth_methods] == ["env_var"]
            assert "AWS_PROFILE" in [v.name for v in init.auth_methods[0].vars]

            new = await conn.new_session(cwd=str(tmp_path))
            (option,) = new.config_options
            assert (option.category, option.type, option.current_value) == ("model", "select", MODEL)

            first = await conn.prompt(session_id=new.session_id, prompt=[text_block("hello there")])
            assert first.stop_reason == "end_turn"
            assert first.usage.input_tokens > 0 and first.usage.output_tokens > 0
            # The context the session fills, out of the model's window (the catalog knows it: 200,000).
            (usage,) = [u for _, u in editor.updates if u.session_update == "usage_update"]
            assert (usage.used, usage.size) == (first.usage.total_tokens, 200_000)
            first_text = editor.text()
            mark = len(editor.updates)
            second = await conn.prompt(session_id=new.session_id, prompt=[text_block("and again")])
            assert second.stop_reason == "end_turn"
            return new.session_id, first_text, editor.text(start=mark)

    session_id, first_text, second_text = run(scenario())
    assert first_text == "Echo: hello there"
    assert second_text == "Echo: and again"
    stored = show(home, session_id)
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "user", "assistant"]
    assert stored["messages"][1]["content"] == [{"text": first_text}]
    assert stored["messages"][3]["content"] == [{"text": second_text}]
    assert stored["title"] == "hello there"
    # The second turn was sent with the first in its history.
    history = converse_bodies(standin)[-1]["messages"]
    assert [m["content"][0]["text"] for m in history] == ["hello there", "Echo: hello there", "and again"]
    listed = json.loads(home.cli("session", "list", "--json").stdout)
    assert session_id in [s["sessionId"] for s in listed]


def test_load_in_a_new_process_replays_the_history_before_answering(home, standin, tmp_path):
    async def first_process():
        async with agent(home, Editor()) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            await conn.prompt(session_id=new.session_id, prompt=[text_block("remember @@reasoning me")])
            return new.session_id

    session_id = run(first_process())
    editor = Editor()

    async def second_process():
        async with agent(home, editor) as (conn, _):
            loaded = await conn.load_session(cwd=str(tmp_path), session_id=session_id)
            replayed = list(editor.kinds(session_id))  # taken at once: the replay came before the answer
            assert loaded.config_options[0].current_value == MODEL
            listed = await conn.list_sessions(cwd=str(tmp_path))
            mark = len(editor.updates)
            after = await conn.prompt(session_id=session_id, prompt=[text_block("next")])
            return replayed, listed, after, editor.text(start=mark)

    replayed, listed, after, text = run(second_process())
    assert replayed == ["user_message_chunk", "agent_thought_chunk", "agent_message_chunk"]
    assert editor.text("user_message_chunk") == "remember @@reasoning me"
    assert editor.text("agent_thought_chunk") == "Let me think about it."
    assert [(s.session_id, s.cwd, s.title) for s in listed.sessions] == [(session_id, str(tmp_path),
                                                                         "remember @@reasoning me")]
    assert after.stop_reason == "end_turn" and text == "Echo: next"


def test_resume_close_and_delete(home, standin, tmp_path):
    editor = Editor()

    async def scenario():
        async with agent(home, editor) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            await conn.prompt(session_id=new.session_id, prompt=[text_block("one")])
            await conn.close_session(session_id=new.session_id)
            with pytest.raises(RequestError) as closed:
                await conn.prompt(session_id=new.session_id, prompt=[text_block("two")])
            resumed = await conn.resume_session(cwd=str(tmp_path), session_id=new.session_id)
            mark = len(editor.updates)
            again = await conn.prompt(session_id=new.session_id, prompt=[text_block("three")])
            assert set(editor.kinds()[mark:]) == {"agent_message_chunk", "usage_update"}
            await conn._conn.send_request("session/delete", {"sessionId": new.session_id})
            return new.session_id, closed.value, resumed, again

    session_id, closed, resumed, again = run(scenario())
    assert closed.code == -32602 and "session/load" in str(closed.value if hasattr(closed, "value") else closed)
    assert resumed.config_options[0].current_value == MODEL
    assert again.stop_reason == "end_turn"
    listed = json.loads(home.cli("session", "list", "--json").stdout)
    assert session_id not in [s["sessionId"] for s in listed]


def test_cancel_mid_stream_answers_cancelled_closes_the_transfer_and_keeps_the_partial(home, standin, tmp_path):
    editor = Editor()
    before = stats(standin).get("clientDisconnects", 0)

    async def scenario():
        async with agent(home, editor) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            prompt = asyncio.create_task(conn.prompt(
                session_id=new.session_id, prompt=[text_block("long @@tokens=3000 @@delay-ms=5")]))
            while "agent_message_chunk" not in editor.kinds():
                await asyncio.sleep(0.01)
            await conn.cancel(session_id=new.session_id)
            cancelled = await prompt
            after = await conn.prompt(session_id=new.session_id, prompt=[text_block("still here")])
            return new.session_id, cancelled, after

    session_id, cancelled, after = run(scenario())
    assert cancelled.stop_reason == "cancelled"
    assert after.stop_reason == "end_turn"
    deadline = time.monotonic() + 10
    while stats(standin).get("clientDisconnects", 0) <= before and time.monotonic() < deadline:
        time.sleep(0.05)  # the stand-in notices the closed socket at its next write
    assert stats(standin).get("clientDisconnects", 0) > before
    messages = show(home, session_id)["messages"]
    assert messages[1]["status"] == "incomplete"
    partial = messages[1]["content"][0]["text"]
    assert partial.startswith(" tok") and len(partial) < 3000 * len(" tok")


def test_model_switch_becomes_the_sessions_model(home, standin, tmp_path):
    editor = Editor()
    other = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"

    async def scenario():
        async with agent(home, editor) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            values = [o.value for o in new.config_options[0].options]
            assert other in values and MODEL in values
            # The backend's live list (the stand-in's control plane), not only the catalog.
            assert "anthropic.claude-3-opus-20240229-v1:0" in values
            changed = await conn.set_config_option(config_id="model", session_id=new.session_id, value=other)
            reply = await conn.prompt(session_id=new.session_id, prompt=[text_block("which model")])
            return new.session_id, changed, reply

    session_id, changed, reply = run(scenario())
    assert changed.config_options[0].current_value == other
    assert "config_option_update" in editor.kinds()
    assert reply.stop_reason == "end_turn"
    assert other.replace(":", "%3A") in [r["path"] for r in standin.requests() if "/converse" in r["path"]][-1]
    assert show(home, session_id)["model"] == other


def test_embedded_resource_pdf_image_and_resource_link_become_converse_content(home, standin, tmp_path):
    editor = Editor()
    (tmp_path / "linked.txt").write_text("linked text")
    pdf = base64.b64encode(b"%PDF-1.4\n%stand-in\n").decode()

    async def scenario():
        async with agent(home, editor) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            return await conn.prompt(session_id=new.session_id, prompt=[
                text_block("look"),
                EmbeddedResourceContentBlock(type="resource", resource=TextResourceContents(
                    uri="file:///src/a.py", text="print(1)", mime_type="text/x-python")),
                EmbeddedResourceContentBlock(type="resource", resource=BlobResourceContents(
                    uri="file:///docs/spec.v2.pdf", blob=pdf, mime_type="application/pdf")),
                ImageContentBlock(type="image", data=PNG, mime_type="image/png"),
                ResourceContentBlock(type="resource_link", uri=f"file://{tmp_path}/linked.txt", name="linked.txt"),
            ])

    reply = run(scenario())
    assert reply.stop_reason == "end_turn"
    content = converse_bodies(standin)[-1]["messages"][-1]["content"]
    assert content[0] == {"text": "look"}
    assert content[1] == {"text": "Contents of file:///src/a.py:\n```\nprint(1)\n```"}
    assert content[2] == {"document": {"format": "pdf", "name": "spec", "source": {"bytes": pdf}}}
    assert content[3] == {"image": {"format": "png", "source": {"bytes": PNG}}}
    assert content[4] == {"text": f"Contents of file://{tmp_path}/linked.txt:\n```\nlinked text\n```"}
    assert editor.reads == [f"{tmp_path}/linked.txt"]
    assert "print(1)" in editor.text()


def test_read_file_tool_round_trip(home, standin, tmp_path):
    editor = Editor()
    (tmp_path / "notes.txt").write_text("the secret is 42")

    async def scenario():
        async with agent(home, editor) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            return await conn.prompt(session_id=new.session_id,
                                     prompt=[text_block("@@tool=read_file @@tool-path=notes.txt read it")])

    reply = run(scenario())
    assert reply.stop_reason == "end_turn"
    assert editor.reads == [f"{tmp_path}/notes.txt"]
    calls = [u for _, u in editor.updates if u.session_update in ("tool_call", "tool_call_update")]
    assert calls[0].session_update == "tool_call" and calls[0].kind == "read" and calls[0].status == "pending"
    assert {c.tool_call_id for c in calls} == {calls[0].tool_call_id}
    assert calls[-1].status == "completed"
    assert editor.text() == "Tool said: the secret is 42"
    # Both model calls carried the tools (the second's history holds toolUse and toolResult).
    bodies = converse_bodies(standin)[-2:]
    assert all([t["toolSpec"]["name"] for t in b["toolConfig"]["tools"]] == ["read_file", "write_file"]
               for b in bodies)


def test_load_replays_tool_calls_with_their_outcome(home, standin, tmp_path):
    (tmp_path / "notes.txt").write_text("replayed")

    async def first_process():
        async with agent(home, Editor()) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            await conn.prompt(session_id=new.session_id,
                              prompt=[text_block("@@tool=read_file @@tool-path=notes.txt go")])
            return new.session_id

    session_id = run(first_process())
    editor = Editor()

    async def second_process():
        async with agent(home, editor) as (conn, _):
            await conn.load_session(cwd=str(tmp_path), session_id=session_id)
            return list(editor.kinds(session_id))

    assert run(second_process()) == ["user_message_chunk", "tool_call", "tool_call_update", "agent_message_chunk"]
    calls = [u for _, u in editor.updates if u.session_update in ("tool_call", "tool_call_update")]
    assert calls[0].kind == "read" and calls[0].tool_call_id == calls[1].tool_call_id
    assert calls[1].status == "completed"
    assert editor.text() == "Tool said: replayed"


@pytest.mark.parametrize("allow", [True, False])
def test_write_file_asks_permission_first(home, standin, tmp_path, allow):
    editor = Editor(allow_writes=allow)

    async def scenario():
        async with agent(home, editor) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            reply = await conn.prompt(session_id=new.session_id,
                                      prompt=[text_block("@@tool=write_file @@tool-path=out/new.txt fresh words")])
            return new.session_id, reply

    session_id, reply = run(scenario())
    assert reply.stop_reason == "end_turn"
    assert len(editor.permissions) == 1 and editor.permissions[0].kind == "edit"
    target = tmp_path / "out" / "new.txt"
    statuses = [u.status for _, u in editor.updates if u.session_update == "tool_call_update"]
    if allow:
        assert editor.writes == [str(target)] and target.read_text() == "fresh words"
        assert statuses[-1] == "completed"
        assert editor.text() == f"Tool said: wrote 11 bytes to {target}"
    else:
        assert editor.writes == [] and not target.exists()
        assert statuses[-1] == "failed"
        assert editor.text() == f"Tool said: the user did not allow writing {target}"
    roles = [m["role"] for m in show(home, session_id)["messages"]]
    assert roles == ["user", "assistant", "user", "assistant"]


def test_the_model_call_limit_answers_max_turn_requests_and_the_next_prompt_carries_the_results(home, standin,
                                                                                              tmp_path):
    editor = Editor()
    (tmp_path / "notes.txt").write_text("owed text")

    async def scenario():
        async with agent(home, editor, args=("--max-model-calls", "1")) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            limited = await conn.prompt(session_id=new.session_id,
                                        prompt=[text_block("@@tool=read_file @@tool-path=notes.txt go")])
            mark = len(editor.updates)
            after = await conn.prompt(session_id=new.session_id, prompt=[text_block("and now?")])
            return new.session_id, limited, after, editor.text(start=mark)

    session_id, limited, after, text = run(scenario())
    assert limited.stop_reason == "max_turn_requests"
    assert editor.reads == [f"{tmp_path}/notes.txt"]
    # Bedrock needs a result for every toolUse: the next prompt opens with the results the limit held back.
    assert after.stop_reason == "end_turn" and text == "Tool said: owed text"
    last_user = show(home, session_id)["messages"][2]
    assert [list(block) for block in last_user["content"]] == [["toolResult"], ["text"]]


def test_a_path_outside_the_project_is_refused_without_asking_the_client(home, standin, tmp_path):
    editor = Editor()
    project = tmp_path / "project"
    project.mkdir()
    (tmp_path / "outside.txt").write_text("not yours")

    async def scenario():
        async with agent(home, editor) as (conn, _):
            new = await conn.new_session(cwd=str(project))
            return await conn.prompt(session_id=new.session_id,
                                     prompt=[text_block("@@tool=read_file @@tool-path=../outside.txt x")])

    reply = run(scenario())
    assert reply.stop_reason == "end_turn"
    assert editor.reads == []
    assert editor.text() == f"Tool said: '../outside.txt' is outside the project directory {project}"


@pytest.mark.parametrize("directive", [
    "@@fail=access-denied", "@@fail=throttle", "@@fail=validation", "@@fail=unrecognized-client",
    "@@fail=expired-token", "@@fail=service-unavailable", "@@fail=model-not-ready",
])
def test_bedrock_errors_carry_the_hint_in_the_message(home, standin, tmp_path, directive):
    async def scenario():
        async with agent(home, Editor()) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            with pytest.raises(RequestError) as failed:
                await conn.prompt(session_id=new.session_id, prompt=[text_block(f"boom {directive}")])
            return failed.value

    error = run(scenario())
    # The code and hint are those chat/stream gives (one table in the services); the message carries the hint.
    assert error.code in (-32000, -32001)
    hint = error.data["hint"]
    assert hint and str(error) == f"{error.data['message']}\nhint: {hint}"


def test_the_session_stays_usable_after_a_failed_prompt(home, standin, tmp_path):
    editor = Editor()

    async def scenario():
        async with agent(home, editor) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            with pytest.raises(RequestError) as failed:
                await conn.prompt(session_id=new.session_id, prompt=[text_block("boom and more @@stream-exception=2")])
            mark = len(editor.updates)
            after = await conn.prompt(session_id=new.session_id, prompt=[text_block("fine now")])
            return failed.value, after, editor.text(start=mark)

    error, after, text = run(scenario())
    assert "hint: " in str(error) and error.data["hint"] in str(error)
    assert after.stop_reason == "end_turn" and text == "Echo: fine now"


def test_missing_credentials_and_missing_model_answer_with_their_hints(home, standin, tmp_path):
    bare = {k: v for k, v in home.env.items() if not k.startswith("AWS_ACCESS") and not k.startswith("AWS_SECRET")}

    async def no_credentials():
        async with agent(home, Editor(), env=bare) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            with pytest.raises(RequestError) as failed:
                await conn.prompt(session_id=new.session_id, prompt=[text_block("hi")])
            return failed.value

    error = run(no_credentials())
    assert error.code == -32001 and error.data["hint"] in str(error)

    home.cli("config", "set", "default-model", "")

    async def no_model():
        async with agent(home, Editor()) as (conn, _):
            new = await conn.new_session(cwd=str(tmp_path))
            assert not new.config_options
            with pytest.raises(RequestError) as failed:
                await conn.prompt(session_id=new.session_id, prompt=[text_block("hi")])
            return failed.value

    error = run(no_model())
    assert error.code == -32003 and "contenox config set default-model" in str(error)


def test_a_new_session_takes_the_model_configured_now(home, standin, tmp_path):
    other = "us.anthropic.claude-3-7-sonnet-20250219-v1:0"

    async def scenario():
        async with agent(home, Editor()) as (conn, _):
            first = await conn.new_session(cwd=str(tmp_path))
            home.cli("config", "set", "default-model", other)
            second = await conn.new_session(cwd=str(tmp_path))
            return first.config_options[0].current_value, second.config_options[0].current_value

    assert run(scenario()) == (MODEL, other)


def raw_agent(home: Home) -> subprocess.Popen:
    return subprocess.Popen([_fixtures.contenox_bin(), "acp"], env=home.env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)


def test_a_malformed_line_gets_a_json_rpc_error_and_the_agent_serves_on(home):
    process = raw_agent(home)
    try:
        lines = [b'{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":1}}',
                 b'{"jsonrpc":"2.0","id":1,"method":', b'{"jsonrpc":"2.0","id":2,"method":"session/list","params":{}}']
        out, _ = process.communicate(b"\n".join(lines) + b"\n", timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    answers = {a.get("id"): a for a in map(json.loads, out.splitlines())}
    assert sorted(answers, key=str) == [0, 2, None]
    assert answers[None]["error"]["code"] == -32700
    assert answers[0]["result"]["protocolVersion"] == 1
    assert answers[2]["result"] == {"sessions": []}
    assert process.returncode == 0


def test_end_of_input_cancels_a_running_prompt_and_exits_at_once(home, tmp_path):
    process = raw_agent(home)
    try:
        def send(message):
            process.stdin.write(json.dumps(message).encode() + b"\n")
            process.stdin.flush()

        send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": 1}})
        send({"jsonrpc": "2.0", "id": 1, "method": "session/new", "params": {"cwd": str(tmp_path), "mcpServers": []}})
        session = None
        while session is None:
            message = json.loads(process.stdout.readline())
            session = message.get("result", {}).get("sessionId") if message.get("id") == 1 else None
        send({"jsonrpc": "2.0", "id": 2, "method": "session/prompt",
              "params": {"sessionId": session, "prompt": [{"type": "text", "text": "@@tokens=5000 @@delay-ms=5"}]}})
        while "agent_message_chunk" not in process.stdout.readline().decode():
            pass
        started = time.monotonic()
        process.stdin.close()
        process.wait(timeout=10)
        assert time.monotonic() - started < 2
        assert process.returncode == 0
    finally:
        if process.poll() is None:
            process.kill()


def test_load_writes_the_whole_replay_before_its_answer_on_the_wire(home, tmp_path):
    """The SDK test above sees the replay through the client's scheduling; this one reads the bytes."""
    process = raw_agent(home)
    try:
        def send(message):
            process.stdin.write(json.dumps(message).encode() + b"\n")
            process.stdin.flush()

        def until_answer(id_):
            seen = []
            while True:
                message = json.loads(process.stdout.readline())
                seen.append(message)
                if message.get("id") == id_:
                    return seen

        send({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {"protocolVersion": 1}})
        send({"jsonrpc": "2.0", "id": 1, "method": "session/new", "params": {"cwd": str(tmp_path), "mcpServers": []}})
        session = until_answer(1)[-1]["result"]["sessionId"]
        for n, text in enumerate(["one", "two"], start=2):
            send({"jsonrpc": "2.0", "id": n, "method": "session/prompt",
                  "params": {"sessionId": session, "prompt": [{"type": "text", "text": text}]}})
            until_answer(n)
        send({"jsonrpc": "2.0", "id": 9, "method": "session/load",
              "params": {"sessionId": session, "cwd": str(tmp_path), "mcpServers": []}})
        *updates, answer = until_answer(9)
    finally:
        process.stdin.close()
        process.wait(timeout=10)
    assert "result" in answer
    assert [(u["params"]["update"]["sessionUpdate"], u["params"]["update"]["content"]["text"]) for u in updates] == [
        ("user_message_chunk", "one"), ("agent_message_chunk", "Echo: one"),
        ("user_message_chunk", "two"), ("agent_message_chunk", "Echo: two")]


def test_a_profile_that_signs_in_gets_a_terminal_sign_in(home, tmp_path):
    """For a client that runs sign-ins in a terminal and an IAM Identity Center profile, the agent offers
    `contenox login` (which runs `aws sso login --profile NAME`); for a client without terminals, or a
    profile with keys, only the environment method. `contenox login` itself is checked with a stand-in
    `aws` that records what it was asked to run."""
    config = tmp_path / "aws-config"
    config.write_text("[profile work]\nsso_session = corp\nsso_account_id = 123456789012\n"
                      "sso_role_name = Dev\n[sso-session corp]\nsso_start_url = https://corp.awsapps.com/start\n"
                      "sso_region = us-east-1\n[profile keys]\nregion = us-east-1\n")
    env = dict(home.env, AWS_CONFIG_FILE=str(config), AWS_PROFILE="work")
    terminal = ClientCapabilities(fs=FS.fs, auth=AuthCapabilities(terminal=True))

    async def methods(capabilities, environment):
        async with agent(home, Editor(), capabilities=capabilities, env=environment) as (_, init):
            return [(m.type, m.id, getattr(m, "args", None)) for m in init.auth_methods]

    assert run(methods(terminal, env)) == [("env_var", "aws-environment", None), ("terminal", "aws-sign-in", ["login"])]
    assert run(methods(FS, env)) == [("env_var", "aws-environment", None)]
    assert run(methods(terminal, dict(env, AWS_PROFILE="keys"))) == [("env_var", "aws-environment", None)]

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    record = tmp_path / "aws-args"
    fake = bin_dir / "aws"
    fake.write_text(f"#!/bin/sh\necho \"$@\" > {record}\n")
    fake.chmod(0o755)
    login_env = dict(env, PATH=f"{bin_dir}:{os.environ['PATH']}")
    home.cli("login", env=login_env)
    assert record.read_text().strip() == "sso login --profile work"
    keys = home.cli("login", env=dict(login_env, AWS_PROFILE="keys"))
    assert b"nothing to do" in keys.stdout
