#!/usr/bin/env bash
# Confirm timing: wrong guesses by EmailAddress for an unknown address, a known person
# without a code and one with a live code, on a release build over the emulator, with
# two-sample statistics. Starts its own emulator and stops it afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/emulator.sh
emulator_venv
name="bench-confirm-$$"
trap 'emulator_stop "$name"' EXIT
export RESETKIT_TEST_ENDPOINT="$(emulator_start "$name")"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
cargo run --quiet --release -p resetkit-integration --example confirm_enumeration | grep -v '"_aws"'
