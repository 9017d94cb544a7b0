//! TEN203 raw-sql-without-tenant-filter: raw SQL (`Model.objects.raw(sql)`,
//! `cursor.execute(sql)` / `executemany`, `RawSQL(sql, params)`, `.extra(tables=..., where=...)`)
//! whose SQL reads a tenant-owned model's table without a predicate on its tenant column.
//!
//! Only SQL that is a string literal (or an f-string, `+`, `%` or `.format` with literal parts) is
//! analysed; SQL held in a variable is not. With the schema-per-tenant conventions (the
//! django-tenants preset), the rule instead flags SQL that names a schema explicitly
//! (`FROM tenant_a.orders`) or changes `search_path`: both step out of the tenant's schema.

use rustc_hash::FxHashMap as HashMap;

use super::Context;
use crate::diagnostics::Diagnostic;
use crate::facts::{ArgValue, CallSite, ExprRef};
use crate::index::{ClassId, Index, Resolved, TenantReason};
use crate::locate::Span;
use crate::registry::{FixAvailability, Rule, RuleMeta};
use crate::sql::{Parsed, TenantTable, evaluate, parse};

/// Keyword names that carry the SQL of `execute`, `raw` and `RawSQL`.
const SQL_KEYWORDS: &[&str] = &["sql", "query", "raw_query", "operation"];

/// Schemas every tenant shares (django-tenants keeps shared apps in `public`).
const SHARED_SCHEMAS: &[&str] = &["public", "pg_catalog", "information_schema", "pg_temp"];

/// One piece of SQL found at a call.
struct SqlSite<'a> {
    call: &'a CallSite,
    kind: SqlKind<'a>,
}

enum SqlKind<'a> {
    /// A whole statement (or expression, for `RawSQL`).
    Statement(&'a str),
    /// `.extra(tables=[...], where=[...])`: literal table names, literal where clauses (`None`
    /// when there is a `where` that is not literal).
    Extra {
        tables: Vec<&'a str>,
        wheres: Option<Vec<&'a str>>,
    },
}

impl SqlSite<'_> {
    /// Where to report: the SQL argument when it is passed positionally, else the call.
    fn span(&self) -> Span {
        match self.kind {
            SqlKind::Statement(_) if !self.call.args.is_empty() => self
                .call
                .arg_spans
                .first()
                .copied()
                .unwrap_or(self.call.span),
            _ => self.call.span,
        }
    }
}

fn sql_arg(call: &CallSite) -> Option<&str> {
    let arg = call.args.first().or_else(|| {
        call.keywords
            .iter()
            .find(|(k, _)| SQL_KEYWORDS.contains(&k.as_str()))
            .map(|(_, v)| v)
    })?;
    match arg {
        ArgValue::Str(s) => Some(s),
        _ => None,
    }
}

/// `.extra()`'s argument by keyword or position (`select, where, params, tables`).
fn extra_arg<'a>(call: &'a CallSite, name: &str, pos: usize) -> Option<&'a ArgValue> {
    call.keywords
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .or_else(|| call.args.get(pos))
}

fn literal_list(v: &ArgValue) -> Option<Vec<&str>> {
    match v {
        ArgValue::Str(s) => Some(vec![s.as_str()]),
        ArgValue::Seq(items) => items
            .iter()
            .map(|i| match i {
                ArgValue::Str(s) => Some(s.as_str()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn sql_sites<'a>(ctx: &'a Context) -> Vec<SqlSite<'a>> {
    let mut out = Vec::new();
    for call in &ctx.sites.calls {
        let method = matches!(call.func, ExprRef::Attr(..));
        match call.name() {
            "raw" if method => {
                // `Model.objects.raw(sql)` (any receiver: the SQL itself is what is checked).
                if let Some(sql) = sql_arg(call) {
                    out.push(SqlSite {
                        call,
                        kind: SqlKind::Statement(sql),
                    });
                }
            }
            // `RawSQL` is Django's expression (or a project subclass of it, under the same name).
            "execute" | "executemany" | "RawSQL" => {
                if let Some(sql) = sql_arg(call) {
                    out.push(SqlSite {
                        call,
                        kind: SqlKind::Statement(sql),
                    });
                }
            }
            "extra" if method => {
                let tables = match extra_arg(call, "tables", 3) {
                    None => Vec::new(),
                    Some(v) => match literal_list(v) {
                        Some(t) => t,
                        None => continue,
                    },
                };
                let wheres = match extra_arg(call, "where", 1) {
                    None => Some(Vec::new()),
                    Some(v) => literal_list(v),
                };
                if tables.is_empty() && wheres.as_ref().is_none_or(|w| w.is_empty()) {
                    continue;
                }
                out.push(SqlSite {
                    call,
                    kind: SqlKind::Extra { tables, wheres },
                });
            }
            _ => {}
        }
    }
    out
}

pub static META: RuleMeta = RuleMeta {
    code: "TEN203",
    name: "raw-sql-without-tenant-filter",
    summary: "Raw SQL that reads a tenant-owned table without a predicate on its tenant column",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN203.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(RawSqlWithoutTenantFilter);

/// Not run in `bypass-allowed-paths` (the engine's `rules_for`): data migrations, maintenance
/// commands and tests work across tenants on purpose.
fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    super::rust::ten203::check(ctx, out);
    let sites = sql_sites(ctx);
    if sites.is_empty() {
        return;
    }
    if ctx.conv().schema_per_tenant {
        for site in &sites {
            schema_check(ctx, site, out);
        }
        return;
    }
    // Parse every piece of SQL once, then look up only the tables it names.
    let parsed: Vec<Option<Parsed>> = sites
        .iter()
        .map(|site| match &site.kind {
            SqlKind::Statement(sql) => Some(parse(sql)),
            SqlKind::Extra { tables, wheres } => {
                let wheres = wheres.as_ref()?;
                Some(parse(&extra_sql(tables, wheres)))
            }
        })
        .collect();
    let mut wanted: Vec<&str> = parsed
        .iter()
        .flatten()
        .flat_map(|p| {
            p.tables
                .iter()
                .filter_map(|t| t.parts.last().map(String::as_str))
        })
        .collect();
    wanted.sort_unstable();
    wanted.dedup();
    if wanted.is_empty() {
        return;
    }
    let all = ctx
        .shared
        .tenant_tables
        .get_or_init(|| tenant_tables(ctx.index));
    if !wanted.iter().any(|w| all.contains_key(*w)) {
        return;
    }
    let tables = all;
    for (site, parsed) in sites.iter().zip(&parsed) {
        let Some(parsed) = parsed else { continue };
        let findings = evaluate(parsed, tables);
        let Some(first) = findings.first() else {
            continue;
        };
        let more = if findings.len() > 1 {
            format!(" (and {} more tenant-owned table(s))", findings.len() - 1)
        } else {
            String::new()
        };
        let what = match site.kind {
            SqlKind::Extra { .. } => "`.extra()`",
            SqlKind::Statement(_) => "Raw SQL",
        };
        out.push(
            Diagnostic::new(
                RULE,
                format!(
                    "{what} on `{}` (the table of tenant-owned model `{}`) has no predicate on its tenant column `{}`{more}",
                    first.table, first.model, first.column
                ),
                ctx.path().to_path_buf(),
                site.span(),
            )
            .with_help(Some(format!(
                "Add `{}.{} = %s` (the current tenant's id) to the WHERE clause, or use the ORM through the scoped manager",
                first.alias, first.column
            ))),
        );
    }
}

/// `.extra()` adds its tables to FROM and ANDs its where clauses to the queryset's own filter
/// (scoped, or TEN201's business): as a statement, only the extra tables and the subqueries in
/// the where clauses need their own tenant predicate.
fn extra_sql(tables: &[&str], wheres: &[&str]) -> String {
    let mut sql = String::from("SELECT * FROM ");
    let names: Vec<String> = tables
        .iter()
        .filter(|n| !n.contains('"'))
        .map(|n| format!("\"{n}\""))
        .collect();
    if names.is_empty() {
        sql.push_str("{}");
    }
    sql.push_str(&names.join(", "));
    if !wheres.is_empty() {
        sql.push_str(" WHERE (");
        sql.push_str(&wheres.join(") AND ("));
        sql.push(')');
    }
    sql
}

/// The tables (lowercase names) of the project's concrete tenant-owned models, with their tenant
/// columns. One pass over the project's classes, done once per run (see [`super::Shared`]).
pub fn tenant_tables(index: &Index) -> HashMap<String, TenantTable> {
    let mut out: HashMap<String, TenantTable> = HashMap::default();
    for (fi, f) in index.files() {
        if f.classes.is_empty() {
            continue;
        }
        let module_label = app_label(index.module(fi));
        for (ci, class) in f.classes.iter().enumerate() {
            let id = ClassId {
                file: fi,
                class: ci as u32,
            };
            let info = index.info(id);
            if !info.has_own_tenant() || info.abstract_ || info.proxy {
                continue;
            }
            let table = match &class.meta.db_table {
                Some(t) => t.to_ascii_lowercase(),
                None => format!(
                    "{}_{}",
                    class.meta.app_label.as_deref().unwrap_or(module_label),
                    class.name
                )
                .to_ascii_lowercase(),
            };
            if out.contains_key(&table) {
                continue;
            }
            let own_field = matches!(&info.tenant, Some(TenantReason::Field { in_class, .. }) if *in_class == id);
            // Multi-table inheritance: a child of a concrete model keeps only its own fields in
            // its table; the tenant column lives in the parent's.
            if !own_field
                && info.bases.iter().any(|b| {
                    matches!(b, Resolved::Class(b) if index.info(*b).is_model && !index.info(*b).abstract_)
                })
            {
                continue;
            }
            let mut columns: Vec<String> = Vec::new();
            match &info.tenant {
                Some(TenantReason::Field { field, .. }) => {
                    columns.push(format!("{}_id", field.to_ascii_lowercase()));
                }
                // A tenant base class: django-multitenant names the column in the model's
                // `tenant_id` attribute; otherwise the configured tenant fields' columns.
                _ => match &info.tenant_column {
                    Some(col) => columns.push(col.to_ascii_lowercase()),
                    None => columns.extend(
                        index
                            .conv()
                            .tenant_fields
                            .iter()
                            .map(|f| format!("{}_id", f.to_ascii_lowercase())),
                    ),
                },
            }
            out.insert(
                table,
                TenantTable {
                    model: class.name.to_string(),
                    columns,
                },
            );
        }
    }
    out
}

/// Django's default app label: the package that holds the `models` module
/// (`billing.models.invoice` and `apps.billing.models` give `billing`).
fn app_label(module: &str) -> &str {
    let mut previous: Option<&str> = None;
    let mut label: Option<&str> = None;
    for part in module.split('.') {
        if part == "models" && previous.is_some() {
            label = previous;
        }
        previous = Some(part);
    }
    if let Some(label) = label {
        return label;
    }
    // No `models` module: the package that holds this module.
    let mut parts = module.rsplit('.');
    let _ = parts.next();
    parts.next().unwrap_or(module)
}

// ------------------------------------------------------------------ SQL tokens

// ------------------------------------------------------------------ schema per tenant

fn schema_check(ctx: &Context, site: &SqlSite, out: &mut Vec<Diagnostic>) {
    let texts: Vec<&str> = match &site.kind {
        SqlKind::Statement(s) => vec![s],
        SqlKind::Extra { wheres, .. } => wheres.clone().unwrap_or_default(),
    };
    for sql in texts {
        let parsed = parse(sql);
        let problem = if parsed.sets_search_path {
            Some("changes `search_path`".to_string())
        } else {
            parsed.tables.iter().find_map(|t| {
                (t.parts.len() >= 2)
                    .then(|| &t.parts[t.parts.len() - 2])
                    .filter(|s| !SHARED_SCHEMAS.contains(&s.as_str()))
                    .map(|s| {
                        format!(
                            "names schema `{s}` explicitly (`{}`)",
                            t.parts[t.parts.len() - 2..].join(".")
                        )
                    })
            })
        };
        if let Some(problem) = problem {
            out.push(
                Diagnostic::new(
                    RULE,
                    format!(
                        "Raw SQL {problem}, stepping out of the current tenant's schema"
                    ),
                    ctx.path().to_path_buf(),
                    site.span(),
                )
                .with_help(Some(
                    "Leave the schema to the tenant connection (unqualified table names), or switch tenants with `schema_context(...)`".into(),
                )),
            );
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_labels() {
        assert_eq!(app_label("billing.models"), "billing");
        assert_eq!(app_label("billing.models.invoice"), "billing");
        assert_eq!(app_label("apps.billing.models"), "billing");
        assert_eq!(app_label("shop.tables"), "shop");
        assert_eq!(app_label("models"), "models");
    }
}
