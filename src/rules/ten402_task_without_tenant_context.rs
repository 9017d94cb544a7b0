//! TEN402 task-without-tenant-context: a Celery task (`@shared_task`, `@<app>.task`, a task
//! class's `run`) that queries tenant-owned models without establishing a tenant context inside
//! the task: no configured context manager (`with tenant_context(...)`), no setter, no tenant
//! task base class.

use super::Context;
use super::queries::{is_query, manager_at};
use super::ten401_tenant_context_not_cleared::{Scopes, call_matches, ops};
use crate::diagnostics::Diagnostic;
use crate::facts::{Binding, ExprRef, FunctionFact};
use crate::index::{ClassId, Index, Resolved, config_matches, last_component};
use crate::registry::{FixAvailability, Rule, RuleMeta};

/// A Celery task found in the file.
struct Task<'a> {
    func: &'a FunctionFact,
    /// The task class, for `run` methods of task classes.
    class: Option<u32>,
}

/// Does the class `r` resolves to reach a class matching one of `list` (bare names by class
/// name, dotted paths exactly)?
fn reaches_config(index: &Index, r: &Resolved, list: &[String]) -> bool {
    if list.is_empty() {
        return false;
    }
    index.ancestors(r.clone()).any(|r| match &r {
        Resolved::External(p) => list.iter().any(|c| config_matches(c, last_component(p), p)),
        Resolved::Class(c) => {
            let (name, q) = (&index.class(*c).name, index.qualname(*c));
            list.iter().any(|cfg| config_matches(cfg, name, q))
        }
        _ => false,
    })
}

/// A string naming a class (`"proj.tasks:TenantTask"`, `"proj.tasks.TenantTask"`): configured?
fn str_names_config(s: &str, list: &[String]) -> bool {
    let path = s.replace(':', ".");
    list.iter()
        .any(|c| config_matches(c, last_component(&path), &path))
}

/// Does class expression `r` reach a Celery class named `name` (`Celery`, `Task`)?
fn reaches_celery(index: &Index, r: &Resolved, name: &str) -> bool {
    index.ancestors(r.clone()).any(
        |r| matches!(&r, Resolved::External(p) if p.starts_with("celery.") && last_component(p) == name),
    )
}

/// Apps whose tasks all run in the tenant's context (tenant-schemas-celery).
const TENANT_CELERY_APPS: &[&str] = &["tenant_schemas_celery.app.CeleryApp"];

fn is_tenant_celery_app(index: &Index, class: &Resolved) -> bool {
    index
        .ancestors(class.clone())
        .any(|r| matches!(&r, Resolved::External(p) if TENANT_CELERY_APPS.contains(&p.as_str())))
}

/// Does the project create a tenant Celery app (`app = CeleryApp(...)`)? Then `@shared_task`s,
/// which bind to the current app, are tenant tasks too. One scan per run.
fn project_has_tenant_celery_app(ctx: &Context) -> bool {
    *ctx.shared.tenant_celery_app.get_or_init(|| {
        let index = ctx.index;
        index.files().any(|(fi, f)| {
            f.bindings.iter().any(|b| match &b.binding {
                Binding::Assign(ExprRef::Call(call)) => {
                    is_tenant_celery_app(index, &index.resolve_expr(fi, &call.func))
                }
                _ => false,
            })
        })
    })
}

/// Celery signals sent in the worker before every task runs.
const PRERUN_SIGNALS: &[&str] = &[
    "celery.signals.task_prerun",
    "celery.signals.before_task_publish",
];

/// Does a function set the current tenant: a call to one of `tenant-setters` in its body?
fn sets_tenant(ctx: &Context, calls: &[crate::facts::CallSite], scope: u32) -> bool {
    let setters = &ctx.conv().tenant_setters;
    calls.iter().any(|c| {
        c.scope == scope
            && setters
                .iter()
                .any(|s| config_matches(s, c.name(), c.name()) || last_component(s) == c.name())
    })
}

/// Does the project connect a handler to Celery's `task_prerun` signal that sets the current
/// tenant (`@task_prerun.connect` on it, or `task_prerun.connect(handler)`)? Then every task
/// runs with a tenant context. One scan per run.
fn project_has_tenant_signal(ctx: &Context) -> bool {
    *ctx.shared.tenant_task_signal.get_or_init(|| {
        let index = ctx.index;
        let is_prerun_connect = |file: u32, e: &ExprRef| {
            let e = match e {
                ExprRef::Call(c) => &c.func,
                other => other,
            };
            matches!(e, ExprRef::Attr(signal, m) if m == "connect"
                && index
                    .path_of(&index.resolve_expr(file, signal))
                    .is_some_and(|p| PRERUN_SIGNALS.contains(&p.as_str())))
        };
        index.files().any(|(fi, facts)| {
            let decorated: Vec<u32> = facts
                .functions
                .iter()
                .filter(|f| f.decorators.iter().any(|d| is_prerun_connect(fi, d)))
                .map(|f| f.scope)
                .collect();
            // Only a file with such a handler or a `connect(...)` call has its calls decoded.
            if decorated.is_empty() && !facts.calls_name("connect") {
                return false;
            }
            let calls = facts.sites().calls;
            decorated.iter().any(|&scope| sets_tenant(ctx, &calls, scope))
                || calls.iter().any(|c| {
                    c.name() == "connect"
                        && is_prerun_connect(fi, &c.func)
                        && matches!(c.args.first(), Some(crate::facts::ArgValue::Ref(ExprRef::Name(h)))
                            if facts.functions.iter().any(|f| f.name == *h && sets_tenant(ctx, &calls, f.scope)))
                })
        })
    })
}

/// What a `@...task` decorator's object is: a Celery app (and whether the app's `task_cls` is a
/// tenant task class), or not.
enum App {
    NotCelery,
    Celery { tenant_task_cls: bool },
}

fn celery_app(index: &Index, file: u32, obj: &ExprRef) -> App {
    let bases = &index.conv().task_base_classes;
    match index.resolve_expr(file, obj) {
        // `celery.current_app`, `from celery import current_app`.
        Resolved::External(p) if p.starts_with("celery.") => App::Celery {
            tenant_task_cls: false,
        },
        Resolved::Symbol { file: f, name } => {
            let Some(Binding::Assign(ExprRef::Call(call))) = index.facts(f).binding(&name) else {
                return App::NotCelery;
            };
            let app_class = index.resolve_expr(f, &call.func);
            // tenant-schemas-celery's `CeleryApp` makes every task of the app a `TenantTask`.
            if is_tenant_celery_app(index, &app_class) {
                return App::Celery {
                    tenant_task_cls: true,
                };
            }
            if !reaches_celery(index, &app_class, "Celery") {
                return App::NotCelery;
            }
            let tenant_task_cls = call.keywords.iter().any(|(k, v)| {
                k == "task_cls"
                    && match v {
                        ExprRef::Str(s) => str_names_config(s, bases),
                        other => reaches_config(index, &index.resolve_expr(f, other), bases),
                    }
            });
            App::Celery { tenant_task_cls }
        }
        _ => App::NotCelery,
    }
}

/// Is `decorator` a Celery task decorator? `Some(true)` when it also gives the task a tenant
/// base class (`base=TenantTask`, or an app whose `task_cls` is one).
pub(crate) fn task_decorator(ctx: &Context, decorator: &ExprRef) -> Option<bool> {
    let (index, file) = (ctx.index, ctx.file);
    let bases = &index.conv().task_base_classes;
    let (func, keywords) = match decorator {
        ExprRef::Call(c) => (&c.func, c.keywords.as_slice()),
        other => (other, &[][..]),
    };
    let tenant_base = keywords
        .iter()
        .any(|(k, v)| k == "base" && reaches_config(index, &index.resolve_expr(file, v), bases));
    let resolved = index.resolve_expr(file, func);
    match (&resolved, func) {
        (Resolved::External(p), _)
            if p.starts_with("celery.")
                && matches!(last_component(p), "shared_task" | "task" | "periodic_task") =>
        {
            Some(
                tenant_base || project_has_tenant_celery_app(ctx) || project_has_tenant_signal(ctx),
            )
        }
        // `@shared_task` that cannot be resolved (a star import, a project wrapper of that name).
        (Resolved::Unknown | Resolved::Symbol { .. }, _)
            if func
                .dotted()
                .is_some_and(|d| last_component(&d) == "shared_task") =>
        {
            Some(
                tenant_base || project_has_tenant_celery_app(ctx) || project_has_tenant_signal(ctx),
            )
        }
        (_, ExprRef::Attr(obj, attr)) if attr == "task" => match celery_app(index, file, obj) {
            App::Celery { tenant_task_cls } => {
                Some(tenant_base || tenant_task_cls || project_has_tenant_signal(ctx))
            }
            App::NotCelery => None,
        },
        _ => None,
    }
}

/// The tasks of the file, with those that get a tenant base class left out.
fn tasks<'a>(ctx: &Context<'a>) -> Vec<Task<'a>> {
    let index = ctx.index;
    let facts = ctx.facts;
    let bases = &ctx.conv().task_base_classes;
    let mut out = Vec::new();
    // Task classes: bases reaching `celery.Task` (or a project/library class whose last name is
    // `Task`), not reaching a configured tenant task base.
    let mut task_classes: Vec<u32> = Vec::new();
    for (ci, class) in facts.classes.iter().enumerate() {
        if !class.methods.iter().any(|m| m == "run") {
            continue;
        }
        let id = Resolved::Class(ClassId {
            file: ctx.file,
            class: ci as u32,
        });
        if reaches_config(index, &id, bases) {
            continue;
        }
        let is_task = class.bases.iter().any(|b| {
            let r = index.resolve_expr(ctx.file, b);
            reaches_celery(index, &r, "Task")
                || matches!(&r, Resolved::External(p)
                    if last_component(p) == "Task" && !p.starts_with("asyncio."))
        });
        if is_task {
            task_classes.push(ci as u32);
        }
    }
    for f in &facts.functions {
        if let Some(ci) = f.class {
            if f.name == "run" && task_classes.contains(&ci) {
                out.push(Task {
                    func: f,
                    class: Some(ci),
                });
            }
            continue;
        }
        let mut is_task = false;
        let mut tenant_base = false;
        for d in &f.decorators {
            if let Some(b) = task_decorator(ctx, d) {
                is_task = true;
                tenant_base |= b;
            }
        }
        if is_task && !tenant_base {
            out.push(Task {
                func: f,
                class: None,
            });
        }
    }
    out
}

pub static META: RuleMeta = RuleMeta {
    code: "TEN402",
    name: "task-without-tenant-context",
    summary: "A Celery task that queries tenant-owned models without establishing a tenant context",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN402.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(TaskWithoutTenantContext);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let facts = ctx.facts;
    if ctx.sites.query_sites.is_empty() || facts.functions.is_empty() {
        return;
    }
    let tasks = tasks(ctx);
    if tasks.is_empty() {
        return;
    }
    let index = ctx.index;
    let conv = ctx.conv();
    let scopes = Scopes::new(facts);

    // Where a tenant context is established: configured context managers (and deliberate
    // bypasses such as `scopes_disabled()`) as `with` items, setter calls, `ContextVar.set`,
    // thread-local stores.
    let mut established: Vec<u32> = ctx
        .sites
        .calls
        .iter()
        .filter(|c| {
            c.with_item
                && (call_matches(ctx, c, &conv.tenant_context_managers, false)
                    || call_matches(ctx, c, &conv.bypass_calls, false))
        })
        .map(|c| c.scope)
        .collect();
    established.extend(ops(ctx).iter().filter(|o| o.sets).map(|o| o.scope));

    for task in &tasks {
        if established
            .iter()
            .any(|&s| scopes.within(s, task.func.scope))
        {
            continue;
        }
        // The first query on a tenant-owned model in the task (nested functions included).
        let query = ctx.sites.query_sites.iter().find_map(|site| {
            if !scopes.within(site.scope, task.func.scope) {
                return None;
            }
            let Resolved::Class(model) = index.resolve_at(ctx.file, &site.receiver, &site.root)
            else {
                return None;
            };
            let info = index.info(model);
            if !info.needs_scoping() {
                return None;
            }
            let (_, scoped, _) = manager_at(info, site)?;
            if !is_query(index, info, site) {
                return None;
            }
            // Only scoped managers depend on the tenant context (an unscoped query is TEN201's,
            // and a context would not change it); with a schema per tenant, every query does.
            if !scoped && !conv.schema_per_tenant {
                return None;
            }
            Some((site, model))
        });
        let Some((site, model)) = query else {
            continue;
        };
        let name = match task.class {
            Some(ci) => format!("{}.run", facts.classes[ci as usize].name),
            None => task.func.name.to_string(),
        };
        let receiver = site
            .receiver
            .dotted()
            .unwrap_or_else(|| index.class(model).name.to_string());
        let mut ways: Vec<String> = Vec::new();
        if let Some(cm) = conv.tenant_context_managers.first() {
            ways.push(format!("`with {}(...)`", last_component(cm)));
        }
        if let Some(s) = conv.tenant_setters.first() {
            ways.push(format!("`{}(...)`", last_component(s)));
        }
        if let Some(b) = conv.task_base_classes.first() {
            ways.push(format!("`base={}`", last_component(b)));
        }
        let advice = match ways.len() {
            0 => String::new(),
            1 => format!(": establish one with {}", ways[0]),
            _ => format!(
                ": establish one with {} or {}",
                ways[..ways.len() - 1].join(", "),
                ways[ways.len() - 1]
            ),
        };
        let message = format!(
            "Celery task `{name}` queries tenant-owned model `{}` (`{receiver}.{}.{}()`) without establishing a tenant context{advice}",
            index.class(model).name,
            site.manager,
            site.method
        );
        out.push(Diagnostic::new(
            RULE,
            message,
            ctx.path().to_path_buf(),
            task.func.name_span,
        ));
    }
}
