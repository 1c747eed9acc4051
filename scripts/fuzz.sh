#!/usr/bin/env bash
# cargo-fuzz targets for every parser a request reaches (fuzz/fuzz_targets/):
#
#   bash scripts/fuzz.sh                 # every target, 600 s each, one after another
#   bash scripts/fuzz.sh email phone     # only these
#   FUZZ_SECONDS=60 bash scripts/fuzz.sh # shorter
#   bash scripts/fuzz.sh --list          # the targets
#
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`; installed on first use). libFuzzer
# wants nightly-only rustc flags: on a stable toolchain this sets RUSTC_BOOTSTRAP=1 for the
# fuzz build only (fuzz/ is its own workspace, never built by `cargo test --workspace`).
# One job, one worker: the machines have two cores. The corpus grows in fuzz/corpus/<target>
# and is minimised afterwards (commit it); a crash lands in fuzz/artifacts/<target>/ and
# makes this script exit non-zero: turn it into a regression test in fuzz/tests or tests/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
export RUSTC_BOOTSTRAP=1
seconds="${FUZZ_SECONDS:-600}"
cd fuzz
mapfile -t all < <(cargo fuzz list)
if [[ "${1:-}" == "--list" ]]; then printf '%s\n' "${all[@]}"; exit 0; fi
targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=("${all[@]}")

# -s none: safe Rust needs no AddressSanitizer, and without it the runs are several times
# faster; debug assertions stay on, so arithmetic overflow is a crash.
cargo fuzz build -s none --debug-assertions
logs="${CARGO_TARGET_DIR:-target}"
mkdir -p "$logs"
status=0
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "fuzz: $t for ${seconds} s" >&2
    if ! cargo fuzz run -s none --debug-assertions "$t" "corpus/$t" -- \
        -max_total_time="$seconds" -jobs=1 -workers=1 -max_len=20000 -timeout=10 -rss_limit_mb=4096 \
        -print_final_stats=1 2>"$logs/$t.log"; then
        cat fuzz-0.log >>"$logs/$t.log" 2>/dev/null || true
        echo "fuzz: $t FAILED; see $logs/$t.log and fuzz/artifacts/$t/" >&2
        tail -40 "$logs/$t.log" >&2
        status=1
        continue
    fi
    # With -jobs, libFuzzer logs the job to fuzz-0.log.
    cat fuzz-0.log >>"$logs/$t.log" 2>/dev/null && rm -f fuzz-0.log
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$logs/$t.log" | sed "s/^/fuzz: $t /" >&2
    cargo fuzz cmin -s none --debug-assertions "$t" "corpus/$t" >/dev/null 2>&1 || true
    echo "fuzz: $t done, corpus $(ls "corpus/$t" | wc -l) inputs" >&2
done
exit "$status"
