//! `tenantlint init`: infer a config for the project from its index and write `tenantlint.toml`.
//!
//! What it infers, and from what:
//! - `preset`: the tenancy library the project imports (django-tenants, django-multitenant,
//!   django-scopes; the most imported when several);
//! - `tenant-model`: the model most models have a foreign key to;
//! - `tenant-fields`: the names of those foreign keys;
//! - `tenant-base-classes`: abstract models declaring such a foreign key, with concrete
//!   subclasses;
//! - `scoped-managers`: managers and querysets whose `get_queryset` filters by a tenant field
//!   (the base classes only: subclasses count anyway);
//! - `tenant-cache`: a module-level instance of a project class with `get` and `set` whose name
//!   says cache;
//! - `key-helpers`: project functions whose result is used as a cache key and whose name says key;
//! - `key-prefixes`: `<tenant field>:` when cache keys start with it.
//!
//! Nothing is written when a config exists (unless `--force`), or when the project has no
//! Django model, or no tenant model could be found: then it says what is missing.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{self, FileOptions};
use crate::engine::Workspace;
use crate::engine::source::Sources;
use crate::facts::{ExprRef, KeyExpr};
use crate::index::{ClassId, Index, Resolved, last_component};

/// One inferred key: its TOML value and why.
pub struct Entry {
    pub key: &'static str,
    pub value: String,
    pub why: String,
}

/// What `init` found.
#[derive(Default)]
pub struct Inferred {
    pub entries: Vec<Entry>,
    /// What could not be inferred (the defaults or the preset's apply).
    pub missing: Vec<String>,
}

impl Inferred {
    fn push(&mut self, key: &'static str, value: String, why: String) {
        self.entries.push(Entry { key, value, why });
    }

    /// The config file's text: a comment per key saying why.
    pub fn to_toml(&self) -> String {
        let mut out = String::from(
            "# Written by `tenantlint init` from what it found in the project; review it.\n\
             # Every key is explained in the README (Configuration) and in `tenantlint rule CODE`.\n",
        );
        for e in &self.entries {
            out.push_str(&format!("\n# {}\n{} = {}\n", e.why, e.key, e.value));
        }
        if !self.missing.is_empty() {
            out.push_str("\n# Not inferred (the preset's values or the defaults apply):\n");
            for m in &self.missing {
                out.push_str(&format!("# - {m}\n"));
            }
        }
        out
    }
}

fn toml_str(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn toml_list<S: AsRef<str>>(items: &[S]) -> String {
    let v: Vec<String> = items.iter().map(|s| toml_str(s.as_ref())).collect();
    format!("[{}]", v.join(", "))
}

/// The libraries with a preset, by the top-level package they are imported as.
const PRESET_PACKAGES: &[(&str, &str)] = &[
    ("django_tenants", "django-tenants"),
    ("django_multitenant", "django-multitenant"),
    ("django_scopes", "django-scopes"),
];

/// Load the project at `root` with the defaults (or a preset's conventions).
fn load(root: &Path, preset: Option<&str>) -> Result<Workspace, String> {
    let options = FileOptions {
        preset: preset.map(str::to_string),
        ..Default::default()
    };
    let settings = config::resolve_settings(
        root.to_path_buf(),
        preset.map(|_| (root.join("tenantlint.toml"), options)),
    )
    .map_err(|e| e.to_string())?;
    let (files, _) = crate::discovery::discover(&settings, &[root.to_path_buf()], false);
    let mut files = files;
    files.sort();
    files.dedup();
    Ok(Workspace::load(
        Arc::new(settings),
        files,
        Sources::default(),
        None,
    ))
}

/// The preset of the tenancy library the project imports most, if any.
fn detect_preset(index: &Index) -> Option<(&'static str, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for (fi, facts) in index.files() {
        let mut seen = BTreeSet::new();
        for imp in &facts.imports {
            let modules: Vec<String> = match &imp.from_module {
                Some(m) => vec![index.absolute(fi, m).into_owned()],
                None => imp.names.iter().map(|(n, _)| n.to_string()).collect(),
            };
            for m in modules {
                let top = m.split('.').next().unwrap_or_default().to_string();
                if let Some((_, preset)) = PRESET_PACKAGES.iter().find(|(p, _)| *p == top) {
                    seen.insert(*preset);
                }
            }
        }
        for p in seen {
            *counts.entry(p).or_default() += 1;
        }
    }
    PRESET_PACKAGES
        .iter()
        .filter_map(|(_, p)| counts.get(p).map(|&n| (*p, n)))
        .max_by_key(|&(p, n)| {
            (
                n,
                std::cmp::Reverse(PRESET_PACKAGES.iter().position(|(_, q)| *q == p)),
            )
        })
}

/// Every foreign key of every model: (model, field name, target class name).
fn foreign_keys(index: &Index) -> Vec<(ClassId, String, String)> {
    let mut out = Vec::new();
    for id in index.all_ids() {
        if !index.info(id).is_model {
            continue;
        }
        for a in &index.class(id).assigns {
            let ExprRef::Call(call) = &a.value else {
                continue;
            };
            let Some(Some(target)) = index.fk_target(id.file, call) else {
                continue;
            };
            let name = match target {
                ExprRef::Str(s) if s != "self" => last_component(s).to_string(),
                ExprRef::Name(_) | ExprRef::Attr(..) => match index.resolve_expr(id.file, target) {
                    Resolved::Class(c) => index.class(c).name.to_string(),
                    _ => continue,
                },
                _ => continue,
            };
            out.push((id, a.name.to_string(), name));
        }
    }
    out
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Infer the config from the project index.
pub fn infer(index: &Index, preset: Option<(&str, usize)>) -> Result<Inferred, String> {
    let mut inf = Inferred::default();
    let models: Vec<ClassId> = index
        .all_ids()
        .into_iter()
        .filter(|&id| index.info(id).is_model && !index.info(id).abstract_)
        .collect();
    if index.is_empty() {
        return Err("no Python files found under the project root".into());
    }
    if models.is_empty() {
        return Err(
            "no Django model found (no class reaches `django.db.models.Model`): is this the project root of a Django project?"
                .into(),
        );
    }
    if let Some((p, n)) = preset {
        inf.push(
            "preset",
            toml_str(p),
            format!(
                "{} import {}",
                plural(n, "file", "files"),
                PRESET_PACKAGES
                    .iter()
                    .find(|(_, q)| *q == p)
                    .map_or(p, |(pkg, _)| pkg)
            ),
        );
    }
    let schema_per_tenant = preset.is_some_and(|(p, _)| p == "django-tenants");

    // The tenant model: the foreign key target most models share.
    let fks = foreign_keys(index);
    let class_names: BTreeSet<String> = index
        .all_ids()
        .into_iter()
        .filter(|&id| index.info(id).is_model)
        .map(|id| index.class(id).name.to_string())
        .collect();
    let mut by_target: BTreeMap<&str, BTreeSet<ClassId>> = BTreeMap::new();
    for (model, _, target) in &fks {
        if class_names.contains(target) {
            by_target.entry(target).or_default().insert(*model);
        }
    }
    let tenant_model = by_target
        .iter()
        .max_by_key(|(name, models)| (models.len(), std::cmp::Reverse(*name)))
        .map(|(name, models)| (name.to_string(), models.len()));
    let tenant_fields: Vec<String> = match (&tenant_model, schema_per_tenant) {
        (_, true) => {
            inf.missing.push(
                "tenant-model, tenant-fields: schema per tenant (django-tenants): the preset finds the tenant model (`TenantMixin`) and the tenant apps".into(),
            );
            Vec::new()
        }
        (None, false) => {
            return Err(
                "no tenant model found: no model has a foreign key to another model of the project; set `tenant-model` and `tenant-fields` by hand".into(),
            );
        }
        (Some((name, n)), false) => {
            inf.push(
                "tenant-model",
                toml_str(name),
                format!(
                    "{} a foreign key to `{name}`, more than to any other model",
                    plural(*n, "model has", "models have")
                ),
            );
            let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
            for (_, field, target) in &fks {
                if target == name {
                    *counts.entry(field).or_default() += 1;
                }
            }
            let mut fields: Vec<(&str, usize)> = counts.into_iter().collect();
            fields.sort_by_key(|&(f, n)| (std::cmp::Reverse(n), f));
            let names: Vec<String> = fields.iter().map(|(f, _)| f.to_string()).collect();
            inf.push(
                "tenant-fields",
                toml_list(&names),
                format!(
                    "the foreign keys to `{name}`: {}",
                    fields
                        .iter()
                        .map(|(f, n)| format!("`{f}` ({})", plural(*n, "model", "models")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
            names
        }
    };

    if !schema_per_tenant {
        // Abstract models that declare a tenant field themselves, with concrete subclasses.
        let mut bases = Vec::new();
        for id in index.all_ids() {
            let info = index.info(id);
            if !(info.is_model && info.abstract_) {
                continue;
            }
            let declares = fks.iter().any(|(m, f, t)| {
                *m == id
                    && tenant_fields.contains(f)
                    && tenant_model.as_ref().is_some_and(|(n, _)| n == t)
            });
            let used = models.iter().any(|&m| {
                m != id
                    && index
                        .ancestors(Resolved::Class(m))
                        .any(|r| r == Resolved::Class(id))
            });
            if declares && used {
                bases.push(index.class(id).name.to_string());
            }
        }
        bases.sort();
        bases.dedup();
        if bases.is_empty() {
            inf.missing
                .push("tenant-base-classes: no abstract model declares the tenant field".into());
        } else {
            inf.push(
                "tenant-base-classes",
                toml_list(&bases),
                "abstract models that declare the tenant field; their subclasses are tenant-owned"
                    .into(),
            );
        }

        // Managers and querysets whose `get_queryset` filters by a tenant field.
        let is_tenant_kw = |k: &str| {
            tenant_fields.iter().any(|f| {
                k == f
                    || k.strip_prefix(f.as_str())
                        .is_some_and(|r| r == "_id" || r.starts_with("__"))
            })
        };
        let mut scoped: Vec<ClassId> = Vec::new();
        for (fi, facts) in index.files() {
            for mf in &facts.method_filters {
                let id = ClassId {
                    file: fi,
                    class: mf.class,
                };
                let info = index.info(id);
                if mf.method == "get_queryset"
                    && (info.is_manager || info.is_queryset)
                    && mf.keywords.iter().any(|k| is_tenant_kw(k))
                    && !scoped.contains(&id)
                {
                    scoped.push(id);
                }
            }
        }
        // Only the bases: a subclass of a scoped manager is scoped anyway.
        let roots: Vec<String> = scoped
            .iter()
            .filter(|&&id| {
                !scoped.iter().any(|&other| {
                    other != id
                        && index
                            .ancestors(Resolved::Class(id))
                            .any(|r| r == Resolved::Class(other))
                })
            })
            .map(|&id| index.class(id).name.to_string())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if roots.is_empty() {
            inf.missing.push(
                "scoped-managers: no manager's `get_queryset` filters by the tenant field".into(),
            );
        } else {
            inf.push(
                "scoped-managers",
                toml_list(&roots),
                "managers whose `get_queryset` filters by the tenant field (their subclasses count too)".into(),
            );
        }
    }

    // The tenant cache: a module-level instance of a project class with `get` and `set`.
    let mut caches: Vec<String> = Vec::new();
    for (fi, facts) in index.files() {
        for b in facts.bindings.iter() {
            let crate::facts::Binding::Assign(ExprRef::Call(call)) = &b.binding else {
                continue;
            };
            let Resolved::Class(c) = index.resolve_expr(fi, &call.func) else {
                continue;
            };
            let methods = &index.class(c).methods;
            let has = |m: &str| methods.iter().any(|x| x == m);
            let class_name = index.class(c).name.to_lowercase();
            if has("get")
                && has("set")
                && (b.name.to_lowercase().contains("cache") || class_name.contains("cache"))
                && !caches.contains(&b.name.to_string())
            {
                caches.push(b.name.to_string());
            }
        }
    }
    match caches.as_slice() {
        [one] => inf.push(
            "tenant-cache",
            toml_str(one),
            "a module-level instance of a project cache class with `get` and `set`".into(),
        ),
        [] => inf
            .missing
            .push("tenant-cache: no module-level cache object with `get` and `set`".into()),
        many => inf.missing.push(format!(
            "tenant-cache: several candidates ({}); set the right one by hand",
            many.join(", ")
        )),
    }

    // Key helpers: project functions whose result is a cache key; key prefixes.
    let mut helpers: BTreeSet<String> = BTreeSet::new();
    let mut prefixes: BTreeSet<String> = BTreeSet::new();
    fn keys<'a>(k: &'a KeyExpr, out: &mut Vec<&'a KeyExpr>) {
        match k {
            KeyExpr::Many(ks) => ks.iter().for_each(|k| keys(k, out)),
            other => out.push(other),
        }
    }
    for (fi, facts) in index.files() {
        for site in &facts.sites().cache_sites {
            let mut all = Vec::new();
            keys(&site.key, &mut all);
            for k in all {
                match k {
                    KeyExpr::Call { func, .. } => {
                        if let Resolved::Symbol { name, .. } = index.resolve_expr(fi, func)
                            && name.to_lowercase().contains("key")
                        {
                            helpers.insert(name.to_string());
                        }
                    }
                    KeyExpr::Text { lead, .. } => {
                        for f in &tenant_fields {
                            if lead.starts_with(&format!("{f}:")) {
                                prefixes.insert(format!("{f}:"));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }
    if helpers.is_empty() {
        inf.missing
            .push("key-helpers: no project function builds cache keys".into());
    } else {
        let list: Vec<String> = helpers.into_iter().collect();
        inf.push(
            "key-helpers",
            toml_list(&list),
            "project functions whose result is used as a cache key".into(),
        );
    }
    if !prefixes.is_empty() {
        let list: Vec<String> = prefixes.into_iter().collect();
        inf.push(
            "key-prefixes",
            toml_list(&list),
            "cache keys of the project start with the tenant field".into(),
        );
    }
    Ok(inf)
}

/// The config files `init` would shadow or overwrite at `root`.
fn existing_config(root: &Path) -> Option<PathBuf> {
    for name in ["tenantlint.toml", ".tenantlint.toml"] {
        let p = root.join(name);
        if p.is_file() {
            return Some(p);
        }
    }
    let p = root.join("pyproject.toml");
    matches!(config::read_config_file(&p), Ok(Some(_))).then_some(p)
}

/// `tenantlint init [--force]` in `cwd`: returns the exit status and what to print (stdout,
/// stderr).
pub fn run(cwd: &Path, force: bool) -> (u8, String, String) {
    let root = config::find_project_root(cwd).unwrap_or_else(|| cwd.to_path_buf());
    let target = root.join("tenantlint.toml");
    let shown = |p: &Path| crate::report::display_path(p, cwd);
    if let Some(existing) = existing_config(&root)
        && !force
    {
        return (
            2,
            String::new(),
            format!(
                "tenantlint: error: {} already configures tenantlint; `tenantlint init --force` writes {} anyway\n",
                shown(&existing),
                shown(&target)
            ),
        );
    }
    let result = load(&root, None).and_then(|ws| {
        let preset = detect_preset(ws.index());
        match preset {
            None => infer(ws.index(), None),
            Some((p, _)) => {
                let ws = load(&root, Some(p))?;
                infer(ws.index(), preset)
            }
        }
    });
    let inferred = match result {
        Ok(i) => i,
        Err(why) => {
            return (
                2,
                String::new(),
                format!(
                    "tenantlint: error: cannot infer a config for {}: {why}; nothing written\n",
                    shown(&root)
                ),
            );
        }
    };
    let text = inferred.to_toml();
    if let Err(e) = std::fs::write(&target, &text) {
        return (
            2,
            String::new(),
            format!("tenantlint: error: cannot write {}: {e}\n", shown(&target)),
        );
    }
    let mut out = format!("Wrote {}:\n", shown(&target));
    for e in &inferred.entries {
        out.push_str(&format!("  {} = {}  ({})\n", e.key, e.value, e.why));
    }
    if !inferred.missing.is_empty() {
        out.push_str("Not inferred (the preset's values or the defaults apply):\n");
        for m in &inferred.missing {
            out.push_str(&format!("  {m}\n"));
        }
    }
    let mut err = String::new();
    let pyproject = root.join("pyproject.toml");
    if matches!(config::read_config_file(&pyproject), Ok(Some(_))) {
        err.push_str(&format!(
            "tenantlint: warning: {} wins over the [tool.tenantlint] table of {} (same directory); remove one of them\n",
            shown(&target),
            shown(&pyproject)
        ));
    }
    (0, out, err)
}
