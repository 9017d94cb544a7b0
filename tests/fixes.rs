//! Autofix fixtures (`fixtures/fixes/<case>/`) and the editor on-save round trip, through the real
//! binary.
//!
//! For every case and both modes (`--fix`, then `--fix --unsafe-fixes`), on a fresh temporary copy:
//!
//! 1. the fixed files equal their `<file>.expected` (unsafe mode: `<file>.expected-unsafe` when it
//!    exists, else `<file>.expected`) byte for byte, and every other file is left untouched;
//! 2. every fixed file still parses (`--select TEN900` reports nothing);
//! 3. a re-check reports no diagnostic with a fix that the mode applies;
//! 4. a second `--fix` changes nothing;
//! 5. `--diff` on another fresh copy writes nothing, exits 1 exactly when there is something to
//!    change, and its output, applied with `patch -p1`, gives exactly the `--fix` result;
//! 6. `--fix --stdin-filename <file>` with the original source on stdin prints exactly the
//!    expected source.
//!
//! See `fixtures/fixes/README.md` for the layout and how to add a case.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

/// Cases (or single modes of a case: `case/safe`, `case/unsafe`) where the engine is known to be
/// wrong: the fixture holds the correct expectation and the case is skipped (and named in the
/// test output) until the engine is fixed. Set `TENANTLINT_RUN_KNOWN_BROKEN=1` to run them anyway.
const KNOWN_BROKEN: &[&str] = &[];

const EXPECTED: &str = ".expected";
const EXPECTED_UNSAFE: &str = ".expected-unsafe";

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join("fixes")
}

fn tenantlint() -> Command {
    let mut cmd = Command::cargo_bin("tenantlint").expect("the tenantlint binary");
    cmd.env("NO_COLOR", "1");
    cmd
}

fn is_expectation(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(EXPECTED) || name.ends_with(EXPECTED_UNSAFE)
}

/// Every file below `dir`, relative to it (forward slashes), with its bytes.
fn read_tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        let mut entries: Vec<_> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p
                    .strip_prefix(root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// A fresh copy of a case (without its expectation files) in a temporary directory.
fn copy_case(case: &str) -> tempfile::TempDir {
    let src = fixtures().join(case);
    assert!(src.is_dir(), "no fixture directory {}", src.display());
    let tmp = tempfile::Builder::new()
        .prefix("tenantlint-fix-")
        .tempdir()
        .unwrap();
    for (rel, bytes) in read_tree(&src) {
        if is_expectation(Path::new(&rel)) {
            continue;
        }
        let dst = tmp.path().join(&rel);
        fs::create_dir_all(dst.parent().unwrap()).unwrap();
        fs::write(dst, bytes).unwrap();
    }
    tmp
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Safe,
    Unsafe,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Safe => "safe",
            Mode::Unsafe => "unsafe",
        }
    }
    fn args(self) -> &'static [&'static str] {
        match self {
            Mode::Safe => &[],
            Mode::Unsafe => &["--unsafe-fixes"],
        }
    }
}

struct UnderTest {
    rel: String,
    original: Vec<u8>,
    expected: Vec<u8>,
}

/// The files under test of a case (those with a `.expected` next to them) and what `mode` must
/// turn them into.
fn files_under_test(case: &str, mode: Mode) -> Vec<UnderTest> {
    let tree = read_tree(&fixtures().join(case));
    let mut out = Vec::new();
    for (rel, bytes) in &tree {
        let Some(src) = rel.strip_suffix(EXPECTED) else {
            continue;
        };
        let original = tree
            .get(src)
            .unwrap_or_else(|| panic!("{case}: {rel} has no input file {src}"))
            .clone();
        let unsafe_expected = tree.get(&format!("{src}{EXPECTED_UNSAFE}"));
        let expected = match (mode, unsafe_expected) {
            (Mode::Unsafe, Some(u)) => u.clone(),
            _ => bytes.clone(),
        };
        out.push(UnderTest {
            rel: src.to_string(),
            original,
            expected,
        });
    }
    for rel in tree.keys() {
        if let Some(src) = rel.strip_suffix(EXPECTED_UNSAFE) {
            assert!(
                tree.contains_key(&format!("{src}{EXPECTED}")),
                "{case}: {rel} without {src}{EXPECTED}"
            );
        }
    }
    assert!(!out.is_empty(), "{case}: no `<file>.expected` in the case");
    out
}

/// A readable line diff, with control characters (CR, tabs, BOM) made visible.
fn show_diff(expected: &[u8], actual: &[u8]) -> String {
    let e = String::from_utf8_lossy(expected);
    let a = String::from_utf8_lossy(actual);
    let diff = similar::TextDiff::from_lines(e.as_ref(), a.as_ref());
    let mut s = String::from("--- expected\n+++ actual\n");
    for change in diff.iter_all_changes() {
        let sign = match change.tag() {
            similar::ChangeTag::Delete => '-',
            similar::ChangeTag::Insert => '+',
            similar::ChangeTag::Equal => ' ',
        };
        s.push(sign);
        s.push_str(&format!("{:?}\n", change.value()));
    }
    s
}

fn assert_bytes(what: &str, expected: &[u8], actual: &[u8]) {
    if expected != actual {
        panic!(
            "{what}: output differs from the expectation\n{}",
            show_diff(expected, actual)
        );
    }
}

fn json_diagnostics(out: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(out);
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(a)) => a,
        _ => panic!("not a JSON array:\n{text}"),
    }
}

fn output_text(o: &std::process::Output) -> String {
    format!(
        "exit: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn assert_no_engine_trouble(what: &str, o: &std::process::Output) {
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        !stderr.contains("panicked")
            && !stderr.contains("does not parse")
            && !stderr.contains("warning:"),
        "{what}: the engine reported trouble\n{}",
        output_text(o)
    );
    assert!(
        matches!(o.status.code(), Some(0 | 1)),
        "{what}: unexpected exit status\n{}",
        output_text(o)
    );
}

fn run_fix(dir: &Path, mode: Mode) -> std::process::Output {
    tenantlint()
        .current_dir(dir)
        .args(["check", "--fix", "--no-cache"])
        .args(mode.args())
        .arg(".")
        .output()
        .unwrap()
}

fn check_mode(case: &str, mode: Mode) {
    let what = format!("{case} ({} fixes)", mode.name());
    let files = files_under_test(case, mode);

    // 1. --fix gives exactly the expectation; other files are untouched.
    let tmp = copy_case(case);
    let before = read_tree(tmp.path());
    let o = run_fix(tmp.path(), mode);
    assert_no_engine_trouble(&format!("{what}: --fix"), &o);
    let after = read_tree(tmp.path());
    for f in &files {
        assert_bytes(&format!("{what}: {}", f.rel), &f.expected, &after[&f.rel]);
    }
    for (rel, bytes) in &before {
        if files.iter().all(|f| &f.rel != rel) {
            assert_bytes(
                &format!("{what}: {rel} is not under test and must not change"),
                bytes,
                &after[rel],
            );
        }
    }
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        after.keys().collect::<Vec<_>>(),
        "{what}: --fix created or removed files"
    );

    // 2. Every fixed file parses.
    for f in &files {
        let o = tenantlint()
            .current_dir(tmp.path())
            .args([
                "check",
                "--no-cache",
                "--select",
                "TEN900",
                "--output-format",
                "json",
                &f.rel,
            ])
            .output()
            .unwrap();
        let diags = json_diagnostics(&o.stdout);
        assert!(
            diags.is_empty(),
            "{what}: {} does not parse after --fix: {diags:#?}",
            f.rel
        );
    }

    // 3. Nothing the mode would fix is left.
    let o = tenantlint()
        .current_dir(tmp.path())
        .args(["check", "--no-cache", "--output-format", "json", "."])
        .output()
        .unwrap();
    for d in json_diagnostics(&o.stdout) {
        let applicability = d["fix"]["applicability"].as_str();
        let left = match mode {
            Mode::Safe => applicability == Some("safe"),
            Mode::Unsafe => applicability.is_some(),
        };
        assert!(
            !left,
            "{what}: a fixable diagnostic remains after --fix:\n{d:#}"
        );
    }

    // 4. A second --fix changes nothing.
    let o = run_fix(tmp.path(), mode);
    assert_no_engine_trouble(&format!("{what}: second --fix"), &o);
    let again = read_tree(tmp.path());
    for (rel, bytes) in &after {
        assert_bytes(
            &format!("{what}: second --fix changed {rel}"),
            bytes,
            &again[rel],
        );
    }

    // 5. --diff writes nothing, and its patch gives the --fix result.
    let fresh = copy_case(case);
    let before = read_tree(fresh.path());
    let o = tenantlint()
        .current_dir(fresh.path())
        .args(["check", "--diff", "--no-cache"])
        .args(mode.args())
        .arg(".")
        .output()
        .unwrap();
    assert_eq!(
        read_tree(fresh.path()),
        before,
        "{what}: --diff wrote files"
    );
    let changes = files.iter().any(|f| f.original != f.expected);
    assert_eq!(
        o.status.code(),
        Some(if changes { 1 } else { 0 }),
        "{what}: --diff exit status\n{}",
        output_text(&o)
    );
    if !changes {
        assert!(
            o.stdout.iter().all(|b| b.is_ascii_whitespace()),
            "{what}: --diff printed a diff for no change\n{}",
            output_text(&o)
        );
    } else if patch_available() {
        let patch_file = tempfile::NamedTempFile::new().unwrap();
        fs::write(patch_file.path(), &o.stdout).unwrap();
        let p = std::process::Command::new("patch")
            .current_dir(fresh.path())
            .args([
                "-p1",
                "--binary",
                "--no-backup-if-mismatch",
                "--batch",
                "-i",
            ])
            .arg(patch_file.path())
            .output()
            .unwrap();
        assert!(
            p.status.success(),
            "{what}: the --diff output does not apply with patch -p1:\n{}\n--- diff\n{}",
            output_text(&p),
            String::from_utf8_lossy(&o.stdout)
        );
        let patched = read_tree(fresh.path());
        for (rel, bytes) in &after {
            assert_bytes(
                &format!("{what}: --diff applied with patch vs --fix, {rel}"),
                bytes,
                &patched[rel],
            );
        }
    } else {
        eprintln!("{what}: `patch` not found, the --diff output was not applied");
    }

    // 6. Editor on-save: the fixed source on stdout.
    let pristine = copy_case(case);
    let pristine_before = read_tree(pristine.path());
    for f in &files {
        let o = tenantlint()
            .current_dir(pristine.path())
            .args(["check", "--fix", "--no-cache", "--stdin-filename", &f.rel])
            .args(mode.args())
            .write_stdin(f.original.clone())
            .output()
            .unwrap();
        assert_no_engine_trouble(&format!("{what}: --stdin-filename {}", f.rel), &o);
        assert_bytes(
            &format!("{what}: stdout of --fix --stdin-filename {}", f.rel),
            &f.expected,
            &o.stdout,
        );
    }
    assert_eq!(
        read_tree(pristine.path()),
        pristine_before,
        "{what}: --stdin-filename wrote files"
    );
}

fn patch_available() -> bool {
    std::process::Command::new("patch")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn known_broken(case: &str, mode: Mode) -> bool {
    if std::env::var_os("TENANTLINT_RUN_KNOWN_BROKEN").is_some_and(|v| !v.is_empty()) {
        return false;
    }
    let key = format!("{case}/{}", mode.name());
    KNOWN_BROKEN.iter().any(|k| *k == case || *k == key)
}

fn run_case(case: &str) {
    for mode in [Mode::Safe, Mode::Unsafe] {
        if known_broken(case, mode) {
            eprintln!(
                "KNOWN BROKEN, skipped: {case} ({} fixes) -- see KNOWN_BROKEN in tests/fixes.rs",
                mode.name()
            );
            println!("KNOWN BROKEN, skipped: {case} ({} fixes)", mode.name());
            continue;
        }
        check_mode(case, mode);
    }
}

macro_rules! cases {
    ($($name:ident),* $(,)?) => {
        const CASES: &[&str] = &[$(stringify!($name)),*];
        $(
            #[test]
            fn $name() {
                run_case(stringify!($name));
            }
        )*
    };
}

cases! {
    ten101_multiline_docstring,
    ten101_module_docstring,
    ten101_future_import,
    ten101_parenthesized_import,
    ten101_tabs,
    ten101_crlf,
    ten101_bom,
    ten101_no_final_newline,
    ten101_one_line_bodies,
    ten101_leading_comments,
    ten101_nested_classes,
    ten101_existing_alias_import,
    ten101_import_module_form,
    ten101_from_package_import_module,
    ten101_several_models,
    ten101_plain_manager,
    ten101_custom_manager,
    ten301_supported_only,
    ten301_unsupported_method,
    ten301_alias,
    ten301_cache_and_caches,
    ten301_function_local_import,
    ten301_imports_fill_a_block,
    ten301_caches_subscript,
    ten301_tenant_cache_alias,
    ten301_noqa,
    mixed_safe_unsafe,
    ten401_wrap_rest,
    ten401_crlf_tabs,
    ten101_cr_only,
    ten301_mixed_line_endings,
    ten401_cr_only_no_final_newline,
    ten401_backslash_line_in_rest,
    ten401_backslash_after_last_statement,
    ten401_clearer_from_star_import,
    ten401_clearer_alias_imported_below,
    ten401_form_feed_in_rest,
    ten101_form_feed_indent,
    ten101_rebound_alias,
    ten101_backslash_continuation,
    ten101_docstring_after_backslash,
    ten101_coding_comment_cr_only,
    ten101_coding_comment_above_import,
    ten101_comment_like_coding_on_line_2,
    ten101_backslash_line_before_body,
    ten101_indented_backslash_line_before_body,
    ten101_class_on_a_continued_line,
    ten301_coding_comment_after_import,
    ten301_coding_comment_cr_only,
    ten301_two_sites_two_imports,
    ten301_backslash_and_block_import,
    ten902_unused_noqa,
}

#[test]
fn every_fixture_directory_has_a_test() {
    let mut dirs: Vec<String> = fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut listed: Vec<String> = CASES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(
        dirs, listed,
        "fixtures/fixes/ and the cases! list in tests/fixes.rs disagree"
    );
    for k in KNOWN_BROKEN {
        let case = k.split('/').next().unwrap();
        assert!(
            CASES.contains(&case),
            "KNOWN_BROKEN names an unknown case: {k}"
        );
    }
    if !KNOWN_BROKEN.is_empty() {
        eprintln!(
            "KNOWN_BROKEN ({}): {}",
            KNOWN_BROKEN.len(),
            KNOWN_BROKEN.join(", ")
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Properties of writing files.

#[cfg(unix)]
#[test]
fn fix_keeps_file_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let tmp = copy_case("ten101_several_models");
    let file = tmp.path().join("app/models.py");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
    let o = run_fix(tmp.path(), Mode::Safe);
    assert_no_engine_trouble("--fix", &o);
    let expected =
        fs::read(fixtures().join("ten101_several_models/app/models.py.expected")).unwrap();
    assert_bytes("app/models.py", &expected, &fs::read(&file).unwrap());
    let mode = fs::metadata(&file).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode, 0o640, "--fix changed the permissions to {mode:o}");
    // No temporary files left behind.
    let names: Vec<String> = fs::read_dir(tmp.path().join("app"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.contains("tenantlint") && !n.ends_with(".tmp")),
        "leftover files: {names:?}"
    );
}

#[test]
fn non_utf8_file_is_never_written() {
    // A fixable model in a file CPython would not read as UTF-8 (a Latin-1 declaration, Latin-1
    // with a UTF-8 BOM, `ascii` with non-ASCII bytes, an unknown codec, an ASCII-only file
    // declaring Latin-1): TEN901, and no fix may touch it.
    const BODY: &[u8] = b"from django.db import models\n\nfrom tenancy.models import TenantAwareModel\n\n\nclass Cafe(TenantAwareModel):\n    \"\"\"Caf\xe9.\"\"\"\n    name = models.CharField(max_length=5)\n";
    let ascii_body: Vec<u8> = BODY
        .iter()
        .map(|&b| if b == 0xe9 { b'e' } else { b })
        .collect();
    let utf8_body = String::from_utf8_lossy(&ascii_body).replace("Cafe.", "Caf\u{e9}.");
    let variants: [(&[u8], &[u8]); 5] = [
        (b"# -*- coding: latin-1 -*-\n", BODY),
        (b"\xEF\xBB\xBF# -*- coding: latin-1 -*-\n", BODY),
        (
            b"#!/usr/bin/env python\n# coding: ascii\n",
            utf8_body.as_bytes(),
        ),
        (b"# vim: set fileencoding=klingon :\n", BODY),
        (b"# coding: latin-1\n", &ascii_body),
    ];
    for (head, body) in variants {
        let legacy = [head, body].concat();
        non_utf8_case(&legacy);
    }
}

fn non_utf8_case(legacy: &[u8]) {
    let tmp = copy_case("ten101_several_models");
    let path = tmp.path().join("app/legacy.py");
    fs::write(&path, legacy).unwrap();
    let o = run_fix(tmp.path(), Mode::Unsafe);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert_eq!(
        fs::read(&path).unwrap(),
        legacy,
        "a non-UTF-8 file was written: {}",
        String::from_utf8_lossy(legacy)
    );
    // The other files are still fixed.
    let expected =
        fs::read(fixtures().join("ten101_several_models/app/models.py.expected")).unwrap();
    assert_bytes(
        "app/models.py",
        &expected,
        &fs::read(tmp.path().join("app/models.py")).unwrap(),
    );
    let o = tenantlint()
        .current_dir(tmp.path())
        .args(["check", "--no-cache", "--output-format", "json", "."])
        .output()
        .unwrap();
    let diags = json_diagnostics(&o.stdout);
    assert!(
        diags
            .iter()
            .any(|d| d["code"] == "TEN901" && d["filename"] == "app/legacy.py"),
        "no TEN901 for the Latin-1 file: {diags:#?}"
    );
}

#[test]
fn show_fixes_lists_files_and_counts() {
    let tmp = copy_case("mixed_safe_unsafe");
    let o = tenantlint()
        .current_dir(tmp.path())
        .args(["check", "--fix", "--show-fixes", "--no-cache", "."])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("app/models.py"),
        "--show-fixes does not name the file:\n{}",
        output_text(&o)
    );
    assert!(
        out.contains("1 × TEN101"),
        "--show-fixes does not count TEN101:\n{}",
        output_text(&o)
    );
    assert!(
        out.contains("1 × TEN301"),
        "--show-fixes does not count TEN301:\n{}",
        output_text(&o)
    );
    assert!(
        out.contains("Fixed 2 errors"),
        "--show-fixes total:\n{}",
        output_text(&o)
    );

    let tmp = copy_case("ten101_several_models");
    let o = tenantlint()
        .current_dir(tmp.path())
        .args(["check", "--fix", "--show-fixes", "--no-cache", "."])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("app/models.py") && out.contains("3 × TEN101"),
        "{}",
        output_text(&o)
    );
    assert!(
        !out.contains("tenancy/"),
        "--show-fixes lists a file that was not changed:\n{}",
        output_text(&o)
    );

    // Nothing to fix: says so.
    let o = tenantlint()
        .current_dir(tmp.path())
        .args(["check", "--fix", "--show-fixes", "--no-cache", "."])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        !out.contains("app/models.py"),
        "second run lists a fixed file:\n{}",
        output_text(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// Fix metadata: applicability and messages.

fn diagnostics_of(case: &str, extra: &[&str]) -> Vec<Value> {
    let tmp = copy_case(case);
    let o = tenantlint()
        .current_dir(tmp.path())
        .args(["check", "--no-cache", "--output-format", "json"])
        .args(extra)
        .arg(".")
        .output()
        .unwrap();
    json_diagnostics(&o.stdout)
}

#[test]
fn replacing_a_plain_manager_is_unsafe_and_says_so() {
    let diags = diagnostics_of("ten101_plain_manager", &[]);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    let fix = &diags[0]["fix"];
    assert_eq!(fix["applicability"], "unsafe", "{fix:#}");
    assert!(
        fix["message"].as_str().unwrap().contains("unsafe"),
        "{fix:#}"
    );
}

#[test]
fn custom_manager_gets_no_edit_but_is_told_to_rebase() {
    let diags = diagnostics_of("ten101_custom_manager", &["--unsafe-fixes"]);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert!(
        diags[0]["fix"].is_null(),
        "a custom manager must get no automatic edit: {:#}",
        diags[0]
    );
    let tmp = copy_case("ten101_custom_manager");
    let o = tenantlint()
        .current_dir(tmp.path())
        .args([
            "check",
            "--no-cache",
            "--output-format",
            "full",
            "--color",
            "never",
            ".",
        ])
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("InvoiceManager") && out.contains("inherit from `TenantAwareManager`"),
        "the report does not say to rebase the custom manager:\n{}",
        output_text(&o)
    );
}

#[test]
fn unsupported_cache_methods_get_no_fix_and_are_named() {
    let diags = diagnostics_of("ten301_unsupported_method", &["--unsafe-fixes"]);
    for method in ["delete_many", "keys", "touch"] {
        let d = diags
            .iter()
            .find(|d| {
                d["message"]
                    .as_str()
                    .unwrap_or("")
                    .contains(&format!(".{method}()"))
            })
            .unwrap_or_else(|| panic!("no diagnostic naming `{method}`: {diags:#?}"));
        assert!(
            d["fix"].is_null(),
            "`{method}` is not a tenant cache method and must get no fix: {d:#}"
        );
    }
    let get = diags
        .iter()
        .find(|d| d["message"].as_str().unwrap_or("").contains(".get()"))
        .expect("the get() call");
    assert_eq!(get["fix"]["applicability"], "safe", "{get:#}");
}

#[test]
fn caches_subscript_fix_is_unsafe() {
    let diags = diagnostics_of("ten301_caches_subscript", &[]);
    assert_eq!(diags.len(), 1, "{diags:#?}");
    assert_eq!(diags[0]["fix"]["applicability"], "unsafe", "{:#}", diags[0]);
    assert!(
        diags[0]["fix"]["message"]
            .as_str()
            .unwrap()
            .contains("unsafe"),
        "{:#}",
        diags[0]
    );
}

// ---------------------------------------------------------------------------------------------
// Editor on-save: `--fix --stdin-filename`.

fn stdin_fix(case: &str, filename: &str, input: &[u8], extra: &[&str]) -> std::process::Output {
    let tmp = copy_case(case);
    let before = read_tree(tmp.path());
    let o = tenantlint()
        .current_dir(tmp.path())
        .args(["check", "--fix", "--no-cache", "--stdin-filename", filename])
        .args(extra)
        .write_stdin(input.to_vec())
        .output()
        .unwrap();
    assert_eq!(
        read_tree(tmp.path()),
        before,
        "--stdin-filename wrote files\n{}",
        output_text(&o)
    );
    o
}

#[test]
fn stdin_prints_the_fixed_source_and_diagnostics_on_stderr() {
    let dir = fixtures().join("ten301_unsupported_method");
    let input = fs::read(dir.join("app/services.py")).unwrap();
    let expected = fs::read(dir.join("app/services.py.expected")).unwrap();
    let o = stdin_fix("ten301_unsupported_method", "app/services.py", &input, &[]);
    assert_bytes("stdout", &expected, &o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("TEN301") && stderr.contains("cache.keys()"),
        "remaining diagnostics not on stderr:\n{}",
        output_text(&o)
    );
    assert!(
        stderr.contains("app/services.py"),
        "stderr does not name the file:\n{}",
        output_text(&o)
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "diagnostics remain\n{}",
        output_text(&o)
    );

    // Everything fixed: exit 0, the fixed source, nothing but a summary on stderr.
    let dir = fixtures().join("ten101_several_models");
    let input = fs::read(dir.join("app/models.py")).unwrap();
    let expected = fs::read(dir.join("app/models.py.expected")).unwrap();
    let o = stdin_fix("ten101_several_models", "app/models.py", &input, &[]);
    assert_bytes("stdout", &expected, &o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("TEN101"),
        "{}",
        output_text(&o)
    );
}

#[test]
fn stdin_keeps_crlf_and_bom() {
    for case in ["ten101_crlf", "ten101_bom"] {
        let dir = fixtures().join(case);
        let input = fs::read(dir.join("app/models.py")).unwrap();
        let expected = fs::read(dir.join("app/models.py.expected")).unwrap();
        let o = stdin_fix(case, "app/models.py", &input, &[]);
        assert_bytes(&format!("{case}: stdout"), &expected, &o.stdout);
    }
}

#[test]
fn stdin_unchanged_when_there_is_nothing_to_fix() {
    // Already fixed.
    let dir = fixtures().join("ten101_several_models");
    let input = fs::read(dir.join("app/models.py.expected")).unwrap();
    let o = stdin_fix("ten101_several_models", "app/models.py", &input, &[]);
    assert_bytes("stdout", &input, &o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));

    // A diagnostic without a fix.
    let dir = fixtures().join("ten101_custom_manager");
    let input = fs::read(dir.join("app/models.py")).unwrap();
    let o = stdin_fix("ten101_custom_manager", "app/models.py", &input, &[]);
    assert_bytes("stdout", &input, &o.stdout);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("TEN101"),
        "{}",
        output_text(&o)
    );

    // Only an unsafe fix, not enabled.
    let dir = fixtures().join("ten101_plain_manager");
    let input = fs::read(dir.join("app/models.py")).unwrap();
    let o = stdin_fix("ten101_plain_manager", "app/models.py", &input, &[]);
    assert_bytes("stdout", &input, &o.stdout);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
}

#[test]
fn stdin_unchanged_when_the_input_does_not_parse() {
    // Fixable if it parsed (a tenant model without a manager), but it does not.
    let input = b"from django.db import models\n\nfrom tenancy.models import TenantAwareModel\n\n\nclass Invoice(TenantAwareModel:\n    number = models.CharField(max_length=20)\n";
    let o = stdin_fix("ten101_several_models", "app/models.py", input, &[]);
    assert_bytes("stdout", input, &o.stdout);
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("TEN900"),
        "no TEN900 on stderr:\n{}",
        output_text(&o)
    );
    assert!(!stderr.contains("panicked"), "{}", output_text(&o));
}

#[test]
fn stdin_with_an_excluded_filename_and_force_exclude_echoes_the_input() {
    let dir = fixtures().join("ten101_several_models");
    let input = fs::read(dir.join("app/models.py")).unwrap();
    let o = stdin_fix(
        "ten101_several_models",
        ".venv/lib/models.py",
        &input,
        &["--force-exclude"],
    );
    assert_bytes("stdout", &input, &o.stdout);
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert!(
        !String::from_utf8_lossy(&o.stderr).contains("TEN101"),
        "{}",
        output_text(&o)
    );
}

// ---------------------------------------------------------------------------------------------
// A fix that would break the file.

#[test]
fn a_fix_that_would_break_the_file_leaves_it_untouched() {
    // `manager-import` naming something that is not an identifier makes the TEN101 fix produce
    // `objects = Tenant Aware()`. The engine must notice that the result does not parse, leave the
    // file alone and name the rule. (Rejecting the setting up front as a config error is fine too.)
    let tmp = copy_case("ten101_several_models");
    fs::write(
        tmp.path().join("pyproject.toml"),
        "[project]\nname = \"x\"\n\n[tool.tenantlint]\nmanager-import = \"tenancy.managers.Tenant Aware\"\n",
    )
    .unwrap();
    let file = tmp.path().join("app/models.py");
    let original = fs::read(&file).unwrap();
    let o = run_fix(tmp.path(), Mode::Unsafe);
    assert_eq!(
        fs::read(&file).unwrap(),
        original,
        "a broken fix was written\n{}",
        output_text(&o)
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    if o.status.code() == Some(2) {
        assert!(
            stderr.contains("manager-import"),
            "config error without the key:\n{}",
            output_text(&o)
        );
        return;
    }
    assert_eq!(o.status.code(), Some(1), "{}", output_text(&o));
    assert!(
        stderr.contains("TEN101") && stderr.contains("app/models.py"),
        "the user is not told which rule broke the file:\n{}",
        output_text(&o)
    );
    assert!(!stderr.contains("panicked"), "{}", output_text(&o));

    // --diff: nothing to show, nothing written.
    let o = tenantlint()
        .current_dir(tmp.path())
        .args(["check", "--diff", "--no-cache", "."])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", output_text(&o));
    assert!(
        o.stdout.iter().all(|b| b.is_ascii_whitespace()),
        "{}",
        output_text(&o)
    );
    assert_eq!(fs::read(&file).unwrap(), original);

    // Editor on-save: the input comes back unchanged.
    let o = tenantlint()
        .current_dir(tmp.path())
        .args([
            "check",
            "--fix",
            "--no-cache",
            "--stdin-filename",
            "app/models.py",
        ])
        .write_stdin(original.clone())
        .output()
        .unwrap();
    assert_bytes("stdout", &original, &o.stdout);
    assert_eq!(fs::read(&file).unwrap(), original);
}

/// Inputs the fuzz harness (`tests/fuzz.rs`) found, with the exact fixed text: each broke a
/// property before its fix (a fix that did not parse, or a final newline added).
#[test]
fn fuzz_regressions() {
    // The fixed texts place the new import as isort does (its section and sorted place, the
    // blank lines ruff wants after a new import block).
    let cases: &[(&str, &[u8], &[u8])] = &[
        // The deleted import was the last line of a file without a final newline: the file
        // gained one.
        (
            "app/services.py",
            b"caches[\"default\"].get(\"x\")\nfrom django.core.cache import caches",
            b"from tenancy.cache import tenant_cache\n\ntenant_cache.get(\"x\")",
        ),
        (
            "app/services.py",
            b"caches[\"default\"].get(\"x\")\r\nfrom django.core.cache import caches",
            b"from tenancy.cache import tenant_cache\r\n\r\ntenant_cache.get(\"x\")",
        ),
        (
            "app/services.py",
            b"def load(pk):\n    from django.core.cache import cache\ndef purge():\n    return cache.get(pk)\n    from django.core.cache import cache",
            b"from tenancy.cache import tenant_cache\n\n\ndef load(pk):\n    from django.core.cache import cache\ndef purge():\n    return tenant_cache.get(pk)",
        ),
        // Every name of the import binds the name that goes: no empty `import` is left.
        (
            "app/services.py",
            b"from django.core.cache import cache, cache\ncache.get(\"k\")\n",
            b"from tenancy.cache import tenant_cache\n\ntenant_cache.get(\"k\")\n",
        ),
        // An import that is the only statement of a block: deleting it left the block empty.
        (
            "app/services.py",
            b"if True:\n    from django.core.cache import cache\ncache.get(\"k\")\n",
            b"from tenancy.cache import tenant_cache\n\nif True:\n    pass\ntenant_cache.get(\"k\")\n",
        ),
        // A backslash continuation after the import: the new import went onto the continued line.
        (
            "app/services.py",
            b"from django.core.cache import cache\\\n\ncache.get(\"k\")\n",
            b"from tenancy.cache import tenant_cache\n\ntenant_cache.get(\"k\")\n",
        ),
        // A class body continued after the colon with a backslash is a one-line body.
        (
            "app/models.py",
            b"from tenancy.models import TenantAwareModel\nclass A(TenantAwareModel):\\\n    pass\n",
            b"from tenancy.managers import TenantAwareManager\nfrom tenancy.models import TenantAwareModel\nclass A(TenantAwareModel):\n    objects = TenantAwareManager()\n    pass\n",
        ),
    ];
    for (name, input, expected) in cases {
        let o = stdin_fix("ten301_supported_only", name, input, &["--unsafe-fixes"]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!stderr.contains("please report"), "{stderr}");
        assert_bytes(&String::from_utf8_lossy(input), expected, &o.stdout);
    }
}
