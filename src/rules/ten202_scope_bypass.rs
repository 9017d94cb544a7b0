//! TEN202 scope-bypass: an explicit escape from tenant scoping outside the places where one is
//! expected (`bypass-allowed-paths`: migrations, management commands and tests by default).
//!
//! Three forms:
//! - a query through a manager named in `bypass-managers` on a tenant-owned model
//!   (`Invoice.all_objects.filter(tenant=t)`), unless that manager is itself scoped; without a
//!   tenant filter the query is TEN201's, reported once;
//! - a call named in `bypass-calls`: a function (`scopes_disabled()`, as a `with` item, a decorator
//!   or a plain call) resolved through imports, or a method on a tenant-owned model's manager chain
//!   (`Invoice.objects.unscoped()`);
//! - a tenant clearer (`tenant-clearers`, e.g. `unset_current_tenant()`) outside a `finally:`
//!   block, followed in the same function by a query on a tenant-owned model, with no tenant set
//!   again in between.

use rustc_hash::FxHashSet as HashSet;

use super::Context;
use super::queries::{is_query, tenant_filtered};
use crate::diagnostics::Diagnostic;
use crate::facts::{ArgValue, CallSite, ExprRef, QuerySite, RootBinding};
use crate::index::{ClassId, Resolved, config_matches, last_component};
use crate::registry::{FixAvailability, Rule, RuleMeta};

const ALLOWED: &str = "bypasses belong only in `bypass-allowed-paths` (migrations, management commands and tests by default)";

pub static META: RuleMeta = RuleMeta {
    code: "TEN202",
    name: "scope-bypass",
    summary: "An explicit escape from tenant scoping outside the places where one is expected",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN202.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(ScopeBypass);

/// Not run in `bypass-allowed-paths` (the engine's `rules_for`).
fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    // Chains reported once, even when a bypass manager and a bypass method meet in one chain.
    let mut reported: HashSet<u32> = HashSet::default();
    bypass_managers(ctx, out, &mut reported);
    bypass_calls(ctx, out, &mut reported);
    clearers(ctx, out);
}

/// The tenant-owned model a query site's receiver resolves to.
fn tenant_model(ctx: &Context, site: &QuerySite) -> Option<ClassId> {
    match ctx.index.resolve_at(ctx.file, &site.receiver, &site.root) {
        Resolved::Class(c) if ctx.index.info(c).needs_scoping() => Some(c),
        _ => None,
    }
}

fn shown_receiver(ctx: &Context, site: &QuerySite, model: ClassId) -> String {
    site.receiver
        .dotted()
        .unwrap_or_else(|| ctx.index.class(model).name.to_string())
}

// ------------------------------------------------------------------ bypass managers

fn bypass_managers(ctx: &Context, out: &mut Vec<Diagnostic>, reported: &mut HashSet<u32>) {
    let conv = ctx.conv();
    if conv.bypass_managers.is_empty() {
        return;
    }
    for site in &ctx.sites.query_sites {
        if !conv
            .bypass_managers
            .iter()
            .any(|m| last_component(m) == site.manager.as_str())
        {
            continue;
        }
        let Some(model) = tenant_model(ctx, site) else {
            continue;
        };
        let info = ctx.index.info(model);
        // A manager that is itself scoped (a soft-delete `all_objects` built on the tenant
        // manager) is no escape from tenant scoping.
        if info
            .managers
            .iter()
            .any(|m| m.name == site.manager && m.scoped)
        {
            continue;
        }
        // A model with no scoped manager has no scoping to escape: its `all_objects` is a
        // soft-delete bypass (plane's), and an unfiltered query through it is TEN201's.
        if !info.managers.iter().any(|m| m.scoped) {
            continue;
        }
        if !is_query(ctx.index, info, site) {
            continue;
        }
        // A tenant filter in the chain does not make it less of an escape: which tenant it names
        // is up to this code, not the scope. Without one, TEN201 reports the very same query (an
        // unscoped manager, no tenant filter), and one diagnostic per query is enough: a
        // `# noqa: TEN201` there must not make a second one appear.
        let unscoped_manager = info
            .managers
            .iter()
            .any(|m| m.name == site.manager && !m.scoped);
        if unscoped_manager
            && !tenant_filtered(
                ctx.index,
                ctx.file,
                &ctx.sites.query_sites,
                info,
                site,
                &ctx.conv().tenant_fields,
                super::queries::trust_params(ctx),
            )
        {
            continue;
        }
        if !reported.insert(site.span.start) {
            continue;
        }
        let receiver = shown_receiver(ctx, site, model);
        let model_name = &ctx.index.class(model).name;
        out.push(
            Diagnostic::new(
                RULE,
                format!(
                    "`{receiver}.{}.{}()` escapes tenant scoping through bypass manager `{}` of tenant-owned model `{model_name}`; {ALLOWED}",
                    site.manager, site.method, site.manager
                ),
                ctx.path().to_path_buf(),
                site.span,
            )
            .with_help(Some(
                "Query through the tenant-scoped manager inside the tenant's context, or move this code to a management command"
                    .into(),
            )),
        );
    }
}

// ------------------------------------------------------------------ bypass calls

/// Does the callee resolve (through imports) to something a configured name in `list` names?
fn resolves_to(ctx: &Context, call: &CallSite, list: &[String]) -> Option<String> {
    let resolved = ctx.index.resolve_at(ctx.file, &call.func, &call.root);
    let path = ctx.index.path_of(&resolved)?;
    list.iter()
        .any(|c| config_matches(c, last_component(&path), &path))
        .then_some(path)
}

/// Builtins a `with` block may call without querying anything.
const PLAIN_BUILTINS: &[&str] = &[
    "list",
    "tuple",
    "set",
    "dict",
    "len",
    "str",
    "int",
    "float",
    "bool",
    "sorted",
    "min",
    "max",
    "sum",
    "any",
    "all",
    "isinstance",
    "getattr",
    "hasattr",
    "range",
    "enumerate",
    "zip",
];

/// Does a `with` body (whose every call goes through a module-level or imported name, see
/// [`crate::facts::WithBody`]) query nothing through a scoped manager? Every query chain in it
/// is on a model with no scoped manager (`User`, a global lookup table), and every other call
/// is one of Django's query expressions (`Q`, `F`, `Count`...), `get_user_model()` or a plain
/// builtin. A call of a project function, or anything else the rule cannot see into, may query
/// scoped models: the bypass is then reported.
fn bypasses_nothing(ctx: &Context, span: crate::locate::Span) -> bool {
    let index = ctx.index;
    let within = |s: crate::locate::Span| s.start >= span.start && s.end <= span.end;
    let unscoped_model = |c: ClassId| {
        let info = index.info(c);
        info.is_model && !info.managers.iter().any(|m| m.scoped)
    };
    let sites_ok = ctx
        .sites
        .query_sites
        .iter()
        .filter(|s| within(s.span))
        .all(|s| matches!(index.resolve_at(ctx.file, &s.receiver, &s.root), Resolved::Class(c) if unscoped_model(c)));
    sites_ok
        && ctx.sites.calls.iter().filter(|c| within(c.span)).all(|c| {
            if matches!(c.root, RootBinding::Local) {
                return false;
            }
            // A query chain: `Model.<manager>...`.
            if let Some((m, _)) = index.chain_class(ctx.file, &c.func, &c.root)
                && index.info(m).is_model
            {
                return unscoped_model(m);
            }
            match index.path_of(&index.resolve_at(ctx.file, &c.func, &c.root)) {
                Some(path) => {
                    path.starts_with("django.db.models.")
                        || path == "django.contrib.auth.get_user_model"
                }
                None => matches!(&c.func, ExprRef::Name(n) if PLAIN_BUILTINS.contains(&n.as_str())),
            }
        })
}

/// In `Model.<manager>...` chains: the tenant-owned model and its manager attribute.
fn model_manager_in_chain(ctx: &Context, expr: &ExprRef, root: &RootBinding) -> Option<ClassId> {
    if matches!(root, RootBinding::Local) {
        return None;
    }
    let (c, attr) = ctx.index.chain_class(ctx.file, expr, root)?;
    let info = ctx.index.info(c);
    let is_manager = matches!(attr.as_str(), "_default_manager" | "_base_manager")
        || info.managers.iter().any(|m| m.name == *attr);
    (info.is_model && is_manager && info.needs_scoping()).then_some(c)
}

/// django-scopes' `scope(site=None)`: a scope whose dimension is `None` disables that dimension.
fn none_scopes(ctx: &Context, out: &mut Vec<Diagnostic>, reported: &mut HashSet<u32>) {
    let managers = &ctx.conv().tenant_context_managers;
    for call in &ctx.sites.calls {
        let Some((dimension, _)) = call.keywords.iter().find(|(_, v)| *v == ArgValue::None) else {
            continue;
        };
        if !managers.iter().any(|c| last_component(c) == call.name())
            || resolves_to(ctx, call, managers).is_none()
            || !reported.insert(call.span.start)
        {
            continue;
        }
        let shown = call
            .func
            .dotted()
            .unwrap_or_else(|| call.name().to_string());
        out.push(
            Diagnostic::new(
                RULE,
                format!(
                    "`{shown}({dimension}=None)` disables tenant scoping on `{dimension}` for the whole block; {ALLOWED}"
                ),
                ctx.path().to_path_buf(),
                call.span,
            )
            .with_help(Some("Activate the tenant's scope instead".into())),
        );
    }
}

fn bypass_calls(ctx: &Context, out: &mut Vec<Diagnostic>, reported: &mut HashSet<u32>) {
    none_scopes(ctx, out, reported);
    let list = &ctx.conv().bypass_calls;
    if list.is_empty() {
        return;
    }
    for call in &ctx.sites.calls {
        let name = call.name();
        if name.is_empty() || !list.iter().any(|c| last_component(c) == name) {
            continue;
        }
        // `scopes_disabled()`, `django_scopes.scopes_disabled()`: the function, resolved.
        if resolves_to(ctx, call, list).is_some() {
            // A task queue's task runs outside any request, like a management command, and
            // scopes itself once it has loaded its scope object.
            if !call.in_decorator && super::queries::in_task(ctx, call.scope) {
                continue;
            }
            // A `with` block with nothing scoped in it: the bypass changes nothing.
            if let Some(body) = &call.with_body
                && !body.local_calls
                && bypasses_nothing(ctx, body.span)
            {
                continue;
            }
            if !reported.insert(call.span.start) {
                continue;
            }
            let how = if call.with_item {
                "`with` block"
            } else if call.in_decorator {
                "decorated function"
            } else {
                "call"
            };
            let shown = call.func.dotted().unwrap_or_else(|| name.to_string());
            out.push(
                Diagnostic::new(
                    RULE,
                    format!(
                        "`{shown}()` disables tenant scoping for the whole {how}; {ALLOWED}"
                    ),
                    ctx.path().to_path_buf(),
                    call.span,
                )
                .with_help(Some(
                    "Activate the tenant's scope instead, or move this code to a management command"
                        .into(),
                )),
            );
            continue;
        }
        // `Invoice.objects.unscoped()`, `Invoice.objects.filter(...).with_scopes_disabled()`.
        let ExprRef::Attr(receiver, _) = &call.func else {
            continue;
        };
        // A chain through calls (`Post.objects.filter(...).unscoped()`) has no root binding of
        // its own; the query site that starts where it starts has.
        let root = match (&call.root, &**receiver) {
            (RootBinding::Local, ExprRef::Call(_)) => match ctx
                .sites
                .query_sites
                .iter()
                .find(|s| s.span.start == call.span.start)
            {
                Some(site) => &site.root,
                None => continue,
            },
            (root, _) => root,
        };
        let Some(model) = model_manager_in_chain(ctx, receiver, root) else {
            continue;
        };
        if !reported.insert(call.span.start) {
            continue;
        }
        let model_name = &ctx.index.class(model).name;
        out.push(
            Diagnostic::new(
                RULE,
                format!(
                    "`.{name}()` escapes tenant scoping on tenant-owned model `{model_name}`; {ALLOWED}"
                ),
                ctx.path().to_path_buf(),
                call.span,
            )
            .with_help(Some(
                "Keep the scoped queryset inside the tenant's context, or move this code to a management command"
                    .into(),
            )),
        );
    }
}

// ------------------------------------------------------------------ tenant clearers

fn clearers(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let conv = ctx.conv();
    if conv.tenant_clearers.is_empty() {
        return;
    }
    let facts = ctx.facts;
    let sites = ctx.sites;
    let is_named = |call: &CallSite, list: &[String]| {
        let n = call.name();
        !n.is_empty() && list.iter().any(|c| last_component(c) == n)
    };
    for call in &sites.calls {
        if call.in_finally || !is_named(call, &conv.tenant_clearers) {
            continue;
        }
        if resolves_to(ctx, call, &conv.tenant_clearers).is_none() {
            continue;
        }
        // Calls that establish a tenant again after the clearer.
        let resets: Vec<&CallSite> = sites
            .calls
            .iter()
            .filter(|c| {
                c.span.start >= call.span.end
                    && (is_named(c, &conv.tenant_setters)
                        || is_named(c, &conv.tenant_context_managers))
            })
            .collect();
        let follows = sites.query_sites.iter().find(|site| {
            if site.span.start < call.span.end {
                return false;
            }
            let in_scope = if call.scope == 0 {
                site.scope == 0
            } else {
                facts.scope_within(site.scope, call.scope)
            };
            if !in_scope {
                return false;
            }
            let Some(model) = tenant_model(ctx, site) else {
                return false;
            };
            let info = ctx.index.info(model);
            if !is_query(ctx.index, info, site)
                || tenant_filtered(
                    ctx.index,
                    ctx.file,
                    &ctx.sites.query_sites,
                    info,
                    site,
                    &ctx.conv().tenant_fields,
                    super::queries::trust_params(ctx),
                )
            {
                return false;
            }
            !resets
                .iter()
                .any(|r| r.span.start < site.span.start && facts.scope_within(site.scope, r.scope))
        });
        let Some(site) = follows else {
            continue;
        };
        let model = tenant_model(ctx, site).expect("checked above");
        let shown = call
            .func
            .dotted()
            .unwrap_or_else(|| call.name().to_string());
        out.push(
            Diagnostic::new(
                RULE,
                format!(
                    "`{shown}()` clears the current tenant, then `{}.{}.{}()` below it queries tenant-owned model `{}` with no tenant set; {ALLOWED}",
                    shown_receiver(ctx, site, model),
                    site.manager,
                    site.method,
                    ctx.index.class(model).name
                ),
                ctx.path().to_path_buf(),
                call.span,
            )
            .with_help(Some(
                "Set the tenant the queries are for, filter them by tenant, or clear the tenant only in a `finally:` block"
                    .into(),
            )),
        );
    }
}
