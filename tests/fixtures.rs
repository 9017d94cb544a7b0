//! Every fixture project (`fixtures/demo`, `fixtures/rules/*`) must produce exactly the diagnostics
//! listed in its `EXPECTED` file, and the matching exit status.

mod common;

use std::path::{Path, PathBuf};

use common::{check_project, subdirs, tl};

fn fixture_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut dirs = vec![root.join("demo"), root.join("rust-service")];
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
        if let Err(e) = check_project(dir, &name) {
            failures.push(e);
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
