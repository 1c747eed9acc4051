#!/usr/bin/env bash
# The bounded property-based API run: schemathesis (pinned, installed into .venv/schemathesis
# on first use) against the three functions served over loopback HTTP on the AWS emulator.
#
#   bash scripts/schemathesis.sh [SECONDS]     # default 90; needs RESETKIT_TEST_ENDPOINT,
#                                              # which scripts/test.sh sets (it runs this)
#
# Checks: no 5xx, and every answer conforms to openapi.yaml (status, content type, headers,
# body). Configuration: tests/schemathesis/schemathesis.toml. The run itself is the ignored
# test `schemathesis` in tests/tests/api/schemathesis.rs, which serves the functions.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SCHEMATHESIS_VERSION="4.32.5"
venv=".venv/schemathesis"
if ! "$venv/bin/python" -c "import sys; from importlib.metadata import version; sys.exit(version('schemathesis') != '$SCHEMATHESIS_VERSION')" 2>/dev/null; then
    echo "schemathesis: installing schemathesis==$SCHEMATHESIS_VERSION into $venv" >&2
    "${PYTHON:-python3}" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --no-cache-dir "schemathesis==$SCHEMATHESIS_VERSION"
fi

: "${RESETKIT_TEST_ENDPOINT:?start the emulator first (scripts/test.sh does): scripts/emulator.sh start, then export RESETKIT_TEST_ENDPOINT}"
export RESETKIT_SCHEMATHESIS="$PWD/$venv/bin/schemathesis"
export RESETKIT_SCHEMATHESIS_SECONDS="${1:-${RESETKIT_SCHEMATHESIS_SECONDS:-90}}"
# --workspace, as scripts/test.sh builds it: the same features, so nothing is rebuilt.
test_name="schemathesis::schemathesis_finds_no_server_error_and_no_answer_outside_openapi_yaml"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --test api -- --ignored --exact "$test_name" --nocapture 2>&1 | tee "$log" || status=$?
[[ "$status" == 0 ]] || exit "$status"
# The filter selects by exact name: a renamed test would select nothing and cargo would
# still exit 0. Exactly one test must have run and passed.
if ! grep -qE '^test result: ok\. 1 passed; 0 failed' "$log"; then
    echo "schemathesis: no test named $test_name ran (renamed?); the property-based run did not happen" >&2
    exit 1
fi
