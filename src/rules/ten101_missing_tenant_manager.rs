//! TEN101 missing-tenant-manager: a concrete tenant-owned model whose default manager is not
//! tenant-scoped, and that has no scoped manager at all (a model with a scoped manager that is not
//! the default is TEN102's).
//!
//! Fix: add `objects = <ScopedManager>()` as the first statement after the class docstring, and
//! the manager's import (safe when the model has no manager at all); replace a plain Django manager
//! (unsafe); for custom managers, no edit but a note on what to do.

use super::fix_imports::{ensure_import, scoped_manager_source};
use super::{Context, fix_with};
use crate::diagnostics::{Applicability, Diagnostic, Edit, Fix};
use crate::index::{ClassId, ClassLike, Manager, TenantReason};
use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN101",
    name: "missing-tenant-manager",
    summary: "A concrete tenant-owned model with no tenant-scoped manager",
    fix: FixAvailability::Sometimes,
    doc: include_str!("../../rules/TEN101.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(MissingTenantManager);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    // No scoped manager anywhere: one project-level TEN100 instead of one TEN101 per model.
    if ctx.facts.classes.is_empty()
        || super::ten100_no_scoped_manager::scoping(ctx).managerless(ctx.index)
    {
        return;
    }
    let mut manager_source: Option<Option<(String, String)>> = None;
    for (ci, class) in ctx.facts.classes.iter().enumerate() {
        let id = ClassId {
            file: ctx.file,
            class: ci as u32,
        };
        let info = ctx.index.info(id);
        if !info.has_own_tenant() || info.abstract_ {
            continue;
        }
        let Some(default) = info.default_manager() else {
            continue;
        };
        // A scoped manager that is not the default: TEN102 reports it.
        if default.scoped || info.managers.iter().any(|m| m.scoped) {
            continue;
        }
        let message = format!(
            "Model `{}` is tenant-owned but its default manager `{}` is not tenant-scoped",
            class.name, default.name
        );
        let note = super::queries::unresolved_base_note(info);
        let source = manager_source
            .get_or_insert_with(|| scoped_manager_source(ctx))
            .clone();
        let (fix, help) = match &note {
            // What the missing base would declare is unknown: fix the import first.
            Some(_) => (
                None,
                Some("Fix the import of the tenant base, then check again".to_string()),
            ),
            None => fix_for(ctx, id, default, source),
        };
        let message = match note {
            Some(note) => format!("{message} ({note})"),
            None => message,
        };
        // With no automatic edit, the message itself says what to do.
        let (message, help) = match (&fix, help) {
            (None, Some(advice)) => (format!("{message}: {}", lower_first(&advice)), None),
            (_, help) => (message, help),
        };
        out.push(
            Diagnostic::new(RULE, message, ctx.path().to_path_buf(), class.name_span)
                .with_related(super::queries::model_related(ctx.index, id, &default.name))
                .with_fix(fix)
                .with_help(help),
        );
    }
}

fn is_plain_django_manager(c: &ClassLike) -> bool {
    matches!(c, ClassLike::External(p) if p == "django.db.models.Manager" || p == "django.db.models.BaseManager")
}

/// The scoped manager's constructor call. django-scopes' `ScopedManager` needs the scope
/// dimension: `ScopedManager(site="site")`, from the model's tenant field. Returns the call and
/// whether it is such a scopes manager.
fn manager_call(ctx: &Context, id: ClassId, local: &str, name: &str) -> (String, bool) {
    if name != "ScopedManager" {
        return (format!("{local}()"), false);
    }
    let field = match &ctx.index.info(id).tenant {
        Some(TenantReason::Field { field, .. }) => field.to_string(),
        _ => ctx
            .conv()
            .tenant_fields
            .first()
            .cloned()
            .unwrap_or_else(|| "tenant".into()),
    };
    (format!("{local}({field}=\"{field}\")"), true)
}

fn fix_for(
    ctx: &Context,
    id: ClassId,
    default: &Manager,
    source: Option<(String, String)>,
) -> (Option<Fix>, Option<String>) {
    let index = ctx.index;
    let class = index.class(id);
    let Some((module, name)) = source else {
        return (
            None,
            Some("Set `manager-import` to the dotted path of your tenant-scoped manager to enable the fix".into()),
        );
    };
    match (
        &default.class,
        default.implicit,
        default.declared_in == Some(id),
    ) {
        // No manager anywhere: add one. Nothing is replaced, so this is safe.
        (_, true, _) => {
            let Some((local, _)) = ensure_import(ctx, &module, &name) else {
                return (None, None);
            };
            let (call, scopes) = manager_call(ctx, id, &local, &name);
            let (applicability, message) = if scopes {
                (
                    Applicability::Unsafe,
                    format!(
                        "Add `objects = {call}` (unsafe: queries outside a `scope()` start raising `ScopeError`)"
                    ),
                )
            } else {
                (Applicability::Safe, format!("Add `objects = {call}`"))
            };
            let fix = fix_with(ctx, applicability, message, |edits| {
                let insert = edits.class_inserts.get(id.class as usize)?.as_ref()?;
                let (_, import_edit) = ensure_import(ctx, &module, &name)?;
                let mut out = vec![Edit::new(
                    insert.span,
                    format!("{}objects = {call}{}", insert.prefix, insert.suffix),
                )];
                out.extend(import_edit);
                Some(out)
            });
            (fix, None)
        }
        // A plain `models.Manager()` declared on the model: replace it. Unsafe: code may rely on
        // reaching every tenant's rows through it.
        (cls, false, true) if is_plain_django_manager(cls) => {
            let Some(ai) = default.assign else {
                return (None, None);
            };
            let value_span = class.assigns[ai].value_span;
            let Some((local, _)) = ensure_import(ctx, &module, &name) else {
                return (None, None);
            };
            let (call, _) = manager_call(ctx, id, &local, &name);
            let message = format!(
                "Replace manager `{}` with `{call}` (unsafe: code that relied on it seeing every tenant's rows changes behaviour)",
                default.name
            );
            let fix = fix_with(ctx, Applicability::Unsafe, message, |_| {
                let (_, import_edit) = ensure_import(ctx, &module, &name)?;
                let mut out = vec![Edit::new(value_span, call.clone())];
                out.extend(import_edit);
                Some(out)
            });
            (fix, None)
        }
        // A plain manager inherited from a base: shadow it on the model. Unsafe for the same reason.
        (cls, false, false) if is_plain_django_manager(cls) => {
            let Some((local, _)) = ensure_import(ctx, &module, &name) else {
                return (None, None);
            };
            let (call, _) = manager_call(ctx, id, &local, &name);
            let message = format!(
                "Add `{} = {call}` to override the inherited unscoped manager (unsafe: changes what `{}` returns)",
                default.name, default.name
            );
            let fix = fix_with(ctx, Applicability::Unsafe, message, |edits| {
                let insert = edits.class_inserts.get(id.class as usize)?.as_ref()?;
                let (_, import_edit) = ensure_import(ctx, &module, &name)?;
                let mut out = vec![Edit::new(
                    insert.span,
                    format!(
                        "{}{} = {call}{}",
                        insert.prefix, default.name, insert.suffix
                    ),
                )];
                out.extend(import_edit);
                Some(out)
            });
            (fix, None)
        }
        // A custom manager class: replacing it would drop its methods. Say what to do.
        (cls, _, _) => {
            let what = index.like_display(cls);
            let help = match cls {
                ClassLike::FromQueryset(_, qs) => {
                    format!(
                        "Build the manager from the scoped one: `{name}.from_queryset({})()`",
                        index.like_display(qs)
                    )
                }
                ClassLike::AsManager(qs) => {
                    format!(
                        "Build the manager from the scoped one: `{name}.from_queryset({})()`",
                        index.like_display(qs)
                    )
                }
                _ => {
                    format!("Make `{what}` inherit from `{name}` so its queries are tenant-scoped")
                }
            };
            (None, Some(help))
        }
    }
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}
