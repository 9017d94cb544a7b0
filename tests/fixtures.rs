//! Every fixture project (`fixtures/demo`, `fixtures/rules/*`) must produce exactly the diagnostics
//! listed in its `EXPECTED` file, and the matching exit status.

mod common;

use std::path::{Path, PathBuf};

use common::{diff, expected, keys, subdirs, tl};

fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut dirs = vec![root.join("demo")];
    dirs.extend(subdirs(&root.join("rules")));
    dirs
}

#[test]
fn every_fixture_matches_expected() {
    let dirs = fixture_dirs();
    assert!(
        dirs.len() > 10,
        "expected the demo and many rule fixtures, found {}",
        dirs.len()
    );
    let mut failures: Vec<String> = Vec::new();

    for dir in &dirs {
        let name = dir
            .strip_prefix(env!("CARGO_MANIFEST_DIR"))
            .unwrap_or(dir)
            .display()
            .to_string();
        let want = expected(dir);

        // The report, with --exit-zero.
        let out = tl()
            .current_dir(dir)
            .args(["check", "--output-format", "json", "--exit-zero", "."])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        if out.status.code() != Some(0) {
            failures.push(format!(
                "{name}: --exit-zero run exited {:?}\n  stderr: {stderr}",
                out.status.code()
            ));
            continue;
        }
        if stderr.contains("panicked") {
            failures.push(format!("{name}: panic\n  stderr: {stderr}"));
        }
        let got_in_order = keys(&out.stdout);
        let mut got = got_in_order.clone();
        got.sort();
        if got != want {
            let (missing, extra) = diff(&want, &got);
            let mut msg = format!("{name}: diagnostics differ from EXPECTED");
            for l in &missing {
                msg.push_str(&format!("\n  missing: {l}"));
            }
            for l in &extra {
                msg.push_str(&format!("\n  extra:   {l}"));
            }
            if missing.is_empty() && extra.is_empty() {
                msg.push_str(&format!(
                    "\n  (duplicates?) expected {want:?}\n  got {got:?}"
                ));
            }
            failures.push(msg);
        }

        // The exit status without --exit-zero.
        let status = tl()
            .current_dir(dir)
            .args(["check", "--output-format", "json", "."])
            .output()
            .unwrap()
            .status;
        let want_code = if want.is_empty() { 0 } else { 1 };
        if status.code() != Some(want_code) {
            failures.push(format!(
                "{name}: exit status {:?} without --exit-zero, expected {want_code} ({} expected diagnostics)",
                status.code(),
                want.len()
            ));
        }
    }

    assert!(
        failures.is_empty(),
        "{} of {} fixtures failed:\n\n{}\n",
        failures.len(),
        dirs.len(),
        failures.join("\n\n")
    );
}

/// The JSON report is already in the contract's order (filename, row, column, code), so the
/// unsorted lines must equal the sorted ones. Compared against the demo, which spans many files.
#[test]
fn demo_json_is_sorted() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
    let out = tl()
        .current_dir(&dir)
        .args(["check", "--output-format", "json", "--exit-zero"])
        .output()
        .unwrap();
    let items = common::parse_json(&out.stdout);
    let tuples: Vec<(String, u64, u64, String)> = items
        .iter()
        .map(|d| {
            (
                d["filename"].as_str().unwrap().to_string(),
                d["location"]["row"].as_u64().unwrap(),
                d["location"]["column"].as_u64().unwrap(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let mut sorted = tuples.clone();
    sorted.sort();
    assert_eq!(tuples, sorted);
    assert!(!tuples.is_empty());
}
