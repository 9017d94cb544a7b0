//! The rules. One file per rule (`tenNNN_name.rs`); each reads the facts of one file and the
//! project index, and returns diagnostics (with fixes where a safe or unsafe one exists). Rules
//! never touch the file system and never see a syntax tree. Two helper modules serve several
//! rules: `queries` (the QuerySet API, managers, tenant filters) and `settings_lookup` (Django
//! settings modules: `CACHES`, `MIDDLEWARE`, ...).

pub mod queries;
pub mod settings_lookup;

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
pub mod ten401_tenant_context_not_cleared;
pub mod ten402_task_without_tenant_context;
pub mod ten501_tenant_unaware_admin;
pub mod ten601_tenant_middleware_setup;
pub mod ten900_syntax_error;

use crate::config::Settings;
use crate::diagnostics::Diagnostic;
use crate::facts::FileFacts;
use crate::index::Index;
use crate::registry::Rule;

/// Project-wide facts that rules derive from the index and settings, computed once per run on
/// first use (so a rule never walks the whole project per file).
#[derive(Default)]
pub struct Shared {
    pub tenant_caches: std::sync::OnceLock<settings_lookup::TenantCaches>,
    /// The settings install a tenant-aware default file storage (TEN104).
    pub tenant_default_storage: std::sync::OnceLock<bool>,
    /// The project creates a tenant-schemas-celery `CeleryApp` (TEN402).
    pub tenant_celery_app: std::sync::OnceLock<bool>,
    pub tenant_tables: std::sync::OnceLock<
        rustc_hash::FxHashMap<String, ten203_raw_sql_without_tenant_filter::TenantTable>,
    >,
}

/// What a rule may look at while checking one file.
pub struct Context<'a> {
    pub index: &'a Index<'a>,
    /// Index of the file in the project.
    pub file: u32,
    pub facts: &'a FileFacts,
    /// The run's settings (paths: settings modules, places where bypasses are allowed).
    pub settings: &'a Settings,
    /// Project-wide facts derived for the rules, computed once per run on first use.
    pub shared: &'a Shared,
    /// Is a line suppressed for a rule (so fixes can tell which sites will really change)?
    pub suppressed: &'a dyn Fn(Rule, u32) -> bool,
}

impl Context<'_> {
    pub fn conv(&self) -> &crate::config::Conventions {
        self.index.conv
    }
}

/// Run every enabled rule on one file.
pub fn check_file(ctx: &Context, enabled: &[Rule]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let on = |r: Rule| enabled.contains(&r);
    // File problems (TEN900/TEN901) replace the other rules: facts recovered from a file that
    // does not parse still feed the index, but are not trusted for diagnostics in that file.
    if !ctx.facts.problems.is_empty() {
        ten900_syntax_error::check(ctx, &mut out, on(Rule::SyntaxError), on(Rule::IoError));
        return out;
    }
    type Check = fn(&Context, &mut Vec<Diagnostic>);
    const RULES: &[(Rule, Check)] = &[
        (
            Rule::MissingTenantManager,
            ten101_missing_tenant_manager::check,
        ),
        (
            Rule::UnscopedDefaultManager,
            ten102_unscoped_default_manager::check,
        ),
        (Rule::SharedUploadPath, ten104_shared_upload_path::check),
        (Rule::UnscopedQuery, ten201_unscoped_query::check),
        (Rule::ScopeBypass, ten202_scope_bypass::check),
        (
            Rule::RawSqlWithoutTenantFilter,
            ten203_raw_sql_without_tenant_filter::check,
        ),
        (Rule::ImportTimeQueryset, ten204_import_time_queryset::check),
        (Rule::UnprefixedCacheKey, ten301_unprefixed_cache_key::check),
        (
            Rule::TenantAgnosticPageCache,
            ten302_tenant_agnostic_page_cache::check,
        ),
        (
            Rule::IgnoredCacheKeyFunction,
            ten303_ignored_cache_key_function::check,
        ),
        (
            Rule::TenantContextNotCleared,
            ten401_tenant_context_not_cleared::check,
        ),
        (
            Rule::TaskWithoutTenantContext,
            ten402_task_without_tenant_context::check,
        ),
        (Rule::TenantUnawareAdmin, ten501_tenant_unaware_admin::check),
        (
            Rule::TenantMiddlewareSetup,
            ten601_tenant_middleware_setup::check,
        ),
    ];
    for &(rule, check) in RULES {
        if on(rule) {
            check(ctx, &mut out);
        }
    }
    out
}
