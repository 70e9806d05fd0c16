#!/usr/bin/env bash
# Installs what building and testing contenox needs on a fresh Debian machine, only when it is missing.
# Usage: scripts/deps.sh [--editors]   (--editors also installs vim, neovim and emacs-nox for the editor tests)
set -euo pipefail

need=(pkg-config libjansson-dev libcurl4-openssl-dev libssl-dev libsqlite3-dev)
if [[ "${1:-}" == "--editors" ]]; then need+=(vim neovim emacs-nox); fi

missing=()
for pkg in "${need[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
    echo "deps: installing ${missing[*]}" >&2
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# botocore is the stand-in's signature checker and the tests' independent oracle; boto3 is the benchmark's peer;
# pygls and python-lsp-jsonrpc are JSON-RPC clients nobody here wrote, which the client tests drive the server with;
# awscrt (botocore[crt]) is what botocore's `aws login` provider and the stand-in's sign-in fake use for P-256;
# agent-client-protocol is the official ACP SDK, the client Tests/ACP drives `contenox acp` with.
if ! python3 -c 'import botocore, boto3, pytest, pygls, pylsp_jsonrpc, awscrt, acp' 2>/dev/null; then
    echo "deps: installing botocore boto3 pytest pygls python-lsp-jsonrpc awscrt agent-client-protocol with pip" >&2
    python3 -m pip install --quiet botocore boto3 pytest pygls python-lsp-jsonrpc awscrt 'agent-client-protocol>=0.12.1'
fi
if ! command -v swift >/dev/null; then
    echo "deps: swift is not on PATH; install the Swift 6.3 toolchain (https://www.swift.org/install/linux/)" >&2
    exit 1
fi
