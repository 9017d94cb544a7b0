//! TEN302 tenant-agnostic-page-cache: `cache_page(...)` (a decorator, inside
//! `method_decorator(...)`, or wrapping a view in a URLconf) with no tenant-specific
//! `key_prefix`, unless the project's settings give the cache it uses a tenant-aware top-level
//! `KEY_FUNCTION`.
//!
//! `cache_page` evaluates `key_prefix` once, when the decorator is built (at import time for a
//! decorator or a URLconf), and formats it into the key on every request. So only two forms count
//! as tenant-specific: a call to a configured key helper (the project's convention for "this is a
//! tenant key"; a helper returning a lazy string does vary per request) and a literal that starts
//! with a configured key prefix. A variable or any other call at module level is a constant in
//! disguise. Inside a function body (a view factory, a per-request wrapper) the decorator is built
//! per call, so any non-literal `key_prefix` is trusted there.

use super::Context;
use super::settings_lookup::{DEFAULT_ALIAS, TenantCaches, tenant_caches};
use crate::diagnostics::Diagnostic;
use crate::facts::{ArgValue, Binding, CallSite, ExprRef};
use crate::index::{Index, Resolved, config_matches};
use crate::registry::{FixAvailability, Rule, RuleMeta};

const CACHE_PAGE: &str = "django.views.decorators.cache.cache_page";

/// Is `func` (the callee of a `key_prefix=` call) one of the configured key helpers?
fn is_key_helper(index: &Index, file: u32, func: &ExprRef) -> bool {
    let helpers = &index.conv().key_helpers;
    let name = match func {
        ExprRef::Name(n) => n.to_string(),
        ExprRef::Attr(_, a) => a.to_string(),
        _ => return false,
    };
    match index.path_of(&index.resolve_expr(file, func)) {
        Some(path) => helpers
            .iter()
            .any(|h| config_matches(h, path.rsplit('.').next().unwrap_or(&path), &path)),
        // A local helper (defined in the enclosing function): the name as written.
        None => helpers.iter().any(|h| !h.contains('.') && *h == name),
    }
}

fn has_tenant_prefix(index: &Index, s: &str) -> bool {
    index
        .conv()
        .key_prefixes
        .iter()
        .any(|p| s.starts_with(p.as_str()))
}

/// Why a `key_prefix` does not make the page cache tenant-specific.
enum Verdict {
    Missing,
    Constant(String),
    ImportTime(String),
}

/// The string a module-level constant (`PREFIX = "pages"`, here or imported) is bound to.
fn constant_str(ctx: &Context, expr: &ExprRef) -> Option<String> {
    let index = ctx.index;
    let (file, name) = match index.resolve_expr(ctx.file, expr) {
        Resolved::Symbol { file, name } => (file, name),
        _ => return None,
    };
    match index.facts(file).binding(&name) {
        Some(Binding::Assign(ExprRef::Str(s))) => Some(s.clone()),
        _ => None,
    }
}

/// `None` when `key_prefix` is tenant-specific.
fn key_prefix_verdict(ctx: &Context, site: &CallSite) -> Option<Verdict> {
    let index = ctx.index;
    let Some((_, value)) = site.keywords.iter().find(|(k, _)| k == "key_prefix") else {
        return Some(Verdict::Missing);
    };
    match value {
        ArgValue::Str(s) if has_tenant_prefix(index, s) => None,
        // An f-string, `%` or `+` with interpolated values (`{}` marks them): per call inside a
        // function, once at import time elsewhere.
        ArgValue::Str(s) if s.contains("{}") => (site.scope == 0)
            .then(|| Verdict::ImportTime(format!("an interpolated `key_prefix` (`\"{s}\"`)"))),
        ArgValue::Str(s) => Some(Verdict::Constant(format!("`key_prefix=\"{s}\"`"))),
        ArgValue::Ref(ExprRef::Call(call)) if is_key_helper(index, ctx.file, &call.func) => None,
        ArgValue::Ref(r @ (ExprRef::Name(_) | ExprRef::Attr(..)))
            if site.scope == 0 && constant_str(ctx, r).is_some() =>
        {
            let s = constant_str(ctx, r).unwrap_or_default();
            if has_tenant_prefix(index, &s) {
                None
            } else {
                let shown = r.dotted().unwrap_or_default();
                Some(Verdict::Constant(format!(
                    "`key_prefix={shown}` (`\"{s}\"`)"
                )))
            }
        }
        // Built per call inside a function: may well be computed from the request's tenant.
        _ if site.scope != 0 => None,
        ArgValue::Ref(r) => Some(Verdict::ImportTime(match r {
            ExprRef::Call(c) => c.func.dotted().map_or_else(
                || "a computed `key_prefix`".to_string(),
                |d| format!("`key_prefix={d}(...)`"),
            ),
            other => other.dotted().map_or_else(
                || "a computed `key_prefix`".to_string(),
                |d| format!("`key_prefix={d}`"),
            ),
        })),
        _ => Some(Verdict::ImportTime("a computed `key_prefix`".into())),
    }
}

/// The cache alias a `cache_page` call uses: `Some(aliases)` to check, `None` when `cache=` is
/// not a literal (unknown alias).
fn aliases(ctx: &Context, site: &CallSite, caches: &TenantCaches) -> Option<Vec<String>> {
    match site.keywords.iter().find(|(k, _)| k == "cache") {
        None => Some(
            caches
                .page_cache_aliases()
                .into_iter()
                .map(String::from)
                .collect(),
        ),
        Some((_, ArgValue::Str(s))) => Some(vec![s.clone()]),
        Some((_, ArgValue::Ref(r @ (ExprRef::Name(_) | ExprRef::Attr(..))))) => {
            constant_str(ctx, r).map(|s| vec![s])
        }
        Some(_) => None,
    }
}

pub static META: RuleMeta = RuleMeta {
    code: "TEN302",
    name: "tenant-agnostic-page-cache",
    summary: "`cache_page` with no tenant-specific key, so one tenant's page is served to another",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN302.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(TenantAgnosticPageCache);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let index = ctx.index;
    // Django's page-cache key hashes the full URL (host and path): per tenant when every URL
    // carries the tenant (`tenant-in-url`, on with django-tenants).
    if ctx.conv().tenant_in_url {
        return;
    }
    let sites: Vec<&CallSite> = ctx
        .sites
        .calls
        .iter()
        .filter(|c| c.name() == "cache_page")
        .filter(|c| {
            index
                .path_of(&index.resolve_at(ctx.file, &c.func, &c.root))
                .is_some_and(|p| p == CACHE_PAGE)
        })
        .collect();
    if sites.is_empty() {
        return;
    }
    let mut caches = None;
    for site in sites {
        let Some(verdict) = key_prefix_verdict(ctx, site) else {
            continue;
        };
        let caches = caches.get_or_insert_with(|| tenant_caches(ctx));
        let used = aliases(ctx, site, caches);
        let covered = match &used {
            Some(list) => list.iter().any(|a| caches.covers(a)),
            None => caches.covers_every_alias(),
        };
        if covered {
            continue;
        }
        let caches_phrase = match &used {
            Some(list) if list.len() == 1 => {
                format!("the cache `{}` has no tenant-aware `KEY_FUNCTION`", list[0])
            }
            Some(list) => format!(
                "none of the caches {} has a tenant-aware `KEY_FUNCTION`",
                list.iter()
                    .map(|a| format!("`{a}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            None => {
                "`cache=` names a cache that may have no tenant-aware `KEY_FUNCTION`".to_string()
            }
        };
        let why = match verdict {
            Verdict::Missing => "without a tenant-specific `key_prefix`".to_string(),
            Verdict::Constant(v) => format!("with {v}, the same for every tenant"),
            Verdict::ImportTime(v) => {
                format!("with {v}, evaluated once when the decorator is built, not per tenant")
            }
        };
        let message = format!(
            "`cache_page(...)` {why}, and {caches_phrase}: tenants requesting the same URL get the same cached page"
        );
        let target = match &used {
            Some(list) => format!(
                "`CACHES[\"{}\"]`",
                list.first().map_or(DEFAULT_ALIAS, String::as_str)
            ),
            None => "the cache".to_string(),
        };
        let helper = index
            .conv()
            .key_helpers
            .first()
            .map(|h| h.rsplit('.').next().unwrap_or(h).to_string());
        let help = match (helper, index.conv().tenant_key_functions.first()) {
            (Some(h), Some(k)) => format!(
                "Set a tenant-aware `KEY_FUNCTION` (such as `{k}`) at the top level of {target}, or pass `key_prefix={h}(...)`"
            ),
            (Some(h), None) => format!(
                "Pass `key_prefix={h}(...)`, or set a tenant-aware `KEY_FUNCTION` at the top level of {target}"
            ),
            (None, Some(k)) => format!(
                "Set a tenant-aware `KEY_FUNCTION` (such as `{k}`) at the top level of {target}"
            ),
            (None, None) => {
                format!("Set a tenant-aware `KEY_FUNCTION` at the top level of {target}")
            }
        };
        let root_cause = match &used {
            Some(list) => list
                .iter()
                .find_map(|a| caches.root_cause(index, Some(a.as_str()))),
            None => caches.root_cause(index, None),
        };
        out.push(
            Diagnostic::new(RULE, message, ctx.path().to_path_buf(), site.span)
                .with_help(Some(help))
                .with_root_cause(root_cause),
        );
    }
}
