//! Helpers shared by the integration tests: building throwaway projects, running the binary,
//! reading its JSON output.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use assert_cmd::Command;
use serde_json::Value;
use tempfile::TempDir;

/// `tenantlint` with a clean environment for colour and a generous timeout (no test may hang).
pub fn tl() -> Command {
    let mut cmd = Command::cargo_bin("tenantlint").expect("binary builds");
    for var in ["NO_COLOR", "FORCE_COLOR", "CLICOLOR_FORCE", "CLICOLOR"] {
        cmd.env_remove(var);
    }
    cmd.env_remove("TENANTLINT_TIMINGS");
    cmd.timeout(Duration::from_secs(60));
    cmd
}

/// `tenantlint check --output-format json <args>` run in `dir`.
pub fn check_json(dir: &Path, args: &[&str]) -> assert_cmd::assert::Assert {
    let mut cmd = tl();
    cmd.current_dir(dir)
        .args(["check", "--output-format", "json"])
        .args(args);
    cmd.assert()
}

/// Write `contents` to `root/rel`, creating parent directories.
pub fn write(root: &Path, rel: &str, contents: &str) -> PathBuf {
    write_bytes(root, rel, contents.as_bytes())
}

pub fn write_bytes(root: &Path, rel: &str, contents: &[u8]) -> PathBuf {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, contents).unwrap();
    path
}

/// Parse a JSON array printed by `--output-format json`.
pub fn parse_json(stdout: &[u8]) -> Vec<Value> {
    let text = String::from_utf8_lossy(stdout);
    let v: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{text}"));
    match v {
        Value::Array(items) => items,
        other => panic!("expected a JSON array, got {other}"),
    }
}

/// `path:row:col CODE` for one diagnostic object.
pub fn key(d: &Value) -> String {
    format!(
        "{}:{}:{} {}",
        d["filename"].as_str().unwrap_or("?"),
        d["location"]["row"],
        d["location"]["column"],
        d["code"].as_str().unwrap_or("?")
    )
}

/// The `path:row:col CODE` lines of a JSON report, in output order.
pub fn keys(stdout: &[u8]) -> Vec<String> {
    parse_json(stdout).iter().map(key).collect()
}

/// Run `check --output-format json --exit-zero <args>` in `dir` and return the `path:row:col CODE`
/// lines. Fails the test when the run does not exit 0 or prints a panic.
pub fn findings(dir: &Path, args: &[&str]) -> Vec<String> {
    let mut cmd = tl();
    cmd.current_dir(dir)
        .args(["check", "--output-format", "json", "--exit-zero"])
        .args(args);
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.code() == Some(0),
        "tenantlint check {args:?} in {} exited {:?}\nstderr:\n{stderr}\nstdout:\n{}",
        dir.display(),
        out.status.code(),
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(!stderr.contains("panicked"), "panic:\n{stderr}");
    keys(&out.stdout)
}

/// Lines of a `&[&str]` as owned strings, for comparisons.
pub fn lines(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub const PYPROJECT: &str = "[project]\nname = \"x\"\n";

pub const TENANCY_MODELS: &str = r#"from django.db import models


class Tenant(models.Model):
    name = models.CharField(max_length=100)


class TenantAwareManager(models.Manager):
    def get_queryset(self):
        from tenancy.context import get_current_tenant

        return super().get_queryset().filter(tenant=get_current_tenant())


class TenantAwareModel(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)

    objects = TenantAwareManager()

    class Meta:
        abstract = True
"#;

pub const TENANCY_CACHE: &str = r#"from django.core.cache import cache


def tenant_key(*parts):
    return "tenant:" + ":".join(map(str, parts))


class TenantCache:
    def get(self, key, default=None):
        return cache.get(tenant_key(key), default)

    def set(self, key, value, timeout=None):
        return cache.set(tenant_key(key), value, timeout)


tenant_cache = TenantCache()
"#;

/// `app/models.py` of the standard project: `Invoice` is tenant-owned with a plain manager
/// (TEN101 at 7:7); `Order` is scoped with an extra unscoped `all_objects`.
pub const APP_MODELS: &str = r#"from django.db import models

from tenancy.models import Tenant, TenantAwareManager, TenantAwareModel


class Invoice(models.Model):
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)
    number = models.CharField(max_length=20)


class Order(TenantAwareModel):
    number = models.CharField(max_length=20)

    objects = TenantAwareManager()
    all_objects = models.Manager()
"#;

/// `app/views.py` of the standard project: TEN201 at 8:12, TEN301 at 12:5, TEN201 at 16:12.
pub const APP_VIEWS: &str = r#"from django.core.cache import cache

from app.models import Invoice, Order


def orders():
    Order.objects.all()
    return Order.all_objects.all()


def remember(value):
    cache.set("last", value)


def invoices():
    return Invoice.objects.filter(number="1")
"#;

pub const STD_ALL: &[&str] = &[
    "app/models.py:6:7 TEN101",
    "app/views.py:8:12 TEN201",
    "app/views.py:12:5 TEN301",
    "app/views.py:16:12 TEN201",
];

/// A project root with `pyproject.toml` (no tenantlint table) and the tenancy app only: clean.
pub fn clean_project() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pyproject.toml", PYPROJECT);
    write(dir.path(), "tenancy/__init__.py", "");
    write(dir.path(), "tenancy/models.py", TENANCY_MODELS);
    write(dir.path(), "tenancy/cache.py", TENANCY_CACHE);
    dir
}

/// The standard project: one finding of each rule (see [`STD_ALL`]).
pub fn std_project() -> TempDir {
    let dir = clean_project();
    write(dir.path(), "app/__init__.py", "");
    write(dir.path(), "app/models.py", APP_MODELS);
    write(dir.path(), "app/views.py", APP_VIEWS);
    dir
}

/// The project directories under `root` (sorted).
pub fn subdirs(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// A fixture project's `EXPECTED` lines (`path:row:col CODE`), sorted.
pub fn expected(dir: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join("EXPECTED"))
        .unwrap_or_else(|e| panic!("{}: cannot read EXPECTED: {e}", dir.display()));
    let mut lines: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    lines.sort();
    lines
}

/// Lines only in `expected`, lines only in `actual`.
pub fn diff(expected: &[String], actual: &[String]) -> (Vec<String>, Vec<String>) {
    let missing = expected
        .iter()
        .filter(|l| !actual.contains(l))
        .cloned()
        .collect();
    let extra = actual
        .iter()
        .filter(|l| !expected.contains(l))
        .cloned()
        .collect();
    (missing, extra)
}

/// Compare one project with its `EXPECTED`; `Err` describes every difference.
pub fn check_project(dir: &Path, name: &str) -> Result<(), String> {
    let want = expected(dir);
    let out = tl()
        .current_dir(dir)
        .args(["check", "--output-format", "json", "--exit-zero", "."])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.code() != Some(0) {
        return Err(format!(
            "{name}: --exit-zero run exited {:?}\n  stderr: {stderr}",
            out.status.code()
        ));
    }
    let mut problems = Vec::new();
    if stderr.contains("panicked") {
        problems.push(format!("{name}: panic\n  stderr: {stderr}"));
    }
    let mut got = keys(&out.stdout);
    got.sort();
    if got != want {
        let (missing, extra) = diff(&want, &got);
        let mut msg = format!("{name}: diagnostics differ from EXPECTED");
        for l in &missing {
            msg.push_str(&format!("\n  missing: {l}"));
        }
        for l in &extra {
            msg.push_str(&format!("\n  extra:   {l}"));
        }
        if missing.is_empty() && extra.is_empty() {
            msg.push_str(&format!(
                "\n  (duplicates?) expected {want:?}\n  got {got:?}"
            ));
        }
        problems.push(msg);
    }
    let status = tl()
        .current_dir(dir)
        .args(["check", "--output-format", "json", "."])
        .output()
        .unwrap()
        .status;
    let want_code = if want.is_empty() { 0 } else { 1 };
    if status.code() != Some(want_code) {
        problems.push(format!(
            "{name}: exit status {:?} without --exit-zero, expected {want_code}",
            status.code()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("\n"))
    }
}

/// Copy the directory tree `from` into `to` (created if missing), leaving out fact caches
/// (`.tenantlint_cache`, which a local run may have left in a fixture).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_name() == ".tenantlint_cache" {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
