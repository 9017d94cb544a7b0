//! TEN001 misconfigured-name: a name written in the config file (`scoped-managers`,
//! `tenant-model`, `tenant-cache`, ...) that resolves to nothing in the project. A misspelled
//! class name silently turns a rule off, so it is a finding, at the name in the config file,
//! with the closest name of the project as a suggestion.
//!
//! It is not a per-file rule: [`check_config`] runs once per run, on the whole project index,
//! when `check` covers the whole project (see `crate::check`). Only names the user wrote are
//! checked, never defaults or a preset's.

use rayon::prelude::*;
use rustc_hash::FxHashSet as HashSet;

use super::Context;
use crate::config::{ConfiguredName, Settings};
use crate::diagnostics::Diagnostic;
use crate::facts::{Binding, ExprRef, KeyExpr, Lit};
use crate::index::{Index, Resolved, canonical, last_component};
use crate::locate::Span;
use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN001",
    name: "misconfigured-name",
    summary: "A name in the config file resolves to nothing in the project",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN001.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(MisconfiguredName);

/// Nothing per file: the config is checked once per run by [`check_config`].
fn check(_ctx: &Context, _out: &mut Vec<Diagnostic>) {}

/// What a key's values name, which decides where in the project they are looked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// A class: defined in the project, or imported / used as a base from a library.
    Class,
    /// A function, object or method: a module-level binding, a function or method definition,
    /// an import, or a call by that name.
    Callable,
    /// A model field: a class-level assignment of some class, or a lookup in a query.
    Field,
    /// A manager attribute (`all_objects`): a class-level assignment, or used in a query.
    Attribute,
    /// Something Django settings name by dotted string (middleware, routers, key functions):
    /// a string in a settings module, or a class or function of the project.
    Setting,
    /// `manager-import`: `module.Name` that a fix imports.
    Import,
}

fn kind(key: &str) -> Kind {
    match key.strip_prefix("extend-").unwrap_or(key) {
        "tenant-fields" | "tenant-parent-fields" => Kind::Field,
        "bypass-managers" => Kind::Attribute,
        "manager-import" => Kind::Import,
        "tenant-cache"
        | "key-helpers"
        | "tenant-setters"
        | "tenant-clearers"
        | "tenant-context-managers"
        | "bypass-calls"
        | "tenant-filter-methods" => Kind::Callable,
        "tenant-middlewares" | "tenant-routers" | "tenant-key-functions" => Kind::Setting,
        _ => Kind::Class,
    }
}

fn describe(kind: Kind) -> &'static str {
    match kind {
        Kind::Class => "class",
        Kind::Callable => "function, object or method",
        Kind::Field => "model field",
        Kind::Attribute => "manager attribute",
        Kind::Setting => "class or function named in the settings",
        Kind::Import => "class or object to import",
    }
}

/// Every name the project defines, imports or uses, by kind.
#[derive(Default)]
struct Vocabulary<'a> {
    /// Project classes and imported or base-class names (bare).
    class_names: HashSet<&'a str>,
    /// Dotted paths: project class qualnames, imported paths, external bases.
    class_paths: HashSet<String>,
    /// Module-level bindings, functions and methods, calls, imports (bare).
    callable_names: HashSet<&'a str>,
    /// Key helpers called in cache keys (`cache.get(tenant_key(x))`), bound or not: read from
    /// the files' encoded sites, so owned.
    key_helpers: HashSet<String>,
    /// `module.name` of every module-level binding, and imported paths.
    callable_paths: HashSet<String>,
    /// Class-level assignments (fields, managers).
    assigns: HashSet<&'a str>,
    /// First segments of query lookups (`tenant` of `tenant__slug=`).
    lookups: HashSet<String>,
    /// Manager attributes used in queries (`Model.all_objects.filter(...)`).
    query_managers: HashSet<String>,
    /// String literals of settings modules (`"tenancy.middleware.TenantMiddleware"`).
    setting_strings: HashSet<&'a str>,
    /// Top-level packages imported anywhere (`django_scopes`).
    imported_packages: HashSet<&'a str>,
    /// Top-level packages of the project's own modules.
    project_packages: HashSet<&'a str>,
}

fn collect_strings<'a>(lit: &'a Lit, out: &mut HashSet<&'a str>) {
    match lit {
        Lit::Str(s, _) => {
            out.insert(s.as_str());
        }
        Lit::Seq(items) => items.iter().for_each(|i| collect_strings(i, out)),
        Lit::Dict(items) => items.iter().for_each(|(k, v)| {
            collect_strings(k, out);
            collect_strings(v, out);
        }),
        _ => {}
    }
}

/// `load_model("app", "Model")`, `apps.get_model("app", "Model")` or `get_model("app.Model")`:
/// the app label and the model name.
fn registry_model(c: &crate::facts::CallRef) -> Option<(&str, &str)> {
    let callee = match &c.func {
        ExprRef::Name(n) => n.as_str(),
        ExprRef::Attr(_, n) => n.as_str(),
        _ => return None,
    };
    if !matches!(callee, "load_model" | "get_model") {
        return None;
    }
    match c.args.as_slice() {
        [ExprRef::Str(app), ExprRef::Str(model)] => Some((app.as_str(), model.as_str())),
        [ExprRef::Str(label)] => label.split_once('.'),
        _ => None,
    }
}

impl<'a> Vocabulary<'a> {
    fn build(index: &'a Index) -> Self {
        let mut v = Vocabulary::default();
        for (fi, facts) in index.files() {
            let module = index.module(fi);
            if let Some(top) = module.split('.').next().filter(|t| !t.is_empty()) {
                v.project_packages.insert(top);
            }
            for (ci, class) in facts.classes.iter().enumerate() {
                v.class_names.insert(class.name.as_str());
                let id = crate::index::ClassId {
                    file: fi,
                    class: ci as u32,
                };
                v.class_paths.insert(index.qualname(id).to_string());
                for base in &index.info(id).bases {
                    if let Resolved::External(p) = base {
                        v.class_paths.insert(p.clone());
                    }
                }
                for base in &class.bases {
                    if let Some(name) = last_name(base) {
                        v.class_names.insert(name);
                    }
                }
                for a in &class.assigns {
                    v.assigns.insert(a.name.as_str());
                }
                for m in &class.methods {
                    v.callable_names.insert(m.as_str());
                }
            }
            for b in facts.bindings.iter() {
                v.callable_names.insert(b.name.as_str());
                v.callable_paths.insert(format!("{module}.{}", b.name));
                match &b.binding {
                    Binding::FromImport { name, .. } => {
                        v.class_names.insert(name.as_str());
                        v.callable_names.insert(name.as_str());
                    }
                    // `Organization = load_model("openwisp_users", "Organization")`: a model of
                    // another app (often a library's) reached through the app registry.
                    Binding::Assign(ExprRef::Call(c)) => {
                        if let Some((app, model)) = registry_model(c) {
                            v.class_names.insert(model);
                            v.class_paths.insert(format!("{app}.models.{model}"));
                            v.class_paths.insert(format!("{app}.{model}"));
                        }
                    }
                    _ => {}
                }
            }
            for import in &facts.imports {
                match &import.from_module {
                    Some(m) => {
                        let m = index.absolute(fi, m);
                        for (name, asname) in &import.names {
                            let path = canonical(&format!("{m}.{name}"));
                            v.class_paths.insert(path.clone());
                            v.callable_paths.insert(path);
                            v.class_names.insert(name.as_str());
                            v.callable_names.insert(name.as_str());
                            if let Some(a) = asname {
                                v.class_names.insert(a.as_str());
                                v.callable_names.insert(a.as_str());
                            }
                        }
                        if let Some(top) = import.written_module.split('.').next()
                            && !top.is_empty()
                        {
                            v.imported_packages.insert(top);
                        }
                    }
                    None => {
                        for (name, _) in &import.names {
                            v.class_paths.insert(name.to_string());
                            v.callable_paths.insert(name.to_string());
                            if let Some(top) = name.as_str().split('.').next() {
                                v.imported_packages.insert(top);
                            }
                        }
                    }
                }
            }
            for f in &facts.functions {
                v.callable_names.insert(f.name.as_str());
            }
            for name in &facts.call_names {
                v.callable_names.insert(name.as_str());
            }
            for s in &facts.settings {
                collect_strings(&s.value, &mut v.setting_strings);
            }
        }
        // The names in the files' encoded sites: decoded file by file (never all at once), in
        // parallel.
        let files: Vec<crate::index::FileId> = index.files().map(|(fi, _)| fi).collect();
        let per_file: Vec<SiteNames> = files
            .par_iter()
            .map(|&fi| SiteNames::of(&index.facts(fi).sites()))
            .collect();
        for names in per_file {
            v.key_helpers.extend(names.key_helpers);
            v.query_managers.extend(names.query_managers);
            v.lookups.extend(names.lookups);
        }
        v
    }

    /// Is `name`, as written for a key of `kind`, something the project has?
    fn found(&self, index: &Index, kind: Kind, name: &str, tenant_model: bool) -> Found {
        if let Some((package, _)) = name.split_once('.') {
            return self.found_dotted(index, kind, name, package, tenant_model);
        }
        let hit = match kind {
            Kind::Class => self.class_names.contains(name),
            Kind::Callable => {
                self.callable_names.contains(name)
                    || self.key_helpers.contains(name)
                    || self.class_names.contains(name)
            }
            Kind::Field => {
                self.assigns.contains(name)
                    || self.lookups.contains(name)
                    || self.lookups.contains(format!("{name}_id").as_str())
            }
            Kind::Attribute => self.assigns.contains(name) || self.query_managers.contains(name),
            Kind::Setting => {
                self.class_names.contains(name)
                    || self.callable_names.contains(name)
                    || self.key_helpers.contains(name)
                    || self
                        .setting_strings
                        .iter()
                        .any(|s| s.contains('.') && last_component(s) == name)
            }
            // `manager-import` is validated as a dotted path; a bare name imports nothing.
            Kind::Import => false,
        };
        if hit { Found::Yes } else { Found::No }
    }

    fn found_dotted(
        &self,
        index: &Index,
        kind: Kind,
        name: &str,
        package: &str,
        tenant_model: bool,
    ) -> Found {
        match index.resolve_dotted(name) {
            Resolved::Class(_) | Resolved::Symbol { .. } => return Found::Yes,
            Resolved::Module(_) => return Found::Module,
            _ => {}
        }
        let path = canonical(name);
        let known = self.class_paths.contains(&path)
            || self.callable_paths.contains(&path)
            || self.setting_strings.contains(name);
        if known {
            return Found::Yes;
        }
        // A method named by its class, as `key-helpers` may (`Svc.get_cache_key`, or the
        // class's dotted path): looked up only for such a name, not collected for every method.
        if kind == Kind::Callable
            && let Some((owner, method)) = name.rsplit_once('.')
            && index.all_ids().into_iter().any(|id| {
                let class = index.class(id);
                (class.name.as_str() == owner || index.qualname(id) == owner)
                    && class.methods.iter().any(|m| m.as_str() == method)
            })
        {
            return Found::Yes;
        }
        // The tenant model may be named as Django's lazy references name it: `app_label.Model`.
        if tenant_model
            && let Some((label, model)) = name.rsplit_once('.')
            && !label.contains('.')
            && index.all_ids().into_iter().any(|id| {
                index.class(id).name.as_str() == model
                    && index.qualname(id).split('.').any(|seg| seg == label)
            })
        {
            return Found::Yes;
        }
        // A library's class that a fix will import (`manager-import`): the library only has to
        // be in use; tenantlint cannot see what is installed.
        if kind == Kind::Import
            && !self.project_packages.contains(package)
            && self.imported_packages.contains(package)
        {
            return Found::Yes;
        }
        Found::No
    }

    /// The closest name of the project for a suggestion, of the same form (bare or dotted).
    fn suggest(&self, kind: Kind, name: &str) -> Option<String> {
        let dotted = name.contains('.');
        let mut candidates: Vec<&str> = Vec::new();
        fn bare<'s>(set: &HashSet<&'s str>, out: &mut Vec<&'s str>) {
            out.extend(set.iter().copied());
        }
        fn owned<'s>(set: &'s HashSet<String>, out: &mut Vec<&'s str>) {
            out.extend(set.iter().map(String::as_str));
        }
        if dotted {
            let paths: Vec<&String> = match kind {
                Kind::Class => self.class_paths.iter().collect(),
                _ => self
                    .callable_paths
                    .iter()
                    .chain(self.class_paths.iter())
                    .collect(),
            };
            candidates.extend(paths.into_iter().map(String::as_str));
            if matches!(kind, Kind::Setting) {
                candidates.extend(self.setting_strings.iter().copied());
            }
        } else {
            match kind {
                Kind::Class => bare(&self.class_names, &mut candidates),
                Kind::Callable => {
                    bare(&self.callable_names, &mut candidates);
                    owned(&self.key_helpers, &mut candidates);
                    bare(&self.class_names, &mut candidates);
                }
                Kind::Field => {
                    bare(&self.assigns, &mut candidates);
                    owned(&self.lookups, &mut candidates);
                }
                Kind::Attribute => {
                    bare(&self.assigns, &mut candidates);
                    owned(&self.query_managers, &mut candidates);
                }
                Kind::Setting => {
                    bare(&self.class_names, &mut candidates);
                    candidates.extend(
                        self.setting_strings
                            .iter()
                            .filter(|s| s.contains('.'))
                            .map(|s| last_component(s)),
                    );
                }
                Kind::Import => {}
            }
        }
        best_match(name, candidates)
    }
}

/// The names one file's sites give the vocabulary.
#[derive(Default)]
struct SiteNames {
    key_helpers: HashSet<String>,
    query_managers: HashSet<String>,
    lookups: HashSet<String>,
}

impl SiteNames {
    fn of(sites: &crate::facts::Sites) -> SiteNames {
        let mut names = SiteNames::default();
        // Key helpers called in cache keys (`cache.get(tenant_key(x))`), bound or not.
        for site in &sites.cache_sites {
            key_calls(&site.key, &mut names.key_helpers);
        }
        for q in &sites.query_sites {
            if !names.query_managers.contains(q.manager.as_str()) {
                names.query_managers.insert(q.manager.to_string());
            }
            for k in &q.filter_keywords {
                let first = first_segment(k.as_str());
                if !names.lookups.contains(first) {
                    names.lookups.insert(first.to_string());
                }
            }
        }
        names
    }
}

enum Found {
    Yes,
    No,
    /// A dotted path that names a module of the project, not something in it.
    Module,
}

/// The last name of a base class expression (`Base` of `models.Base`).
fn last_name(base: &ExprRef) -> Option<&str> {
    match base {
        ExprRef::Name(n) => Some(n.as_str()),
        ExprRef::Attr(_, a) => Some(a.as_str()),
        _ => None,
    }
}

fn key_calls(key: &KeyExpr, out: &mut HashSet<String>) {
    match key {
        KeyExpr::Call { func, .. } => {
            if let Some(name) = last_name(func)
                && !out.contains(name)
            {
                out.insert(name.to_string());
            }
        }
        KeyExpr::Many(keys) => keys.iter().for_each(|k| key_calls(k, out)),
        _ => {}
    }
}

fn first_segment(lookup: &str) -> &str {
    lookup.split("__").next().unwrap_or(lookup)
}

/// The candidate most similar to `name` (Jaro-Winkler, case-insensitive), if it is similar
/// enough to be a likely typo: at least 0.85, or equal ignoring case. Ties go to the smallest
/// candidate, so the suggestion does not depend on hashing order. A dotted name's last
/// component must be that similar too: `tcms_tenants.models.Tenant` shares most of its letters
/// with `tcms.testplans.models.TestPlan`, but `Tenant` is no typo of `TestPlan`.
fn best_match<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<String> {
    let lower = name.to_lowercase();
    let last = |s: &str| s.rsplit('.').next().unwrap_or(s).to_lowercase();
    let name_last = last(name);
    let mut best: Option<(f64, &str)> = None;
    for c in candidates {
        if c.is_empty() || c == name {
            continue;
        }
        if name.contains('.') && strsim::jaro_winkler(&name_last, &last(c)) < 0.85 {
            continue;
        }
        let score = strsim::jaro_winkler(&lower, &c.to_lowercase());
        let better = match best {
            None => true,
            Some((s, b)) => score > s || (score == s && c < b),
        };
        if better {
            best = Some((score, c));
        }
    }
    best.filter(|(s, _)| *s >= 0.85).map(|(_, c)| c.to_string())
}

/// Check every name the config file sets: one TEN001 per name that resolves to nothing, at the
/// name's string in the config file.
pub fn check_config(index: &Index, settings: &Settings) -> Vec<Diagnostic> {
    let Some(config) = &settings.config_file else {
        return Vec::new();
    };
    if settings.configured_names.is_empty() {
        return Vec::new();
    }
    let vocabulary = Vocabulary::build(index);
    let rust_names = rust_names(
        index,
        settings
            .configured_names
            .iter()
            .map(|c| c.value.rsplit("::").next().unwrap_or(&c.value))
            .collect(),
    );
    let mut out = Vec::new();
    for ConfiguredName { key, value, span } in &settings.configured_names {
        let kind = kind(key);
        let tenant_model = key == "tenant-model";
        // A Rust service names its helpers and types in the same keys (`key-helpers`): a name
        // any Rust file defines, imports or uses as a type or table is found.
        if rust_names.contains(value.rsplit("::").next().unwrap_or(value)) {
            continue;
        }
        let why = match vocabulary.found(index, kind, value, tenant_model) {
            Found::Yes => continue,
            Found::Module => format!("`{value}` is a module of the project, not a name in it"),
            Found::No => {
                let mut why = format!(
                    "no {} named `{value}` is defined, imported or used anywhere in the project",
                    describe(kind)
                );
                if kind == Kind::Import
                    && let Some((package, _)) = value.split_once('.')
                    && !vocabulary.project_packages.contains(package)
                {
                    why = format!(
                        "`{package}` is not a package of the project, and nothing in the project imports it"
                    );
                }
                if let Some(s) = vocabulary.suggest(kind, value) {
                    why.push_str(&format!(" (did you mean `{s}`?)"));
                }
                why
            }
        };
        let message = format!("`{key}`: {why}");
        let help = format!(
            "Correct the name in `{key}` or remove it: names match a class or object as imported (bare) or a dotted path exactly, and a name that matches nothing turns its checks off"
        );
        out.push(
            Diagnostic::new(
                RULE,
                message,
                config.clone(),
                Span::new(span.start as u32, span.end as u32),
            )
            .with_help(Some(help)),
        );
    }
    out
}

/// Which of `wanted` the Rust files of the project define (functions), bring in (`use`), use
/// as a parameter type, or declare as a table or column. Only the few configured names are
/// looked up: nothing is copied.
fn rust_names<'w>(
    index: &Index,
    mut wanted: std::collections::HashSet<&'w str>,
) -> std::collections::HashSet<&'w str> {
    let mut found = std::collections::HashSet::new();
    let mut see = |name: &str| {
        if let Some(w) = wanted.take(name) {
            found.insert(w);
        }
    };
    for (_, facts) in index.files() {
        let Some(rust) = &facts.rust else { continue };
        for f in &rust.functions {
            see(&f.name);
            for p in &f.params {
                p.ty.iter().for_each(|t| see(t));
            }
        }
        for u in &rust.uses {
            see(&u.name);
            u.path.iter().for_each(|p| see(p));
        }
        for t in &rust.tables {
            see(&t.table);
            t.columns.iter().for_each(|c| see(c));
        }
    }
    found
}
