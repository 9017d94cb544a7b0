//! Misconfiguration is a finding: TEN001 (misconfigured-name) for every name a config file sets
//! that resolves to nothing in the project, at the name in the config file, with a suggestion.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// Every key that names something, with a value this project has and a misspelling of it (and
/// the suggestion expected for the misspelling).
const KEYS: &[(&str, &str, &str, &str)] = &[
    ("tenant-model", "\"Tenant\"", "\"Tenent\"", "Tenant"),
    ("tenant-fields", "[\"tenant\"]", "[\"tenat\"]", "tenant"),
    (
        "tenant-parent-fields",
        "[\"tenant\"]",
        "[\"tenat\"]",
        "tenant",
    ),
    (
        "tenant-base-classes",
        "[\"TenantAwareModel\"]",
        "[\"TenantAwareModle\"]",
        "TenantAwareModel",
    ),
    (
        "scoped-managers",
        "[\"TenantAwareManager\"]",
        "[\"TenantAwareManger\"]",
        "TenantAwareManager",
    ),
    ("global-models", "[\"Plan\"]", "[\"Plann\"]", "Plan"),
    (
        "manager-import",
        "\"tenancy.models.TenantAwareManager\"",
        "\"tenancy.models.TenantAwareManger\"",
        "tenancy.models.TenantAwareManager",
    ),
    (
        "tenant-cache",
        "\"tenant_cache\"",
        "\"tenant_cahce\"",
        "tenant_cache",
    ),
    (
        "key-helpers",
        "[\"tenant_key\"]",
        "[\"tennant_key\"]",
        "tenant_key",
    ),
    (
        "tenant-setters",
        "[\"set_current_tenant\"]",
        "[\"set_curent_tenant\"]",
        "set_current_tenant",
    ),
    (
        "tenant-clearers",
        "[\"clear_current_tenant\"]",
        "[\"clear_curent_tenant\"]",
        "clear_current_tenant",
    ),
    (
        "tenant-context-managers",
        "[\"tenant_context\"]",
        "[\"tenant_contxt\"]",
        "tenant_context",
    ),
    (
        "task-base-classes",
        "[\"TenantTask\"]",
        "[\"TenantTsk\"]",
        "TenantTask",
    ),
    (
        "bypass-calls",
        "[\"unscoped\"]",
        "[\"unscopd\"]",
        "unscoped",
    ),
    (
        "bypass-managers",
        "[\"all_objects\"]",
        "[\"all_objcts\"]",
        "all_objects",
    ),
    (
        "tenant-filter-methods",
        "[\"for_tenant\"]",
        "[\"for_tennant\"]",
        "for_tenant",
    ),
    (
        "not-managers",
        "[\"TagManager\"]",
        "[\"TagManagr\"]",
        "TagManager",
    ),
    (
        "tenant-admin-mixins",
        "[\"TenantAdminMixin\"]",
        "[\"TenantAdminMixn\"]",
        "TenantAdminMixin",
    ),
    (
        "tenant-view-mixins",
        "[\"TenantViewMixin\"]",
        "[\"TenantViewMixn\"]",
        "TenantViewMixin",
    ),
    (
        "tenant-middlewares",
        "[\"TenantMiddleware\"]",
        "[\"TenantMidleware\"]",
        "TenantMiddleware",
    ),
    (
        "tenant-routers",
        "[\"tenancy.routers.TenantRouter\"]",
        "[\"tenancy.routers.TenantRoutr\"]",
        "tenancy.routers.TenantRouter",
    ),
    (
        "tenant-key-functions",
        "[\"tenancy.cache.make_key\"]",
        "[\"tenancy.cache.make_kye\"]",
        "tenancy.cache.make_key",
    ),
    (
        "file-fields",
        "[\"TenantFileField\"]",
        "[\"TenantFileFeld\"]",
        "TenantFileField",
    ),
];

/// The standard project plus one definition or use of every name in [`KEYS`].
fn project() -> tempfile::TempDir {
    let dir = std_project();
    let root = dir.path();
    write(
        root,
        "tenancy/context.py",
        r#"import contextlib


def set_current_tenant(tenant):
    pass


def clear_current_tenant():
    pass


@contextlib.contextmanager
def tenant_context(tenant):
    yield


class TenantTask:
    pass


class TenantAdminMixin:
    pass


class TenantViewMixin:
    pass


class TagManager:
    pass


class TenantFileField:
    pass
"#,
    );
    write(
        root,
        "tenancy/middleware.py",
        "class TenantMiddleware:\n    def __init__(self, get_response):\n        self.get_response = get_response\n",
    );
    write(
        root,
        "tenancy/routers.py",
        "class TenantRouter:\n    pass\n",
    );
    write(
        root,
        "tenancy/querysets.py",
        r#"from django.db import models


class TenantQuerySet(models.QuerySet):
    def unscoped(self):
        return self

    def for_tenant(self, tenant):
        return self.filter(tenant=tenant)
"#,
    );
    write(
        root,
        "tenancy/cache_keys.py",
        "def make_key(key, key_prefix, version):\n    return key\n",
    );
    write(
        root,
        "plans/models.py",
        "from django.db import models\n\n\nclass Plan(models.Model):\n    name = models.CharField(max_length=10)\n",
    );
    write(root, "plans/__init__.py", "");
    write(
        root,
        "config/settings.py",
        r#"MIDDLEWARE = ["tenancy.middleware.TenantMiddleware"]
DATABASE_ROUTERS = ["tenancy.routers.TenantRouter"]
CACHES = {"default": {"BACKEND": "x", "KEY_FUNCTION": "tenancy.cache.make_key"}}
"#,
    );
    // `tenancy.cache.make_key` as the settings name it (a module of the project would resolve
    // it too).
    write(
        root,
        "tenancy/cache.py",
        &format!("{TENANCY_CACHE}\n\ndef make_key(key, key_prefix, version):\n    return key\n"),
    );
    dir
}

fn set_config(root: &Path, table: &str) {
    write(
        root,
        "pyproject.toml",
        &format!("{PYPROJECT}\n[tool.tenantlint]\n{table}"),
    );
}

/// The message of the one TEN001 the project gets (fails unless there is exactly one).
fn only_ten001_message(root: &Path) -> String {
    let found = ten001(root, &[]);
    assert_eq!(found.len(), 1, "{found:?}");
    found[0]["message"].as_str().unwrap().to_string()
}

/// The TEN001 objects of a JSON report of the whole project.
fn ten001(root: &Path, args: &[&str]) -> Vec<Value> {
    let out = tl()
        .current_dir(root)
        .args(["check", "--output-format", "json", "--exit-zero"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_json(&out.stdout)
        .into_iter()
        .filter(|d| d["code"] == "TEN001")
        .collect()
}

/// `row:col` (1-based) of the first occurrence of `needle` in `text`.
fn position(text: &str, needle: &str) -> (usize, usize) {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("{needle} in {text}"));
    let row = text[..at].matches('\n').count() + 1;
    let col = at - text[..at].rfind('\n').map_or(0, |i| i + 1) + 1;
    (row, col)
}

#[test]
fn names_the_project_has_are_clean() {
    let dir = project();
    let table: String = KEYS
        .iter()
        .map(|(key, good, _, _)| format!("{key} = {good}\n"))
        .collect();
    set_config(dir.path(), &table);
    assert_eq!(ten001(dir.path(), &[]), Vec::<Value>::new());
}

#[test]
fn every_misspelled_key_is_reported_at_its_line_with_a_suggestion() {
    let dir = project();
    let root = dir.path();
    let mut failures = Vec::new();
    for (key, _, bad, suggestion) in KEYS {
        set_config(root, &format!("{key} = {bad}\n"));
        let text = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
        let value = bad.trim_matches(|c| c == '[' || c == ']');
        let (row, col) = position(&text, value);
        let found = ten001(root, &[]);
        let [d] = found.as_slice() else {
            failures.push(format!("{key} = {bad}: expected one TEN001, got {found:?}"));
            continue;
        };
        let message = d["message"].as_str().unwrap();
        let want_location = (
            d["filename"].as_str(),
            d["location"]["row"].as_u64(),
            d["location"]["column"].as_u64(),
        );
        if want_location != (Some("pyproject.toml"), Some(row as u64), Some(col as u64)) {
            failures.push(format!(
                "{key}: at {want_location:?}, expected pyproject.toml:{row}:{col}"
            ));
        }
        let name = value.trim_matches('"');
        if !message.starts_with(&format!("`{key}`: ")) || !message.contains(&format!("`{name}`")) {
            failures.push(format!(
                "{key}: the message must name the key and the value: {message}"
            ));
        }
        if !message.contains(&format!("(did you mean `{suggestion}`?)")) {
            failures.push(format!(
                "{key}: expected the suggestion `{suggestion}`: {message}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn extend_twins_and_array_items_are_located_one_by_one() {
    let dir = project();
    let root = dir.path();
    set_config(
        root,
        "extend-scoped-managers = [\n    \"TenantAwareManager\",\n    \"NoSuchManager\",\n]\n",
    );
    let found = ten001(root, &[]);
    assert_eq!(found.len(), 1, "{found:?}");
    let text = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
    let (row, col) = position(&text, "\"NoSuchManager\"");
    assert_eq!(found[0]["location"]["row"], row as u64);
    assert_eq!(found[0]["location"]["column"], col as u64);
    let message = found[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("`extend-scoped-managers`: no class named `NoSuchManager`"),
        "{message}"
    );
    // Nothing in the project resembles it: no suggestion.
    assert!(!message.contains("did you mean"), "{message}");
}

#[test]
fn defaults_and_presets_that_the_project_does_not_use_are_not_reported() {
    // No `TenantAwareModel`, `tenant_cache`, `TenantMiddleware` ... in this project: the
    // defaults name them, the user did not.
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "app/models.py",
        "from django.db import models\n\n\nclass Thing(models.Model):\n    pass\n",
    );
    set_config(root, "preset = \"django-multitenant\"\n");
    assert_eq!(ten001(root, &[]), Vec::<Value>::new());
    write(root, "pyproject.toml", PYPROJECT);
    assert_eq!(ten001(root, &[]), Vec::<Value>::new());
}

#[test]
fn library_paths_and_modules() {
    let dir = project();
    let root = dir.path();
    // A library nothing imports: said so.
    set_config(root, "manager-import = \"django_scopes.ScopedManager\"\n");
    let message = only_ten001_message(root);
    assert!(
        message.contains(
            "`django_scopes` is not a package of the project, and nothing in the project imports it"
        ),
        "{message}"
    );
    // Once the project uses the library, its manager can be imported by the fix.
    write(root, "app/scoped.py", "from django_scopes import scope\n");
    assert_eq!(ten001(root, &[]), Vec::<Value>::new());
    // A module is not a class.
    set_config(root, "manager-import = \"tenancy.models\"\n");
    let message = only_ten001_message(root);
    assert!(
        message.contains("`tenancy.models` is a module of the project, not a name in it"),
        "{message}"
    );
    // A library class the project imports, by its dotted path.
    write(
        root,
        "app/scoped.py",
        "from django_scopes import ScopedManager\n",
    );
    set_config(
        root,
        "scoped-managers = [\"django_scopes.ScopedManager\"]\n",
    );
    assert_eq!(ten001(root, &[]), Vec::<Value>::new());
    // The tenant model as Django's lazy references name it.
    set_config(root, "tenant-model = \"tenancy.Tenant\"\n");
    assert_eq!(ten001(root, &[]), Vec::<Value>::new());
}

#[test]
fn only_runs_that_cover_the_config_report_it() {
    let dir = project();
    let root = dir.path();
    set_config(root, "scoped-managers = [\"TenantAwareManger\"]\n");
    // The whole project, or the config file named: reported.
    assert_eq!(ten001(root, &[]).len(), 1);
    assert_eq!(ten001(root, &["."]).len(), 1);
    assert_eq!(ten001(root, &["pyproject.toml", "app/views.py"]).len(), 1);
    assert_eq!(ten001(&root.join("app"), &[".."]).len(), 1);
    // Some files (pre-commit), a subdirectory, standard input: not.
    assert_eq!(ten001(root, &["app/views.py"]), Vec::<Value>::new());
    assert_eq!(ten001(root, &["app"]), Vec::<Value>::new());
    let out = tl()
        .current_dir(root)
        .args([
            "check",
            "--output-format",
            "json",
            "--exit-zero",
            "--stdin-filename",
            "app/views.py",
            "-",
        ])
        .write_stdin(APP_VIEWS)
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("TEN001"));
    // Ignored like any rule.
    assert_eq!(ten001(root, &["--ignore", "TEN001"]), Vec::<Value>::new());
    set_config(
        root,
        "scoped-managers = [\"TenantAwareManger\"]\nper-file-ignores = { \"pyproject.toml\" = [\"TEN001\"] }\n",
    );
    assert_eq!(ten001(root, &[]), Vec::<Value>::new());
}

#[test]
fn every_reporter_shows_the_config_finding() {
    let dir = project();
    let root = dir.path();
    set_config(root, "tenant-model = \"Tenent\"\n");
    let run = |format: &str| {
        let out = tl()
            .current_dir(root)
            .args(["check", "--exit-zero", "--output-format", format])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let full = run("full");
    assert!(full.contains("pyproject.toml:5:16"), "{full}");
    // The code frame shows the config line.
    assert!(full.contains("tenant-model = \"Tenent\""), "{full}");
    let concise = run("concise");
    assert!(
        concise.contains("pyproject.toml:5:16: TEN001 `tenant-model`: no class named `Tenent`"),
        "{concise}"
    );
    assert!(run("grouped").contains("pyproject.toml:\n  5:16 TEN001"));
    assert!(run("github").contains("::error file=pyproject.toml,line=5,col=16"));
    assert!(run("gitlab").contains("\"path\": \"pyproject.toml\""));
    assert!(run("junit").contains("classname=\"pyproject.toml\""));
    let sarif: Value = serde_json::from_str(&run("sarif")).unwrap();
    let result = &sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["ruleId"] == "TEN001")
        .cloned()
        .expect("a TEN001 result");
    let loc = &result["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "pyproject.toml");
    assert_eq!(loc["region"]["startLine"], 5);
    // A config problem is not a security alert.
    let rule = sarif["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "TEN001")
        .cloned()
        .unwrap();
    assert!(
        rule["properties"].get("security-severity").is_none(),
        "{rule}"
    );
    // JSON: no `# noqa` row in a config file.
    let json = parse_json(run("json").as_bytes());
    let d = json.iter().find(|d| d["code"] == "TEN001").unwrap();
    assert_eq!(d["noqa_row"], Value::Null);
}

#[test]
fn add_noqa_leaves_the_config_file_alone() {
    let dir = project();
    let root = dir.path();
    set_config(root, "tenant-model = \"Tenent\"\n");
    let before = std::fs::read_to_string(root.join("pyproject.toml")).unwrap();
    let out = tl()
        .current_dir(root)
        .args(["check", "--add-noqa", "--output-format", "concise"])
        .output()
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(root.join("pyproject.toml")).unwrap(),
        before
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("TEN001"), "{stdout}");
    assert_eq!(out.status.code(), Some(1));
}

/// stderr of `tenantlint check <args>` in `dir`.
fn stderr_of(dir: &Path, args: &[&str]) -> String {
    let out = tl()
        .current_dir(dir)
        .arg("check")
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.code().is_some_and(|c| c < 2), "{out:?}");
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn a_config_outside_the_project_root_is_a_warning_naming_the_root() {
    let top = tempfile::tempdir().unwrap();
    let proj = top.path().join("proj");
    write(&proj, "pyproject.toml", PYPROJECT);
    write(&proj, "app/views.py", "x = 1\n");
    write(
        top.path(),
        "shared/tenantlint.toml",
        "scoped-managers = []\n",
    );
    write(&proj, "ci/tenantlint.toml", "scoped-managers = []\n");

    // The project's own run: no word.
    assert_eq!(stderr_of(&proj, &[]), "");
    // `--config` from another folder: the root moved there, the files are outside it.
    let err = stderr_of(&proj, &["--config", "../shared/tenantlint.toml"]);
    assert!(
        err.contains("warning: the project root is `")
            && err.contains("shared`, the directory of the config file `")
            && err.contains("given with --config; `.` is outside it"),
        "{err}"
    );
    let err = stderr_of(&proj, &["--config", "ci/tenantlint.toml"]);
    assert!(
        err.contains("the project root is `ci`, the directory of the config file `ci/tenantlint.toml` given with --config; `.` is outside it"),
        "{err}"
    );
    // `--config` naming a file in a subdirectory that holds everything checked: the root is
    // still not the project's.
    let err = stderr_of(&proj, &["--config", "ci/tenantlint.toml", "ci"]);
    assert!(
        err.contains("the project root is `ci`")
            && err.contains(
                "not `.`, the nearest directory holding pyproject.toml, setup.cfg or .git"
            ),
        "{err}"
    );
    // `-q` prints only diagnostics.
    assert_eq!(
        stderr_of(&proj, &["-q", "--config", "ci/tenantlint.toml"]),
        ""
    );

    // A discovered config above the project's own directory.
    std::fs::remove_file(proj.join("pyproject.toml")).unwrap();
    write(&proj, "setup.cfg", "[metadata]\nname = x\n");
    write(
        top.path(),
        "pyproject.toml",
        "[tool.tenantlint]\nscoped-managers = []\n",
    );
    let err = stderr_of(&proj, &[]);
    assert!(
        err.contains("the directory of the config file `")
            && err.contains("pyproject.toml`, not `.`, the nearest directory holding"),
        "{err}"
    );
    // It shows in `--show-settings` too.
    let out = tl()
        .current_dir(&proj)
        .args(["check", "--show-settings"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("# warning: the project root is"));
    // Setting `src` says where modules start: no warning.
    write(
        top.path(),
        "pyproject.toml",
        "[tool.tenantlint]\nsrc = [\"proj\"]\nscoped-managers = []\n",
    );
    assert_eq!(stderr_of(&proj, &[]), "");
}

/// A Rust service names its helpers in the same keys, in `Cargo.toml`: a name a Rust file
/// defines is found, a misspelled one is reported at its line in `Cargo.toml`.
#[test]
fn names_in_cargo_metadata_resolve_against_the_rust_files() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir_all(root.join(".git")).unwrap();
    std::fs::create_dir_all(root.join("src")).unwrap();
    std::fs::write(
        root.join("src/lib.rs"),
        "pub fn tenant_key(tenant: &str, key: &str) -> String {\n    format!(\"{tenant}:{key}\")\n}\n",
    )
    .unwrap();
    let cargo = |helpers: &str| {
        format!(
            "[package]\nname = \"x\"\nversion = \"0.1.0\"\n\n[package.metadata.tenantlint]\nkey-helpers = [{helpers}]\n"
        )
    };
    std::fs::write(root.join("Cargo.toml"), cargo("\"tenant_key\"")).unwrap();
    assert_eq!(ten001(root, &[]), Vec::<Value>::new());
    std::fs::write(root.join("Cargo.toml"), cargo("\"tenant_kye\"")).unwrap();
    let found = ten001(root, &[]);
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["filename"], "Cargo.toml");
    assert_eq!(found[0]["location"]["row"], 6);
}

/// A model the project reaches only through the app registry (`Organization =
/// load_model("openwisp_users", "Organization")`, often a library's, out of the tree) is a name
/// the project uses: naming it by its dotted path, or bare, is no TEN001; a misspelling is.
#[test]
fn models_reached_through_the_app_registry_are_known() {
    let dir = project();
    let root = dir.path();
    write(
        root,
        "plans/views.py",
        "from swapper import load_model\n\nOrganization = load_model(\"openwisp_users\", \"Organization\")\n",
    );
    for name in ["openwisp_users.models.Organization", "Organization"] {
        set_config(root, &format!("tenant-model = \"{name}\"\n"));
        assert_eq!(ten001(root, &[]), Vec::<Value>::new(), "{name}");
    }
    set_config(
        root,
        "tenant-model = \"openwisp_users.models.Organizaton\"\n",
    );
    let message = only_ten001_message(root);
    assert!(
        message.contains("did you mean `openwisp_users.models.Organization`?"),
        "{message}"
    );
}

/// A dotted name is suggested only where its last component is a likely typo too: the tenant
/// model of an installed package (`tcms_tenants.models.Tenant`) shares most of its letters with a
/// project path (`tcms.testplans.models.TestPlan`), but `Tenant` is no typo of `TestPlan` (Kiwi
/// TCMS, fifteenth session).
#[test]
fn a_dotted_name_is_suggested_only_for_a_likely_typo_of_its_last_component() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        root,
        "tcms/testplans/models.py",
        "from django.db import models\n\n\nclass TestPlan(models.Model):\n    name = models.CharField(max_length=10)\n",
    );
    write(root, "tcms/__init__.py", "");
    write(root, "tcms/testplans/__init__.py", "");
    set_config(root, "tenant-model = \"tcms_tenants.models.Tenant\"\n");
    let message = only_ten001_message(root);
    assert!(!message.contains("did you mean"), "{message}");
    // A typo of the module path, the class name intact: suggested.
    set_config(root, "tenant-model = \"tcms.testplan.models.TestPlan\"\n");
    let message = only_ten001_message(root);
    assert!(
        message.contains("did you mean `tcms.testplans.models.TestPlan`?"),
        "{message}"
    );
}
