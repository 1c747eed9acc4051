#!/usr/bin/env bash
# Runs every test of the workspace against a fresh AWS emulator (moto server).
#
#   bash scripts/test.sh [extra cargo test arguments]
#
# Creates .venv with the pinned moto on first use, starts moto on a free 127.0.0.1 port,
# installs the reset page test's browser (Debian chromium, pinned playwright-core) when
# missing, runs `cargo test --workspace` once with RESETKIT_TEST_ENDPOINT pointing at it, lints
# template.yaml offline (cfn-lint, sam validate --lint; pinned, installed into .venv on first
# use), runs the bounded schemathesis step (scripts/schemathesis.sh), prints the case counts of
# the OpenAPI check, schemathesis, bad-input corpus and fault matrix and the number of fuzz
# corpus files replayed (tests/tests/api/fuzz_corpus.rs), and always stops moto.
# Exits non-zero when any step failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/emulator.sh
source scripts/emulator.sh

emulator_venv

name="test-$$"
# The fault matrix gets an emulator of its own: it runs under production's time budgets,
# which the rest of the suite's load on one single-threaded emulator would eat.
faults_name="test-faults-$$"
# The load tests flood an emulator with hundreds of connections at once: a third, so that
# no other test waits behind the burst.
load_name="test-load-$$"
status=1
cleanup() {
    local n
    for n in "$name" "$faults_name" "$load_name"; do
        emulator_stop "$n"
        # Keep an emulator's log only when something failed.
        if [[ "$status" == 0 ]]; then rm -f "$EMULATOR_STATE/$n.log"; else echo "emulator log: $EMULATOR_STATE/$n.log" >&2; fi
    done
}
trap cleanup EXIT
trap 'exit 130' INT TERM
endpoint="$(emulator_start "$name")"
faults_endpoint="$(emulator_start "$faults_name")"
load_endpoint="$(emulator_start "$load_name")"

export RESETKIT_TEST_ENDPOINT="$endpoint"
export RESETKIT_FAULT_TEST_ENDPOINT="$faults_endpoint"
export RESETKIT_LOAD_TEST_ENDPOINT="$load_endpoint"
# Dummy credentials and region, so nothing can reach a real account; the tests set the
# endpoint themselves, and instance metadata is never consulted.
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_SESSION_TOKEN=test
export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE

# --- Browser for the reset page test (tests/tests/api/reset_page.rs): Debian's chromium and
# playwright-core as pinned by tests/browser/package-lock.json, installed on first use. The
# test fails (never skips) without them.
if [[ ! -x /usr/bin/chromium ]]; then
    echo "browser: installing Debian's chromium" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
if [[ ! -d tests/browser/node_modules/playwright-core ]]; then
    command -v npm >/dev/null || { echo "browser: node and npm (Node.js 20 or later) are required" >&2; exit 1; }
    echo "browser: npm ci in tests/browser" >&2
    (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)
fi
# --- end of browser.

# --- Case counts of the OpenAPI check, the bad-input corpus, the fault matrix and the fuzz
# corpus replay: those tests append "suite: N what" lines here (cargo hides a passing test's
# output); printed at the end.
export RESETKIT_TEST_REPORT="$EMULATOR_STATE/$name.counts"
rm -f "$RESETKIT_TEST_REPORT"
# --- end of case counts.

status=0
cargo test --workspace "$@" || status=$?

# --- Property-based API run: schemathesis (pinned, .venv/schemathesis) against the three
# functions on loopback HTTP over this emulator, bounded to RESETKIT_SCHEMATHESIS_SECONDS
# (default 90) and 40 examples per operation: no 5xx, every answer per openapi.yaml.
schemathesis_status=0
bash scripts/schemathesis.sh || schemathesis_status=$?
if [[ "$schemathesis_status" != 0 ]]; then
    echo "schemathesis: the property-based run failed (exit $schemathesis_status)" >&2
    [[ "$status" != 0 ]] || status=$schemathesis_status
fi
echo "hostile input, faults, OpenAPI and fuzz corpus — cases run:"
if [[ -s "$RESETKIT_TEST_REPORT" ]]; then sed 's/^/  /' "$RESETKIT_TEST_REPORT"; else echo "  (none recorded)"; fi
rm -f "$RESETKIT_TEST_REPORT"
# --- end of property-based run.

# --- Template lint, offline (scripts/lint-template.sh: cfn-lint, then `sam validate --lint`),
# whatever cargo said.
lint_status=0
bash scripts/lint-template.sh template.yaml || lint_status=$?
if [[ "$lint_status" != 0 ]]; then
    echo "lint: template.yaml failed the lint (exit $lint_status)" >&2
    [[ "$status" != 0 ]] || status=$lint_status
fi
# The lint must bite: a copy of the template with a GetAtt of an attribute the table lacks,
# an error only cfn-lint reports (it expands the SAM transform; `sam validate --lint` lets
# it pass), must fail it.
broken="$EMULATOR_STATE/$name.broken-template.yaml"
sed 's/!GetAtt ApiKeysTable\.Arn$/!GetAtt ApiKeysTable.NoSuchAttribute/' template.yaml >"$broken"
if cmp -s template.yaml "$broken"; then
    echo "lint: could not break the template (no ApiKeysTable.Arn left to mutate)" >&2
    [[ "$status" != 0 ]] || status=1
elif bash scripts/lint-template.sh "$broken" >/dev/null 2>&1; then
    echo "lint: a template with a cfn-lint error passed the lint" >&2
    [[ "$status" != 0 ]] || status=1
else
    echo "lint: a deliberately broken template fails the lint, as it must" >&2
fi
rm -f "$broken"
# --- end of template lint.

exit "$status"
