//! TEN203 for Rust: sqlx SQL text (`query!`, `query_as!`, `query_scalar!`, `query(...)`,
//! `query_as::<_, T>(...)`) and Diesel's `sql_query(...)` that read a tenant-owned table without a
//! predicate on its tenant column. The SQL reader is the one Django raw SQL uses; a table joined
//! on its primary key to a tenant-picked table's column counts as picked (its rows are the ones
//! the tenant's rows point to).

use rustc_hash::FxHashMap as HashMap;

use super::super::Context;
use super::{quiet_path, related, schema, tenant_table};
use crate::diagnostics::Diagnostic;
use crate::sql::{TenantTable, evaluate_key_joins, parse};

pub fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(rust) = ctx.facts.rust.as_deref() else {
        return;
    };
    if rust.sql.is_empty() || quiet_path(ctx) {
        return;
    }
    let schema = schema(ctx);
    for site in rust.sql.iter().filter(|s| !s.in_test) {
        let parsed = parse(&site.sql);
        let mut tables: HashMap<String, TenantTable> = HashMap::default();
        for t in &parsed.tables {
            let Some(name) = t.parts.last() else { continue };
            if let Some(info) = tenant_table(ctx, schema, name) {
                tables.insert(
                    name.clone(),
                    TenantTable {
                        model: name.clone(),
                        columns: info.tenant_columns.clone(),
                    },
                );
            }
        }
        if tables.is_empty() {
            continue;
        }
        let findings = evaluate_key_joins(&parsed, &tables);
        let Some(first) = findings.first() else {
            continue;
        };
        let more = if findings.len() > 1 {
            format!(" (and {} more tenant-owned table(s))", findings.len() - 1)
        } else {
            String::new()
        };
        let info = tenant_table(ctx, schema, &first.table);
        out.push(
            Diagnostic::new(
                super::super::ten203_raw_sql_without_tenant_filter::RULE,
                format!(
                    "SQL on tenant-owned table `{}` has no predicate on its tenant column `{}`{more}",
                    first.table, first.column
                ),
                ctx.path().to_path_buf(),
                site.span,
            )
            .with_related(info.map(|i| related(ctx, &first.table, i)).unwrap_or_default())
            .with_help(Some(format!(
                "Add `{}.{} = $1` (the current tenant's id) to the WHERE clause",
                first.alias, first.column
            ))),
        );
    }
}
