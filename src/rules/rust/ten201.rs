//! TEN201 for Rust: a SeaORM (`Entity::find()`, `find_by_id`, `update_many`, `delete_many`, ...)
//! or Diesel (`table.filter(..).load(..)`, `diesel::update(..)`, `diesel::delete(..)`) query on a
//! tenant-owned table with no `.filter(...)` comparing a tenant column, and not passed through a
//! tenant helper. Unsafe fix where a tenant value is in scope: insert the filter.

use super::super::{Context, fix_with};
use super::{quiet_path, related, schema, target, tenant_table, tenant_value, tokens_to_source};
use crate::diagnostics::{Applicability, Diagnostic, Edit};
use crate::frontend::rust::OrmKind;
use crate::locate::Span;

pub fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(rust) = ctx.facts.rust.as_deref() else {
        return;
    };
    if rust.queries.is_empty() || quiet_path(ctx) {
        return;
    }
    let schema = schema(ctx);
    let conv = ctx.conv();
    for q in &rust.queries {
        if q.in_test {
            continue;
        }
        // Inside a function named in `tenant-filter-methods`: the project's own scoping helper.
        if q.func
            .and_then(|f| rust.functions.get(f as usize))
            .is_some_and(|f| conv.tenant_filter_methods.contains(&f.name))
        {
            continue;
        }
        let Some(t) = target(ctx, schema, rust, q) else {
            continue;
        };
        let Some((table, info)) = t
            .tables
            .iter()
            .find_map(|name| tenant_table(ctx, schema, name).map(|i| (*name, i)))
        else {
            continue;
        };
        let filtered = q
            .filter_columns
            .iter()
            .any(|c| super::names_column(c, &info.tenant_columns));
        let helper = q
            .calls
            .iter()
            .any(|c| schema.helpers.contains(c) || conv.tenant_filter_methods.contains(c));
        if filtered || helper {
            continue;
        }
        let column = &info.tenant_columns[0];
        let (what, col_path) = match q.kind {
            OrmKind::SeaOrm => (
                format!("SeaORM query `{}::{}()`", t.display, q.method),
                format!("{}::{}", t.column_prefix, super::camel(column)),
            ),
            OrmKind::Diesel => (
                format!("Diesel query on `{}`", t.display),
                format!("{}::{column}", t.column_prefix),
            ),
        };
        let message = format!(
            "{what} reads tenant-owned table `{table}` with no filter on its tenant column `{column}`"
        );
        let value = tenant_value(ctx, rust, q.func);
        let fix = value.and_then(|value| {
            let col: syn::Expr = syn::parse_str(&col_path).ok()?;
            let val: syn::Expr = syn::parse_str(&value).ok()?;
            let code = tokens_to_source(quote::quote!(.filter(#col.eq(#val))));
            fix_with(
                ctx,
                Applicability::Unsafe,
                format!("Filter on the tenant: insert `{code}`"),
                |_| Some(vec![Edit::new(Span::empty(q.insert_at), code.clone())]),
            )
        });
        out.push(
            Diagnostic::new(
                super::super::ten201_unscoped_query::RULE,
                message,
                ctx.path().to_path_buf(),
                q.span,
            )
            .with_related(related(ctx, table, info))
            .with_fix(fix)
            .with_help(Some(format!(
                "Add `.filter({col_path}.eq(<tenant>))`, or pass the query through a function that adds it"
            ))),
        );
    }
}
