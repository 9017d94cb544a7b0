//! Shared by the cache-key rules (TEN301, TEN304): which calls reach Django's shared cache, whether
//! their key carries the tenant, and which calls are counters or locks.

use super::Context;
use crate::facts::{Binding, CacheSite, ExprRef, KeyExpr, ROW_READ_METHODS, RootBinding};
use crate::index::{ClassId, ClassLike, Index, Resolved, TenantReason, config_matches};

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

/// Where a key is read: the file (for name resolution) and the class `self` and `cls` stand
/// for, when the key is built in one of its methods.
#[derive(Clone, Copy)]
pub struct KeyAt {
    pub file: u32,
    pub self_class: Option<ClassId>,
    /// The function scope the key is read in (0: module level or unknown): whose parameters
    /// it may name.
    pub scope: u32,
}

/// How deep keys returned by methods are followed (`self.key` whose property returns
/// `self.other_key()`...).
const MAX_KEY_DEPTH: u32 = 8;

/// `self.m` or `cls.m` in a method of a known class: the project class that defines `m` for it
/// (the class itself or a base), and `m`.
fn self_method<'e>(index: &Index, at: KeyAt, e: &'e ExprRef) -> Option<(ClassId, &'e str)> {
    let ExprRef::Attr(base, m) = e else {
        return None;
    };
    let ExprRef::Name(root) = &**base else {
        return None;
    };
    if root != "self" && root != "cls" {
        return None;
    }
    let owner = index.like_method_owner(&ClassLike::Class(at.self_class?), m)?;
    Some((owner, m.as_str()))
}

/// `self.m` (a property) or `self.m(...)` where method `m` of the class returns a key (see
/// [`crate::facts::KeyReturn`]): does that key carry the tenant, read with `self` standing for
/// the same instance?
fn self_method_key(index: &Index, at: KeyAt, e: &ExprRef, depth: u32) -> bool {
    if depth > MAX_KEY_DEPTH {
        return false;
    }
    let Some((owner, m)) = self_method(index, at, e) else {
        return false;
    };
    let facts = index.facts(owner.file);
    facts
        .functions
        .iter()
        .enumerate()
        .filter(|(_, f)| f.class == Some(owner.class) && f.name == m)
        .filter_map(|(i, f)| {
            let k = facts.key_returns.iter().find(|k| k.function == i as u32)?;
            Some((k, f.scope))
        })
        .any(|(k, scope)| {
            let inner = KeyAt {
                file: owner.file,
                self_class: at.self_class,
                scope,
            };
            carries_tenant_at(index, inner, &k.key, depth + 1)
        })
}

/// `<instance>.<attr>` where the instance is `self` (in a method of a known class) or `C(...)`
/// (a project class), and `__init__` of that class or a base sets `self.<attr>` to a key (see
/// [`crate::facts::KeyAttr`]): does that key carry the tenant, read with `self` standing for
/// the instance?
fn instance_attr_key(index: &Index, at: KeyAt, e: &ExprRef, depth: u32) -> bool {
    if depth > MAX_KEY_DEPTH {
        return false;
    }
    let ExprRef::Attr(base, attr) = e else {
        return false;
    };
    let class = match &**base {
        ExprRef::Name(n) if n == "self" => at.self_class,
        ExprRef::Call(c) => match index.resolve_expr(at.file, &c.func) {
            Resolved::Class(id) => Some(id),
            _ => None,
        },
        _ => None,
    };
    let Some(class) = class else {
        return false;
    };
    index.ancestors(Resolved::Class(class)).any(|r| {
        let Resolved::Class(owner) = r else {
            return false;
        };
        index
            .facts(owner.file)
            .key_attrs
            .iter()
            .filter(|k| k.class == owner.class && k.attr == *attr)
            .any(|k| {
                let inner = KeyAt {
                    file: owner.file,
                    self_class: Some(class),
                    scope: 0,
                };
                carries_tenant_at(index, inner, &k.key, depth + 1)
            })
    })
}

/// Does the helper entry `h` name the method `written` as `Class.method` (or by a dotted path
/// ending so)?
fn names_method(h: &str, written: &str) -> bool {
    h.contains('.') && (h == written || h.ends_with(&format!(".{written}")))
}

/// Is `func` one of the `key-helpers` (resolved through imports; a local helper by its name), or,
/// when every URL carries the tenant (`tenant-in-url`), one of Django's page-cache key builders?
/// `self.m`/`cls.m` in a method is the method of that class (`Svc.get_cache_key`).
fn is_key_helper(index: &Index, at: KeyAt, func: &ExprRef) -> bool {
    let file = at.file;
    let helpers = &index.conv().key_helpers;
    if index.conv().tenant_in_url
        && index
            .path_of(&index.resolve_expr(file, func))
            .is_some_and(|p| PAGE_CACHE_KEYS.contains(&p.as_str()))
    {
        return true;
    }
    if let Some((owner, m)) = self_method(index, at, func) {
        let class = &index.class(owner).name;
        let written = format!("{class}.{m}");
        let path = format!("{}.{m}", index.qualname(owner));
        return helpers
            .iter()
            .any(|h| config_matches(h, m, &path) || names_method(h, &written));
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
                    .is_some_and(|w| w.contains('.') && names_method(h, w))
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

/// Is `m` a model whose primary key names one tenant's row: the tenant model, or a model
/// tenant-owned in a shared schema? Not a model of a `TENANT_APPS` app (schema per tenant): each
/// schema numbers its rows itself, so the same key names a row of every tenant.
fn owned_model(index: &Index, m: ClassId) -> bool {
    let info = index.info(m);
    info.is_model
        && (info.is_tenant_model
            || (info.needs_scoping() && !matches!(info.tenant, Some(TenantReason::TenantApp(_)))))
}

/// `<row>.pk` / `<row>.id` (and `.hex`), where the row is read from a tenant-owned model (or the
/// tenant model) by `get_object_or_404(Model, ...)` or `Model.<manager>...get(...)`/`first()`
/// (a local holding it is replaced by the call when the key is extracted): the primary key of
/// one tenant's row.
fn loaded_row_key(index: &Index, file: u32, e: &ExprRef) -> bool {
    let e = match e {
        ExprRef::Attr(v, a) if a == "hex" => &**v,
        other => other,
    };
    let ExprRef::Attr(row, key) = e else {
        return false;
    };
    if key != "pk" && key != "id" {
        return false;
    }
    let ExprRef::Call(call) = &**row else {
        return false;
    };
    if let Some(model) = call.args.first()
        && index
            .path_of(&index.resolve_expr(file, &call.func))
            .as_deref()
            == Some("django.shortcuts.get_object_or_404")
    {
        return matches!(index.resolve_expr(file, model), Resolved::Class(m) if owned_model(index, m));
    }
    let ExprRef::Attr(_, method) = &call.func else {
        return false;
    };
    ROW_READ_METHODS.contains(&method.as_str())
        && index
            .chain_class(file, &call.func, &RootBinding::Module)
            .is_some_and(|(m, _)| owned_model(index, m))
}

/// `self.pk` / `self.id` (and `.hex` of a UUID key) in a method of a tenant-owned model or of
/// the tenant model: the primary key of one tenant's row, which no other tenant's row shares.
fn own_row_key(index: &Index, at: KeyAt, c: &[&str]) -> bool {
    let Some(class) = at.self_class else {
        return false;
    };
    matches!(c, ["self", "pk" | "id"] | ["self", "pk" | "id", "hex"]) && owned_model(index, class)
}

/// `<param>.pk` / `<param>.id` (and `.hex`) where `<param>` is a parameter of the function the
/// key is read in and holds a row of a model whose primary key names one tenant's row (see
/// [`owned_model`]): the parameter is named after that model (`def share_valid(recipe, share)`
/// with one concrete project model `Recipe`; `export_log` for `ExportLog`), or it is the
/// `instance` of a classmethod or staticmethod of such a model (the signal handler Django code
/// connects with `post_delete.connect(Vpn.post_delete, sender=Vpn)`).
fn param_row_key(index: &Index, at: KeyAt, c: &[&str]) -> bool {
    let [param, key @ ..] = c else {
        return false;
    };
    if !matches!(key, ["pk" | "id"] | ["pk" | "id", "hex"]) || *param == "self" {
        return false;
    }
    let facts = index.facts(at.file);
    let Some(f) = facts.function(at.scope) else {
        return false;
    };
    if !f.params.iter().any(|p| p == *param) {
        return false;
    }
    if *param == "instance"
        && let Some(class) = f.class
        && f.decorators
            .iter()
            .any(|d| matches!(d, ExprRef::Name(n) if n == "classmethod" || n == "staticmethod"))
    {
        return owned_model(
            index,
            ClassId {
                file: at.file,
                class,
            },
        );
    }
    let wanted = param.replace('_', "").to_ascii_lowercase();
    index
        .model_named(&wanted)
        .is_some_and(|m| owned_model(index, m))
}

/// Does an interpolated value identify the tenant? It does when its name chain passes through a
/// tenant field (`tenant`, `tenant_id`, `obj.organization_id`, `request.tenant.pk`), starts with
/// one of `tenant-value-expressions` (`connection.schema_name`), is the primary key of the
/// tenant-owned row a method runs on (`self.pk`) or of one read into a local (`el.pk`), is what a
/// key property or key method of the class gives (`self.cache_key`), or is a key helper's
/// result; a call counts when its receiver or one of its arguments does (`str(tenant.id)`).
pub fn is_tenant_value(index: &Index, at: KeyAt, e: &ExprRef, depth: u32) -> bool {
    if depth > MAX_KEY_DEPTH {
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
                // A `capability-fields` value (`environment.api_key`): unique to one row.
                let capability = |seg: &str| {
                    conv.capability_fields
                        .iter()
                        .any(|f| f.rsplit('.').next() == Some(seg))
                };
                if c.iter().any(|s| is_field(s))
                    || c.last().is_some_and(|s| c.len() > 1 && capability(s))
                    || own_row_key(index, at, &c)
                    || param_row_key(index, at, &c)
                {
                    return true;
                }
                if conv.tenant_value_expressions.iter().any(|x| {
                    let want: Vec<&str> = x.split('.').collect();
                    c.len() >= want.len() && c[..want.len()] == want[..]
                }) {
                    return true;
                }
            }
            if self_method_key(index, at, e, depth)
                || instance_attr_key(index, at, e, depth)
                || loaded_row_key(index, at.file, e)
            {
                return true;
            }
            match e {
                ExprRef::Attr(v, _) => is_tenant_value(index, at, v, depth + 1),
                _ => false,
            }
        }
        ExprRef::Subscript(v) => is_tenant_value(index, at, v, depth + 1),
        ExprRef::Call(c) => {
            is_key_helper(index, at, &c.func)
                || self_method_key(index, at, &c.func, depth)
                || c.args
                    .iter()
                    .chain(c.keywords.iter().map(|(_, v)| v))
                    .any(|a| is_tenant_value(index, at, a, depth + 1))
                || is_tenant_value(index, at, &c.func, depth + 1)
        }
        ExprRef::Str(_) | ExprRef::Other => false,
    }
}

/// Does the key carry the tenant: a configured literal prefix, an interpolated tenant value, a
/// key helper's result, or a call given a tenant value? Calls without a key count as carrying
/// it.
pub fn carries_tenant_at(index: &Index, at: KeyAt, key: &KeyExpr, depth: u32) -> bool {
    match key {
        KeyExpr::NoKey => true,
        KeyExpr::Text { lead, holes } => {
            index
                .conv()
                .key_prefixes
                .iter()
                .any(|p| !p.is_empty() && lead.starts_with(p.as_str()))
                || holes.iter().any(|h| is_tenant_value(index, at, h, depth))
        }
        KeyExpr::Unknown => false,
        KeyExpr::Many(keys) => {
            !keys.is_empty() && keys.iter().all(|k| carries_tenant_at(index, at, k, depth))
        }
        KeyExpr::Call { func, args } => {
            is_key_helper(index, at, func)
                || self_method_key(index, at, func, depth)
                || args
                    .iter()
                    .any(|a| is_tenant_value(index, at, a, depth + 1))
        }
    }
}

/// Does a cache call's key carry the tenant (see [`carries_tenant_at`]), read in the method
/// that makes the call: `self.pk` of a tenant-owned row, `self.<key property>`?
pub fn carries_tenant(index: &Index, file: u32, site: &CacheSite) -> bool {
    let at = KeyAt {
        file,
        self_class: site.method_class.map(|class| ClassId { file, class }),
        scope: site.scope,
    };
    carries_tenant_at(index, at, &site.key, 0)
        || (matches!(site.key, KeyExpr::Unknown)
            && (self_method_key(index, at, &site.key_ref, 0)
                || instance_attr_key(index, at, &site.key_ref, 0)))
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
