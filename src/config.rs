//! Configuration: discovery of the config file, parsing with precise errors, embedded defaults.
//!
//! Keys live under `[tool.tenantlint]` in `pyproject.toml`, or at the top level of
//! `tenantlint.toml` / `.tenantlint.toml`. Every key is optional; the defaults fit the common
//! shared-schema convention.

use std::fmt;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobMatcher, GlobSet, GlobSetBuilder};
use toml::Value;

use crate::registry;

/// Folders that are never worth linting (VCS, virtualenvs, build output, caches).
pub const DEFAULT_EXCLUDES: &[&str] = &[
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tenantlint_cache",
    ".tox",
    ".venv",
    "__pycache__",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "env",
    "node_modules",
    "site-packages",
    "venv",
];

/// Where scope bypasses are expected: migrations, management commands, tests.
pub const DEFAULT_BYPASS_ALLOWED: &[&str] = &[
    "**/migrations/**",
    "**/management/commands/**",
    "**/tests/**",
    "**/tests.py",
    "**/test_*.py",
    "**/*_test.py",
    "**/*_tests.py",
    "**/conftest.py",
];

/// Test code: the query, bypass and cache rules stay quiet there (`test-paths`).
pub const DEFAULT_TEST_PATHS: &[&str] = &[
    "**/tests/**",
    "**/tests.py",
    "**/test_*.py",
    "**/*_test.py",
    "**/*_tests.py",
    "**/conftest.py",
];

/// Rules that are quiet in `test-paths`: tests build cross-tenant fixtures and clear caches on
/// purpose.
pub const TEST_QUIET_RULES: &[&str] = &[
    "TEN201", "TEN202", "TEN203", "TEN204", "TEN301", "TEN302", "TEN304", "TEN403",
];

/// Rules that are quiet in `bypass-allowed-paths` (migrations, management commands, tests):
/// code that runs outside any request, over every tenant on purpose.
pub const BYPASS_QUIET_RULES: &[&str] = &["TEN201", "TEN202", "TEN203"];

/// Rules that are off unless selected by code or a prefix other than the blanket `TEN`.
pub const DEFAULT_OFF_RULES: &[&str] = &["TEN304"];

/// Expressions whose value identifies the tenant, wherever a cache key interpolates them.
pub const DEFAULT_TENANT_VALUE_EXPRESSIONS: &[&str] = &[
    "request.tenant",
    "connection.tenant",
    "connection.schema_name",
];

/// List keys that have an `extend-` twin adding to the value (default or set) instead of
/// replacing it.
pub const EXTENDABLE_KEYS: &[&str] = &[
    "tenant-fields",
    "tenant-parent-fields",
    "tenant-base-classes",
    "scoped-managers",
    "global-models",
    "tenant-cache-methods",
    "key-helpers",
    "key-prefixes",
    "tenant-setters",
    "tenant-clearers",
    "tenant-context-managers",
    "task-base-classes",
    "bypass-calls",
    "bypass-managers",
    "bypass-allowed-paths",
    "tenant-admin-mixins",
    "tenant-view-mixins",
    "tenant-middlewares",
    "tenant-routers",
    "tenant-key-functions",
    "tenant-value-expressions",
    "file-fields",
    "settings-modules",
    "test-paths",
    "tenant-filter-methods",
    "not-managers",
    "scoping-methods",
    "capability-fields",
    // Rust services (issue 13).
    "tenant-columns",
    "tenant-tables",
    "tenant-context-types",
];

/// Django settings modules.
pub const DEFAULT_SETTINGS_MODULES: &[&str] = &[
    "**/settings.py",
    "**/settings/*.py",
    "settings.py",
    "settings/*.py",
    "**/settings_*.py",
];

/// Default `max-file-size`: 8 MiB. Bigger files are reported (TEN901) instead of being read.
///
/// Ruff has no such limit; Biome's `files.maxSize` defaults to 1 MiB. Python's largest
/// hand-written modules are far below either (Django's biggest is about 100 KB), but generated
/// modules (protobuf `*_pb2.py`, data tables, squashed migrations) pass 1 MiB, and each one
/// would then be a TEN901 in every run. 8 MiB keeps those checked while bounding the memory of
/// one file (parsing costs a few dozen times the file's size).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 8 * 1024 * 1024;

/// `target-version` when neither the config nor `requires-python` says: Python 3.10, the oldest
/// CPython still supported (3.9 reached its end of life in October 2025). Ruff's default was the
/// oldest supported version too when it was chosen.
pub const DEFAULT_TARGET_VERSION: (u8, u8) = (3, 10);

/// The versions `target-version` accepts: those the parser knows.
pub const TARGET_VERSIONS: std::ops::RangeInclusive<u8> = 7..=15;

/// A configuration error: always names the file and, where there is one, the key.
#[derive(Debug)]
pub struct ConfigError {
    pub file: PathBuf,
    /// The line (1-based) of the key or of the TOML syntax error, when it could be found.
    pub line: Option<usize>,
    pub key: Option<String>,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        match &self.key {
            Some(key) => write!(f, ": `{}`: {}", key, self.message),
            None => write!(f, ": {}", self.message),
        }
    }
}

impl std::error::Error for ConfigError {}

/// The tenancy conventions the rules check against.
#[derive(Clone, Debug)]
pub struct Conventions {
    pub tenant_model: String,
    pub tenant_fields: Vec<String>,
    /// Foreign keys that make a row tenant-owned when the model they point at is (a child of a
    /// tenant-owned row: an event of an issue of a project): `["project", "issue"]`. Empty by
    /// default: only `tenant-fields` and tenant bases make a model tenant-owned.
    pub tenant_parent_fields: Vec<String>,
    pub tenant_base_classes: Vec<String>,
    pub scoped_managers: Vec<String>,
    pub global_models: Vec<String>,
    pub manager_import: String,
    pub tenant_cache: String,
    pub tenant_cache_methods: Vec<String>,
    pub key_helpers: Vec<String>,
    pub key_prefixes: Vec<String>,
    /// Calls that set the current tenant (TEN401, TEN402).
    pub tenant_setters: Vec<String>,
    /// Calls that clear it (TEN401; TEN202 when queries follow).
    pub tenant_clearers: Vec<String>,
    /// Context managers that establish a tenant context (TEN402).
    pub tenant_context_managers: Vec<String>,
    /// Celery task base classes that establish a tenant context (TEN402).
    pub task_base_classes: Vec<String>,
    /// Calls that escape scoping (TEN202).
    pub bypass_calls: Vec<String>,
    /// Managers that escape scoping on purpose (TEN202).
    pub bypass_managers: Vec<String>,
    /// Project helpers (manager or queryset methods) that apply the tenant filter (TEN201,
    /// TEN202): `Product.objects.filter_multi_tenant(company)`.
    pub tenant_filter_methods: Vec<String>,
    /// Classes named like managers that are not (model fields such as django-taggit's
    /// `TaggableManager`, which is known without configuration).
    pub not_managers: Vec<String>,
    /// Managers that scope only after a method call (`"DeviceManager.user"`, or `"user"` for
    /// any manager defining it): `Device.objects.user(u).filter(...)` is scoped, a chain that
    /// skips the method is not (TEN201, TEN204, TEN402).
    pub scoping_methods: Vec<String>,
    /// Fields whose values are unguessable secrets that grant access by themselves (a public
    /// board's anchor, a ping URL's UUID, an invitation token): a lookup by one is a capability
    /// lookup, checked by the secret, not by the tenant (TEN201). `Model.field` (class name or
    /// dotted path) or a bare field name (any model). Default empty.
    pub capability_fields: Vec<String>,
    /// Admin mixins that scope the changelist (TEN501).
    pub tenant_admin_mixins: Vec<String>,
    /// View and API mixins whose `get_queryset` scopes to the tenant (openwisp-users'
    /// `FilterByOrganizationManaged`): a class inheriting one narrows its `queryset` class
    /// attribute per request (TEN204). Default empty.
    pub tenant_view_mixins: Vec<String>,
    /// Middleware classes that set the current tenant (TEN601).
    pub tenant_middlewares: Vec<String>,
    /// Database routers that must be installed (TEN601).
    pub tenant_routers: Vec<String>,
    /// `KEY_FUNCTION`s that make cache keys tenant-aware (TEN301, TEN302, TEN303).
    pub tenant_key_functions: Vec<String>,
    /// Dotted expressions whose value identifies the tenant (`request.tenant`): a cache key that
    /// interpolates one is tenant-specific (TEN301, TEN304).
    pub tenant_value_expressions: Vec<String>,
    /// Every URL carries the tenant (its host or a path segment), so Django's page-cache keys,
    /// which hash the full URL, are per tenant (TEN302, TEN301). Default: on with django-tenants.
    pub tenant_in_url: bool,
    /// Report a lookup that pins a relation to a tenant-owned model by a raw id
    /// (`filter(project_id=project_id)`): the id may come from a URL or payload (TEN201).
    /// Default `false`: such a lookup counts as tenant-constrained, like one by an instance.
    pub strict_parent_lookups: bool,
    /// Queries in periodic jobs (huey's and Celery's periodic task decorators, tasks a Celery
    /// beat schedule runs without arguments) are global on purpose: the scheduler runs them with
    /// no tenant (TEN201). Default `true`.
    pub global_periodic_tasks: bool,
    /// More file field classes that take `upload_to` (TEN104), besides Django's and the known
    /// third-party ones.
    pub file_fields: Vec<String>,
    /// The schema-per-tenant model (django-tenants): the ORM is scoped by schema.
    pub schema_per_tenant: bool,
    // Rust services (issue 13): SeaORM, Diesel, sqlx, Redis.
    /// Columns that make a table tenant-owned and that a query must constrain (`tenant_id`).
    pub tenant_columns: Vec<String>,
    /// Extra tables known to be tenant-owned (declared outside the project, e.g. by SQL run
    /// elsewhere); their tenant column is the first of `tenant-columns`.
    pub tenant_tables: Vec<String>,
    /// Types (and axum extractors) whose values are the tenant (`TenantId`, `CurrentTenant`): a
    /// parameter of one puts a tenant value in scope for fixes and cache keys.
    pub tenant_context_types: Vec<String>,
}

impl Default for Conventions {
    fn default() -> Self {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Conventions {
            tenant_model: "Tenant".into(),
            tenant_fields: s(&["tenant"]),
            tenant_parent_fields: Vec::new(),
            tenant_base_classes: s(&["TenantAwareModel"]),
            scoped_managers: s(&["TenantAwareManager"]),
            global_models: vec![],
            manager_import: String::new(),
            tenant_cache: "tenant_cache".into(),
            tenant_cache_methods: s(&[
                "get", "set", "delete", "get_many", "set_many", "incr", "decr",
            ]),
            key_helpers: s(&["tenant_key"]),
            key_prefixes: s(&["tenant:"]),
            tenant_setters: s(&["set_current_tenant", "activate_tenant"]),
            tenant_clearers: s(&[
                "unset_current_tenant",
                "clear_current_tenant",
                "deactivate_tenant",
            ]),
            tenant_context_managers: s(&["tenant_context"]),
            task_base_classes: s(&["TenantTask"]),
            bypass_calls: s(&["unscoped", "scopes_disabled", "with_scopes_disabled"]),
            bypass_managers: s(&["all_objects", "unscoped_objects", "global_objects"]),
            tenant_filter_methods: Vec::new(),
            not_managers: Vec::new(),
            scoping_methods: Vec::new(),
            capability_fields: Vec::new(),
            tenant_admin_mixins: s(&["TenantAdminMixin", "TenantAwareAdminMixin"]),
            tenant_view_mixins: Vec::new(),
            tenant_middlewares: s(&["TenantMiddleware"]),
            tenant_routers: vec![],
            tenant_key_functions: s(&["django_tenants.cache.make_key"]),
            tenant_value_expressions: s(DEFAULT_TENANT_VALUE_EXPRESSIONS),
            tenant_in_url: false,
            strict_parent_lookups: false,
            global_periodic_tasks: true,
            file_fields: vec![],
            schema_per_tenant: false,
            tenant_columns: s(&["tenant_id"]),
            tenant_tables: vec![],
            tenant_context_types: s(&["TenantId", "Tenant", "CurrentTenant"]),
        }
    }
}

/// The tenancy libraries with a preset.
pub const PRESETS: &[&str] = &["django-multitenant", "django-scopes", "django-tenants"];

impl Conventions {
    /// The conventions of a preset; explicit config keys are applied on top.
    pub fn preset(name: &str) -> Option<Conventions> {
        let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut c = Conventions::default();
        match name {
            "django-multitenant" => {
                c.tenant_base_classes = s(&["TenantModel", "TenantModelMixin"]);
                c.scoped_managers = s(&["TenantManager", "TenantManagerMixin"]);
                c.tenant_setters = s(&["set_current_tenant"]);
                c.tenant_clearers = s(&["unset_current_tenant"]);
                c.tenant_middlewares = s(&["MultitenantMiddleware"]);
                // The library has no context manager, task base or admin mixin of its own.
                c.tenant_context_managers = vec![];
                c.task_base_classes = vec![];
                c.tenant_admin_mixins = vec![];
            }
            "django-scopes" => {
                c.scoped_managers = s(&["ScopedManager"]);
                c.tenant_context_managers = s(&["scope"]);
                c.bypass_calls = s(&["scopes_disabled", "with_scopes_disabled"]);
                c.tenant_setters = vec![];
                c.tenant_clearers = vec![];
                c.tenant_middlewares = vec![];
                c.task_base_classes = vec![];
                c.tenant_admin_mixins = vec![];
            }
            "django-tenants" => {
                // The tenant model is whatever inherits `TenantMixin`; tenant-owned models are
                // those of the apps in `TENANT_APPS`.
                c.tenant_model = "TenantMixin".into();
                c.tenant_base_classes = vec![];
                c.tenant_setters = s(&["set_tenant", "set_schema"]);
                c.tenant_clearers = s(&["set_schema_to_public"]);
                c.tenant_context_managers = s(&["schema_context", "tenant_context"]);
                c.task_base_classes = s(&["TenantTask"]);
                c.tenant_middlewares = s(&["TenantMainMiddleware", "TenantSubfolderMiddleware"]);
                c.tenant_routers = s(&["django_tenants.routers.TenantSyncRouter"]);
                c.tenant_key_functions = s(&["django_tenants.cache.make_key"]);
                c.schema_per_tenant = true;
                // The tenant is resolved from the host (or a subfolder): in every URL.
                c.tenant_in_url = true;
            }
            _ => return None,
        }
        Some(c)
    }

    /// Rules a preset turns off by default (they do not apply to its tenancy model).
    pub fn preset_ignores(name: &str) -> &'static [&'static str] {
        match name {
            // Schema per tenant: every ORM query runs in the tenant's schema.
            "django-tenants" => &[
                "TEN100", "TEN101", "TEN102", "TEN201", "TEN204", "TEN500", "TEN501",
            ],
            _ => &[],
        }
    }
}

/// The fully resolved settings for one run.
#[derive(Debug)]
pub struct Settings {
    /// The project root: the config file's directory, else the nearest ancestor with
    /// `pyproject.toml`, `setup.cfg` or `.git`, else the current directory. Absolute.
    pub root: PathBuf,
    /// The config file in use, if any.
    pub config_file: Option<PathBuf>,
    /// Source roots for module resolution, absolute, longest first.
    pub src: Vec<PathBuf>,
    pub exclude: GlobSet,
    pub respect_gitignore: bool,
    pub select: Vec<String>,
    /// `select` was set in the config (not the default).
    pub select_explicit: bool,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    /// Rules the preset turns off; an explicit `select` / `extend-select` naming one wins.
    pub preset_ignore: Vec<String>,
    pub per_file_ignores: Vec<(GlobMatcher, bool, Vec<String>)>,
    pub conventions: Conventions,
    /// Where scope bypasses are expected (TEN202).
    pub bypass_allowed: GlobSet,
    /// Which modules are Django settings (TEN303, TEN601, and the cache `KEY_FUNCTION`).
    pub settings_modules: GlobSet,
    /// Test code, where [`TEST_QUIET_RULES`] are quiet (`test-paths`).
    pub test_paths: GlobSet,
    pub preset: Option<String>,
    /// `cache-dir`, relative to the project root (default `.tenantlint_cache`).
    pub cache_dir: Option<PathBuf>,
    /// Files bigger than this many bytes are reported (TEN901), not read (`max-file-size`).
    pub max_file_size: u64,
    /// The oldest Python the project runs on (`target-version`, else the lower bound of
    /// `requires-python`, else [`DEFAULT_TARGET_VERSION`]): syntax it rejects is a TEN900.
    pub target_version: (u8, u8),
    /// `baseline`: the baseline file (absolute; given relative to the project root).
    pub baseline: Option<PathBuf>,
    /// The names the config file itself sets for keys that name things in the project (never a
    /// default or a preset's), with where they are written: TEN001 checks that each resolves.
    pub configured_names: Vec<ConfiguredName>,
    /// Why the project root is not where the user may think (a config file outside the project,
    /// `--config` from elsewhere): a warning for stderr, set by `check::load_settings`.
    pub root_warning: Option<String>,
}

/// A name written in the config file for a key that names a class, function, object or field
/// of the project (`scoped-managers = ["TenantAwareManager"]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfiguredName {
    /// The key as written (`scoped-managers`, `extend-scoped-managers`).
    pub key: String,
    pub value: String,
    /// The string literal's byte range in the config file.
    pub span: std::ops::Range<usize>,
}

/// The keys whose values name things in the project (each also as `extend-<key>` where it has
/// that twin). `tenant-value-expressions` is not among them: its values are run-time
/// expressions (`request.tenant`), not names the project defines.
pub const NAME_KEYS: &[&str] = &[
    "tenant-model",
    "tenant-fields",
    "tenant-parent-fields",
    "tenant-base-classes",
    "scoped-managers",
    "global-models",
    "manager-import",
    "tenant-cache",
    "key-helpers",
    "tenant-setters",
    "tenant-clearers",
    "tenant-context-managers",
    "task-base-classes",
    "bypass-calls",
    "bypass-managers",
    "tenant-filter-methods",
    "not-managers",
    "tenant-admin-mixins",
    "tenant-view-mixins",
    "tenant-middlewares",
    "tenant-routers",
    "tenant-key-functions",
    "file-fields",
];

/// The names written for [`NAME_KEYS`] (and their `extend-` twins) in a config file's text, with
/// their spans. Empty when the text does not parse (the caller reports that) or has no tenantlint
/// table.
pub fn configured_names(text: &str, own: &str) -> Vec<ConfiguredName> {
    let Ok(doc) = toml_edit::ImDocument::parse(text) else {
        return Vec::new();
    };
    // The tenantlint table: `own` is its dotted path (`tool.tenantlint`,
    // `workspace.metadata.tenantlint`, or `""` for the top level of `tenantlint.toml`).
    let mut table: &dyn toml_edit::TableLike = doc.as_table();
    for part in own.split('.').filter(|p| !p.is_empty()) {
        match table.get(part).and_then(|t| t.as_table_like()) {
            Some(t) => table = t,
            None => return Vec::new(),
        }
    }
    let mut out = Vec::new();
    for (key, item) in table.iter() {
        let base = key.strip_prefix("extend-").unwrap_or(key);
        if !NAME_KEYS.contains(&base) {
            continue;
        }
        let values: Vec<&toml_edit::Value> = match item.as_value() {
            Some(toml_edit::Value::Array(a)) => a.iter().collect(),
            Some(v) => vec![v],
            None => Vec::new(),
        };
        for v in values {
            if let (Some(s), Some(span)) = (v.as_str(), v.span())
                && !s.is_empty()
            {
                out.push(ConfiguredName {
                    key: key.to_string(),
                    value: s.to_string(),
                    span,
                });
            }
        }
    }
    out
}

/// Raw, validated values from one config file (all optional).
#[derive(Debug, Default)]
pub struct FileOptions {
    pub src: Option<Vec<String>>,
    pub exclude: Option<Vec<String>>,
    pub extend_exclude: Option<Vec<String>>,
    pub respect_gitignore: Option<bool>,
    pub select: Option<Vec<String>>,
    pub extend_select: Option<Vec<String>>,
    pub ignore: Option<Vec<String>>,
    pub per_file_ignores: Option<Vec<(String, Vec<String>)>>,
    pub tenant_model: Option<String>,
    pub tenant_fields: Option<Vec<String>>,
    pub tenant_parent_fields: Option<Vec<String>>,
    pub tenant_base_classes: Option<Vec<String>>,
    pub scoped_managers: Option<Vec<String>>,
    pub global_models: Option<Vec<String>>,
    pub manager_import: Option<String>,
    pub tenant_cache: Option<String>,
    pub tenant_cache_methods: Option<Vec<String>>,
    pub key_helpers: Option<Vec<String>>,
    pub key_prefixes: Option<Vec<String>>,
    pub preset: Option<String>,
    pub tenant_setters: Option<Vec<String>>,
    pub tenant_clearers: Option<Vec<String>>,
    pub tenant_context_managers: Option<Vec<String>>,
    pub task_base_classes: Option<Vec<String>>,
    pub bypass_calls: Option<Vec<String>>,
    pub bypass_managers: Option<Vec<String>>,
    pub tenant_filter_methods: Option<Vec<String>>,
    pub not_managers: Option<Vec<String>>,
    pub scoping_methods: Option<Vec<String>>,
    pub capability_fields: Option<Vec<String>>,
    pub bypass_allowed_paths: Option<Vec<String>>,
    pub tenant_admin_mixins: Option<Vec<String>>,
    pub tenant_view_mixins: Option<Vec<String>>,
    pub tenant_middlewares: Option<Vec<String>>,
    pub tenant_routers: Option<Vec<String>>,
    pub tenant_key_functions: Option<Vec<String>>,
    pub settings_modules: Option<Vec<String>>,
    pub test_paths: Option<Vec<String>>,
    pub tenant_value_expressions: Option<Vec<String>>,
    pub tenant_in_url: Option<bool>,
    pub strict_parent_lookups: Option<bool>,
    pub global_periodic_tasks: Option<bool>,
    pub file_fields: Option<Vec<String>>,
    pub tenant_columns: Option<Vec<String>>,
    pub tenant_tables: Option<Vec<String>>,
    pub tenant_context_types: Option<Vec<String>>,
    /// `extend-<key> = [...]` for the keys in [`EXTENDABLE_KEYS`]: (key, values), in file order.
    pub extends: Vec<(String, Vec<String>)>,
    pub cache_dir: Option<String>,
    pub max_file_size: Option<u64>,
    pub target_version: Option<(u8, u8)>,
    pub baseline: Option<String>,
    /// The names written for [`NAME_KEYS`], with their spans (filled by [`read_config_file`]).
    pub names: Vec<ConfiguredName>,
}

pub const KNOWN_KEYS: &[&str] = &[
    "src",
    "cache-dir",
    "exclude",
    "extend-exclude",
    "respect-gitignore",
    "select",
    "extend-select",
    "ignore",
    "per-file-ignores",
    "tenant-model",
    "tenant-fields",
    "tenant-parent-fields",
    "tenant-base-classes",
    "scoped-managers",
    "global-models",
    "manager-import",
    "tenant-cache",
    "tenant-cache-methods",
    "key-helpers",
    "key-prefixes",
    "preset",
    "tenant-setters",
    "tenant-clearers",
    "tenant-context-managers",
    "task-base-classes",
    "bypass-calls",
    "bypass-managers",
    "tenant-filter-methods",
    "not-managers",
    "scoping-methods",
    "capability-fields",
    "bypass-allowed-paths",
    "tenant-admin-mixins",
    "tenant-view-mixins",
    "tenant-middlewares",
    "tenant-routers",
    "tenant-key-functions",
    "settings-modules",
    "test-paths",
    "tenant-value-expressions",
    "tenant-in-url",
    "strict-parent-lookups",
    "global-periodic-tasks",
    "file-fields",
    "max-file-size",
    "target-version",
    "baseline",
    "tenant-columns",
    "tenant-tables",
    "tenant-context-types",
];

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

struct Reader<'a> {
    file: &'a Path,
}

impl Reader<'_> {
    fn err(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError {
            line: None,
            file: self.file.to_path_buf(),
            key: Some(key.to_string()),
            message: message.into(),
        }
    }

    fn string(&self, key: &str, v: &Value) -> Result<String, ConfigError> {
        match v {
            Value::String(s) => Ok(s.clone()),
            other => Err(self.err(
                key,
                format!("expected a string, found {}", type_name(other)),
            )),
        }
    }

    fn bool(&self, key: &str, v: &Value) -> Result<bool, ConfigError> {
        match v {
            Value::Boolean(b) => Ok(*b),
            other => Err(self.err(
                key,
                format!("expected a boolean, found {}", type_name(other)),
            )),
        }
    }

    fn strings(&self, key: &str, v: &Value) -> Result<Vec<String>, ConfigError> {
        match v {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::String(s) => Ok(s.clone()),
                    other => Err(self.err(
                        key,
                        format!(
                            "expected an array of strings, but item {} is {}",
                            i + 1,
                            type_name(other)
                        ),
                    )),
                })
                .collect(),
            other => Err(self.err(
                key,
                format!("expected an array of strings, found {}", type_name(other)),
            )),
        }
    }

    fn globs(&self, key: &str, v: &Value) -> Result<Vec<String>, ConfigError> {
        let list = self.strings(key, v)?;
        for g in &list {
            Glob::new(g).map_err(|e| self.err(key, format!("invalid glob `{g}`: {e}")))?;
        }
        Ok(list)
    }

    /// A Python name or dotted path (`Tenant`, `tenancy.models.Tenant`).
    fn name(&self, key: &str, v: &Value) -> Result<String, ConfigError> {
        let s = self.string(key, v)?;
        check_dotted_name(&s).map_err(|why| self.err(key, invalid_name(&s, why)))?;
        Ok(s)
    }

    /// `manager-import`: a dotted path, or empty for "where the project defines it".
    fn name_or_empty(&self, key: &str, v: &Value) -> Result<String, ConfigError> {
        let s = self.string(key, v)?;
        if !s.is_empty() {
            check_dotted_name(&s).map_err(|why| self.err(key, invalid_name(&s, why)))?;
        }
        Ok(s)
    }

    /// An array of Python names or dotted paths.
    fn names(&self, key: &str, v: &Value) -> Result<Vec<String>, ConfigError> {
        let list = self.strings(key, v)?;
        for (i, s) in list.iter().enumerate() {
            check_dotted_name(s).map_err(|why| {
                self.err(key, format!("item {}: {}", i + 1, invalid_name(s, why)))
            })?;
        }
        Ok(list)
    }

    /// An array of plain identifiers (method names).
    fn identifiers(&self, key: &str, v: &Value) -> Result<Vec<String>, ConfigError> {
        let list = self.strings(key, v)?;
        for (i, s) in list.iter().enumerate() {
            let why = match check_dotted_name(s) {
                Err(why) => Some(why),
                Ok(()) if s.contains('.') => Some("a dot; expected a plain name"),
                Ok(()) => None,
            };
            if let Some(why) = why {
                return Err(self.err(
                    key,
                    format!("item {}: `{s}` is not a Python identifier ({why})", i + 1),
                ));
            }
        }
        Ok(list)
    }

    /// An array of non-empty strings (an empty key prefix would match every key).
    fn non_empty_strings(&self, key: &str, v: &Value) -> Result<Vec<String>, ConfigError> {
        let list = self.strings(key, v)?;
        if let Some(i) = list.iter().position(|s| s.is_empty()) {
            return Err(self.err(
                key,
                format!("item {}: an empty string is not allowed here", i + 1),
            ));
        }
        Ok(list)
    }

    /// A size in bytes: an integer, or a string like `"8MB"`, `"512 KB"`, `"1GiB"`.
    fn size(&self, key: &str, v: &Value) -> Result<u64, ConfigError> {
        let n = match v {
            Value::Integer(i) if *i > 0 => *i as u64,
            Value::Integer(i) => {
                return Err(self.err(key, format!("expected a positive size, found {i}")));
            }
            Value::String(s) => parse_size(s).map_err(|e| self.err(key, e))?,
            other => {
                return Err(self.err(
                    key,
                    format!(
                        "expected a size (an integer number of bytes or a string like \"8MB\"), found {}",
                        type_name(other)
                    ),
                ));
            }
        };
        Ok(n)
    }

    fn selectors(&self, key: &str, v: &Value) -> Result<Vec<String>, ConfigError> {
        let list = self.strings(key, v)?;
        for sel in &list {
            if sel.trim().is_empty() {
                return Err(self.err(key, "empty rule selector"));
            }
            if !registry::is_valid_selector(sel) {
                return Err(self.err(key, format!("unknown rule selector `{sel}`")));
            }
        }
        Ok(list)
    }
}

/// Python's hard keywords: never a valid name segment.
const PYTHON_KEYWORDS: &[&str] = &[
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// Is `s` a Python identifier or a dotted path of identifiers (`Tenant`,
/// `tenancy.models.Tenant`)? `Err` says what is wrong. Identifiers follow Python: a letter or
/// `_` (Unicode letters included), then letters, digits or `_`; no keywords.
pub fn check_dotted_name(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("empty");
    }
    if s.chars().any(char::is_whitespace) {
        return Err("contains whitespace");
    }
    for seg in s.split('.') {
        let mut chars = seg.chars();
        match chars.next() {
            None => return Err("empty segment"),
            Some(c) if c == '_' || c.is_alphabetic() => {}
            Some(c) if c.is_numeric() => return Err("a segment starts with a digit"),
            Some(_) => return Err("punctuation is not allowed"),
        }
        if !chars.all(|c| c == '_' || c.is_alphanumeric()) {
            return Err("punctuation is not allowed");
        }
        if PYTHON_KEYWORDS.contains(&seg) {
            return Err("a segment is a Python keyword");
        }
    }
    Ok(())
}

fn invalid_name(s: &str, why: &str) -> String {
    if s.is_empty() {
        return "an empty string is not a Python name or dotted path; expected e.g. `Tenant` or `tenancy.models.Tenant`".into();
    }
    format!(
        "`{s}` is not a Python name or dotted path ({why}); expected e.g. `Tenant` or `tenancy.models.Tenant`"
    )
}

/// Parse a size: a number of bytes with an optional unit, `B`, `KB`, `MB`, `GB` (binary:
/// 1 KB = 1024 bytes, as in most tools that take file sizes; `KiB`, `MiB`, `GiB` too),
/// case-insensitive, with or without a space: `"8MB"`, `"512 KB"`, `"1048576"`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let bad = || {
        format!(
            "invalid size `{s}`; expected a number of bytes with an optional unit (B, KB, MB, GB), like \"8MB\""
        )
    };
    let n: u64 = num.parse().map_err(|_| bad())?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        _ => return Err(bad()),
    };
    let bytes = n.checked_mul(mult).ok_or_else(bad)?;
    if bytes == 0 {
        return Err(format!("invalid size `{s}`; must be more than 0 bytes"));
    }
    Ok(bytes)
}

/// Parse the tenantlint table of a config file. `table` is the `[tool.tenantlint]` table of a
/// `pyproject.toml`, or the whole document of a `tenantlint.toml`.
pub fn parse_options(file: &Path, table: &toml::Table) -> Result<FileOptions, ConfigError> {
    let r = Reader { file };
    let mut o = FileOptions::default();
    for (key, v) in table {
        let k = key.as_str();
        match k {
            "src" => o.src = Some(r.strings(k, v)?),
            "cache-dir" => o.cache_dir = Some(r.string(k, v)?),
            "exclude" => o.exclude = Some(r.strings(k, v)?),
            "extend-exclude" => o.extend_exclude = Some(r.strings(k, v)?),
            "respect-gitignore" => o.respect_gitignore = Some(r.bool(k, v)?),
            "select" => o.select = Some(r.selectors(k, v)?),
            "extend-select" => o.extend_select = Some(r.selectors(k, v)?),
            "ignore" => o.ignore = Some(r.selectors(k, v)?),
            "per-file-ignores" => {
                let Value::Table(t) = v else {
                    return Err(r.err(
                        k,
                        format!("expected a table of glob = [codes], found {}", type_name(v)),
                    ));
                };
                let mut list = Vec::new();
                for (glob, codes) in t {
                    let codes = r.selectors(&format!("{k}.{glob}"), codes)?;
                    Glob::new(glob).map_err(|e| r.err(k, format!("invalid glob `{glob}`: {e}")))?;
                    list.push((glob.clone(), codes));
                }
                o.per_file_ignores = Some(list);
            }
            "tenant-model" => o.tenant_model = Some(r.name(k, v)?),
            "tenant-fields" => o.tenant_fields = Some(r.names(k, v)?),
            "tenant-parent-fields" => o.tenant_parent_fields = Some(r.identifiers(k, v)?),
            "tenant-base-classes" => o.tenant_base_classes = Some(r.names(k, v)?),
            "scoped-managers" => o.scoped_managers = Some(r.names(k, v)?),
            "global-models" => o.global_models = Some(r.names(k, v)?),
            "manager-import" => o.manager_import = Some(r.name_or_empty(k, v)?),
            "tenant-cache" => o.tenant_cache = Some(r.name(k, v)?),
            "tenant-cache-methods" => o.tenant_cache_methods = Some(r.identifiers(k, v)?),
            "key-helpers" => o.key_helpers = Some(r.names(k, v)?),
            "key-prefixes" => o.key_prefixes = Some(r.non_empty_strings(k, v)?),
            "preset" => {
                let p = r.string(k, v)?;
                if !PRESETS.contains(&p.as_str()) {
                    return Err(r.err(
                        k,
                        format!(
                            "unknown preset `{p}`; expected one of {}",
                            PRESETS.join(", ")
                        ),
                    ));
                }
                o.preset = Some(p);
            }
            "tenant-setters" => o.tenant_setters = Some(r.names(k, v)?),
            "tenant-clearers" => o.tenant_clearers = Some(r.names(k, v)?),
            "tenant-context-managers" => o.tenant_context_managers = Some(r.names(k, v)?),
            "task-base-classes" => o.task_base_classes = Some(r.names(k, v)?),
            "bypass-calls" => o.bypass_calls = Some(r.names(k, v)?),
            "bypass-managers" => o.bypass_managers = Some(r.names(k, v)?),
            "tenant-filter-methods" => o.tenant_filter_methods = Some(r.names(k, v)?),
            "not-managers" => o.not_managers = Some(r.names(k, v)?),
            "scoping-methods" => o.scoping_methods = Some(r.names(k, v)?),
            "capability-fields" => o.capability_fields = Some(r.names(k, v)?),
            "bypass-allowed-paths" => o.bypass_allowed_paths = Some(r.globs(k, v)?),
            "tenant-admin-mixins" => o.tenant_admin_mixins = Some(r.names(k, v)?),
            "tenant-view-mixins" => o.tenant_view_mixins = Some(r.names(k, v)?),
            "tenant-middlewares" => o.tenant_middlewares = Some(r.names(k, v)?),
            "tenant-routers" => o.tenant_routers = Some(r.names(k, v)?),
            "tenant-key-functions" => o.tenant_key_functions = Some(r.names(k, v)?),
            "settings-modules" => o.settings_modules = Some(r.globs(k, v)?),
            "test-paths" => o.test_paths = Some(r.globs(k, v)?),
            "tenant-value-expressions" => o.tenant_value_expressions = Some(r.names(k, v)?),
            "tenant-in-url" => o.tenant_in_url = Some(r.bool(k, v)?),
            "strict-parent-lookups" => o.strict_parent_lookups = Some(r.bool(k, v)?),
            "global-periodic-tasks" => o.global_periodic_tasks = Some(r.bool(k, v)?),
            "file-fields" => o.file_fields = Some(r.names(k, v)?),
            "max-file-size" => o.max_file_size = Some(r.size(k, v)?),
            "target-version" => {
                let value = r.string(k, v)?;
                let parsed = parse_target_version(&value).ok_or_else(|| {
                    r.err(
                        k,
                        format!(
                            "invalid value `{value}`; expected one of {}",
                            TARGET_VERSIONS
                                .map(|m| format!("py3{m}"))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    )
                })?;
                o.target_version = Some(parsed);
            }
            _ if k
                .strip_prefix("extend-")
                .is_some_and(|base| EXTENDABLE_KEYS.contains(&base)) =>
            {
                let base = &k["extend-".len()..];
                let values = match base {
                    "tenant-cache-methods" | "tenant-columns" | "tenant-context-types" => {
                        r.identifiers(k, v)?
                    }
                    "tenant-tables" => r.non_empty_strings(k, v)?,
                    "key-prefixes" => r.non_empty_strings(k, v)?,
                    "bypass-allowed-paths" | "settings-modules" | "test-paths" => r.globs(k, v)?,
                    _ => r.names(k, v)?,
                };
                o.extends.push((base.to_string(), values));
            }
            "baseline" => o.baseline = Some(r.string(k, v)?),
            // Rust services (issue 13).
            "tenant-columns" => o.tenant_columns = Some(r.identifiers(k, v)?),
            "tenant-tables" => o.tenant_tables = Some(r.non_empty_strings(k, v)?),
            "tenant-context-types" => o.tenant_context_types = Some(r.identifiers(k, v)?),
            _ => {
                let hint = KNOWN_KEYS
                    .iter()
                    .find(|known| {
                        known.replace('-', "_") == k || known.replace('-', "") == k.replace('_', "")
                    })
                    .map(|known| format!(" (did you mean `{known}`?)"))
                    .unwrap_or_default();
                return Err(r.err(k, format!("unknown configuration key{hint}")));
            }
        }
    }
    Ok(o)
}

/// `py37` ... `py315` as (3, minor).
fn parse_target_version(value: &str) -> Option<(u8, u8)> {
    let minor: u8 = value.strip_prefix("py3")?.parse().ok()?;
    (TARGET_VERSIONS.contains(&minor) && !value.starts_with("py30")).then_some((3, minor))
}

/// The oldest Python version a PEP 440 `requires-python` allows, as ruff reads it: the highest
/// of its lower bounds (`>=`, `>`, `~=`, `==`, `===`), clamped to the versions the parser
/// knows. `None` when it has no lower bound or does not parse.
pub fn requires_python_lower_bound(spec: &str) -> Option<(u8, u8)> {
    let mut best: Option<(u8, u8)> = None;
    for clause in spec.split(',') {
        let clause = clause.trim();
        // `<`, `<=`, `!=` set no lower bound.
        let Some(version) = ["===", ">=", "~=", "==", ">"]
            .iter()
            .find_map(|op| clause.strip_prefix(op))
        else {
            continue;
        };
        let mut parts = version.trim().trim_end_matches(".*").split('.');
        let major: u8 = parts.next()?.trim().parse().ok()?;
        let minor: u8 = match parts.next() {
            Some(m) => m.trim().parse().ok()?,
            None => 0,
        };
        let v = if major < 3 {
            (3, *TARGET_VERSIONS.start())
        } else if major > 3 {
            (3, *TARGET_VERSIONS.end())
        } else {
            (
                3,
                minor.clamp(*TARGET_VERSIONS.start(), *TARGET_VERSIONS.end()),
            )
        };
        best = Some(best.map_or(v, |b: (u8, u8)| b.max(v)));
    }
    best
}

/// `project.requires-python` of the `pyproject.toml` in `dir`, if there is one.
fn requires_python(dir: &Path) -> Option<(u8, u8)> {
    let text = std::fs::read_to_string(dir.join("pyproject.toml")).ok()?;
    let doc: toml::Table = text.parse().ok()?;
    let spec = doc.get("project")?.get("requires-python")?.as_str()?;
    requires_python_lower_bound(spec)
}

/// Read a config file. Returns `Ok(None)` for a `pyproject.toml` without `[tool.tenantlint]`.
pub fn read_config_file(path: &Path) -> Result<Option<FileOptions>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        line: None,
        file: path.to_path_buf(),
        key: None,
        message: format!("cannot read config file: {e}"),
    })?;
    let doc: toml::Table = text.parse().map_err(|e: toml::de::Error| ConfigError {
        line: e
            .span()
            .map(|span| text[..span.start.min(text.len())].matches('\n').count() + 1),
        file: path.to_path_buf(),
        key: None,
        message: format!("invalid TOML: {}", e.message().trim()),
    })?;
    let own = settings_table_path(path, &doc);
    let mut options = read_options(path, &doc, own).map_err(|mut e| {
        if let Some(key) = &e.key {
            e.line = key_line(&text, own, key);
        }
        e
    })?;
    if let Some(o) = &mut options {
        o.names = configured_names(&text, own);
    }
    Ok(options)
}

/// Where a config file keeps the tenantlint settings, as a dotted table path: `tool.tenantlint`
/// in `pyproject.toml`; in `Cargo.toml`, `workspace.metadata.tenantlint` (which wins) or
/// `package.metadata.tenantlint` (the first that exists; the workspace's when neither does);
/// the top level (`""`) of `tenantlint.toml` and `.tenantlint.toml`.
pub fn settings_table_path(path: &Path, doc: &toml::Table) -> &'static str {
    match path.file_name().and_then(|n| n.to_str()) {
        Some("pyproject.toml") => "tool.tenantlint",
        Some("Cargo.toml") => {
            let has = |section: &str| {
                doc.get(section)
                    .and_then(|t| t.get("metadata"))
                    .and_then(|t| t.get("tenantlint"))
                    .is_some()
            };
            if !has("workspace") && has("package") {
                "package.metadata.tenantlint"
            } else {
                "workspace.metadata.tenantlint"
            }
        }
        _ => "",
    }
}

/// The table at a dotted path of a TOML document (`None` when a part is missing or not a
/// table).
pub fn table_at<'a>(doc: &'a toml::Table, dotted: &str) -> Option<&'a toml::Table> {
    let mut t = doc;
    for part in dotted.split('.').filter(|p| !p.is_empty()) {
        t = t.get(part)?.as_table()?;
    }
    Some(t)
}

/// The line (1-based) where the tenantlint settings set `key` (its first segment), for error
/// messages: the key's own line in the tenantlint table (`[tool.tenantlint]` in `pyproject.toml`,
/// the top level elsewhere), or the header of its sub-table (`[tool.tenantlint.per-file-ignores]`).
fn key_line(text: &str, own: &str, key: &str) -> Option<usize> {
    let first = key.split('.').next().unwrap_or(key);
    let first = first.trim_matches('"');
    let sub = if own.is_empty() {
        first.to_string()
    } else {
        format!("{own}.{first}")
    };
    let mut table = String::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(header) = t.strip_prefix('[') {
            let name: String = header
                .trim_start_matches('[')
                .split(']')
                .next()
                .unwrap_or("")
                .split('.')
                .map(|p| p.trim().trim_matches('"'))
                .collect::<Vec<_>>()
                .join(".");
            if name == sub {
                return Some(i + 1);
            }
            table = name;
            continue;
        }
        if table != own {
            continue;
        }
        let Some((k, _)) = t.split_once('=') else {
            continue;
        };
        let k = k.trim();
        let k_first = k.split('.').next().unwrap_or(k).trim().trim_matches('"');
        if k_first == first {
            return Some(i + 1);
        }
    }
    None
}

fn read_options(
    path: &Path,
    doc: &toml::Table,
    own: &str,
) -> Result<Option<FileOptions>, ConfigError> {
    if own.is_empty() {
        return parse_options(path, doc).map(Some);
    }
    // `tool.tenantlint` / `workspace.metadata.tenantlint`: the parents must be tables; a file
    // without the table does not count.
    let (parent, last) = own.rsplit_once('.').unwrap_or(("", own));
    let Some(parent) = table_at(doc, parent) else {
        return Ok(None);
    };
    match parent.get(last) {
        None => Ok(None),
        Some(Value::Table(t)) => parse_options(path, t).map(Some),
        Some(other) => Err(ConfigError {
            line: None,
            file: path.to_path_buf(),
            key: Some(own.into()),
            message: format!("expected a table, found {}", type_name(other)),
        }),
    }
}

/// Find the nearest config file at or above `start`: within one directory `tenantlint.toml`
/// comes first, then `.tenantlint.toml`, then a `pyproject.toml` with `[tool.tenantlint]`, then
/// a `Cargo.toml` with `[workspace.metadata.tenantlint]` or `[package.metadata.tenantlint]`.
pub fn find_config(start: &Path) -> Result<Option<(PathBuf, FileOptions)>, ConfigError> {
    for dir in start.ancestors() {
        for name in CONFIG_FILE_NAMES {
            let candidate = dir.join(name);
            if candidate.is_file()
                && let Some(options) = read_config_file(&candidate)?
            {
                return Ok(Some((candidate, options)));
            }
        }
    }
    Ok(None)
}

/// The config file names, in their order of precedence within one directory.
pub const CONFIG_FILE_NAMES: &[&str] = &[
    "tenantlint.toml",
    ".tenantlint.toml",
    "pyproject.toml",
    "Cargo.toml",
];

/// The nearest ancestor of `start` holding `pyproject.toml`, `setup.cfg`, `.git` or a Cargo
/// workspace manifest (a `Cargo.toml` with a `[workspace]` table: a member crate's manifest is
/// not a root, its workspace is).
pub fn find_project_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| {
            ["pyproject.toml", "setup.cfg", ".git"]
                .iter()
                .any(|m| dir.join(m).exists())
                || is_cargo_workspace(&dir.join("Cargo.toml"))
        })
        .map(Path::to_path_buf)
}

/// A `Cargo.toml` that declares a `[workspace]`.
fn is_cargo_workspace(manifest: &Path) -> bool {
    std::fs::read_to_string(manifest)
        .ok()
        .and_then(|t| t.parse::<toml::Table>().ok())
        .is_some_and(|doc| doc.contains_key("workspace"))
}

fn build_globset(patterns: &[String], file: &Path, key: &str) -> Result<GlobSet, ConfigError> {
    let mut b = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|e| ConfigError {
            line: None,
            file: file.to_path_buf(),
            key: Some(key.into()),
            message: format!("invalid glob `{p}`: {e}"),
        })?;
        b.add(glob);
    }
    b.build().map_err(|e| ConfigError {
        line: None,
        file: file.to_path_buf(),
        key: Some(key.into()),
        message: e.to_string(),
    })
}

/// Build the settings for a run from an optional config file and the project root.
pub fn resolve_settings(
    root: PathBuf,
    config: Option<(PathBuf, FileOptions)>,
) -> Result<Settings, ConfigError> {
    let (config_file, mut o) = match config {
        Some((p, o)) => (Some(p), o),
        None => (None, FileOptions::default()),
    };
    let file_for_errors = config_file
        .clone()
        .unwrap_or_else(|| PathBuf::from("<defaults>"));
    let d = match &o.preset {
        Some(p) => Conventions::preset(p).unwrap_or_default(),
        None => Conventions::default(),
    };
    // `extend-<key>`: appended to the key's value, whether set or the default.
    let extends = std::mem::take(&mut o.extends);
    let ext = |key: &str, mut base: Vec<String>| -> Vec<String> {
        for (k, values) in &extends {
            if k == key {
                for v in values {
                    if !base.contains(v) {
                        base.push(v.clone());
                    }
                }
            }
        }
        base
    };
    // A list key: its value (or the default), then its `extend-` twin's values. The key is the
    // field's name in kebab case.
    macro_rules! list {
        ($field:ident) => {
            ext(
                &stringify!($field).replace('_', "-"),
                o.$field.unwrap_or(d.$field),
            )
        };
    }
    let conventions = Conventions {
        tenant_setters: list!(tenant_setters),
        tenant_clearers: list!(tenant_clearers),
        tenant_context_managers: list!(tenant_context_managers),
        task_base_classes: list!(task_base_classes),
        bypass_calls: list!(bypass_calls),
        bypass_managers: list!(bypass_managers),
        tenant_filter_methods: list!(tenant_filter_methods),
        not_managers: list!(not_managers),
        scoping_methods: list!(scoping_methods),
        capability_fields: list!(capability_fields),
        tenant_admin_mixins: list!(tenant_admin_mixins),
        tenant_view_mixins: list!(tenant_view_mixins),
        tenant_middlewares: list!(tenant_middlewares),
        tenant_routers: list!(tenant_routers),
        tenant_key_functions: list!(tenant_key_functions),
        tenant_value_expressions: list!(tenant_value_expressions),
        tenant_in_url: o.tenant_in_url.unwrap_or(d.tenant_in_url),
        strict_parent_lookups: o.strict_parent_lookups.unwrap_or(d.strict_parent_lookups),
        global_periodic_tasks: o.global_periodic_tasks.unwrap_or(d.global_periodic_tasks),
        file_fields: list!(file_fields),
        schema_per_tenant: d.schema_per_tenant,
        tenant_model: o.tenant_model.unwrap_or(d.tenant_model),
        tenant_fields: list!(tenant_fields),
        tenant_parent_fields: list!(tenant_parent_fields),
        tenant_base_classes: list!(tenant_base_classes),
        scoped_managers: list!(scoped_managers),
        global_models: list!(global_models),
        manager_import: o.manager_import.unwrap_or(d.manager_import),
        tenant_cache: o.tenant_cache.unwrap_or(d.tenant_cache),
        tenant_cache_methods: list!(tenant_cache_methods),
        key_helpers: list!(key_helpers),
        key_prefixes: list!(key_prefixes),
        tenant_columns: list!(tenant_columns),
        tenant_tables: list!(tenant_tables),
        tenant_context_types: list!(tenant_context_types),
    };

    let mut excludes: Vec<String> = match o.exclude {
        Some(list) => list,
        None => DEFAULT_EXCLUDES.iter().map(|s| s.to_string()).collect(),
    };
    excludes.extend(o.extend_exclude.unwrap_or_default());
    let exclude = build_globset(&excludes, &file_for_errors, "exclude")?;
    let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    // A glob-list key with its default and its `extend-` twin, compiled.
    let globs = |key: &str, value: Option<Vec<String>>, default: &[&str]| {
        let value = value.unwrap_or_else(|| strings(default));
        build_globset(&ext(key, value), &file_for_errors, key)
    };
    let bypass_allowed = globs(
        "bypass-allowed-paths",
        o.bypass_allowed_paths,
        DEFAULT_BYPASS_ALLOWED,
    )?;
    let settings_modules = globs(
        "settings-modules",
        o.settings_modules,
        DEFAULT_SETTINGS_MODULES,
    )?;
    let test_paths = globs("test-paths", o.test_paths, DEFAULT_TEST_PATHS)?;

    let mut src: Vec<PathBuf> = o
        .src
        .unwrap_or_else(|| vec![".".into()])
        .iter()
        .map(|s| normalize(&root.join(s)))
        .collect();
    src.sort_by_key(|p| std::cmp::Reverse(p.components().count()));

    let mut per_file_ignores = Vec::new();
    for (glob, codes) in o.per_file_ignores.unwrap_or_default() {
        let matcher = Glob::new(&glob)
            .map_err(|e| ConfigError {
                line: None,
                file: file_for_errors.clone(),
                key: Some("per-file-ignores".into()),
                message: format!("invalid glob `{glob}`: {e}"),
            })?
            .compile_matcher();
        per_file_ignores.push((matcher, !glob.contains('/'), codes));
    }

    let target_version = o
        .target_version
        .or_else(|| {
            // As ruff: `requires-python` of the `pyproject.toml` beside the config file (or at
            // the project root).
            let dir = config_file
                .as_deref()
                .and_then(Path::parent)
                .unwrap_or(&root);
            requires_python(dir)
        })
        .unwrap_or(DEFAULT_TARGET_VERSION);
    let baseline = o.baseline.as_ref().map(|b| normalize(&root.join(b)));
    Ok(Settings {
        cache_dir: o.cache_dir.clone().map(PathBuf::from),
        root,
        config_file,
        src,
        exclude,
        respect_gitignore: o.respect_gitignore.unwrap_or(true),
        select_explicit: o.select.is_some(),
        select: o.select.unwrap_or_else(|| vec!["TEN".into()]),
        extend_select: o.extend_select.unwrap_or_default(),
        ignore: o.ignore.unwrap_or_default(),
        preset_ignore: o
            .preset
            .as_deref()
            .map(Conventions::preset_ignores)
            .unwrap_or_default()
            .iter()
            .chain(DEFAULT_OFF_RULES)
            .map(|s| s.to_string())
            .collect(),
        bypass_allowed,
        settings_modules,
        test_paths,
        preset: o.preset,
        max_file_size: o.max_file_size.unwrap_or(DEFAULT_MAX_FILE_SIZE),
        target_version,
        baseline,
        per_file_ignores,
        conventions,
        configured_names: o.names,
        root_warning: None,
    })
}

/// Lexically normalise a path (resolve `.` and `..` without touching the file system).
pub fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

impl Settings {
    /// Is `path` (absolute) excluded by `exclude` / `extend-exclude`? Matches the path relative to
    /// the project root and every one of its components, as ruff does.
    pub fn is_excluded(&self, path: &Path) -> bool {
        if self.exclude.is_empty() {
            return false;
        }
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        if self.exclude.is_match(rel) {
            return true;
        }
        let mut acc = PathBuf::new();
        for comp in rel.components() {
            acc.push(comp);
            if self.exclude.is_match(comp.as_os_str()) || self.exclude.is_match(&acc) {
                return true;
            }
        }
        false
    }

    fn rel<'p>(&self, path: &'p Path) -> &'p Path {
        path.strip_prefix(&self.root).unwrap_or(path)
    }

    /// Is `path` a place where scope bypasses are expected (`bypass-allowed-paths`)?
    pub fn bypass_allowed(&self, path: &Path) -> bool {
        self.bypass_allowed.is_match(self.rel(path))
    }

    /// Is `path` test code (`test-paths`), where [`TEST_QUIET_RULES`] are quiet?
    pub fn is_test_path(&self, path: &Path) -> bool {
        self.test_paths.is_match(self.rel(path))
    }

    /// Is `path` a Django settings module (`settings-modules`)?
    pub fn is_settings_module(&self, path: &Path) -> bool {
        self.settings_modules.is_match(self.rel(path))
    }

    /// Codes ignored for `path` by `per-file-ignores`.
    pub fn per_file_ignored(&self, path: &Path) -> Vec<&str> {
        let rel = path.strip_prefix(&self.root).unwrap_or(path);
        let mut out = Vec::new();
        for (m, basename_too, codes) in &self.per_file_ignores {
            let hit = m.is_match(rel)
                || (*basename_too && path.file_name().is_some_and(|n| m.is_match(n)));
            if hit {
                out.extend(codes.iter().map(String::as_str));
            }
        }
        out
    }

    /// The dotted module name for `path` (absolute), relative to the longest matching `src` root,
    /// else to the project root. `pkg/__init__.py` is `pkg`.
    pub fn module_name(&self, path: &Path) -> String {
        let rel = self
            .src
            .iter()
            .find_map(|root| path.strip_prefix(root).ok())
            .or_else(|| path.strip_prefix(&self.root).ok())
            .unwrap_or(path);
        let mut parts: Vec<String> = rel
            .components()
            .filter_map(|c| match c {
                std::path::Component::Normal(s) => Some(s.to_string_lossy().into_owned()),
                _ => None,
            })
            .collect();
        if let Some(last) = parts.last_mut() {
            for ext in [".py", ".pyi"] {
                if let Some(stem) = last.strip_suffix(ext) {
                    *last = stem.to_string();
                    break;
                }
            }
            if last == "__init__" {
                parts.pop();
            }
        }
        parts.join(".")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requires_python_lower_bounds() {
        for (spec, want) in [
            (">=3.10", Some((3, 10))),
            (">= 3.11, <4", Some((3, 11))),
            ("~=3.12.1", Some((3, 12))),
            ("==3.13.*", Some((3, 13))),
            (">3.9", Some((3, 9))),
            (">=3.8,!=3.9.*,>=3.9", Some((3, 9))),
            ("<4", None),
            ("", None),
            (">=2.7", Some((3, 7))),
            (">=3.99", Some((3, 15))),
            (">=4", Some((3, 15))),
            (">=three", None),
        ] {
            assert_eq!(requires_python_lower_bound(spec), want, "{spec}");
        }
    }

    #[test]
    fn target_versions() {
        assert_eq!(parse_target_version("py37"), Some((3, 7)));
        assert_eq!(parse_target_version("py314"), Some((3, 14)));
        assert_eq!(parse_target_version("py315"), Some((3, 15)));
        for bad in [
            "py36", "py316", "py3", "py307", "3.12", "py3.12", "PY312", "",
        ] {
            assert_eq!(parse_target_version(bad), None, "{bad}");
        }
    }
}
