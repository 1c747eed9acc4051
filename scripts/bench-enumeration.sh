#!/usr/bin/env bash
# Enumeration timing, on the release build, with two-sample statistics: forgot-password
# latency for known vs unknown people, and confirm latency of a wrong guess by EmailAddress
# for an unknown address, a known person without a code and one with a live code. Starts
# its own emulator and stops it afterwards; writes docs/enumeration.md (ENUM_OUT) and prints
# it. scripts/bench.sh runs it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/emulator.sh
emulator_venv
out="${ENUM_OUT:-docs/enumeration.md}"
target="${CARGO_TARGET_DIR:-target}"
# --workspace, as every other build here: the same features, so nothing is rebuilt twice.
cargo build --release --workspace --example enumeration --example confirm_enumeration
# What the document says of the build: the release profile, or what the environment changed.
build="release build"
if [[ -n "${CARGO_PROFILE_RELEASE_LTO:-}${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-}" ]]; then
    build="release build with CARGO_PROFILE_RELEASE_LTO=${CARGO_PROFILE_RELEASE_LTO:-fat} CARGO_PROFILE_RELEASE_CODEGEN_UNITS=${CARGO_PROFILE_RELEASE_CODEGEN_UNITS:-1}"
fi
name="bench-enum-$$"
trap 'emulator_stop "$name"' EXIT
export RESETKIT_TEST_ENDPOINT="$(emulator_start "$name")"
export AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
forgot="$("$target/release/examples/enumeration" | grep -v '"_aws"')"
confirm="$("$target/release/examples/confirm_enumeration" | grep -v '"_aws"')"
{
    echo "# Enumeration timing"
    echo
    echo "Produced by \`bash scripts/bench-enumeration.sh\` (run by \`scripts/bench.sh\`): the production wiring on moto server, $build, $(nproc) cores, $(date -u '+%Y-%m-%d %H:%M UTC')."
    echo
    echo "With 200 samples a group, p99 is the second-slowest answer: one slow answer moves it by several percent, which is why the rank statistics (Mann–Whitney, Kolmogorov–Smirnov) are printed beside it."
    echo
    echo "## Forgot password: known vs unknown person"
    echo
    echo "The forgot-password function alone, from request to answer (its handler over the real SDK clients): it authenticates, counts the key and address limits, reads the body and queues the job, whoever is named; there is no response floor. The courier's lookup, limits, issuing and sending happen afterwards in another function and are not part of the answer. After the timed requests the courier drains the queue once, and the last line checks that every known person was sent their link. Both groups make the same AWS calls on this path (the key, its limits, one SendMessage), so whatever difference remains is jitter of the emulator and the shared machine, from run to run either way."
    echo
    echo '```'
    echo "$forgot"
    echo '```'
    echo
    echo "## Confirm: a wrong guess by EmailAddress"
    echo
    echo '```'
    echo "$confirm"
    echo '```'
} >"$out"
cat "$out"
