//! Fuzz harness: property tests that mutate real files (every `.py` under `fixtures/` plus a few
//! Django-like snippets) and run them through the whole pipeline.
//!
//! Two targets:
//! - `fuzz_check_and_fix_in_memory`: the mutated text is checked and fixed as an editor buffer
//!   (`--fix --unsafe-fixes --stdin-filename`, in process): parse, extract, index, every rule, the
//!   fix loop. No panic; no fix may break the file (the fix loop's safety net must stay silent);
//!   a fixed text parses; fixing the fixed text changes nothing; line endings, final newline,
//!   BOM and coding declaration are kept.
//! - `fuzz_fix_on_disk_and_diff_with_patch`: the mutated bytes (also invalid UTF-8) are written to
//!   a file (mode 0640, hard-linked from outside the project): `--diff`'s patch, applied with the
//!   real `patch`, gives exactly what `--fix` writes; a second `--fix` changes nothing; mode and
//!   the hard link are kept; a file that is not UTF-8 is never written.
//!
//! `cargo test` runs a short, fixed-seed budget. A long run by hand:
//!
//! ```sh
//! TENANTLINT_FUZZ_CASES=20000 cargo test --release --test fuzz -- --nocapture
//! ```
//!
//! With `TENANTLINT_FUZZ_CASES` set the seed is random (printed), unless `TENANTLINT_FUZZ_SEED`
//! fixes it. `TENANTLINT_FUZZ_SECONDS=3600` keeps running batches of that many cases (each with a
//! new random seed, printed) until the time is up, for campaigns measured in hours. A failure prints the smallest failing input proptest could shrink to; keep it as a
//! regression case in `tests/fixes.rs` or `fixtures/fixes/`.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, RngSeed, TestCaseError, TestError, TestRunner};

use tenantlint::check::{self, CheckOptions, FixMode};

// ---- inputs ----

/// Django-like snippets that exercise the fixable rules, used as seeds and spliced into others.
const SNIPPETS: &[&str] = &[
    "from django.db import models\nfrom tenancy.models import TenantAwareModel\n\n\nclass Invoice(TenantAwareModel):\n    \"\"\"Doc.\"\"\"\n    number = models.CharField(max_length=20)\n",
    "class A(TenantAwareModel): pass\n",
    "class B(TenantAwareModel):\n    objects = models.Manager()\n",
    "from django.core.cache import cache\n\n\ndef f(pk):\n    return cache.get(f\"k:{pk}\")\n",
    "def g():\n    from django.core.cache import cache as c\n    c.set(\"a\", 1)\n    c.delete(\"a\")\n",
    "from django.core.cache import caches\ncaches[\"default\"].get(\"x\")\n",
    "from tenancy.context import set_current_tenant, unset_current_tenant\n\n\nclass TenantMiddleware:\n    def __init__(self, get_response):\n        self.get_response = get_response\n\n    def __call__(self, request):\n        set_current_tenant(request.tenant)\n        response = self.get_response(request)\n        return response\n",
    "def process(self, request):\n    set_current_tenant(request.tenant)\n    return self.get_response(request)\n",
    "\"\"\"Module docstring.\"\"\"\nfrom __future__ import annotations\n",
    "# -*- coding: utf-8 -*-\n",
    "if True:\n    pass\n",
    "if True:\n    from django.core.cache import cache\ncache.get(\"k\")\n",
    "class C(TenantAwareModel):\\\n    pass\n",
    "from django.core.cache import cache \\\n\n",
];

/// Text spliced in by mutations.
const INSERTS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ":",
    "\"",
    "'",
    "\"\"\"",
    "\\",
    "#",
    ";",
    ",",
    "\t",
    "    ",
    "é",
    "😀",
    "\u{2028}",
    "\u{feff}",
    "\u{a0}",
    "\r",
    "\n",
    "\r\n",
    "f\"{",
    "lambda: ",
    "async ",
    "await ",
    "*",
    "@",
    "=",
    "pass",
    "class",
    "def",
    "try:",
    "finally:",
    "return",
    "objects = ",
    "cache.",
    "tenant_cache.",
    "set_current_tenant(x)",
    "# noqa",
    "# tenantlint: noqa",
    "\\\n",
    " \\\n",
    "\\\r\n",
    "; ",
    "TenantAwareModel",
    "models.Manager()",
    "from tenancy.cache import tenant_cache\n",
];

#[derive(Clone, Debug)]
enum Mutation {
    FlipByte(Index, u8),
    DeleteByte(Index),
    Insert(Index, &'static str),
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    IndentLine(Index, &'static str),
    Splice(Index, &'static str),
    LineEndings(Endings),
    ToggleFinalNewline,
    Truncate(Index),
}

#[derive(Clone, Copy, Debug)]
enum Endings {
    Lf,
    Crlf,
    Cr,
    /// Line i gets LF, CRLF or CR by `(i + k) % 3`.
    Mixed(u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let insert = prop::sample::select(INSERTS);
    let snippet = prop::sample::select(SNIPPETS);
    prop_oneof![
        (any::<Index>(), 1u8..=255).prop_map(|(i, x)| Mutation::FlipByte(i, x)),
        any::<Index>().prop_map(Mutation::DeleteByte),
        (any::<Index>(), insert).prop_map(|(i, s)| Mutation::Insert(i, s)),
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (
            any::<Index>(),
            prop::sample::select(&["    ", "\t", " ", "        "][..])
        )
            .prop_map(|(i, s)| Mutation::IndentLine(i, s)),
        (any::<Index>(), snippet).prop_map(|(i, s)| Mutation::Splice(i, s)),
        prop_oneof![
            Just(Endings::Lf),
            Just(Endings::Crlf),
            Just(Endings::Cr),
            (0u8..3).prop_map(Endings::Mixed)
        ]
        .prop_map(Mutation::LineEndings),
        Just(Mutation::ToggleFinalNewline),
        any::<Index>().prop_map(Mutation::Truncate),
    ]
}

/// Byte offsets where each line starts (split after `\n`, `\r\n` or a lone `\r`), plus the end.
fn line_starts(b: &[u8]) -> Vec<usize> {
    let mut starts = vec![0];
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\n' || (b[i] == b'\r' && b.get(i + 1) != Some(&b'\n')) {
            starts.push(i + 1);
        }
        i += 1;
    }
    if *starts.last().unwrap() != b.len() {
        starts.push(b.len());
    }
    starts
}

fn line_range(b: &[u8], i: &Index) -> Option<std::ops::Range<usize>> {
    let starts = line_starts(b);
    if starts.len() < 2 {
        return None;
    }
    let k = i.index(starts.len() - 1);
    Some(starts[k]..starts[k + 1])
}

fn apply(m: &Mutation, b: &mut Vec<u8>) {
    let pos = |i: &Index, b: &Vec<u8>| i.index(b.len() + 1);
    match m {
        Mutation::FlipByte(i, x) if !b.is_empty() => {
            let p = i.index(b.len());
            b[p] ^= x;
        }
        Mutation::DeleteByte(i) if !b.is_empty() => {
            b.remove(i.index(b.len()));
        }
        Mutation::Insert(i, s) => {
            let p = pos(i, b);
            b.splice(p..p, s.bytes());
        }
        Mutation::DeleteLine(i) => {
            if let Some(r) = line_range(b, i) {
                b.drain(r);
            }
        }
        Mutation::DuplicateLine(i) => {
            if let Some(r) = line_range(b, i) {
                let line = b[r.clone()].to_vec();
                b.splice(r.start..r.start, line);
            }
        }
        Mutation::SwapLines(x, y) => {
            if let (Some(r1), Some(r2)) = (line_range(b, x), line_range(b, y))
                && r1.end <= r2.start
            {
                let (l1, l2) = (b[r1.clone()].to_vec(), b[r2.clone()].to_vec());
                b.splice(r2, l1);
                b.splice(r1, l2);
            }
        }
        Mutation::IndentLine(i, s) => {
            if let Some(r) = line_range(b, i) {
                b.splice(r.start..r.start, s.bytes());
            }
        }
        Mutation::Splice(i, s) => {
            let starts = line_starts(b);
            let p = starts[i.index(starts.len())];
            b.splice(p..p, s.bytes());
        }
        Mutation::LineEndings(e) => {
            let starts = line_starts(b);
            let mut out = Vec::with_capacity(b.len() + b.len() / 16);
            for (n, w) in starts.windows(2).enumerate() {
                let line = &b[w[0]..w[1]];
                let body_len = line
                    .iter()
                    .rposition(|&c| c != b'\n' && c != b'\r')
                    .map_or(0, |p| p + 1);
                let had_end = body_len < line.len();
                out.extend_from_slice(&line[..body_len]);
                if had_end {
                    let kind = match e {
                        Endings::Lf => 0,
                        Endings::Crlf => 1,
                        Endings::Cr => 2,
                        Endings::Mixed(k) => (n + *k as usize) % 3,
                    };
                    out.extend_from_slice([&b"\n"[..], b"\r\n", b"\r"][kind]);
                }
            }
            *b = out;
        }
        Mutation::ToggleFinalNewline => {
            if b.ends_with(b"\r\n") {
                b.truncate(b.len() - 2);
            } else if b.ends_with(b"\n") || b.ends_with(b"\r") {
                b.pop();
            } else {
                b.push(b'\n');
            }
        }
        Mutation::Truncate(i) => {
            let p = pos(i, b);
            b.truncate(p);
        }
        _ => {}
    }
}

/// Seeds: every `.py` under `fixtures/` (small, UTF-8) with its file name, and the snippets.
fn seeds() -> &'static [(String, Vec<u8>)] {
    static SEEDS: OnceLock<Vec<(String, Vec<u8>)>> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let mut out = Vec::new();
        let mut stack = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")];
        while let Some(dir) = stack.pop() {
            for e in fs::read_dir(&dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|x| x == "py")
                    && let Ok(bytes) = fs::read(&p)
                    && bytes.len() < 32 * 1024
                    && std::str::from_utf8(&bytes).is_ok()
                {
                    let name = p.file_name().unwrap().to_string_lossy().into_owned();
                    out.push((name, bytes));
                }
            }
        }
        out.sort();
        for (i, s) in SNIPPETS.iter().enumerate() {
            let name = ["models.py", "services.py", "middleware.py"][i % 3];
            out.push((name.to_string(), s.as_bytes().to_vec()));
        }
        out
    })
}

#[derive(Clone)]
struct Case {
    /// The file name the text is checked as (`app/<name>`): settings, models, ...
    name: String,
    bytes: Vec<u8>,
}

impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The bytes as a Rust byte string, ready to paste into a regression test.
        let text: String = self.bytes.escape_ascii().to_string();
        write!(f, "Case {{ name: {:?}, bytes: b\"{text}\" }}", self.name)
    }
}

fn case() -> impl Strategy<Value = Case> {
    let n = seeds().len();
    (0..n, prop::collection::vec(mutation(), 0..5)).prop_map(|(seed, muts)| {
        let (name, bytes) = &seeds()[seed];
        let mut bytes = bytes.clone();
        for m in &muts {
            apply(m, &mut bytes);
        }
        Case {
            name: name.clone(),
            bytes,
        }
    })
}

// ---- properties ----

/// A project with the `tenancy` package the fixes import from, and an empty `app` package.
fn project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/fixes/ten401_crlf_tabs");
    fs::write(root.join("pyproject.toml"), "[project]\nname = \"x\"\n").unwrap();
    fs::create_dir_all(root.join("tenancy")).unwrap();
    for f in [
        "__init__.py",
        "cache.py",
        "context.py",
        "managers.py",
        "models.py",
    ] {
        fs::copy(src.join("tenancy").join(f), root.join("tenancy").join(f)).unwrap();
    }
    fs::create_dir_all(root.join("app")).unwrap();
    fs::write(root.join("app/__init__.py"), "").unwrap();
    dir
}

#[derive(Debug, PartialEq)]
enum Ending {
    None,
    Lf,
    Crlf,
    Cr,
    Mixed,
}

fn endings(text: &[u8]) -> Ending {
    let (mut lf, mut crlf, mut cr) = (0, 0, 0);
    let mut i = 0;
    while i < text.len() {
        match text[i] {
            b'\r' if text.get(i + 1) == Some(&b'\n') => {
                crlf += 1;
                i += 1;
            }
            b'\r' => cr += 1,
            b'\n' => lf += 1,
            _ => {}
        }
        i += 1;
    }
    match (lf > 0, crlf > 0, cr > 0) {
        (false, false, false) => Ending::None,
        (true, false, false) => Ending::Lf,
        (false, true, false) => Ending::Crlf,
        (false, false, true) => Ending::Cr,
        _ => Ending::Mixed,
    }
}

/// The coding declaration lines, where CPython looks for them: line 1, or line 2 when line 1
/// is blank or a comment.
fn coding_lines(text: &[u8]) -> Vec<Vec<u8>> {
    let starts = line_starts(text);
    let lines: Vec<String> = starts
        .windows(2)
        .take(2)
        .map(|w| String::from_utf8_lossy(&text[w[0]..w[1]]).into_owned())
        .collect();
    let comment = |l: &str| l.trim_start().starts_with('#');
    let declares = |l: &str| comment(l) && l.contains("coding");
    let mut out = Vec::new();
    if let Some(l1) = lines.first() {
        if declares(l1) {
            out.push(l1.clone().into_bytes());
        } else if (comment(l1) || l1.trim().is_empty())
            && let Some(l2) = lines.get(1)
            && declares(l2)
        {
            out.push(l2.clone().into_bytes());
        }
    }
    out
}

/// What a fix must keep: line endings (a file with one kind keeps it; a file with none may
/// gain the... none: a one-line file gains lines of no particular kind, so only "not mixed" is
/// asked), the final newline, the BOM and the coding declaration.
fn assert_preserved(before: &[u8], after: &[u8]) -> Result<(), TestCaseError> {
    if before == after {
        return Ok(());
    }
    let (eb, ea) = (endings(before), endings(after));
    match eb {
        Ending::Lf | Ending::Crlf | Ending::Cr => {
            prop_assert_eq!(&eb, &ea, "line endings changed");
        }
        Ending::None => prop_assert!(ea != Ending::Mixed, "a fix mixed line endings"),
        Ending::Mixed => {}
    }
    let ends_nl = |t: &[u8]| t.ends_with(b"\n") || t.ends_with(b"\r");
    prop_assert_eq!(ends_nl(before), ends_nl(after), "final newline changed");
    let bom: &[u8] = b"\xEF\xBB\xBF";
    prop_assert_eq!(
        before.starts_with(bom),
        after.starts_with(bom),
        "BOM changed"
    );
    prop_assert_eq!(
        coding_lines(before),
        coding_lines(after),
        "coding declaration changed"
    );
    Ok(())
}

fn parses(text: &str) -> bool {
    !tenantlint::frontend::python::extract_source(text).has_syntax_error()
}

/// Check and fix `text` as the editor buffer of `app/<name>`: the fixed text, or an error.
fn fix_buffer(root: &Path, name: &str, text: &str) -> Result<String, TestCaseError> {
    let opts = CheckOptions {
        stdin: Some(text.to_string()),
        stdin_filename: Some(PathBuf::from("app").join(name)),
        fix: FixMode::Apply,
        unsafe_fixes: true,
        no_cache: true,
        ..Default::default()
    };
    let result =
        check::run(root, &opts).map_err(|e| TestCaseError::fail(format!("check failed: {e}")))?;
    prop_assert!(
        result.fix_errors.is_empty(),
        "fix errors: {:?}",
        result.fix_errors
    );
    Ok(result.stdin_output.unwrap_or_else(|| text.to_string()))
}

fn check_in_memory(root: &Path, case: &Case) -> Result<(), TestCaseError> {
    let text = String::from_utf8_lossy(&case.bytes).into_owned();
    // Decoding never panics, whatever the bytes.
    let _ = tenantlint::source_io::decode_python(&case.bytes);
    let fixed = fix_buffer(root, &case.name, &text)?;
    if fixed != text {
        prop_assert!(parses(&text), "a text that does not parse was changed");
        prop_assert!(parses(&fixed), "the fixed text does not parse:\n{fixed}");
        assert_preserved(text.as_bytes(), fixed.as_bytes())?;
        let again = fix_buffer(root, &case.name, &fixed)?;
        prop_assert_eq!(&again, &fixed, "a second --fix changed the text");
    }
    Ok(())
}

fn run_check(root: &Path, mode: FixMode) -> Result<check::CheckResult, TestCaseError> {
    let opts = CheckOptions {
        paths: vec![PathBuf::from(".")],
        fix: mode,
        unsafe_fixes: true,
        no_cache: true,
        ..Default::default()
    };
    check::run(root, &opts).map_err(|e| TestCaseError::fail(format!("check failed: {e}")))
}

fn check_on_disk(case: &Case) -> Result<(), TestCaseError> {
    let outer = tempfile::tempdir().unwrap();
    let make = |sub: &str| -> (tempfile::TempDir, PathBuf) {
        let p = project();
        let file = p.path().join("app").join(&case.name);
        fs::write(&file, &case.bytes).unwrap();
        fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).unwrap();
        let _ = sub;
        (p, file)
    };
    let rel = format!("app/{}", case.name);

    // --diff, applied with the real `patch`.
    let (diff_dir, diff_file) = make("diff");
    let result = run_check(diff_dir.path(), FixMode::Diff)?;
    prop_assert!(result.fix_errors.is_empty(), "{:?}", result.fix_errors);
    prop_assert_eq!(
        fs::read(&diff_file).unwrap(),
        case.bytes.clone(),
        "--diff wrote"
    );
    let mut patch_text = String::new();
    for f in &result.fixed {
        let name = f
            .path
            .strip_prefix(diff_dir.path())
            .unwrap()
            .display()
            .to_string();
        patch_text.push_str(&tenantlint::fix::diff::unified_diff(
            &f.original,
            &f.fixed,
            &format!("a/{name}"),
            &format!("b/{name}"),
            3,
        ));
    }
    if !patch_text.is_empty() {
        let patch_file = outer.path().join("fix.patch");
        fs::write(&patch_file, &patch_text).unwrap();
        let out = std::process::Command::new("patch")
            .args(["-p1", "-s", "--no-backup-if-mismatch", "-i"])
            .arg(&patch_file)
            .current_dir(diff_dir.path())
            .output()
            .expect("`patch` runs");
        prop_assert!(
            out.status.success(),
            "patch failed: {}{}\n--- patch\n{patch_text}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    // --fix on a file hard-linked from outside the project, mode 0640.
    let (fix_dir, fix_file) = make("fix");
    let link = outer.path().join("link.py");
    fs::hard_link(&fix_file, &link).unwrap();
    let result = run_check(fix_dir.path(), FixMode::Apply)?;
    prop_assert!(result.fix_errors.is_empty(), "{:?}", result.fix_errors);
    let fixed = fs::read(&fix_file).unwrap();
    prop_assert_eq!(
        &fixed,
        &fs::read(&diff_file).unwrap(),
        "--diff applied with patch differs from --fix"
    );
    prop_assert_eq!(&fs::read(&link).unwrap(), &fixed, "the hard link was split");
    let mode = fs::metadata(&fix_file).unwrap().permissions().mode() & 0o7777;
    prop_assert_eq!(mode, 0o640, "mode changed");
    if fixed != case.bytes {
        prop_assert!(
            tenantlint::source_io::decode_python(&case.bytes).is_ok(),
            "a file that is not UTF-8 source was written"
        );
        let text = String::from_utf8(fixed.clone()).unwrap();
        prop_assert!(parses(&text), "the fixed file does not parse:\n{text}");
        assert_preserved(&case.bytes, &fixed)?;
    }
    // Nothing else in the project changed.
    for f in ["cache.py", "context.py", "managers.py", "models.py"] {
        let orig = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/fixes/ten401_crlf_tabs/tenancy")
            .join(f);
        prop_assert_eq!(
            fs::read(fix_dir.path().join("tenancy").join(f)).unwrap(),
            fs::read(orig).unwrap(),
            "{} changed",
            f
        );
    }
    // A second --fix changes nothing.
    let again = run_check(fix_dir.path(), FixMode::Apply)?;
    prop_assert!(again.fixed.is_empty(), "a second --fix changed {:?}", rel);
    prop_assert_eq!(fs::read(&fix_file).unwrap(), fixed);
    Ok(())
}

// ---- runners ----

fn config(default_cases: u32) -> (Config, String) {
    let long = std::env::var("TENANTLINT_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse::<u32>().ok());
    let seed = std::env::var("TENANTLINT_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .or(if long.is_some() { None } else { Some(1) });
    let mut cfg = Config {
        cases: long.unwrap_or(default_cases),
        failure_persistence: None,
        max_shrink_iters: 2000,
        ..Config::default()
    };
    let seed_text = match seed {
        Some(s) => {
            cfg.rng_seed = RngSeed::Fixed(s);
            s.to_string()
        }
        None => "random".to_string(),
    };
    (cfg, seed_text)
}

fn report<T: std::fmt::Debug>(name: &str, cases: u32, seed: &str, r: Result<(), TestError<T>>) {
    match r {
        Ok(()) => eprintln!("{name}: {cases} inputs passed (seed {seed})"),
        Err(TestError::Fail(why, input)) => {
            panic!("{name}: failed (seed {seed}): {why}\nminimal input: {input:#?}")
        }
        Err(e) => panic!("{name}: {e}"),
    }
}

/// Run `test` over generated cases: one batch (`default_cases`, or `TENANTLINT_FUZZ_CASES`), or,
/// with `TENANTLINT_FUZZ_SECONDS`, batches with fresh random seeds until the time is up.
fn campaign(name: &str, default_cases: u32, test: impl Fn(Case) -> Result<(), TestCaseError>) {
    let seconds = std::env::var("TENANTLINT_FUZZ_SECONDS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    let start = std::time::Instant::now();
    let mut total = 0u64;
    loop {
        let (mut cfg, mut seed) = config(default_cases);
        if seconds.is_some() && std::env::var("TENANTLINT_FUZZ_SEED").is_err() {
            let s: u64 = rand_seed();
            cfg.rng_seed = RngSeed::Fixed(s);
            seed = s.to_string();
        }
        let cases = cfg.cases;
        let mut runner = TestRunner::new(cfg);
        let r = runner.run(&case(), &test);
        report(name, cases, &seed, r);
        total += u64::from(cases);
        match seconds {
            Some(limit) if start.elapsed().as_secs() < limit => continue,
            Some(_) => {
                eprintln!(
                    "{name}: campaign done: {total} inputs passed in {:.0} s",
                    start.elapsed().as_secs_f64()
                );
                break;
            }
            None => break,
        }
    }
}

/// A seed for one batch of a timed campaign (printed, so a failing batch can be repeated).
fn rand_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

#[test]
fn fuzz_check_and_fix_in_memory() {
    let root = project();
    campaign("in-memory check+fix", 200, |c| {
        check_in_memory(root.path(), &c)
    });
}

#[test]
fn fuzz_fix_on_disk_and_diff_with_patch() {
    if std::process::Command::new("patch")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("the real `patch` tool is needed for this test");
    }
    campaign("on-disk fix+diff", 40, |c| check_on_disk(&c));
}

/// The mutations themselves: each does what it says (a broken mutator would fuzz nothing).
#[test]
fn mutations_do_what_they_say() {
    let idx = |n: usize| -> Index {
        // An Index picks `n` of a collection of 1000 items.
        use proptest::strategy::ValueTree;
        let mut r = TestRunner::deterministic();
        loop {
            let i = any::<Index>().new_tree(&mut r).unwrap().current();
            if i.index(1000) == n {
                return i;
            }
        }
    };
    let run = |m: Mutation, s: &str| {
        let mut b = s.as_bytes().to_vec();
        apply(&m, &mut b);
        String::from_utf8_lossy(&b).into_owned()
    };
    assert_eq!(
        run(Mutation::LineEndings(Endings::Cr), "a\nb\r\nc"),
        "a\rb\rc"
    );
    assert_eq!(
        run(Mutation::LineEndings(Endings::Mixed(0)), "a\nb\nc\nd\n"),
        "a\nb\r\nc\rd\n"
    );
    assert_eq!(run(Mutation::ToggleFinalNewline, "a\r\n"), "a");
    assert_eq!(run(Mutation::ToggleFinalNewline, "a"), "a\n");
    assert_eq!(run(Mutation::DeleteLine(idx(0)), "a\nb\n"), "b\n");
    assert_eq!(run(Mutation::DuplicateLine(idx(0)), "a\rb"), "a\ra\rb");
    assert_eq!(
        run(Mutation::SwapLines(idx(0), idx(999)), "a\nb\n"),
        "b\na\n"
    );
    assert_eq!(run(Mutation::Insert(idx(0), "("), "x"), "(x");
    assert_eq!(run(Mutation::Splice(idx(999), "y\n"), "x\n"), "x\ny\n");
    assert_eq!(endings(b"a\rb\r"), Ending::Cr);
    assert_eq!(endings(b"a\r\nb\n"), Ending::Mixed);
    assert!(seeds().len() > SNIPPETS.len() + 20, "too few seeds");
}
