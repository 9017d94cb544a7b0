//! The preset fixture projects (`fixtures/presets/<preset>/`, one per tenancy library, written in
//! that library's own style) must produce exactly the diagnostics in their `EXPECTED` file; an
//! explicit config key overrides what the preset sets; an unknown preset is a config error.

mod common;

use std::path::{Path, PathBuf};

use common::{PYPROJECT, check_project, findings, lines, subdirs, tl, write};

/// Preset projects whose `EXPECTED` (the correct findings) the engine does not produce yet.
/// They are run and their differences printed, but they do not fail the test. Each entry says
/// why; the project's `NOTES.md` ("Engine gaps") lists the exact lines. Remove an entry as soon
/// as its project passes (the test prints a reminder when it does).
const KNOWN_BROKEN: &[(&str, &str)] = &[];

fn preset_dirs() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/presets");
    subdirs(&root)
}

#[test]
fn every_preset_project_matches_expected() {
    let dirs = preset_dirs();
    let names: Vec<String> = dirs
        .iter()
        .map(|d| d.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for preset in ["django-multitenant", "django-scopes", "django-tenants"] {
        assert!(
            names.iter().any(|n| n == preset),
            "fixtures/presets/{preset} is missing (found {names:?})"
        );
    }
    for (broken, _) in KNOWN_BROKEN {
        assert!(
            names.iter().any(|n| n == broken),
            "KNOWN_BROKEN names `{broken}`, which is not a preset project"
        );
    }

    let mut failures = Vec::new();
    for (dir, name) in dirs.iter().zip(&names) {
        // Each project must really use its preset.
        let pyproject = std::fs::read_to_string(dir.join("pyproject.toml")).unwrap();
        assert!(
            pyproject.contains(&format!("preset = \"{name}\"")),
            "fixtures/presets/{name}/pyproject.toml does not set `preset = \"{name}\"`"
        );
        let result = check_project(dir, &format!("fixtures/presets/{name}"));
        match KNOWN_BROKEN.iter().find(|(b, _)| b == name) {
            Some((_, why)) => match result {
                Ok(()) => eprintln!(
                    "KNOWN_BROKEN fixtures/presets/{name} now matches EXPECTED: remove it from \
                     KNOWN_BROKEN in tests/presets.rs"
                ),
                Err(e) => eprintln!("KNOWN_BROKEN (skipped) fixtures/presets/{name}: {why}\n{e}\n"),
            },
            None => {
                if let Err(e) = result {
                    failures.push(e);
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} preset project(s) failed:\n\n{}\n",
        failures.len(),
        failures.join("\n\n")
    );
}

fn pyproject_with(dir: &Path, tenantlint: &str) {
    write(
        dir,
        "pyproject.toml",
        &format!("{PYPROJECT}\n[tool.tenantlint]\n{tenantlint}\n"),
    );
}

/// A small django-tenants project whose own middleware is not one the preset knows, and whose
/// cache is made tenant-aware by django-tenants' key function.
fn tenants_project() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "config/__init__.py", "");
    write(
        dir.path(),
        "config/settings.py",
        r#"MIDDLEWARE = [
    "shops.middleware.ShopMiddleware",
    "django.middleware.security.SecurityMiddleware",
]

DATABASE_ROUTERS = ("django_tenants.routers.TenantSyncRouter",)

SHARED_APPS = ["django_tenants", "customers", "django.contrib.contenttypes"]
TENANT_APPS = ["django.contrib.contenttypes", "shops"]
INSTALLED_APPS = list(SHARED_APPS) + [app for app in TENANT_APPS if app not in SHARED_APPS]
TENANT_MODEL = "customers.Client"

CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "KEY_FUNCTION": "django_tenants.cache.make_key",
    }
}
"#,
    );
    write(dir.path(), "customers/__init__.py", "");
    write(
        dir.path(),
        "customers/models.py",
        "from django_tenants.models import TenantMixin\n\n\nclass Client(TenantMixin):\n    pass\n",
    );
    write(dir.path(), "shops/__init__.py", "");
    write(
        dir.path(),
        "shops/views.py",
        "from django.core.cache import cache\n\n\ndef home(request):\n    return cache.get(\"home\")\n",
    );
    dir
}

#[test]
fn explicit_keys_override_the_preset() {
    let p = tenants_project();

    // The preset alone: `ShopMiddleware` is not one of its tenant middlewares; the cache is
    // tenant-aware through `django_tenants.cache.make_key`.
    pyproject_with(p.path(), "preset = \"django-tenants\"");
    assert_eq!(
        findings(p.path(), &["."]),
        lines(&["config/settings.py:1:1 TEN601"])
    );

    // `tenant-middlewares` replaces the preset's list.
    pyproject_with(
        p.path(),
        "preset = \"django-tenants\"\ntenant-middlewares = [\"ShopMiddleware\"]",
    );
    assert_eq!(findings(p.path(), &["."]), Vec::<String>::new());

    // `tenant-key-functions` replaces the preset's: the cache is no longer tenant-aware.
    pyproject_with(
        p.path(),
        "preset = \"django-tenants\"\ntenant-middlewares = [\"ShopMiddleware\"]\n\
         tenant-key-functions = []",
    );
    assert_eq!(
        findings(p.path(), &["."]),
        lines(&["shops/views.py:5:12 TEN301"])
    );

    // The other keys keep the preset's values: its router is still required.
    write(
        p.path(),
        "config/settings.py",
        "MIDDLEWARE = [\"shops.middleware.ShopMiddleware\"]\nDATABASE_ROUTERS = []\n\n\
         CACHES = {\"default\": {\"KEY_FUNCTION\": \"django_tenants.cache.make_key\"}}\n",
    );
    pyproject_with(
        p.path(),
        "preset = \"django-tenants\"\ntenant-middlewares = [\"ShopMiddleware\"]",
    );
    assert_eq!(
        findings(p.path(), &["."]),
        lines(&["config/settings.py:2:1 TEN601"])
    );
}

#[test]
fn explicit_setters_override_the_multitenant_preset() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "accounts/__init__.py", "");
    write(
        dir.path(),
        "accounts/middleware.py",
        r#"from django_multitenant.utils import set_current_tenant

from .context import activate_account


class AccountMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        set_current_tenant(request.user.account)
        activate_account(request.user.account)
        return self.get_response(request)
"#,
    );
    write(
        dir.path(),
        "accounts/context.py",
        "def activate_account(account):\n    pass\n",
    );

    pyproject_with(dir.path(), "preset = \"django-multitenant\"");
    assert_eq!(
        findings(dir.path(), &["."]),
        lines(&["accounts/middleware.py:11:9 TEN401"])
    );

    pyproject_with(
        dir.path(),
        "preset = \"django-multitenant\"\ntenant-setters = [\"activate_account\"]",
    );
    assert_eq!(
        findings(dir.path(), &["."]),
        lines(&["accounts/middleware.py:12:9 TEN401"])
    );
}

#[test]
fn unknown_preset_is_a_config_error_naming_the_key_and_the_file() {
    for (file, body) in [
        (
            "pyproject.toml",
            format!("{PYPROJECT}\n[tool.tenantlint]\npreset = \"django-tenant\"\n"),
        ),
        (
            "tenantlint.toml",
            "preset = \"django-tenant\"\n".to_string(),
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "pyproject.toml", PYPROJECT);
        write(dir.path(), file, &body);
        write(dir.path(), "app/__init__.py", "");
        let out = tl()
            .current_dir(dir.path())
            .args(["check", "--output-format", "json", "."])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: stderr:\n{stderr}");
        assert!(
            stderr.contains("`preset`"),
            "{file}: stderr does not name `preset`:\n{stderr}"
        );
        assert!(
            stderr.contains(file),
            "{file}: stderr does not name the file:\n{stderr}"
        );
        assert!(
            stderr.contains("django-tenant`"),
            "{file}: stderr does not quote the bad value:\n{stderr}"
        );
        assert!(
            out.stdout.is_empty(),
            "{file}: a config error prints no report:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    // A preset of the wrong type is an error too.
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "pyproject.toml",
        &format!("{PYPROJECT}\n[tool.tenantlint]\npreset = [\"django-tenants\"]\n"),
    );
    let out = tl()
        .current_dir(dir.path())
        .args(["check", "."])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("`preset`") && stderr.contains("pyproject.toml"),
        "{stderr}"
    );
}

/// A preset's rules-off give way to an explicit `select` / `extend-select` naming the rule (in the
/// config or on the command line), but not to the blanket `TEN` or to an empty `ignore`.
#[test]
fn explicit_selection_turns_preset_ignored_rules_back_on() {
    let project = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/presets/django-tenants");
    let count_201 = |extra: &[&str]| {
        let out = tl()
            .current_dir(&project)
            .args(["check", "--output-format", "json", "--exit-zero"])
            .args(extra)
            .arg(".")
            .output()
            .unwrap();
        let diags: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        diags.iter().filter(|d| d["code"] == "TEN201").count()
    };
    assert_eq!(
        count_201(&[]),
        0,
        "the django-tenants preset turns TEN201 off"
    );
    assert_eq!(
        count_201(&["--select", "TEN"]),
        0,
        "the blanket `TEN` does not undo the preset"
    );
    assert!(
        count_201(&["--extend-select", "TEN201"]) > 0,
        "naming it turns it back on"
    );
    assert!(
        count_201(&["--select", "TEN2"]) > 0,
        "a prefix naming it turns it back on"
    );
}
