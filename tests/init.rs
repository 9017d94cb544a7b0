//! `tenantlint init`: infers a config from the project and writes `tenantlint.toml`; the config
//! it writes for the demo and for each preset project reproduces their `EXPECTED` findings.

mod common;

use std::path::Path;

use common::*;

/// Copy a fixture project into a temporary directory without its tenantlint config.
fn without_config(fixture: &Path) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    for entry in ignore::WalkBuilder::new(fixture).hidden(false).build() {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(fixture).unwrap();
        let dst = tmp.path().join(rel);
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&dst).unwrap();
        } else if rel != Path::new("tenantlint.toml") && rel != Path::new(".tenantlint.toml") {
            std::fs::copy(entry.path(), &dst).unwrap();
        }
    }
    let pyproject = tmp.path().join("pyproject.toml");
    let text = std::fs::read_to_string(&pyproject).unwrap();
    let cut = text.find("[tool.tenantlint]").unwrap_or(text.len());
    std::fs::write(&pyproject, &text[..cut]).unwrap();
    tmp
}

fn init(dir: &Path, args: &[&str]) -> std::process::Output {
    tl().current_dir(dir)
        .arg("init")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn init_reproduces_the_expected_findings_of_the_demo_and_every_preset() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut projects = vec![fixtures.join("demo")];
    projects.extend(subdirs(&fixtures.join("presets")));
    assert_eq!(projects.len(), 4);
    let mut failures = Vec::new();
    for project in projects {
        let tmp = without_config(&project);
        let dir = tmp.path();
        let out = init(dir, &[]);
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {stdout}{}",
            project.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(stdout.starts_with("Wrote tenantlint.toml:"), "{stdout}");
        let written = std::fs::read_to_string(dir.join("tenantlint.toml")).unwrap();
        // One comment per key, saying why.
        for line in written.lines().filter(|l| l.contains(" = ")) {
            let key = line.split(" = ").next().unwrap();
            let before = &written[..written.find(line).unwrap()];
            assert!(
                before.trim_end().lines().last().unwrap().starts_with("# "),
                "{key} has no comment:\n{written}"
            );
        }
        let mut got = findings(dir, &["--no-cache"]);
        got.sort();
        let mut want = expected(&project);
        want.sort();
        if got != want {
            let (missing, extra) = diff(&want, &got);
            failures.push(format!(
                "{}: with\n{written}\nmissing {missing:?}\nextra {extra:?}",
                project.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn init_infers_the_conventions_and_says_why() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let tmp = without_config(&fixtures.join("presets/django-scopes"));
    let out = init(tmp.path(), &[]);
    let written = std::fs::read_to_string(tmp.path().join("tenantlint.toml")).unwrap();
    for line in [
        "preset = \"django-scopes\"",
        "tenant-model = \"Site\"",
        "tenant-fields = [\"site\"]",
        "key-prefixes = [\"site:\"]",
    ] {
        assert!(written.contains(line), "{line} in:\n{written}");
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("files import django_scopes"), "{stdout}");
    assert!(stdout.contains("Not inferred"), "{stdout}");

    let tmp = without_config(&fixtures.join("demo"));
    init(tmp.path(), &[]);
    let written = std::fs::read_to_string(tmp.path().join("tenantlint.toml")).unwrap();
    for line in [
        "tenant-model = \"Tenant\"",
        "tenant-fields = [\"tenant\"]",
        "tenant-base-classes = [\"TenantAwareModel\"]",
        "scoped-managers = [\"TenantAwareManager\"]",
        "tenant-cache = \"tenant_cache\"",
        "key-helpers = [\"tenant_key\"]",
    ] {
        assert!(written.contains(line), "{line} in:\n{written}");
    }
    assert!(!written.contains("preset"), "{written}");
}

#[test]
fn init_never_overwrites_without_force() {
    let p = std_project();
    let dir = p.path();
    assert_eq!(init(dir, &[]).status.code(), Some(0));
    let first = std::fs::read_to_string(dir.join("tenantlint.toml")).unwrap();
    std::fs::write(dir.join("tenantlint.toml"), "# mine\n").unwrap();
    let out = init(dir, &[]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tenantlint.toml already configures tenantlint")
            && stderr.contains("--force"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("tenantlint.toml")).unwrap(),
        "# mine\n"
    );
    assert_eq!(init(dir, &["--force"]).status.code(), Some(0));
    assert_eq!(
        std::fs::read_to_string(dir.join("tenantlint.toml")).unwrap(),
        first
    );

    // A `[tool.tenantlint]` table counts too; with --force the new file wins and it says so.
    std::fs::remove_file(dir.join("tenantlint.toml")).unwrap();
    write(
        dir,
        "pyproject.toml",
        &format!("{PYPROJECT}\n[tool.tenantlint]\nselect = [\"TEN\"]\n"),
    );
    let out = init(dir, &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.join("tenantlint.toml").exists());
    let out = init(dir, &["--force"]);
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("tenantlint.toml wins over the [tool.tenantlint] table of pyproject.toml"),
        "{stderr}"
    );
}

#[test]
fn init_on_a_project_it_cannot_read_says_what_is_missing() {
    let cases: &[(&[(&str, &str)], &str)] = &[
        (&[], "no Python files found under the project root"),
        (&[("app/util.py", "X = 1\n")], "no Django model found"),
        (
            &[(
                "app/models.py",
                "from django.db import models\n\n\nclass Thing(models.Model):\n    name = models.CharField(max_length=5)\n",
            )],
            "no tenant model found",
        ),
    ];
    for (files, why) in cases {
        let tmp = tempfile::tempdir().unwrap();
        write(tmp.path(), "pyproject.toml", PYPROJECT);
        for (rel, text) in *files {
            write(tmp.path(), rel, text);
        }
        let out = init(tmp.path(), &[]);
        assert_eq!(out.status.code(), Some(2), "{why}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains("cannot infer a config for")
                && stderr.contains(why)
                && stderr.contains("nothing written"),
            "{stderr}"
        );
        assert!(!tmp.path().join("tenantlint.toml").exists());
    }
}
