//! The engine seen from the command line: cross-file findings for the files asked about (the
//! pre-commit case), and the persistent fact cache (identical results warm and cold, after an
//! edit, with a damaged cache; where it lives; `--no-cache`).

mod common;

use common::*;

const SCOPED_MODELS: &str = r#"from django.db import models

from tenancy.models import Tenant, TenantAwareManager


class Project(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    name = models.CharField(max_length=100)

    objects = TenantAwareManager()
"#;

const VIEWS: &str = r#"from shop.models import Project


def projects():
    return Project.objects.order_by("name")
"#;

fn shop() -> tempfile::TempDir {
    let dir = clean_project();
    write(dir.path(), "shop/__init__.py", "");
    write(dir.path(), "shop/models.py", SCOPED_MODELS);
    write(dir.path(), "shop/views.py", VIEWS);
    dir
}

#[test]
fn checking_only_models_reports_the_query_it_makes_unscoped_elsewhere() {
    let dir = shop();
    // Scoped: nothing anywhere.
    assert_eq!(
        findings(dir.path(), &["--no-cache", "shop/models.py"]),
        Vec::<String>::new()
    );
    // Remove the tenant manager: pre-commit passes only models.py, and the query in views.py
    // that it makes unscoped is reported with it.
    write(
        dir.path(),
        "shop/models.py",
        &SCOPED_MODELS.replace("    objects = TenantAwareManager()\n", ""),
    );
    let found = findings(dir.path(), &["--no-cache", "shop/models.py"]);
    assert_eq!(
        found,
        lines(&["shop/models.py:6:7 TEN101", "shop/views.py:5:12 TEN201"]),
    );
    // A file unrelated to the change does not drag in the views.py finding.
    write(dir.path(), "shop/other.py", "X = 1\n");
    assert_eq!(
        findings(dir.path(), &["--no-cache", "shop/other.py"]),
        Vec::<String>::new()
    );
    // The finding names what caused it.
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--no-cache",
            "--output-format",
            "json",
            "--exit-zero",
            "shop/models.py",
        ],
    );
    let json = parse_json(&out.stdout);
    let views = json
        .iter()
        .find(|d| d["filename"] == "shop/views.py")
        .unwrap();
    assert_eq!(views["code"], "TEN201");
    let sarif = run_in(
        dir.path(),
        &[
            "check",
            "--no-cache",
            "--output-format",
            "sarif",
            "--exit-zero",
            "shop/models.py",
        ],
    );
    let sarif: serde_json::Value = serde_json::from_slice(&sarif.stdout).unwrap();
    let results = sarif["runs"][0]["results"].as_array().unwrap();
    let query = results.iter().find(|r| r["ruleId"] == "TEN201").unwrap();
    let related = query["relatedLocations"].as_array().unwrap();
    assert!(
        related.iter().any(|r| {
            r["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .is_some_and(|u| u.ends_with("shop/models.py"))
                && r["physicalLocation"]["region"]["startLine"] == 6
        }),
        "the model's class is a related location: {related:?}"
    );
}

#[test]
fn full_output_shows_related_locations() {
    let dir = shop();
    write(
        dir.path(),
        "shop/models.py",
        &SCOPED_MODELS.replace("    objects = TenantAwareManager()\n", ""),
    );
    let out = run_in(
        dir.path(),
        &[
            "check",
            "--no-cache",
            "--output-format",
            "full",
            "shop/views.py",
        ],
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("related: shop/models.py:6:7: model `Project`"),
        "{text}"
    );
}

fn run_all(dir: &std::path::Path, extra: &[&str]) -> String {
    let out = tl()
        .current_dir(dir)
        .args(["check", "--output-format", "json", "--exit-zero"])
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn warm_cache_gives_exactly_the_cold_result_and_follows_edits() {
    let dir = std_project();
    let root = dir.path();
    let uncached = run_all(root, &["--no-cache"]);
    assert!(
        !root.join(".tenantlint_cache").exists(),
        "--no-cache writes nothing"
    );
    let cold = run_all(root, &[]);
    let cache = root.join(".tenantlint_cache");
    assert!(cache.join("CACHEDIR.TAG").is_file());
    assert_eq!(
        std::fs::read_to_string(cache.join(".gitignore")).unwrap(),
        "# Automatically created by tenantlint.\n*\n"
    );
    let warm = run_all(root, &[]);
    assert_eq!(cold, uncached);
    assert_eq!(warm, cold);

    // Edit a model file: warm equals --no-cache again.
    let models = std::fs::read_to_string(root.join("app/models.py")).unwrap();
    write(
        root,
        "app/models.py",
        &models.replace("    objects = TenantAwareManager()\n", ""),
    );
    let after_edit = run_all(root, &[]);
    assert_eq!(after_edit, run_all(root, &["--no-cache"]));
    assert_ne!(after_edit, warm, "the edit changes the findings");

    // A damaged pack is ignored and rebuilt, never an error.
    for entry in walk(&cache) {
        if entry.file_name().is_some_and(|n| n == "facts.pack") {
            let mut bytes = std::fs::read(&entry).unwrap();
            let n = bytes.len();
            bytes.truncate(n / 2);
            std::fs::write(&entry, &bytes).unwrap();
        }
    }
    assert_eq!(run_all(root, &[]), after_edit);
    assert_eq!(run_all(root, &[]), after_edit);

    // `--fix` reads the fixed files again after writing them: no temporary file of the cache
    // (a spill of new entries, a pack being written) is left behind.
    run_all(root, &["--fix"]);
    let leftovers: Vec<_> = walk(&cache)
        .into_iter()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .filter(|p| p.file_name().is_some_and(|n| n != ".gitignore"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn the_cache_goes_where_the_environment_or_the_config_says() {
    let dir = std_project();
    let root = dir.path();
    let out = tl()
        .current_dir(root)
        .env("TENANTLINT_CACHE_DIR", "elsewhere/cache")
        .args(["check", "--exit-zero", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(root.join("elsewhere/cache/CACHEDIR.TAG").is_file());
    assert!(!root.join(".tenantlint_cache").exists());

    let pyproject = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
    let with_key = if pyproject.contains("[tool.tenantlint]") {
        pyproject.replace(
            "[tool.tenantlint]",
            "[tool.tenantlint]\ncache-dir = \"build/tl-cache\"",
        )
    } else {
        format!("{pyproject}\n[tool.tenantlint]\ncache-dir = \"build/tl-cache\"\n")
    };
    write(root, "pyproject.toml", &with_key);
    let out = tl()
        .current_dir(root)
        .env_remove("TENANTLINT_CACHE_DIR")
        .args(["check", "--exit-zero", "-q"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(root.join("build/tl-cache/CACHEDIR.TAG").is_file());
}

#[test]
fn stdin_with_a_warm_cache_checks_the_buffer_not_the_file_on_disk() {
    let dir = std_project();
    let root = dir.path();
    run_all(root, &[]);
    let views = std::fs::read_to_string(root.join("app/views.py")).unwrap();
    let out = tl()
        .current_dir(root)
        .args([
            "check",
            "--output-format",
            "json",
            "--exit-zero",
            "--stdin-filename",
            "app/views.py",
        ])
        .write_stdin(
            "from app.models import Invoice\n\n\ndef f():\n    return Invoice.objects.all()\n",
        )
        .output()
        .unwrap();
    assert_eq!(keys(&out.stdout), lines(&["app/views.py:5:12 TEN201"]));
    assert_eq!(
        std::fs::read_to_string(root.join("app/views.py")).unwrap(),
        views,
        "the file on disk is untouched"
    );
}

/// `tenantlint <args>` run in `dir`.
fn run_in(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    tl().current_dir(dir).args(args).output().unwrap()
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

#[test]
fn a_fix_that_cannot_be_written_is_not_counted_as_fixed() {
    use std::os::unix::fs::PermissionsExt;
    let dir = std_project();
    let root = dir.path();
    let views = root.join("app/views.py");
    let before = std::fs::read_to_string(&views).unwrap();
    std::fs::set_permissions(&views, std::fs::Permissions::from_mode(0o444)).unwrap();
    let out = tl()
        .current_dir(root)
        .args(["check", "--no-cache", "--fix", "--output-format", "concise"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("read-only"), "{stderr}");
    assert!(
        stdout.contains("app/views.py:12:5: TEN301"),
        "the finding stays reported: {stdout}"
    );
    assert!(!stdout.contains("All checks passed"), "{stdout}");
    assert_eq!(std::fs::read_to_string(&views).unwrap(), before);
}

#[test]
fn deep_nesting_in_a_one_file_project_is_a_syntax_error_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pyproject.toml", PYPROJECT);
    let deep = format!("x = {}1{}\n", "(".repeat(60_000), ")".repeat(60_000));
    write(dir.path(), "deep.py", &deep);
    let q = format!("x = {}1{}\n", "Q(".repeat(60_000), ")".repeat(60_000));
    write(dir.path(), "q.py", &q);
    // Just over CPython's limit in files with few brackets (checked on the parser's tokens, not
    // by the pre-parse scan): plain brackets, and brackets inside an f-string's field (its `{`
    // counts as one).
    let shallow = format!(
        "{}y = {}1{}\n",
        "w = f(a[1], {2: (3,)})\n".repeat(40),
        "[".repeat(201),
        "]".repeat(201),
    );
    write(dir.path(), "shallow.py", &shallow);
    let field = format!("z = f\"{{ {}1{} }}\"\n", "(".repeat(200), ")".repeat(200));
    write(dir.path(), "field.py", &field);
    for args in [
        &["check", "--no-cache"][..],
        &["check", "--no-cache", "--fix"][..],
    ] {
        let out = tl()
            .current_dir(dir.path())
            .args(args)
            .args(["--output-format", "concise"])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stdout}");
        assert!(stdout.contains("deep.py:1:"), "{stdout}");
        assert!(stdout.contains("too many nested parentheses"), "{stdout}");
        // The 201st `[`, on line 41 after `y = `; the 200th `(` after the field's `{`.
        assert!(
            stdout.contains("shallow.py:41:205: TEN900 Syntax error: too many nested parentheses"),
            "{stdout}"
        );
        assert!(
            stdout.contains("field.py:1:208: TEN900 Syntax error: too many nested parentheses"),
            "{stdout}"
        );
    }
    // Nothing to fix: an empty diff, exit 0, no abort.
    let out = run_in(dir.path(), &["check", "--no-cache", "--diff"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_device_named_on_the_command_line_is_an_error_at_once() {
    let dir = std_project();
    let out = tl()
        .current_dir(dir.path())
        .args([
            "check",
            "--no-cache",
            "--output-format",
            "concise",
            "/dev/zero",
            "app/views.py",
        ])
        .timeout(std::time::Duration::from_secs(20))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TEN901"), "{stdout}");
    assert!(stdout.contains("not a regular file"), "{stdout}");
    assert!(stdout.contains("app/views.py:12:5: TEN301"), "{stdout}");
}

/// (rule, file, line, message) of every SARIF result, with the files of its related locations.
fn sarif_findings(sarif: &str) -> Vec<(String, String, u64, String, Vec<String>)> {
    let v: serde_json::Value = serde_json::from_str(sarif).expect("SARIF is JSON");
    let uri = |loc: &serde_json::Value| {
        loc["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let loc = &r["locations"][0];
            (
                r["ruleId"].as_str().unwrap().to_string(),
                uri(loc),
                loc["physicalLocation"]["region"]["startLine"]
                    .as_u64()
                    .unwrap_or(0),
                r["message"]["text"].as_str().unwrap().to_string(),
                r["relatedLocations"]
                    .as_array()
                    .map(|a| a.iter().map(uri).collect())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

/// Checking one file (what pre-commit and the on-save command do) reports exactly what the whole
/// project's check reports in that file or because of it, for every file of the demo: limiting
/// the cross-file pass to the file's importers loses nothing.
#[test]
fn checking_any_one_file_gives_the_whole_runs_findings_in_it_or_caused_by_it() {
    one_file_checks_match_the_whole_run("fixtures/demo", 10);
}

/// The same for a project that reaches its models through the app registry
/// (`apps.get_model("billing", "Invoice")`, `get_user_model()`): no import links the views to the
/// models, yet checking `billing/models.py` alone reports the queries on its models.
#[test]
fn checking_one_file_follows_models_reached_through_the_app_registry() {
    one_file_checks_match_the_whole_run("fixtures/rules/ten201_app_registry", 8);
}

fn one_file_checks_match_the_whole_run(fixture: &str, min_files: usize) {
    let demo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(fixture);
    let dir = tempfile::TempDir::new().unwrap();
    copy_dir(&demo, dir.path());
    let args = [
        "check",
        "--no-cache",
        "--exit-zero",
        "--output-format",
        "sarif",
    ];
    let full = run_in(dir.path(), &args);
    let full = sarif_findings(&String::from_utf8_lossy(&full.stdout));
    assert!(
        full.iter().any(|f| f.4.iter().any(|r| r != &f.1)),
        "the demo has cross-file findings"
    );
    let mut files: Vec<String> = walk(dir.path())
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .map(|p| {
            p.strip_prefix(dir.path())
                .unwrap()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    files.sort();
    assert!(files.len() > min_files);
    for file in &files {
        let mut one_args = args.to_vec();
        one_args.push(file);
        let got = run_in(dir.path(), &one_args);
        let mut got = sarif_findings(&String::from_utf8_lossy(&got.stdout));
        let mut want: Vec<_> = full
            .iter()
            .filter(|f| &f.1 == file || f.4.contains(file))
            .cloned()
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "checking only {file}");
    }
}
