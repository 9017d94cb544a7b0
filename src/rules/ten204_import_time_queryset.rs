//! TEN204 import-time-queryset: a queryset on a tenant-owned model built in a class body, so it is
//! evaluated once, when the module is imported, with no current tenant:
//!
//! - the value of a class attribute `queryset = M.objects...` (DRF views and viewsets, Django
//!   generic views) in a class that does not override `get_queryset` (itself or in a project
//!   base class) nor inherit one of the `tenant-view-mixins` (a library's scoping mixin, whose
//!   `get_queryset` is out of sight);
//! - the `queryset=` keyword argument of any call in a class body (`ModelChoiceField`,
//!   `ModelMultipleChoiceField`, DRF's `PrimaryKeyRelatedField`, `SlugRelatedField`, django-filter
//!   filters, ...), and the first positional argument of Django's `ModelChoiceField` /
//!   `ModelMultipleChoiceField`, unless the class's `__init__` queries the same model again
//!   (the usual way to replace the queryset per instance).
//!
//! Scoped managers are flagged too: that is the point, their tenant filter is evaluated at
//! import. Not flagged: `M.objects.none()`, querysets inside a lambda (or passed as a callable),
//! and classes defined inside a function (built per call). No fix.

use rustc_hash::FxHashMap as HashMap;

use super::Context;
use super::queries::{is_query, manager_at};
use crate::diagnostics::Diagnostic;
use crate::facts::{CallRef, ClassCtx, ExprRef, QuerySite};
use crate::index::{ClassId, ClassLike, Index, Resolved};
use crate::registry::{FixAvailability, Rule, RuleMeta};

/// Django form fields whose first positional argument is the queryset.
const CHOICE_FIELDS: &[&str] = &[
    "django.forms.ModelChoiceField",
    "django.forms.ModelMultipleChoiceField",
    "django.forms.models.ModelChoiceField",
    "django.forms.models.ModelMultipleChoiceField",
];

enum Kind {
    /// `queryset = ...` class attribute.
    Attribute,
    /// `queryset=` keyword (or a choice field's positional queryset, `positional`); the callee,
    /// if known.
    Argument {
        callee: Option<String>,
        positional: bool,
    },
}

pub static META: RuleMeta = RuleMeta {
    code: "TEN204",
    name: "import-time-queryset",
    summary: "A queryset on a tenant-owned model built once, at class-definition time",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN204.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(ImportTimeQueryset);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let index = ctx.index;
    let facts = ctx.facts;
    // Per class of this file: does it (or a project base) define `get_queryset`?
    let mut overrides: HashMap<u32, bool> = HashMap::default();
    // Models queried inside each class's `__init__`: computed on first need.
    let mut init_models: Option<Vec<(u32, ClassId)>> = None;
    for site in &ctx.sites.query_sites {
        let Some(cctx) = &site.class_ctx else {
            continue;
        };
        // Only class bodies run at import: a class defined in a function is built per call
        // (a form factory with the tenant at hand), and a lambda body
        // (`queryset=lambda request: ...`) runs later.
        if site.scope != 0 {
            continue;
        }
        if site.method == "none" {
            continue;
        }
        let kind = if cctx.attr.as_deref() == Some("queryset") {
            Kind::Attribute
        } else if cctx.keyword.as_deref() == Some("queryset") {
            match keyword_callee(ctx, cctx) {
                Some(callee) => Kind::Argument {
                    callee,
                    positional: false,
                },
                None => continue,
            }
        } else if let Some(callee) = positional_choice_field(ctx, cctx, site) {
            Kind::Argument {
                callee: Some(callee),
                positional: true,
            }
        } else {
            continue;
        };
        let Resolved::Class(model) = index.resolve_at(ctx.file, &site.receiver, &site.root) else {
            continue;
        };
        let info = index.info(model);
        if !info.needs_scoping() || !is_query(index, info, site) {
            continue;
        }
        let class = &facts.classes[cctx.class as usize];
        let class_id = ClassId {
            file: ctx.file,
            class: cctx.class,
        };
        match &kind {
            Kind::Attribute => {
                let o = *overrides.entry(cctx.class).or_insert_with(|| {
                    defines_method(index, class_id, "get_queryset")
                        || ctx
                            .conv()
                            .tenant_view_mixins
                            .iter()
                            .any(|m| index.class_reaches_config(class_id, m))
                });
                if o {
                    continue;
                }
            }
            Kind::Argument { .. } => {
                let inits = init_models.get_or_insert_with(|| init_queries(ctx));
                if inits.contains(&(cctx.class, model)) {
                    continue;
                }
            }
        }
        let model_name = &index.class(model).name;
        let receiver = site
            .receiver
            .dotted()
            .unwrap_or_else(|| model_name.to_string());
        let args = if site.method == "all" { "" } else { "..." };
        let expr = format!("{receiver}.{}.{}({args})", site.manager, site.method);
        let scoped = manager_at(info, site).is_some_and(|(_, scoped, _)| scoped);
        let why = if scoped {
            "its tenant filter is applied once, at import time, with no current tenant"
        } else {
            "it is built once, at import time, and never filtered per request"
        };
        let (message, help) = match kind {
            Kind::Attribute => (
                format!(
                    "`queryset = {expr}` on `{}` builds a queryset on tenant-owned model `{model_name}` when the class is defined: {why}; override `get_queryset()` and build it there",
                    class.name
                ),
                "DRF's and Django's `get_queryset()` only clone the class attribute, keeping the filters it was built with",
            ),
            Kind::Argument { callee, positional } => {
                let written = match (callee, positional) {
                    (Some(c), true) => format!("`{c}({expr})`"),
                    (Some(c), false) => format!("`{c}(queryset={expr})`"),
                    (None, _) => format!("`queryset={expr}`"),
                };
                (
                    format!(
                        "{written} in class `{}` builds a queryset on tenant-owned model `{model_name}` when the class is defined: {why}; pass `{receiver}.{}.none()` here and set the real queryset per request",
                        class.name, site.manager
                    ),
                    "In a form, set `self.fields[\"name\"].queryset` in `__init__`; in a DRF serializer field, override the field's `get_queryset()`",
                )
            }
        };
        out.push(
            Diagnostic::new(RULE, message, ctx.path().to_path_buf(), site.span)
                .with_help(Some(help.into())),
        );
    }
}

/// Does the class, or a project base class, define method `name`?
fn defines_method(index: &Index, id: ClassId, name: &str) -> bool {
    index.ancestors(Resolved::Class(id)).any(
        |r| matches!(r, Resolved::Class(c) if index.class(c).methods.iter().any(|m| m == name)),
    )
}

/// `(class, model)` for every query in a class's `__init__` (or a function nested in it) on a
/// model of the project: such a class replaces its fields' querysets per instance.
fn init_queries(ctx: &Context) -> Vec<(u32, ClassId)> {
    let facts = ctx.facts;
    let inits: Vec<(u32, u32)> = facts
        .functions
        .iter()
        .filter(|f| f.name == "__init__")
        .filter_map(|f| f.class.map(|c| (c, f.scope)))
        .collect();
    if inits.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for site in &ctx.sites.query_sites {
        if site.scope == 0 {
            continue;
        }
        let Some(&(class, _)) = inits
            .iter()
            .find(|(_, scope)| facts.scope_within(site.scope, *scope))
        else {
            continue;
        };
        if let Resolved::Class(model) = ctx.index.resolve_at(ctx.file, &site.receiver, &site.root) {
            out.push((class, model));
        }
    }
    out
}

/// The class attribute assignments a class-body expression belongs to.
fn attr_values<'a>(ctx: &'a Context, cctx: &ClassCtx) -> Vec<&'a ExprRef> {
    let Some(attr) = &cctx.attr else {
        return Vec::new();
    };
    ctx.facts.classes[cctx.class as usize]
        .assigns
        .iter()
        .filter(|a| &a.name == attr)
        .map(|a| &a.value)
        .collect()
}

/// For a site passed as `queryset=`: `Some(callee)` if it is evaluated at import time, `None`
/// if it is not (the only `queryset=` values of its class attribute are lambdas or other
/// expressions that defer it). The callee is the dotted name of the call, when known.
fn keyword_callee(ctx: &Context, cctx: &ClassCtx) -> Option<Option<String>> {
    let values = attr_values(ctx, cctx);
    let mut found: Vec<(&CallRef, &ExprRef)> = Vec::new();
    for v in values {
        collect_keyword(v, "queryset", &mut found, 0);
    }
    if found.is_empty() {
        // Not inside a readable class attribute (or too deep to see): trust the class context.
        return Some(None);
    }
    let direct: Vec<&(&CallRef, &ExprRef)> = found
        .iter()
        .filter(|(_, v)| !matches!(v, ExprRef::Other))
        .collect();
    let (call, _) = direct.first()?;
    Some(call.func.dotted())
}

fn collect_keyword<'a>(
    e: &'a ExprRef,
    name: &str,
    out: &mut Vec<(&'a CallRef, &'a ExprRef)>,
    depth: u32,
) {
    if depth > 16 {
        return;
    }
    match e {
        ExprRef::Call(call) => {
            for (k, v) in &call.keywords {
                if k == name {
                    out.push((call, v));
                }
                collect_keyword(v, name, out, depth + 1);
            }
            for a in &call.args {
                collect_keyword(a, name, out, depth + 1);
            }
            collect_keyword(&call.func, name, out, depth + 1);
        }
        ExprRef::Attr(v, _) | ExprRef::Subscript(v) => collect_keyword(v, name, out, depth + 1),
        _ => {}
    }
}

/// `forms.ModelChoiceField(Customer.objects.all())`: the site is the field's first positional
/// argument. Returns the field's dotted name.
fn positional_choice_field(ctx: &Context, cctx: &ClassCtx, site: &QuerySite) -> Option<String> {
    if cctx.keyword.is_some() {
        return None;
    }
    for value in attr_values(ctx, cctx) {
        let Some(call) = value.as_call() else {
            continue;
        };
        let Some(first) = call.args.first() else {
            continue;
        };
        if !matches!(first, ExprRef::Call(_)) || chain_root(first) != site.receiver.root_name() {
            continue;
        }
        if is_choice_field(ctx.index, ctx.file, &call.func) {
            return call.func.dotted();
        }
    }
    None
}

/// The root name of a call chain (`Customer` in `Customer.objects.filter(...).order_by(...)`).
fn chain_root(e: &ExprRef) -> Option<&crate::facts::Name> {
    let mut cur = e;
    for _ in 0..64 {
        match cur {
            ExprRef::Call(c) => cur = &c.func,
            ExprRef::Attr(v, _) | ExprRef::Subscript(v) => cur = v,
            ExprRef::Name(n) => return Some(n),
            _ => return None,
        }
    }
    None
}

/// Django's `ModelChoiceField` / `ModelMultipleChoiceField`, or a project subclass of one.
fn is_choice_field(index: &Index, file: u32, func: &ExprRef) -> bool {
    match index.class_like(file, func) {
        ClassLike::External(p) => CHOICE_FIELDS.contains(&p.as_str()),
        ClassLike::Class(c) => index
            .ancestors(Resolved::Class(c))
            .any(|r| matches!(&r, Resolved::External(p) if CHOICE_FIELDS.contains(&p.as_str()))),
        _ => false,
    }
}
