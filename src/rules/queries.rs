//! What the query rules share: the QuerySet API, which manager `Model.<attr>` reaches, whether a
//! call site is a query, and whether its chain filters on the tenant.

use crate::diagnostics::Related;
use crate::facts::{ExprRef, LinkTarget, Name, QuerySite};
use crate::index::{ClassId, ClassInfo, ClassLike, FileId, Index, Resolved, TenantReason};

/// The QuerySet API (and the manager methods that return or act on querysets).
pub const QUERY_METHODS: &[&str] = &[
    "aggregate",
    "alias",
    "all",
    "annotate",
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

/// Manager methods that write the rows given and read none, even when a custom manager
/// overrides them (`create` calling `super().create(...)`): not queries. `bulk_update` updates
/// the rows of instances already in hand.
pub const WRITE_METHODS: &[&str] = &[
    "create",
    "acreate",
    "bulk_create",
    "abulk_create",
    "bulk_update",
    "abulk_update",
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

/// The manager a query site goes through, `(name, scoped, class)`, scoped as the site uses it: a
/// manager that scopes only after a method call (`scoping-methods`) is not scoped in a chain
/// that skips the method.
pub fn manager_at<'a>(
    info: &'a ClassInfo,
    site: &QuerySite,
) -> Option<(&'a str, bool, Option<&'a ClassLike>)> {
    let (name, scoped, class) = manager_of(info, &site.manager)?;
    Some((
        name,
        scoped && skipped_scoping_method(info, site).is_none(),
        class,
    ))
}

/// The method the site's manager scopes after (`scoping-methods`), when the chain skips it.
pub fn skipped_scoping_method<'a>(info: &'a ClassInfo, site: &QuerySite) -> Option<&'a Name> {
    let (name, _, _) = manager_of(info, &site.manager)?;
    let method = info
        .managers
        .iter()
        .find(|m| m.name == name)?
        .scoping_method
        .as_ref()?;
    (!site.calls.contains(method)).then_some(method)
}

/// Is `Model.<manager>.<method>(...)` a query: a QuerySet method, or a custom method of the
/// manager (or its queryset)?
pub fn is_query(index: &Index, info: &ClassInfo, site: &QuerySite) -> bool {
    let Some((_, _, class)) = manager_of(info, &site.manager) else {
        return false;
    };
    if WRITE_METHODS.contains(&site.method.as_str()) {
        return false;
    }
    QUERY_METHODS.contains(&site.method.as_str())
        || class.is_some_and(|c| {
            index.like_has_method(c, &site.method) && !reads_no_rows(index, c, &site.method, 0)
        })
}

/// Does the project method `m` of `class` (a manager or its queryset) read no rows of its
/// model: it uses its receiver only to call writes (`self.create(...)`) or project methods that
/// read none themselves (`self.get_queryset().create_product_type(...)`), or not at all
/// (`is_internal_document_media(media=...)` inspecting the instance it is given)? Any other
/// use, a QuerySet method, or a method the project does not define, and it may read.
fn reads_no_rows(index: &Index, class: &ClassLike, m: &str, depth: u32) -> bool {
    if depth > 4 || QUERY_METHODS.contains(&m) {
        return false;
    }
    let Some(owner) = index.like_method_owner(class, m) else {
        return false;
    };
    // Defined more than once (an `@overload` stub, a conditional definition): which one runs
    // is not known here.
    if index
        .class(owner)
        .methods
        .iter()
        .filter(|n| *n == m)
        .count()
        != 1
    {
        return false;
    }
    let Some(only) = index
        .facts(owner.file)
        .self_calls_only
        .iter()
        .find(|s| s.class == owner.class && s.method == m)
    else {
        return false;
    };
    only.calls.iter().all(|(callee, via_queryset)| {
        if WRITE_METHODS.contains(&callee.as_str()) {
            return true;
        }
        let target = if *via_queryset {
            queryset_of(index, class)
        } else {
            Some(class.clone())
        };
        target.is_some_and(|t| {
            index.like_has_method(&t, callee) && reads_no_rows(index, &t, callee, depth + 1)
        })
    })
}

/// Does the chain filter on the tenant: a tenant lookup (`tenant=`, `tenant_id=`, `tenant__...=`,
/// the model's tenant column or scope lookups), a lookup that pins a relation to a tenant-owned
/// model (`project=`, `issue_id__in=`, `project__tenant=`), `Q(...) | Q(...)` where every branch
/// does, or `pk__in=` a subquery that is itself tenant-filtered or scoped?
pub fn tenant_filtered(
    index: &Index,
    file: FileId,
    sites: &[QuerySite],
    info: &ClassInfo,
    site: &QuerySite,
    tenant_fields: &[String],
    trust_params: bool,
) -> bool {
    filtered_at(
        index,
        file,
        sites,
        info,
        site,
        tenant_fields,
        trust_params,
        0,
    )
}

/// `sites`: the query sites of `file` (the subqueries of `pk__in=` and `<relation>__in=`).
#[allow(clippy::too_many_arguments)]
fn filtered_at(
    index: &Index,
    file: FileId,
    sites: &[QuerySite],
    info: &ClassInfo,
    site: &QuerySite,
    tenant_fields: &[String],
    trust_params: bool,
    depth: u32,
) -> bool {
    if filtering_method(index, info, site, trust_params) {
        return true;
    }
    let pins = |k: &Name| pins_tenant(index, info, k, tenant_fields, false, 0);
    // Unless `strict-parent-lookups`, a relation to a tenant-owned model pinned by a parameter
    // of the function (a URL keyword argument the view's permission check saw, a task argument)
    // constrains the tenant as an instance does.
    if site.filter_keywords.iter().any(pins)
        || splat_keywords(index, file, site).iter().any(pins)
        || site
            .instance_keywords
            .iter()
            .chain(site.param_keywords.iter().filter(|_| trust_params))
            .any(|k| pins_tenant(index, info, k, tenant_fields, true, 0))
    {
        return true;
    }
    if generic_relation_to_self(index, file, site) {
        return true;
    }
    if site.or_groups.iter().any(|g| {
        !g.is_empty()
            && g.iter().all(|branch| {
                branch
                    .iter()
                    .any(|(k, instance)| pins_tenant(index, info, k, tenant_fields, *instance, 0))
            })
    }) {
        return true;
    }
    if depth >= 4 {
        return false;
    }
    // `pk__in=` a subquery: on the same model it pins the same rows; on another model it pins
    // them when it reads a key of this model (`Issue.objects.filter(id__in=CycleIssue.objects
    // .filter(<tenant>).values_list("issue_id"))`): the rows its tenant-filtered rows point to.
    // `<relation>__in=` a subquery that reads keys of the relation's target pins the relation
    // the same way (`Inspector.objects.filter(product_id__in=Category.objects.filter(<tenant>)
    // .values_list("product_id"))`).
    let pk_subqueries = site.pk_in_subqueries.iter().map(|&start| (None, start));
    let rel_subqueries = site.rel_in_subqueries.iter().filter_map(|(rel, start)| {
        let rel = rel.strip_suffix("_id").unwrap_or(rel);
        let (_, target) = info.tenant_relations.iter().find(|(r, _)| r == rel)?;
        Some((Some(index.info(*target)), *start))
    });
    for (target, start) in pk_subqueries.chain(rel_subqueries) {
        let Some(inner) = sites.iter().find(|s| s.span.start == start) else {
            continue;
        };
        let Resolved::Class(model) = index.resolve_at(file, &inner.receiver, &inner.root) else {
            continue;
        };
        let inner_info = index.info(model);
        let keys_of = target.unwrap_or(info);
        let same_rows = target.is_none() && std::ptr::eq(inner_info, info);
        if !same_rows {
            let [field] = inner.values_fields.as_slice() else {
                continue;
            };
            if !reads_keys_of(index, inner_info, field, keys_of) {
                continue;
            }
        }
        let scoped = manager_at(inner_info, inner).is_some_and(|(_, s, _)| s);
        if scoped
            || filtered_at(
                index,
                file,
                sites,
                inner_info,
                inner,
                tenant_fields,
                trust_params,
                depth + 1,
            )
        {
            return true;
        }
    }
    false
}

/// Is `site` written inline as the `pk__in=`/`<relation>__in=` value of another query chain
/// on a tenant-owned model (`Issue.objects.filter(id__in=Label.objects.filter(...)
/// .values("issue_id"))`)? Its rows only narrow the outer query, whose own rows are all that
/// is read: that query is scoped, tenant-filtered, or reported itself. (Written inline, the
/// subquery has no other use; a local holding it may be iterated elsewhere.)
pub fn narrows_owned_query(
    index: &Index,
    file: FileId,
    sites: &[QuerySite],
    site: &QuerySite,
) -> bool {
    let start = site.span.start;
    sites.iter().any(|outer| {
        outer.span.start < start
            && (outer.pk_in_subqueries.contains(&start)
                || outer.rel_in_subqueries.iter().any(|(_, s)| *s == start))
            && matches!(index.resolve_at(file, &outer.receiver, &outer.root),
                Resolved::Class(model) if index.info(model).needs_scoping())
    })
}

/// Does the values path `field` of a query on the model with `inner` read keys of rows of the
/// model with `target`: its own `id`/`pk` when it is that model, a relation to it (`issue_id`,
/// `issue`), or a path of tenant relations ending at it (`remote_product__local_instance_id`)?
fn reads_keys_of(index: &Index, inner: &ClassInfo, field: &str, target: &ClassInfo) -> bool {
    let mut cur = inner;
    let mut segments = field.split("__").peekable();
    let mut hops = 0;
    while let Some(seg) = segments.next() {
        if segments.peek().is_none() {
            if matches!(seg, "id" | "pk") {
                return std::ptr::eq(cur, target);
            }
            let rel = seg.strip_suffix("_id").unwrap_or(seg);
            return cur
                .tenant_relations
                .iter()
                .any(|(r, t)| r == rel && std::ptr::eq(index.info(*t), target));
        }
        hops += 1;
        let Some((_, next)) = cur.tenant_relations.iter().find(|(r, _)| r == seg) else {
            return false;
        };
        if hops > 4 {
            return false;
        }
        cur = index.info(*next);
    }
    false
}

/// `filter(content_type=ct, object_id=self.pk)` in a method of a tenant-owned model: the rows a
/// generic relation of the queried model (`GenericForeignKey("content_type", "object_id")`, on
/// it or a base) attaches to this instance, which are its tenant's.
fn generic_relation_to_self(index: &Index, file: FileId, site: &QuerySite) -> bool {
    if site.self_key_keywords.is_empty() {
        return false;
    }
    let facts = index.facts(file);
    let Some(class) = facts.function(site.scope).and_then(|f| f.class) else {
        return false;
    };
    if !index.info(ClassId { file, class }).needs_scoping() {
        return false;
    }
    let Resolved::Class(model) = index.resolve_at(file, &site.receiver, &site.root) else {
        return false;
    };
    // The content type must be `self`'s too: another model's rows with the same pk are not.
    let has = |k: &str| site.self_key_keywords.iter().any(|f| f == k);
    index.ancestors(Resolved::Class(model)).any(|anc| {
        let Resolved::Class(c) = anc else {
            return false;
        };
        index.class(c).assigns.iter().any(|a| {
            let Some(call) = a.value.as_call() else {
                return false;
            };
            let gfk = matches!(
                index.class_like(c.file, &call.func),
                ClassLike::External(p) if p == "django.contrib.contenttypes.fields.GenericForeignKey"
            );
            let field = |i: usize, kw: &str, default: &str| -> Option<String> {
                match call
                    .args
                    .get(i)
                    .or_else(|| call.keywords.iter().find(|(k, _)| k == kw).map(|(_, v)| v))
                {
                    None => Some(default.to_string()),
                    Some(ExprRef::Str(s)) => Some(s.clone()),
                    Some(_) => None,
                }
            };
            if !gfk {
                return false;
            }
            let (Some(ct), Some(fk)) = (
                field(0, "ct_field", "content_type"),
                field(1, "fk_field", "object_id"),
            ) else {
                return false;
            };
            has(&ct) && site.self_key_keywords.iter().any(|k| *k == fk)
        })
    })
}

/// Are raw ids that are parameters of the function trusted on relations to tenant-owned models
/// (and, in Celery tasks, as primary keys)? Only when `strict-parent-lookups` is off and the
/// project scopes in views rather than in managers (no scoped manager anywhere, as TEN100
/// computes it): where managers scope, a query through an unscoped one is an explicit escape
/// and a raw id there is not a tenant constraint.
pub fn trust_params(ctx: &super::Context) -> bool {
    !ctx.conv().strict_parent_lookups
        && super::ten100_no_scoped_manager::scoping(ctx).managerless(ctx.index)
}

/// Is function scope `scope` the body of a task queue's task: a function decorated with
/// Celery's task decorators (as TEN402 knows them) or huey's (`@db_task()`, `@task()`,
/// `@db_periodic_task(...)`, resolved into the `huey` package), or of a function nested in
/// one (`def actual_task(): ...` defined and run inside the task)?
pub fn in_task(ctx: &super::Context, scope: u32) -> bool {
    let mut scope = scope;
    for _ in 0..8 {
        if scope == 0 {
            return false;
        }
        let Some(f) = ctx.facts.function(scope) else {
            return false;
        };
        if f.decorators.iter().any(|d| task_decorator(ctx, d)) {
            return true;
        }
        scope = f.parent_scope;
    }
    false
}

/// Is function scope `scope` the body of a periodic job, or of a function nested in one: a
/// function decorated with huey's `@periodic_task(...)`/`@db_periodic_task(...)` or Celery's
/// `@periodic_task(...)`, a module-level Celery task that a beat schedule anywhere in the
/// project runs without arguments (by its `name=` or its module path and name), or a helper only
/// such jobs call? The scheduler runs it with no tenant: its queries are global on purpose.
pub fn in_periodic_task(ctx: &super::Context, scope: u32) -> bool {
    ctx.conv().global_periodic_tasks && in_periodic_job(ctx, scope, 0)
}

/// [`in_periodic_task`], `depth` helpers away from the job.
fn in_periodic_job(ctx: &super::Context, scope: u32, depth: u32) -> bool {
    let mut scope = scope;
    for _ in 0..8 {
        let Some(f) = ctx.facts.function(scope) else {
            return false;
        };
        if f.decorators.iter().any(|d| periodic_decorator(ctx, d)) {
            return true;
        }
        if f.parent_scope == 0 {
            return f.class.is_none() && (scheduled(ctx, f) || periodic_only(ctx, f, depth));
        }
        scope = f.parent_scope;
    }
    false
}

/// Is module-level function `f` a helper that only periodic jobs run: called in this file, every
/// call inside a periodic job (or inside another such helper), and neither called nor imported
/// by name in any other file (plane's `archive_old_issues()`, called only by the scheduled
/// `archive_and_close_old_issues`)? A task itself is not a helper: a caller may enqueue it
/// with a tenant's work.
fn periodic_only(ctx: &super::Context, f: &crate::facts::FunctionFact, depth: u32) -> bool {
    if depth > 2 || f.decorators.iter().any(|d| task_decorator(ctx, d)) {
        return false;
    }
    // Called in this file, by its bare name, only from periodic jobs (or helpers only they
    // call), never from its own body, and never inside a loop over rows (`for p in projects:
    // close_for(p)` does one row's work).
    let mut calls = ctx
        .sites
        .calls
        .iter()
        .filter(|c| matches!(&c.func, ExprRef::Name(n) if *n == f.name))
        .peekable();
    let only_jobs = calls.peek().is_some()
        && calls.all(|c| {
            !c.in_row_loop
                && !ctx.facts.scope_within(c.scope, f.scope)
                && in_periodic_job(ctx, c.scope, depth + 1)
        });
    if !only_jobs {
        return false;
    }
    let elsewhere = ctx.shared.called_or_imported.get_or_init(|| {
        let mut counts: rustc_hash::FxHashMap<Name, u32> = Default::default();
        for (_, facts) in ctx.index.files() {
            let imported = facts.imports.iter().filter(|i| i.from_module.is_some());
            let names = facts
                .call_names
                .iter()
                .chain(imported.flat_map(|i| i.names.iter().map(|(n, _)| n)));
            let mut seen: rustc_hash::FxHashSet<&Name> = Default::default();
            for n in names {
                if seen.insert(n) {
                    *counts.entry(n.clone()).or_default() += 1;
                }
            }
        }
        counts
    });
    // This file calls it (once in the count); no other file calls or imports the name.
    elsewhere.get(&f.name).copied().unwrap_or(0) <= 1
}

fn periodic_decorator(ctx: &super::Context, decorator: &crate::facts::ExprRef) -> bool {
    let func = match decorator {
        crate::facts::ExprRef::Call(c) => &c.func,
        other => other,
    };
    match ctx.index.resolve_expr(ctx.file, func) {
        Resolved::External(p) => {
            matches!(p.split('.').next(), Some("huey" | "celery"))
                && matches!(
                    crate::index::last_component(&p),
                    "periodic_task" | "db_periodic_task"
                )
        }
        _ => false,
    }
}

/// Is top-level function `f` a task that a beat schedule runs?
fn scheduled(ctx: &super::Context, f: &crate::facts::FunctionFact) -> bool {
    let names = ctx.shared.periodic_tasks.get_or_init(|| {
        ctx.index
            .files()
            .flat_map(|(_, facts)| facts.periodic_tasks.iter().cloned())
            .collect()
    });
    if names.is_empty() {
        return false;
    }
    f.decorators.iter().any(|d| {
        if !task_decorator(ctx, d) {
            return false;
        }
        let named = match d {
            crate::facts::ExprRef::Call(c) => c.keywords.iter().find_map(|(k, v)| match v {
                crate::facts::ExprRef::Str(s) if k == "name" => Some(s.as_str()),
                _ => None,
            }),
            _ => None,
        };
        match named {
            Some(name) => names.contains(name),
            None => {
                let module = ctx.index.module(ctx.file);
                names.contains(&format!("{module}.{}", f.name))
            }
        }
    })
}

fn task_decorator(ctx: &super::Context, decorator: &crate::facts::ExprRef) -> bool {
    if super::ten402_task_without_tenant_context::task_decorator(ctx, decorator).is_some() {
        return true;
    }
    let func = match decorator {
        crate::facts::ExprRef::Call(c) => &c.func,
        other => other,
    };
    match ctx.index.resolve_expr(ctx.file, func) {
        Resolved::External(p) => {
            p.split('.').next() == Some("huey")
                && matches!(
                    crate::index::last_component(&p),
                    "task" | "db_task" | "periodic_task" | "db_periodic_task"
                )
        }
        _ => false,
    }
}

/// Does the chain call a method that applies the tenant filter: one of `tenant-filter-methods`,
/// or a method of the manager (or its queryset) whose body filters `self` on the tenant
/// (`def for_company(self, c): return self.filter(multi_tenant_company=c)`)?
fn filtering_method(index: &Index, info: &ClassInfo, site: &QuerySite, trust_params: bool) -> bool {
    let conv = index.conv();
    if site
        .calls
        .iter()
        .any(|m| conv.tenant_filter_methods.iter().any(|t| t == m.as_str()))
    {
        return true;
    }
    let Some((_, _, Some(class))) = manager_of(info, &site.manager) else {
        return false;
    };
    site.calls
        .iter()
        .any(|m| method_pins(index, info, class, m, trust_params, 0))
}

/// Does the project method `m` of `class` (a manager or queryset class) filter `self` on the
/// tenant: in its own body, or in a helper it hands the work to (`self.helper(...)`,
/// `self.get_queryset().helper(...)`, followed a few levels deep)?
fn method_pins(
    index: &Index,
    info: &ClassInfo,
    class: &ClassLike,
    m: &str,
    trust_params: bool,
    depth: u32,
) -> bool {
    if depth > 4 || QUERY_METHODS.contains(&m) {
        return false;
    }
    let Some(owner) = index.like_method_owner(class, m) else {
        return false;
    };
    let facts = index.facts(owner.file);
    let tenant_fields = &index.conv().tenant_fields;
    if facts.method_filters.iter().any(|f| {
        f.class == owner.class
            && f.method == m
            && f.keywords
                .iter()
                .any(|k| pins_tenant(index, info, k, tenant_fields, trust_params, 0))
    }) {
        return true;
    }
    facts
        .method_links
        .iter()
        .filter(|l| l.class == owner.class && l.method == m)
        .any(|l| match &l.target {
            LinkTarget::SelfMethod(helper) => {
                method_pins(index, info, class, helper, trust_params, depth + 1)
            }
            LinkTarget::QuerysetMethod(helper) => queryset_of(index, class)
                .is_some_and(|qs| method_pins(index, info, &qs, helper, trust_params, depth + 1)),
            LinkTarget::QuerysetClass(_) | LinkTarget::AttrCall(..) => false,
        })
}

/// The lookups of the `**self.<attr>["<key>"]` arguments of the chain, where every assignment
/// of `self.<attr>` in the class of the enclosing method and its bases is a call of a project
/// function whose every `return` is a dict with `"<key>"` mapping to a dict literal (plane's
/// analytics views: `self.filters = get_analytics_filters(slug=slug, ...)`, which returns
/// `{"base_filters": {"workspace__slug": slug, ...}, ...}`). Only the keys common to every such
/// assignment count.
fn splat_keywords(index: &Index, file: FileId, site: &QuerySite) -> Vec<Name> {
    let mut out = Vec::new();
    for (attr, key) in &site.self_attr_splats {
        let mut common: Option<Vec<Name>> = None;
        for (f, callee) in attr_assignments(index, file, site, attr) {
            let keys = returned_dict_keys(index, f, callee, key).unwrap_or_default();
            common = Some(match common {
                None => keys,
                Some(mut kept) => {
                    kept.retain(|k| keys.contains(k));
                    kept
                }
            });
        }
        out.extend(common.unwrap_or_default());
    }
    out
}

/// Every `self.<attr> = ...` the facts record (see [`LinkTarget::AttrCall`]) in the class of the
/// method holding `site` and its bases: the file and what was called (`ExprRef::Other` for a
/// dict assigned in place).
fn attr_assignments<'i>(
    index: &'i Index,
    file: FileId,
    site: &QuerySite,
    attr: &'i Name,
) -> impl Iterator<Item = (FileId, &'i ExprRef)> {
    let class = index
        .facts(file)
        .function(site.scope)
        .and_then(|f| f.class)
        .map(|class| ClassId { file, class });
    class
        .into_iter()
        .flat_map(move |class| index.ancestors(Resolved::Class(class)))
        .filter_map(|r| match r {
            Resolved::Class(c) => Some(c),
            _ => None,
        })
        .flat_map(move |c| {
            index
                .facts(c.file)
                .method_links
                .iter()
                .filter_map(move |link| match &link.target {
                    LinkTarget::AttrCall(a, callee) if link.class == c.class && a == attr => {
                        Some((c.file, callee))
                    }
                    _ => None,
                })
        })
}

/// The keys of the dict under `key` in what the project function `callee` (resolved from
/// `file`) returns, if every `return` gives one (see [`crate::facts::DictReturn`]).
fn returned_dict_keys(
    index: &Index,
    file: FileId,
    callee: &ExprRef,
    key: &str,
) -> Option<Vec<Name>> {
    let (file, function) = project_function(index, file, callee)?;
    index
        .facts(file)
        .dict_returns
        .iter()
        .find(|d| d.function as usize == function && d.key == key)
        .map(|d| d.keys.to_vec())
}

/// The module-level project function `callee` (resolved from `file`) names: its file and index.
fn project_function(index: &Index, file: FileId, callee: &ExprRef) -> Option<(FileId, usize)> {
    let Resolved::Symbol { file, name } = index.resolve_expr(file, callee) else {
        return None;
    };
    // The module's last definition of the name is the one bound at import.
    let function = index
        .facts(file)
        .functions
        .iter()
        .rposition(|f| f.class.is_none() && f.parent_scope == 0 && f.name == name)?;
    Some((file, function))
}

/// The project functions whose returned dicts a `**self.<attr>["<key>"]` of the chain was read
/// from (see [`splat_keywords`]): a change there can make the query unscoped, so a finding on it
/// names them (and a pre-commit run on their file reports it).
pub fn splat_related(index: &Index, file: FileId, site: &QuerySite) -> Vec<Related> {
    let mut out = Vec::new();
    let mut attrs: Vec<&Name> = site.self_attr_splats.iter().map(|(a, _)| a).collect();
    attrs.sort();
    attrs.dedup();
    for attr in attrs {
        for (f, callee) in attr_assignments(index, file, site, attr) {
            if let Some((f, i)) = project_function(index, f, callee) {
                let function = &index.facts(f).functions[i];
                out.push(Related::new(
                    index.path(f).to_path_buf(),
                    function.name_span,
                    format!("`self.{attr}` holds what `{}` returns", function.name),
                ));
            }
        }
    }
    out
}

/// The queryset class behind a manager class: its `from_queryset(...)` or `as_manager()`
/// queryset, or the class its `get_queryset` (its own or a base's) returns an instance of.
fn queryset_of(index: &Index, class: &ClassLike) -> Option<ClassLike> {
    match class {
        ClassLike::FromQueryset(_, qs) | ClassLike::AsManager(qs) => Some((**qs).clone()),
        ClassLike::Class(_) => {
            let owner = index.like_method_owner(class, "get_queryset")?;
            index
                .facts(owner.file)
                .method_links
                .iter()
                .find_map(|l| match &l.target {
                    LinkTarget::QuerysetClass(called)
                        if l.class == owner.class && l.method == "get_queryset" =>
                    {
                        Some(index.class_like(owner.file, called))
                    }
                    _ => None,
                })
                .filter(|qs| matches!(qs, ClassLike::Class(_)))
        }
        _ => None,
    }
}

/// Does the lookup `keyword` pin the tenant of the rows of a model with `info`? A lookup on a
/// tenant field always does (`tenant=`, `tenant_id=`, `tenant__slug=`); a lookup that pins a
/// relation to a tenant-owned model (`issue=`, `project_id__in=`) does when its value is an
/// `instance` or rows already read (a raw id may be another tenant's); a lookup through such a
/// relation onto the target's tenant field (`project__tenant=`) always does.
pub fn pins_tenant(
    index: &Index,
    info: &ClassInfo,
    keyword: &str,
    tenant_fields: &[String],
    instance: bool,
    depth: u32,
) -> bool {
    if info.is_tenant_filter(keyword, tenant_fields) {
        return true;
    }
    if depth > 4 {
        return false;
    }
    for (rel, target) in &info.tenant_relations {
        let Some(rest) = keyword.strip_prefix(rel.as_str()) else {
            continue;
        };
        if instance && PIN_SUFFIXES.contains(&rest) {
            return true;
        }
        if let Some(sub) = rest.strip_prefix("__")
            && pins_tenant(
                index,
                index.info(*target),
                sub,
                tenant_fields,
                instance,
                depth + 1,
            )
        {
            return true;
        }
    }
    // A reverse relation from a tenant-owned model (`tasks__status=status`): the rows are those
    // some source row in the pinned tenant points at.
    for (rel, source) in &info.tenant_reverse_relations {
        let Some(rest) = keyword.strip_prefix(rel.as_str()) else {
            continue;
        };
        let source = index.info(*source);
        if instance && REVERSE_PIN_SUFFIXES.contains(&rest) {
            return true;
        }
        if let Some(sub) = rest.strip_prefix("__")
            && pins_tenant(index, source, sub, tenant_fields, instance, depth + 1)
        {
            return true;
        }
    }
    false
}

/// What may follow a reverse relation's name in a lookup that pins it to given rows.
const REVERSE_PIN_SUFFIXES: &[&str] = &["", "__in", "__exact", "__pk", "__pk__in"];

/// What may follow a relation's name in a lookup that pins it to given rows.
const PIN_SUFFIXES: &[&str] = &[
    "",
    "_id",
    "__in",
    "_id__in",
    "__exact",
    "_id__exact",
    "__pk",
    "__id",
    "__pk__in",
    "__id__in",
];

/// Is the query bounded by rows a scoped query already read: an empty queryset (`.none()`), a
/// `Prefetch(queryset=...)` (restricted to the outer query's related rows), or a lookup on the
/// primary key of an instance in hand (`pk=self.pk`)?
pub fn bounded(site: &QuerySite) -> bool {
    site.empty || site.in_prefetch || site.pk_of_loaded
}

/// Is the query a `pk`/`id` lookup on the row a project function returned (`snapshot =
/// take_snapshot(obj)`, then `filter(id=snapshot.id)`, where every `return` of `take_snapshot`
/// gives a row read by a query or nothing), or on an instance of a model built in the function
/// (`n = Notification(channel=self)`, then `filter(id=n.id)`)? Bounded like a lookup on an
/// instance in hand.
pub fn pk_of_returned_row(ctx: &super::Context, site: &QuerySite) -> bool {
    let Some(callee) = &site.pk_of_call else {
        return false;
    };
    let (file, name) = match ctx.index.resolve_expr(ctx.file, callee) {
        Resolved::Symbol { file, name } => (file, name),
        // `n = Notification(channel=self)`, saved, then `id=n.id`: the key of a row built here.
        Resolved::Class(c) => return ctx.index.info(c).is_model,
        _ => return false,
    };
    // The module's last definition of the name is the one bound at import.
    ctx.index
        .facts(file)
        .functions
        .iter()
        .rev()
        .find(|f| f.class.is_none() && f.parent_scope == 0 && f.name == name)
        .is_some_and(|f| f.returns_row)
}

/// A note for the findings on a model that is tenant-owned only by failing closed: its base is
/// named like a configured tenant base but imported from a project module that does not define
/// it.
pub fn unresolved_base_note(info: &ClassInfo) -> Option<String> {
    let Some(TenantReason::UnresolvedBase(path)) = &info.tenant else {
        return None;
    };
    let (module, name) = path.rsplit_once('.')?;
    Some(format!(
        "note: its base `{name}` is imported from `{module}`, which does not define it; treated as the tenant base"
    ))
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
    // Where field `field` of class `c` is declared (its value, `ForeignKey(...)`).
    let declared = |c: ClassId, field: &Name, what: String| {
        let a = index.class(c).assigns.iter().find(|a| a.name == *field)?;
        Some(Related::new(
            index.path(c.file).to_path_buf(),
            a.value_span,
            what,
        ))
    };
    if let Some(TenantReason::Field { field, in_class }) = &info.tenant
        && *in_class != model
    {
        out.extend(declared(
            *in_class,
            field,
            format!("tenant field `{field}`"),
        ));
    }
    if let Some(TenantReason::Parent {
        field,
        in_class,
        parent,
    }) = &info.tenant
    {
        let parent_class = index.class(*parent);
        out.extend(declared(
            *in_class,
            field,
            format!(
                "parent relation `{field}` (`tenant-parent-fields`) to tenant-owned `{}`",
                parent_class.name
            ),
        ));
        out.push(Related::new(
            index.path(parent.file).to_path_buf(),
            parent_class.name_span,
            format!("parent model `{}`", parent_class.name),
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
