//! Adopting tenantlint on a legacy codebase: baselines (and, below, `--add-noqa` and the
//! unused-suppression rule).

mod common;

use std::path::Path;

use common::*;

/// Prepend `lines` comment lines to every Python file under `root`.
fn insert_lines_at_top(root: &Path, lines: usize) -> usize {
    let mut n = 0;
    for entry in ignore::WalkBuilder::new(root).hidden(false).build() {
        let entry = entry.unwrap();
        let p = entry.path();
        if p.extension().is_some_and(|e| e == "py") {
            let text = std::fs::read_to_string(p).unwrap();
            let head: String = (0..lines)
                .map(|i| format!("# inserted line {i}\n"))
                .collect();
            std::fs::write(p, format!("{head}{text}")).unwrap();
            n += 1;
        }
    }
    n
}

fn generate(lines: u32, seed: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let status = std::process::Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/gen_project.py"))
        .arg(&out)
        .args(["--lines", &lines.to_string(), "--seed", &seed.to_string()])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("python3 runs bench/gen_project.py");
    assert!(status.success());
    dir
}

#[test]
fn baseline_survives_line_shifts_and_reports_new_findings() {
    let dir = generate(20_000, 3);
    let p = dir.path().join("p");
    let before = findings(&p, &["--no-cache"]);
    assert!(
        before.len() > 20,
        "the generated tree has findings: {before:?}"
    );

    let out = tl()
        .current_dir(&p)
        .args(["check", "--write-baseline", "tl-baseline.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&format!("Wrote {} findings", before.len())),
        "{stderr}"
    );
    assert_eq!(
        findings(&p, &["--baseline", "tl-baseline.json"]),
        lines(&[])
    );

    // Ten lines at the top of every file move every finding; none comes back.
    assert!(insert_lines_at_top(&p, 10) > 100);
    assert_eq!(
        findings(&p, &["--baseline", "tl-baseline.json"]),
        lines(&[])
    );
    assert_eq!(findings(&p, &[]).len(), before.len());

    // A new violation is reported, and only it.
    write(
        &p,
        "app_000/new_code.py",
        "from django.core.cache import cache\n\n\ndef f():\n    return cache.get(\"fresh\")\n",
    );
    assert_eq!(
        findings(&p, &["--baseline", "tl-baseline.json"]),
        lines(&["app_000/new_code.py:5:12 TEN301"])
    );
    let out = tl()
        .current_dir(&p)
        .args(["check", "--baseline", "tl-baseline.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "a new finding fails the run");
}

const CACHE_TWICE: &str = "from django.core.cache import cache\n\n\ndef f():\n    cache.get(\"k\")\n    cache.get(\"k\")\n";

#[test]
fn baseline_matching_counts_identical_findings() {
    let dir = clean_project();
    let d = dir.path();
    write(d, "app/__init__.py", "");
    write(d, "app/views.py", CACHE_TWICE);
    tl().current_dir(d)
        .args(["check", "--write-baseline", "b.json"])
        .assert()
        .code(0);
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("b.json")).unwrap()).unwrap();
    assert_eq!(b["findings"].as_array().unwrap().len(), 2);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("b.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o644,
            "a baseline is a shared file, not a private temp file"
        );
    }
    // A third identical line is a new finding: two entries cover two findings, not three.
    write(
        d,
        "app/views.py",
        &format!("{CACHE_TWICE}    cache.get(\"k\")\n"),
    );
    assert_eq!(
        findings(d, &["--baseline", "b.json"]).len(),
        1,
        "the third identical finding is new"
    );
}

#[test]
fn baseline_from_config_and_fixed_findings_leave_it() {
    let dir = clean_project();
    let d = dir.path();
    write(
        d,
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.tenantlint]\nbaseline = \"ci/tenantlint-baseline.json\"\n",
    );
    write(d, "app/__init__.py", "");
    write(d, "app/views.py", CACHE_TWICE);
    // The configured baseline does not exist yet: a clear error naming it.
    let out = tl().current_dir(d).args(["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tenantlint-baseline.json") && stderr.contains("--write-baseline"),
        "{stderr}"
    );
    tl().current_dir(d)
        .args(["check", "--write-baseline", "ci/tenantlint-baseline.json"])
        .assert()
        .code(0);
    // Found through the config, from a subdirectory too.
    assert_eq!(findings(d, &[]), lines(&[]));
    assert_eq!(findings(&d.join("app"), &[]), lines(&[]));
    // One finding fixed: the next write drops its entry.
    write(
        d,
        "app/views.py",
        "from django.core.cache import cache\n\n\ndef f():\n    cache.get(\"k\")\n",
    );
    tl().current_dir(d)
        .args(["check", "--write-baseline", "ci/tenantlint-baseline.json"])
        .assert()
        .code(0);
    let b: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(d.join("ci/tenantlint-baseline.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(b["findings"].as_array().unwrap().len(), 1);
    assert_eq!(b["findings"][0]["filename"], "app/views.py");
    assert_eq!(b["findings"][0]["code"], "TEN301");
    // A broken baseline is an error (exit 2), never silently empty.
    write(d, "ci/tenantlint-baseline.json", "{\"findings\": 3}");
    let out = tl().current_dir(d).args(["check"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a tenantlint baseline"));
}

#[test]
fn write_baseline_on_some_files_keeps_the_others_entries() {
    let dir = clean_project();
    let d = dir.path();
    write(d, "app/__init__.py", "");
    write(d, "app/views.py", CACHE_TWICE);
    write(d, "app/other.py", CACHE_TWICE);
    tl().current_dir(d)
        .args(["check", "--write-baseline", "b.json"])
        .assert()
        .code(0);
    // pre-commit passes one file: the other file's entries stay.
    write(d, "app/views.py", "x = 1\n");
    tl().current_dir(d)
        .args(["check", "--write-baseline", "b.json", "app/views.py"])
        .assert()
        .code(0);
    assert_eq!(findings(d, &["--baseline", "b.json"]), lines(&[]));
    let b: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("b.json")).unwrap()).unwrap();
    let files: Vec<&str> = b["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["filename"].as_str().unwrap())
        .collect();
    assert_eq!(files, ["app/other.py", "app/other.py"]);
}

/// Every `.py` file under `root` compiles with the real CPython (`python3 -m compileall`).
fn all_files_compile(root: &Path) {
    let out = std::process::Command::new("python3")
        .args(["-m", "compileall", "-q", "-x", "/\\.", "."])
        .current_dir(root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "python3 -m compileall failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A snapshot of every Python file's bytes.
fn snapshot(root: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut files: Vec<_> = ignore::WalkBuilder::new(root)
        .build()
        .map(|e| e.unwrap().into_path())
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .map(|p| {
            let b = std::fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn add_noqa_leaves_no_findings_and_is_idempotent() {
    let dir = generate(20_000, 5);
    let p = dir.path().join("p");
    let before = findings(&p, &["--no-cache"]);
    assert!(before.len() > 20, "{before:?}");
    let out = tl()
        .current_dir(&p)
        .args(["check", "--add-noqa=legacy, see ADOPT-1"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("Added "), "{stderr}");
    // Nothing remains, TEN902 included (every added code suppresses something).
    assert_eq!(findings(&p, &[]), lines(&[]));
    assert_eq!(findings(&p, &["--no-cache"]), lines(&[]));
    all_files_compile(&p);
    let text: String = snapshot(&p)
        .iter()
        .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(text.contains("  # noqa: TEN"), "directives were added");
    assert!(
        text.contains("  # legacy, see ADOPT-1\n"),
        "with the reason"
    );

    // A second run changes nothing.
    let snap = snapshot(&p);
    let out = tl()
        .current_dir(&p)
        .args(["check", "--add-noqa"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Added 0 noqa directives in 0 files."));
    assert!(snapshot(&p) == snap, "the second --add-noqa changed files");
}

#[test]
fn add_noqa_merges_and_reports_lines_that_cannot_take_a_comment() {
    let dir = clean_project();
    let d = dir.path();
    write(d, "app/__init__.py", "");
    write(
        d,
        "app/views.py",
        "from django.core.cache import cache\n\n\ndef f():\n    cache.get(\"a\")  # noqa: E501\n    cache.get(\"\"\"b\nc\"\"\")\n    cache.get(\"d\")  # type: ignore\n",
    );
    let out = tl()
        .current_dir(d)
        .args(["check", "--add-noqa", "--output-format", "concise"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "one finding remains\n{stderr}");
    assert!(
        stderr.contains(":6: cannot add `# noqa`: the line ends inside a multi-line string"),
        "{stderr}"
    );
    assert!(stdout.contains("app/views.py:6:5: TEN301"), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(d.join("app/views.py")).unwrap(),
        "from django.core.cache import cache\n\n\ndef f():\n    cache.get(\"a\")  # noqa: E501, TEN301\n    cache.get(\"\"\"b\nc\"\"\")\n    cache.get(\"d\")  # type: ignore  # noqa: TEN301\n"
    );
}

#[test]
fn unused_noqa_is_reported_and_fixed() {
    let dir = clean_project();
    let d = dir.path();
    write(d, "app/__init__.py", "");
    write(
        d,
        "app/views.py",
        "from tenancy.cache import tenant_cache\n\n\ndef f():\n    return tenant_cache.get(\"a\")  # noqa: TEN301, TEN3O1, E501\n",
    );
    let out = tl()
        .current_dir(d)
        .args(["check", "--output-format", "concise"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(
            "app/views.py:5:35: TEN902 [*] Unused `noqa` directive (unused: `TEN301`; unknown: `TEN3O1`)"
        ),
        "{stdout}"
    );
    // Not reported when TEN301 is not enabled: whether it would suppress something is unknown.
    assert_eq!(
        findings(d, &["--select", "TEN1,TEN902"]),
        lines(&["app/views.py:5:35 TEN902"]),
        "only the unknown code is left to report"
    );
    tl().current_dir(d)
        .args(["check", "--fix"])
        .assert()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(d.join("app/views.py")).unwrap(),
        "from tenancy.cache import tenant_cache\n\n\ndef f():\n    return tenant_cache.get(\"a\")  # noqa: E501\n"
    );
}

/// Found by the fuzz campaign: a directive with its reason after it (`# noqa: X -- why`, as
/// `--add-noqa=REASON` writes) lost only `# noqa: X`, leaving `-- why` outside any comment.
#[test]
fn unused_noqa_with_a_reason_is_removed_with_its_reason() {
    let dir = clean_project();
    let d = dir.path();
    write(d, "app/__init__.py", "");
    write(
        d,
        "app/views.py",
        "from tenancy.cache import tenant_cache\n\n\ndef f():\n    a = tenant_cache.get(\"a\")  # noqa: TEN301 -- reviewed\n    b = tenant_cache.get(\"b\")  # type: ignore  # noqa: TEN301 -- reviewed\n    return tenant_cache.get(\"c\")  # noqa: TEN301  # keep me\n",
    );
    assert_eq!(
        findings(d, &[]),
        lines(&[
            "app/views.py:5:32 TEN902",
            "app/views.py:6:48 TEN902",
            "app/views.py:7:35 TEN902"
        ])
    );
    let out = tl()
        .current_dir(d)
        .args(["check", "--fix"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(d.join("app/views.py")).unwrap(),
        "from tenancy.cache import tenant_cache\n\n\ndef f():\n    a = tenant_cache.get(\"a\")\n    b = tenant_cache.get(\"b\")  # type: ignore\n    return tenant_cache.get(\"c\")  # keep me\n"
    );
}

#[test]
fn add_noqa_suppresses_unused_noqa_findings_too() {
    let dir = clean_project();
    let d = dir.path();
    write(d, "app/__init__.py", "");
    write(
        d,
        "app/v.py",
        "from django.core.cache import cache\n\n\ndef f():\n    return cache.get(\"a\")  # noqa: TEN101\n",
    );
    assert_eq!(
        findings(d, &[]),
        lines(&["app/v.py:5:12 TEN301", "app/v.py:5:28 TEN902"])
    );
    tl().current_dir(d)
        .args(["check", "--add-noqa"])
        .assert()
        .code(0);
    assert_eq!(
        std::fs::read_to_string(d.join("app/v.py")).unwrap(),
        "from django.core.cache import cache\n\n\ndef f():\n    return cache.get(\"a\")  # noqa: TEN101, TEN301, TEN902\n"
    );
    assert_eq!(findings(d, &[]), lines(&[]));
}

#[test]
fn a_closed_pipe_ends_quietly_with_exit_0() {
    let dir = generate(100_000, 7);
    let p = dir.path().join("p");
    let bin = assert_cmd::cargo::cargo_bin("tenantlint");
    // The report is far bigger than a pipe's buffer, so the write after `head` exits fails.
    let full = tl()
        .current_dir(&p)
        .args(["check", "--output-format", "json"])
        .output()
        .unwrap();
    assert!(full.stdout.len() > 128 * 1024, "{}", full.stdout.len());
    for args in ["check --output-format json", "rule --all"] {
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "set -o pipefail; '{}' {args} | head -n 1 >/dev/null",
                bin.display()
            ))
            .current_dir(&p)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&out.stderr), "", "{args}: quiet");
    }
}

#[test]
fn grouped_output_groups_by_file_with_aligned_positions() {
    let dir = clean_project();
    let d = dir.path();
    write(d, "app/__init__.py", "");
    let mut views = String::from("from django.core.cache import cache\n\n\ndef f():\n");
    for _ in 0..8 {
        views.push_str("    cache.get(\"k\")\n");
    }
    views.push_str("    return cache.get(\"k\")\n");
    write(d, "app/views.py", &views);
    write(
        d,
        "app/other.py",
        "from django.core.cache import cache\n\ncache.clear()\ncache.set(\"a\", 1)\n",
    );
    let out = tl()
        .current_dir(d)
        .args(["check", "--output-format", "grouped"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let msg = "`cache.get()` on Django's shared cache with a key that is not tenant-prefixed";
    let mut expected = String::from(
        "app/other.py:\n  4:1 TEN301 [*] `cache.set()` on Django's shared cache with a key that is not tenant-prefixed\n\napp/views.py:\n",
    );
    for row in 5..=12 {
        expected.push_str(&format!("  {row:>2}:5  TEN301 [*] {msg}\n"));
    }
    expected.push_str(&format!("  13:12 TEN301 [*] {msg}\n\n"));
    expected.push_str("Found 10 errors.\n[*] 10 fixable with the `--fix` option.\n");
    assert_eq!(text, expected);
}

#[test]
fn show_settings_says_where_each_value_came_from() {
    let dir = clean_project();
    let d = dir.path();
    write(
        d,
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.tenantlint]\npreset = \"django-scopes\"\ntenant-model = \"Org\"\nextend-exclude = [\"legacy/**\"]\n",
    );
    write(d, "app/__init__.py", "");
    write(d, "app/views.py", "x = 1\n");
    write(d, "config/settings.py", "DEBUG = False\n");
    write(d, "legacy/old.py", "x = 1\n");
    let out = tl()
        .current_dir(d)
        .args(["check", "--show-settings", "--select", "TEN2", "app"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    let root = std::fs::canonicalize(d).unwrap_or(d.to_path_buf());
    for line in [
        "config-file = \"pyproject.toml\"".to_string(),
        "src = [\".\"]  # default".to_string(),
        "tenant-model = \"Org\"  # pyproject.toml".to_string(),
        "scoped-managers = [\"ScopedManager\"]  # preset django-scopes".to_string(),
        "tenant-fields = [\"tenant\"]  # default".to_string(),
        "select = [\"TEN2\"]  # command line".to_string(),
        "extend-exclude = [\"legacy/**\"]  # pyproject.toml".to_string(),
        "# settings modules found (1): config/settings.py".to_string(),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in:\n{text}"
        );
    }
    assert!(
        text.contains(&format!("root = {:?}", root.display().to_string()))
            || text.contains(&format!("root = {:?}", d.display().to_string())),
        "{text}"
    );

    // --show-files: what would be checked, without the excluded folder.
    let out = tl()
        .current_dir(d)
        .args(["check", "--show-files"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let files: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert!(files.contains(&"app/views.py".to_string()), "{files:?}");
    assert!(
        files.contains(&"tenancy/models.py".to_string()),
        "{files:?}"
    );
    assert!(!files.iter().any(|f| f.starts_with("legacy/")), "{files:?}");
    let mut sorted = files.clone();
    sorted.sort();
    assert_eq!(files, sorted);
}

#[test]
fn verbose_summarises_the_index() {
    let dir = std_project();
    let d = dir.path();
    let out = tl().current_dir(d).args(["check", "-v"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tenantlint: files indexed: 6\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains("Django models (concrete): 3, tenant-owned: 2, global: 0"),
        "{stderr}"
    );
    assert!(
        stderr.contains("scoped managers found: 1: tenancy.models.TenantAwareManager\n"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "tenantlint: tenant cache `tenant_cache`: found (tenancy.cache.tenant_cache)"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("tenantlint: time: discovery "), "{stderr}");
    // A misspelled tenant cache is visibly not found.
    let out = tl()
        .current_dir(d)
        .args(["check", "-v", "--no-cache"])
        .env("TENANTLINT_CACHE_DIR", d.join("c"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    write(
        d,
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.tenantlint]\ntenant-cache = \"tenant_cahce\"\n",
    );
    let out = tl().current_dir(d).args(["check", "-v"]).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tenant cache `tenant_cahce`: not found in the project"),
        "{stderr}"
    );
}
