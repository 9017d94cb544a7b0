//! The project index: cross-file knowledge built from every file's facts.
//!
//! It resolves names through imports, aliases, relative imports and re-exports; decides for every
//! class whether it is a Django model, a manager or a queryset, whether it is tenant-owned, and
//! which managers (and which default manager) each model ends up with, by Django's own rules.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use rayon::prelude::*;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Conventions;
use crate::facts::{Binding, ClassFact, ExprRef, FileFacts, Name, RootBinding};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClassId {
    pub file: u32,
    pub class: u32,
}

/// Calls that reach a model by its name at run time (`apps.get_model("billing", "Invoice")`):
/// a file making one may depend on any file.
const DYNAMIC_MODEL_LOOKUPS: &[&str] = &["get_model", "load_model", "get_user_model"];

/// What a name or dotted expression refers to.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolved {
    /// A class defined in the project.
    Class(ClassId),
    /// A module (of the project or not), by dotted name.
    Module(String),
    /// Something outside the project, by canonical dotted path (`django.db.models.Model`).
    External(String),
    /// A module-level variable or function of the project.
    Symbol {
        file: u32,
        name: Name,
    },
    Unknown,
}

/// A class-like value: what a manager or field is an instance of.
#[derive(Clone, Debug, PartialEq)]
pub enum ClassLike {
    Class(ClassId),
    External(String),
    /// `Manager.from_queryset(QuerySet)`
    FromQueryset(Box<ClassLike>, Box<ClassLike>),
    /// `QuerySet.as_manager()`
    AsManager(Box<ClassLike>),
    Unknown,
}

/// A manager a model has.
#[derive(Clone, Debug)]
pub struct Manager {
    pub name: Name,
    pub class: ClassLike,
    pub scoped: bool,
    /// The model that declares it (the model itself, or a base).
    pub declared_in: Option<ClassId>,
    /// Index of the declaring [`crate::facts::ClassAssign`] in its class.
    pub assign: Option<usize>,
    /// No manager is declared anywhere: Django adds a plain `objects`.
    pub implicit: bool,
}

/// Why a model is tenant-owned.
#[derive(Clone, Debug, PartialEq)]
pub enum TenantReason {
    /// A tenant foreign key, declared on `in_class` (the model or a base).
    Field { field: Name, in_class: ClassId },
    /// Inherits a configured tenant base class.
    BaseClass(String),
    /// Schema per tenant (django-tenants): the model's app is in `TENANT_APPS`.
    TenantApp(String),
    /// The model declares a scoped manager that names its scope dimension (django-scopes'
    /// `ScopedManager(site="site")`): it holds tenant data by its author's own account.
    ScopedManager(Name),
}

#[derive(Clone, Debug, Default)]
pub struct ClassInfo {
    pub bases: Vec<Resolved>,
    pub is_model: bool,
    pub is_manager: bool,
    pub is_queryset: bool,
    pub is_fk: bool,
    pub scoped: bool,
    pub tenant_base: bool,
    pub abstract_: bool,
    pub proxy: bool,
    pub is_tenant_model: bool,
    pub is_global: bool,
    pub tenant: Option<TenantReason>,
    /// Managers in Django's order; the first is the default manager.
    pub managers: Vec<Manager>,
    /// The effective `Meta.default_manager_name` (own, or inherited from the first parent).
    pub default_manager_name: Option<String>,
    /// The effective `Meta.base_manager_name` (own, or inherited from the first parent).
    pub base_manager_name: Option<String>,
    /// django-multitenant's tenant column (`tenant_id = "account_id"`), own or inherited.
    pub tenant_column: Option<String>,
    /// The string arguments of the model's scoped manager (`ScopedManager(site="post__site")`):
    /// lookups that filter on the tenant.
    pub scope_lookups: Vec<String>,
    /// Foreign keys (own or inherited, as Django computes the fields: a subclass's `name = None`
    /// removes one) whose target is a tenant-owned model or the tenant model: a lookup that
    /// pins such a relation pins the tenant (`filter(issue=issue)`, `project_id__in=...`).
    pub tenant_relations: Vec<(Name, ClassId)>,
}

impl ClassInfo {
    /// Keyword names that filter on the tenant: each of `tenant-fields` (and its `_id` column),
    /// and the model's own tenant column (`account_id`, and `account` for its relation).
    pub fn is_tenant_filter(&self, keyword: &str, tenant_fields: &[String]) -> bool {
        let matches_field = |f: &str| {
            keyword == f
                || keyword
                    .strip_prefix(f)
                    .is_some_and(|rest| rest == "_id" || rest.starts_with("__"))
        };
        if tenant_fields.iter().any(|f| matches_field(f)) {
            return true;
        }
        if self.scope_lookups.iter().any(|l| matches_field(l)) {
            return true;
        }
        match &self.tenant_column {
            Some(col) => {
                let relation = col.strip_suffix("_id").unwrap_or(col);
                keyword == col
                    || keyword.starts_with(&format!("{col}__"))
                    || matches_field(relation)
            }
            None => false,
        }
    }
}

impl ClassInfo {
    pub fn default_manager(&self) -> Option<&Manager> {
        self.managers.first()
    }

    /// A model the tenant rules apply to: tenant-owned, not the tenant model, not global.
    pub fn needs_scoping(&self) -> bool {
        self.is_model && self.tenant.is_some() && !self.is_tenant_model && !self.is_global
    }
}

/// A file of the project, as the engine numbers them.
pub type FileId = u32;

/// What the index knows of a file besides its facts: where it is and which module it is.
#[derive(Clone, Debug)]
pub struct FileMeta {
    pub path: PathBuf,
    pub module: String,
    /// An `__init__.py` (relative imports start from the package itself).
    pub is_package: bool,
}

impl FileMeta {
    pub fn new(path: PathBuf, module: String) -> FileMeta {
        let is_package = path.file_stem().is_some_and(|s| s == "__init__");
        FileMeta {
            path,
            module,
            is_package,
        }
    }
}

/// The project index. It owns every file's facts (shared, by [`FileId`]) and what is derived
/// from all of them: module names, class qualnames and class infos. [`Index::update`] replaces
/// one file's facts and re-derives only when the file's part in the cross-file picture changed.
pub struct Index {
    conv: Arc<Conventions>,
    facts: Vec<Arc<FileFacts>>,
    metas: Vec<FileMeta>,
    modules: HashMap<String, u32>,
    offsets: Vec<u32>,
    infos: Vec<ClassInfo>,
    /// `module.Class` of every class, canonical, in flat class order.
    qualnames: Vec<String>,
    /// Schema per tenant: the apps listed in `TENANT_APPS` by the project's settings.
    tenant_apps: Vec<String>,
}

const MAX_DEPTH: u32 = 24;

/// Django's own classes, by canonical path.
pub const DJANGO_MODEL: &str = "django.db.models.Model";
const DJANGO_MANAGERS: &[&str] = &["django.db.models.Manager", "django.db.models.BaseManager"];
const DJANGO_QUERYSET: &str = "django.db.models.QuerySet";
const DJANGO_FKS: &[&str] = &[
    "django.db.models.ForeignKey",
    "django.db.models.OneToOneField",
];

/// The apps in the project's `TENANT_APPS` settings (`billing.apps.BillingConfig` -> `billing`).
fn tenant_apps<'a>(files: impl Iterator<Item = &'a FileFacts>) -> Vec<String> {
    let mut apps = Vec::new();
    for f in files {
        let Some(setting) = f.setting("TENANT_APPS") else {
            continue;
        };
        let crate::facts::Lit::Seq(items) = &setting.value else {
            continue;
        };
        for item in items {
            let Some(app) = item.as_str() else { continue };
            let app = match app.split_once(".apps.") {
                Some((pkg, cfg)) if cfg.ends_with("Config") => pkg,
                _ => app,
            };
            if !apps.iter().any(|a| a == app) {
                apps.push(app.to_string());
            }
        }
    }
    apps
}

/// A hash of what the cross-file derivation reads from one file: its classes, module-level
/// bindings, star imports and `TENANT_APPS`. Spans are left out, so an edit that only moves
/// these (a line added above a class) keeps the signature.
fn signature(facts: &FileFacts) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    facts.problems.is_empty().hash(&mut h);
    for c in &facts.classes {
        c.name.hash(&mut h);
        format!("{:?}{:?}{:?}", c.bases, c.meta, c.tenant_column).hash(&mut h);
        for a in &c.assigns {
            a.name.hash(&mut h);
            format!("{:?}", a.value).hash(&mut h);
        }
        c.methods.hash(&mut h);
        c.top_level.hash(&mut h);
    }
    for b in &facts.bindings {
        b.name.hash(&mut h);
        format!("{:?}", b.binding).hash(&mut h);
    }
    facts.star_imports.hash(&mut h);
    if let Some(s) = facts.setting("TENANT_APPS") {
        format!("{:?}", s.value).hash(&mut h);
    }
    h.finish()
}

/// Third-party classes named like managers that are model fields, not managers.
pub const MANAGER_LOOKALIKES: &[&str] = &[
    "taggit.managers.TaggableManager",
    "modelcluster.contrib.taggit.ClusterTaggableManager",
    "TaggableManager",
    "ClusterTaggableManager",
];

fn external_is_manager(conv: &Conventions, p: &str) -> bool {
    if DJANGO_MANAGERS.contains(&p) {
        return true;
    }
    let name = last_component(p);
    name.ends_with("Manager")
        && !MANAGER_LOOKALIKES
            .iter()
            .any(|s| config_matches(s, name, p))
        && !conv.not_managers.iter().any(|s| config_matches(s, name, p))
}

/// Canonical form of a dotted path to a Django class: `django.db.models.base.Model` and
/// `django.db.models.fields.related.ForeignKey` become `django.db.models.Model` and
/// `django.db.models.ForeignKey`.
pub fn canonical(path: &str) -> String {
    if let Some(rest) = path.strip_prefix("django.db.models.") {
        let last = rest.rsplit('.').next().unwrap_or(rest);
        const KNOWN: &[&str] = &[
            "Model",
            "Manager",
            "BaseManager",
            "QuerySet",
            "ForeignKey",
            "OneToOneField",
            "ManyToManyField",
            "FileField",
            "ImageField",
        ];
        if KNOWN.contains(&last) {
            return format!("django.db.models.{last}");
        }
    }
    if path == "django.core.cache.backends.base.BaseCache" {
        return path.to_string();
    }
    path.to_string()
}

/// The last component of a dotted path: `Model` for `django.db.models.Model`.
pub fn last_component(path: &str) -> &str {
    path.rsplit('.').next().unwrap_or(path)
}

/// Does a configured name (bare or dotted) match a class known by `name` and `qualname`?
pub fn config_matches(config: &str, name: &str, qualname: &str) -> bool {
    if config.contains('.') {
        config == qualname || canonical(config) == canonical(qualname)
    } else {
        config == name
    }
}

impl Index {
    /// Build the index of a project: `files[i]` is file `i`.
    pub fn build(files: Vec<(FileMeta, Arc<FileFacts>)>, conv: Arc<Conventions>) -> Index {
        let (metas, facts): (Vec<FileMeta>, Vec<Arc<FileFacts>>) = files.into_iter().unzip();
        let mut index = Index {
            conv,
            facts,
            metas,
            modules: HashMap::default(),
            offsets: Vec::new(),
            infos: Vec::new(),
            qualnames: Vec::new(),
            tenant_apps: Vec::new(),
        };
        index.derive();
        index
    }

    /// Replace one file's facts (or add a file: `file == self.len()`). What depends on them is
    /// derived again only when the facts the cross-file picture reads (classes, module-level
    /// bindings, star imports, `TENANT_APPS`) changed: an edit inside a function body costs
    /// nothing more than the swap. Returns whether the derivation ran.
    pub fn update(&mut self, file: FileId, meta: FileMeta, facts: Arc<FileFacts>) -> bool {
        let i = file as usize;
        if i == self.facts.len() {
            self.facts.push(facts);
            self.metas.push(meta);
        } else {
            let same = signature(&self.facts[i]) == signature(&facts)
                && self.metas[i].module == meta.module
                && self.metas[i].is_package == meta.is_package;
            self.facts[i] = facts;
            self.metas[i] = meta;
            if same {
                return false;
            }
        }
        self.derive();
        true
    }

    /// Everything derived from all files: the module map, class offsets and qualnames, and the
    /// class infos.
    fn derive(&mut self) {
        let mut modules: HashMap<String, u32> =
            HashMap::with_capacity_and_hasher(self.facts.len(), Default::default());
        let mut offsets = Vec::with_capacity(self.facts.len() + 1);
        let mut total = 0u32;
        for (i, (f, meta)) in self.facts.iter().zip(&self.metas).enumerate() {
            // A `.py` file wins over a `.pyi` stub of the same module.
            let is_stub = meta.path.extension().is_some_and(|e| e == "pyi");
            match modules.get(meta.module.as_str()) {
                Some(&existing)
                    if !is_stub
                        && self.metas[existing as usize]
                            .path
                            .extension()
                            .is_some_and(|e| e == "pyi") =>
                {
                    modules.insert(meta.module.clone(), i as u32);
                }
                Some(_) => {}
                None => {
                    modules.insert(meta.module.clone(), i as u32);
                }
            }
            offsets.push(total);
            total += f.classes.len() as u32;
        }
        offsets.push(total);
        self.modules = modules;
        self.offsets = offsets;
        self.qualnames = self
            .facts
            .iter()
            .zip(&self.metas)
            .flat_map(|(f, m)| {
                f.classes
                    .iter()
                    .map(move |c| canonical(&format!("{}.{}", m.module, c.name)))
            })
            .collect();
        self.tenant_apps = if self.conv.schema_per_tenant {
            tenant_apps(self.facts.iter().map(|f| &**f))
        } else {
            Vec::new()
        };
        self.compute_infos();
    }

    pub fn conv(&self) -> &Conventions {
        &self.conv
    }

    pub fn len(&self) -> usize {
        self.facts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.facts.is_empty()
    }

    pub fn facts(&self, file: FileId) -> &FileFacts {
        &self.facts[file as usize]
    }

    pub fn meta(&self, file: FileId) -> &FileMeta {
        &self.metas[file as usize]
    }

    pub fn path(&self, file: FileId) -> &Path {
        &self.metas[file as usize].path
    }

    pub fn module(&self, file: FileId) -> &str {
        &self.metas[file as usize].module
    }

    /// Every file with its facts.
    pub fn files(&self) -> impl Iterator<Item = (FileId, &FileFacts)> {
        self.facts
            .iter()
            .enumerate()
            .map(|(i, f)| (i as FileId, &**f))
    }

    /// An import's module as written in `file` (`..models`) made absolute (`app.models`).
    pub fn absolute<'a>(&self, file: FileId, module: &'a str) -> std::borrow::Cow<'a, str> {
        let level = module.bytes().take_while(|&b| b == b'.').count();
        if level == 0 {
            return std::borrow::Cow::Borrowed(module);
        }
        let meta = &self.metas[file as usize];
        let rest = &module[level..];
        let mut parts: Vec<&str> = if meta.module.is_empty() {
            vec![]
        } else {
            meta.module.split('.').collect()
        };
        // For a module `a.b.c`, level 1 is package `a.b`; for a package `a.b` (its __init__),
        // it is `a.b`.
        let drop = if meta.is_package { level - 1 } else { level };
        for _ in 0..drop.min(parts.len()) {
            parts.pop();
        }
        let mut base = parts.join(".");
        if !rest.is_empty() {
            if !base.is_empty() {
                base.push('.');
            }
            base.push_str(rest);
        }
        std::borrow::Cow::Owned(base)
    }

    pub fn file_of_module(&self, module: &str) -> Option<u32> {
        self.modules.get(module).copied()
    }

    /// The files whose facts may resolve names into one of `seeds`, the seeds included: the
    /// seeds' importers, their importers, and so on. `import p` counts as importing every module
    /// of package `p`, `from p import m` also imports submodule `p.m`, and a file that reaches
    /// models by name at run time (`apps.get_model(...)`) depends on every file. Names can only
    /// cross files through imports, so a finding in a file outside this set cannot be caused by
    /// the seeds (settings modules are the exception: the caller handles them).
    pub fn dependents(&self, seeds: &[FileId]) -> Vec<FileId> {
        let n = self.facts.len();
        let mut sorted: Vec<(&str, u32)> =
            self.modules.iter().map(|(m, &f)| (m.as_str(), f)).collect();
        sorted.sort_unstable();
        let with_submodules = |module: &str, out: &mut Vec<u32>| {
            let start = sorted.partition_point(|(m, _)| *m < module);
            for &(m, f) in &sorted[start..] {
                if !m.starts_with(module) {
                    break;
                }
                // `module` itself or a submodule (`app.models`, not `app_x`).
                if matches!(m.as_bytes().get(module.len()), None | Some(b'.')) {
                    out.push(f);
                }
            }
        };
        let mut importers: Vec<Vec<u32>> = vec![Vec::new(); n];
        let mut everything: Vec<u32> = Vec::new();
        let mut targets: Vec<u32> = Vec::new();
        for (fi, facts) in self.facts.iter().enumerate() {
            let file = fi as FileId;
            targets.clear();
            for imp in &facts.imports {
                match &imp.from_module {
                    Some(m) => {
                        let m = self.absolute(file, m);
                        targets.extend(self.file_of_module(&m));
                        for (name, _) in &imp.names {
                            targets.extend(self.file_of_module(&format!("{m}.{name}")));
                        }
                    }
                    None => {
                        for (name, _) in &imp.names {
                            with_submodules(name.as_str(), &mut targets);
                        }
                    }
                }
            }
            for star in &facts.star_imports {
                targets.extend(self.file_of_module(&self.absolute(file, star)));
            }
            if facts
                .calls
                .iter()
                .any(|c| DYNAMIC_MODEL_LOOKUPS.contains(&c.name.as_str()))
            {
                everything.push(fi as u32);
            }
            targets.sort_unstable();
            targets.dedup();
            for &t in &targets {
                if t as usize != fi {
                    importers[t as usize].push(fi as u32);
                }
            }
        }
        // Rust and SQL files: names cross crates through `use`, Cargo features and SQL table
        // names, which this pass does not resolve: a Rust or SQL seed makes every Rust file a
        // dependent (their facts are small and their checks cheap).
        if seeds
            .iter()
            .any(|&s| self.facts.get(s as usize).is_some_and(|f| f.rust.is_some()))
        {
            everything.extend((0..n as u32).filter(|&f| self.facts[f as usize].rust.is_some()));
        }
        let mut seen = vec![false; n];
        let mut stack: Vec<u32> = Vec::new();
        for &s in seeds.iter().chain(&everything) {
            if (s as usize) < n && !seen[s as usize] {
                seen[s as usize] = true;
                stack.push(s);
            }
        }
        while let Some(f) = stack.pop() {
            for &i in &importers[f as usize] {
                if !seen[i as usize] {
                    seen[i as usize] = true;
                    stack.push(i);
                }
            }
        }
        (0..n as FileId).filter(|&f| seen[f as usize]).collect()
    }

    fn flat(&self, id: ClassId) -> usize {
        (self.offsets[id.file as usize] + id.class) as usize
    }

    pub fn all_ids(&self) -> Vec<ClassId> {
        let mut ids = Vec::with_capacity(*self.offsets.last().unwrap_or(&0) as usize);
        for (fi, f) in self.facts.iter().enumerate() {
            for ci in 0..f.classes.len() {
                ids.push(ClassId {
                    file: fi as u32,
                    class: ci as u32,
                });
            }
        }
        ids
    }

    pub fn class(&self, id: ClassId) -> &ClassFact {
        &self.facts[id.file as usize].classes[id.class as usize]
    }

    pub fn info(&self, id: ClassId) -> &ClassInfo {
        &self.infos[self.flat(id)]
    }

    /// `module.Class`, canonical.
    pub fn qualname(&self, id: ClassId) -> &str {
        &self.qualnames[self.flat(id)]
    }

    // ---------------------------------------------------------------- name resolution

    /// Resolve a name at module level of `file`.
    pub fn resolve_name(&self, file: u32, name: &str) -> Resolved {
        self.resolve_name_depth(file, name, 0)
    }

    fn resolve_name_depth(&self, file: u32, name: &str, depth: u32) -> Resolved {
        if depth > MAX_DEPTH {
            return Resolved::Unknown;
        }
        let facts = &self.facts[file as usize];
        if let Some(binding) = facts.binding(name) {
            return self.resolve_binding_depth(file, name, binding, depth + 1);
        }
        for star in &facts.star_imports {
            let star = self.absolute(file, star);
            if let Some(&m) = self.modules.get(&*star) {
                if m != file {
                    let r = self.resolve_name_depth(m, name, depth + 1);
                    if r != Resolved::Unknown {
                        return r;
                    }
                }
            } else if !star.is_empty() {
                return Resolved::External(canonical(&format!("{star}.{name}")));
            }
        }
        Resolved::Unknown
    }

    /// Resolve a binding found in `file` for `name`.
    pub fn resolve_binding(&self, file: u32, name: &str, binding: &Binding) -> Resolved {
        self.resolve_binding_depth(file, name, binding, 0)
    }

    fn resolve_binding_depth(
        &self,
        file: u32,
        name: &str,
        binding: &Binding,
        depth: u32,
    ) -> Resolved {
        match binding {
            Binding::Class(i) => Resolved::Class(ClassId { file, class: *i }),
            Binding::Module(m) => Resolved::Module(m.clone()),
            Binding::FromImport {
                module,
                name: imported,
            } => self.resolve_attr_depth(
                Resolved::Module(self.absolute(file, module).into_owned()),
                imported,
                depth + 1,
            ),
            Binding::Assign(expr) => match expr {
                ExprRef::Name(_) | ExprRef::Attr(..) => {
                    match self.resolve_expr_depth(file, expr, depth + 1) {
                        Resolved::Unknown => Resolved::Symbol {
                            file,
                            name: Name::new(name),
                        },
                        r => r,
                    }
                }
                _ => Resolved::Symbol {
                    file,
                    name: Name::new(name),
                },
            },
            Binding::Other => Resolved::Symbol {
                file,
                name: Name::new(name),
            },
        }
    }

    /// `base.attr`
    pub fn resolve_attr(&self, base: Resolved, attr: &str) -> Resolved {
        self.resolve_attr_depth(base, attr, 0)
    }

    fn resolve_attr_depth(&self, base: Resolved, attr: &str, depth: u32) -> Resolved {
        if depth > MAX_DEPTH {
            return Resolved::Unknown;
        }
        match base {
            Resolved::Module(m) => {
                if let Some(&file) = self.modules.get(m.as_str()) {
                    let facts = &self.facts[file as usize];
                    if facts.binding(attr).is_some() || !facts.star_imports.is_empty() {
                        let r = self.resolve_name_depth(file, attr, depth + 1);
                        if r != Resolved::Unknown {
                            return r;
                        }
                    }
                    let sub = format!("{m}.{attr}");
                    if self.modules.contains_key(sub.as_str()) {
                        return Resolved::Module(sub);
                    }
                    Resolved::Unknown
                } else {
                    let sub = format!("{m}.{attr}");
                    if self.modules.contains_key(sub.as_str()) {
                        return Resolved::Module(sub);
                    }
                    if m.is_empty() {
                        return Resolved::Unknown;
                    }
                    Resolved::External(canonical(&sub))
                }
            }
            Resolved::External(p) => Resolved::External(canonical(&format!("{p}.{attr}"))),
            _ => Resolved::Unknown,
        }
    }

    /// Resolve a dotted path written as a string (`"app.middleware.TenantMiddleware"`).
    pub fn resolve_dotted(&self, path: &str) -> Resolved {
        match path.rsplit_once('.') {
            Some((module, name)) => self.resolve_attr(Resolved::Module(module.to_string()), name),
            None => Resolved::Unknown,
        }
    }

    /// Resolve a dotted expression at module level of `file`.
    pub fn resolve_expr(&self, file: u32, expr: &ExprRef) -> Resolved {
        self.resolve_expr_depth(file, expr, 0)
    }

    fn resolve_expr_depth(&self, file: u32, expr: &ExprRef, depth: u32) -> Resolved {
        if depth > MAX_DEPTH {
            return Resolved::Unknown;
        }
        match expr {
            ExprRef::Name(n) => self.resolve_name_depth(file, n, depth + 1),
            ExprRef::Attr(v, a) => {
                let base = self.resolve_expr_depth(file, v, depth + 1);
                self.resolve_attr_depth(base, a, depth + 1)
            }
            _ => Resolved::Unknown,
        }
    }

    /// Resolve a base class expression; `Manager.from_queryset(QS)` is a subclass of `Manager`.
    fn resolve_base(&self, file: u32, expr: &ExprRef) -> Resolved {
        if let ExprRef::Call(call) = expr
            && let ExprRef::Attr(base, method) = &call.func
            && method == "from_queryset"
        {
            return self.resolve_expr(file, base);
        }
        self.resolve_expr(file, expr)
    }

    /// Resolve a dotted expression whose root name is bound as `root` where it is used.
    pub fn resolve_at(&self, file: u32, expr: &ExprRef, root: &RootBinding) -> Resolved {
        match root {
            RootBinding::Module => self.resolve_expr(file, expr),
            RootBinding::Local => Resolved::Unknown,
            RootBinding::LocalImport(binding) => {
                let Some(root_name) = expr.root_name() else {
                    return Resolved::Unknown;
                };
                let mut attrs = Vec::new();
                let mut cur = expr;
                while let ExprRef::Attr(v, a) = cur {
                    attrs.push(a);
                    cur = v;
                }
                if !matches!(cur, ExprRef::Name(_)) {
                    return Resolved::Unknown;
                }
                let mut r = self.resolve_binding(file, root_name, binding);
                for a in attrs.iter().rev() {
                    r = self.resolve_attr(r, a);
                }
                r
            }
        }
    }

    /// The dotted path of a resolved symbol: classes by qualname, symbols by `module.name`.
    pub fn path_of(&self, r: &Resolved) -> Option<String> {
        match r {
            Resolved::Class(c) => Some(self.qualname(*c).to_string()),
            Resolved::External(p) | Resolved::Module(p) => Some(p.clone()),
            Resolved::Symbol { file, name } => {
                Some(format!("{}.{}", self.metas[*file as usize].module, name))
            }
            Resolved::Unknown => None,
        }
    }

    /// The class-like value an expression evaluates to, following `X = Manager.from_queryset(Q)`.
    pub fn class_like(&self, file: u32, expr: &ExprRef) -> ClassLike {
        self.class_like_depth(file, expr, 0)
    }

    fn class_like_depth(&self, file: u32, expr: &ExprRef, depth: u32) -> ClassLike {
        if depth > MAX_DEPTH {
            return ClassLike::Unknown;
        }
        match expr {
            ExprRef::Call(call) => {
                // `Manager.from_queryset(QS)`
                if let ExprRef::Attr(base, method) = &call.func
                    && method == "from_queryset"
                    && let Some(qs) = call.args.first()
                {
                    return ClassLike::FromQueryset(
                        Box::new(self.class_like_depth(file, base, depth + 1)),
                        Box::new(self.class_like_depth(file, qs, depth + 1)),
                    );
                }
                ClassLike::Unknown
            }
            ExprRef::Name(_) | ExprRef::Attr(..) => match self.resolve_expr(file, expr) {
                Resolved::Class(c) => ClassLike::Class(c),
                Resolved::External(p) => ClassLike::External(p),
                Resolved::Symbol { file: sf, name } => match self.facts[sf as usize].binding(&name)
                {
                    Some(Binding::Assign(value)) if matches!(value, ExprRef::Call(_)) => {
                        self.class_like_depth(sf, &value.clone(), depth + 1)
                    }
                    _ => ClassLike::Unknown,
                },
                _ => ClassLike::Unknown,
            },
            _ => ClassLike::Unknown,
        }
    }

    /// The class of an instance created by `expr` (`Manager()`, `QS.as_manager()`,
    /// `M.from_queryset(QS)()`), if it is a call.
    pub fn instance_class(&self, file: u32, expr: &ExprRef) -> Option<ClassLike> {
        let call = expr.as_call()?;
        if let ExprRef::Attr(qs, m) = &call.func
            && m == "as_manager"
        {
            return Some(ClassLike::AsManager(Box::new(self.class_like(file, qs))));
        }
        Some(self.class_like(file, &call.func))
    }

    // ---------------------------------------------------------------- class predicates

    pub fn like_is_manager(&self, c: &ClassLike) -> bool {
        match c {
            ClassLike::Class(id) => self.info(*id).is_manager,
            ClassLike::External(p) => self.external_is_manager(p),
            ClassLike::FromQueryset(base, _) => self.like_is_manager(base),
            ClassLike::AsManager(qs) => self.like_is_queryset(qs),
            ClassLike::Unknown => false,
        }
    }

    /// An external class is a manager when it is Django's, or its name ends in `Manager` and it
    /// is not a known look-alike (django-taggit's `TaggableManager` is a field) or one of
    /// `not-managers`.
    fn external_is_manager(&self, p: &str) -> bool {
        external_is_manager(&self.conv, p)
    }

    pub fn like_is_queryset(&self, c: &ClassLike) -> bool {
        match c {
            ClassLike::Class(id) => self.info(*id).is_queryset,
            ClassLike::External(p) => {
                p == DJANGO_QUERYSET || last_component(p).ends_with("QuerySet")
            }
            _ => false,
        }
    }

    pub fn like_is_scoped(&self, c: &ClassLike) -> bool {
        match c {
            ClassLike::Class(id) => self.info(*id).scoped,
            ClassLike::External(p) => self
                .conv()
                .scoped_managers
                .iter()
                .any(|s| config_matches(s, last_component(p), p)),
            ClassLike::FromQueryset(base, _) => self.like_is_scoped(base),
            // `QS.as_manager()` is scoped when the queryset is listed (or inherits a listed one).
            ClassLike::AsManager(qs) => self.like_is_scoped(qs),
            ClassLike::Unknown => false,
        }
    }

    /// Does the manager (or its queryset) define a method called `name`?
    pub fn like_has_method(&self, c: &ClassLike, name: &str) -> bool {
        match c {
            ClassLike::Class(id) => self.class_has_method(*id, name, 0),
            ClassLike::FromQueryset(base, qs) => {
                self.like_has_method(base, name) || self.like_has_method(qs, name)
            }
            ClassLike::AsManager(qs) => self.like_has_method(qs, name),
            _ => false,
        }
    }

    fn class_has_method(&self, id: ClassId, name: &str, depth: u32) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let class = self.class(id);
        if class.methods.iter().any(|m| m == name) {
            return true;
        }
        // `class M(Manager.from_queryset(QS))` also has the queryset's methods.
        for b in &class.bases {
            if let ExprRef::Call(call) = b
                && matches!(&call.func, ExprRef::Attr(_, m) if m == "from_queryset")
                && let Some(qs) = call.args.first()
                && self.like_has_method(&self.class_like(id.file, qs), name)
            {
                return true;
            }
        }
        self.info(id).bases.iter().any(|b| match b {
            Resolved::Class(b) => self.class_has_method(*b, name, depth + 1),
            _ => false,
        })
    }

    /// The project class that defines method `name` for instances of `c` (a manager class, its
    /// `from_queryset` queryset, an `as_manager()` queryset, or one of their bases).
    pub fn like_method_owner(&self, c: &ClassLike, name: &str) -> Option<ClassId> {
        match c {
            ClassLike::Class(id) => self.class_method_owner(*id, name, 0),
            ClassLike::FromQueryset(base, qs) => self
                .like_method_owner(base, name)
                .or_else(|| self.like_method_owner(qs, name)),
            ClassLike::AsManager(qs) => self.like_method_owner(qs, name),
            _ => None,
        }
    }

    fn class_method_owner(&self, id: ClassId, name: &str, depth: u32) -> Option<ClassId> {
        if depth > MAX_DEPTH {
            return None;
        }
        let class = self.class(id);
        if class.methods.iter().any(|m| m == name) {
            return Some(id);
        }
        for b in &class.bases {
            if let ExprRef::Call(call) = b
                && matches!(&call.func, ExprRef::Attr(_, m) if m == "from_queryset")
                && let Some(qs) = call.args.first()
                && let Some(owner) = self.like_method_owner(&self.class_like(id.file, qs), name)
            {
                return Some(owner);
            }
        }
        self.info(id).bases.iter().find_map(|b| match b {
            Resolved::Class(b) => self.class_method_owner(*b, name, depth + 1),
            _ => None,
        })
    }

    pub fn like_display(&self, c: &ClassLike) -> String {
        match c {
            ClassLike::Class(id) => self.class(*id).name.to_string(),
            ClassLike::External(p) => last_component(p).to_string(),
            ClassLike::FromQueryset(base, qs) => {
                format!(
                    "{}.from_queryset({})",
                    self.like_display(base),
                    self.like_display(qs)
                )
            }
            ClassLike::AsManager(qs) => format!("{}.as_manager()", self.like_display(qs)),
            ClassLike::Unknown => "?".into(),
        }
    }

    /// Is `r` the configured tenant model?
    fn is_tenant_model_ref(&self, file: u32, expr: &ExprRef) -> bool {
        let cfg = &self.conv.tenant_model;
        let cfg_name = last_component(cfg);
        match expr {
            ExprRef::Str(s) => {
                if s == "self" {
                    return false;
                }
                let (label, name) = match s.rsplit_once('.') {
                    Some((l, n)) => (Some(l), n),
                    None => (None, s.as_str()),
                };
                // Django resolves lazy references case-insensitively (`"db.WorkSpace"`).
                if !name.eq_ignore_ascii_case(cfg_name) {
                    return false;
                }
                match (label, cfg.contains('.')) {
                    (Some(label), true) => cfg.split('.').any(|c| c == label),
                    _ => true,
                }
            }
            ExprRef::Name(_) | ExprRef::Attr(..) => match self.resolve_expr(file, expr) {
                Resolved::Class(c) => config_matches(cfg, &self.class(c).name, self.qualname(c)),
                Resolved::External(p) => {
                    if let Some(setting) = p.strip_prefix("django.conf.settings.") {
                        return setting.to_ascii_uppercase().contains("TENANT");
                    }
                    config_matches(cfg, last_component(&p), &p)
                }
                _ => false,
            },
            _ => false,
        }
    }

    // ---------------------------------------------------------------- computing class infos

    fn compute_infos(&mut self) {
        let ids = self.all_ids();
        let bases: Vec<Vec<Resolved>> = ids
            .par_iter()
            .map(|&id| {
                self.class(id)
                    .bases
                    .iter()
                    .map(|b| self.resolve_base(id.file, b))
                    .collect()
            })
            .collect();
        self.infos = bases
            .into_iter()
            .map(|bases| ClassInfo {
                bases,
                ..Default::default()
            })
            .collect();

        let n = ids.len();
        // A configured tenant base class from a library (django-multitenant's `TenantModel`) is a
        // Django model too, though its own bases are out of sight.
        let conv = self.conv.clone();
        let is_model = self.reach_all(
            &ids,
            |_, q| q == DJANGO_MODEL,
            |p| {
                p == DJANGO_MODEL
                    || conv
                        .tenant_base_classes
                        .iter()
                        .any(|s| config_matches(s, last_component(p), p))
            },
        );
        for (i, v) in is_model.into_iter().enumerate() {
            self.infos[i].is_model = v;
        }
        let is_manager = self.reach_all(
            &ids,
            |_, q| DJANGO_MANAGERS.contains(&q),
            |p| external_is_manager(&conv, p),
        );
        let is_queryset = self.reach_all(
            &ids,
            |_, q| q == DJANGO_QUERYSET,
            |p| p == DJANGO_QUERYSET || last_component(p).ends_with("QuerySet"),
        );
        let is_fk = self.reach_all(
            &ids,
            |_, q| DJANGO_FKS.contains(&q),
            |p| DJANGO_FKS.contains(&p) || last_component(p) == "TenantForeignKey",
        );
        let scoped = self.reach_all(
            &ids,
            |c, q| {
                conv.scoped_managers
                    .iter()
                    .any(|s| config_matches(s, &c.name, q))
            },
            |p| {
                conv.scoped_managers
                    .iter()
                    .any(|s| config_matches(s, last_component(p), p))
            },
        );
        let tenant_base = self.reach_all(
            &ids,
            |c, q| {
                conv.tenant_base_classes
                    .iter()
                    .any(|s| config_matches(s, &c.name, q))
            },
            |p| {
                conv.tenant_base_classes
                    .iter()
                    .any(|s| config_matches(s, last_component(p), p))
            },
        );
        for i in 0..n {
            let info = &mut self.infos[i];
            info.is_queryset = is_queryset[i];
            // A configured scoped manager counts as a manager even when its own bases are not
            // resolvable (e.g. a vendored base class).
            info.is_manager = is_manager[i] || (scoped[i] && !is_queryset[i]);
            info.is_fk = is_fk[i];
            info.scoped = scoped[i];
            // A tenant base only counts when it is a real Django model (not a pydantic class
            // that happens to share the name).
            info.tenant_base = tenant_base[i] && info.is_model;
        }
        for (i, &id) in ids.iter().enumerate() {
            if !self.infos[i].is_model {
                continue;
            }
            let facts = self.facts[id.file as usize].clone();
            let c = &facts.classes[id.class as usize];
            let q = self.qualname(id).to_string();
            let q = q.as_str();
            // The tenant model, or a subclass of it (django-tenants: whatever inherits
            // `TenantMixin`).
            let tenant_model = config_matches(&conv.tenant_model, &c.name, q)
                || self.class_reaches_config(id, &conv.tenant_model);
            let global = conv
                .global_models
                .iter()
                .any(|g| config_matches(g, &c.name, q));
            let info = &mut self.infos[i];
            info.abstract_ = c.meta.abstract_ == Some(true);
            info.proxy = c.meta.proxy == Some(true);
            info.is_tenant_model = tenant_model;
            info.is_global = global;
        }
        // Tenant ownership and managers depend on the bases' results: memoised recursion.
        let mut state = vec![0u8; n];
        for &id in &ids {
            self.model_facts(id, &mut state, 0);
        }
        // Relations to tenant-owned models need every model's ownership first.
        let mut models_by_name: HashMap<String, Vec<ClassId>> = HashMap::default();
        for &id in &ids {
            if self.infos[self.flat(id)].is_model {
                models_by_name
                    .entry(self.class(id).name.to_ascii_lowercase())
                    .or_default()
                    .push(id);
            }
        }
        let relations: Vec<Vec<(Name, ClassId)>> = ids
            .par_iter()
            .map(|&id| {
                if self.infos[self.flat(id)].is_model {
                    self.tenant_relations(id, &models_by_name)
                } else {
                    Vec::new()
                }
            })
            .collect();
        for (i, r) in relations.into_iter().enumerate() {
            self.infos[i].tenant_relations = r;
        }
    }

    /// Does a row of this model belong to one tenant (so that pinning a relation to it pins the
    /// tenant)?
    fn owned_target(&self, id: ClassId) -> bool {
        let info = self.info(id);
        info.is_model && !info.is_global && (info.tenant.is_some() || info.is_tenant_model)
    }

    /// The foreign keys of model `id` (own and inherited) that point to a tenant-owned model.
    fn tenant_relations(
        &self,
        id: ClassId,
        models_by_name: &HashMap<String, Vec<ClassId>>,
    ) -> Vec<(Name, ClassId)> {
        let mut seen: HashSet<&str> = HashSet::default();
        let mut out = Vec::new();
        for anc in self.ancestors(Resolved::Class(id)) {
            let Resolved::Class(c) = anc else { continue };
            if !self.info(c).is_model {
                continue;
            }
            for a in &self.class(c).assigns {
                // The most derived class's binding of a name is the field (or its removal).
                if !seen.insert(a.name.as_str()) {
                    continue;
                }
                let Some(target) = a
                    .value
                    .as_call()
                    .and_then(|call| self.fk_target(c.file, call))
                else {
                    continue;
                };
                let target = match target {
                    Some(ExprRef::Str(s)) if s == "self" => Some(id),
                    Some(ExprRef::Str(s)) => {
                        // A lazy reference (`"Issue"`, `"app.Issue"`): by model name, without
                        // case as Django resolves it; when several models share it, only if
                        // every one of them is owned.
                        let name = s.rsplit('.').next().unwrap_or(s).to_ascii_lowercase();
                        models_by_name.get(&name).and_then(|cands| {
                            cands
                                .iter()
                                .all(|&m| self.owned_target(m))
                                .then(|| cands[0])
                        })
                    }
                    Some(e @ (ExprRef::Name(_) | ExprRef::Attr(..))) => {
                        match self.resolve_expr(c.file, e) {
                            Resolved::Class(m) => Some(m),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                if let Some(t) = target
                    && self.owned_target(t)
                {
                    out.push((a.name.clone(), t));
                }
            }
        }
        out
    }

    /// For every class: does it (or an ancestor) satisfy `class_pred` (given the class and its
    /// canonical qualname), or inherit an external base satisfying `ext_pred`?
    fn reach_all(
        &self,
        ids: &[ClassId],
        class_pred: impl Fn(&ClassFact, &str) -> bool,
        ext_pred: impl Fn(&str) -> bool,
    ) -> Vec<bool> {
        // 0: unknown, 1: in progress, 2: no, 3: yes
        let mut state = vec![0u8; ids.len()];
        fn go(
            idx: &Index,
            id: ClassId,
            state: &mut [u8],
            class_pred: &dyn Fn(&ClassFact, &str) -> bool,
            ext_pred: &dyn Fn(&str) -> bool,
            depth: u32,
        ) -> bool {
            let i = idx.flat(id);
            match state[i] {
                1 => return false,
                2 => return false,
                3 => return true,
                _ => {}
            }
            if depth > 200 {
                return false;
            }
            state[i] = 1;
            let mut yes = class_pred(idx.class(id), idx.qualname(id));
            if !yes {
                for b in &idx.infos[i].bases {
                    let hit = match b {
                        Resolved::Class(b) => go(idx, *b, state, class_pred, ext_pred, depth + 1),
                        Resolved::External(p) => ext_pred(p),
                        _ => false,
                    };
                    if hit {
                        yes = true;
                        break;
                    }
                }
            }
            state[i] = if yes { 3 } else { 2 };
            yes
        }
        ids.iter()
            .map(|&id| go(self, id, &mut state, &class_pred, &ext_pred, 0))
            .collect()
    }

    /// Compute tenant ownership and managers of a model class (bases first).
    fn model_facts(&mut self, id: ClassId, state: &mut [u8], depth: u32) {
        let i = self.flat(id);
        if state[i] != 0 || depth > 200 {
            return;
        }
        state[i] = 1;
        if !self.infos[i].is_model {
            state[i] = 2;
            return;
        }
        let model_bases: Vec<ClassId> = self.infos[i]
            .bases
            .iter()
            .filter_map(|b| match b {
                Resolved::Class(b) if self.infos[self.flat(*b)].is_model => Some(*b),
                _ => None,
            })
            .collect();
        for &b in &model_bases {
            self.model_facts(b, state, depth + 1);
        }
        let class = self.class(id);

        // Tenant ownership: own tenant foreign key, inherited one, or a tenant base class.
        let mut tenant = None;
        for a in &class.assigns {
            if !self.conv.tenant_fields.iter().any(|f| f == a.name.as_str()) {
                continue;
            }
            let Some(target) = a
                .value
                .as_call()
                .and_then(|call| self.fk_target(id.file, call))
            else {
                continue;
            };
            if target.is_some_and(|t| self.is_tenant_model_ref(id.file, t)) {
                tenant = Some(TenantReason::Field {
                    field: a.name.clone(),
                    in_class: id,
                });
                break;
            }
        }
        if tenant.is_none() {
            // An inherited tenant field holds unless this class removes it (`tenant = None`).
            tenant = model_bases
                .iter()
                .find_map(|&b| self.infos[self.flat(b)].tenant.clone())
                .filter(|t| match t {
                    TenantReason::Field { field, .. } => self.has_field(id, field),
                    _ => true,
                });
        }
        if tenant.is_none() && !self.tenant_apps.is_empty() {
            let module = &self.metas[id.file as usize].module;
            let label = class.meta.app_label.as_deref();
            tenant = self
                .tenant_apps
                .iter()
                .find(|app| {
                    module == *app
                        || module.starts_with(&format!("{app}."))
                        || label.is_some_and(|l| app.rsplit('.').next() == Some(l))
                })
                .map(|app| TenantReason::TenantApp(app.clone()));
        }
        if tenant.is_none() && self.infos[i].tenant_base {
            let base = self
                .conv()
                .tenant_base_classes
                .iter()
                .find(|s| self.class_reaches_config(id, s))
                .cloned()
                .unwrap_or_default();
            tenant = Some(TenantReason::BaseClass(base));
        }

        // Managers: own declarations in source order, then the bases' in MRO order, the child's
        // attribute shadowing a base's of the same name.
        let mut managers: Vec<(u32, Manager)> = Vec::new();
        for (ai, a) in class.assigns.iter().enumerate() {
            let Some(cls) = self.instance_class(id.file, &a.value) else {
                continue;
            };
            if !self.like_is_manager(&cls) {
                continue;
            }
            if managers.iter().any(|(_, m)| m.name == a.name) {
                // A later assignment to the same name replaces the earlier one.
                managers.retain(|(_, m)| m.name != a.name);
            }
            let scoped = self.like_is_scoped(&cls);
            managers.push((
                0,
                Manager {
                    name: a.name.clone(),
                    class: cls,
                    scoped,
                    declared_in: Some(id),
                    assign: Some(ai),
                    implicit: false,
                },
            ));
        }
        // Names the class body binds to something other than a manager hide inherited managers.
        let own_names: Vec<&Name> = class.assigns.iter().map(|a| &a.name).collect();
        for (depth_rank, &b) in model_bases.iter().enumerate() {
            for m in &self.infos[self.flat(b)].managers {
                if m.implicit
                    || own_names.contains(&&m.name)
                    || managers.iter().any(|(_, x)| x.name == m.name)
                {
                    continue;
                }
                managers.push((1 + depth_rank as u32, m.clone()));
            }
        }
        // A tenant base model from a library (django-multitenant's `TenantModel`) declares
        // `objects = <its scoped manager>` out of sight; a mixin (`TenantModelMixin`) does not.
        for (rank, b) in self.infos[i].bases.iter().enumerate() {
            if let Resolved::External(p) = b
                && !last_component(p).ends_with("Mixin")
                && self
                    .conv()
                    .tenant_base_classes
                    .iter()
                    .any(|s| config_matches(s, last_component(p), p))
                && !own_names.iter().any(|n| *n == "objects")
                && !managers.iter().any(|(_, m)| m.name == "objects")
            {
                managers.push((
                    1 + rank as u32,
                    Manager {
                        name: Name::new("objects"),
                        class: ClassLike::External(p.clone()),
                        scoped: true,
                        declared_in: None,
                        assign: None,
                        implicit: false,
                    },
                ));
            }
        }
        managers.sort_by_key(|(d, _)| *d);
        let mut managers: Vec<Manager> = managers.into_iter().map(|(_, m)| m).collect();

        // `Meta.default_manager_name`; a model that declares no managers takes its first model
        // parent's (Django's `Options.default_manager`).
        let declares_managers = managers.iter().any(|m| m.declared_in == Some(id));
        let default_name = class.meta.default_manager_name.clone().or_else(|| {
            if declares_managers {
                return None;
            }
            model_bases
                .first()
                .and_then(|&b| self.infos[self.flat(b)].default_manager_name.clone())
        });
        let default_name_kept = default_name.clone();
        let base_manager_name = class.meta.base_manager_name.clone().or_else(|| {
            model_bases
                .first()
                .and_then(|&b| self.infos[self.flat(b)].base_manager_name.clone())
        });
        if let Some(name) = default_name
            && let Some(pos) = managers.iter().position(|m| m.name == name.as_str())
        {
            let m = managers.remove(pos);
            managers.insert(0, m);
        }
        if managers.is_empty() {
            managers.push(Manager {
                name: Name::new("objects"),
                class: ClassLike::External(DJANGO_MANAGERS[0].to_string()),
                scoped: false,
                declared_in: None,
                assign: None,
                implicit: true,
            });
        }
        // The string arguments of the model's scoped manager are its scope lookups
        // (`ScopedManager(site="post__site")`).
        let mut scope_lookups: Vec<String> = Vec::new();
        if let Some(m) = managers
            .iter()
            .find(|m| m.scoped && m.declared_in.is_some())
        {
            if let (Some(owner), Some(ai)) = (m.declared_in, m.assign)
                && let Some(call) = self.class(owner).assigns[ai].value.as_call()
            {
                scope_lookups = call
                    .keywords
                    .iter()
                    .filter_map(|(_, v)| match v {
                        ExprRef::Str(s) => Some(s.clone()),
                        _ => None,
                    })
                    .collect();
            }
            // Only a manager that names its scope dimension (`ScopedManager(site="site")`)
            // makes the model tenant-owned by itself; `TenantAwareManager()` alone does not
            // (tenant ownership is then the tenant foreign key's or the base class's to say).
            if tenant.is_none() && !scope_lookups.is_empty() {
                tenant = Some(TenantReason::ScopedManager(m.name.clone()));
            }
        }
        if scope_lookups.is_empty() {
            scope_lookups = model_bases
                .iter()
                .find_map(|&b| {
                    let l = &self.infos[self.flat(b)].scope_lookups;
                    (!l.is_empty()).then(|| l.clone())
                })
                .unwrap_or_default();
        }
        // Ownership through a scoped manager that names its dimension holds only while the model
        // still has a scoped manager and every lookup's first segment is one of its effective
        // fields: a subclass that overrides `objects = models.Manager()`, or removes the field
        // (`event = None`), is not owned through it.
        if let Some(TenantReason::ScopedManager(_)) = &tenant {
            let keeps = managers.iter().any(|m| m.scoped)
                && scope_lookups.iter().all(|l| {
                    let first = l.split("__").next().unwrap_or(l);
                    self.has_field(id, first)
                });
            if !keeps {
                tenant = None;
            }
        }
        // The tenant column (django-multitenant), own or inherited.
        let tenant_column = class.tenant_column.clone().or_else(|| {
            model_bases
                .iter()
                .find_map(|&b| self.infos[self.flat(b)].tenant_column.clone())
        });
        let info = &mut self.infos[i];
        info.tenant_column = tenant_column;
        info.scope_lookups = scope_lookups;
        info.default_manager_name = default_name_kept;
        info.base_manager_name = base_manager_name;
        info.tenant = tenant;
        info.managers = managers;
        state[i] = 2;
    }

    /// Does model `id` have the field `name`, as Django computes fields: the most derived
    /// binding of the name (own class first, then the bases) is a field call, not `None`.
    /// Unknown (external) bases may hold fields out of sight: then it is assumed present.
    fn has_field(&self, id: ClassId, name: &str) -> bool {
        let mut external = false;
        for anc in self.ancestors(Resolved::Class(id)) {
            match anc {
                Resolved::Class(c) => {
                    if let Some(a) = self.class(c).assigns.iter().rev().find(|a| a.name == name) {
                        return matches!(a.value, ExprRef::Call(_));
                    }
                }
                Resolved::External(p) if p != DJANGO_MODEL => external = true,
                _ => {}
            }
        }
        external
    }

    /// When `call` (in `file`) builds a foreign key (Django's `ForeignKey`/`OneToOneField`, a
    /// project subclass, a `TenantForeignKey`): its target model's expression, `None` inside when
    /// it names none.
    fn fk_target<'a>(
        &self,
        file: FileId,
        call: &'a crate::facts::CallRef,
    ) -> Option<Option<&'a ExprRef>> {
        let fk = match self.class_like(file, &call.func) {
            ClassLike::Class(c) => self.info(c).is_fk,
            ClassLike::External(p) => {
                DJANGO_FKS.contains(&p.as_str()) || last_component(&p) == "TenantForeignKey"
            }
            _ => false,
        };
        fk.then(|| {
            call.args.first().or_else(|| {
                call.keywords
                    .iter()
                    .find(|(k, _)| k == "to")
                    .map(|(_, v)| v)
            })
        })
    }

    /// Is the class, or one of its bases (through the project and out of it), the configured
    /// class `cfg` (bare name or dotted path)?
    pub fn class_reaches_config(&self, id: ClassId, cfg: &str) -> bool {
        self.ancestors(Resolved::Class(id)).any(|r| match &r {
            Resolved::Class(c) => config_matches(cfg, &self.class(*c).name, self.qualname(*c)),
            Resolved::External(p) => config_matches(cfg, last_component(p), p),
            _ => false,
        })
    }

    /// `start` and everything it reaches through base classes, depth first in declaration order:
    /// project classes (each once, so cycles end) and the external classes and unresolved names
    /// at the edge of the project. The one walk up the class hierarchy the rules share.
    pub fn ancestors(&self, start: Resolved) -> Ancestors<'_> {
        Ancestors {
            index: self,
            stack: vec![(start, 0)],
            seen: HashSet::default(),
        }
    }

    // ---------------------------------------------------------------- lookups for fixes

    /// All project classes matching a configured name, in file order.
    pub fn find_classes(&self, config: &str) -> Vec<ClassId> {
        self.all_ids()
            .into_iter()
            .filter(|&id| {
                self.class(id).top_level
                    && config_matches(config, &self.class(id).name, self.qualname(id))
            })
            .collect()
    }

    /// Where a module-level symbol named by config (bare or dotted) is defined in the project:
    /// `(module, name)`.
    pub fn find_symbol(&self, config: &str) -> Option<(String, String)> {
        if let Some((module, name)) = config.rsplit_once('.') {
            return Some((module.to_string(), name.to_string()));
        }
        let mut candidates: Vec<&str> = self
            .files()
            .filter(|(_, f)| {
                f.bindings.iter().any(|b| {
                    b.name == config
                        && matches!(
                            b.binding,
                            Binding::Assign(_) | Binding::Class(_) | Binding::Other
                        )
                })
            })
            .map(|(fi, _)| self.module(fi))
            .collect();
        // Prefer the shortest module path (the canonical home), then the name.
        candidates.sort_by(|a, b| a.len().cmp(&b.len()).then(a.cmp(b)));
        candidates
            .first()
            .map(|m| (m.to_string(), config.to_string()))
    }
}

/// The iterator of [`Index::ancestors`].
pub struct Ancestors<'a> {
    index: &'a Index,
    stack: Vec<(Resolved, u32)>,
    seen: HashSet<ClassId>,
}

impl Ancestors<'_> {
    /// Deeper hierarchies than this are not followed (no real project comes near it).
    const MAX_DEPTH: u32 = 64;
}

impl Iterator for Ancestors<'_> {
    type Item = Resolved;

    fn next(&mut self) -> Option<Resolved> {
        while let Some((r, depth)) = self.stack.pop() {
            if let Resolved::Class(c) = &r {
                if !self.seen.insert(*c) {
                    continue;
                }
                if depth < Self::MAX_DEPTH {
                    let bases = &self.index.info(*c).bases;
                    self.stack
                        .extend(bases.iter().rev().map(|b| (b.clone(), depth + 1)));
                }
            }
            return Some(r);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::python::extract_source;

    const MODELS: &str = "from django.db import models\n\nfrom tenancy import TenantAwareManager\n\n\nclass Tenant(models.Model):\n    pass\n\n\nclass Project(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n\n    objects = TenantAwareManager()\n";

    fn file(path: &str, module: &str, text: &str) -> (FileMeta, Arc<FileFacts>) {
        (
            FileMeta::new(PathBuf::from(path), module.into()),
            Arc::new(extract_source(text)),
        )
    }

    fn project(index: &Index) -> ClassId {
        match index.resolve_dotted("app.models.Project") {
            Resolved::Class(c) => c,
            other => panic!("Project resolves to {other:?}"),
        }
    }

    #[test]
    fn update_rederives_only_when_the_cross_file_picture_changes() {
        let views =
            "from app.models import Project\n\n\ndef f():\n    return Project.objects.all()\n";
        let mut index = Index::build(
            vec![
                file("/p/app/models.py", "app.models", MODELS),
                file("/p/app/views.py", "app.views", views),
            ],
            Arc::new(Conventions::default()),
        );
        let id = project(&index);
        assert!(index.info(id).default_manager().unwrap().scoped);

        // A body edit in views.py, or a line added above the class: a swap, no derivation.
        let edited = views.replace(".all()", ".filter(x=1)");
        let (meta, facts) = file("/p/app/views.py", "app.views", &edited);
        assert!(!index.update(1, meta, facts));
        let (meta, facts) = file(
            "/p/app/models.py",
            "app.models",
            &format!("# moved\n{MODELS}"),
        );
        assert!(!index.update(0, meta, facts));
        assert_eq!(index.facts(1).query_sites[0].method.as_str(), "filter");

        // Removing the scoped manager changes the model's managers: derived again.
        let unscoped = MODELS.replace("    objects = TenantAwareManager()\n", "");
        let (meta, facts) = file("/p/app/models.py", "app.models", &unscoped);
        assert!(index.update(0, meta, facts));
        let id = project(&index);
        assert!(!index.info(id).default_manager().unwrap().scoped);

        // A new file is added under the next id.
        let (meta, facts) = file("/p/app/extra.py", "app.extra", "X = 1\n");
        assert!(index.update(2, meta, facts));
        assert_eq!(index.file_of_module("app.extra"), Some(2));
    }
}
