"""Hints name commands that exist (issue 12): every `contenox ...` command quoted in the hints this
black-box suite can provoke is run through the CLI (placeholders filled in), and the no-model hint's
suggested id must carry an inference-profile prefix and work.

This covers the hints reachable from outside with the stand-in; the issue also asks for a Swift test over
every hint and help text in Sources/.
"""

import re
import subprocess

from contenox_harness import MODEL, Home, Server, contenox_bin, request

PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.")
PLACEHOLDERS = {"<id>": MODEL, "NAME": "standin", "PROMPT": "hello", "<name>": "standin"}


def commands_in(text):
    """`contenox ...` commands quoted in prose: the subcommand path, then what looks like arguments
    (options, their values, ids, placeholders); the first plain word after that ends it."""
    found = []
    for match in re.finditer(r"contenox ([^`()\n,;]*)", text):
        words = match.group(1).split()
        command = []
        for i, word in enumerate(words):
            last = word.endswith(".") and (i + 1 == len(words) or words[i + 1][:1].isupper())
            word = word.rstrip(".") if last or i + 1 == len(words) else word
            following = words[i + 1] if i + 1 < len(words) else ""
            plain = re.fullmatch(r"[a-z]+", word) is not None
            if i < 2 or not plain or following.startswith("--") or (command and command[-1].startswith("--")):
                if i >= 2 and plain and word in ("or", "and", "to", "for", "shows", "the", "with"):
                    break
                command.append(word)
            else:
                break
            if last:
                break
        if command:
            found.append(command)
    return found


def test_commands_in_parses_prose():
    assert commands_in("Run: contenox config set default-model us.x.y-v1:0 (contenox model list shows the ids).") == \
        [["config", "set", "default-model", "us.x.y-v1:0"], ["model", "list"]]
    assert commands_in("Known backends: a. Add one with contenox backend add.") == [["backend", "add"]]
    assert commands_in("use `contenox models list --live`)") == [["models", "list", "--live"]]
    assert commands_in("add one with: contenox backend add bedrock --type bedrock --url us-east-1") == \
        [["backend", "add", "bedrock", "--type", "bedrock", "--url", "us-east-1"]]


def provoked_hints(home):
    """The hints of errors a client can provoke against the stand-in."""
    bare = Home(home.path + "-bare")  # no backend and no default model
    hints = []
    with Server(bare, "ndjson") as server:
        server.initialize()
        server.send(request(2, "chat/send", {"prompt": "hi"}), request(3, "backend/show", {"name": "zzz"}))
        for f in server.responses(["2", "3"]).values():
            hints.append(f.msg["error"]["data"]["hint"])
    listing = subprocess.run([contenox_bin(), "backend", "list"], env=bare.env, capture_output=True, timeout=30)
    hints.append(listing.stdout.decode() + listing.stderr.decode())
    home.cli("config", "set", "default-model", MODEL)
    with Server(home, "ndjson") as server:
        server.initialize()
        server.send(request(2, "chat/send", {"prompt": "hi", "model": "bogus.model-v1:0"}),
                    request(3, "backend/show", {"name": "zzz"}),
                    request(4, "session/get", {"sessionId": "nope"}),
                    request(5, "chat/send", {"prompt": "hi", "sessionId": "nope"}),
                    request(6, "chat/send", {"prompt": "hi", "model": "anthropic.claude-sonnet-4-20250514-v1:0"}))
        for f in server.responses(["2", "3", "4", "5", "6"], timeout=30).values():
            hints.append(f.msg["error"]["data"]["hint"])
    return hints


def test_hinted_commands_exist(home):
    hints = provoked_hints(home)
    commands = [c for hint in hints for c in commands_in(hint)]
    assert len(commands) >= 5, (hints, commands)
    bad = []
    for command in commands:
        argv = [PLACEHOLDERS.get(word, word) for word in command]
        result = subprocess.run([contenox_bin(), *argv], env=home.env, capture_output=True, timeout=60)
        stderr = result.stderr.decode(errors="replace")
        # Exit 2 is a usage error; only a missing argument is fine (a hint may name a command's start).
        if result.returncode == 2 and "Missing expected argument" not in stderr:
            bad.append(f"contenox {' '.join(command)}: {stderr.splitlines()[0] if stderr else ''}")
    assert not bad, "hints name commands the CLI refuses:\n" + "\n".join(bad)


def test_no_model_hint_suggests_a_working_profile_id(home, standin):
    fresh = Home(home.path + "-fresh")  # the stand-in as default backend, no default model
    fresh.add_backend("standin", standin.url)
    fresh.cli("config", "set", "default-provider", "standin")
    with Server(fresh, "ndjson") as server:
        server.initialize()
        server.send(request(2, "chat/send", {"prompt": "hi"}))
        error = server.response("2").msg["error"]
        assert error["data"]["type"] == "ModelNotSet", error
        suggested = [c for c in commands_in(error["data"]["hint"]) if c[:3] == ["config", "set", "default-model"]]
        assert suggested, error["data"]["hint"]
        model = suggested[0][3]
        assert model.startswith(PROFILE_PREFIXES), f"the hint suggests {model}, without an inference-profile prefix"
    fresh.cli("config", "set", "default-model", model)
    with Server(fresh, "ndjson") as server:
        server.initialize()
        server.send(request(2, "chat/send", {"prompt": "hi"}))
        answer = server.response("2", timeout=30).msg
        assert "result" in answer, answer
