//! TEN201 unscoped-query: `Model.<manager>.<method>(...)` on a tenant-owned model through a
//! manager that is not scoped, with no tenant filter anywhere in the call chain.

use super::Context;
use crate::diagnostics::Diagnostic;
use crate::index::{ClassInfo, Resolved};
use crate::registry::Rule;

/// The QuerySet API (and the manager methods that return or act on querysets).
pub const QUERY_METHODS: &[&str] = &[
    "aggregate",
    "alias",
    "all",
    "annotate",
    "bulk_update",
    "complex_filter",
    "contains",
    "count",
    "dates",
    "datetimes",
    "defer",
    "delete",
    "difference",
    "distinct",
    "earliest",
    "exclude",
    "exists",
    "explain",
    "extra",
    "filter",
    "first",
    "get",
    "get_or_create",
    "get_queryset",
    "in_bulk",
    "intersection",
    "iterator",
    "last",
    "latest",
    "none",
    "only",
    "order_by",
    "prefetch_related",
    "raw",
    "reverse",
    "select_for_update",
    "select_related",
    "union",
    "update",
    "update_or_create",
    "using",
    "values",
    "values_list",
    // async variants
    "aaggregate",
    "abulk_update",
    "acontains",
    "acount",
    "adelete",
    "aearliest",
    "aexists",
    "aexplain",
    "afirst",
    "aget",
    "aget_or_create",
    "ain_bulk",
    "aiterator",
    "alast",
    "alatest",
    "aupdate",
    "aupdate_or_create",
];

pub fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let index = ctx.index;
    let tenant_fields = &ctx.conv().tenant_fields;
    for site in &ctx.facts.query_sites {
        let Resolved::Class(model) = index.resolve_at(ctx.file, &site.receiver, &site.root) else {
            continue;
        };
        let info = index.info(model);
        if !info.needs_scoping() {
            continue;
        }
        let Some((manager_name, scoped, manager_class)) = manager_of(info, &site.manager) else {
            continue;
        };
        if scoped {
            continue;
        }
        let is_query = QUERY_METHODS.contains(&site.method.as_str())
            || manager_class.is_some_and(|c| index.like_has_method(c, &site.method));
        if !is_query {
            continue;
        }
        let filtered = site
            .filter_keywords
            .iter()
            .any(|k| info.is_tenant_filter(k, tenant_fields));
        if filtered {
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
        } else {
            format!("manager `{manager_name}`, which is not tenant-scoped")
        };
        let message = format!(
            "`{receiver}.{}.{}()` queries tenant-owned model `{model_name}` through {why}, with no tenant filter",
            site.manager, site.method
        );
        out.push(
            Diagnostic::new(
                Rule::UnscopedQuery,
                message,
                ctx.facts.path.clone(),
                site.span,
            )
            .with_help(Some(format!(
                "Query through a tenant-scoped manager, or filter on `{}`",
                info.scope_lookups
                    .first()
                    .or(info.tenant_column.as_ref())
                    .or(tenant_fields.first())
                    .map_or("tenant", |s| s.as_str())
            ))),
        );
    }
}

/// The manager reached by `Model.<attr>`: `(name, scoped, class)`.
fn manager_of<'a>(
    info: &'a ClassInfo,
    attr: &str,
) -> Option<(&'a str, bool, Option<&'a crate::index::ClassLike>)> {
    match attr {
        // `_base_manager` is a plain `Manager` unless `Meta.base_manager_name` names another.
        "_base_manager" => match &info.base_manager_name {
            Some(name) => info
                .managers
                .iter()
                .find(|m| m.name == name.as_str())
                .map(|m| (m.name.as_str(), m.scoped, Some(&m.class))),
            None => Some(("_base_manager", false, None)),
        },
        "_default_manager" => info
            .default_manager()
            .map(|m| (m.name.as_str(), m.scoped, Some(&m.class))),
        _ => info
            .managers
            .iter()
            .find(|m| m.name == attr)
            .map(|m| (m.name.as_str(), m.scoped, Some(&m.class))),
    }
}
