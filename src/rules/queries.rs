//! What the query rules share: the QuerySet API, which manager `Model.<attr>` reaches, whether a
//! call site is a query, and whether its chain filters on the tenant.

use crate::diagnostics::Related;
use crate::facts::QuerySite;
use crate::index::{ClassId, ClassInfo, ClassLike, Index, TenantReason};

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

/// The manager reached by `Model.<attr>`: `(name, scoped, class)`.
pub fn manager_of<'a>(
    info: &'a ClassInfo,
    attr: &str,
) -> Option<(&'a str, bool, Option<&'a ClassLike>)> {
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

/// Is `Model.<manager>.<method>(...)` a query: a QuerySet method, or a custom method of the
/// manager (or its queryset)?
pub fn is_query(index: &Index, info: &ClassInfo, site: &QuerySite) -> bool {
    let Some((_, _, class)) = manager_of(info, &site.manager) else {
        return false;
    };
    QUERY_METHODS.contains(&site.method.as_str())
        || class.is_some_and(|c| index.like_has_method(c, &site.method))
}

/// Does the chain filter on the tenant (`tenant=`, `tenant_id=`, `tenant__...=`, the model's
/// tenant column or scope lookups)?
pub fn tenant_filtered(info: &ClassInfo, site: &QuerySite, tenant_fields: &[String]) -> bool {
    site.filter_keywords
        .iter()
        .any(|k| info.is_tenant_filter(k, tenant_fields))
}

/// The places that make a query on `model` through `manager` what it is: the model's class, the
/// class that declares its tenant field, the manager's declaration and the manager's class. A
/// change in any of them can make the query scoped or unscoped.
pub fn model_related(index: &Index, model: ClassId, manager: &str) -> Vec<Related> {
    let mut out = Vec::new();
    let class = index.class(model);
    out.push(Related::new(
        index.path(model.file).to_path_buf(),
        class.name_span,
        format!("model `{}`", class.name),
    ));
    let info = index.info(model);
    if let Some(TenantReason::Field { field, in_class }) = &info.tenant
        && *in_class != model
        && let Some(a) = index
            .class(*in_class)
            .assigns
            .iter()
            .find(|a| a.name == *field)
    {
        out.push(Related::new(
            index.path(in_class.file).to_path_buf(),
            a.value_span,
            format!("tenant field `{field}`"),
        ));
    }
    if let Some(m) = info.managers.iter().find(|m| m.name == manager) {
        if let (Some(decl), Some(ai)) = (m.declared_in, m.assign)
            && let Some(a) = index.class(decl).assigns.get(ai)
        {
            out.push(Related::new(
                index.path(decl.file).to_path_buf(),
                a.value_span,
                format!("manager `{}` declared", m.name),
            ));
        }
        if let ClassLike::Class(c) = &m.class {
            out.push(Related::new(
                index.path(c.file).to_path_buf(),
                index.class(*c).name_span,
                format!("manager class `{}`", index.class(*c).name),
            ));
        }
    }
    out
}
