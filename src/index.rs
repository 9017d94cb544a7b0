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
    /// The manager scopes only after this method is called (`scoping-methods`):
    /// `Device.objects.user(u)...` is scoped, `Device.objects.filter(...)` is not.
    pub scoping_method: Option<Name>,
}

/// Why a model is tenant-owned.
#[derive(Clone, Debug, PartialEq)]
pub enum TenantReason {
    /// A tenant foreign key, declared on `in_class` (the model or a base).
    Field { field: Name, in_class: ClassId },
    /// Inherits a configured tenant base class.
    BaseClass(String),
    /// Inherits a class named like a configured tenant base that is imported from a project
    /// module which does not define it (a broken import, by its written dotted path): treated
    /// as the tenant base, failing closed.
    UnresolvedBase(String),
    /// Schema per tenant (django-tenants): the model's app is in `TENANT_APPS`.
    TenantApp(String),
    /// The model declares a scoped manager that names its scope dimension (django-scopes'
    /// `ScopedManager(site="site")`): it holds tenant data by its author's own account.
    ScopedManager(Name),
    /// A `tenant-parent-fields` foreign key, declared on `in_class` (the model or a base), to
    /// the tenant-owned model `parent`: each row belongs to its parent row's tenant.
    Parent {
        field: Name,
        in_class: ClassId,
        parent: ClassId,
    },
}

impl TenantReason {
    /// Owned through a parent row (`tenant-parent-fields`), with no tenant field of its own.
    pub fn through_parent(&self) -> bool {
        matches!(self, TenantReason::Parent { .. })
    }
}

/// A relation seen from its target: (target model, query name of the reverse relation).
type ReverseEdge = (ClassId, Name);

/// What [`Index::model_result`] computes for one model.
struct ModelResult {
    tenant_column: Option<String>,
    scope_lookups: Vec<String>,
    default_manager_name: Option<String>,
    base_manager_name: Option<String>,
    tenant: Option<TenantReason>,
    managers: Vec<Manager>,
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
    /// Reverse relations from tenant-owned models: `(query name, source model)` for every
    /// foreign key of a concrete tenant-owned model that points at this model (the query name is
    /// `related_query_name`, else `related_name`, else the source model's name in lower case,
    /// as Django names it). `filter(tasks__status=status)` pins the tenant when the lookup after
    /// the query name pins the source model's.
    pub tenant_reverse_relations: Vec<(Name, ClassId)>,
    /// What the class reaches through its bases before the adjustments above (bits `REACH_*`):
    /// kept so that an incremental derivation can start from an unchanged class's answers.
    reach: u8,
    /// A base named like a configured tenant base class that does not resolve: imported from a
    /// project module that does not define it (its written dotted path).
    pub broken_tenant_base: Option<String>,
}

const REACH_MODEL: u8 = 1;
const REACH_MANAGER: u8 = 2;
const REACH_QUERYSET: u8 = 4;
const REACH_FK: u8 = 8;
const REACH_SCOPED: u8 = 16;
const REACH_TENANT_BASE: u8 = 32;

impl ClassInfo {
    /// Keyword names that filter on the tenant: each of `tenant-fields` (and its `_id` column),
    /// and the model's own tenant column (`account_id`, and `account` for its relation).
    pub fn is_tenant_filter(&self, keyword: &str, tenant_fields: &[String]) -> bool {
        let matches_field = |f: &str| {
            keyword == f
                || keyword.strip_prefix(f).is_some_and(|rest| {
                    rest == "_id" || rest.starts_with("_id__") || rest.starts_with("__")
                })
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

    /// A model the manager and raw-SQL rules apply to: tenant-owned by a field or base of its
    /// own, not only through a parent row (`tenant-parent-fields`), whose table has no tenant
    /// column for a scoped manager or a SQL predicate to compare.
    pub fn has_own_tenant(&self) -> bool {
        self.needs_scoping()
            && !self
                .tenant
                .as_ref()
                .is_some_and(TenantReason::through_parent)
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
/// one file's facts and re-derives only when the file's part in the cross-file picture changed,
/// and then only the classes that can see the file (its importers' classes).
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
    /// The import graph, by file: the files each one imports, the files importing each one, and
    /// the files that look models up by name at run time (they depend on every file). Kept up to
    /// date one file at a time for [`Index::dependents`].
    imports_of: Vec<Vec<u32>>,
    importers: Vec<Vec<u32>>,
    dynamic: Vec<bool>,
    /// Module names, sorted, with their files (for `import pkg`: every module under `pkg`).
    sorted_modules: Vec<(String, u32)>,
    /// Concrete models by `app_label.modelname` (model name lower-cased, as Django's app
    /// registry keys them); `None` when two classes claim the same key.
    model_labels: HashMap<String, Option<ClassId>>,
    /// Literal `*_MODEL` settings (`AUTH_USER_MODEL`, swapper's `BILLING_INVOICE_MODEL`) of the
    /// project; `None` when modules set different values.
    model_settings: HashMap<String, Option<String>>,
}

const MAX_DEPTH: u32 = 24;

/// The model a relation field's call names: its first argument or `to=`.
fn relation_target(call: &crate::facts::CallRef) -> Option<&ExprRef> {
    call.args.first().or_else(|| {
        call.keywords
            .iter()
            .find(|(k, _)| k == "to")
            .map(|(_, v)| v)
    })
}

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
    for s in &facts.settings {
        if s.name.ends_with("_MODEL") {
            s.name.hash(&mut h);
            format!("{:?}{}", s.value, s.augmented).hash(&mut h);
        }
    }
    h.finish()
}

/// The literal `*_MODEL` settings of the project (`AUTH_USER_MODEL = "accounts.User"`): what
/// `get_user_model()` and swapper's `load_model()` return. Like `TENANT_APPS`, read from any
/// module-level assignment of the name (only settings modules assign such names).
fn model_settings<'a>(
    files: impl Iterator<Item = &'a FileFacts>,
) -> HashMap<String, Option<String>> {
    let mut out: HashMap<String, Option<String>> = HashMap::default();
    for f in files {
        for s in &f.settings {
            if !s.name.ends_with("_MODEL") || s.augmented {
                continue;
            }
            let Some(value) = s.value.as_str() else {
                continue;
            };
            out.entry(s.name.to_string())
                .and_modify(|v| {
                    if v.as_deref() != Some(value) {
                        *v = None;
                    }
                })
                .or_insert_with(|| Some(value.to_string()));
        }
    }
    out
}

/// The app label of the app containing `module` (see [`Index::compute_model_labels`]).
fn app_label_of_module(module: &str, app_labels: &HashMap<String, String>) -> String {
    let parts: Vec<&str> = module.split('.').collect();
    for n in (1..=parts.len()).rev() {
        if let Some(label) = app_labels.get(&parts[..n].join(".")) {
            return label.clone();
        }
    }
    let app = match parts.iter().position(|p| *p == "models") {
        Some(0) | None => &parts[..parts.len().saturating_sub(1).max(1)],
        Some(i) => &parts[..i],
    };
    app.last().copied().unwrap_or_default().to_string()
}

/// Calls that return a model class from Django's app registry, by canonical path.
const APP_REGISTRY_GET_MODEL: &[&str] = &[
    "django.apps.apps.get_model",
    "django.apps.registry.apps.get_model",
];
const GET_USER_MODEL: &str = "django.contrib.auth.get_user_model";
const SWAPPER_LOAD_MODEL: &str = "swapper.load_model";

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
        && !any_config_matches(MANAGER_LOOKALIKES, name, p)
        && !any_config_matches(&conv.not_managers, name, p)
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

/// Does any of the configured names match a class known by `name` and `qualname`?
fn any_config_matches<S: AsRef<str>>(configs: &[S], name: &str, qualname: &str) -> bool {
    configs
        .iter()
        .any(|s| config_matches(s.as_ref(), name, qualname))
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
            imports_of: Vec::new(),
            importers: Vec::new(),
            dynamic: Vec::new(),
            sorted_modules: Vec::new(),
            model_labels: HashMap::default(),
            model_settings: HashMap::default(),
        };
        index.derive();
        index
    }

    /// Replace one file's facts (or add a file: `file == self.len()`). What depends on them is
    /// derived again only when the facts the cross-file picture reads (classes, module-level
    /// bindings, star imports, `TENANT_APPS`) changed: an edit inside a function body costs
    /// nothing more than the swap. Even then only the classes of the files that can see this one
    /// (its importers, transitively: [`Index::dependents`]) are derived again; a new file, a
    /// moved module or a changed `TENANT_APPS` derives everything. Returns whether a derivation
    /// ran.
    pub fn update(&mut self, file: FileId, meta: FileMeta, facts: Arc<FileFacts>) -> bool {
        let i = file as usize;
        if i == self.facts.len() {
            self.facts.push(facts);
            self.metas.push(meta);
            self.derive();
            return true;
        }
        let same_module =
            self.metas[i].module == meta.module && self.metas[i].is_package == meta.is_package;
        let same = same_module && signature(&self.facts[i]) == signature(&facts);
        let old = std::mem::replace(&mut self.facts[i], facts);
        self.metas[i] = meta;
        if same_module {
            self.relink_file(file);
        }
        if same {
            return false;
        }
        let apps_changed = self.conv.schema_per_tenant
            && tenant_apps(self.facts.iter().map(|f| &**f)) != self.tenant_apps;
        if !same_module || apps_changed {
            self.derive();
        } else {
            self.rederive_file(file, old.classes.len());
        }
        true
    }

    /// Derive again after file `file`'s classes changed (it had `old_classes` classes): its
    /// qualnames and infos are replaced in place, the later files' class offsets shift, and the
    /// infos of every class that may resolve into the file are computed again, starting from the
    /// other classes' kept answers. `tests::incremental_derive_equals_a_full_build` checks the
    /// result against a build from scratch.
    fn rederive_file(&mut self, file: FileId, old_classes: usize) {
        let i = file as usize;
        let start = self.offsets[i] as usize;
        let new_classes = self.facts[i].classes.len();
        let module = self.metas[i].module.clone();
        let names: Vec<String> = self.facts[i]
            .classes
            .iter()
            .map(|c| canonical(&format!("{module}.{}", c.name)))
            .collect();
        self.qualnames.splice(start..start + old_classes, names);
        self.infos.splice(
            start..start + old_classes,
            std::iter::repeat_with(ClassInfo::default).take(new_classes),
        );
        if new_classes != old_classes {
            for o in &mut self.offsets[i + 1..] {
                *o = (*o as usize + new_classes - old_classes) as u32;
            }
        }
        let ids: Vec<ClassId> = self
            .dependents(&[file])
            .into_iter()
            .flat_map(|f| {
                (0..self.facts[f as usize].classes.len() as u32)
                    .map(move |class| ClassId { file: f, class })
            })
            .collect();
        // As in `derive`: resolution through the app registry waits for the new class infos.
        self.model_labels.clear();
        self.compute_infos(Some(&ids));
        self.model_settings = model_settings(self.facts.iter().map(|f| &**f));
        self.compute_model_labels();
    }

    /// Everything derived from all files: the module map, class offsets and qualnames, and the
    /// class infos.
    fn derive(&mut self) {
        // Resolution through the app registry needs the new class infos: none until they exist.
        self.model_labels.clear();
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
        let per_file: Vec<Vec<String>> = self
            .facts
            .par_iter()
            .zip(&self.metas)
            .map(|(f, m)| {
                f.classes
                    .iter()
                    .map(|c| canonical(&format!("{}.{}", m.module, c.name)))
                    .collect()
            })
            .collect();
        self.qualnames = per_file.into_iter().flatten().collect();
        self.tenant_apps = if self.conv.schema_per_tenant {
            tenant_apps(self.facts.iter().map(|f| &**f))
        } else {
            Vec::new()
        };
        self.link_imports();
        self.compute_infos(None);
        self.model_settings = model_settings(self.facts.iter().map(|f| &**f));
        self.compute_model_labels();
    }

    /// The files `file` imports (see [`Index::dependents`] for what counts), and whether it looks
    /// models up by name at run time.
    fn import_targets(&self, file: FileId) -> (Vec<u32>, bool) {
        let facts = &self.facts[file as usize];
        let mut targets: Vec<u32> = Vec::new();
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
                        self.with_submodules(name.as_str(), &mut targets);
                    }
                }
            }
        }
        for star in &facts.star_imports {
            targets.extend(self.file_of_module(&self.absolute(file, star)));
        }
        targets.sort_unstable();
        targets.dedup();
        targets.retain(|&t| t != file);
        let dynamic = DYNAMIC_MODEL_LOOKUPS
            .iter()
            .any(|name| facts.calls_name(name));
        (targets, dynamic)
    }

    /// The files of `module` and of its submodules (`app.models`, not `app_x`).
    fn with_submodules(&self, module: &str, out: &mut Vec<u32>) {
        let start = self
            .sorted_modules
            .partition_point(|(m, _)| m.as_str() < module);
        for (m, f) in &self.sorted_modules[start..] {
            if !m.starts_with(module) {
                break;
            }
            if matches!(m.as_bytes().get(module.len()), None | Some(b'.')) {
                out.push(*f);
            }
        }
    }

    /// Build the import graph of every file.
    fn link_imports(&mut self) {
        let n = self.facts.len();
        let mut sorted: Vec<(String, u32)> =
            self.modules.iter().map(|(m, &f)| (m.clone(), f)).collect();
        sorted.sort_unstable();
        self.sorted_modules = sorted;
        let (imports_of, dynamic): (Vec<Vec<u32>>, Vec<bool>) = (0..n as FileId)
            .into_par_iter()
            .map(|f| self.import_targets(f))
            .unzip();
        let mut importers = vec![Vec::new(); n];
        for (f, targets) in imports_of.iter().enumerate() {
            for &t in targets {
                importers[t as usize].push(f as u32);
            }
        }
        self.imports_of = imports_of;
        self.importers = importers;
        self.dynamic = dynamic;
    }

    /// Update the import graph for one file whose facts were replaced (the module map is
    /// unchanged).
    fn relink_file(&mut self, file: FileId) {
        let (targets, dynamic) = self.import_targets(file);
        let i = file as usize;
        if self.imports_of[i] != targets {
            for &t in &self.imports_of[i] {
                self.importers[t as usize].retain(|&f| f != file);
            }
            for &t in &targets {
                let list = &mut self.importers[t as usize];
                let at = list.partition_point(|&f| f < file);
                list.insert(at, file);
            }
            self.imports_of[i] = targets;
        }
        self.dynamic[i] = dynamic;
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
        let mut everything: Vec<u32> = (0..n as u32)
            .filter(|&f| self.dynamic[f as usize])
            .collect();
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
        for s in seeds.iter().copied().chain(everything.iter().copied()) {
            if (s as usize) < n && !seen[s as usize] {
                seen[s as usize] = true;
                stack.push(s);
            }
        }
        while let Some(f) = stack.pop() {
            for &i in &self.importers[f as usize] {
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
            Binding::Module(m) => Resolved::Module(m.to_string()),
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
                // `Invoice = apps.get_model("billing", "Invoice")`
                ExprRef::Call(call) => {
                    match self.registry_model(file, call, &RootBinding::Module) {
                        Some(id) => Resolved::Class(id),
                        None => Resolved::Symbol {
                            file,
                            name: Name::new(name),
                        },
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

    /// Resolve a base class expression; `Manager.from_queryset(QS)` is a subclass of `Manager`,
    /// and a subscripted generic base (`admin.ModelAdmin[Feature]`, `QuerySet["Invoice"]`) is its
    /// class, as Python's `__mro_entries__` makes it.
    fn resolve_base(&self, file: u32, expr: &ExprRef) -> Resolved {
        if let ExprRef::Subscript(inner) = expr {
            return self.resolve_base(file, inner);
        }
        if let ExprRef::Call(call) = expr
            && let ExprRef::Attr(base, method) = &call.func
            && method == "from_queryset"
        {
            return self.resolve_expr(file, base);
        }
        self.resolve_expr(file, expr)
    }

    /// In a call chain `Model.<attr>...` (`Invoice.objects.filter(...).first()`): the longest
    /// dotted prefix that resolves to a project class, and the attribute read on it (`objects`).
    pub fn chain_class<'e>(
        &self,
        file: u32,
        expr: &'e ExprRef,
        root: &RootBinding,
    ) -> Option<(ClassId, &'e Name)> {
        let mut cur = expr;
        for _ in 0..64 {
            match cur {
                ExprRef::Call(c) => cur = &c.func,
                ExprRef::Attr(inner, attr) => {
                    if inner.dotted().is_some()
                        && let Resolved::Class(c) = self.resolve_at(file, inner, root)
                    {
                        return Some((c, attr));
                    }
                    cur = inner;
                }
                _ => return None,
            }
        }
        None
    }

    /// Resolve a dotted expression whose root name is bound as `root` where it is used.
    pub fn resolve_at(&self, file: u32, expr: &ExprRef, root: &RootBinding) -> Resolved {
        if let ExprRef::Call(call) = expr {
            return match self.registry_model(file, call, root) {
                Some(id) => Resolved::Class(id),
                None => Resolved::Unknown,
            };
        }
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

    /// The model a call to Django's app registry returns: `apps.get_model("billing",
    /// "Invoice")`, `apps.get_model("billing.Invoice")` (any import of `django.apps.apps`),
    /// `get_user_model()` (the `AUTH_USER_MODEL` setting, else `auth.User`, which is Django's)
    /// and swapper's `load_model("billing", "Invoice")` (the `BILLING_INVOICE_MODEL` setting,
    /// else `billing.Invoice`). The callee is resolved as any name is (`root` says how its root
    /// name is bound where the call is), never matched by name: a migration's `apps` parameter
    /// is not the registry. `None` when the label names no single project model.
    pub fn registry_model(
        &self,
        file: u32,
        call: &crate::facts::CallRef,
        root: &RootBinding,
    ) -> Option<ClassId> {
        if self.model_labels.is_empty()
            || !matches!(call.func, ExprRef::Name(_) | ExprRef::Attr(..))
        {
            return None;
        }
        let last = match &call.func {
            ExprRef::Name(n) | ExprRef::Attr(_, n) => n.as_str(),
            _ => return None,
        };
        if !DYNAMIC_MODEL_LOOKUPS.contains(&last) {
            return None;
        }
        let callee = self.path_of(&self.resolve_at(file, &call.func, root))?;
        let str_arg = |i: usize, kw: &str| -> Option<&str> {
            let v = call
                .keywords
                .iter()
                .find(|(k, _)| k == kw)
                .map(|(_, v)| v)
                .or_else(|| call.args.get(i))?;
            match v {
                ExprRef::Str(s) => Some(s.as_str()),
                _ => None,
            }
        };
        let setting = |name: &str| self.model_settings.get(name).cloned().flatten();
        let label: String = if APP_REGISTRY_GET_MODEL.contains(&callee.as_str()) {
            let first = str_arg(0, "app_label")?;
            match str_arg(1, "model_name") {
                Some(model) if !first.contains('.') => format!("{first}.{model}"),
                None if first.contains('.') => first.to_string(),
                _ => return None,
            }
        } else if callee == GET_USER_MODEL {
            setting("AUTH_USER_MODEL").unwrap_or_else(|| "auth.User".into())
        } else if callee == SWAPPER_LOAD_MODEL {
            let (app, model) = (str_arg(0, "app_label")?, str_arg(1, "model")?);
            setting(&format!("{app}_{model}_MODEL").to_ascii_uppercase())
                .unwrap_or_else(|| format!("{app}.{model}"))
        } else {
            return None;
        };
        self.model_by_label(&label)
    }

    /// The concrete project model registered as `app_label.ModelName` (the model name matched
    /// without case, as Django's registry does).
    pub fn model_by_label(&self, label: &str) -> Option<ClassId> {
        let (app, model) = label.rsplit_once('.')?;
        self.model_labels
            .get(&format!("{app}.{}", model.to_ascii_lowercase()))
            .copied()
            .flatten()
    }

    /// The one concrete project model whose name, lower-cased, is `lower` (`recipe`,
    /// `exportlog`); `None` when there is none or several apps have one.
    pub fn model_named(&self, lower: &str) -> Option<ClassId> {
        let mut found = None;
        for (label, id) in &self.model_labels {
            if label.rsplit_once('.').is_some_and(|(_, m)| m == lower) {
                if found.is_some() {
                    return None;
                }
                found = Some((*id)?);
            }
        }
        found
    }

    /// Django's app label of every concrete model: `Meta.app_label`, else the label of the app
    /// that contains its module: an `AppConfig` subclass's `label` (for its `name`, or the
    /// package of its `apps.py`), else the last component of the app's package, which is the
    /// module path before its `models` component (`billing.models.invoice` is in app
    /// `billing`), or the model's own package when there is none.
    fn compute_model_labels(&mut self) {
        let ids = self.all_ids();
        let mut app_labels: HashMap<String, String> = HashMap::default();
        for &id in &ids {
            let info = self.info(id);
            let is_app_config = info.bases.iter().any(|b| {
                matches!(b, Resolved::External(p)
                    if p == "django.apps.AppConfig" || p == "django.apps.config.AppConfig")
            });
            if !is_app_config {
                continue;
            }
            let class = self.class(id);
            let str_assign = |name: &str| {
                class.assigns.iter().rev().find_map(|a| match &a.value {
                    ExprRef::Str(s) if a.name == name => Some(s.clone()),
                    _ => None,
                })
            };
            let Some(label) = str_assign("label") else {
                continue;
            };
            let module = self.module(id.file);
            let app = str_assign("name").unwrap_or_else(|| match module.rsplit_once('.') {
                Some((pkg, _)) => pkg.to_string(),
                None => module.to_string(),
            });
            app_labels.insert(app, label);
        }
        let mut labels: HashMap<String, Option<ClassId>> = HashMap::default();
        for &id in &ids {
            let info = self.info(id);
            if !info.is_model || info.abstract_ {
                continue;
            }
            let class = self.class(id);
            let label = match &class.meta.app_label {
                Some(l) => l.clone(),
                None => app_label_of_module(self.module(id.file), &app_labels),
            };
            let key = format!("{label}.{}", class.name.to_ascii_lowercase());
            labels
                .entry(key)
                .and_modify(|v| {
                    if *v != Some(id) {
                        *v = None;
                    }
                })
                .or_insert(Some(id));
        }
        self.model_labels = labels;
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
            ClassLike::External(p) => {
                any_config_matches(&self.conv().scoped_managers, last_component(p), p)
            }
            ClassLike::FromQueryset(base, _) => self.like_is_scoped(base),
            // `QS.as_manager()` is scoped when the queryset is listed (or inherits a listed one).
            ClassLike::AsManager(qs) => self.like_is_scoped(qs),
            ClassLike::Unknown => false,
        }
    }

    /// The method after which a manager of class `c` scopes, per `scoping-methods`: an entry
    /// `"Manager.method"` applies to `Manager` and its subclasses (also as the manager of a
    /// `from_queryset`, or the queryset of an `as_manager()`), a bare `"method"` to every manager
    /// whose class or queryset defines that method.
    fn scoping_method_of(&self, c: &ClassLike) -> Option<Name> {
        self.conv.scoping_methods.iter().find_map(|entry| {
            let hit = match entry.rsplit_once('.') {
                Some((manager, method)) => self.like_reaches_config(c, manager).then_some(method),
                None => self.like_has_method(c, entry).then_some(entry.as_str()),
            };
            hit.map(Name::new)
        })
    }

    /// Is `c`, or a class it is built from, or one of their bases, the configured `cfg`?
    fn like_reaches_config(&self, c: &ClassLike, cfg: &str) -> bool {
        match c {
            ClassLike::Class(id) => self.class_reaches_config(*id, cfg),
            ClassLike::External(p) => config_matches(cfg, last_component(p), p),
            ClassLike::FromQueryset(base, qs) => {
                self.like_reaches_config(base, cfg) || self.like_reaches_config(qs, cfg)
            }
            ClassLike::AsManager(qs) => self.like_reaches_config(qs, cfg),
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

    /// Compute the infos of the classes `only` (every class when `None`), reading the others'
    /// kept infos where a computed class reaches them. Tenant relations are computed again for
    /// every model either way: a lazy reference (`ForeignKey("Issue")`) reaches a model by name,
    /// without an import.
    fn compute_infos(&mut self, only: Option<&[ClassId]>) {
        let all = self.all_ids();
        let ids: &[ClassId] = only.unwrap_or(&all);
        let flats: Vec<usize> = ids.iter().map(|&id| self.flat(id)).collect();
        // Fail closed: a base named like a configured tenant base, imported from a project
        // module that does not define it, stands for the tenant base (as a library's would).
        let resolved: Vec<(Vec<Resolved>, Option<String>)> = ids
            .par_iter()
            .map(|&id| {
                let mut broken = None;
                let bases = self
                    .class(id)
                    .bases
                    .iter()
                    .map(|b| match self.resolve_base(id.file, b) {
                        Resolved::Unknown => match self.broken_tenant_base(id.file, b) {
                            Some(path) => {
                                broken = Some(path.clone());
                                Resolved::External(path)
                            }
                            None => Resolved::Unknown,
                        },
                        r => r,
                    })
                    .collect();
                (bases, broken)
            })
            .collect();
        if only.is_none() {
            self.infos = vec![ClassInfo::default(); all.len()];
        }
        for (&f, (bases, broken_tenant_base)) in flats.iter().zip(resolved) {
            self.infos[f] = ClassInfo {
                bases,
                broken_tenant_base,
                ..Default::default()
            };
        }
        // A configured tenant base class from a library (django-multitenant's `TenantModel`) is a
        // Django model too, though its own bases are out of sight.
        let conv = self.conv.clone();
        // A class that declares Django model fields on top of a library's base class (model_utils'
        // `TimeStampedModel`, openwisp-utils' `TimeStampedEditableModel`) is a Django model: a
        // library base whose own bases are out of sight, but Django reads fields only on models.
        let field_models: HashSet<String> = ids
            .iter()
            .zip(&flats)
            .filter(|&(&id, &f)| self.declares_fields_on_library_base(id, f))
            .map(|(&id, _)| self.qualname(id).to_string())
            .collect();
        // Six independent walks up the bases, in parallel: (bit, test of a project class by its
        // facts and qualname, test of an external base's dotted path).
        type ClassTest<'t> = Box<dyn Fn(&ClassFact, &str) -> bool + Sync + 't>;
        type PathTest<'t> = Box<dyn Fn(&str) -> bool + Sync + 't>;
        let walks: [(u8, ClassTest, PathTest); 6] = [
            (
                REACH_MODEL,
                Box::new(|_, q| q == DJANGO_MODEL || field_models.contains(q)),
                Box::new(|p| {
                    p == DJANGO_MODEL
                        || any_config_matches(&conv.tenant_base_classes, last_component(p), p)
                }),
            ),
            (
                REACH_MANAGER,
                Box::new(|_, q| DJANGO_MANAGERS.contains(&q)),
                Box::new(|p| external_is_manager(&conv, p)),
            ),
            (
                REACH_QUERYSET,
                Box::new(|_, q| q == DJANGO_QUERYSET),
                Box::new(|p| p == DJANGO_QUERYSET || last_component(p).ends_with("QuerySet")),
            ),
            (
                REACH_FK,
                Box::new(|_, q| DJANGO_FKS.contains(&q)),
                Box::new(|p| DJANGO_FKS.contains(&p) || last_component(p) == "TenantForeignKey"),
            ),
            (
                REACH_SCOPED,
                Box::new(|c, q| any_config_matches(&conv.scoped_managers, &c.name, q)),
                Box::new(|p| any_config_matches(&conv.scoped_managers, last_component(p), p)),
            ),
            (
                REACH_TENANT_BASE,
                Box::new(|c, q| any_config_matches(&conv.tenant_base_classes, &c.name, q)),
                Box::new(|p| any_config_matches(&conv.tenant_base_classes, last_component(p), p)),
            ),
        ];
        let reached: Vec<Vec<bool>> = walks
            .par_iter()
            .map(|(bit, class_test, path_test)| {
                self.reach_all(ids, &flats, *bit, class_test, path_test)
            })
            .collect();
        let [
            is_model,
            is_manager,
            is_queryset,
            is_fk,
            scoped,
            tenant_base,
        ]: [Vec<bool>; 6] = reached.try_into().expect("six walks");
        for (&f, &v) in flats.iter().zip(&is_model) {
            self.infos[f].is_model = v;
        }
        for (i, &f) in flats.iter().enumerate() {
            let info = &mut self.infos[f];
            info.reach = [
                (is_model[i], REACH_MODEL),
                (is_manager[i], REACH_MANAGER),
                (is_queryset[i], REACH_QUERYSET),
                (is_fk[i], REACH_FK),
                (scoped[i], REACH_SCOPED),
                (tenant_base[i], REACH_TENANT_BASE),
            ]
            .iter()
            .filter(|(v, _)| *v)
            .fold(0, |acc, (_, bit)| acc | bit);
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
        for (&i, &id) in flats.iter().zip(ids) {
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
        // Tenant ownership and managers depend on the bases' results: memoised recursion (the
        // classes not computed now are done).
        let mut state = vec![2u8; self.infos.len()];
        for &f in &flats {
            state[f] = 0;
        }
        self.compute_models(ids, &mut state);
        // Relations to tenant-owned models need every model's ownership first.
        let ids = &all;
        let mut models_by_name: HashMap<String, Vec<ClassId>> = HashMap::default();
        for &id in ids {
            if self.infos[self.flat(id)].is_model {
                models_by_name
                    .entry(self.class(id).name.to_ascii_lowercase())
                    .or_default()
                    .push(id);
            }
        }
        self.parent_ownership(ids, &models_by_name);
        // One walk over each model's foreign keys gives both directions.
        let (relations, reverse): (Vec<Vec<_>>, Vec<Vec<ReverseEdge>>) = ids
            .par_iter()
            .map(|&id| {
                if self.infos[self.flat(id)].is_model {
                    self.relation_edges(id, &models_by_name)
                } else {
                    (Vec::new(), Vec::new())
                }
            })
            .unzip();
        for (i, r) in relations.into_iter().enumerate() {
            self.infos[i].tenant_relations = r;
        }
        for info in self.infos.iter_mut() {
            info.tenant_reverse_relations.clear();
        }
        for (&source, edges) in ids.iter().zip(reverse) {
            for (target, name) in edges {
                let t = self.flat(target);
                self.infos[t].tenant_reverse_relations.push((name, source));
            }
        }
    }

    /// The written dotted path of a base class expression that names a configured tenant base
    /// class but does not resolve because the project module it is imported from does not
    /// define it (`from tenancy.models import TenantAwareModel` when `tenancy/models.py` has no
    /// such name). A module outside the project resolves to an external class instead.
    fn broken_tenant_base(&self, file: u32, expr: &ExprRef) -> Option<String> {
        let (path, last) = match expr {
            ExprRef::Name(n) => match self.facts[file as usize].binding(n) {
                Some(Binding::FromImport { module, name }) => {
                    (format!("{}.{name}", self.absolute(file, module)), name)
                }
                _ => return None,
            },
            ExprRef::Attr(v, a) => match self.resolve_expr(file, v) {
                Resolved::Module(m) => (format!("{m}.{a}"), a),
                _ => return None,
            },
            _ => return None,
        };
        let (module, _) = path.rsplit_once('.')?;
        self.file_of_module(module)?;
        any_config_matches(&self.conv.tenant_base_classes, last, &path).then_some(path)
    }

    /// Ownership through parent rows (`tenant-parent-fields`): a model with such a foreign key
    /// (own or inherited, as Django computes the fields) to a tenant-owned model is tenant-owned
    /// too, through chains (an event's issue's project), until nothing changes. Every model is
    /// looked at again each time: an edit in any file may change a parent's ownership, and a
    /// lazy reference (`"issues.Issue"`) imports nothing.
    fn parent_ownership(
        &mut self,
        ids: &[ClassId],
        models_by_name: &HashMap<String, Vec<ClassId>>,
    ) {
        for info in self.infos.iter_mut() {
            if info
                .tenant
                .as_ref()
                .is_some_and(TenantReason::through_parent)
            {
                info.tenant = None;
            }
        }
        if self.conv.tenant_parent_fields.is_empty() {
            return;
        }
        for _ in 0..32 {
            let found: Vec<(usize, TenantReason)> = ids
                .iter()
                .filter_map(|&id| {
                    let info = &self.infos[self.flat(id)];
                    if !info.is_model
                        || info.tenant.is_some()
                        || info.is_tenant_model
                        || info.is_global
                    {
                        return None;
                    }
                    Some((self.flat(id), self.parent_reason(id, models_by_name)?))
                })
                .collect();
            if found.is_empty() {
                break;
            }
            for (i, reason) in found {
                self.infos[i].tenant = Some(reason);
            }
        }
    }

    /// The first `tenant-parent-fields` foreign key of model `id` (own or inherited; a
    /// subclass's `name = None` removes it) whose target is a tenant-owned model other than
    /// `id` itself.
    fn parent_reason(
        &self,
        id: ClassId,
        models_by_name: &HashMap<String, Vec<ClassId>>,
    ) -> Option<TenantReason> {
        let fields = &self.conv.tenant_parent_fields;
        let mut seen: HashSet<&str> = HashSet::default();
        for anc in self.ancestors(Resolved::Class(id)) {
            let Resolved::Class(c) = anc else { continue };
            if !self.info(c).is_model {
                continue;
            }
            for a in &self.class(c).assigns {
                if !seen.insert(a.name.as_str()) || !fields.iter().any(|f| f == a.name.as_str()) {
                    continue;
                }
                let Some(target) = a
                    .value
                    .as_call()
                    .and_then(|call| self.fk_target(c.file, call))
                else {
                    continue;
                };
                let (parent, _) = self.relation_targets(id, c.file, target, models_by_name);
                if let Some(parent) = parent
                    && parent != id
                    && self.owned_target(parent)
                {
                    return Some(TenantReason::Parent {
                        field: a.name.clone(),
                        in_class: c,
                        parent,
                    });
                }
            }
        }
        None
    }

    /// Does a row of this model belong to one tenant (so that pinning a relation to it pins the
    /// tenant)?
    fn owned_target(&self, id: ClassId) -> bool {
        let info = self.info(id);
        info.is_model && !info.is_global && (info.tenant.is_some() || info.is_tenant_model)
    }

    /// The model a relation field of model `id` (declared in `file`) points at, as `(target for
    /// the forward edge, target for the reverse edge)`: `"self"`, a lazy reference (`"Issue"`,
    /// `"app.Issue"`: by model name, without case as Django resolves it; when several models
    /// share it, the forward target counts only if every one of them is owned, and there is no
    /// single reverse relation), or a class by name.
    fn relation_targets(
        &self,
        id: ClassId,
        file: u32,
        target: Option<&ExprRef>,
        models_by_name: &HashMap<String, Vec<ClassId>>,
    ) -> (Option<ClassId>, Option<ClassId>) {
        // swapper's `get_model_name("config", "Device")`: the lazy reference "config.Device".
        let swapped = match target {
            Some(ExprRef::Call(c))
                if matches!(&c.args[..], [ExprRef::Str(_), ExprRef::Str(_)])
                    && self.path_of(&self.resolve_expr(file, &c.func)).as_deref()
                        == Some("swapper.get_model_name") =>
            {
                c.args.get(1)
            }
            _ => None,
        };
        match swapped.or(target) {
            Some(ExprRef::Str(s)) if s == "self" => (Some(id), Some(id)),
            Some(ExprRef::Str(s)) => {
                let name = s.rsplit('.').next().unwrap_or(s).to_ascii_lowercase();
                match models_by_name.get(&name).map(Vec::as_slice) {
                    Some([only]) => (Some(*only), Some(*only)),
                    Some(cands) => (
                        cands
                            .iter()
                            .all(|&m| self.owned_target(m))
                            .then(|| cands[0]),
                        None,
                    ),
                    None => (None, None),
                }
            }
            Some(e @ (ExprRef::Name(_) | ExprRef::Attr(..))) => match self.resolve_expr(file, e) {
                Resolved::Class(m) => (Some(m), Some(m)),
                _ => (None, None),
            },
            _ => (None, None),
        }
    }

    /// The foreign keys of model `id` (own and inherited), in both directions: those that point
    /// to a tenant-owned model (`(field, target)`), and, when `id` is a concrete tenant-owned
    /// model, every relation as `(target model, query name of the reverse relation)`.
    fn relation_edges(
        &self,
        id: ClassId,
        models_by_name: &HashMap<String, Vec<ClassId>>,
    ) -> (Vec<(Name, ClassId)>, Vec<ReverseEdge>) {
        let info = &self.infos[self.flat(id)];
        let want_reverse = !info.abstract_ && self.owned_target(id);
        let mut seen: HashSet<&str> = HashSet::default();
        let (mut forward, mut reverse) = (Vec::new(), Vec::new());
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
                let Some(call) = a.value.as_call() else {
                    continue;
                };
                // A many-to-many field pins rows to given instances like a foreign key does
                // (`filter(tags=tag)`), and so does its reverse from a tenant-owned model
                // (`Profile.objects.filter(user_teams=team)` for `Team.users`): the rows some
                // given row of the pinned tenant links to.
                let (target, many) = match self.fk_target(c.file, call) {
                    Some(t) => (t, false),
                    None => match self.m2m_target(c.file, call) {
                        Some(t) => (t, true),
                        None => continue,
                    },
                };
                let (to, from) = self.relation_targets(id, c.file, target, models_by_name);
                // A many-to-many to the tenant model itself links a row to several tenants.
                if let Some(t) = to
                    && self.owned_target(t)
                    && !(many && self.infos[self.flat(t)].is_tenant_model)
                {
                    forward.push((a.name.clone(), t));
                }
                let Some(target) = from.filter(|_| want_reverse) else {
                    continue;
                };
                let kw = |k: &str| call.keywords.iter().find(|(n, _)| n == k).map(|(_, v)| v);
                let name = match kw("related_query_name").or_else(|| kw("related_name")) {
                    Some(ExprRef::Str(s)) => {
                        // `%(class)s` templates and hidden (`+`) relations are skipped.
                        if s.contains('%') || s.ends_with('+') {
                            continue;
                        }
                        s.clone()
                    }
                    Some(_) => continue,
                    None => self.class(id).name.to_ascii_lowercase(),
                };
                reverse.push((target, Name::new(name)));
            }
        }
        (forward, reverse)
    }

    /// For every class: does it (or an ancestor) satisfy `class_pred` (given the class and its
    /// canonical qualname), or inherit an external base satisfying `ext_pred`?
    /// Only `ids` (at flat positions `flats`) are computed; every other class answers from its
    /// kept `reach` bit.
    fn reach_all(
        &self,
        ids: &[ClassId],
        flats: &[usize],
        bit: u8,
        class_pred: impl Fn(&ClassFact, &str) -> bool,
        ext_pred: impl Fn(&str) -> bool,
    ) -> Vec<bool> {
        // 0: unknown, 1: in progress, 2: no, 3: yes
        let mut state: Vec<u8> = self
            .infos
            .iter()
            .map(|info| if info.reach & bit != 0 { 3 } else { 2 })
            .collect();
        for &f in flats {
            state[f] = 0;
        }
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

    /// Class `id` (at `flat`) has a base from a library (resolved to a module outside the project
    /// and the standard library) and declares a Django model field of its own
    /// (`models.CharField(...)`, `models.ForeignKey(...)`).
    fn declares_fields_on_library_base(&self, id: ClassId, flat: usize) -> bool {
        let named_like_a_field = |n: &str| n.ends_with("Field") || n == "ForeignKey";
        let library_base = || {
            self.infos[flat].bases.iter().any(|b| match b {
                Resolved::External(p) => {
                    let root = p.split('.').next().unwrap_or(p);
                    p.contains('.') && !crate::rules::stdlib::STDLIB.contains(&root)
                }
                _ => false,
            })
        };
        let bases = &self.infos[flat].bases;
        // A direct `models.Model` subclass is a model already.
        bases.iter().any(|b| matches!(b, Resolved::External(_)))
            && !bases
                .iter()
                .any(|b| matches!(b, Resolved::External(p) if p == DJANGO_MODEL))
            && self.class(id).assigns.iter().any(|a| {
                let ExprRef::Call(call) = &a.value else {
                    return false;
                };
                let written = match &call.func {
                    ExprRef::Name(n) | ExprRef::Attr(_, n) => n,
                    _ => return false,
                };
                if !named_like_a_field(written) {
                    return false;
                }
                let Some(path) = self.path_of(&self.resolve_expr(id.file, &call.func)) else {
                    return false;
                };
                let field = last_component(&path);
                (path.starts_with("django.db.models.")
                    || path.starts_with("django.contrib.postgres.fields.")
                    || path.starts_with("django.contrib.gis.db.models."))
                    && named_like_a_field(field)
            })
            && library_base()
    }

    /// The model bases of class `id` that are project classes.
    fn model_bases(&self, id: ClassId) -> Vec<ClassId> {
        self.infos[self.flat(id)]
            .bases
            .iter()
            .filter_map(|b| match b {
                Resolved::Class(b) if self.infos[self.flat(*b)].is_model => Some(*b),
                _ => None,
            })
            .collect()
    }

    /// Compute tenant ownership and managers of the models among `ids` (`state` is 0 for each
    /// of them, 2 for the classes whose infos are kept). A model needs its bases' results, so
    /// the models go in layers by the length of their chain of model bases still to compute,
    /// each layer in parallel. A class on a cycle of bases (or a chain deeper than 200) is left
    /// to the memoised recursion, as are the ones that inherit from it.
    fn compute_models(&mut self, ids: &[ClassId], state: &mut [u8]) {
        const UNSET: u32 = u32::MAX;
        const PENDING: u32 = u32::MAX - 1;
        const CYCLE: u32 = u32::MAX - 2;
        fn level(index: &Index, id: ClassId, levels: &mut [u32], state: &[u8], depth: u32) -> u32 {
            let i = index.flat(id);
            if state[i] != 0 || !index.infos[i].is_model {
                return 0;
            }
            match levels[i] {
                UNSET => {}
                PENDING => return CYCLE,
                l => return l,
            }
            if depth > 200 {
                return CYCLE;
            }
            levels[i] = PENDING;
            let mut l = 0;
            for b in index.model_bases(id) {
                // A base whose infos are kept is done already.
                if state[index.flat(b)] != 0 {
                    continue;
                }
                match level(index, b, levels, state, depth + 1) {
                    CYCLE => {
                        l = CYCLE;
                        break;
                    }
                    lb => l = l.max(lb + 1),
                }
            }
            levels[i] = l;
            l
        }
        let mut levels = vec![UNSET; self.infos.len()];
        let mut layers: Vec<Vec<ClassId>> = Vec::new();
        let mut rest: Vec<ClassId> = Vec::new();
        for &id in ids {
            let i = self.flat(id);
            if state[i] != 0 {
                continue;
            }
            if !self.infos[i].is_model {
                state[i] = 2;
                continue;
            }
            match level(self, id, &mut levels, state, 0) {
                CYCLE => rest.push(id),
                l => {
                    let l = l as usize;
                    if layers.len() <= l {
                        layers.resize_with(l + 1, Vec::new);
                    }
                    layers[l].push(id);
                }
            }
        }
        for layer in layers {
            let computed: Vec<ModelResult> =
                layer.par_iter().map(|&id| self.model_result(id)).collect();
            for (id, r) in layer.into_iter().zip(computed) {
                let i = self.flat(id);
                self.set_model_result(i, r);
                state[i] = 2;
            }
        }
        for id in rest {
            self.model_facts(id, state, 0);
        }
    }

    fn set_model_result(&mut self, i: usize, r: ModelResult) {
        let info = &mut self.infos[i];
        info.tenant_column = r.tenant_column;
        info.scope_lookups = r.scope_lookups;
        info.default_manager_name = r.default_manager_name;
        info.base_manager_name = r.base_manager_name;
        info.tenant = r.tenant;
        info.managers = r.managers;
    }

    /// Compute tenant ownership and managers of a model class (bases first), by memoised
    /// recursion: for the classes [`Index::compute_models`] cannot put in layers.
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
        for b in self.model_bases(id) {
            self.model_facts(b, state, depth + 1);
        }
        let r = self.model_result(id);
        self.set_model_result(i, r);
        state[i] = 2;
    }

    /// Tenant ownership and managers of model `id`, from its own facts and its model bases'
    /// results.
    fn model_result(&self, id: ClassId) -> ModelResult {
        let i = self.flat(id);
        let model_bases = self.model_bases(id);
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
            let broken = self.ancestors(Resolved::Class(id)).find_map(|r| match r {
                Resolved::Class(c) => self.infos[self.flat(c)].broken_tenant_base.clone(),
                _ => None,
            });
            tenant = Some(match broken {
                Some(path) => TenantReason::UnresolvedBase(path),
                None => TenantReason::BaseClass(base),
            });
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
            let scoping_method = self.scoping_method_of(&cls);
            let scoped = self.like_is_scoped(&cls) || scoping_method.is_some();
            managers.push((
                0,
                Manager {
                    name: a.name.clone(),
                    class: cls,
                    scoped,
                    declared_in: Some(id),
                    assign: Some(ai),
                    implicit: false,
                    scoping_method,
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
                // A broken import brings no known manager: the model keeps Django's plain one.
                && self.infos[i].broken_tenant_base.as_deref() != Some(p.as_str())
                && any_config_matches(&self.conv().tenant_base_classes, last_component(p), p)
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
                        scoping_method: None,
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
                scoping_method: None,
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
        ModelResult {
            tenant_column,
            scope_lookups,
            default_manager_name: default_name_kept,
            base_manager_name,
            tenant,
            managers,
        }
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
    pub fn fk_target<'a>(
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
        fk.then(|| relation_target(call))
    }

    /// The target of a Django `ManyToManyField(...)` call (its first argument or `to=`).
    fn m2m_target<'a>(
        &self,
        file: FileId,
        call: &'a crate::facts::CallRef,
    ) -> Option<Option<&'a ExprRef>> {
        let m2m = matches!(
            self.class_like(file, &call.func),
            ClassLike::External(p) if p == "django.db.models.ManyToManyField"
        );
        m2m.then(|| relation_target(call))
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

    /// Everything derived, for comparing two indexes.
    fn derived(index: &Index) -> String {
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            index.offsets,
            index.qualnames,
            index.infos,
            index.modules.len(),
            index.imports_of,
            index.importers,
            index.dynamic,
            {
                let mut l: Vec<_> = index.model_labels.iter().collect();
                l.sort();
                l
            },
            {
                let mut m: Vec<_> = index.model_settings.iter().collect();
                m.sort();
                m
            }
        )
    }

    /// A fixture project's files (sorted) and its conventions, as `check` loads them.
    fn fixture(dir: &str) -> (Vec<(FileMeta, String)>, Arc<Conventions>) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let config = crate::config::find_config(&root).unwrap();
        let settings = crate::config::resolve_settings(root.clone(), config).unwrap();
        let mut paths: Vec<PathBuf> = ignore::Walk::new(&root)
            .filter_map(|e| e.ok())
            .map(|e| e.into_path())
            .filter(|p| p.extension().is_some_and(|e| e == "py"))
            .collect();
        paths.sort();
        let files = paths
            .into_iter()
            .map(|p| {
                let text = std::fs::read_to_string(&p).unwrap();
                (FileMeta::new(p.clone(), settings.module_name(&p)), text)
            })
            .collect();
        (files, Arc::new(settings.conventions.clone()))
    }

    /// Edits that change what a file contributes to the cross-file picture: a manager removed, a
    /// class renamed, a class added (a tenant-owned model), every class removed, a base changed.
    fn edits(text: &str) -> Vec<String> {
        let mut out = Vec::new();
        for (from, to) in [
            ("objects = ", "other = "),
            ("TenantAwareManager()", "models.Manager()"),
            ("ScopedManager(", "models.Manager("),
            ("(models.Model)", "(object)"),
            ("TenantAwareModel)", "models.Model)"),
            ("ForeignKey(", "IntegerField("),
            ("class ", "class Renamed"),
        ] {
            if text.contains(from) {
                out.push(text.replacen(from, to, 1));
            }
        }
        out.push(format!(
            "{text}\n\nfrom django.db import models as _m\n\n\nclass AddedModel(_m.Model):\n    tenant = _m.ForeignKey(\"Tenant\", on_delete=_m.CASCADE)\n"
        ));
        // An import added and one removed (the import graph changes; the signature may not).
        out.push(format!(
            "def _f():\n    from tenancy import models as _x\n\n\n{text}"
        ));
        out.push(
            text.lines()
                .filter(|l| !l.starts_with("from ") && !l.starts_with("import "))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        out.push(
            text.lines()
                .filter(|l| !l.starts_with("class ") && !l.starts_with("    "))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        out
    }

    /// The incremental derivation (only the importers' classes) gives exactly what a build from
    /// scratch gives, for every edit of every file of the demo and preset projects, one edit
    /// after another on the same index (so stale answers would accumulate).
    #[test]
    fn incremental_derive_equals_a_full_build() {
        let mut checked = 0;
        let mut dirs: Vec<String> = [
            "fixtures/demo",
            "fixtures/presets/django-scopes",
            "fixtures/presets/django-multitenant",
            "fixtures/presets/django-tenants",
        ]
        .map(String::from)
        .to_vec();
        // The rule fixtures whose models cross files (registry lookups, re-exports, bases in
        // other modules, broken imports).
        for d in [
            "config_tenant_parent_fields",
            "ten101_inherited_manager_other_app",
            "ten101_manager_subclass_other_module",
            "ten101_reexport",
            "ten101_string_fk",
            "ten101_unresolved_tenant_base",
            "ten201_app_registry",
            "ten201_scoping_methods",
        ] {
            dirs.push(format!("fixtures/rules/{d}"));
        }
        for dir in &dirs {
            let (files, conv) = fixture(dir);
            let build = |texts: &[String]| {
                Index::build(
                    files
                        .iter()
                        .zip(texts)
                        .map(|((m, _), t)| (m.clone(), Arc::new(extract_source(t))))
                        .collect(),
                    conv.clone(),
                )
            };
            let mut texts: Vec<String> = files.iter().map(|(_, t)| t.clone()).collect();
            let mut index = build(&texts);
            for i in 0..files.len() {
                let original = texts[i].clone();
                for edited in edits(&original).into_iter().chain([original.clone()]) {
                    texts[i] = edited;
                    let rederived = index.update(
                        i as FileId,
                        files[i].0.clone(),
                        Arc::new(extract_source(&texts[i])),
                    );
                    let full = build(&texts);
                    assert_eq!(
                        derived(&index),
                        derived(&full),
                        "{dir}: after editing {} (derived again: {rederived})",
                        files[i].0.path.display()
                    );
                    checked += 1;
                }
            }
        }
        assert!(checked > 100, "only {checked} edits checked");
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
        assert_eq!(
            index.facts(1).sites().query_sites[0].method.as_str(),
            "filter"
        );

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
