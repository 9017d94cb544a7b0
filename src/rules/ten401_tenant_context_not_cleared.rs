//! TEN401 tenant-context-not-cleared: middleware that sets the current tenant (a configured
//! setter, `ContextVar.set`, an attribute of a `threading.local()`) without clearing it on every
//! path: in a `finally` block, or in both `process_response` and `process_exception`.
//!
//! Fix (unsafe): when the setter is a whole statement directly in `__call__` (or in the inner
//! function of a function middleware), wrap the rest of the body in `try`/`finally` and call the
//! configured clearer in `finally`.
//!
//! The tenant-state helpers here ([`ops`], [`Scopes`], [`call_matches`]) are shared with TEN402.

use rustc_hash::FxHashMap as HashMap;

use super::Context;
use super::fix_imports::ensure_import;
use crate::diagnostics::{Applicability, Diagnostic, Edit, Fix};
use crate::facts::{
    ArgValue, Binding, CallSite, ExprRef, FileFacts, FunctionFact, Name, RootBinding,
};
use crate::index::{ClassId, ClassLike, Index, Resolved, config_matches, last_component};
use crate::locate::Span;
use crate::registry::{FixAvailability, Rule, RuleMeta};

// ---------------------------------------------------------------- shared helpers (TEN402 too)

/// Which piece of tenant state an operation touches.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum State {
    /// Whatever the configured setters and clearers manage.
    Configured,
    /// A module-level `ContextVar(...)`: (file, name).
    ContextVar(u32, Name),
    /// An attribute of a module-level `threading.local()`: (file, name, attribute).
    ThreadLocal(u32, Name, Name),
}

/// One operation on tenant state.
#[derive(Clone, Debug)]
pub(crate) struct Op<'a> {
    pub state: State,
    /// Sets a tenant (as opposed to clearing, resetting or setting `None`).
    pub sets: bool,
    pub span: Span,
    pub scope: u32,
    pub in_finally: bool,
    /// The call, for configured setters and `ContextVar` operations.
    pub call: Option<&'a CallSite>,
    /// How to show it: `set_current_tenant(...)`, `current_tenant.set(...)`, `_state.tenant = ...`.
    pub label: String,
}

/// Does `call` name one of `list` (bare names match the callee's last name; dotted paths match
/// the resolved callee)? With `strict`, a callee whose root is a local variable (`self.x()`, a
/// parameter, a nested function) never matches.
pub(crate) fn call_matches(ctx: &Context, call: &CallSite, list: &[String], strict: bool) -> bool {
    let name = call.name();
    if name.is_empty() {
        return false;
    }
    let local = matches!(call.root, RootBinding::Local);
    list.iter().any(|cfg| {
        if cfg.contains('.') {
            if local || last_component(cfg) != name {
                return false;
            }
            let r = ctx.index.resolve_at(ctx.file, &call.func, &call.root);
            ctx.index
                .path_of(&r)
                .is_some_and(|p| config_matches(cfg, last_component(&p), &p))
        } else {
            cfg == name && !(strict && local)
        }
    })
}

/// The module-level variable `expr` refers to, with the value it is assigned: `(file, name,
/// call)` when that value is a call.
fn module_var_call<'f>(
    index: &'f Index,
    file: u32,
    expr: &ExprRef,
    root: &RootBinding,
) -> Option<(u32, Name, &'f crate::facts::CallRef)> {
    let Resolved::Symbol { file: f, name } = index.resolve_at(file, expr, root) else {
        return None;
    };
    match index.facts(f).binding(&name) {
        Some(Binding::Assign(ExprRef::Call(call))) => Some((f, name, call)),
        _ => None,
    }
}

/// Is `expr` a module-level `ContextVar(...)`?
pub(crate) fn context_var(
    index: &Index,
    file: u32,
    expr: &ExprRef,
    root: &RootBinding,
) -> Option<(u32, Name)> {
    let (f, name, call) = module_var_call(index, file, expr, root)?;
    match index.resolve_expr(f, &call.func) {
        Resolved::External(p) if p == "contextvars.ContextVar" => Some((f, name)),
        _ => None,
    }
}

fn is_thread_local_class(index: &Index, r: &Resolved) -> bool {
    const LOCALS: &[&str] = &["threading.local", "_threading_local.local"];
    index
        .ancestors(r.clone())
        .any(|r| matches!(&r, Resolved::External(p) if LOCALS.contains(&p.as_str())))
}

/// Is `expr` a module-level `threading.local()` (or an instance of a subclass)?
pub(crate) fn thread_local(
    index: &Index,
    file: u32,
    expr: &ExprRef,
    root: &RootBinding,
) -> Option<(u32, Name)> {
    let (f, name, call) = module_var_call(index, file, expr, root)?;
    is_thread_local_class(index, &index.resolve_expr(f, &call.func)).then_some((f, name))
}

fn dotted_or(expr: &ExprRef, fallback: &str) -> String {
    expr.dotted().unwrap_or_else(|| fallback.to_string())
}

/// A setter call whose first argument is not a value (`set_current_tenant(None)`) clears.
fn sets_a_value(call: &CallSite) -> bool {
    !matches!(call.args.first(), Some(ArgValue::Other))
}

/// Is a thread-local attribute named for the tenant: one of its `_`-separated words is `tenant`
/// (`tenant`, `current_tenant`, `tenant_id`), `schema`, a tenant field, or the tenant model's
/// name (`organization` for `Organization`)?
fn is_tenant_attr(ctx: &Context, attr: &str) -> bool {
    let conv = ctx.conv();
    let model = last_component(&conv.tenant_model).to_ascii_lowercase();
    attr.split('_').any(|w| {
        let w = w.to_ascii_lowercase();
        matches!(w.as_str(), "tenant" | "tenants" | "schema")
            || w == model
            || conv
                .tenant_fields
                .iter()
                .any(|f| w == last_component(f).to_ascii_lowercase())
    })
}

/// Every operation on tenant state in the file: configured setter and clearer calls,
/// `ContextVar.set`/`reset`, and stores to (or deletions of) thread-local attributes.
pub(crate) fn ops<'a>(ctx: &Context<'a>) -> Vec<Op<'a>> {
    let index = ctx.index;
    let conv = ctx.conv();
    let mut out = Vec::new();
    for call in &ctx.sites.calls {
        let name = call.name();
        if call_matches(ctx, call, &conv.tenant_setters, true) {
            out.push(Op {
                state: State::Configured,
                sets: sets_a_value(call),
                span: call.span,
                scope: call.scope,
                in_finally: call.in_finally,
                call: Some(call),
                label: format!("{}(...)", dotted_or(&call.func, name)),
            });
        } else if call_matches(ctx, call, &conv.tenant_clearers, false) {
            out.push(Op {
                state: State::Configured,
                sets: false,
                span: call.span,
                scope: call.scope,
                in_finally: call.in_finally,
                call: Some(call),
                label: format!("{}()", dotted_or(&call.func, name)),
            });
        } else if (name == "set" || name == "reset")
            && let ExprRef::Attr(var, _) = &call.func
            && let Some((f, n)) = context_var(index, ctx.file, var, &call.root)
        {
            out.push(Op {
                state: State::ContextVar(f, n),
                sets: name == "set" && sets_a_value(call),
                span: call.span,
                scope: call.scope,
                in_finally: call.in_finally,
                call: Some(call),
                label: format!("{}.{name}(...)", dotted_or(var, "var")),
            });
        }
    }
    for store in &ctx.sites.attr_stores {
        // A thread-local holds other request state too (`_local.session_id`, `_local.user`):
        // only an attribute named for the tenant is tenant state.
        if !is_tenant_attr(ctx, &store.attr) {
            continue;
        }
        if let Some((f, n)) = thread_local(index, ctx.file, &store.target, &store.root) {
            out.push(Op {
                state: State::ThreadLocal(f, n, store.attr.clone()),
                sets: !store.clears,
                span: store.span,
                scope: store.scope,
                in_finally: store.in_finally,
                call: None,
                label: format!("{}.{}", dotted_or(&store.target, "local"), store.attr),
            });
        }
    }
    out
}

/// Function scopes of one file: parent links by scope id, for cheap nesting tests.
pub(crate) struct Scopes {
    parent: HashMap<u32, u32>,
}

impl Scopes {
    pub fn new(facts: &FileFacts) -> Scopes {
        Scopes {
            parent: facts
                .functions
                .iter()
                .map(|f| (f.scope, f.parent_scope))
                .collect(),
        }
    }

    /// Is scope `inner` the same as, or nested inside, scope `outer`?
    pub fn within(&self, inner: u32, outer: u32) -> bool {
        let mut cur = inner;
        for _ in 0..256 {
            if cur == outer {
                return true;
            }
            match self.parent.get(&cur) {
                Some(&p) => cur = p,
                None => return false,
            }
        }
        false
    }
}

// ---------------------------------------------------------------- the rule

/// A function that handles requests in a middleware.
struct Handler<'a> {
    func: &'a FunctionFact,
    /// The middleware class, for class middleware.
    class: Option<u32>,
    /// The middleware factory, for function middleware.
    outer: Option<&'a FunctionFact>,
    /// `__call__` of a class, or the inner function of a function middleware: wrapping the rest
    /// of its body covers the whole request.
    wraps_request: bool,
}

/// Methods that are not request handling (setup, and the hooks that are meant to clear).
const NOT_HANDLERS: &[&str] = &[
    "__init__",
    "process_response",
    "process_exception",
    "process_template_response",
];

fn has_get_response_param(f: &FunctionFact) -> bool {
    f.params.iter().any(|p| p == "get_response")
}

/// Is class `ci` middleware? `process_request` is enough; a class with only `__call__` must also
/// look like middleware (an `__init__(self, get_response)`, a `*Middleware*` name or base), so
/// that callable classes elsewhere (task classes, decorators) are not taken for middleware.
fn is_middleware_class(ctx: &Context, ci: u32) -> bool {
    let class = &ctx.facts.classes[ci as usize];
    if class.methods.iter().any(|m| m == "process_request") {
        return true;
    }
    if !class.methods.iter().any(|m| m == "__call__") {
        return false;
    }
    if class.name.contains("Middleware")
        || ctx
            .facts
            .functions
            .iter()
            .any(|f| f.class == Some(ci) && f.name == "__init__" && has_get_response_param(f))
    {
        return true;
    }
    // A base named like middleware (`MiddlewareMixin`, a project base middleware).
    let id = ClassId {
        file: ctx.file,
        class: ci,
    };
    ctx.index.ancestors(Resolved::Class(id)).any(|r| match &r {
        Resolved::External(p) => last_component(p).contains("Middleware"),
        Resolved::Class(c) => ctx.index.class(*c).name.contains("Middleware"),
        _ => false,
    })
}

fn handlers<'a>(ctx: &Context<'a>) -> Vec<Handler<'a>> {
    let facts = ctx.facts;
    let mut out = Vec::new();
    let mut middleware_classes: Vec<u32> = Vec::new();
    for (ci, class) in facts.classes.iter().enumerate() {
        if (class
            .methods
            .iter()
            .any(|m| m == "__call__" || m == "process_request"))
            && is_middleware_class(ctx, ci as u32)
        {
            middleware_classes.push(ci as u32);
        }
    }
    for f in &facts.functions {
        match f.class {
            Some(ci)
                if middleware_classes.contains(&ci) && !NOT_HANDLERS.contains(&f.name.as_str()) =>
            {
                out.push(Handler {
                    func: f,
                    class: Some(ci),
                    outer: None,
                    wraps_request: f.name == "__call__" || f.name == "__acall__",
                });
            }
            Some(_) => {}
            None if has_get_response_param(f) => {
                for inner in facts
                    .functions
                    .iter()
                    .filter(|g| g.parent_scope == f.scope && g.scope != f.scope)
                {
                    out.push(Handler {
                        func: inner,
                        class: None,
                        outer: Some(f),
                        wraps_request: true,
                    });
                }
            }
            None => {}
        }
    }
    out
}

/// Does `clear` undo `set`? Configured clearers clear any tenant state; otherwise it must be the
/// same state (a `reset`, a `set(None)`, a restoring `set(previous)`, a store or `del`).
fn undoes(clear: &Op, set: &Op) -> bool {
    (clear.state == State::Configured && !clear.sets) || clear.state == set.state
}

pub static META: RuleMeta = RuleMeta {
    code: "TEN401",
    name: "tenant-context-not-cleared",
    summary: "Middleware that sets the current tenant without clearing it on every path",
    fix: FixAvailability::Sometimes,
    doc: include_str!("../../rules/TEN401.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(TenantContextNotCleared);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let all = ops(ctx);
    if !all.iter().any(|o| o.sets && !o.in_finally) {
        return;
    }
    let handlers = handlers(ctx);
    if handlers.is_empty() {
        return;
    }
    let scopes = Scopes::new(ctx.facts);
    let facts = ctx.facts;
    for set in all.iter().filter(|o| o.sets && !o.in_finally) {
        let Some(h) = handlers
            .iter()
            .find(|h| scopes.within(set.scope, h.func.scope))
        else {
            continue;
        };
        // A clear in a `finally` that runs after the set: in the setter's function or one
        // enclosing it, inside the handler.
        let in_finally = |o: &Op| {
            o.in_finally
                && o.span.start > set.span.start
                && scopes.within(set.scope, o.scope)
                && scopes.within(o.scope, h.func.scope)
                && undoes(o, set)
        };
        if all.iter().any(in_finally) {
            continue;
        }
        let method = |name: &str| {
            h.class.and_then(|ci| {
                facts
                    .functions
                    .iter()
                    .find(|f| f.class == Some(ci) && f.name == name)
            })
        };
        let clears_in = |f: &FunctionFact, need_finally: bool| {
            all.iter().any(|o| {
                (o.in_finally || !need_finally) && scopes.within(o.scope, f.scope) && undoes(o, set)
            })
        };
        // A helper or `process_request` setter, cleared by a `finally` in `__call__`.
        if !h.wraps_request
            && let Some(call) = method("__call__")
            && clears_in(call, true)
        {
            continue;
        }
        let response = method("process_response");
        let exception = method("process_exception");
        let cleared_response = response.is_some_and(|f| clears_in(f, false));
        let cleared_exception = exception.is_some_and(|f| clears_in(f, false));
        if h.class.is_some() && cleared_response && cleared_exception {
            continue;
        }
        report(ctx, out, set, h, cleared_response, cleared_exception);
    }
}

fn report(
    ctx: &Context,
    out: &mut Vec<Diagnostic>,
    set: &Op,
    h: &Handler,
    cleared_response: bool,
    cleared_exception: bool,
) {
    let facts = ctx.facts;
    let owner = match h.class {
        Some(ci) => format!("`{}.{}`", facts.classes[ci as usize].name, h.func.name),
        None => match h.outer {
            Some(outer) => format!("middleware `{}`", outer.name),
            None => format!("middleware function `{}`", h.func.name),
        },
    };
    let what = match &set.state {
        State::Configured => format!("`{}` sets the current tenant", set.label),
        State::ContextVar(..) => format!("`{}` sets a tenant context variable", set.label),
        State::ThreadLocal(..) => format!(
            "`{} = ...` stores request state in a thread-local",
            set.label
        ),
    };
    let mut message = format!(
        "{what} in {owner} without clearing it on every path, so it leaks into the next request on this thread"
    );
    let fix = if h.wraps_request {
        fix_for(ctx, set, h)
    } else {
        None
    };
    if fix.is_none() {
        let advice = if h.class.is_some() && !h.wraps_request {
            match (cleared_response, cleared_exception) {
                (true, false) => {
                    "clear it in `process_exception` too (it is only cleared in `process_response`)"
                        .to_string()
                }
                (false, true) => {
                    "clear it in `process_response` too (it is only cleared in `process_exception`)"
                        .to_string()
                }
                _ => "clear it in both `process_response` and `process_exception`, or set and clear it around `get_response` in `__call__` with `try`/`finally`".to_string(),
            }
        } else {
            match &set.state {
                State::ContextVar(..) => {
                    let var = set.label.trim_end_matches(".set(...)");
                    format!(
                        "keep the token (`token = {var}.set(...)`) and call `{var}.reset(token)` in a `finally` block"
                    )
                }
                State::ThreadLocal(..) => format!(
                    "wrap the rest of the request in `try`/`finally` and `del {}` in `finally`",
                    set.label
                ),
                State::Configured => {
                    let clearer = match set.call.and_then(|c| clearer_for(ctx, c)) {
                        Some((expr, _)) => format!("`{expr}()`"),
                        None => ctx
                            .conv()
                            .tenant_clearers
                            .first()
                            .map_or("the configured clearer".to_string(), |c| {
                                format!("`{}()`", last_component(c))
                            }),
                    };
                    format!(
                        "wrap the rest of the request in `try`/`finally` and call {clearer} in `finally`"
                    )
                }
            }
        };
        message = format!("{message}: {advice}");
    }
    out.push(Diagnostic::new(RULE, message, ctx.path().to_path_buf(), set.span).with_fix(fix));
}

/// The unsafe fix: wrap the rest of the handler's body in `try`/`finally` with the clearer.
fn fix_for(ctx: &Context, set: &Op, h: &Handler) -> Option<Fix> {
    let call = set.call?;
    if set.state != State::Configured || call.scope != h.func.scope {
        return None;
    }
    let (clearer, import) = clearer_for(ctx, call)?;
    let message = format!(
        "Wrap the rest of `{}` in `try`/`finally` and call `{clearer}()` in `finally` (unsafe: a streaming response is consumed after the middleware returns, without a tenant)",
        h.func.name
    );
    let Some(edit_facts) = ctx.edits else {
        // Availability only: the edits are computed from the source when asked for.
        return Some(Fix::new(Applicability::Unsafe, message, Vec::new()));
    };
    let wrap = edit_facts.wraps.get(&call.span.start)?;
    let nl = edit_facts.newline;
    let body = wrap.reindented(&edit_facts.source, nl);
    // A file that ended without a newline keeps ending without one.
    let had_final_newline = edit_facts
        .source
        .get(..wrap.span.end as usize)
        .is_some_and(|t| t.ends_with(['\n', '\r']));
    let end = if had_final_newline { nl } else { "" };
    let content = format!(
        "{indent}try:{nl}{body}{indent}finally:{nl}{indent}{unit}{clearer}(){end}",
        indent = wrap.indent,
        unit = wrap.unit,
    );
    let mut edits = vec![Edit::new(wrap.span, content)];
    edits.extend(import);
    Some(Fix::new(Applicability::Unsafe, message, edits))
}

/// The expression that calls the clearer matching `setter`, and the import it needs.
fn clearer_for(ctx: &Context, setter: &CallSite) -> Option<(String, Option<Edit>)> {
    let index = ctx.index;
    let clearers = &ctx.conv().tenant_clearers;
    let first = clearers.first()?;
    if let Some((module, name)) = first.rsplit_once('.') {
        let (local, edit) = ensure_import(ctx, module, name)?;
        return Some((local, edit));
    }
    // The first clearer that project module `m` defines (or any, for a module outside the project).
    let pick = |m: &str| -> Option<String> {
        if index.file_of_module(m).is_none() {
            return Some(first.clone());
        }
        clearers
            .iter()
            .filter(|c| !c.contains('.'))
            .find(|c| index.resolve_attr(Resolved::Module(m.to_string()), c) != Resolved::Unknown)
            .cloned()
    };
    match &setter.func {
        ExprRef::Name(n) => {
            let mut candidates: Vec<String> = Vec::new();
            // The module the setter is imported from, then the module that defines it.
            let binding = match &setter.root {
                RootBinding::LocalImport(b) => Some(&**b),
                RootBinding::Module => ctx.facts.binding(n),
                RootBinding::Local => None,
            };
            if let Some(Binding::FromImport { module, .. }) = binding {
                candidates.push(index.absolute(ctx.file, module).into_owned());
            }
            match index.resolve_at(ctx.file, &setter.func, &setter.root) {
                Resolved::Symbol { file, .. } => candidates.push(index.module(file).to_string()),
                Resolved::External(p) => {
                    if let Some((m, _)) = p.rsplit_once('.') {
                        candidates.push(m.to_string());
                    }
                }
                _ => {}
            }
            // A project module that defines a clearer, else a library module (assumed to export
            // the first clearer next to its setter).
            let project = candidates
                .iter()
                .filter(|m| index.file_of_module(m).is_some())
                .find_map(|m| pick(m).map(|c| (m, c)));
            let external = || {
                candidates
                    .iter()
                    .find(|m| index.file_of_module(m).is_none())
                    .map(|m| (m, first.clone()))
            };
            if let Some((m, c)) = project.or_else(external) {
                return ensure_import(ctx, m, &c);
            }
            let (m, c) = index.find_symbol(first)?;
            ensure_import(ctx, &m, &c)
        }
        ExprRef::Attr(recv, _) => {
            let recv_text = recv.dotted()?;
            match index.resolve_at(ctx.file, recv, &setter.root) {
                Resolved::Module(m) => pick(&m).map(|c| (format!("{recv_text}.{c}"), None)),
                // An object or module outside the project (`connection.set_tenant`): its clearer
                // is a sibling method.
                Resolved::External(_) => Some((format!("{recv_text}.{first}"), None)),
                Resolved::Symbol { file, name } => {
                    let Some(Binding::Assign(value)) = index.facts(file).binding(&name) else {
                        return None;
                    };
                    let class = index.instance_class(file, value)?;
                    if !matches!(class, ClassLike::Class(_)) {
                        return None;
                    }
                    clearers
                        .iter()
                        .filter(|c| !c.contains('.'))
                        .find(|c| index.like_has_method(&class, c))
                        .map(|c| (format!("{recv_text}.{c}"), None))
                }
                _ => None,
            }
        }
        _ => None,
    }
}
