#!/usr/bin/env bash
# Enumeration timing: forgot-password latency for known vs unknown people, side by side,
# with two-sample statistics. Starts its own emulator and stops it afterwards.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/emulator.sh
emulator_venv
name="bench-enum-$$"
trap 'emulator_stop "$name"' EXIT
export RESETKIT_TEST_ENDPOINT="$(emulator_start "$name")"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
cargo run --quiet -p resetkit-integration --example enumeration | grep -v '"_aws"'
