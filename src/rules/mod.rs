//! The rules. One file per rule (`tenNNN_name.rs`), each declaring its metadata and implementing
//! [`RuleCheck`]; [`REGISTRY`] lists them. A rule reads the facts of one file and the project
//! index, and returns diagnostics (with fixes where a safe or unsafe one exists). Rules never touch
//! the file system and never see a syntax tree. Two helper modules serve several
//! rules: `queries` (the QuerySet API, managers, tenant filters) and `settings_lookup` (Django
//! settings modules: `CACHES`, `MIDDLEWARE`, ...).

/// `rule_check!(Name)` in a rule file: the unit struct `Name` that registers the file's `RULE`
/// and its `fn check(ctx, out)` as a [`RuleCheck`].
macro_rules! rule_check {
    ($name:ident) => {
        pub struct $name;

        impl super::RuleCheck for $name {
            fn rule(&self) -> Rule {
                RULE
            }

            fn check(&self, ctx: &Context, out: &mut Vec<Diagnostic>) {
                check(ctx, out)
            }
        }
    };
}

pub mod cache_keys;
pub mod fix_imports;
pub mod queries;
pub mod rust;
pub mod settings_lookup;
pub mod stdlib;

pub mod ten001_misconfigured_name;
pub mod ten100_no_scoped_manager;
pub mod ten101_missing_tenant_manager;
pub mod ten102_unscoped_default_manager;
pub mod ten104_shared_upload_path;
pub mod ten201_unscoped_query;
pub mod ten202_scope_bypass;
pub mod ten203_raw_sql_without_tenant_filter;
pub mod ten204_import_time_queryset;
pub mod ten301_unprefixed_cache_key;
pub mod ten302_tenant_agnostic_page_cache;
pub mod ten303_ignored_cache_key_function;
pub mod ten304_shared_cache_counter;
pub mod ten401_tenant_context_not_cleared;
pub mod ten402_task_without_tenant_context;
pub mod ten403_tenant_session_variable;
pub mod ten500_no_scoped_admin;
pub mod ten501_tenant_unaware_admin;
pub mod ten601_tenant_middleware_setup;
pub mod ten900_syntax_error;
pub mod ten901_io_error;
pub mod ten902_unused_noqa;

use crate::config::Settings;
use crate::diagnostics::Diagnostic;
use crate::facts::{EditFacts, FileFacts, Name};
use crate::index::{FileId, Index};
use crate::registry::Rule;

/// Project-wide facts that rules derive from the index and settings, computed once per run on
/// first use (so a rule never walks the whole project per file).
#[derive(Default)]
pub struct Shared {
    /// Where the scoped manager the TEN101 fix adds comes from (see [`fix_imports`]).
    pub manager_source: std::sync::OnceLock<Option<(String, String)>>,
    /// Where the tenant cache the TEN301 fix routes to is defined.
    pub cache_source: std::sync::OnceLock<Option<(String, String)>>,
    pub tenant_caches: std::sync::OnceLock<settings_lookup::TenantCaches>,
    /// The settings install a tenant-aware default file storage (TEN104).
    pub tenant_default_storage: std::sync::OnceLock<bool>,
    /// The project creates a tenant-schemas-celery `CeleryApp` (TEN402).
    pub tenant_celery_app: std::sync::OnceLock<bool>,
    pub tenant_tables: std::sync::OnceLock<rustc_hash::FxHashMap<String, crate::sql::TenantTable>>,
    /// Whether the project scopes through managers at all (TEN100, TEN101, TEN201).
    pub project_scoping: std::sync::OnceLock<ten100_no_scoped_manager::ProjectScoping>,
    /// Whether any admin class of the project scopes tenant-owned models (TEN500, TEN501).
    pub admin_scoping: std::sync::OnceLock<ten500_no_scoped_admin::AdminScoping>,
    /// A Celery `task_prerun` handler sets the tenant for every task (TEN402).
    pub tenant_task_signal: std::sync::OnceLock<bool>,
    /// The project has a current-tenant mechanism (TEN601).
    pub current_tenant_mechanism: std::sync::OnceLock<bool>,
    /// A settings module registers a tenant middleware outside `MIDDLEWARE` (TEN601).
    pub middleware_registered_elsewhere: std::sync::OnceLock<bool>,
    /// The tasks a Celery beat schedule runs without arguments, by name (TEN201).
    pub periodic_tasks: std::sync::OnceLock<rustc_hash::FxHashSet<String>>,
    /// Names that files call (each file's distinct callee names) or import by name
    /// (`from m import name`), with how many files do: a helper of a periodic job that another
    /// file may call is not the job's alone (TEN201).
    pub called_or_imported: std::sync::OnceLock<rustc_hash::FxHashMap<Name, u32>>,
    /// The Rust services' tables, entities and tenant helpers (TEN201, TEN203, TEN301).
    pub rust_schema: std::sync::OnceLock<rust::RustSchema>,
}

/// A rule: its metadata (declared in its file as `pub static META`) and its check.
///
/// `check` reads the facts of one file and the project index and pushes diagnostics. A fix is
/// described by its applicability and message from the facts alone; its edits are computed only
/// when the engine asks for them (`--fix`, `--diff`, formats that print edits, an editor's code
/// action): the engine then runs the same check with [`Context::edits`] holding the file's edit
/// facts, parsed from its source, and the rule fills in the edits.
pub trait RuleCheck: Sync + Send {
    fn rule(&self) -> Rule;
    fn check(&self, ctx: &Context, out: &mut Vec<Diagnostic>);
}

/// The registration list: one line per rule. Adding a rule is its file, its line here and its
/// page in `rules/`.
pub static REGISTRY: &[&dyn RuleCheck] = &[
    &ten001_misconfigured_name::MisconfiguredName,
    &ten100_no_scoped_manager::NoScopedManager,
    &ten101_missing_tenant_manager::MissingTenantManager,
    &ten102_unscoped_default_manager::UnscopedDefaultManager,
    &ten104_shared_upload_path::SharedUploadPath,
    &ten201_unscoped_query::UnscopedQuery,
    &ten202_scope_bypass::ScopeBypass,
    &ten203_raw_sql_without_tenant_filter::RawSqlWithoutTenantFilter,
    &ten204_import_time_queryset::ImportTimeQueryset,
    &ten301_unprefixed_cache_key::UnprefixedCacheKey,
    &ten302_tenant_agnostic_page_cache::TenantAgnosticPageCache,
    &ten303_ignored_cache_key_function::IgnoredCacheKeyFunction,
    &ten304_shared_cache_counter::SharedCacheCounter,
    &ten401_tenant_context_not_cleared::TenantContextNotCleared,
    &ten402_task_without_tenant_context::TaskWithoutTenantContext,
    &ten403_tenant_session_variable::TenantSessionVariable,
    &ten500_no_scoped_admin::NoScopedAdmin,
    &ten501_tenant_unaware_admin::TenantUnawareAdmin,
    &ten601_tenant_middleware_setup::TenantMiddlewareSetup,
    &ten900_syntax_error::SyntaxError,
    &ten900_syntax_error::IoError,
    &ten902_unused_noqa::UnusedNoqa,
];

/// What a rule may look at while checking one file.
pub struct Context<'a> {
    pub index: &'a Index,
    /// The file being checked.
    pub file: FileId,
    pub facts: &'a FileFacts,
    /// The file's sites (query chains, cache calls, calls, attribute stores), decoded once for
    /// all the rules that check it.
    pub sites: &'a crate::facts::Sites,
    /// The run's settings (paths: settings modules, places where bypasses are allowed).
    pub settings: &'a Settings,
    /// Project-wide facts derived for the rules, computed once per run on first use.
    pub shared: &'a Shared,
    /// Is a line suppressed for a rule (so fixes can tell which sites will really change)?
    pub suppressed: &'a dyn Fn(Rule, u32) -> bool,
    /// The file's edit facts, when the engine asks for fix edits.
    pub edits: Option<&'a EditFacts>,
}

impl Context<'_> {
    pub fn conv(&self) -> &crate::config::Conventions {
        self.index.conv()
    }

    pub fn path(&self) -> &std::path::Path {
        self.index.path(self.file)
    }

    pub fn module(&self) -> &str {
        self.index.module(self.file)
    }

    /// 1-based row of a byte offset in this file.
    pub fn row(&self, offset: u32) -> u32 {
        self.facts.lines.row(offset)
    }
}

/// Run every enabled rule on one file. A file with a problem (TEN900/TEN901) gets only those.
/// A file that parses but uses syntax newer than `target-version` gets TEN900 for each use, and
/// the other rules.
pub fn check_file(ctx: &Context, enabled: &[Rule]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let file_error = !ctx.facts.problems.is_empty();
    // Syntax newer than `target-version`: TEN900, beside the other rules (the file parses).
    let version_syntax = !file_error && !ctx.facts.version_syntax.is_empty();
    for rule in REGISTRY {
        let r = rule.rule();
        let runs = if r.is_file_error() {
            file_error || (version_syntax && r == ten900_syntax_error::RULE)
        } else {
            !file_error
        };
        if runs && enabled.contains(&r) {
            rule.check(ctx, &mut out);
        }
    }
    out
}

/// A fix, from a rule's check: with only its applicability and message when the engine did not
/// ask for edits (`ctx.edits` is `None`), else with the edits `build` computes from the file's
/// edit facts (`None` when they cannot be made after all: no fix).
pub fn fix_with(
    ctx: &Context,
    applicability: crate::diagnostics::Applicability,
    message: String,
    build: impl FnOnce(&EditFacts) -> Option<Vec<crate::diagnostics::Edit>>,
) -> Option<crate::diagnostics::Fix> {
    use crate::diagnostics::Fix;
    match ctx.edits {
        None => Some(Fix::new(applicability, message, Vec::new())),
        Some(edits) => {
            let built = build(edits)?;
            (!built.is_empty()).then(|| Fix::new(applicability, message, built))
        }
    }
}
