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
    for call in &ctx.facts.calls {
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

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    // Data migrations, maintenance commands and tests work across tenants on purpose.
    if ctx.settings.bypass_allowed(ctx.path()) {
        return;
    }
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

// ------------------------------------------------------------------ tenant tables

pub struct TenantTable {
    pub model: String,
    /// The tenant columns (`tenant_id`), lowercase.
    pub columns: Vec<String>,
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
            if !info.needs_scoping() || info.abstract_ || info.proxy {
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

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    /// An identifier or keyword, lowercase and unquoted; `dynamic` when an interpolation is glued
    /// to it (`billing_{}`).
    Ident {
        text: String,
        quoted: bool,
        dynamic: bool,
    },
    /// A string literal's contents.
    Str(String),
    /// An interpolation (`{}`) or a query parameter (`%s`, `%(name)s`, `?`, `:name`, `$1`).
    Hole,
    Param,
    Dot,
    Comma,
    LParen,
    RParen,
    /// `=`
    Eq,
    Other,
}

impl Tok {
    fn word(&self) -> Option<&str> {
        match self {
            Tok::Ident {
                text,
                quoted: false,
                ..
            } => Some(text),
            _ => None,
        }
    }

    fn is_word(&self, w: &str) -> bool {
        self.word() == Some(w)
    }
}

fn tokenize(sql: &str) -> Vec<Tok> {
    let b = sql.as_bytes();
    let mut out: Vec<Tok> = Vec::new();
    // Byte ranges of identifiers and holes, to find glued interpolations.
    let mut ranges: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    let ident_char = |c: u8| c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80;
    while i < b.len() {
        let c = b[i];
        let start = i;
        match c {
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                    i += 1;
                }
                i += 2;
                continue;
            }
            b'\'' => {
                i += 1;
                let s = i;
                while i < b.len() {
                    if b[i] == b'\'' {
                        if b.get(i + 1) == Some(&b'\'') {
                            i += 2;
                            continue;
                        }
                        break;
                    }
                    i += 1;
                }
                out.push(Tok::Str(
                    String::from_utf8_lossy(&b[s..i.min(b.len())]).to_ascii_lowercase(),
                ));
                i += 1;
            }
            b'"' | b'`' | b'[' => {
                let close = if c == b'[' { b']' } else { c };
                i += 1;
                let s = i;
                while i < b.len() && b[i] != close {
                    i += 1;
                }
                let text = String::from_utf8_lossy(&b[s..i.min(b.len())]).to_ascii_lowercase();
                i += 1;
                let dynamic = text.contains('{');
                out.push(Tok::Ident {
                    text,
                    quoted: true,
                    dynamic,
                });
                ranges.push((start, i.min(b.len())));
            }
            b'{' => {
                let mut depth = 0;
                while i < b.len() {
                    match b[i] {
                        b'{' => depth += 1,
                        b'}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    i += 1;
                }
                i += 1;
                out.push(Tok::Hole);
                ranges.push((start, i.min(b.len())));
            }
            b'%' => {
                i += 1;
                if b.get(i) == Some(&b'(') {
                    while i < b.len() && b[i] != b')' {
                        i += 1;
                    }
                    i += 1;
                }
                if b.get(i).is_some_and(|c| c.is_ascii_alphabetic()) {
                    i += 1;
                    out.push(Tok::Param);
                } else if b.get(i) == Some(&b'%') {
                    i += 1;
                    out.push(Tok::Other);
                } else {
                    out.push(Tok::Other);
                }
            }
            b'?' => {
                i += 1;
                out.push(Tok::Param);
            }
            b':' if b
                .get(i + 1)
                .is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_') =>
            {
                i += 1;
                while i < b.len() && ident_char(b[i]) {
                    i += 1;
                }
                out.push(Tok::Param);
            }
            b'$' if b.get(i + 1).is_some_and(u8::is_ascii_digit) => {
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                out.push(Tok::Param);
            }
            b'.' | b'=' | b',' | b'(' | b')' => {
                i += 1;
                out.push(match c {
                    b'.' => Tok::Dot,
                    b'=' => Tok::Eq,
                    b',' => Tok::Comma,
                    b'(' => Tok::LParen,
                    _ => Tok::RParen,
                });
            }
            _ if c.is_ascii_digit() => {
                while i < b.len() && (ident_char(b[i]) || b[i] == b'.') {
                    i += 1;
                }
                out.push(Tok::Other);
            }
            _ if ident_char(c) => {
                while i < b.len() && ident_char(b[i]) {
                    i += 1;
                }
                out.push(Tok::Ident {
                    text: String::from_utf8_lossy(&b[start..i]).to_ascii_lowercase(),
                    quoted: false,
                    dynamic: false,
                });
                ranges.push((start, i));
            }
            _ => {
                i += 1;
                out.push(Tok::Other);
            }
        }
    }
    // An identifier glued to an interpolation (`billing_{}`, `{}_invoice`) is not a known name.
    let mut k = 0;
    for ti in 0..out.len() {
        if !matches!(out[ti], Tok::Ident { .. } | Tok::Hole) {
            continue;
        }
        let (s, e) = ranges[k];
        k += 1;
        if matches!(out[ti], Tok::Hole) {
            continue;
        }
        let glued_before = ti > 0 && matches!(out[ti - 1], Tok::Hole) && ranges[k - 2].1 == s;
        let glued_after =
            matches!(out.get(ti + 1), Some(Tok::Hole)) && ranges.get(k).is_some_and(|r| r.0 == e);
        if (glued_before || glued_after)
            && let Tok::Ident { dynamic, .. } = &mut out[ti]
        {
            *dynamic = true;
        }
    }
    out
}

/// Words that end a table reference (never an alias) or a clause.
const RESERVED: &[&str] = &[
    "where",
    "join",
    "inner",
    "left",
    "right",
    "full",
    "outer",
    "cross",
    "natural",
    "on",
    "using",
    "group",
    "order",
    "limit",
    "offset",
    "having",
    "union",
    "intersect",
    "except",
    "set",
    "values",
    "returning",
    "window",
    "fetch",
    "for",
    "select",
    "from",
    "as",
    "lateral",
    "only",
    "default",
    "and",
    "or",
    "not",
];

/// Words that start a clause in which column references are not predicates.
const CLAUSE_ENDS: &[&str] = &[
    "select",
    "from",
    "join",
    "group",
    "order",
    "limit",
    "offset",
    "union",
    "intersect",
    "except",
    "returning",
    "set",
    "values",
    "window",
    "fetch",
    "into",
];

// ------------------------------------------------------------------ SQL analysis

/// A table reference found after FROM, JOIN, UPDATE, INTO or USING.
#[derive(Debug)]
struct TableRef {
    /// Name parts, lowercase (`["tenant_a", "orders"]`).
    parts: Vec<String>,
    alias: Option<String>,
    block: usize,
    /// `INSERT INTO t (cols)`: the column list (`Some(vec![])` when there is none).
    insert_columns: Option<Vec<String>>,
}

/// A column mentioned in a predicate (after WHERE, ON or HAVING).
#[derive(Debug)]
struct PredRef {
    qualifier: Option<String>,
    column: String,
    block: usize,
    /// `a.col = b.col`: the column it is equated with. Such a join condition ties two tables'
    /// tenants together but does not by itself pick a tenant.
    joined: Option<(Option<String>, String)>,
}

#[derive(Default, Debug)]
struct Parsed {
    tables: Vec<TableRef>,
    preds: Vec<PredRef>,
    /// Blocks with an interpolated condition (`WHERE {}`): it may well be the tenant predicate.
    dynamic_pred: Vec<usize>,
    sets_search_path: bool,
}

fn parse(sql: &str) -> Parsed {
    let toks = tokenize(sql);
    let mut p = Parsed::default();
    // Query blocks: the statement, and every `(SELECT ...)` / `(WITH ...)` inside it.
    let mut block_count = 1usize;
    // (paren depth at which the block opened, block id, saved predicate state)
    let mut stack: Vec<(usize, usize, bool)> = vec![(0, 0, false)];
    let mut depth = 0usize;
    let mut in_pred = false;
    let mut i = 0;
    while i < toks.len() {
        let block = stack.last().map_or(0, |s| s.1);
        let t = &toks[i];
        match t {
            Tok::LParen => {
                depth += 1;
                if toks
                    .get(i + 1)
                    .is_some_and(|n| n.is_word("select") || n.is_word("with"))
                {
                    stack.push((depth, block_count, in_pred));
                    block_count += 1;
                    in_pred = false;
                }
                i += 1;
                continue;
            }
            Tok::RParen => {
                if let Some(&(d, _, saved)) = stack.last()
                    && d == depth
                    && stack.len() > 1
                {
                    stack.pop();
                    in_pred = saved;
                }
                depth = depth.saturating_sub(1);
                i += 1;
                continue;
            }
            Tok::Hole if in_pred => {
                // `WHERE {}`, `AND {}`: an interpolated condition.
                let prev = i.checked_sub(1).map(|j| &toks[j]);
                if prev.is_none_or(|p| {
                    matches!(p, Tok::LParen)
                        || ["where", "on", "and", "or", "having", "not"]
                            .iter()
                            .any(|w| p.is_word(w))
                }) {
                    p.dynamic_pred.push(block);
                }
                i += 1;
                continue;
            }
            _ => {}
        }
        // Clause keywords count only at the block's own level: `EXTRACT(YEAR FROM d)` and
        // `TRIM(BOTH ' ' FROM s)` are no FROM clauses.
        let at_block_level = stack.last().is_some_and(|s| s.0 == depth);
        let Some(word) = t.word() else {
            if in_pred && let Tok::Ident { .. } = t {
                i = pred_ref(&toks, i, block, &mut p);
                continue;
            }
            i += 1;
            continue;
        };
        let distinct_from = word == "from" && i > 0 && toks[i - 1].is_word("distinct");
        let keyword = at_block_level
            && !distinct_from
            && (CLAUSE_ENDS.contains(&word)
                || matches!(
                    word,
                    "where"
                        | "having"
                        | "on"
                        | "union"
                        | "intersect"
                        | "except"
                        | "from"
                        | "join"
                        | "update"
                        | "into"
                        | "using"
                ));
        if !keyword && !matches!(word, "set" | "set_config") {
            if in_pred {
                i = pred_ref(&toks, i, block, &mut p);
            } else {
                i += 1;
            }
            continue;
        }
        match word {
            "where" | "having" => {
                in_pred = true;
                i += 1;
            }
            "on" => {
                // `ON CONFLICT`, `ON DELETE`/`ON UPDATE` are not join conditions.
                in_pred = !toks.get(i + 1).is_some_and(|n| {
                    n.is_word("conflict") || n.is_word("delete") || n.is_word("update")
                });
                i += 1;
            }
            "union" | "intersect" | "except" => {
                // A new query at the same level: its own block.
                if let Some(top) = stack.last_mut() {
                    top.1 = block_count;
                    block_count += 1;
                }
                in_pred = false;
                i += 1;
            }
            "set"
                if toks
                    .get(i + 1)
                    .is_some_and(|n| matches!(n.word(), Some("local" | "session")))
                    && toks.get(i + 2).is_some_and(|n| n.is_word("search_path")) =>
            {
                p.sets_search_path = true;
                i += 1;
            }
            "set"
                if toks.get(i + 1).is_some_and(|n| {
                    n.is_word("search_path") || (i == 0 && n.is_word("schema"))
                }) =>
            {
                p.sets_search_path = true;
                i += 1;
            }
            "set_config"
                if matches!(toks.get(i + 1), Some(Tok::LParen))
                    && matches!(toks.get(i + 2), Some(Tok::Str(s)) if s == "search_path") =>
            {
                p.sets_search_path = true;
                i += 1;
            }
            "from" | "join" | "update" | "into" | "using" => {
                in_pred = false;
                let insert = word == "into";
                i = table_list(&toks, i + 1, block, word == "from", insert, &mut p);
            }
            w if CLAUSE_ENDS.contains(&w) && at_block_level => {
                in_pred = false;
                i += 1;
            }
            _ if in_pred => {
                i = pred_ref(&toks, i, block, &mut p);
            }
            _ => i += 1,
        }
    }
    p
}

/// A (possibly qualified) column reference starting at `i`: its parts, whether an
/// interpolation is glued to it, and the index after it.
fn column_ref(toks: &[Tok], i: usize) -> (Vec<&str>, bool, usize) {
    let mut parts: Vec<&str> = Vec::new();
    let mut j = i;
    let mut dynamic = false;
    while let Some(Tok::Ident {
        text, dynamic: d, ..
    }) = toks.get(j)
    {
        parts.push(text);
        dynamic |= *d;
        j += 1;
        if matches!(toks.get(j), Some(Tok::Dot))
            && matches!(toks.get(j + 1), Some(Tok::Ident { .. }))
        {
            j += 1;
        } else {
            break;
        }
    }
    (parts, dynamic, j)
}

fn split_ref(parts: &[&str]) -> Option<(Option<String>, String)> {
    let column = parts.last()?;
    Some((
        (parts.len() >= 2).then(|| parts[parts.len() - 2].to_string()),
        column.to_string(),
    ))
}

/// A (possibly qualified) column reference in a predicate, starting at `i`; `col = other.col`
/// is recorded as a join condition.
fn pred_ref(toks: &[Tok], i: usize, block: usize, p: &mut Parsed) -> usize {
    let (parts, dynamic, mut j) = column_ref(toks, i);
    let mut joined = None;
    if matches!(toks.get(j), Some(Tok::Eq)) && matches!(toks.get(j + 1), Some(Tok::Ident { .. })) {
        let (right, right_dynamic, end) = column_ref(toks, j + 1);
        // `tenant_id = ANY(%s)` compares with a function's result, not a column.
        if !right_dynamic && !matches!(toks.get(end), Some(Tok::LParen)) {
            joined = split_ref(&right);
            j = end;
        }
    }
    if !dynamic && let Some((qualifier, column)) = split_ref(&parts) {
        p.preds.push(PredRef {
            qualifier,
            column,
            block,
            joined,
        });
    }
    j.max(i + 1)
}

/// Table references after FROM (a comma-separated list), JOIN, UPDATE, INTO or USING.
fn table_list(
    toks: &[Tok],
    mut i: usize,
    block: usize,
    list: bool,
    insert: bool,
    p: &mut Parsed,
) -> usize {
    loop {
        // `FROM ONLY t`, `JOIN LATERAL (...)`, `INSERT INTO TABLE t` (rare)
        while toks
            .get(i)
            .is_some_and(|t| t.is_word("only") || t.is_word("lateral") || t.is_word("table"))
        {
            i += 1;
        }
        let mut parts: Vec<String> = Vec::new();
        let mut dynamic = false;
        let start = i;
        while let Some(Tok::Ident {
            text, dynamic: d, ..
        }) = toks.get(i)
        {
            parts.push(text.clone());
            dynamic |= *d;
            i += 1;
            if matches!(toks.get(i), Some(Tok::Dot)) {
                i += 1;
            } else {
                break;
            }
        }
        if matches!(toks.get(i), Some(Tok::Hole)) && parts.len() < 3 {
            // `FROM {}` or `FROM {}.orders`: a table named at run time.
            dynamic = true;
            i += 1;
        }
        // A function in FROM (`generate_series(...)`), a subquery, or nothing at all.
        let is_function = matches!(toks.get(i), Some(Tok::LParen)) && !insert;
        let reserved_first = toks.get(start).and_then(Tok::word).is_some_and(|w| {
            RESERVED.contains(&w) && !matches!(toks.get(start + 1), Some(Tok::Dot))
        });
        let name_ok = !parts.is_empty() && !dynamic && !is_function && !reserved_first;
        // Alias.
        let mut alias = None;
        if toks.get(i).is_some_and(|t| t.is_word("as")) {
            i += 1;
        }
        if let Some(Tok::Ident { text, quoted, .. }) = toks.get(i)
            && (*quoted || !RESERVED.contains(&text.as_str()))
            && !is_function
        {
            alias = Some(text.clone());
            i += 1;
        }
        let mut insert_columns = None;
        if insert && name_ok {
            let mut cols = Vec::new();
            if matches!(toks.get(i), Some(Tok::LParen))
                && !toks
                    .get(i + 1)
                    .is_some_and(|n| n.is_word("select") || n.is_word("with"))
            {
                let mut j = i + 1;
                while let Some(t) = toks.get(j) {
                    match t {
                        Tok::RParen => break,
                        Tok::Ident { text, .. } => cols.push(text.clone()),
                        _ => {}
                    }
                    j += 1;
                }
                i = j + 1;
            }
            insert_columns = Some(cols);
        }
        if name_ok {
            p.tables.push(TableRef {
                parts,
                alias,
                block,
                insert_columns,
            });
        }
        if list && matches!(toks.get(i), Some(Tok::Comma)) {
            i += 1;
            continue;
        }
        return i;
    }
}

/// A tenant-owned table read without its tenant predicate.
#[derive(Debug)]
struct Finding {
    table: String,
    model: String,
    column: String,
    alias: String,
}

#[cfg(test)]
fn analyse(sql: &str, tables: &HashMap<String, TenantTable>) -> Vec<Finding> {
    evaluate(&parse(sql), tables)
}

fn evaluate(parsed: &Parsed, tables: &HashMap<String, TenantTable>) -> Vec<Finding> {
    // The tenant-owned table references, with their tenant columns.
    let refs: Vec<(&TableRef, &String, &TenantTable)> = parsed
        .tables
        .iter()
        .filter_map(|t| {
            let name = t.parts.last()?;
            tables.get(name.as_str()).map(|tenant| (t, name, tenant))
        })
        .collect();
    // Does a column mention (`qualifier.column` in `block`) refer to reference `r`'s tenant column?
    let refers = |r: usize, qualifier: &Option<String>, column: &str, block: usize| {
        let (t, name, tenant) = refs[r];
        tenant.columns.iter().any(|c| c == column)
            && match qualifier {
                None => block == t.block,
                Some(q) => q == name || t.alias.as_deref() == Some(q.as_str()),
            }
    };
    let mut ok: Vec<bool> = refs
        .iter()
        .enumerate()
        .map(|(r, (t, _, _))| match &t.insert_columns {
            // `INSERT INTO t VALUES (...)` sets every column; with a column list, the tenant
            // column must be among them.
            Some(cols) => {
                cols.is_empty()
                    || cols
                        .iter()
                        .any(|c| refs[r].2.columns.iter().any(|tc| tc == c))
            }
            None => {
                parsed.dynamic_pred.contains(&t.block)
                    || parsed.preds.iter().any(|p| {
                        refers(r, &p.qualifier, &p.column, p.block)
                            && match &p.joined {
                                None => true,
                                // Equated with a column of a table outside this SQL (the
                                // queryset's own table in `RawSQL` / `.extra()`, an outer query):
                                // bound from outside, so it picks the tenant.
                                Some((jq, jc)) => {
                                    !(0..refs.len()).any(|o| refers(o, jq, jc, p.block))
                                }
                            }
                    })
            }
        })
        .collect();
    // `a.tenant_id = b.tenant_id`: when one side picks a tenant, so does the other.
    let links: Vec<(usize, usize)> = parsed
        .preds
        .iter()
        .filter_map(|p| p.joined.as_ref().map(|j| (p, j)))
        .flat_map(|(p, (jq, jc))| {
            let lefts: Vec<usize> = (0..refs.len())
                .filter(|&r| refers(r, &p.qualifier, &p.column, p.block))
                .collect();
            let rights: Vec<usize> = (0..refs.len())
                .filter(|&r| refers(r, jq, jc, p.block))
                .collect();
            lefts
                .into_iter()
                .flat_map(move |a| rights.clone().into_iter().map(move |b| (a, b)))
        })
        .collect();
    loop {
        let mut changed = false;
        for &(a, b) in &links {
            if ok[a] != ok[b] {
                ok[a] = true;
                ok[b] = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    let mut out: Vec<Finding> = Vec::new();
    for (r, (t, name, tenant)) in refs.iter().enumerate() {
        if !ok[r] && !out.iter().any(|f| f.table == **name) {
            out.push(Finding {
                table: (*name).clone(),
                model: tenant.model.clone(),
                column: tenant.columns.first().cloned().unwrap_or_default(),
                alias: t.alias.clone().unwrap_or_else(|| (*name).clone()),
            });
        }
    }
    out
}

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

    fn tables() -> HashMap<String, TenantTable> {
        let mut m = HashMap::default();
        for (t, model) in [
            ("billing_invoice", "Invoice"),
            ("billing_payment", "Payment"),
        ] {
            m.insert(
                t.to_string(),
                TenantTable {
                    model: model.into(),
                    columns: vec!["tenant_id".into()],
                },
            );
        }
        m
    }

    fn flagged(sql: &str) -> Vec<String> {
        analyse(sql, &tables())
            .into_iter()
            .map(|f| f.table)
            .collect()
    }

    #[test]
    fn plain_select_without_predicate() {
        assert_eq!(
            flagged("SELECT * FROM billing_invoice"),
            ["billing_invoice"]
        );
        assert_eq!(
            flagged("select id from Billing_Invoice where status = %s"),
            ["billing_invoice"]
        );
        assert_eq!(
            flagged("SELECT * FROM \"billing_invoice\" WHERE id = %s"),
            ["billing_invoice"]
        );
        assert_eq!(
            flagged("SELECT * FROM public.billing_invoice i WHERE i.id = 1"),
            ["billing_invoice"]
        );
    }

    #[test]
    fn tenant_column_joins() {
        // Equating the tenant columns picks no tenant.
        assert_eq!(
            flagged(
                "SELECT * FROM billing_invoice i JOIN billing_payment p ON p.tenant_id = i.tenant_id"
            ),
            ["billing_invoice", "billing_payment"]
        );
        // One side's predicate is carried to the other through the join, either way round.
        for sql in [
            "SELECT * FROM billing_invoice i JOIN billing_payment p ON p.tenant_id = i.tenant_id WHERE i.tenant_id = %s",
            "SELECT * FROM billing_invoice i JOIN billing_payment p ON i.tenant_id = p.tenant_id WHERE p.tenant_id = %s",
        ] {
            assert!(flagged(sql).is_empty(), "{sql}");
        }
        // Equated with a table outside the SQL (the queryset's own, in `RawSQL`): bound from outside.
        assert!(
            flagged("SELECT SUM(amount) FROM billing_payment p WHERE p.tenant_id = billing_invoice.tenant_id")
                .is_empty()
        );
        // `= ANY(...)` is a value.
        assert!(flagged("SELECT * FROM billing_invoice WHERE tenant_id = ANY(%s)").is_empty());
    }

    #[test]
    fn predicates() {
        assert!(flagged("SELECT * FROM billing_invoice WHERE tenant_id = %s").is_empty());
        assert!(flagged("SELECT * FROM billing_invoice i WHERE i.tenant_id = %(t)s").is_empty());
        assert!(
            flagged("SELECT * FROM billing_invoice AS i WHERE \"i\".\"tenant_id\" = %s").is_empty()
        );
        assert!(flagged("SELECT * FROM `billing_invoice` WHERE `tenant_id` = ?").is_empty());
        assert!(flagged("SELECT * FROM billing_invoice WHERE {}").is_empty());
        assert!(flagged("SELECT * FROM billing_invoice WHERE status = 'x' AND {}").is_empty());
        // Mentioned, but not as a predicate.
        assert_eq!(
            flagged("SELECT tenant_id, count(*) FROM billing_invoice GROUP BY tenant_id"),
            ["billing_invoice"]
        );
        // In a comment or a string.
        assert_eq!(
            flagged("SELECT * FROM billing_invoice WHERE note = 'tenant_id' -- tenant_id"),
            ["billing_invoice"]
        );
        // A parameter name is not a column.
        assert_eq!(
            flagged("SELECT * FROM billing_invoice WHERE id = %(tenant_id)s"),
            ["billing_invoice"]
        );
    }

    #[test]
    fn joins_and_aliases() {
        let sql = "SELECT * FROM billing_invoice i JOIN billing_payment p ON p.invoice_id = i.id WHERE i.tenant_id = %s";
        assert_eq!(flagged(sql), ["billing_payment"]);
        let sql = "SELECT * FROM billing_invoice i JOIN billing_payment p ON p.invoice_id = i.id AND p.tenant_id = i.tenant_id WHERE i.tenant_id = %s";
        assert!(flagged(sql).is_empty());
        let sql = "SELECT * FROM billing_invoice i, billing_payment p WHERE p.invoice_id = i.id AND i.tenant_id = %s";
        assert_eq!(flagged(sql), ["billing_payment"]);
    }

    #[test]
    fn subqueries_have_their_own_predicates() {
        let sql = "SELECT * FROM billing_invoice WHERE tenant_id = %s AND id IN (SELECT invoice_id FROM billing_payment WHERE amount > 0)";
        assert_eq!(flagged(sql), ["billing_payment"]);
        let sql = "SELECT * FROM billing_invoice WHERE id IN (SELECT invoice_id FROM billing_payment WHERE tenant_id = %s)";
        assert_eq!(flagged(sql), ["billing_invoice"]);
        let sql =
            "SELECT * FROM billing_invoice WHERE tenant_id = 1 UNION SELECT * FROM billing_invoice";
        assert_eq!(flagged(sql), ["billing_invoice"]);
    }

    #[test]
    fn clause_words_inside_functions() {
        assert!(
            flagged("SELECT * FROM billing_invoice WHERE EXTRACT(YEAR FROM issued_on) = 2024 AND tenant_id = %s")
                .is_empty()
        );
        assert!(
            flagged(
                "SELECT * FROM billing_invoice WHERE number IS DISTINCT FROM %s AND tenant_id = %s"
            )
            .is_empty()
        );
        let sql = "WITH recent AS (SELECT * FROM billing_invoice WHERE tenant_id = %s) SELECT * FROM recent";
        assert!(flagged(sql).is_empty());
        let sql = "WITH recent AS (SELECT * FROM billing_invoice) SELECT * FROM recent WHERE tenant_id = %s";
        assert_eq!(flagged(sql), ["billing_invoice"]);
    }

    #[test]
    fn writes() {
        assert_eq!(
            flagged("UPDATE billing_invoice SET tenant_id = %s WHERE id = %s"),
            ["billing_invoice"]
        );
        assert!(
            flagged("UPDATE billing_invoice SET paid = true WHERE tenant_id = %s AND id = %s")
                .is_empty()
        );
        assert_eq!(
            flagged("DELETE FROM billing_invoice WHERE id = %s"),
            ["billing_invoice"]
        );
        assert!(
            flagged("INSERT INTO billing_invoice (tenant_id, number) VALUES (%s, %s)").is_empty()
        );
        assert!(flagged("INSERT INTO billing_invoice VALUES (%s, %s)").is_empty());
        assert_eq!(
            flagged("INSERT INTO billing_invoice (number) VALUES (%s)"),
            ["billing_invoice"]
        );
        assert!(
            flagged("INSERT INTO billing_invoice (number) VALUES (%s) ON CONFLICT (tenant_id) DO NOTHING").len()
                == 1
        );
    }

    #[test]
    fn dynamic_and_unrelated_sql() {
        assert!(flagged("SELECT * FROM {} WHERE id = %s").is_empty());
        assert!(flagged("SELECT * FROM billing_{} WHERE id = %s").is_empty());
        assert!(flagged("SELECT * FROM {}_invoice").is_empty());
        assert!(flagged("SELECT * FROM crm_contact").is_empty());
        assert!(flagged("SELECT EXTRACT(YEAR FROM issued_on) FROM crm_contact").is_empty());
        assert!(flagged("SELECT * FROM generate_series(1, 10) billing_invoice").is_empty());
        assert!(flagged("").is_empty());
        assert!(flagged("((((").is_empty());
        assert!(flagged("FROM").is_empty());
        assert!(flagged("'unterminated").is_empty());
        assert!(flagged("\"unterminated").is_empty());
        assert!(flagged("{unterminated").is_empty());
        assert!(flagged("/* unterminated").is_empty());
        assert!(flagged("%(unterminated").is_empty());
    }

    #[test]
    fn search_path_and_schemas() {
        assert!(parse("SET search_path TO tenant_a").sets_search_path);
        assert!(parse("set local search_path = 'x'").sets_search_path);
        assert!(parse("SELECT set_config('search_path', %s, false)").sets_search_path);
        assert!(parse("SET SCHEMA 'tenant_a'").sets_search_path);
        assert!(!parse("SHOW search_path").sets_search_path);
        assert!(!parse("UPDATE t SET schema = %s WHERE id = %s").sets_search_path);
        let p = parse("SELECT * FROM tenant_a.orders o JOIN public.plans p ON p.id = o.plan_id");
        let names: Vec<String> = p.tables.iter().map(|t| t.parts.join(".")).collect();
        assert_eq!(names, ["tenant_a.orders", "public.plans"]);
    }

    #[test]
    fn app_labels() {
        assert_eq!(app_label("billing.models"), "billing");
        assert_eq!(app_label("billing.models.invoice"), "billing");
        assert_eq!(app_label("apps.billing.models"), "billing");
        assert_eq!(app_label("shop.tables"), "shop");
        assert_eq!(app_label("models"), "models");
    }
}
