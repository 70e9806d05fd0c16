#!/usr/bin/env python3
"""Drives `contenox acp` with the official ACP Python SDK (agent-client-protocol) as an editor's agent panel
does, and prints the exchange.

Usage: acp_session.py CONTENOX_BIN PROMPT
Sends initialize, session/new (in the current directory) and session/prompt, printing each session/update
as it arrives and the prompt's stopReason and usage. Exits non-zero on any error response.
"""
import asyncio
import os
import sys

from acp import PROTOCOL_VERSION, spawn_agent_process, text_block
from acp.schema import ClientCapabilities


class Panel:
    """The client side: shows updates; offers no file system, so the agent offers the model no tools."""

    async def session_update(self, session_id, update, **kwargs):
        if update.session_update == "agent_message_chunk":
            print(update.content.text, end="", flush=True)


async def main(binary: str, prompt: str) -> None:
    # The SDK starts agents with a minimal environment unless given one: pass ours (CONTENOX_HOME, AWS_*).
    async with spawn_agent_process(Panel(), binary, "acp", env=dict(os.environ)) as (conn, _):
        init = await conn.initialize(protocol_version=PROTOCOL_VERSION, client_capabilities=ClientCapabilities())
        print(f"-> initialize: {init.agent_info.name} {init.agent_info.version}, protocol {init.protocol_version}")
        session = await conn.new_session(cwd=os.getcwd())
        model = session.config_options[0].current_value if session.config_options else "(none)"
        print(f"-> session/new: {session.session_id} (model {model})")
        print(f"-> session/prompt: {prompt!r}\n<- agent_message_chunk: ", end="")
        reply = await conn.prompt(session_id=session.session_id, prompt=[text_block(prompt)])
        usage = reply.usage
        print(f"\n<- stopReason {reply.stop_reason}, tokens in {usage.input_tokens} out {usage.output_tokens}")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
