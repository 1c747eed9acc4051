#!/usr/bin/env bash
# Pinned developer tools, installed into the project venv (.venv) on first use and reused
# afterwards. Source this file; it defines functions only.
#
#   cargo-lambda   builds the functions; its PyPI package brings zig (ziglang), the linker
#                  for cross-compiling to arm64 Lambda without Docker
#   cfn-lint       lints template.yaml offline. 1.53.x is the last line that expands the SAM
#                  transform (aws-sam-translator) before linting, so it also checks the
#                  generated roles, policies and permissions; 1.54+ only schema-checks SAM.
#   aws-sam-cli    `sam validate --lint`: SAM CLI's own offline transform and lint. Its own
#                  venv ($VENV/sam), since it pins dependencies that moto and cfn-lint share.

CARGO_LAMBDA_VERSION="1.9.2"
CFN_LINT_VERSION="1.53.3"
SAM_CLI_VERSION="1.170.0"
LAMBDA_TARGET="aarch64-unknown-linux-gnu"
: "${VENV:=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv}"

_tools_pip_pinned() { # package version executable
    local pkg="$1" version="$2" exe="$3"
    if [[ -x "$VENV/bin/$exe" ]] && "$VENV/bin/python" -c "import sys
from importlib.metadata import version
sys.exit(0 if version('$pkg') == '$version' else 1)" 2>/dev/null; then
        return 0
    fi
    [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
    echo "tools: installing $pkg==$version into $VENV" >&2
    "$VENV/bin/python" -m pip install --quiet --no-cache-dir "$pkg==$version"
}

tools_install_cargo_lambda() { _tools_pip_pinned cargo-lambda "$CARGO_LAMBDA_VERSION" cargo-lambda; }
tools_install_cfn_lint() { _tools_pip_pinned cfn-lint "$CFN_LINT_VERSION" cfn-lint; }
tools_install_sam_cli() { VENV="$VENV/sam" _tools_pip_pinned aws-sam-cli "$SAM_CLI_VERSION" sam; }

# The Rust standard library for arm64 Lambda (provided.al2023, Graviton).
tools_install_lambda_target() {
    if rustup target list --installed 2>/dev/null | grep -qx "$LAMBDA_TARGET"; then
        return 0
    fi
    command -v rustup >/dev/null || { echo "tools: rustup is required to add $LAMBDA_TARGET" >&2; return 1; }
    echo "tools: adding Rust target $LAMBDA_TARGET" >&2
    rustup target add "$LAMBDA_TARGET"
}

# Everything `cargo lambda build --release --arm64` and `sam build` need; afterwards put
# "$VENV/bin" on PATH so `cargo lambda` (and the zig it brings) are found.
tools_install_release_build() { tools_install_cargo_lambda && tools_install_lambda_target; }
