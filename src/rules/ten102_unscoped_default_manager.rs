//! TEN102 unscoped-default-manager: a concrete tenant-owned model that has a tenant-scoped manager,
//! but whose *default* manager is not scoped: a plain manager declared first,
//! `Meta.default_manager_name` naming an unscoped one, or the model's own plain manager taking
//! precedence over a scoped one it inherits.
//!
//! No fix: which manager is the default changes what the admin, related lookups, serializers and
//! `dumpdata` see, and code may rely on it. The message says what to do.

use super::Context;
use crate::diagnostics::Diagnostic;
use crate::index::{ClassId, ClassInfo, Manager};
use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN102",
    name: "unscoped-default-manager",
    summary: "A tenant-owned model that declares a scoped manager, but whose default manager is not scoped",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN102.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(UnscopedDefaultManager);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let index = ctx.index;
    for (ci, class) in ctx.facts.classes.iter().enumerate() {
        let id = ClassId {
            file: ctx.file,
            class: ci as u32,
        };
        let info = index.info(id);
        if !info.has_own_tenant() || info.abstract_ {
            continue;
        }
        let Some(default) = info.default_manager() else {
            continue;
        };
        if default.scoped {
            continue;
        }
        let Some(scoped) = info.managers.iter().find(|m| m.scoped) else {
            continue;
        };
        let why = reason(ctx, id, info, default, scoped);
        let message = format!(
            "Model `{}` is tenant-owned and has the scoped manager `{}`, but its default manager `{}` is not scoped ({why}): {}",
            class.name,
            scoped.name,
            default.name,
            advice(ctx, id, info, default, scoped),
        );
        out.push(
            Diagnostic::new(
                RULE,
                message,
                ctx.path().to_path_buf(),
                class.name_span,
            )
            .with_related(super::queries::model_related(index, id, &default.name))
            .with_help(Some(
                "The admin, related lookups (`customer.invoice_set`), `ModelChoiceField`, serializers and `dumpdata` all use the default manager, so they see every tenant's rows"
                    .into(),
            )),
        );
    }
}

/// Why `default` is the default manager rather than `scoped`.
fn reason(
    ctx: &Context,
    id: ClassId,
    info: &ClassInfo,
    default: &Manager,
    scoped: &Manager,
) -> String {
    let index = ctx.index;
    let class_name = |c: Option<ClassId>| c.map(|c| index.class(c).name.to_string());
    if info
        .default_manager_name
        .as_deref()
        .is_some_and(|n| n == default.name.as_str())
    {
        return if index.class(id).meta.default_manager_name.is_some() {
            format!("`Meta.default_manager_name` names `{}`", default.name)
        } else {
            // Inherited from the first model parent (Django's `Options.default_manager`).
            let parent = info.bases.iter().find_map(|b| match b {
                crate::index::Resolved::Class(b) if index.info(*b).is_model => {
                    Some(index.class(*b).name.to_string())
                }
                _ => None,
            });
            match parent {
                Some(p) => format!(
                    "the `Meta.default_manager_name` inherited from `{p}` names `{}`",
                    default.name
                ),
                None => format!(
                    "the inherited `Meta.default_manager_name` names `{}`",
                    default.name
                ),
            }
        };
    }
    if default.declared_in == scoped.declared_in {
        return match default.declared_in {
            Some(c) if c == id => format!("`{}` is declared first", default.name),
            Some(c) => format!(
                "`{}` is declared before `{}` in the inherited `{}`",
                default.name,
                scoped.name,
                index.class(c).name
            ),
            None => format!("`{}` comes first", default.name),
        };
    }
    if default.declared_in == Some(id) {
        let from = class_name(scoped.declared_in)
            .map(|n| format!(" from `{n}`"))
            .unwrap_or_default();
        return format!(
            "the model's own managers take precedence over inherited ones, and `{}` is inherited{from}",
            scoped.name
        );
    }
    match (
        class_name(default.declared_in),
        class_name(scoped.declared_in),
    ) {
        (Some(d), Some(s)) => format!(
            "`{}` is inherited from `{d}`, which comes before `{s}` in the bases",
            default.name
        ),
        _ => format!("`{}` comes first", default.name),
    }
}

/// What to do about it.
fn advice(
    ctx: &Context,
    id: ClassId,
    info: &ClassInfo,
    default: &Manager,
    scoped: &Manager,
) -> String {
    let set_name = format!("set `Meta.default_manager_name = \"{}\"`", scoped.name);
    if info
        .default_manager_name
        .as_deref()
        .is_some_and(|n| n == default.name.as_str())
    {
        return format!("point `Meta.default_manager_name` at `{}`", scoped.name);
    }
    if default.declared_in == Some(id) && scoped.declared_in == Some(id) {
        return format!(
            "declare `{}` before `{}`, or {set_name}",
            scoped.name, default.name
        );
    }
    format!(
        "{set_name}, or declare `{} = {}()` first in the body of `{}`",
        scoped.name,
        ctx.index.like_display(&scoped.class),
        ctx.index.class(id).name
    )
}
