//! The rule pages in `rules/<CODE>.md` are embedded in the binary and printed by `tenantlint rule`.
//! These tests keep them honest:
//!
//! - every rule has a page with the expected structure, printed by `tenantlint rule CODE` and by
//!   `tenantlint rule --all`;
//! - the first ```python block after `## Example` triggers the rule, and the first ```python block
//!   after `## Use instead` does not. Each is linted as `app/models.py` of its own throwaway
//!   project.
//!
//! - a page that shows a Rust service too (a ```rust block under `## Example`, beside the Django
//!   one, or alone for a Rust-only rule) has one under `## Use instead`; the first triggers the
//!   rule and the second does not, each linted as `src/lib.rs` of a throwaway Cargo project.
//!
//! Pages whose examples cannot be shown as source (TEN901: a file that is not UTF-8) mark their
//! blocks ```text; they are skipped, and only the pages listed in `TEXT_ONLY` may do that.

use std::path::Path;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// Pages whose examples are prose (```text blocks) rather than Python.
const TEXT_ONLY: &[&str] = &["TEN901"];

/// The sections every page has, in this order (others may be interleaved).
const SECTIONS: &[&str] = &[
    "What it does",
    "Why it matters",
    "Example",
    "Use instead",
    "Fix safety",
    "Configuration",
    "Suppression",
];

fn tenantlint() -> Command {
    let mut cmd = Command::cargo_bin("tenantlint").expect("the tenantlint binary is built");
    cmd.env_remove("NO_COLOR");
    cmd
}

struct RuleDoc {
    code: String,
    name: String,
    explanation: String,
}

/// `tenantlint rule --all --output-format json`.
fn rules() -> Vec<RuleDoc> {
    let out = tenantlint()
        .args(["rule", "--all", "--output-format", "json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "rule --all --output-format json failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value =
        serde_json::from_slice(&out.stdout).expect("rule --all --output-format json prints JSON");
    let arr = v
        .as_array()
        .expect("rule --all --output-format json prints an array");
    assert!(!arr.is_empty(), "no rules listed");
    arr.iter()
        .map(|r| {
            let s = |k: &str| {
                r.get(k)
                    .and_then(Value::as_str)
                    .unwrap_or_else(|| panic!("rule entry without string `{k}`: {r}"))
                    .to_string()
            };
            for k in ["summary", "fix_availability"] {
                let _ = s(k);
            }
            RuleDoc {
                code: s("code"),
                name: s("name"),
                explanation: s("explanation"),
            }
        })
        .collect()
}

/// A level-2 section of a page: its heading and its lines (fence-aware: a `## ` line inside a
/// code block is not a heading).
struct Section<'a> {
    heading: &'a str,
    lines: Vec<&'a str>,
}

fn sections(page: &str) -> Vec<Section<'_>> {
    let mut out: Vec<Section> = Vec::new();
    let mut in_fence = false;
    for line in page.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        if !in_fence && let Some(h) = line.strip_prefix("## ") {
            out.push(Section {
                heading: h.trim(),
                lines: Vec::new(),
            });
            continue;
        }
        if let Some(s) = out.last_mut() {
            s.lines.push(line);
        }
    }
    out
}

/// The first fenced block of a section in language `lang`: its body.
fn first_block_in(section: &Section, lang: &str) -> Option<String> {
    let mut body: Option<String> = None;
    for line in &section.lines {
        match &mut body {
            None => {
                if line.trim_start().strip_prefix("```").map(str::trim) == Some(lang) {
                    body = Some(String::new());
                }
            }
            Some(b) => {
                if line.trim_start().starts_with("```") {
                    return body;
                }
                b.push_str(line);
                b.push('\n');
            }
        }
    }
    None
}

/// The first fenced block of a section: `(language, body)`. A line
/// `<!-- file: config/settings.py -->` right before the fence names the file the example is
/// linted as (default `app/models.py`); it is prepended to the body as `#file:` metadata.
fn first_block(section: &Section) -> Option<(String, String)> {
    let mut iter = section.lines.iter();
    let mut previous: Option<&str> = None;
    let lang = loop {
        let line = iter.next()?;
        if let Some(info) = line.trim_start().strip_prefix("```") {
            break info.trim().to_string();
        }
        previous = Some(line);
    };
    let file = previous
        .and_then(|p| p.trim().strip_prefix("<!-- file:"))
        .and_then(|p| p.strip_suffix("-->"))
        .map(|p| p.trim().to_string());
    let mut body = String::new();
    if let Some(file) = file {
        body.push_str(&format!("{FILE_MARKER}{file}\n"));
    }
    for line in iter {
        if line.trim_start().starts_with("```") {
            return Some((lang, body));
        }
        body.push_str(line);
        body.push('\n');
    }
    panic!("unterminated code block in section `{}`", section.heading);
}

/// The first block after `## <heading>`, which must exist. A ```toml block is a config file
/// (TEN0xx pages): the project it applies to is the section's next ```python block, returned as
/// `(toml, "python", source)` prepended with a config marker line.
fn example(doc: &RuleDoc, heading: &str) -> (String, String) {
    let secs = sections(&doc.explanation);
    let sec = secs
        .iter()
        .find(|s| s.heading == heading)
        .unwrap_or_else(|| panic!("{}: page has no `## {heading}` section", doc.code));
    let (lang, body) = first_block(sec)
        .unwrap_or_else(|| panic!("{}: no code block under `## {heading}`", doc.code));
    if lang != "toml" {
        return (lang, body);
    }
    // The block after the config: skip the config's own lines.
    let fence = sec
        .lines
        .iter()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("```"))
        .nth(1)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("{}: unterminated ```toml under `## {heading}`", doc.code));
    let rest = Section {
        heading: sec.heading,
        lines: sec.lines[fence..].to_vec(),
    };
    let (py_lang, py) = first_block(&rest).unwrap_or_else(|| {
        panic!(
            "{}: a ```toml example under `## {heading}` needs a ```python project after it",
            doc.code
        )
    });
    assert_eq!(
        py_lang, "python",
        "{}: the project of a ```toml example",
        doc.code
    );
    let config: String = body
        .lines()
        .map(|l| format!("{CONFIG_MARKER}{l}\n"))
        .collect();
    ("python".into(), format!("{config}{py}"))
}

/// Lines of an example's config (`tenantlint.toml`), before its Python source.
const CONFIG_MARKER: &str = "#config: ";

const FILE_MARKER: &str = "#file: ";

/// Lint `source` as `app/models.py` (or the file its `<!-- file: ... -->` marker names) of a fresh
/// project; returns the exit code and the diagnostics.
fn lint_snippet(source: &str, select: Option<&str>) -> (i32, Vec<Value>, String) {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(root, "pyproject.toml", "[project]\nname = \"x\"\n");
    lint_in(root, source, "app/models.py", select)
}

/// Lint `source` as `src/lib.rs` of a fresh Cargo project.
fn lint_rust_snippet(source: &str, select: Option<&str>) -> (i32, Vec<Value>, String) {
    let dir = TempDir::new().unwrap();
    let root = dir.path();
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"x\"\nversion = \"0.1.0\"\n",
    );
    std::fs::create_dir_all(root.join(".git")).unwrap();
    lint_in(root, source, "src/lib.rs", select)
}

fn lint_in(
    root: &Path,
    source: &str,
    default_file: &str,
    select: Option<&str>,
) -> (i32, Vec<Value>, String) {
    let mut config = String::new();
    let mut source = source;
    while let Some(rest) = source.strip_prefix(CONFIG_MARKER) {
        let (line, after) = rest.split_once('\n').unwrap_or((rest, ""));
        config.push_str(line);
        config.push('\n');
        source = after;
    }
    let (file, source) = match source.strip_prefix(FILE_MARKER) {
        Some(rest) => {
            let (file, body) = rest.split_once('\n').unwrap_or((rest, ""));
            (file.to_string(), body)
        }
        None => (default_file.to_string(), source),
    };
    if default_file.ends_with(".py") {
        write(root, "app/__init__.py", "");
    }
    if let Some(dir) = Path::new(&file)
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && file.ends_with(".py"))
    {
        let init = dir.join("__init__.py");
        if !root.join(&init).exists() {
            write(root, &init.to_string_lossy(), "");
        }
    }
    write(root, &file, source);
    let mut cmd = tenantlint();
    cmd.current_dir(root)
        .args(["check", "--output-format", "json"]);
    if config.is_empty() {
        // `--isolated`: the examples document the embedded defaults, whatever config files sit
        // above the temporary directory.
        cmd.arg("--isolated");
    } else {
        // A config example: the config beside the project, in use.
        write(root, "tenantlint.toml", &config);
        cmd.args(["--config", "tenantlint.toml"]);
    }
    if let Some(code) = select {
        cmd.args(["--select", code]);
    }
    let out = cmd.arg(".").output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let diags: Vec<Value> = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "check did not print JSON ({e}):\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), diags, stdout)
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn with_code<'a>(diags: &'a [Value], code: &str) -> Vec<&'a Value> {
    diags.iter().filter(|d| d["code"] == code).collect()
}

#[test]
fn every_rule_has_a_page() {
    for doc in rules() {
        let page = &doc.explanation;
        let title = format!("# {}: {}", doc.code, doc.name);
        assert_eq!(
            page.lines().next(),
            Some(title.as_str()),
            "{}: the page must start with `{title}`",
            doc.code
        );
        let summary = page
            .lines()
            .skip(1)
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default();
        assert!(
            !summary.is_empty() && !summary.starts_with('#'),
            "{}: a one-paragraph summary must follow the title",
            doc.code
        );
        let headings: Vec<&str> = sections(page).iter().map(|s| s.heading).collect();
        let mut pos = 0;
        for want in SECTIONS {
            match headings[pos..].iter().position(|h| h == want) {
                Some(i) => pos += i + 1,
                None => panic!(
                    "{}: missing or misplaced `## {want}` (sections: {headings:?})",
                    doc.code
                ),
            }
        }
        assert!(
            page.contains("```")
                && page
                    .lines()
                    .filter(|l| l.trim_start().starts_with("```"))
                    .count()
                    % 2
                    == 0,
            "{}: unbalanced code fences",
            doc.code
        );
    }
}

#[test]
fn rule_command_prints_each_page() {
    for doc in rules() {
        let out = tenantlint().args(["rule", &doc.code]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "rule {} failed: {}",
            doc.code,
            String::from_utf8_lossy(&out.stderr)
        );
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(
            stdout.starts_with(&format!("# {}: {}", doc.code, doc.name)),
            "rule {} printed:\n{stdout}",
            doc.code
        );
        assert_eq!(
            stdout, doc.explanation,
            "rule {} (text) and its JSON explanation differ",
            doc.code
        );
    }
}

#[test]
fn rule_command_rejects_unknown_codes() {
    let out = tenantlint().args(["rule", "NOPE"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "rule NOPE: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout.is_empty(), "rule NOPE printed to stdout");
}

#[test]
fn rule_all_prints_every_page() {
    let out = tenantlint().args(["rule", "--all"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).unwrap();
    for doc in rules() {
        assert!(
            stdout.contains(&doc.explanation),
            "rule --all does not contain the page of {}",
            doc.code
        );
    }
}

#[test]
fn examples_trigger_the_rule_and_fixes_do_not() {
    let mut skipped = Vec::new();
    let mut failures = Vec::new();
    for doc in rules() {
        let (bad_lang, bad) = example(&doc, "Example");
        let (good_lang, good) = example(&doc, "Use instead");
        match (bad_lang.as_str(), good_lang.as_str()) {
            ("python", "python") => {}
            // Rust-only rules: `rust_examples_trigger_the_rule_and_fixes_do_not`.
            ("rust", "rust") => continue,
            ("text", "text") => {
                skipped.push(doc.code.clone());
                continue;
            }
            (b, g) => {
                failures.push(format!(
                    "{}: the `## Example` and `## Use instead` blocks must both be ```python (or both ```text), found ```{b} and ```{g}",
                    doc.code
                ));
                continue;
            }
        }

        let (status, diags, out) = lint_snippet(&bad, Some(&doc.code));
        if with_code(&diags, &doc.code).is_empty() || status != 1 {
            failures.push(format!(
                "{}: the `## Example` code must trigger {} (exit {status}):\n{bad}\n--- output:\n{out}",
                doc.code, doc.code
            ));
        }
        let (status, diags, out) = lint_snippet(&good, Some(&doc.code));
        if !with_code(&diags, &doc.code).is_empty() || status != 0 {
            failures.push(format!(
                "{}: the `## Use instead` code must not trigger {} (exit {status}):\n{good}\n--- output:\n{out}",
                doc.code, doc.code
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(
        skipped, TEXT_ONLY,
        "only these pages may have ```text examples"
    );
}

/// A "Use instead" example that another rule flags would teach the wrong thing.
#[test]
fn fixed_examples_are_clean_under_every_rule() {
    let mut failures = Vec::new();
    for doc in rules() {
        let (lang, good) = example(&doc, "Use instead");
        if lang != "python" {
            continue;
        }
        let (status, diags, out) = lint_snippet(&good, None);
        if !diags.is_empty() || status != 0 {
            failures.push(format!(
                "{}: the `## Use instead` code is not clean (exit {status}):\n{out}",
                doc.code
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Pages that show a Rust service: the first ```rust block under `## Example` triggers the rule,
/// the first under `## Use instead` does not.
#[test]
fn rust_examples_trigger_the_rule_and_fixes_do_not() {
    let mut failures = Vec::new();
    let mut checked = Vec::new();
    for doc in rules() {
        let secs = sections(&doc.explanation);
        let block = |heading: &str| {
            secs.iter()
                .find(|s| s.heading == heading)
                .and_then(|s| first_block_in(s, "rust"))
        };
        let (bad, good) = match (block("Example"), block("Use instead")) {
            (None, None) => continue,
            (Some(b), Some(g)) => (b, g),
            _ => {
                failures.push(format!(
                    "{}: a ```rust block under `## Example` needs one under `## Use instead` (and back)",
                    doc.code
                ));
                continue;
            }
        };
        checked.push(doc.code.clone());
        let (status, diags, out) = lint_rust_snippet(&bad, Some(&doc.code));
        if with_code(&diags, &doc.code).is_empty() || status != 1 {
            failures.push(format!(
                "{}: the Rust `## Example` must trigger it (exit {status}):\n{bad}\n--- output:\n{out}",
                doc.code
            ));
        }
        let (status, diags, out) = lint_rust_snippet(&good, None);
        if !diags.is_empty() || status != 0 {
            failures.push(format!(
                "{}: the Rust `## Use instead` must be clean under every rule (exit {status}):\n{good}\n--- output:\n{out}",
                doc.code
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    for code in ["TEN201", "TEN203", "TEN301", "TEN403"] {
        assert!(
            checked.iter().any(|c| c == code),
            "{code} has no Rust example"
        );
    }
}
