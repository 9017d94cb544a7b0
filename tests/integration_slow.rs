//! Slow integration tests with the real tools users install tenantlint with: pip (building the
//! wheel through maturin from `pyproject.toml`), pre-commit (`.pre-commit-hooks.yaml`) and an LSP
//! client (pytest-lsp driving `tenantlint server`).
//!
//! They build tenantlint in release mode several times, so they are `#[ignore]`d in the normal
//! `cargo test`; `scripts/slow-tests.sh` installs the tools and runs them:
//!
//! ```text
//! scripts/slow-tests.sh            # or: cargo test --test integration_slow -- --ignored
//! ```
//!
//! Tools come from `$TENANTLINT_SLOW_VENV` (default `target/slow-tests/venv`, created with
//! `pip install maturin pre-commit junitparser pytest-lsp` when missing). All cargo builds share
//! `target/slow-tests/cargo-target`, so the dependencies are compiled once.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn work() -> PathBuf {
    let dir = repo().join("target/slow-tests");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn cargo_target() -> PathBuf {
    work().join("cargo-target")
}

fn python() -> String {
    std::env::var("PYTHON").unwrap_or_else(|_| "python3".into())
}

fn show(o: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Run a command with the environment every tool here shares; panic with its output on a failure
/// to start.
fn run_in(
    dir: &Path,
    program: impl AsRef<std::ffi::OsStr>,
    args: &[&str],
    extra_env: &[(&str, &Path)],
) -> Output {
    let program = program.as_ref();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", cargo_target())
        .env("PIP_DISABLE_PIP_VERSION_CHECK", "1")
        .env("PRE_COMMIT_COLOR", "never")
        .env("NO_COLOR", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        // No global hooks path, templates or signing from the machine's git config.
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env_remove("GIT_DIR")
        .env_remove("GIT_INDEX_FILE")
        .env_remove("GIT_WORK_TREE");
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.to_string_lossy()))
}

fn ok(o: Output, what: &str) -> Output {
    assert!(o.status.success(), "{what} failed:\n{}", show(&o));
    o
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The venv holding maturin, pre-commit, junitparser and pytest-lsp.
fn tools() -> PathBuf {
    let venv = std::env::var_os("TENANTLINT_SLOW_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| work().join("venv"));
    let bin = venv.join("bin");
    if !(bin.join("pre-commit").exists()
        && bin.join("maturin").exists()
        && bin.join("pytest").exists()
        && bin.join("python").exists())
    {
        ok(
            run_in(
                &repo(),
                python(),
                &["-m", "venv", venv.to_str().unwrap()],
                &[],
            ),
            "python -m venv",
        );
        ok(
            run_in(
                &repo(),
                bin.join("pip"),
                &[
                    "install",
                    "-q",
                    "maturin>=1.5,<2.0",
                    "pre-commit",
                    "junitparser",
                    "pytest-lsp",
                ],
                &[],
            ),
            "pip install maturin pre-commit junitparser pytest-lsp",
        );
    }
    // ruff (for `ruff check --select I` on fixed files), also into a venv made before it was
    // needed.
    if !bin.join("ruff").exists() {
        ok(
            run_in(&repo(), bin.join("pip"), &["install", "-q", "ruff"], &[]),
            "pip install ruff",
        );
    }
    bin
}

fn git(dir: &Path, args: &[&str]) -> Output {
    run_in(dir, "git", args, &[])
}

fn git_init(dir: &Path) {
    ok(git(dir, &["init", "-q", "-b", "main"]), "git init");
    for (k, v) in [
        ("user.name", "tenantlint tests"),
        ("user.email", "tests@example.invalid"),
        ("commit.gpgsign", "false"),
    ] {
        ok(git(dir, &["config", k, v]), "git config");
    }
}

fn copy_dir(from: &Path, to: &Path, skip: &dyn Fn(&Path) -> bool) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if skip(&entry.path()) {
            continue;
        }
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target, skip);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// A git repository holding the current working tree of tenantlint (tracked and untracked files,
/// not ignored ones) in one commit: what a user's `pip install git+…` or pre-commit would clone,
/// including changes not committed yet. Returns its path and commit.
fn snapshot(into: &Path) -> (PathBuf, String) {
    let dest = into.join("tenantlint");
    std::fs::create_dir_all(&dest).unwrap();
    let listed = ok(
        git(
            &repo(),
            &[
                "ls-files",
                "-z",
                "--cached",
                "--others",
                "--exclude-standard",
            ],
        ),
        "git ls-files",
    );
    for name in listed.stdout.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let rel = Path::new(std::str::from_utf8(name).unwrap());
        let src = repo().join(rel);
        if !src.is_file() {
            continue; // deleted in the working tree
        }
        let dst = dest.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(&src, &dst).unwrap();
    }
    git_init(&dest);
    ok(git(&dest, &["add", "-A"]), "git add");
    ok(
        git(&dest, &["commit", "-q", "--no-verify", "-m", "snapshot"]),
        "git commit",
    );
    let sha =
        String::from_utf8(ok(git(&dest, &["rev-parse", "HEAD"]), "rev-parse").stdout).unwrap();
    (dest, sha.trim().to_string())
}

/// The JSON report of the binary cargo built for this test run: what the installed one must match.
fn reference_json(dir: &Path) -> serde_json::Value {
    let out = Command::new(env!("CARGO_BIN_EXE_tenantlint"))
        .args(["check", "--no-cache", "--output-format", "json"])
        .current_dir(dir)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).expect("reference JSON")
}

/// `pip` builds the wheel (PEP 517, maturin from `pyproject.toml`); the wheel installs into a fresh
/// venv and puts a working `tenantlint` on its PATH.
#[test]
#[ignore = "slow: needs pip/pre-commit; run with --ignored"]
fn pip_builds_and_installs_a_working_binary() {
    let bin = tools();
    let tmp = tempfile::tempdir().unwrap();
    let (source, _) = snapshot(tmp.path());

    let wheels = tmp.path().join("wheels");
    ok(
        run_in(
            tmp.path(),
            bin.join("pip"),
            &[
                "wheel",
                "--no-deps",
                "-w",
                wheels.to_str().unwrap(),
                source.to_str().unwrap(),
            ],
            &[],
        ),
        "pip wheel (maturin)",
    );
    let wheel = std::fs::read_dir(&wheels)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("a wheel was built");
    let name = wheel.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        name.starts_with(&format!("tenantlint-{}-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );

    let venv = tmp.path().join("venv");
    ok(
        run_in(
            tmp.path(),
            python(),
            &["-m", "venv", venv.to_str().unwrap()],
            &[],
        ),
        "python -m venv",
    );
    ok(
        run_in(
            tmp.path(),
            venv.join("bin/pip"),
            &["install", "-q", wheel.to_str().unwrap()],
            &[],
        ),
        "pip install wheel",
    );

    let exe = venv.join("bin/tenantlint");
    assert!(exe.is_file(), "pip put tenantlint into the venv's bin/");
    let version = ok(
        run_in(tmp.path(), &exe, &["--version"], &[]),
        "tenantlint --version",
    );
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("tenantlint {}", env!("CARGO_PKG_VERSION"))
    );

    // A real check from the installed binary (found through PATH, as a user would run it).
    let demo = repo().join("fixtures/demo");
    let path = format!(
        "{}:{}",
        venv.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("tenantlint")
        .args(["check", "--no-cache", "--output-format", "json"])
        .current_dir(&demo)
        .env("PATH", path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let diags: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reference = reference_json(&demo);
    assert!(!reference.as_array().unwrap().is_empty());
    assert_eq!(
        diags, reference,
        "the installed binary reports what the cargo-built one does"
    );

    // The JUnit report is readable by a common consumer (junitparser, as used by many CI tools).
    let report = tmp.path().join("junit.xml");
    let o = run_in(
        &demo,
        &exe,
        &[
            "check",
            "--no-cache",
            "--output-format",
            "junit",
            "--output-file",
            report.to_str().unwrap(),
        ],
        &[],
    );
    assert_eq!(o.status.code(), Some(1), "{}", show(&o));
    let script = "import sys\nfrom junitparser import JUnitXml, Failure\nxml = JUnitXml.fromfile(sys.argv[1])\n\
                  cases = [c for s in xml for c in s]\n\
                  failed = [c for c in cases if any(isinstance(r, Failure) for r in c.result)]\n\
                  print(len(failed), len({c.classname for c in failed}))\n";
    let o = ok(
        run_in(
            &demo,
            bin.join("python"),
            &["-c", script, report.to_str().unwrap()],
            &[],
        ),
        "junitparser",
    );
    let files: std::collections::HashSet<&str> = reference
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["filename"].as_str().unwrap())
        .collect();
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        format!("{} {}", reference.as_array().unwrap().len(), files.len()),
        "junitparser sees one failing testcase per diagnostic, classname the file"
    );
}

/// The hooks of `.pre-commit-hooks.yaml` under the real pre-commit, in a throwaway repository
/// holding a small fixture project: `try-repo` shows the diagnostics; installed as a git hook, a
/// clean commit passes and a bad one is blocked; `tenantlint-fix` fixes the file and fails that
/// commit (files modified), and the commit goes through once the fix is staged.
#[test]
#[ignore = "slow: needs pip/pre-commit; run with --ignored"]
fn pre_commit_hooks_block_bad_commits_and_fix() {
    let bin = tools();
    let pre_commit = bin.join("pre-commit");
    let tmp = tempfile::tempdir().unwrap();
    let (hooks, rev) = snapshot(tmp.path());
    let home = tmp.path().join("pre-commit-home");
    let env: [(&str, &Path); 1] = [("PRE_COMMIT_HOME", &home)];

    // The project: a fixture with a file that has safe TEN301 fixes, plus an excluded legacy file
    // with a finding (pre-commit names it explicitly; `--force-exclude` must still skip it).
    let fixture = repo().join("fixtures/fixes/ten301_supported_only");
    let project = tmp.path().join("project");
    copy_dir(&fixture, &project, &|p| {
        p.extension()
            .is_some_and(|e| e.to_string_lossy().starts_with("expected"))
    });
    let expected_fixed = std::fs::read_to_string(fixture.join("app/services.py.expected")).unwrap();
    let original = std::fs::read_to_string(project.join("app/services.py")).unwrap();
    assert_ne!(original, expected_fixed);
    let mut pyproject = std::fs::read_to_string(project.join("pyproject.toml")).unwrap();
    pyproject.push_str("\n[tool.tenantlint]\nextend-exclude = [\"legacy/*\"]\n");
    std::fs::write(project.join("pyproject.toml"), pyproject).unwrap();
    std::fs::create_dir_all(project.join("legacy")).unwrap();
    std::fs::write(
        project.join("legacy/old.py"),
        "from django.core.cache import cache\n\ncache.get(\"k\")\n",
    )
    .unwrap();
    let config = |hook: &str| {
        format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: {hook}\n",
            hooks.display()
        )
    };
    std::fs::write(
        project.join(".pre-commit-config.yaml"),
        config("tenantlint"),
    )
    .unwrap();
    std::fs::write(
        project.join("fix.pre-commit-config.yaml"),
        config("tenantlint-fix"),
    )
    .unwrap();
    git_init(&project);
    ok(git(&project, &["add", "-A"]), "git add");

    // 1. `pre-commit try-repo` against the hook repository: the bad file fails, diagnostics shown.
    let o = run_in(
        &project,
        &pre_commit,
        &[
            "try-repo",
            hooks.to_str().unwrap(),
            "tenantlint",
            "--files",
            "app/services.py",
        ],
        &env,
    );
    let out = text(&o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "try-repo on the bad file fails:\n{out}"
    );
    assert!(
        out.contains("tenantlint") && out.contains("Failed"),
        "{out}"
    );
    assert!(
        out.contains("app/services.py:5:13: TEN301"),
        "the diagnostics are shown:\n{out}"
    );

    // 2. Installed as a git hook: a commit of clean files passes (the excluded legacy file too).
    ok(
        run_in(&project, &pre_commit, &["install"], &env),
        "pre-commit install",
    );
    ok(git(&project, &["reset", "-q"]), "git reset");
    ok(
        git(
            &project,
            &[
                "add",
                "pyproject.toml",
                ".pre-commit-config.yaml",
                "fix.pre-commit-config.yaml",
                "tenancy",
                "app/__init__.py",
                "legacy",
            ],
        ),
        "git add clean files",
    );
    let o = git(&project, &["commit", "-m", "clean"]);
    let out = text(&o);
    assert!(o.status.success(), "a clean commit passes:\n{out}");
    assert!(
        out.contains("tenantlint") && out.contains("Passed"),
        "{out}"
    );
    let head = |p: &Path| {
        String::from_utf8(ok(git(p, &["rev-parse", "HEAD"]), "rev-parse").stdout).unwrap()
    };
    let clean_head = head(&project);

    // 3. A commit with the bad file is blocked, with the diagnostics shown.
    ok(
        git(&project, &["add", "app/services.py"]),
        "git add bad file",
    );
    let o = git(&project, &["commit", "-m", "bad"]);
    let out = text(&o);
    assert!(!o.status.success(), "a bad commit is blocked:\n{out}");
    assert!(
        out.contains("Failed") && out.contains("app/services.py:5:13: TEN301"),
        "{out}"
    );
    assert_eq!(head(&project), clean_head, "nothing was committed");
    assert_eq!(
        std::fs::read_to_string(project.join("app/services.py")).unwrap(),
        original,
        "tenantlint does not modify"
    );

    // 4. tenantlint-fix: the first commit fixes the file and fails (files were modified), the
    //    second, with the fix staged, passes.
    ok(
        run_in(
            &project,
            &pre_commit,
            &["install", "--overwrite", "-c", "fix.pre-commit-config.yaml"],
            &env,
        ),
        "pre-commit install (fix hook)",
    );
    let o = git(&project, &["commit", "-m", "bad, fixed by the hook"]);
    let out = text(&o);
    assert!(
        !o.status.success(),
        "the fixing run fails as pre-commit expects:\n{out}"
    );
    assert!(out.contains("files were modified by this hook"), "{out}");
    assert_eq!(head(&project), clean_head);
    assert_eq!(
        std::fs::read_to_string(project.join("app/services.py")).unwrap(),
        expected_fixed,
        "the fix was applied"
    );

    ok(
        git(&project, &["add", "app/services.py"]),
        "git add fixed file",
    );
    let o = git(&project, &["commit", "-m", "fixed"]);
    let out = text(&o);
    assert!(o.status.success(), "the second run passes:\n{out}");
    assert!(out.contains("Passed"), "{out}");
    assert_ne!(head(&project), clean_head);
    let committed = ok(git(&project, &["show", "HEAD:app/services.py"]), "git show");
    assert_eq!(String::from_utf8_lossy(&committed.stdout), expected_fixed);
}

/// The language server end to end with a real LSP client: pytest-lsp (on pygls) starts the release
/// binary with the capabilities of real editors (Emacs eglot: pushed diagnostics; Neovim 0.11: pull
/// diagnostics, UTF-8 positions), edits `models.py` and expects the open `views.py` republished,
/// asks for the quick fix and `source.fixAll.tenantlint` (`tests/lsp/test_server.py`).
#[test]
#[ignore]
fn lsp_server_with_pytest_lsp() {
    let bin = tools();
    ok(
        run_in(
            &repo(),
            "cargo",
            &["build", "--release", "--bin", "tenantlint"],
            &[],
        ),
        "cargo build --release",
    );
    let exe = cargo_target().join("release/tenantlint");
    let out = run_in(
        &repo(),
        bin.join("pytest"),
        &["-q", "-p", "no:cacheprovider", "tests/lsp"],
        &[("TENANTLINT_BIN", &exe)],
    );
    let shown = show(&out);
    assert!(out.status.success(), "pytest tests/lsp failed:\n{shown}");
    assert!(shown.contains("2 passed"), "{shown}");
}

/// The files ruff's isort (`ruff check --select I`, default settings) flags under `dir`.
fn isort_findings(ruff: &Path, dir: &Path) -> std::collections::BTreeSet<String> {
    let out = run_in(
        dir,
        ruff,
        &[
            "check",
            "--no-cache",
            "--isolated",
            "--select",
            "I",
            "--output-format",
            "json",
            ".",
        ],
        &[],
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("ruff printed no JSON ({e}):\n{}", show(&out)));
    v.as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let f = d["filename"].as_str().unwrap();
            Path::new(f)
                .strip_prefix(dir)
                .map(|p| p.display().to_string())
                .unwrap_or_else(|_| f.to_string())
        })
        .collect()
}

/// Imports added by fixes land where isort puts them: after `check --fix --unsafe-fixes`, ruff
/// from PyPI (`ruff check --select I`) flags no file it did not flag before, on the demo, the
/// preset projects and `fixtures/isort` (every file of which starts clean and gets an import).
#[test]
#[ignore = "slow: needs ruff from PyPI; run with --ignored"]
fn fixed_files_pass_ruff_isort() {
    let ruff = tools().join("ruff");
    let fixtures = repo().join("fixtures");
    let mut projects = vec![fixtures.join("isort"), fixtures.join("demo")];
    for p in std::fs::read_dir(fixtures.join("presets")).unwrap() {
        projects.push(p.unwrap().path());
    }
    for project in projects {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("p");
        copy_dir(&project, &dir, &|_| false);
        let before = isort_findings(&ruff, &dir);
        let fix = run_in(
            &dir,
            env!("CARGO_BIN_EXE_tenantlint"),
            &[
                "check",
                "--fix",
                "--unsafe-fixes",
                "--no-cache",
                "--exit-zero",
            ],
            &[],
        );
        ok(fix, "tenantlint check --fix");
        let mut changed = Vec::new();
        for entry in ignore::WalkBuilder::new(&dir).build() {
            let entry = entry.unwrap();
            let rel = entry.path().strip_prefix(&dir).unwrap().to_path_buf();
            if entry.path().extension().is_some_and(|e| e == "py")
                && std::fs::read(entry.path()).unwrap()
                    != std::fs::read(project.join(&rel)).unwrap()
            {
                changed.push(rel.display().to_string());
            }
        }
        // The django-tenants preset has nothing to fix (its ORM rules are off).
        if !project.ends_with("django-tenants") {
            assert!(
                !changed.is_empty(),
                "{}: --fix changed nothing",
                project.display()
            );
        }
        let after = isort_findings(&ruff, &dir);
        let new: Vec<&String> = after.difference(&before).collect();
        assert!(
            new.is_empty(),
            "{}: ruff --select I flags fixed files {new:?}; changed: {changed:?}",
            project.display()
        );
        if project.ends_with("isort") {
            assert!(
                before.is_empty(),
                "fixtures/isort must start clean: {before:?}"
            );
            let app: Vec<&String> = changed.iter().filter(|c| c.starts_with("app/")).collect();
            assert_eq!(app.len(), 7, "every app file gets an import: {changed:?}");
        }
    }
}
