#!/usr/bin/env bash
# Pinned developer tools, installed into the project venv (.venv) on first use and reused
# afterwards. Source this file; it defines functions only.

CARGO_LAMBDA_VERSION="1.9.2"
CFN_LINT_VERSION="1.51.0"
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
    "$VENV/bin/python" -m pip install --quiet "$pkg==$version"
}

tools_install_cargo_lambda() { _tools_pip_pinned cargo-lambda "$CARGO_LAMBDA_VERSION" cargo-lambda; }
tools_install_cfn_lint() { _tools_pip_pinned cfn-lint "$CFN_LINT_VERSION" cfn-lint; }
