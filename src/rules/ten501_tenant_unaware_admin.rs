//! TEN501 tenant-unaware-admin: a `ModelAdmin` registered for a tenant-owned model
//! (`admin.site.register(Model, Admin)`, `@admin.register(Model)`) that neither inherits a
//! configured tenant admin mixin nor defines (or inherits) `get_queryset`. Registering without an
//! admin class gives the default `ModelAdmin`, which is flagged too.

use super::Context;
use crate::diagnostics::Diagnostic;
use crate::facts::{ArgValue, Binding, CallSite, ExprRef, FileFacts, Sites};
use crate::index::{ClassId, FileId, Index, Resolved, config_matches, last_component};
use crate::locate::Span;
use crate::registry::{FixAvailability, Rule, RuleMeta};

const ADMIN_SITES: &[&str] = &[
    "django.contrib.admin.site",
    "django.contrib.admin.sites.site",
];
const ADMIN_SITE_CLASSES: &[&str] = &[
    "django.contrib.admin.AdminSite",
    "django.contrib.admin.sites.AdminSite",
];
const REGISTER_DECORATORS: &[&str] = &[
    "django.contrib.admin.register",
    "django.contrib.admin.decorators.register",
];

/// Does the class `r` resolves to reach one of Django's `AdminSite` classes?
fn is_admin_site_class(index: &Index, r: Resolved) -> bool {
    index
        .ancestors(r)
        .any(|r| matches!(&r, Resolved::External(p) if ADMIN_SITE_CLASSES.contains(&p.as_str())))
}

/// Is the receiver of `<receiver>.register(...)` an admin site: `admin.site`, or a module-level
/// instance of `AdminSite` (or a subclass)?
fn is_admin_site(index: &Index, file: FileId, call: &CallSite) -> bool {
    let ExprRef::Attr(receiver, _) = &call.func else {
        return false;
    };
    match index.resolve_at(file, receiver, &call.root) {
        Resolved::External(p) => ADMIN_SITES.contains(&p.as_str()),
        Resolved::Symbol { file, name } => match index.facts(file).binding(&name) {
            Some(Binding::Assign(ExprRef::Call(c))) => {
                is_admin_site_class(index, index.resolve_expr(file, &c.func))
            }
            _ => false,
        },
        _ => false,
    }
}

/// What an admin class does about tenants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminKind {
    /// Uses a tenant admin mixin or defines `get_queryset` somewhere in its hierarchy.
    Scoped,
    /// Neither: Django's default queryset, every tenant's rows.
    Unscoped,
    /// A base we cannot see into (unresolvable): give it the benefit of the doubt.
    Unknown,
}

fn admin_kind(index: &Index, r: Resolved) -> AdminKind {
    let mixins = &index.conv().tenant_admin_mixins;
    let mut stack = vec![(r, 0u32)];
    let mut unknown = false;
    while let Some((r, depth)) = stack.pop() {
        match r {
            Resolved::External(p) => {
                if mixins
                    .iter()
                    .any(|m| config_matches(m, last_component(&p), &p))
                {
                    return AdminKind::Scoped;
                }
            }
            Resolved::Class(c) => {
                let class = index.class(c);
                let q = index.qualname(c);
                if mixins.iter().any(|m| config_matches(m, &class.name, q))
                    || class.methods.iter().any(|m| m == "get_queryset")
                {
                    return AdminKind::Scoped;
                }
                if depth < 32 {
                    for (expr, b) in class.bases.iter().zip(&index.info(c).bases) {
                        if matches!(expr, ExprRef::Name(n) if n == "object") {
                            continue;
                        }
                        stack.push((b.clone(), depth + 1));
                    }
                }
            }
            // `object` and friends are builtins; anything else unresolvable is unknown.
            Resolved::Unknown | Resolved::Symbol { .. } | Resolved::Module(_) => unknown = true,
        }
    }
    if unknown {
        AdminKind::Unknown
    } else {
        AdminKind::Unscoped
    }
}

/// The models named by a registration's first argument (a model, or a list/tuple of models).
fn models_of(index: &Index, file: u32, arg: &ArgValue, out: &mut Vec<ClassId>) {
    match arg {
        ArgValue::Ref(e) => {
            if let Resolved::Class(c) = index.resolve_expr(file, e) {
                out.push(c);
            }
        }
        ArgValue::Seq(items) => {
            for i in items {
                models_of(index, file, i, out);
            }
        }
        _ => {}
    }
}

fn models_of_expr(index: &Index, file: u32, expr: &ExprRef, out: &mut Vec<ClassId>) {
    if let Resolved::Class(c) = index.resolve_expr(file, expr) {
        out.push(c);
    }
}

/// One admin registration of tenant-owned models: `site.register(...)` or `@admin.register(...)`.
#[derive(Debug)]
pub struct Registration {
    /// Where it is reported: the model argument.
    pub span: Span,
    /// The tenant-owned models it registers.
    pub models: Vec<ClassId>,
    /// The admin class as written (`None`: Django's default `ModelAdmin`).
    pub admin: Option<String>,
    pub kind: AdminKind,
}

fn emit(ctx: &Context, out: &mut Vec<Diagnostic>, reg: &Registration) {
    let index = ctx.index;
    let conv = ctx.conv();
    for &m in &reg.models {
        let model = &index.class(m).name;
        let what = match &reg.admin {
            Some(a) => format!("admin class `{a}`"),
            None => "the default `ModelAdmin`".to_string(),
        };
        let mixin = conv
            .tenant_admin_mixins
            .first()
            .map(|m| format!("inherit `{}` or ", last_component(m)))
            .unwrap_or_default();
        let message = format!(
            "Tenant-owned model `{model}` is registered in the admin with {what}, which does not scope its queryset to the current tenant: {mixin}override `get_queryset`"
        );
        out.push(
            Diagnostic::new(RULE, message, ctx.path().to_path_buf(), reg.span)
                .with_related(super::queries::model_related(index, m, "objects")),
        );
    }
}

pub static META: RuleMeta = RuleMeta {
    code: "TEN501",
    name: "tenant-unaware-admin",
    summary: "A ModelAdmin for a tenant-owned model that does not scope its queryset",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN501.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(TenantUnawareAdmin);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    // No admin class of the project scopes: TEN500 says so once instead.
    if super::ten500_no_scoped_admin::admin_scoping(ctx).aggregated() {
        return;
    }
    for reg in registrations(ctx.index, ctx.file, ctx.facts, ctx.sites) {
        if reg.kind == AdminKind::Unscoped {
            emit(ctx, out, &reg);
        }
    }
}

/// Every admin registration of tenant-owned models in `file`, whatever its admin class does.
pub fn registrations(
    index: &Index,
    file: FileId,
    facts: &FileFacts,
    sites: &Sites,
) -> Vec<Registration> {
    let mut out = Vec::new();
    let owned = |models: Vec<ClassId>| -> Vec<ClassId> {
        models
            .into_iter()
            .filter(|&m| index.info(m).needs_scoping())
            .collect()
    };
    // `site.register(Model, Admin)` calls.
    for call in sites
        .calls
        .iter()
        .filter(|c| c.name() == "register" && !c.in_decorator)
    {
        if !is_admin_site(index, file, call) {
            continue;
        }
        let Some(first) = call.args.first() else {
            continue;
        };
        let mut models = Vec::new();
        models_of(index, file, first, &mut models);
        let models = owned(models);
        if models.is_empty() {
            continue;
        }
        let admin = call.args.get(1).or_else(|| {
            call.keywords
                .iter()
                .find(|(k, _)| k == "admin_class")
                .map(|(_, v)| v)
        });
        let (admin, kind) = match admin {
            None => (None, AdminKind::Unscoped),
            Some(ArgValue::Ref(e)) => (
                Some(e.dotted().unwrap_or_else(|| "?".into())),
                admin_kind(index, index.resolve_expr(file, e)),
            ),
            // Something we cannot read.
            Some(_) => (None, AdminKind::Unknown),
        };
        // Reported at the model argument.
        let span = call.arg_spans.first().copied().unwrap_or(call.span);
        out.push(Registration {
            span,
            models,
            admin,
            kind,
        });
    }

    // `@admin.register(Model, ...)` on an admin class.
    let decorator_calls: Vec<&CallSite> = sites
        .calls
        .iter()
        .filter(|c| c.in_decorator && c.name() == "register")
        .collect();
    for (ci, class) in facts.classes.iter().enumerate() {
        for d in &class.decorators {
            let ExprRef::Call(call) = d else { continue };
            let r = index.resolve_expr(file, &call.func);
            if !index
                .path_of(&r)
                .is_some_and(|p| REGISTER_DECORATORS.contains(&p.as_str()))
            {
                continue;
            }
            let mut models = Vec::new();
            for a in &call.args {
                models_of_expr(index, file, a, &mut models);
            }
            let models = owned(models);
            if models.is_empty() {
                continue;
            }
            let id = ClassId {
                file,
                class: ci as u32,
            };
            let kind = admin_kind(index, Resolved::Class(id));
            // The decorator's call: the last `register(...)` decorator call before the class
            // name with no other class or function name in between.
            let start = class.name_span.start;
            let span = decorator_calls
                .iter()
                .filter(|c| c.span.end <= start)
                .max_by_key(|c| c.span.start)
                .filter(|c| {
                    !facts
                        .classes
                        .iter()
                        .map(|k| k.name_span.start)
                        .chain(facts.functions.iter().map(|f| f.name_span.start))
                        .any(|s| s > c.span.end && s < start)
                })
                .map_or(class.name_span, |c| {
                    c.arg_spans.first().copied().unwrap_or(c.span)
                });
            out.push(Registration {
                span,
                models,
                admin: Some(class.name.to_string()),
                kind,
            });
        }
    }
    out
}
