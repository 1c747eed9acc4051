//! The committed fuzz inputs, replayed on a stable toolchain by a plain `cargo test`: every
//! file in `fuzz/corpus/<target>/`, `fuzz/artifacts/<target>/` (when a run left crashes) and
//! `fuzz/regressions/<target>-*` goes through the same target body the fuzz target runs
//! (`fuzz/src/lib.rs`, module `targets`), decoded from its bytes as libFuzzer's
//! `fuzz_target!` decodes them. A regression found once stays found without cargo-fuzz.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use arbitrary::{Arbitrary, Unstructured};

// The fuzz crate is its own workspace (libFuzzer needs nightly flags); its library, which
// holds the target bodies, compiles here as a module with this crate's dependencies.
#[path = "../../../fuzz/src/lib.rs"]
#[allow(dead_code)]
mod resetkit_fuzz;

use resetkit_fuzz::targets;

/// What `fuzz_target!(|input: T| …)` does with libFuzzer's bytes: too short for `T` or not
/// decodable, the input is skipped (`None`), as the fuzzer skips it.
fn decode<'a, T: Arbitrary<'a>>(bytes: &'a [u8]) -> Option<T> {
    if bytes.len() < T::size_hint(0).0 {
        return None;
    }
    T::arbitrary_take_rest(Unstructured::new(bytes)).ok()
}

/// Feeds `bytes` to the target called `target`; false for an unknown target.
fn replay(target: &str, bytes: &[u8]) -> bool {
    match target {
        "email" => decode(bytes).into_iter().for_each(targets::email),
        "phone" => decode(bytes).into_iter().for_each(targets::phone),
        "search_key_data" => decode(bytes).into_iter().for_each(targets::search_key_data),
        "guest_reset_body" => targets::guest_reset_body(bytes),
        "forgot_password_body" => targets::forgot_password_body(bytes),
        "confirm_body" => targets::confirm_body(bytes),
        "confirm_route" => decode(bytes).into_iter().for_each(targets::confirm_route),
        "handlers" => decode(bytes).into_iter().for_each(targets::handlers),
        _ => return false,
    }
    true
}

/// Every fuzz target, as named in `fuzz/Cargo.toml`.
const TARGETS: [&str; 8] = [
    "email",
    "phone",
    "search_key_data",
    "guest_reset_body",
    "forgot_password_body",
    "confirm_body",
    "confirm_route",
    "handlers",
];

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|e| {
            e.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    files
}

/// The inputs of every target: `(target, file)`.
fn inputs(fuzz: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for target in TARGETS {
        for dir in ["corpus", "artifacts"] {
            out.extend(
                files_in(&fuzz.join(dir).join(target))
                    .into_iter()
                    .map(|f| (target.to_owned(), f)),
            );
        }
    }
    // fuzz/regressions/<target>-crash-<hash>: crashes kept after their fix.
    for file in files_in(&fuzz.join("regressions")) {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let target = TARGETS
            .iter()
            .filter(|t| name.starts_with(&format!("{t}-")))
            .max_by_key(|t| t.len())
            .unwrap_or_else(|| panic!("{name}: no fuzz target of that name"));
        out.push(((*target).to_owned(), file));
    }
    out
}

#[test]
fn every_committed_fuzz_input_passes_its_target_again() {
    // Arrange
    let fuzz = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let inputs = inputs(&fuzz);
    for target in TARGETS {
        assert!(
            inputs.iter().any(|(t, _)| t == target),
            "fuzz/corpus/{target} has no inputs: the replay would prove nothing"
        );
    }

    // Act
    let mut failures = Vec::new();
    for (target, file) in &inputs {
        let bytes = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        match catch_unwind(AssertUnwindSafe(|| replay(target, &bytes))) {
            Ok(true) => {}
            Ok(false) => failures.push(format!("{}: unknown target {target}", file.display())),
            Err(_) => failures.push(format!("{target}: {} (panic above)", file.display())),
        }
    }

    // Assert
    assert!(
        failures.is_empty(),
        "{} of {} fuzz inputs fail their target:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
    crate::report::record(
        "fuzz corpus",
        &format!(
            "committed fuzz inputs replayed through their targets ({} targets: corpus, artifacts, regressions)",
            TARGETS.len()
        ),
        inputs.len(),
    );
}
