#!/usr/bin/env bash
# Runs the editor glue headless in the real editors (Vim 9, Neovim, Emacs). Each editor script writes a
# verdict file and quits; a hard timeout keeps a stuck editor from hanging the run. Prints one line
# per scenario and "N passed, N failed"; exits non-zero on any failure.
#
# CONTENOX_REAL=1: against `contenox serve` and the local Bedrock stand-in (tools/standin), with a
#   backend added through the CLI in a temporary CONTENOX_HOME. CONTENOX_BIN is the server command
#   (default: "<repo>/.build/debug/contenox serve").
# Otherwise: against tests/fake_server.py (CONTENOX_BIN overrides it), which needs no Swift build.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=$(mktemp -d)
standin_pid=""
cleanup() { [[ -n "$standin_pid" ]] && kill "$standin_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export HOME="$work"

if [[ "${CONTENOX_REAL:-0}" == 1 ]]; then
    # The real server in front of the local Bedrock stand-in, configured through its own CLI in a
    # temporary CONTENOX_HOME.
    server_cmd=${CONTENOX_BIN:-"$repo/.build/debug/contenox serve"}
    binary=${server_cmd%% *}
    [[ -x "$binary" ]] || { echo "run.sh: $binary is not built (swift build)" >&2; exit 1; }
    python3 "$repo/tools/standin/standin.py" --port 0 --port-file "$work/port" 2>"$work/standin.log" &
    standin_pid=$!
    for _ in $(seq 100); do [[ -s "$work/port" ]] && break; sleep 0.1; done
    [[ -s "$work/port" ]] || { echo "run.sh: the stand-in did not start" >&2; exit 1; }
    export CONTENOX_HOME="$work/home" AWS_EC2_METADATA_DISABLED=true
    export AWS_ACCESS_KEY_ID=AKIASTANDINEXAMPLE AWS_SECRET_ACCESS_KEY=standinSecretKey/EXAMPLEKEY
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_BEARER_TOKEN_BEDROCK
    "$binary" backend add standin --type bedrock --url "http://127.0.0.1:$(cat "$work/port")" \
        --region us-east-1 >/dev/null || exit 1
    "$binary" config set default-provider standin >/dev/null || exit 1
    "$binary" config set default-model amazon.nova-lite-v1:0 >/dev/null || exit 1
    echo "run.sh: the real server ($server_cmd) and the stand-in on port $(cat "$work/port")"
else
    # The throwaway fake in this directory, which answers as the real server and stand-in do.
    server_cmd=${CONTENOX_BIN:-"python3 $here/fake_server.py serve"}
    echo "run.sh: the fake server ($server_cmd); CONTENOX_REAL=1 runs against contenox serve"
fi
export CONTENOX_TEST_CMD="$server_cmd"

passed=0
failed=0
run_editor() {
    local name=$1; shift
    local verdict="$work/$name.verdict"
    export CONTENOX_TEST_VERDICT="$verdict"
    : >"$verdict"
    if ! command -v "$1" >/dev/null; then
        echo "FAIL $name: $1 is not installed"; failed=$((failed + 1)); return
    fi
    timeout 60 "$@" >"$work/$name.out" 2>&1
    local status=$?
    if [[ ! -s "$verdict" ]]; then
        echo "FAIL $name: no verdict (exit $status)"; sed 's/^/    /' "$work/$name.out" | tail -20
        failed=$((failed + 1)); return
    fi
    while IFS= read -r line; do
        echo "$line"
        case "$line" in
            PASS*) passed=$((passed + 1)) ;;
            *) failed=$((failed + 1)) ;;
        esac
    done <"$verdict"
}

run_editor nvim nvim --headless -u NONE -i NONE -n --cmd "set rtp^=$repo/editor-clients/nvim" \
    -c "luafile $here/test.lua"
run_editor vim vim -Nu NONE -i NONE -n -es --cmd "set rtp^=$repo/editor-clients/vim" -S "$here/test.vim"
run_editor emacs emacs --batch -Q -L "$repo/editor-clients/emacs" -l "$here/test.el"
run_editor emacs-lint emacs --batch -Q -L "$repo/editor-clients/emacs" -l "$here/lint.el"

echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
