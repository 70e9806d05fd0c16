#!/usr/bin/env bash
# The main job: build contenox, configure a Bedrock backend, list models, check the backend, and chat,
# once from the CLI, once over JSON-RPC as an editor would, and once over ACP as an agent panel would.
#
# With AWS credentials in the environment (keys, AWS_PROFILE, AWS_BEARER_TOKEN_BEDROCK) it talks to
# Amazon Bedrock in $AWS_REGION (default us-east-1). Without them it runs offline against the bundled
# Bedrock stand-in (tools/standin), which checks SigV4 signatures and streams real event-stream frames.
# Either way it uses a throw-away CONTENOX_HOME, so your own configuration is left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${CONTENOX_BIN:-.build/release/contenox}
work=$(mktemp -d)
standin_pid=""
cleanup() {
    [[ -n "$standin_pid" ]] && kill "$standin_pid" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
export CONTENOX_HOME="$work/home"

have_aws_credentials() {
    [[ -n "${AWS_ACCESS_KEY_ID:-}" || -n "${AWS_PROFILE:-}" || -n "${AWS_BEARER_TOKEN_BEDROCK:-}" \
        || -n "${AWS_WEB_IDENTITY_TOKEN_FILE:-}" || -n "${AWS_CONTAINER_CREDENTIALS_FULL_URI:-}" \
        || -n "${AWS_CONTAINER_CREDENTIALS_RELATIVE_URI:-}" || -f "$HOME/.aws/credentials" ]]
}

run() {
    echo "\$ contenox $*"
    "$BIN" "$@"
}

if have_aws_credentials && [[ "${CONTENOX_DEMO_OFFLINE:-}" != 1 ]]; then
    region=${AWS_REGION:-${AWS_DEFAULT_REGION:-us-east-1}}
    echo "== AWS credentials found: talking to Amazon Bedrock in $region"
    run backend add bedrock --type bedrock --url "https://bedrock-runtime.$region.amazonaws.com"
    model=${CONTENOX_DEMO_MODEL:-anthropic.claude-3-5-sonnet-20241022-v2:0}
else
    echo "== No AWS credentials: running offline against the bundled Bedrock stand-in"
    python3 tools/standin/standin.py --port 0 --port-file "$work/port" &
    standin_pid=$!
    for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
    [[ -s "$work/port" ]] || { echo "the stand-in did not start" >&2; exit 1; }
    port=$(cat "$work/port")
    # The stand-in's test identity; real keys never appear in this script.
    export AWS_ACCESS_KEY_ID=AKIASTANDINEXAMPLE AWS_SECRET_ACCESS_KEY=standinSecretKey/EXAMPLEKEY
    unset AWS_SESSION_TOKEN AWS_PROFILE AWS_BEARER_TOKEN_BEDROCK
    run backend add bedrock --type bedrock --url "http://127.0.0.1:$port" --region us-east-1
    model=anthropic.claude-3-5-sonnet-20241022-v2:0
fi

run config set default-model "$model"
run config set default-provider bedrock
run backend list
run model list
run backend check bedrock
run chat "Hello from the contenox demo. Say hi back."
echo
echo "== The editor path: JSON-RPC over stdio (contenox serve)"
python3 scripts/rpc_session.py "$BIN" "Stream me a short greeting, token by token."
echo
echo "== The agent path: Agent Client Protocol over stdio (contenox acp), as Zed or JetBrains speak it"
python3 scripts/acp_session.py "$BIN" "Hello from an ACP client."
echo "== done"
