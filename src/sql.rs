//! A small SQL reader for tenant isolation: which tables a statement reads or writes, with which
//! aliases, and which columns its predicates constrain; whether it changes `search_path` or names a
//! schema. Not a full SQL parser: enough to tell whether a tenant-owned table's rows are picked by
//! its tenant column. Language-neutral (TEN203 uses it on Django raw SQL; the SQL text of other
//! frontends can reuse it).

use rustc_hash::FxHashMap as HashMap;

/// A tenant-owned table, as the SQL checks see it.
pub struct TenantTable {
    /// The model (or entity) the table belongs to, for messages.
    pub model: String,
    /// The tenant columns (`tenant_id`), lowercase.
    pub columns: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Tok {
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

pub(crate) fn tokenize(sql: &str) -> Vec<Tok> {
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
pub(crate) struct TableRef {
    /// Name parts, lowercase (`["tenant_a", "orders"]`).
    pub(crate) parts: Vec<String>,
    pub(crate) alias: Option<String>,
    pub(crate) block: usize,
    /// `INSERT INTO t (cols)`: the column list (`Some(vec![])` when there is none).
    pub(crate) insert_columns: Option<Vec<String>>,
}

/// A column mentioned in a predicate (after WHERE, ON or HAVING).
#[derive(Debug)]
pub(crate) struct PredRef {
    pub(crate) qualifier: Option<String>,
    pub(crate) column: String,
    pub(crate) block: usize,
    /// `a.col = b.col`: the column it is equated with. Such a join condition ties two tables'
    /// tenants together but does not by itself pick a tenant.
    pub(crate) joined: Option<(Option<String>, String)>,
    /// In the ON clause of a `LEFT`/`RIGHT`/`FULL` join: it does not drop the preserved side's
    /// rows.
    pub(crate) outer: bool,
}

#[derive(Default, Debug)]
pub(crate) struct Parsed {
    pub(crate) tables: Vec<TableRef>,
    pub(crate) preds: Vec<PredRef>,
    /// Blocks with an interpolated condition (`WHERE {}`): it may well be the tenant predicate.
    pub(crate) dynamic_pred: Vec<usize>,
    pub(crate) sets_search_path: bool,
}

pub(crate) fn parse(sql: &str) -> Parsed {
    let toks = tokenize(sql);
    let mut p = Parsed::default();
    // Query blocks: the statement, and every `(SELECT ...)` / `(WITH ...)` inside it.
    let mut block_count = 1usize;
    // (paren depth at which the block opened, block id, saved predicate state)
    let mut stack: Vec<(usize, usize, bool)> = vec![(0, 0, false)];
    let mut depth = 0usize;
    let mut in_pred = false;
    // The last JOIN was an outer one, and the predicates being read are its ON clause.
    let mut outer_join = false;
    let mut in_outer_on = false;
    let mut i = 0;
    let mut outer_saved: Vec<bool> = Vec::new();
    let mut marked = 0;
    while i < toks.len() {
        // Predicates read in the previous step were read in the current clause.
        for q in &mut p.preds[marked..] {
            q.outer = in_outer_on;
        }
        marked = p.preds.len();
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
                    outer_saved.push(in_outer_on);
                    block_count += 1;
                    in_pred = false;
                    in_outer_on = false;
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
                    in_outer_on = outer_saved.pop().unwrap_or(false);
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
                in_outer_on = false;
                i += 1;
            }
            "on" => {
                // `ON CONFLICT`, `ON DELETE`/`ON UPDATE` are not join conditions.
                in_pred = !toks.get(i + 1).is_some_and(|n| {
                    n.is_word("conflict") || n.is_word("delete") || n.is_word("update")
                });
                in_outer_on = in_pred && outer_join;
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
                in_outer_on = false;
                // `LEFT [OUTER] JOIN`, `RIGHT ...`, `FULL ...`.
                let kind = match i.checked_sub(1).map(|j| &toks[j]) {
                    Some(t) if t.is_word("outer") => i.checked_sub(2).map(|j| &toks[j]),
                    other => other,
                };
                outer_join = word == "join"
                    && kind.is_some_and(|t| {
                        t.is_word("left") || t.is_word("right") || t.is_word("full")
                    });
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
    for q in &mut p.preds[marked..] {
        q.outer = in_outer_on;
    }
    p
}

/// A (possibly qualified) column reference starting at `i`: its parts, whether an
/// interpolation is glued to it, and the index after it.
pub(crate) fn column_ref(toks: &[Tok], i: usize) -> (Vec<&str>, bool, usize) {
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

pub(crate) fn split_ref(parts: &[&str]) -> Option<(Option<String>, String)> {
    let column = parts.last()?;
    Some((
        (parts.len() >= 2).then(|| parts[parts.len() - 2].to_string()),
        column.to_string(),
    ))
}

/// A (possibly qualified) column reference in a predicate, starting at `i`; `col = other.col`
/// is recorded as a join condition.
pub(crate) fn pred_ref(toks: &[Tok], i: usize, block: usize, p: &mut Parsed) -> usize {
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
            outer: false,
        });
    }
    j.max(i + 1)
}

/// Table references after FROM (a comma-separated list), JOIN, UPDATE, INTO or USING.
pub(crate) fn table_list(
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
pub(crate) struct Finding {
    pub(crate) table: String,
    pub(crate) model: String,
    pub(crate) column: String,
    pub(crate) alias: String,
}

#[cfg(test)]
fn analyse(sql: &str, tables: &HashMap<String, TenantTable>) -> Vec<Finding> {
    evaluate(&parse(sql), tables)
}

pub(crate) fn evaluate(parsed: &Parsed, tables: &HashMap<String, TenantTable>) -> Vec<Finding> {
    evaluate_with(parsed, tables, false)
}

/// [`evaluate`], where also a table joined on its primary key to a tenant-picked table's column
/// (`JOIN loan_contract lc ON lt.contract_id = lc.id`) is picked: its rows are those the
/// tenant's rows point to. The Rust frontend's SQL uses this (sqlx code joins by foreign key).
pub(crate) fn evaluate_key_joins(
    parsed: &Parsed,
    tables: &HashMap<String, TenantTable>,
) -> Vec<Finding> {
    evaluate_with(parsed, tables, true)
}

fn evaluate_with(
    parsed: &Parsed,
    tables: &HashMap<String, TenantTable>,
    key_joins: bool,
) -> Vec<Finding> {
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
    // `a.id = b.x`: `a`'s rows are those `b`'s point to (dependent, source).
    let names_ref = |r: usize, qualifier: &Option<String>, block: usize| {
        let (t, name, _) = refs[r];
        match qualifier {
            None => block == t.block,
            Some(q) => q == name || t.alias.as_deref() == Some(q.as_str()),
        }
    };
    let mut key_links: Vec<(usize, usize)> = Vec::new();
    // `b.a_id = a.id` outside an outer join's ON clause: `b`'s rows are those pointing to `a`'s
    // rows, so when `a` picks a tenant, so does `b` (parent, child).
    let mut child_links: Vec<(usize, usize)> = Vec::new();
    if key_joins {
        for p in &parsed.preds {
            let Some((jq, jc)) = &p.joined else { continue };
            for (key_q, key_c, other_q) in [(&p.qualifier, &p.column, jq), (jq, jc, &p.qualifier)] {
                if key_c != "id" || key_q.is_none() || other_q.is_none() {
                    continue;
                }
                for a in (0..refs.len()).filter(|&a| names_ref(a, key_q, p.block)) {
                    for b in (0..refs.len()).filter(|&b| b != a && names_ref(b, other_q, p.block)) {
                        key_links.push((a, b));
                        if !p.outer {
                            child_links.push((a, b));
                        }
                    }
                }
            }
        }
    }
    loop {
        let mut changed = false;
        for &(a, b) in &links {
            if ok[a] != ok[b] {
                ok[a] = true;
                ok[b] = true;
                changed = true;
            }
        }
        for &(a, b) in &key_links {
            if ok[b] && !ok[a] {
                ok[a] = true;
                changed = true;
            }
        }
        for &(parent, child) in &child_links {
            if ok[parent] && !ok[child] {
                ok[child] = true;
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
}

/// A table a migration declares (or extends).
#[derive(Debug)]
pub struct DdlTable {
    pub table: String,
    pub columns: Vec<String>,
    pub primary_key: Vec<String>,
    pub offset: usize,
}

/// The tables a migration's DDL declares or extends, with their columns (lowercase):
/// `CREATE TABLE [IF NOT EXISTS] [schema.]name (col type ..., CONSTRAINT ...)` and
/// `ALTER TABLE [IF EXISTS] [ONLY] name ADD [COLUMN] [IF NOT EXISTS] col ...` (several `ADD`s
/// separated by commas), with the primary key (column-level `PRIMARY KEY` or a table-level
/// `PRIMARY KEY (..)`). The offset is 0: a migration is a whole-file declaration.
pub fn ddl_tables(sql: &str) -> Vec<DdlTable> {
    let toks = tokenize(sql);
    let word = |i: usize| toks.get(i).and_then(|t| t.word());
    let name_at = |i: usize| -> Option<String> {
        match toks.get(i)? {
            Tok::Ident { text, .. } => Some(text.clone()),
            _ => None,
        }
    };
    // `[schema.]name`: the last part and the index after it.
    let qualified = |mut i: usize| -> Option<(String, usize)> {
        let mut name = name_at(i)?;
        i += 1;
        while matches!(toks.get(i), Some(Tok::Dot)) {
            name = name_at(i + 1)?;
            i += 2;
        }
        Some((name, i))
    };
    let skip_if = |i: usize, words: &[&str]| -> usize {
        if words
            .iter()
            .enumerate()
            .all(|(k, w)| word(i + k) == Some(w))
        {
            i + words.len()
        } else {
            i
        }
    };
    let mut out: Vec<DdlTable> = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        if word(i) == Some("create") {
            let mut j = i + 1;
            while matches!(
                word(j),
                Some("temporary" | "temp" | "unlogged" | "or" | "replace")
            ) {
                j += 1;
            }
            if word(j) != Some("table") {
                i += 1;
                continue;
            }
            j = skip_if(j + 1, &["if", "not", "exists"]);
            let Some((name, k)) = qualified(j) else {
                i += 1;
                continue;
            };
            let mut columns: Vec<String> = Vec::new();
            let mut primary_key: Vec<String> = Vec::new();
            if matches!(toks.get(k), Some(Tok::LParen)) {
                let mut depth = 0;
                let mut expect = true;
                // The current item: a column, or a table constraint (`primary`: its key).
                let mut item: Option<String> = None;
                let mut m = k;
                while m < toks.len() {
                    if depth == 1 && word(m) == Some("primary") && word(m + 1) == Some("key") {
                        match &item {
                            Some(col) => primary_key.push(col.clone()),
                            None => {
                                // `PRIMARY KEY (a, b)`
                                let mut n = m + 2;
                                if matches!(toks.get(n), Some(Tok::LParen)) {
                                    n += 1;
                                    while let Some(Tok::Ident { text, .. }) = toks.get(n) {
                                        primary_key.push(text.clone());
                                        n += 1;
                                        if matches!(toks.get(n), Some(Tok::Comma)) {
                                            n += 1;
                                        }
                                    }
                                }
                            }
                        }
                    }
                    match &toks[m] {
                        Tok::LParen => {
                            depth += 1;
                            if depth > 1 {
                                expect = false;
                            }
                        }
                        Tok::RParen => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        Tok::Comma if depth == 1 => {
                            expect = true;
                            item = None;
                        }
                        Tok::Ident { text, .. } if depth == 1 && expect => {
                            expect = false;
                            if !matches!(
                                text.as_str(),
                                "constraint"
                                    | "primary"
                                    | "foreign"
                                    | "unique"
                                    | "check"
                                    | "exclude"
                                    | "like"
                            ) {
                                columns.push(text.clone());
                                item = Some(text.clone());
                            }
                        }
                        _ => {}
                    }
                    m += 1;
                }
                i = m;
            } else {
                i = k;
            }
            out.push(DdlTable {
                table: name,
                columns,
                primary_key,
                offset: 0,
            });
            continue;
        }
        if word(i) == Some("alter") && word(i + 1) == Some("table") {
            let mut j = skip_if(i + 2, &["if", "exists"]);
            j = skip_if(j, &["only"]);
            let Some((name, mut k)) = qualified(j) else {
                i += 2;
                continue;
            };
            let mut columns = Vec::new();
            loop {
                if word(k) != Some("add") {
                    break;
                }
                let mut m = skip_if(k + 1, &["column"]);
                m = skip_if(m, &["if", "not", "exists"]);
                if matches!(
                    word(m),
                    Some("constraint" | "primary" | "foreign" | "unique" | "check")
                ) {
                    break;
                }
                if let Some(c) = name_at(m) {
                    columns.push(c);
                }
                // To the next top-level comma (another ADD) or the statement's end.
                let mut depth = 0;
                m += 1;
                while m < toks.len() {
                    match &toks[m] {
                        Tok::LParen => depth += 1,
                        Tok::RParen => depth -= 1,
                        Tok::Comma if depth == 0 => break,
                        Tok::Other if depth == 0 => {}
                        _ => {}
                    }
                    if word(m) == Some("alter") || word(m) == Some("create") {
                        break;
                    }
                    m += 1;
                }
                k = m + usize::from(matches!(toks.get(m), Some(Tok::Comma)));
            }
            if !columns.is_empty() {
                out.push(DdlTable {
                    table: name,
                    columns,
                    primary_key: Vec::new(),
                    offset: 0,
                });
            }
            i = k.max(i + 2);
            continue;
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod ddl_tests {
    use super::ddl_tables;

    #[test]
    fn create_and_alter() {
        let sql = "CREATE TABLE IF NOT EXISTS public.invoices (\n  id uuid PRIMARY KEY,\n  tenant_id uuid NOT NULL REFERENCES tenants(id),\n  total numeric(10, 2),\n  CONSTRAINT u UNIQUE (tenant_id, id)\n);\nALTER TABLE notes ADD COLUMN tenant_id uuid, ADD COLUMN body text;\nCREATE INDEX ON invoices (tenant_id);";
        let t = ddl_tables(sql);
        assert_eq!(t.len(), 2, "{t:?}");
        assert_eq!(t[0].table, "invoices");
        assert_eq!(t[0].columns, vec!["id", "tenant_id", "total"]);
        assert_eq!(t[0].primary_key, vec!["id"]);
        assert_eq!(t[1].table, "notes");
        assert_eq!(t[1].columns, vec!["tenant_id", "body"]);
        let t =
            ddl_tables("CREATE TABLE tenant (tenant_id uuid, name text, PRIMARY KEY (tenant_id));");
        assert_eq!(t[0].primary_key, vec!["tenant_id"]);
    }
}

#[cfg(test)]
mod key_join_tests {
    use super::*;

    #[test]
    fn a_table_joined_on_its_key_to_a_tenant_picked_row_is_picked() {
        let mut tables = HashMap::default();
        for t in ["loan_transaction", "loan_contract", "contact"] {
            tables.insert(
                t.to_string(),
                TenantTable {
                    model: t.into(),
                    columns: vec!["tenant_id".into()],
                },
            );
        }
        let sql = "SELECT lt.id FROM loan_transaction lt JOIN loan_contract lc ON lt.contract_id = lc.id JOIN contact c ON lc.contact_id = c.id WHERE lt.tenant_id = $1";
        assert!(evaluate_key_joins(&parse(sql), &tables).is_empty());
        // Django's TEN203 keeps its reading: the joined tables need their own predicate.
        assert_eq!(evaluate(&parse(sql), &tables).len(), 2);
        // Joined on another column than the key: not picked.
        let sql = "SELECT 1 FROM loan_transaction lt JOIN loan_contract lc ON lt.note = lc.note WHERE lt.tenant_id = $1";
        assert_eq!(evaluate_key_joins(&parse(sql), &tables).len(), 1);
        // Nothing picks the tenant: every table is reported.
        let sql =
            "SELECT 1 FROM loan_transaction lt JOIN loan_contract lc ON lt.contract_id = lc.id";
        assert_eq!(evaluate_key_joins(&parse(sql), &tables).len(), 2);
        // The other way: rows pointing by foreign key to a tenant-picked row are picked, in a
        // join or a correlated subquery.
        let sql = "SELECT 1 FROM loan_transaction lt JOIN loan_contract lc ON lt.contract_id = lc.id WHERE lc.tenant_id = $1";
        assert!(evaluate_key_joins(&parse(sql), &tables).is_empty());
        let sql = "UPDATE loan_contract SET total = (SELECT SUM(amount) FROM loan_transaction WHERE loan_transaction.contract_id = loan_contract.id) WHERE id = $1 AND tenant_id = $2";
        assert!(evaluate_key_joins(&parse(sql), &tables).is_empty());
        // Not through an outer join's ON clause: every transaction is kept, matched or not.
        for join in ["LEFT JOIN", "left outer join", "FULL JOIN"] {
            let sql = format!(
                "SELECT 1 FROM loan_transaction lt {join} loan_contract lc ON lt.contract_id = lc.id AND lc.tenant_id = $1"
            );
            let found = evaluate_key_joins(&parse(&sql), &tables);
            assert_eq!(found.len(), 1, "{sql}");
            assert_eq!(found[0].table, "loan_transaction");
        }
        // The join condition is an outer join's, so it is not used even when a WHERE on the
        // parent makes the join inner (a finding to suppress, not a leak to miss).
        let sql = "SELECT 1 FROM loan_transaction lt LEFT JOIN loan_contract lc ON lt.contract_id = lc.id WHERE lc.tenant_id = $1";
        assert_eq!(evaluate_key_joins(&parse(sql), &tables).len(), 1);
        // Django's TEN203 keeps its reading.
        let sql = "SELECT 1 FROM loan_transaction lt JOIN loan_contract lc ON lt.contract_id = lc.id WHERE lc.tenant_id = $1";
        assert_eq!(evaluate(&parse(sql), &tables).len(), 1);
    }
}
