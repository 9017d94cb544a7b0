//! The command line as the contract describes it: exit codes, configuration discovery and keys,
//! rule selection, single files and standard input, output formats, suppression comments.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::*;
use serde_json::Value;

fn stderr_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout_of(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Run `check <args>` in `dir` and return the raw output.
fn run(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = tl()
        .current_dir(dir)
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    assert!(
        !stderr_of(&out).contains("panicked"),
        "panic:\n{}",
        stderr_of(&out)
    );
    out
}

/// Add a `[tool.tenantlint]` table to the project's `pyproject.toml`.
fn pyproject_config(dir: &Path, table_body: &str) {
    write(
        dir,
        "pyproject.toml",
        &format!("{PYPROJECT}\n[tool.tenantlint]\n{table_body}\n"),
    );
}

/// Assert that a run failed with a configuration error naming `key` and `file`.
fn assert_config_error(out: &std::process::Output, key: &str, file: &str) {
    let err = stderr_of(out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2; stderr:\n{err}\nstdout:\n{}",
        stdout_of(out)
    );
    assert!(
        err.contains(key),
        "stderr does not name the key `{key}`:\n{err}"
    );
    assert!(
        err.contains(file),
        "stderr does not name the file `{file}`:\n{err}"
    );
    assert!(
        stdout_of(out).trim().is_empty() || !stdout_of(out).contains("TEN"),
        "no report expected on a config error"
    );
}

// ---------------------------------------------------------------------------------------------
// Exit codes
// ---------------------------------------------------------------------------------------------

#[test]
fn exit_0_on_a_clean_project() {
    let p = clean_project();
    let out = run(p.path(), &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        stdout_of(&out),
        stderr_of(&out)
    );
    assert!(
        stdout_of(&out).contains("All checks passed!"),
        "{}",
        stdout_of(&out)
    );
}

#[test]
fn exit_1_with_findings() {
    let p = std_project();
    let out = run(p.path(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let out = run(p.path(), &["."]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn exit_zero_flag() {
    let p = std_project();
    let out = run(p.path(), &["--exit-zero"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout_of(&out).contains("TEN201"),
        "diagnostics are still printed:\n{}",
        stdout_of(&out)
    );
}

#[test]
fn exit_2_on_unknown_flag() {
    let p = clean_project();
    let out = run(p.path(), &["--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr_of(&out).contains("--no-such-flag"),
        "{}",
        stderr_of(&out)
    );
    let out = tl()
        .current_dir(p.path())
        .arg("frobnicate")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "unknown subcommand");
}

#[test]
fn exit_2_on_unknown_rule_selector() {
    let p = std_project();
    for flag in ["--select", "--ignore", "--extend-select"] {
        let out = run(p.path(), &[flag, "XYZ"]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} XYZ; stderr:\n{}",
            stderr_of(&out)
        );
        assert!(
            stderr_of(&out).contains("XYZ"),
            "{flag}: stderr should name the selector:\n{}",
            stderr_of(&out)
        );
    }
    // One bad code in a list is enough.
    let out = run(p.path(), &["--select", "TEN201,TEN999"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("TEN999"));
}

#[test]
fn version() {
    let out = tl().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_of(&out).trim_end(), "tenantlint 0.1.0");
}

// ---------------------------------------------------------------------------------------------
// Configuration errors
// ---------------------------------------------------------------------------------------------

#[test]
fn unknown_key_is_an_error_naming_key_and_file() {
    let p = std_project();
    pyproject_config(p.path(), "tenant-feilds = [\"tenant\"]");
    assert_config_error(&run(p.path(), &[]), "tenant-feilds", "pyproject.toml");

    let p = std_project();
    write(p.path(), "tenantlint.toml", "bogus-key = 1\n");
    assert_config_error(&run(p.path(), &[]), "bogus-key", "tenantlint.toml");

    let p = std_project();
    write(
        p.path(),
        ".tenantlint.toml",
        "[per-file-ignores]\n\"a.py\" = [\"TEN201\"]\n[whatever]\nx = 1\n",
    );
    assert_config_error(&run(p.path(), &[]), "whatever", ".tenantlint.toml");
}

#[test]
fn wrong_type_is_an_error_naming_key_and_file() {
    let cases = [
        ("tenant-fields = \"tenant\"", "tenant-fields"),
        ("respect-gitignore = \"yes\"", "respect-gitignore"),
        ("tenant-model = [\"Tenant\"]", "tenant-model"),
        ("key-prefixes = [\"tenant:\", 3]", "key-prefixes"),
        ("per-file-ignores = [\"x\"]", "per-file-ignores"),
        ("select = [\"XYZ\"]", "select"),
    ];
    for (body, key) in cases {
        let p = std_project();
        pyproject_config(p.path(), body);
        let out = run(p.path(), &[]);
        assert_config_error(&out, key, "pyproject.toml");
    }
}

#[test]
fn invalid_toml_is_an_error_naming_the_file() {
    let p = std_project();
    write(p.path(), "tenantlint.toml", "ignore = [\"TEN201\"\n");
    let out = run(p.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("tenantlint.toml"),
        "{}",
        stderr_of(&out)
    );

    let p = std_project();
    write(p.path(), "pyproject.toml", "[project\nname = 1\n");
    let out = run(p.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr_of(&out));
    assert!(
        stderr_of(&out).contains("pyproject.toml"),
        "{}",
        stderr_of(&out)
    );
}

#[test]
fn missing_config_file_given_with_config_flag_is_exit_2() {
    let p = std_project();
    let out = run(p.path(), &["--config", "nope.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr_of(&out).contains("nope.toml"), "{}", stderr_of(&out));
}

// ---------------------------------------------------------------------------------------------
// Configuration discovery
// ---------------------------------------------------------------------------------------------

#[test]
fn pyproject_without_tenantlint_table_is_ignored() {
    // Other tools' tables (even with keys tenantlint does not know) are not ours to validate.
    let p = std_project();
    write(
        p.path(),
        "pyproject.toml",
        &format!("{PYPROJECT}\n[tool.black]\nline-length = 100\n\n[tool.ruff]\nselect = [\"E\"]\n"),
    );
    assert_eq!(findings(p.path(), &[]), lines(STD_ALL));
}

#[test]
fn pyproject_without_table_does_not_stop_the_search_upwards() {
    // outer/.tenantlint.toml applies to outer/inner/job.py: inner's pyproject has no table.
    let outer = tempfile::tempdir().unwrap();
    write(outer.path(), ".tenantlint.toml", "ignore = [\"TEN301\"]\n");
    write(outer.path(), "inner/pyproject.toml", PYPROJECT);
    write(
        outer.path(),
        "inner/job.py",
        "from django.core.cache import cache\n\ncache.get(\"plain\")\n",
    );
    let inner = outer.path().join("inner");
    assert_eq!(findings(&inner, &[]), Vec::<String>::new());
    // Control: with --isolated the finding is there.
    assert_eq!(
        findings(&inner, &["--isolated"]),
        lines(&["job.py:3:1 TEN301"])
    );
}

#[test]
fn config_file_precedence_within_one_directory() {
    let p = std_project();
    pyproject_config(p.path(), "ignore = [\"TEN101\"]");
    write(p.path(), ".tenantlint.toml", "ignore = [\"TEN301\"]\n");
    write(p.path(), "tenantlint.toml", "ignore = [\"TEN201\"]\n");

    // tenantlint.toml wins.
    assert_eq!(
        findings(p.path(), &[]),
        lines(&["app/models.py:6:7 TEN101", "app/views.py:12:5 TEN301"])
    );

    // Then .tenantlint.toml.
    std::fs::remove_file(p.path().join("tenantlint.toml")).unwrap();
    assert_eq!(
        findings(p.path(), &[]),
        lines(&[
            "app/models.py:6:7 TEN101",
            "app/views.py:8:12 TEN201",
            "app/views.py:16:12 TEN201"
        ])
    );

    // Then pyproject.toml.
    std::fs::remove_file(p.path().join(".tenantlint.toml")).unwrap();
    assert_eq!(
        findings(p.path(), &[]),
        lines(&[
            "app/views.py:8:12 TEN201",
            "app/views.py:12:5 TEN301",
            "app/views.py:16:12 TEN201"
        ])
    );
}

#[test]
fn nearest_config_up_from_the_checked_files_wins() {
    let p = std_project();
    pyproject_config(p.path(), "ignore = [\"TEN201\"]");
    write(
        p.path(),
        "scripts/job.py",
        "from django.core.cache import cache\n\ncache.get(\"plain\")\n",
    );

    // Control: only the root config exists; it does not ignore TEN301.
    assert_eq!(
        findings(p.path(), &["scripts/job.py"]),
        lines(&["scripts/job.py:3:1 TEN301"])
    );

    // A nearer config in scripts/ wins for files under it.
    write(
        p.path(),
        "scripts/.tenantlint.toml",
        "ignore = [\"TEN301\"]\n",
    );
    assert_eq!(
        findings(p.path(), &["scripts/job.py"]),
        Vec::<String>::new()
    );
    assert_eq!(
        findings(&p.path().join("scripts"), &[]),
        Vec::<String>::new()
    );
    // ... and not for files elsewhere.
    assert_eq!(
        findings(p.path(), &["app/views.py"]),
        lines(&["app/views.py:12:5 TEN301"])
    );
}

/// pre-commit passes the changed files in any order: each file gets its nearest config, and the
/// order of the paths on the command line changes nothing.
#[test]
fn nearest_config_with_several_paths_is_per_file_and_order_independent() {
    let p = std_project();
    write(
        p.path(),
        "scripts/job.py",
        "from django.core.cache import cache\n\ncache.get(\"plain\")\n",
    );
    write(
        p.path(),
        "scripts/.tenantlint.toml",
        "ignore = [\"TEN301\"]\n",
    );
    let want = lines(&[
        "app/views.py:8:12 TEN201",
        "app/views.py:12:5 TEN301",
        "app/views.py:16:12 TEN201",
    ]);
    assert_eq!(
        findings(p.path(), &["app/views.py", "scripts/job.py"]),
        want,
        "app/views.py first"
    );
    assert_eq!(
        findings(p.path(), &["scripts/job.py", "app/views.py"]),
        want,
        "scripts/job.py first"
    );
}

#[test]
fn config_flag_uses_that_file_and_skips_discovery() {
    let p = std_project();
    write(p.path(), "tenantlint.toml", "ignore = [\"TEN201\"]\n");
    write(p.path(), "ci.toml", "ignore = [\"TEN301\"]\n");
    assert_eq!(
        findings(p.path(), &["--config", "ci.toml"]),
        lines(&[
            "app/models.py:6:7 TEN101",
            "app/views.py:8:12 TEN201",
            "app/views.py:16:12 TEN201"
        ])
    );
    // An absolute path works as well.
    let abs = p.path().join("ci.toml");
    assert_eq!(
        findings(p.path(), &["--config", abs.to_str().unwrap()]),
        lines(&[
            "app/models.py:6:7 TEN101",
            "app/views.py:8:12 TEN201",
            "app/views.py:16:12 TEN201"
        ])
    );
}

#[test]
fn config_flag_errors_name_the_file() {
    let p = std_project();
    write(p.path(), "ci.toml", "tenant-fields = 3\n");
    assert_config_error(
        &run(p.path(), &["--config", "ci.toml"]),
        "tenant-fields",
        "ci.toml",
    );
}

#[test]
fn isolated_ignores_config_files() {
    let p = std_project();
    write(p.path(), "tenantlint.toml", "ignore = [\"TEN301\"]\n");
    assert!(
        !findings(p.path(), &[])
            .iter()
            .any(|l| l.ends_with("TEN301"))
    );
    assert_eq!(findings(p.path(), &["--isolated"]), lines(STD_ALL));

    // Even a broken config is not read.
    write(p.path(), "tenantlint.toml", "this is not toml\n");
    assert_eq!(run(p.path(), &[]).status.code(), Some(2));
    assert_eq!(findings(p.path(), &["--isolated"]), lines(STD_ALL));
}

// ---------------------------------------------------------------------------------------------
// Configuration keys change behaviour
// ---------------------------------------------------------------------------------------------

#[test]
fn tenant_fields_key() {
    let p = clean_project();
    write(
        p.path(),
        "docs/models.py",
        "from django.db import models\n\nfrom tenancy.models import Tenant\n\n\nclass Document(models.Model):\n    organization = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n",
    );
    assert_eq!(
        findings(p.path(), &[]),
        Vec::<String>::new(),
        "`organization` is not a tenant field by default"
    );
    pyproject_config(p.path(), "tenant-fields = [\"organization\"]");
    assert_eq!(
        findings(p.path(), &[]),
        lines(&["docs/models.py:6:7 TEN101"])
    );
}

#[test]
fn tenant_model_key() {
    let models = "from django.db import models\n\n\nclass Organization(models.Model):\n    name = models.CharField(max_length=100)\n\n\nclass Team(models.Model):\n    tenant = models.ForeignKey(Organization, on_delete=models.CASCADE)\n";
    let p = clean_project();
    write(p.path(), "orgs/models.py", models);
    write(
        p.path(),
        "orgs/views.py",
        "from orgs.models import Team\n\n\ndef teams():\n    return Team.objects.all()\n",
    );
    assert_eq!(
        findings(p.path(), &[]),
        Vec::<String>::new(),
        "a FK to Organization is not tenant-owned by default"
    );
    for value in ["Organization", "orgs.models.Organization"] {
        pyproject_config(p.path(), &format!("tenant-model = \"{value}\""));
        assert_eq!(
            findings(p.path(), &[]),
            lines(&["orgs/models.py:8:7 TEN101", "orgs/views.py:5:12 TEN201"]),
            "tenant-model = {value:?}"
        );
    }
}

#[test]
fn scoped_managers_key() {
    let models = "from django.db import models\n\nfrom tenancy.models import Tenant\n\n\nclass OrgScopedManager(models.Manager):\n    pass\n\n\nclass Note(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n\n    objects = OrgScopedManager()\n";
    let p = clean_project();
    write(p.path(), "notes/models.py", models);
    write(
        p.path(),
        "notes/views.py",
        "from notes.models import Note\n\n\ndef notes():\n    return Note.objects.all()\n",
    );
    assert_eq!(
        findings(p.path(), &[]),
        lines(&["notes/models.py:10:7 TEN101", "notes/views.py:5:12 TEN201"])
    );
    pyproject_config(
        p.path(),
        "scoped-managers = [\"TenantAwareManager\", \"OrgScopedManager\"]",
    );
    assert_eq!(findings(p.path(), &[]), Vec::<String>::new());
}

#[test]
fn global_models_key() {
    let p = std_project();
    pyproject_config(p.path(), "global-models = [\"Invoice\"]");
    assert_eq!(
        findings(p.path(), &[]),
        lines(&["app/views.py:8:12 TEN201", "app/views.py:12:5 TEN301"])
    );
}

#[test]
fn tenant_cache_methods_key_controls_the_fix() {
    let p = std_project();
    let out = run(p.path(), &["--output-format", "json", "--select", "TEN301"]);
    let items = parse_json(&out.stdout);
    assert_eq!(items.len(), 1);
    assert!(
        items[0]["fix"].is_object(),
        "cache.set() has a fix by default: {}",
        items[0]
    );

    pyproject_config(p.path(), "tenant-cache-methods = [\"get\", \"delete\"]");
    let out = run(p.path(), &["--output-format", "json", "--select", "TEN301"]);
    let items = parse_json(&out.stdout);
    assert_eq!(items.len(), 1, "the diagnostic stays");
    assert_eq!(key(&items[0]), "app/views.py:12:5 TEN301");
    assert!(
        items[0]["fix"].is_null(),
        "`set` is not a tenant cache method any more: {}",
        items[0]
    );
}

const KEYS_PY: &str = "from django.core.cache import cache\n\nfrom app.keyutil import org_key\n\n\ndef f():\n    cache.get(org_key(\"x\"))\n    cache.get(\"org:1:y\")\n";

fn keys_project() -> tempfile::TempDir {
    let p = clean_project();
    write(
        p.path(),
        "app/keyutil.py",
        "def org_key(*parts):\n    return \"org:\" + \":\".join(parts)\n",
    );
    write(p.path(), "app/keys.py", KEYS_PY);
    p
}

#[test]
fn key_helpers_key() {
    let p = keys_project();
    assert_eq!(
        findings(p.path(), &[]),
        lines(&["app/keys.py:7:5 TEN301", "app/keys.py:8:5 TEN301"])
    );
    for value in ["org_key", "app.keyutil.org_key"] {
        pyproject_config(
            p.path(),
            &format!("key-helpers = [\"tenant_key\", \"{value}\"]"),
        );
        assert_eq!(
            findings(p.path(), &[]),
            lines(&["app/keys.py:8:5 TEN301"]),
            "key-helpers with {value:?}"
        );
    }
}

#[test]
fn key_prefixes_key() {
    let p = keys_project();
    pyproject_config(p.path(), "key-prefixes = [\"org:\"]");
    assert_eq!(findings(p.path(), &[]), lines(&["app/keys.py:7:5 TEN301"]));
}

#[test]
fn per_file_ignores_key() {
    let cases: &[(&str, &[&str])] = &[
        (
            "\"app/views.py\" = [\"TEN201\"]",
            &["app/models.py:6:7 TEN101", "app/views.py:12:5 TEN301"],
        ),
        // A bare file name matches in any directory.
        (
            "\"views.py\" = [\"TEN2\"]",
            &["app/models.py:6:7 TEN101", "app/views.py:12:5 TEN301"],
        ),
        (
            "\"app/*.py\" = [\"TEN1\", \"TEN3\"]",
            &["app/views.py:8:12 TEN201", "app/views.py:16:12 TEN201"],
        ),
        ("\"other/*.py\" = [\"TEN\"]", STD_ALL),
    ];
    for (entry, want) in cases {
        let p = std_project();
        pyproject_config(
            p.path(),
            &format!("[tool.tenantlint.per-file-ignores]\n{entry}"),
        );
        assert_eq!(
            findings(p.path(), &[]),
            lines(want),
            "per-file-ignores {entry}"
        );
    }
}

const LEGACY: &str =
    "from django.core.cache import cache\n\n\ndef old():\n    cache.get(\"plain\")\n";

#[test]
fn exclude_and_extend_exclude_keys() {
    let with_legacy = {
        let mut v = lines(STD_ALL);
        v.push("legacy/old.py:5:5 TEN301".into());
        v
    };
    let p = std_project();
    write(p.path(), "legacy/old.py", LEGACY);
    assert_eq!(findings(p.path(), &[]), with_legacy);

    for body in [
        "extend-exclude = [\"legacy\"]",
        "exclude = [\"legacy\"]",
        "extend-exclude = [\"legacy/*.py\"]",
    ] {
        pyproject_config(p.path(), body);
        assert_eq!(findings(p.path(), &[]), lines(STD_ALL), "{body}");
    }

    pyproject_config(p.path(), "extend-exclude = [\"app/v*.py\"]");
    assert_eq!(
        findings(p.path(), &[]),
        lines(&["app/models.py:6:7 TEN101", "legacy/old.py:5:5 TEN301"])
    );
}

#[test]
fn default_excludes_and_exclude_replacing_them() {
    let p = clean_project();
    write(p.path(), "venv/lib/thing.py", LEGACY);
    write(p.path(), "build/gen.py", LEGACY);
    write(p.path(), "node_modules/x/y.py", LEGACY);
    write(p.path(), ".git/hooks/h.py", LEGACY);
    assert_eq!(
        findings(p.path(), &[]),
        Vec::<String>::new(),
        "default excludes apply"
    );

    // `exclude` replaces the defaults (as in ruff); `extend-exclude` adds to them.
    pyproject_config(p.path(), "extend-exclude = [\"other\"]");
    assert_eq!(findings(p.path(), &[]), Vec::<String>::new());
    pyproject_config(p.path(), "exclude = [\"node_modules\", \".git\"]");
    assert_eq!(
        findings(p.path(), &[]),
        lines(&["build/gen.py:5:5 TEN301", "venv/lib/thing.py:5:5 TEN301"])
    );
}

#[test]
fn respect_gitignore_key() {
    let p = std_project();
    write(p.path(), ".gitignore", "generated/\n");
    write(p.path(), "generated/out.py", LEGACY);
    write(p.path(), ".ignore", "scratch.py\n");
    write(p.path(), "scratch.py", LEGACY);
    assert_eq!(
        findings(p.path(), &[]),
        lines(STD_ALL),
        ".gitignore and .ignore are honoured"
    );

    pyproject_config(p.path(), "respect-gitignore = false");
    let mut want = lines(STD_ALL);
    want.push("generated/out.py:5:5 TEN301".into());
    want.push("scratch.py:5:5 TEN301".into());
    // app/... < generated/... < scratch.py, already in report order.
    assert_eq!(findings(p.path(), &[]), want);
}

#[test]
fn src_key_sets_module_roots() {
    let p = tempfile::tempdir().unwrap();
    write(p.path(), "pyproject.toml", PYPROJECT);
    write(p.path(), "src/tenancy/__init__.py", "");
    write(p.path(), "src/tenancy/models.py", TENANCY_MODELS);
    write(p.path(), "src/billing/__init__.py", "");
    write(
        p.path(),
        "src/billing/models.py",
        "from django.db import models\n\nfrom tenancy.models import TenantAwareModel\n\n\nclass Invoice(TenantAwareModel):\n    number = models.CharField(max_length=20)\n",
    );
    write(
        p.path(),
        "src/billing/views.py",
        "from billing.models import Invoice\n\n\ndef everything():\n    return Invoice._base_manager.all()\n",
    );
    let want = "src/billing/views.py:5:12 TEN201".to_string();
    assert!(
        !findings(p.path(), &[]).contains(&want),
        "without `src`, `billing.models` is not a module of this project"
    );
    pyproject_config(p.path(), "src = [\"src\"]");
    assert_eq!(findings(p.path(), &[]), vec![want.clone()]);
    // The same from inside the source root, and for a single file.
    assert_eq!(
        findings(&p.path().join("src"), &[]),
        vec!["billing/views.py:5:12 TEN201".to_string()]
    );
    assert_eq!(findings(p.path(), &["src/billing/views.py"]), vec![want]);
}

// ---------------------------------------------------------------------------------------------
// Rule selection on the command line
// ---------------------------------------------------------------------------------------------

#[test]
fn select_ignore_extend_select_flags() {
    let p = std_project();
    assert_eq!(
        findings(p.path(), &["--select", "TEN3"]),
        lines(&["app/views.py:12:5 TEN301"])
    );
    assert_eq!(
        findings(p.path(), &["--select", "TEN101,TEN301"]),
        lines(&["app/models.py:6:7 TEN101", "app/views.py:12:5 TEN301"])
    );
    assert_eq!(
        findings(p.path(), &["--ignore", "TEN201"]),
        lines(&["app/models.py:6:7 TEN101", "app/views.py:12:5 TEN301"])
    );
    assert_eq!(
        findings(p.path(), &["--select", "TEN", "--ignore", "TEN2,TEN3"]),
        lines(&["app/models.py:6:7 TEN101"])
    );

    // --extend-select adds to the configured selection; --select replaces it.
    pyproject_config(p.path(), "select = [\"TEN1\"]");
    assert_eq!(
        findings(p.path(), &[]),
        lines(&["app/models.py:6:7 TEN101"])
    );
    assert_eq!(
        findings(p.path(), &["--extend-select", "TEN301"]),
        lines(&["app/models.py:6:7 TEN101", "app/views.py:12:5 TEN301"])
    );
    assert_eq!(
        findings(p.path(), &["--select", "TEN301"]),
        lines(&["app/views.py:12:5 TEN301"])
    );
}

// ---------------------------------------------------------------------------------------------
// Single files, explicit paths, standard input
// ---------------------------------------------------------------------------------------------

#[test]
fn single_file_uses_whole_project_knowledge() {
    let p = std_project();
    assert_eq!(
        findings(p.path(), &["app/views.py"]),
        lines(&[
            "app/views.py:8:12 TEN201",
            "app/views.py:12:5 TEN301",
            "app/views.py:16:12 TEN201"
        ])
    );
    // The contract: the findings elsewhere that models.py causes (the unscoped queries on its
    // `Invoice` in views.py) are reported with it.
    assert_eq!(
        findings(p.path(), &["app/models.py"]),
        lines(&[
            "app/models.py:6:7 TEN101",
            "app/views.py:8:12 TEN201",
            "app/views.py:16:12 TEN201"
        ])
    );
    // From inside the app directory, and with an absolute path.
    assert_eq!(
        findings(&p.path().join("app"), &["views.py"]),
        lines(&[
            "views.py:8:12 TEN201",
            "views.py:12:5 TEN301",
            "views.py:16:12 TEN201"
        ])
    );
    let abs = p.path().join("app/views.py");
    assert_eq!(findings(p.path(), &[abs.to_str().unwrap()]).len(), 3);
    // Two files.
    assert_eq!(
        findings(p.path(), &["app/views.py", "app/models.py"]),
        lines(STD_ALL)
    );
}

#[test]
fn explicit_path_matching_exclude_is_checked_unless_force_exclude() {
    let p = std_project();
    write(p.path(), "legacy/old.py", LEGACY);
    pyproject_config(p.path(), "extend-exclude = [\"legacy\"]");
    assert_eq!(
        findings(p.path(), &["legacy/old.py"]),
        lines(&["legacy/old.py:5:5 TEN301"])
    );

    let out = run(
        p.path(),
        &[
            "--force-exclude",
            "--output-format",
            "json",
            "legacy/old.py",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr_of(&out));
    assert_eq!(keys(&out.stdout), Vec::<String>::new());

    // pre-commit style: a mix of excluded and included files.
    assert_eq!(
        findings(
            p.path(),
            &["--force-exclude", "legacy/old.py", "app/models.py"]
        ),
        lines(&[
            "app/models.py:6:7 TEN101",
            "app/views.py:8:12 TEN201",
            "app/views.py:16:12 TEN201"
        ])
    );
}

#[test]
fn stdin_filename_resolves_against_the_project() {
    let p = std_project();
    // On disk the view is clean; the editor buffer on stdin is not.
    write(p.path(), "app/views.py", "from app.models import Order\n");
    let out = tl()
        .current_dir(p.path())
        .args([
            "check",
            "--output-format",
            "json",
            "--stdin-filename",
            "app/views.py",
        ])
        .write_stdin(APP_VIEWS)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(
        keys(&out.stdout),
        lines(&[
            "app/views.py:8:12 TEN201",
            "app/views.py:12:5 TEN301",
            "app/views.py:16:12 TEN201"
        ])
    );

    // With `-` as the path too.
    let out = tl()
        .current_dir(p.path())
        .args([
            "check",
            "--output-format",
            "json",
            "--stdin-filename",
            "app/views.py",
            "-",
        ])
        .write_stdin(APP_VIEWS)
        .output()
        .unwrap();
    assert_eq!(keys(&out.stdout).len(), 3, "{}", stderr_of(&out));

    // A file that does not exist on disk yet.
    let out = tl()
        .current_dir(p.path())
        .args([
            "check",
            "--output-format",
            "json",
            "--stdin-filename",
            "app/new_view.py",
        ])
        .write_stdin("from app.models import Invoice\n\nInvoice.objects.count()\n")
        .output()
        .unwrap();
    assert_eq!(
        keys(&out.stdout),
        lines(&["app/new_view.py:3:1 TEN201"]),
        "{}",
        stderr_of(&out)
    );
}

/// Standard input that is not UTF-8 is the same problem as a file that is not: a TEN901
/// diagnostic for that path, not a usage error.
#[test]
fn stdin_invalid_utf8_is_ten901() {
    let p = clean_project();
    let out = tl()
        .current_dir(p.path())
        .args([
            "check",
            "--output-format",
            "json",
            "--stdin-filename",
            "app/legacy.py",
        ])
        .write_stdin(&b"x = '\xff'\n"[..])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    assert_eq!(keys(&out.stdout), lines(&["app/legacy.py:1:1 TEN901"]));
}

#[test]
fn stdin_dash_without_filename() {
    let p = clean_project();
    let out = tl()
        .current_dir(p.path())
        .args(["check", "--output-format", "json", "-"])
        .write_stdin("from django.core.cache import cache\n\ncache.get(\"x\")\n")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr_of(&out));
    let items = parse_json(&out.stdout);
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["code"], "TEN301");
    assert_eq!(items[0]["location"]["row"], 3);
}

// ---------------------------------------------------------------------------------------------
// Output formats
// ---------------------------------------------------------------------------------------------

fn names() -> [(&'static str, &'static str); 5] {
    [
        ("TEN101", "missing-tenant-manager"),
        ("TEN201", "unscoped-query"),
        ("TEN301", "unprefixed-cache-key"),
        ("TEN900", "syntax-error"),
        ("TEN901", "io-error"),
    ]
}

fn assert_location(v: &Value, what: &str) {
    let obj = v
        .as_object()
        .unwrap_or_else(|| panic!("{what} is not an object: {v}"));
    let keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    assert_eq!(keys, BTreeSet::from(["row", "column"]), "{what}: {v}");
    assert!(v["row"].as_u64().is_some_and(|r| r >= 1), "{what}.row: {v}");
    assert!(
        v["column"].as_u64().is_some_and(|c| c >= 1),
        "{what}.column: {v}"
    );
}

fn assert_contract_shape(d: &Value) {
    let obj = d
        .as_object()
        .unwrap_or_else(|| panic!("not an object: {d}"));
    // Beyond the contract's keys: `root_cause`, only when another finding causes this one.
    let mut keys: BTreeSet<&str> = obj.keys().map(String::as_str).collect();
    if keys.remove("root_cause") {
        let cause = &d["root_cause"];
        assert!(
            cause["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("TEN")),
            "{d}"
        );
        assert!(
            cause["filename"].as_str().is_some_and(|f| !f.is_empty()),
            "{d}"
        );
        assert_location(&cause["location"], "root_cause.location");
    }
    assert_eq!(
        keys,
        BTreeSet::from([
            "code",
            "name",
            "message",
            "filename",
            "location",
            "end_location",
            "fix",
            // Issue 12: as ruff's JSON.
            "url",
            "noqa_row",
            "severity"
        ]),
        "{d}"
    );
    assert_eq!(d["severity"], "error", "{d}");
    assert!(
        d["url"]
            .as_str()
            .is_some_and(|u| u.ends_with(&format!("/rules/{}.md", d["code"].as_str().unwrap()))),
        "{d}"
    );
    let code = d["code"].as_str().expect("code is a string");
    let name = names()
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, n)| *n)
        .unwrap_or_else(|| panic!("code {code}"));
    assert_eq!(d["name"], name);
    assert!(d["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert!(d["filename"].as_str().is_some_and(|f| !f.is_empty()));
    assert_location(&d["location"], "location");
    assert_location(&d["end_location"], "end_location");
    let start = (
        d["location"]["row"].as_u64(),
        d["location"]["column"].as_u64(),
    );
    let end = (
        d["end_location"]["row"].as_u64(),
        d["end_location"]["column"].as_u64(),
    );
    assert!(end >= start, "end_location before location: {d}");
    match &d["fix"] {
        Value::Null => {}
        Value::Object(fix) => {
            let keys: BTreeSet<&str> = fix.keys().map(String::as_str).collect();
            assert_eq!(
                keys,
                BTreeSet::from(["applicability", "message", "edits"]),
                "{d}"
            );
            assert!(
                ["safe", "unsafe", "display-only"]
                    .contains(&fix["applicability"].as_str().unwrap_or("")),
                "{d}"
            );
            assert!(fix["message"].as_str().is_some_and(|m| !m.is_empty()));
            let edits = fix["edits"].as_array().expect("edits is an array");
            assert!(!edits.is_empty(), "a fix has edits: {d}");
            for e in edits {
                let keys: BTreeSet<&str> =
                    e.as_object().unwrap().keys().map(String::as_str).collect();
                assert_eq!(
                    keys,
                    BTreeSet::from(["content", "location", "end_location"]),
                    "{e}"
                );
                assert!(e["content"].is_string());
                assert_location(&e["location"], "edit location");
                assert_location(&e["end_location"], "edit end_location");
            }
        }
        other => panic!("fix must be null or an object, got {other}"),
    }
}

#[test]
fn json_output_shape() {
    let p = std_project();
    let out = run(p.path(), &["--output-format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let items = parse_json(&out.stdout);
    assert_eq!(
        items.iter().map(key).collect::<Vec<_>>(),
        lines(STD_ALL),
        "sorted by filename, row, column, code"
    );
    for d in &items {
        assert_contract_shape(d);
    }
    // Spot checks.
    let ten201 = &items[1];
    // The end of a query chain's span is not pinned by the contract: only that it is after the start.
    assert_eq!(ten201["end_location"]["row"], 8);
    assert!(
        ten201["end_location"]["column"].as_u64().unwrap() > 12,
        "{ten201}"
    );
    assert!(ten201["fix"].is_null());
    let ten301 = &items[2];
    assert_eq!(ten301["fix"]["applicability"], "safe");
    assert!(
        ten301["message"].as_str().unwrap().contains("cache.set"),
        "{ten301}"
    );
    let ten101 = &items[0];
    assert!(
        ten101["message"].as_str().unwrap().contains("Invoice"),
        "{ten101}"
    );
    assert_eq!(
        ten101["end_location"],
        serde_json::json!({"row": 6, "column": 14}),
        "the class name"
    );

    // A clean project prints an empty array.
    let c = clean_project();
    let out = run(c.path(), &["--output-format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(parse_json(&out.stdout), Vec::<Value>::new());
}

#[test]
fn json_sort_order_within_a_line() {
    // Two diagnostics on one row: column order, and code order at the same position is covered
    // by the demo fixture; here the row/column order across files.
    let p = std_project();
    write(
        p.path(),
        "app/a.py",
        "from django.core.cache import cache\nfrom app.models import Order\n\ncache.set(\"k\", Order.all_objects.count())\n",
    );
    let got = findings(p.path(), &["app/a.py"]);
    assert_eq!(got, lines(&["app/a.py:4:1 TEN301", "app/a.py:4:16 TEN201"]));
}

#[test]
fn json_filename_is_relative_to_cwd() {
    let p = std_project();
    let app = p.path().join("app");
    assert_eq!(
        findings(&app, &[]),
        lines(&[
            "models.py:6:7 TEN101",
            "views.py:8:12 TEN201",
            "views.py:12:5 TEN301",
            "views.py:16:12 TEN201"
        ])
    );
    assert_eq!(findings(p.path(), &["app"]), lines(STD_ALL));
}

#[test]
fn json_filename_outside_cwd_is_as_given() {
    let p = std_project();
    let tenancy = p.path().join("tenancy");
    assert_eq!(
        findings(&tenancy, &["../app/models.py"])[..1],
        lines(&["../app/models.py:6:7 TEN101"]),
        "contract: `filename` is relative to the current directory when under it, else as given"
    );
}

#[test]
fn json_lines_output() {
    let p = std_project();
    let array = parse_json(&run(p.path(), &["--output-format", "json"]).stdout);
    let out = run(p.path(), &["--output-format", "json-lines"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    let objects: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert_eq!(objects, array);
    for d in &objects {
        assert_contract_shape(d);
    }
    // Nothing for a clean project.
    let c = clean_project();
    let out = run(c.path(), &["--output-format", "json-lines"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_of(&out).trim(), "");
}

#[test]
fn concise_output() {
    let p = std_project();
    let out = run(p.path(), &["--output-format", "concise"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    let diag_lines: Vec<&str> = text.lines().filter(|l| l.contains(": TEN")).collect();
    assert_eq!(diag_lines.len(), 4, "{text}");
    for (line, want) in diag_lines.iter().zip(STD_ALL) {
        let (loc, code) = want.split_once(' ').unwrap();
        assert!(
            line.starts_with(&format!("{loc}: {code} ")),
            "`{line}` should start with `{loc}: {code} `"
        );
    }
    assert!(text.contains("Found 4 errors."), "{text}");
    // The default when stdout is not a terminal.
    assert_eq!(stdout_of(&run(p.path(), &[])), text);
}

#[test]
fn full_output_has_code_frames() {
    let p = std_project();
    let out = run(p.path(), &["--output-format", "full", "--color", "never"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    for code in ["TEN101", "TEN201", "TEN301"] {
        assert!(text.contains(code), "{code} missing:\n{text}");
    }
    assert!(text.contains("app/views.py:8:12"), "{text}");
    assert!(
        text.contains("return Order.all_objects.all()"),
        "source line in the frame:\n{text}"
    );
    assert!(
        text.contains("cache.set(\"last\", value)"),
        "source line in the frame:\n{text}"
    );
    assert!(
        text.contains("class Invoice(models.Model):"),
        "source line in the frame:\n{text}"
    );
    assert!(!text.contains('\x1b'), "no colour with --color never");
}

#[test]
fn color_flag_and_no_color() {
    let p = std_project();
    let always = stdout_of(&run(
        p.path(),
        &["--output-format", "full", "--color", "always"],
    ));
    assert!(
        always.contains('\x1b'),
        "--color always colours the output:\n{always}"
    );
    let never = stdout_of(&run(
        p.path(),
        &["--output-format", "full", "--color", "never"],
    ));
    assert!(!never.contains('\x1b'));
    let out = tl()
        .current_dir(p.path())
        .env("NO_COLOR", "1")
        .args(["check", "--output-format", "full"])
        .output()
        .unwrap();
    assert!(!stdout_of(&out).contains('\x1b'), "NO_COLOR is honoured");
    for fmt in ["concise", "json"] {
        let text = stdout_of(&run(
            p.path(),
            &["--output-format", fmt, "--color", "never"],
        ));
        assert!(!text.contains('\x1b'), "{fmt}");
    }
}

/// `check <args>` in `dir` with environment variables set; stdout is a pipe (assert_cmd).
fn run_env(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> String {
    let mut cmd = tl();
    cmd.current_dir(dir).arg("check").args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    stdout_of(&cmd.output().unwrap())
}

const BOLD_RED_CODE: &str = "\x1b[1m\x1b[31mTEN101\x1b[0m";

#[test]
fn concise_grouped_and_statistics_are_coloured_as_ruff_colours_them() {
    let p = std_project();
    let force = [("FORCE_COLOR", "1")];
    let concise = run_env(p.path(), &force, &["--output-format", "concise"]);
    // Path bold, `:` cyan, code bold red, `[*]` cyan.
    assert!(
        concise.contains(&format!(
            "\x1b[1mapp/models.py\x1b[0m\x1b[36m:\x1b[0m6\x1b[36m:\x1b[0m7\x1b[36m:\x1b[0m {BOLD_RED_CODE} \x1b[36m[*]\x1b[0m Model `Invoice`"
        )),
        "{concise:?}"
    );
    // The summary's `[*]` too.
    assert!(
        concise.contains("\x1b[36m[*]\x1b[0m 2 fixable with the `--fix` option"),
        "{concise:?}"
    );
    let grouped = run_env(p.path(), &force, &["--output-format", "grouped"]);
    assert!(
        grouped.contains(&format!(
            "\x1b[1mapp/models.py\x1b[0m\x1b[36m:\x1b[0m\n  6\x1b[36m:\x1b[0m7 {BOLD_RED_CODE}"
        )),
        "{grouped:?}"
    );
    let stats = run_env(p.path(), &force, &["--statistics"]);
    assert!(
        stats.contains(&format!(
            "\x1b[1m1\x1b[0m\t{BOLD_RED_CODE}\tmissing-tenant-manager"
        )),
        "{stats:?}"
    );
    // Without colour, the same text with no escapes.
    let plain = run_env(p.path(), &[], &["--output-format", "concise"]);
    assert!(!plain.contains('\x1b'), "{plain:?}");
    assert!(plain.contains("app/models.py:6:7: TEN101 [*] Model `Invoice`"));
}

#[test]
fn colour_follows_the_environment_under_auto() {
    let p = std_project();
    let coloured = |env: &[(&str, &str)], extra: &[&str]| {
        let mut args = vec!["--output-format", "concise"];
        args.extend_from_slice(extra);
        run_env(p.path(), env, &args).contains('\x1b')
    };
    // A pipe: plain by default.
    assert!(!coloured(&[], &[]));
    // FORCE_COLOR (as ruff) and CLICOLOR_FORCE colour even into a pipe; empty values do not.
    assert!(coloured(&[("FORCE_COLOR", "1")], &[]));
    assert!(coloured(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(!coloured(&[("FORCE_COLOR", "")], &[]));
    assert!(!coloured(&[("CLICOLOR_FORCE", "")], &[]));
    // NO_COLOR wins over them; the command line wins over the environment.
    assert!(!coloured(&[("NO_COLOR", "1"), ("FORCE_COLOR", "1")], &[]));
    assert!(!coloured(
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")],
        &[]
    ));
    assert!(coloured(&[("NO_COLOR", "1")], &["--color", "always"]));
    assert!(!coloured(&[("FORCE_COLOR", "1")], &["--color", "never"]));
    // Never into a file under `auto`, whatever the environment.
    let out = p.path().join("report.txt");
    let out_s = out.to_str().unwrap();
    run_env(
        p.path(),
        &[("FORCE_COLOR", "1"), ("CLICOLOR_FORCE", "1")],
        &["--output-format", "concise", "--output-file", out_s],
    );
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.contains("TEN101") && !written.contains('\x1b'),
        "{written:?}"
    );
}

/// On a terminal (a pseudo-terminal from util-linux `script`), `auto` colours, unless
/// `NO_COLOR`, `TERM=dumb` or `CLICOLOR=0` say otherwise (`CI` is unset: anstream colours in CI).
#[test]
fn colour_on_a_terminal() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: `script` (util-linux) is not installed");
        return;
    }
    let p = std_project();
    let bin = assert_cmd::cargo::cargo_bin("tenantlint");
    let on_tty = |env: &str| {
        let cmd = format!(
            "env -u NO_COLOR -u FORCE_COLOR -u CLICOLOR_FORCE -u CLICOLOR -u CI TERM=xterm {env} {} check --output-format concise",
            bin.display()
        );
        let out = std::process::Command::new("script")
            .args(["-qec", &cmd, "/dev/null"])
            .current_dir(p.path())
            .output()
            .unwrap();
        let text = stdout_of(&out);
        assert!(text.contains("TEN101"), "{text:?}");
        text.contains('\x1b')
    };
    assert!(on_tty(""));
    assert!(!on_tty("NO_COLOR=1"));
    assert!(!on_tty("TERM=dumb"));
    assert!(!on_tty("CLICOLOR=0"));
}

#[test]
fn statistics_text_and_json() {
    let p = std_project();
    let out = run(p.path(), &["--statistics"]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout_of(&out);
    let mut rows = Vec::new();
    for line in text.lines().filter(|l| l.contains("TEN")) {
        let parts: Vec<&str> = line.split_whitespace().collect();
        // count, code, name, N, "fixable"
        assert!(parts.len() >= 4, "{line}");
        rows.push((
            parts[1].to_string(),
            parts[0].parse::<usize>().unwrap(),
            parts[2].to_string(),
            parts[3].to_string(),
        ));
    }
    rows.sort();
    assert_eq!(
        rows,
        vec![
            (
                "TEN101".into(),
                1,
                "missing-tenant-manager".into(),
                "1".into()
            ),
            ("TEN201".into(), 2, "unscoped-query".into(), "0".into()),
            (
                "TEN301".into(),
                1,
                "unprefixed-cache-key".into(),
                "1".into()
            ),
        ],
        "{text}"
    );
    assert!(
        !text.contains("app/views.py"),
        "statistics replace the diagnostics:\n{text}"
    );
    let ten201 = text.lines().find(|l| l.contains("TEN201")).unwrap();
    assert!(
        ten201.ends_with("0 fixable\t1 caused by TEN101"),
        "root causes in the text statistics: {ten201:?}"
    );

    let out = run(p.path(), &["--statistics", "--output-format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let mut items = parse_json(&out.stdout);
    items.sort_by(|a, b| a["code"].as_str().cmp(&b["code"].as_str()));
    assert_eq!(
        Value::Array(items),
        serde_json::json!([
            // Root cause of one TEN201 (both directions are counted).
            {"code": "TEN101", "name": "missing-tenant-manager", "count": 1, "fixable": 1, "root_cause_of": 1},
            // One of the two queries goes through the default manager of the model TEN101
            // reports: that TEN101 is its root cause.
            {"code": "TEN201", "name": "unscoped-query", "count": 2, "fixable": 0, "root_causes": {"TEN101": 1}},
            {"code": "TEN301", "name": "unprefixed-cache-key", "count": 1, "fixable": 1},
        ])
    );
}

#[test]
fn output_file() {
    let p = std_project();
    let out = run(
        p.path(),
        &[
            "--output-format",
            "json",
            "--output-file",
            "reports/tl.json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stdout = stdout_of(&out);
    assert!(
        !stdout.contains("TEN"),
        "no diagnostics on stdout:\n{stdout}"
    );
    let written = std::fs::read(p.path().join("reports/tl.json")).unwrap();
    assert_eq!(keys(&written), lines(STD_ALL));

    let out = run(
        p.path(),
        &["--output-format", "concise", "--output-file", "tl.txt"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(!stdout_of(&out).contains("TEN"), "{}", stdout_of(&out));
    let written = std::fs::read_to_string(p.path().join("tl.txt")).unwrap();
    assert!(written.contains("app/views.py:8:12: TEN201"), "{written}");
}

#[test]
fn quiet() {
    let p = std_project();
    let loud = stdout_of(&run(p.path(), &["--output-format", "concise"]));
    assert!(loud.contains("Found 4 errors"));
    let out = run(p.path(), &["--output-format", "concise", "-q"]);
    assert_eq!(out.status.code(), Some(1));
    let quiet = stdout_of(&out);
    assert_eq!(quiet.lines().count(), 4, "only the diagnostics:\n{quiet}");
    assert!(!quiet.contains("Found"), "{quiet}");
    assert!(!quiet.contains("fixable"), "{quiet}");
    assert_eq!(
        stdout_of(&run(p.path(), &["--output-format", "concise", "--quiet"])),
        quiet
    );

    let c = clean_project();
    let out = run(c.path(), &["-q"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stdout_of(&out), "", "nothing at all for a clean project");
}

// ---------------------------------------------------------------------------------------------
// Suppression comments
// ---------------------------------------------------------------------------------------------

const NOQA_VIEWS: &str = r#"from django.core.cache import cache

from app.models import Order


def a():
    return Order.all_objects.all()  # noqa


def b():
    return Order.all_objects.all()  # noqa: TEN201


def c():
    return Order.all_objects.all()  # noqa: TEN301


def d():
    cache.set("k", 1); return Order.all_objects.all()  # noqa: TEN201, TEN301


def e():
    cache.set("k", 1); return Order.all_objects.all()  # NOQA:TEN2
"#;

#[test]
fn noqa_line_level() {
    let p = std_project();
    write(
        p.path(),
        "app/models.py",
        &APP_MODELS.replace(
            "class Invoice(models.Model):",
            "class Invoice(models.Model):  # noqa: TEN101",
        ),
    );
    write(p.path(), "app/views.py", NOQA_VIEWS);
    assert_eq!(
        findings(p.path(), &[]),
        // `# noqa: TEN301` on a TEN201 line suppresses nothing: TEN902 says so.
        lines(&[
            "app/views.py:15:12 TEN201",
            "app/views.py:15:37 TEN902",
            "app/views.py:23:5 TEN301"
        ])
    );

    // A blanket `# noqa` on the class line.
    write(
        p.path(),
        "app/models.py",
        &APP_MODELS.replace(
            "class Invoice(models.Model):",
            "class Invoice(models.Model):  # noqa",
        ),
    );
    // The model's own finding is suppressed; the query it makes unscoped in views.py is not
    // (a `# noqa` suppresses findings on its own line only).
    assert_eq!(
        findings(p.path(), &["app/models.py"]),
        lines(&["app/views.py:15:12 TEN201"])
    );
}

#[test]
fn noqa_file_level() {
    let p = std_project();
    write(
        p.path(),
        "app/views.py",
        &format!("# tenantlint: noqa\n{APP_VIEWS}"),
    );
    assert_eq!(
        findings(p.path(), &[]),
        lines(&["app/models.py:6:7 TEN101"])
    );

    // Anywhere in the file, with codes.
    write(
        p.path(),
        "app/views.py",
        &format!("{APP_VIEWS}\n# tenantlint: noqa: TEN301\n"),
    );
    assert_eq!(
        findings(p.path(), &[]),
        lines(&[
            "app/models.py:6:7 TEN101",
            "app/views.py:8:12 TEN201",
            "app/views.py:16:12 TEN201"
        ])
    );
    write(
        p.path(),
        "app/views.py",
        &format!("# tenantlint: noqa: TEN201\n{APP_VIEWS}"),
    );
    assert_eq!(
        findings(p.path(), &[]),
        lines(&["app/models.py:6:7 TEN101", "app/views.py:13:5 TEN301"])
    );
}

/// As ruff: paths without a Python file are a warning on stderr and exit 0.
#[test]
fn no_python_files_is_a_warning_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pyproject.toml", "");
    write(dir.path(), "docs/readme.txt", "no python here\n");
    let out = tl()
        .current_dir(dir.path())
        .args(["check", "docs"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("No Python files found under the given path(s)"),
        "{stderr}"
    );
    // With a Python file there is no such warning.
    write(dir.path(), "docs/conf.py", "x = 1\n");
    let out = tl()
        .current_dir(dir.path())
        .args(["check", "docs"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("No Python files"));
}

/// Config errors name the line: the key's own line inside the tenantlint table (not a same-named
/// key of another tool's table), and the line of a TOML syntax error.
#[test]
fn config_errors_name_the_line() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.py", "x = 1\n");
    // `check` exits 2 with this on stderr.
    let error_of = |dir: &std::path::Path| {
        let out = tl().current_dir(dir).arg("check").output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    write(
        dir.path(),
        "pyproject.toml",
        "[project]\nname = \"x\"\n\n[tool.ruff]\nselect = [\"E\"]\n\n[tool.tenantlint]\ntenant-model = \"Tenant\"\nselect = \"TEN1\"\n",
    );
    let stderr = error_of(dir.path());
    assert!(stderr.contains("pyproject.toml:9: `select`"), "{stderr}");

    write(
        dir.path(),
        "tenantlint.toml",
        "tenant-model = \"Tenant\"\n\nbogus-key = 1\n",
    );
    let stderr = error_of(dir.path());
    assert!(
        stderr.contains("tenantlint.toml:3: `bogus-key`"),
        "{stderr}"
    );

    write(
        dir.path(),
        "tenantlint.toml",
        "tenant-model = \"Tenant\"\nselect = [\"TEN1\"\n",
    );
    let stderr = error_of(dir.path());
    assert!(
        stderr.contains("tenantlint.toml:3: invalid TOML"),
        "{stderr}"
    );
}
