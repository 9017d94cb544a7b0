//! TEN201 unscoped-query: `Model.<manager>.<method>(...)` on a tenant-owned model through a
//! manager that is not scoped, with no tenant filter anywhere in the call chain.

use super::Context;
use super::queries::{
    bounded, is_query, manager_at, model_related, skipped_scoping_method, tenant_filtered,
};
use crate::diagnostics::Diagnostic;
use crate::index::Resolved;
use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN201",
    name: "unscoped-query",
    summary: "A query on a tenant-owned model through a manager that is not tenant-scoped, with no tenant filter",
    fix: FixAvailability::Sometimes,
    doc: include_str!("../../rules/TEN201.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(UnscopedQuery);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    super::rust::ten201::check(ctx, out);
    let index = ctx.index;
    let tenant_fields = &ctx.conv().tenant_fields;
    for site in &ctx.sites.query_sites {
        let Resolved::Class(model) = index.resolve_at(ctx.file, &site.receiver, &site.root) else {
            continue;
        };
        let info = index.info(model);
        if !info.needs_scoping() {
            continue;
        }
        let Some((manager_name, scoped, _)) = manager_at(info, site) else {
            continue;
        };
        if scoped
            || bounded(site)
            || site.superuser_only
            || super::queries::pk_of_returned_row(ctx, site)
            || class_level_queryset(site)
            || task_argument_pk(ctx, site)
            || (!site.in_row_loop && super::queries::in_periodic_task(ctx, site.scope))
            || capability_lookup(ctx, model, site)
            || (site.pk_of_param && super::queries::trust_params(ctx))
            || !is_query(index, info, site)
            || tenant_filtered(
                index,
                ctx.file,
                &ctx.sites.query_sites,
                info,
                site,
                tenant_fields,
                super::queries::trust_params(ctx),
            )
            // Last: a scan of the file's sites, for the few queries left.
            || super::queries::narrows_owned_query(index, ctx.file, &ctx.sites.query_sites, site)
        {
            continue;
        }
        let model_name = &index.class(model).name;
        let receiver = site
            .receiver
            .dotted()
            .unwrap_or_else(|| model_name.to_string());
        let why = if site.manager == "_base_manager" && manager_name != "_base_manager" {
            format!("its base manager `{manager_name}`, which is not tenant-scoped")
        } else if site.manager == "_base_manager" {
            "`_base_manager`, which is never tenant-scoped".to_string()
        } else if site.manager == "_default_manager" {
            format!("its default manager `{manager_name}`, which is not tenant-scoped")
        } else if let Some(method) = skipped_scoping_method(info, site) {
            format!(
                "manager `{manager_name}`, which is tenant-scoped only after `.{method}(...)` (`scoping-methods`)"
            )
        } else {
            format!("manager `{manager_name}`, which is not tenant-scoped")
        };
        let message = format!(
            "`{receiver}.{}.{}()` queries tenant-owned model `{model_name}` through {why}, with no tenant filter",
            site.manager, site.method
        );
        let message = match super::queries::unresolved_base_note(info) {
            Some(note) => format!("{message} ({note})"),
            None => message,
        };
        let root_cause = root_cause(ctx, model, manager_name, &site.manager);
        let message = match &root_cause {
            Some(r) => format!("{message} (root cause: {})", r.message),
            None => message,
        };
        out.push(
            Diagnostic::new(RULE, message, ctx.path().to_path_buf(), site.span)
                .with_related({
                    let mut related = model_related(index, model, manager_name);
                    related.extend(super::queries::splat_related(index, ctx.file, site));
                    related
                })
                .with_root_cause(root_cause)
                .with_help(Some(match &info.tenant {
                    Some(crate::index::TenantReason::Parent { field, .. }) => format!(
                        "Filter on the parent relation `{field}` with a row in hand, or through it to the tenant"
                    ),
                    _ => format!(
                        "Query through a tenant-scoped manager, or filter on `{}`",
                        info.scope_lookups
                            .first()
                            .or(info.tenant_column.as_ref())
                            .or(tenant_fields.first())
                            .map_or("tenant", |s| s.as_str())
                    ),
                })),
        );
    }
}

/// A `queryset = ...` class attribute or `queryset=` argument evaluated in a class body: TEN204
/// owns those (one query, one diagnostic), and is quiet when the class narrows the queryset
/// per request in `get_queryset` (DRF's idiom).
fn class_level_queryset(site: &crate::facts::QuerySite) -> bool {
    site.scope == 0
        && site.class_ctx.as_ref().is_some_and(|c| {
            c.attr.as_deref() == Some("queryset") || c.keyword.as_deref() == Some("queryset")
        })
}

/// In a Celery task, a primary-key lookup on one of the task's parameters (`Issue.objects.get(pk=
/// issue_id)`): the id is the caller's, who enqueued a row it had (the caller's own query is
/// checked where it runs). Reported with `strict-parent-lookups = true`.
fn task_argument_pk(ctx: &Context, site: &crate::facts::QuerySite) -> bool {
    const PK: &[&str] = &["pk", "id", "pk__in", "id__in", "pk__exact", "id__exact"];
    if site.scope == 0
        || !super::queries::trust_params(ctx)
        || !site.param_keywords.iter().any(|k| PK.contains(&k.as_str()))
    {
        return false;
    }
    super::queries::in_task(ctx, site.scope)
}

/// A query through the unscoped *default* manager of a concrete model that TEN101 or TEN102
/// reports: that finding is the root cause (scoping the default manager removes this one).
fn root_cause(
    ctx: &Context,
    model: crate::index::ClassId,
    manager_name: &str,
    via: &str,
) -> Option<crate::diagnostics::Related> {
    let index = ctx.index;
    let info = index.info(model);
    let default = info.default_manager()?;
    // A model owned only through a parent row gets no TEN101/TEN102 (see `has_own_tenant`).
    if info.abstract_
        || !info.has_own_tenant()
        || default.scoped
        || default.name != manager_name
        || via == "_base_manager"
    {
        return None;
    }
    let scoping = super::ten100_no_scoped_manager::scoping(ctx);
    if scoping.managerless(index) {
        // TEN100 (one finding for the project) is the root cause, when it is reported.
        let first = *scoping.owned.first()?;
        if !scoping.reported(index) {
            return None;
        }
        let class = index.class(first);
        // No line number in the text: the location is the related location's, and a message
        // that moved with unrelated edits would defeat the baseline's fingerprints.
        return Some(crate::diagnostics::Related::new(
            index.path(first.file).to_path_buf(),
            class.name_span,
            format!(
                "TEN100: no tenant-scoped manager anywhere in the project (first tenant-owned model `{}` in {})",
                class.name,
                index.module(first.file)
            ),
        ));
    }
    let code = if info.managers.iter().any(|m| m.scoped) {
        "TEN102"
    } else {
        "TEN101"
    };
    let class = index.class(model);
    Some(crate::diagnostics::Related::new(
        index.path(model.file).to_path_buf(),
        class.name_span,
        format!(
            "{code}: model `{}` ({}) has no tenant-scoped default manager",
            class.name,
            index.module(model.file)
        ),
    ))
}

/// Is the query a lookup by a `capability-fields` field (`DeployBoard.objects.get(anchor=a)`):
/// an unguessable secret that grants access by itself? Equality only (`anchor=`,
/// `anchor__exact=`), in the chain's filters (not under `|`, not in `exclude`); `Model.field`
/// matches the queried model or one of its bases, by class name or dotted path.
fn capability_lookup(
    ctx: &Context,
    model: crate::index::ClassId,
    site: &crate::facts::QuerySite,
) -> bool {
    let fields = &ctx.conv().capability_fields;
    if fields.is_empty() {
        return false;
    }
    let index = ctx.index;
    fields.iter().any(|cfg| {
        let (owner, field) = match cfg.rsplit_once('.') {
            Some((owner, field)) => (Some(owner), field),
            None => (None, cfg.as_str()),
        };
        site.filter_keywords.iter().any(|k| {
            let k = k.strip_suffix("__exact").unwrap_or(k);
            let parts: Vec<&str> = k.split("__").collect();
            capability_path(index, model, &parts, owner, field, 0)
        })
    })
}

/// Does the lookup path `parts` reach `field` of a model reaching `owner`, through foreign keys
/// to tenant-owned models (`environment__api_key=key` on a model whose `environment` points to
/// `Environment`): the rows of the one row that secret opens?
fn capability_path(
    index: &crate::index::Index,
    model: crate::index::ClassId,
    parts: &[&str],
    owner: Option<&str>,
    field: &str,
    depth: u32,
) -> bool {
    match parts {
        [last] => {
            *last == field && owner.is_none_or(|owner| index.class_reaches_config(model, owner))
        }
        [rel, rest @ ..] if depth < 4 => index
            .info(model)
            .tenant_relations
            .iter()
            .find(|(r, _)| r == rel)
            .is_some_and(|(_, target)| {
                capability_path(index, *target, rest, owner, field, depth + 1)
            }),
        _ => false,
    }
}
