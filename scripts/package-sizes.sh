#!/usr/bin/env bash
# Builds the three functions as Lambda would run them (arm64, release, one zip each) and
# prints each zip's size against the 4 MB budget per function (decimal: 4,000,000 bytes).
#
#   bash scripts/package-sizes.sh
#
# On first use installs what cross-compiling needs (pinned cargo-lambda with zig into
# .venv, and the aarch64 Rust target). One cargo invocation builds all three. Exits 1 when
# a zip is over budget. The zips are left in target/lambda/<function>/bootstrap.zip.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
# shellcheck source=scripts/tools.sh
source scripts/tools.sh
tools_install_release_build
export PATH="$VENV/bin:$PATH"

FUNCTIONS=(guest-reset forgot-password password-confirm)
BUDGET=4000000  # target: ≤ 4 MB per function
OUT=target/lambda

packages=()
for f in "${FUNCTIONS[@]}"; do packages+=(-p "$f"); done
cargo lambda build --release --arm64 --output-format zip --lambda-dir "$OUT" "${packages[@]}"

status=0
printf '%-18s %12s %9s\n' function "zip bytes" MB
for f in "${FUNCTIONS[@]}"; do
    zip="$OUT/$f/bootstrap.zip"
    [[ -f "$zip" ]] || { echo "missing $zip" >&2; status=1; continue; }
    bytes=$(stat -c %s "$zip")
    mark=""
    if ((bytes > BUDGET)); then mark="  over the 4 MB budget"; status=1; fi
    printf '%-18s %12d %9s%s\n' "$f" "$bytes" "$(awk -v b="$bytes" 'BEGIN { printf "%.2f", b / 1000000 }')" "$mark"
done
exit "$status"
