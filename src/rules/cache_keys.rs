//! Shared by the cache-key rules (TEN301, TEN304): which calls reach Django's shared cache, whether
//! their key carries the tenant, and which calls are counters or locks.

use super::Context;
use crate::facts::{Binding, CacheSite, ExprRef, KeyExpr};
use crate::index::{Index, Resolved, config_matches};

const DJANGO_CACHE: &str = "django.core.cache.cache";
const DJANGO_CACHES: &str = "django.core.cache.caches";

/// Methods that use a key as a counter or a lock: `add` (set only if absent), `incr`/`decr`, and
/// django-redis's `lock`. The value stored under such a key is a number or a flag, never tenant
/// data.
pub const COUNTER_METHODS: &[&str] = &["add", "aadd", "incr", "decr", "aincr", "adecr", "lock"];

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// `cache` (the default cache proxy).
    Cache,
    /// `caches[...]`.
    Caches,
}

/// Does the call reach Django's shared cache, and through which object?
pub fn target(ctx: &Context, site: &CacheSite) -> Option<Target> {
    let index = ctx.index;
    let (expr, subscript) = match &site.receiver {
        ExprRef::Subscript(inner) => (&**inner, true),
        other => (other, false),
    };
    let resolved = index.resolve_at(ctx.file, expr, &site.root);
    // A module-level `default_cache = caches["default"]`, used here or imported.
    if !subscript
        && let Resolved::Symbol { file, name } = &resolved
        && let Some(Binding::Assign(ExprRef::Subscript(inner))) = index.facts(*file).binding(name)
        && index.path_of(&index.resolve_expr(*file, inner)).as_deref() == Some(DJANGO_CACHES)
    {
        return Some(Target::Caches);
    }
    let path = index.path_of(&resolved)?;
    match (path.as_str(), subscript) {
        (DJANGO_CACHE, false) => Some(Target::Cache),
        (DJANGO_CACHES, true) => Some(Target::Caches),
        _ => None,
    }
}

/// Django's page-cache key builders: the key hashes the full URL (host and path).
const PAGE_CACHE_KEYS: &[&str] = &[
    "django.utils.cache.get_cache_key",
    "django.utils.cache.learn_cache_key",
];

/// Is `func` one of the `key-helpers` (resolved through imports; a local helper by its name), or,
/// when every URL carries the tenant (`tenant-in-url`), one of Django's page-cache key builders?
fn is_key_helper(index: &Index, file: u32, func: &ExprRef) -> bool {
    let helpers = &index.conv().key_helpers;
    if index.conv().tenant_in_url
        && index
            .path_of(&index.resolve_expr(file, func))
            .is_some_and(|p| PAGE_CACHE_KEYS.contains(&p.as_str()))
    {
        return true;
    }
    let name = match func {
        ExprRef::Name(n) => n.to_string(),
        ExprRef::Attr(_, a) => a.to_string(),
        _ => return false,
    };
    // A method named by its class (`Svc.get_cache_key`, or the class's dotted path): the call as
    // written (`Svc.get_cache_key(...)`).
    let written = func.dotted();
    let by_name = || {
        helpers.iter().any(|h| {
            (!h.contains('.') && *h == name)
                || written
                    .as_deref()
                    .is_some_and(|w| w.contains('.') && (h == w || h.ends_with(&format!(".{w}"))))
        })
    };
    let resolved = index.resolve_expr(file, func);
    match index.path_of(&resolved) {
        Some(path) => {
            helpers
                .iter()
                .any(|h| config_matches(h, path.rsplit('.').next().unwrap_or(&path), &path))
                // A method (`Svc.get_cache_key`): its name as written.
                || (matches!(func, ExprRef::Attr(..)) && by_name())
        }
        // Not resolvable at module level (a local helper): the name as written.
        None => by_name(),
    }
}

/// The names of a plain `a.b.c` chain, root first.
fn chain(e: &ExprRef) -> Option<Vec<&str>> {
    match e {
        ExprRef::Name(n) => Some(vec![n.as_str()]),
        ExprRef::Attr(v, a) => {
            let mut c = chain(v)?;
            c.push(a.as_str());
            Some(c)
        }
        _ => None,
    }
}

/// Does an interpolated value identify the tenant? It does when its name chain passes through a
/// tenant field (`tenant`, `tenant_id`, `obj.organization_id`, `request.tenant.pk`), starts with
/// one of `tenant-value-expressions` (`connection.schema_name`), or is a key helper's result;
/// a call counts when its receiver or one of its arguments does (`str(tenant.id)`).
pub fn is_tenant_value(index: &Index, file: u32, e: &ExprRef, depth: u32) -> bool {
    if depth > 8 {
        return false;
    }
    let conv = index.conv();
    match e {
        ExprRef::Name(_) | ExprRef::Attr(..) => {
            let is_field = |seg: &str| {
                conv.tenant_fields.iter().any(|f| {
                    let f = f.rsplit('.').next().unwrap_or(f);
                    seg == f || seg.strip_suffix("_id") == Some(f)
                })
            };
            if let Some(c) = chain(e) {
                if c.iter().any(|s| is_field(s)) {
                    return true;
                }
                if conv.tenant_value_expressions.iter().any(|x| {
                    let want: Vec<&str> = x.split('.').collect();
                    c.len() >= want.len() && c[..want.len()] == want[..]
                }) {
                    return true;
                }
            }
            match e {
                ExprRef::Attr(v, _) => is_tenant_value(index, file, v, depth + 1),
                _ => false,
            }
        }
        ExprRef::Subscript(v) => is_tenant_value(index, file, v, depth + 1),
        ExprRef::Call(c) => {
            is_key_helper(index, file, &c.func)
                || c.args
                    .iter()
                    .chain(c.keywords.iter().map(|(_, v)| v))
                    .any(|a| is_tenant_value(index, file, a, depth + 1))
                || is_tenant_value(index, file, &c.func, depth + 1)
        }
        ExprRef::Str(_) | ExprRef::Other => false,
    }
}

/// Does the key carry the tenant: a configured literal prefix, an interpolated tenant value, or
/// a key helper's result? Calls without a key count as carrying it.
pub fn carries_tenant(index: &Index, file: u32, key: &KeyExpr) -> bool {
    match key {
        KeyExpr::NoKey => true,
        KeyExpr::Text { lead, holes } => {
            index
                .conv()
                .key_prefixes
                .iter()
                .any(|p| !p.is_empty() && lead.starts_with(p.as_str()))
                || holes.iter().any(|h| is_tenant_value(index, file, h, 0))
        }
        KeyExpr::Unknown => false,
        KeyExpr::Many(keys) => {
            !keys.is_empty() && keys.iter().all(|k| carries_tenant(index, file, k))
        }
        KeyExpr::Call(func) => is_key_helper(index, file, func),
    }
}

/// Two calls on the same key: the same name (with the same known value), attribute or call.
fn same_key(a: &CacheSite, b: &CacheSite) -> bool {
    match (&a.key_ref, &b.key_ref) {
        (ExprRef::Other, _) | (_, ExprRef::Other) => false,
        // A local name is the same key only where it holds the same known value.
        (ExprRef::Name(x), ExprRef::Name(y)) => {
            x == y && a.key == b.key && !matches!(a.key, KeyExpr::Unknown)
        }
        (x, y) => x == y,
    }
}

/// Is the call a counter or a lock: a counter method, or a call on a key that the same file uses
/// with one (`cache.get(k)` next to `cache.incr(k)`)?
pub fn is_counter(site: &CacheSite, all: &[CacheSite]) -> bool {
    let counter = |s: &CacheSite| COUNTER_METHODS.contains(&s.method.as_str());
    counter(site) || all.iter().any(|s| counter(s) && same_key(site, s))
}
