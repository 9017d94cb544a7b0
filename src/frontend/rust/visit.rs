//! The walk over one parsed Rust file (see the module docs of [`super`]).

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::visit::{self, Visit};
use syn::{Expr, Lit, Pat, Token, Type};

use super::facts::*;
use crate::locate::Span;

/// SeaORM `EntityTrait` methods that start a query on every row of the table.
pub const SEAORM_STARTS: &[&str] = &[
    "find",
    "find_by_id",
    "update_many",
    "delete_many",
    "delete_by_id",
];

/// Methods that return rows read or written (their result's `.id` is a row in hand).
const ROW_METHODS: &[&str] = &[
    "first",
    "get_result",
    "one",
    "fetch_one",
    "fetch_optional",
    "insert",
    "exec_with_returning",
    "returning",
];

/// Whether a method along a chain is one of `names`.
fn chain_has_method(e: &Expr, names: &[&str]) -> bool {
    let mut cur = peel(e);
    while let Expr::MethodCall(m) = cur {
        if names.iter().any(|n| m.method == n) {
            return true;
        }
        cur = peel(&m.receiver);
    }
    false
}

/// Comparison methods whose receiver is a column the query constrains to a value.
const EQ_METHODS: &[&str] = &[
    // `tenant_id IS NULL`: only the shared rows of a table with a nullable tenant column.
    "is_null",
    "eq",
    "eq_any",
    "is_in",
    "in_subquery",
    "is_not_distinct_from",
];

/// Query methods whose argument constrains the rows (`or_filter` widens: not one).
const FILTER_METHODS: &[&str] = &["filter", "having"];

/// Redis command methods (`redis::Commands` / `AsyncCommands`) whose first argument is a key.
pub(super) const REDIS_METHODS: &[&str] = &[
    "get",
    "set",
    "set_ex",
    "set_nx",
    "pset_ex",
    "set_options",
    "getset",
    "get_del",
    "get_ex",
    "del",
    "unlink",
    "exists",
    "expire",
    "pexpire",
    "expire_at",
    "ttl",
    "incr",
    "decr",
    "hget",
    "hset",
    "hset_multiple",
    "hdel",
    "hgetall",
    "hincr",
    "hexists",
    "hkeys",
    "hvals",
    "sadd",
    "srem",
    "smembers",
    "sismember",
    "lpush",
    "rpush",
    "lpop",
    "rpop",
    "lrange",
    "llen",
    "zadd",
    "zrem",
    "zrange",
    "zrangebyscore",
    "zscore",
    "mget",
    "append",
    "persist",
    "rename",
];

/// Redis commands (`cmd("GET")`) that take no key.
const REDIS_KEYLESS: &[&str] = &[
    "PING",
    "MULTI",
    "EXEC",
    "DISCARD",
    "FLUSHDB",
    "FLUSHALL",
    "INFO",
    "SELECT",
    "AUTH",
    "SCAN",
    "KEYS",
    "PUBLISH",
    "SUBSCRIBE",
    "CLIENT",
    "CONFIG",
    "DBSIZE",
    "TIME",
    "ECHO",
    "QUIT",
    "EVAL",
    "EVALSHA",
    "SCRIPT",
];

/// Methods that hand out a Redis connection.
const REDIS_CONN_METHODS: &[&str] = &[
    "get_connection",
    "get_async_connection",
    "get_multiplexed_async_connection",
    "get_multiplexed_tokio_connection",
    "get_tokio_connection",
    "get_connection_manager",
    "get_multiplexed_connection",
];

/// Redis connection types.
const REDIS_TYPES: &[&str] = &[
    "MultiplexedConnection",
    "ConnectionManager",
    "ClusterConnection",
    "Connection",
    "ConnectionLike",
];

/// moka cache methods whose first argument is a key.
pub(super) const MOKA_METHODS: &[&str] = &[
    "get",
    "insert",
    "invalidate",
    "remove",
    "get_with",
    "try_get_with",
    "optionally_get_with",
    "contains_key",
    "entry",
    "get_with_by_ref",
];

/// sqlx functions and macros (and Diesel's `sql_query`) whose first string argument is SQL.
const SQL_CALLS: &[&str] = &[
    "query",
    "query_as",
    "query_scalar",
    "query_with",
    "query_as_with",
    "query_scalar_with",
    "query_unchecked",
    "query_as_unchecked",
    "query_scalar_unchecked",
];

#[derive(Default)]
struct Locals {
    types: HashMap<String, Vec<String>>,
    queries: HashMap<String, usize>,
    keys: HashMap<String, KeyShape>,
    redis: HashSet<String>,
    /// Rows in hand: locals read by a query or written by an insert/update (`.values(&x)`), whose
    /// `.id` names a row of this request's own making.
    rows: HashSet<String>,
    began_tx: bool,
    tx_param: bool,
    func: Option<u32>,
}

struct V {
    base: u32,
    out: RustFacts,
    locals: Vec<Locals>,
    test_depth: u32,
    tx_closure: u32,
    in_receiver: bool,
    mods: Vec<String>,
    uses_redis: bool,
    uses_moka: bool,
    uses_sqlx: bool,
    cache_fields: HashSet<String>,
    /// The text names `DeriveEntityModel` (else no struct is an entity).
    entities: bool,
    /// Start offsets of Diesel chains already recorded inside `diesel::update(..)`/`delete(..)`.
    consumed: HashSet<u32>,
}

/// The crates whose `use` makes a file's method calls Redis (the first five) or moka cache
/// calls; the skim's test for them reads this list too.
pub(super) const CACHE_CRATES: [&str; 6] = [
    "redis",
    "deadpool_redis",
    "bb8_redis",
    "r2d2_redis",
    "mobc_redis",
    "moka",
];

pub fn extract(file: &syn::File, text: &str, base: u32) -> RustFacts {
    let roots = use_roots(&file.items);
    let has = |names: &[&str]| names.iter().any(|n| roots.contains(*n));
    let mut v = V {
        base,
        out: RustFacts::default(),
        locals: vec![Locals::default()],
        test_depth: 0,
        tx_closure: 0,
        in_receiver: false,
        mods: Vec::new(),
        uses_redis: has(&CACHE_CRATES[..5]) || text.contains("redis::"),
        uses_moka: has(&CACHE_CRATES[5..]) || text.contains("moka::"),
        uses_sqlx: has(&["sqlx"]) || text.contains("sqlx::"),
        cache_fields: HashSet::default(),
        entities: text.contains("DeriveEntityModel"),
        consumed: HashSet::default(),
    };
    v.visit_file(file);
    v.out
}

/// The first segments of every `use` path in the file (inline modules included).
fn use_roots(items: &[syn::Item]) -> HashSet<String> {
    let mut out = HashSet::default();
    for item in items {
        match item {
            syn::Item::Use(u) => {
                if let syn::UseTree::Path(p) = &u.tree {
                    out.insert(p.ident.to_string());
                } else if let syn::UseTree::Name(n) = &u.tree {
                    out.insert(n.ident.to_string());
                }
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    out.extend(use_roots(items));
                }
            }
            _ => {}
        }
    }
    out
}

fn segs(path: &syn::Path) -> Vec<String> {
    path.segments.iter().map(|s| s.ident.to_string()).collect()
}

/// A called path's segments; a qualified path `<invoice::Entity as EntityTrait>::find` reads as
/// `invoice::Entity::find`.
fn call_segs(p: &syn::ExprPath) -> Vec<String> {
    match &p.qself {
        Some(q) => {
            let Type::Path(tp) = &*q.ty else {
                return Vec::new();
            };
            let mut out = segs(&tp.path);
            out.extend(
                p.path
                    .segments
                    .iter()
                    .skip(q.position)
                    .map(|s| s.ident.to_string()),
            );
            out
        }
        None => segs(&p.path),
    }
}

/// Strip what does not change which value an expression is: parentheses, `&`, `*`, `.await`, `?`.
fn peel(mut e: &Expr) -> &Expr {
    loop {
        e = match e {
            Expr::Paren(p) => &p.expr,
            Expr::Group(g) => &g.expr,
            Expr::Reference(r) => &r.expr,
            Expr::Await(a) => &a.base,
            Expr::Try(t) => &t.expr,
            Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => &u.expr,
            _ => return e,
        }
    }
}

/// Names in a type, outermost first (`Extension<CurrentTenant>`: `Extension`, `CurrentTenant`).
fn type_names(ty: &Type) -> Vec<String> {
    struct Names(Vec<String>);
    impl<'ast> Visit<'ast> for Names {
        fn visit_path_segment(&mut self, s: &'ast syn::PathSegment) {
            self.0.push(s.ident.to_string());
            visit::visit_path_segment(self, s);
        }
    }
    let mut n = Names(Vec::new());
    n.visit_type(ty);
    n.0
}

/// A signature's parameters as facts, and whether one is typed as a `...Transaction`.
pub(super) fn signature_params(sig: &syn::Signature) -> (Vec<Param>, bool) {
    let mut params = Vec::new();
    let mut tx_param = false;
    for input in &sig.inputs {
        match input {
            syn::FnArg::Receiver(_) => params.push(Param {
                name: "self".into(),
                ty: Vec::new(),
                destructured: None,
            }),
            syn::FnArg::Typed(pt) => {
                let ty = type_names(&pt.ty);
                if ty.iter().any(|t| t.ends_with("Transaction")) {
                    tx_param = true;
                }
                let (name, destructured) = match &*pt.pat {
                    Pat::Ident(i) => (i.ident.to_string(), None),
                    Pat::TupleStruct(ts) if ts.elems.len() == 1 => match &ts.elems[0] {
                        Pat::Ident(i) => (
                            i.ident.to_string(),
                            ts.path.segments.last().map(|s| s.ident.to_string()),
                        ),
                        _ => continue,
                    },
                    _ => continue,
                };
                params.push(Param {
                    name,
                    ty,
                    destructured,
                });
            }
        }
    }
    (params, tx_param)
}

pub(super) fn is_test_attr(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        let p = a.path();
        if p.segments.last().is_some_and(|s| s.ident == "test") {
            return true;
        }
        if p.is_ident("cfg")
            && let Ok(list) = a.meta.require_list()
        {
            let t = list.tokens.to_string();
            return t
                .split(|c: char| !c.is_alphanumeric() && c != '_')
                .any(|w| w == "test")
                && !t.contains("not");
        }
        false
    })
}

fn str_lit(e: &Expr) -> Option<&syn::LitStr> {
    match peel(e) {
        Expr::Lit(syn::ExprLit {
            lit: Lit::Str(s), ..
        }) => Some(s),
        _ => None,
    }
}

fn macro_args(mac: &syn::Macro) -> Option<Punctuated<Expr, Token![,]>> {
    mac.parse_body_with(Punctuated::<Expr, Token![,]>::parse_terminated)
        .ok()
}

/// Macros whose bodies are not expression lists.
fn opaque_macro(name: &str) -> bool {
    matches!(
        name,
        "table"
            | "macro_rules"
            | "joinable"
            | "allow_tables_to_appear_in_same_query"
            | "json"
            | "html"
            | "view"
            | "select"
            | "join"
            | "try_join"
            | "quote"
            | "parse_quote"
            | "sql_function"
            | "define_sql_function"
            | "lazy_static"
            | "thread_local"
            | "cfg_if"
            | "include_str"
            | "include_bytes"
            // Logging, printing and assertions: never a query, a cache call or SQL that runs;
            // the most frequent macros by far, so skipping them saves a re-parse of their bodies.
            | "trace"
            | "debug"
            | "info"
            | "warn"
            | "error"
            | "event"
            | "trace_span"
            | "debug_span"
            | "info_span"
            | "warn_span"
            | "error_span"
            | "println"
            | "eprintln"
            | "print"
            | "eprint"
            | "assert"
            | "assert_eq"
            | "assert_ne"
            | "debug_assert"
            | "debug_assert_eq"
            | "debug_assert_ne"
            | "panic"
            | "unreachable"
            | "todo"
            | "unimplemented"
    )
}

impl V {
    fn span(&self, s: proc_macro2::Span) -> Span {
        let r = s.byte_range();
        Span::new(self.base + r.start as u32, self.base + r.end as u32)
    }

    /// Where `e` starts: the start of `e.span()` without printing `e` to tokens (what
    /// `Spanned::span` does, at a cost that grows with the expression), for the kinds that
    /// start a query or a call argument.
    fn start_of(&self, e: &Expr) -> u32 {
        self.span(first_token(e).unwrap_or_else(|| e.span())).start
    }

    fn in_test(&self) -> bool {
        self.test_depth > 0
    }

    fn cur(&mut self) -> &mut Locals {
        self.locals
            .last_mut()
            .expect("the module level is always there")
    }

    fn func(&self) -> Option<u32> {
        self.locals.last().and_then(|l| l.func)
    }

    fn in_transaction(&self) -> bool {
        self.tx_closure > 0 || self.locals.last().is_some_and(|l| l.began_tx || l.tx_param)
    }

    fn local_type(&self, name: &str) -> Vec<String> {
        self.locals
            .last()
            .and_then(|l| l.types.get(name).cloned())
            .unwrap_or_default()
    }

    /// A Diesel table reference: `invoices::table` (module `invoices`), or a bare `invoices`
    /// imported from `schema::invoices::dsl`.
    fn diesel_table(&self, e: &Expr) -> Option<Vec<String>> {
        let Expr::Path(p) = e else { return None };
        if p.qself.is_some() {
            return None;
        }
        let s = segs(&p.path);
        if s.len() >= 2 && s.last().is_some_and(|l| l == "table") {
            return Some(s);
        }
        if s.len() == 1 {
            let name = &s[0];
            let via_dsl = self.out.uses.iter().any(|u| {
                let n = u.path.len();
                (u.name == *name && n >= 2 && u.path[n - 2] == "dsl" && u.path[n - 1] == *name)
                    || (u.name == "*" && n >= 3 && u.path[n - 2] == "dsl" && u.path[n - 3] == *name)
            });
            if via_dsl {
                return Some(s);
            }
        }
        None
    }

    fn is_redis_receiver(&self, e: &Expr) -> bool {
        if !self.uses_redis {
            return false;
        }
        let path = dotted(e);
        let root = path.split('.').next().unwrap_or_default();
        if path.split('.').any(|seg| seg.contains("redis")) {
            return true;
        }
        let Some(l) = self.locals.last() else {
            return false;
        };
        l.redis.contains(root)
            || l.types
                .get(root)
                .is_some_and(|t| t.iter().any(|n| REDIS_TYPES.contains(&n.as_str())))
    }

    fn is_moka_receiver(&self, e: &Expr) -> bool {
        if !self.uses_moka {
            return false;
        }
        let path = dotted(e);
        let last = path.rsplit('.').next().unwrap_or_default();
        let root = path.split('.').next().unwrap_or_default();
        (path.contains('.') && self.cache_fields.contains(last))
            || self
                .locals
                .last()
                .and_then(|l| l.types.get(root))
                .is_some_and(|t| t.iter().any(|n| n == "Cache" || n == "SegmentedCache"))
    }

    fn hole(&self, e: &Expr) -> Hole {
        let path = dotted(e);
        let root = path.split('.').next().unwrap_or_default().to_string();
        Hole {
            ty: self.local_type(&root),
            path,
        }
    }

    fn key_shape(&self, e: &Expr) -> KeyShape {
        let e = peel(e);
        match e {
            Expr::MethodCall(m)
                if m.args.is_empty()
                    && matches!(
                        m.method.to_string().as_str(),
                        "as_str"
                            | "as_ref"
                            | "clone"
                            | "to_string"
                            | "to_owned"
                            | "as_bytes"
                            | "into"
                    ) =>
            {
                self.key_shape(&m.receiver)
            }
            Expr::Lit(syn::ExprLit {
                lit: Lit::Str(s), ..
            }) => KeyShape::Text {
                lead: s.value(),
                holes: Vec::new(),
            },
            Expr::Macro(m)
                if m.mac
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "format") =>
            {
                self.format_shape(&m.mac).unwrap_or(KeyShape::Unknown)
            }
            Expr::Path(p) if p.path.segments.len() == 1 => {
                let name = p.path.segments[0].ident.to_string();
                match self.locals.last().and_then(|l| l.keys.get(&name)) {
                    Some(k) => k.clone(),
                    None => KeyShape::Value(self.hole(e)),
                }
            }
            Expr::Path(_) | Expr::Field(_) => KeyShape::Value(self.hole(e)),
            Expr::Call(c) => {
                let name = match peel(&c.func) {
                    Expr::Path(p) => p
                        .path
                        .segments
                        .last()
                        .map(|s| s.ident.to_string())
                        .unwrap_or_default(),
                    _ => String::new(),
                };
                KeyShape::Call {
                    name,
                    holes: c.args.iter().map(|a| self.hole(a)).collect(),
                }
            }
            Expr::MethodCall(m) => KeyShape::Call {
                name: m.method.to_string(),
                holes: std::iter::once(self.hole(&m.receiver))
                    .chain(m.args.iter().map(|a| self.hole(a)))
                    .collect(),
            },
            Expr::Tuple(t) => KeyShape::Many(t.elems.iter().map(|x| self.key_shape(x)).collect()),
            _ => KeyShape::Unknown,
        }
    }

    /// `format!("tenant:{}:{id}", t)`: the literal text up to the first value, and the values.
    fn format_shape(&self, mac: &syn::Macro) -> Option<KeyShape> {
        let args = macro_args(mac)?;
        let mut it = args.iter();
        let fmt = str_lit(it.next()?)?.value();
        let mut lead = String::new();
        let mut holes = Vec::new();
        let mut chars = fmt.chars().peekable();
        let mut in_lead = true;
        while let Some(c) = chars.next() {
            match c {
                '{' if chars.peek() == Some(&'{') => {
                    chars.next();
                    if in_lead {
                        lead.push('{');
                    }
                }
                '}' if chars.peek() == Some(&'}') => {
                    chars.next();
                    if in_lead {
                        lead.push('}');
                    }
                }
                '{' => {
                    in_lead = false;
                    let mut name = String::new();
                    for c in chars.by_ref() {
                        if c == '}' {
                            break;
                        }
                        name.push(c);
                    }
                    let name = name
                        .split(':')
                        .next()
                        .unwrap_or_default()
                        .trim()
                        .to_string();
                    if !name.is_empty() && !name.chars().all(|c| c.is_ascii_digit()) {
                        holes.push(Hole {
                            ty: self.local_type(&name),
                            path: name,
                        });
                    }
                }
                c if in_lead => lead.push(c),
                _ => {}
            }
        }
        for a in it {
            match a {
                Expr::Assign(asg) => holes.push(self.hole(&asg.right)),
                other => holes.push(self.hole(other)),
            }
        }
        Some(KeyShape::Text { lead, holes })
    }

    /// Columns compared for equality anywhere in `e` (`Column::TenantId.eq(t)`,
    /// `invoices::tenant_id.eq(t).and(...)`, `Expr::col(Column::TenantId).eq(t)`).
    fn eq_columns(e: &Expr, out: &mut Vec<String>) {
        struct Cols<'o>(&'o mut Vec<String>);
        impl<'ast> Visit<'ast> for Cols<'_> {
            fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
                if EQ_METHODS.iter().any(|n| m.method == n)
                    && let Some(col) = column_of(&m.receiver)
                {
                    self.0.push(col);
                }
                visit::visit_expr_method_call(self, m);
            }
        }
        Cols(out).visit_expr(e);
    }

    fn push_table(&mut self, table: TableDecl) {
        self.out.tables.push(table);
    }

    fn entity(&mut self, s: &syn::ItemStruct) {
        if !self.entities {
            return;
        }
        let derives = s.attrs.iter().any(|a| {
            a.path().is_ident("derive")
                && a.meta
                    .require_list()
                    .is_ok_and(|l| l.tokens.to_string().contains("DeriveEntityModel"))
        });
        if !derives {
            return;
        }
        let mut table = None;
        for a in s.attrs.iter().filter(|a| a.path().is_ident("sea_orm")) {
            let _ = a.parse_nested_meta(|meta| {
                if meta.path.is_ident("table_name") {
                    let v: syn::LitStr = meta.value()?.parse()?;
                    table = Some(v.value());
                } else if meta.input.peek(Token![=]) {
                    let _: Expr = meta.value()?.parse()?;
                }
                Ok(())
            });
        }
        let Some(table) = table else { return };
        let mut columns = Vec::new();
        let mut primary_key = Vec::new();
        for f in &s.fields {
            let Some(ident) = &f.ident else { continue };
            let mut name = ident.to_string();
            let mut pk = false;
            for a in f.attrs.iter().filter(|a| a.path().is_ident("sea_orm")) {
                let _ = a.parse_nested_meta(|meta| {
                    if meta.path.is_ident("column_name") {
                        let v: syn::LitStr = meta.value()?.parse()?;
                        name = v.value();
                    } else if meta.path.is_ident("primary_key") {
                        pk = true;
                    } else if meta.input.peek(Token![=]) {
                        let _: Expr = meta.value()?.parse()?;
                    }
                    Ok(())
                });
            }
            let name = name.trim_start_matches("r#").to_ascii_lowercase();
            if pk {
                primary_key.push(name.clone());
            }
            columns.push(name);
        }
        let span = self.span(s.ident.span());
        self.push_table(TableDecl {
            kind: TableKind::SeaOrmEntity,
            table: table.to_ascii_lowercase(),
            module: self.mods.last().cloned().unwrap_or_default(),
            columns,
            primary_key,
            span,
        });
    }

    /// `table! { [#[sql_name = "x"]] [schema.]name (pk) { col -> Type, ... } }`
    fn diesel_table_macro(&mut self, mac: &syn::Macro) {
        use proc_macro2::TokenTree as TT;
        let toks: Vec<TT> = mac.tokens.clone().into_iter().collect();
        let mut i = 0;
        let mut sql_name: Option<String> = None;
        let mut name: Option<(String, proc_macro2::Span)> = None;
        let mut primary_key: Vec<String> = Vec::new();
        while i < toks.len() {
            match &toks[i] {
                TT::Punct(p) if p.as_char() == '#' => {
                    if let Some(TT::Group(g)) = toks.get(i + 1) {
                        let t = g.stream().to_string();
                        if t.starts_with("sql_name")
                            && let Some(v) = t.split('"').nth(1)
                        {
                            sql_name = Some(v.to_string());
                        }
                    }
                    i += 2;
                }
                TT::Ident(id) if id == "use" => {
                    while i < toks.len() && !matches!(&toks[i], TT::Punct(p) if p.as_char() == ';')
                    {
                        i += 1;
                    }
                    i += 1;
                }
                TT::Ident(id) => {
                    name = Some((id.to_string(), id.span()));
                    i += 1;
                }
                TT::Punct(_) => i += 1,
                TT::Group(g) if g.delimiter() == proc_macro2::Delimiter::Parenthesis => {
                    primary_key = g
                        .stream()
                        .into_iter()
                        .filter_map(|t| match t {
                            TT::Ident(id) => Some(id.to_string().to_ascii_lowercase()),
                            _ => None,
                        })
                        .collect();
                    i += 1;
                }
                TT::Group(g) if g.delimiter() == proc_macro2::Delimiter::Brace => {
                    let mut columns = Vec::new();
                    let inner: Vec<TT> = g.stream().into_iter().collect();
                    let mut j = 0;
                    let mut expect_name = true;
                    while j < inner.len() {
                        match &inner[j] {
                            TT::Punct(p) if p.as_char() == '#' => j += 2,
                            TT::Punct(p) if p.as_char() == ',' => {
                                expect_name = true;
                                j += 1;
                            }
                            TT::Ident(id) if expect_name => {
                                if matches!(inner.get(j + 1), Some(TT::Punct(p)) if p.as_char() == '-')
                                {
                                    columns.push(
                                        id.to_string()
                                            .trim_start_matches("r#")
                                            .to_ascii_lowercase(),
                                    );
                                    expect_name = false;
                                }
                                j += 1;
                            }
                            _ => j += 1,
                        }
                    }
                    if let Some((module, span)) = name.take() {
                        let span = self.span(span);
                        self.push_table(TableDecl {
                            kind: TableKind::Diesel,
                            table: sql_name
                                .take()
                                .unwrap_or_else(|| module.clone())
                                .to_ascii_lowercase(),
                            module,
                            columns,
                            primary_key: std::mem::take(&mut primary_key),
                            span,
                        });
                    }
                    i += 1;
                }
                _ => i += 1,
            }
        }
    }

    /// `#[cached(key = "String", convert = r#"{ format!("{}", id) }"#)]` (the `cached` crate; also
    /// `io_cached`): the `convert` block builds the key of a cache shared by every caller. Read
    /// with the function's parameters in scope (call `enter_fn` first). Without `convert` the key
    /// is every argument, which is not read.
    fn cached_attr(&mut self, attrs: &[syn::Attribute]) {
        for a in attrs {
            let name = a.path().segments.last().map(|s| s.ident.to_string());
            if !matches!(name.as_deref(), Some("cached" | "io_cached")) {
                continue;
            }
            let mut convert: Option<syn::LitStr> = None;
            let _ = a.parse_nested_meta(|meta| {
                if meta.path.is_ident("convert") {
                    convert = Some(meta.value()?.parse()?);
                } else if meta.input.peek(Token![=]) {
                    let _: Expr = meta.value()?.parse()?;
                } else if meta.input.peek(syn::token::Paren) {
                    let _: proc_macro2::Group = meta.input.parse()?;
                }
                Ok(())
            });
            let Some(lit) = convert else { continue };
            let Ok(block) = syn::parse_str::<syn::Block>(&lit.value()) else {
                continue;
            };
            let key = match block.stmts.last() {
                Some(syn::Stmt::Expr(e, None)) => self.key_shape(e),
                _ => KeyShape::Unknown,
            };
            // The spans inside the parsed string are not the file's: report at the attribute.
            let span = self.span(a.span());
            self.out.cache.push(CacheCall {
                backend: "cached".into(),
                method: "cached".into(),
                key,
                span,
                func: self.func(),
                in_test: self.in_test(),
            });
        }
    }

    fn enter_fn(&mut self, attrs: &[syn::Attribute], sig: &syn::Signature) -> bool {
        let test = is_test_attr(attrs);
        if test {
            self.test_depth += 1;
        }
        let (params, tx_param) = signature_params(sig);
        let mut locals = Locals {
            tx_param,
            ..Locals::default()
        };
        for p in params
            .iter()
            .filter(|p| p.name != "self" || !p.ty.is_empty())
        {
            locals.types.insert(p.name.clone(), p.ty.clone());
        }
        let index = self.out.functions.len() as u32;
        let name_span = self.span(sig.ident.span());
        self.out.functions.push(RustFn {
            name: sig.ident.to_string(),
            name_span,
            params,
            filters_param: Vec::new(),
            in_test: self.in_test(),
        });
        locals.func = Some(index);
        self.locals.push(locals);
        test
    }

    fn leave_fn(&mut self, test: bool) {
        self.locals.pop();
        if test {
            self.test_depth -= 1;
        }
    }

    /// A method chain seen from its outermost call.
    fn chain(&mut self, outer: &syn::ExprMethodCall) {
        // From the outermost call inwards.
        let mut methods: Vec<&syn::ExprMethodCall> = Vec::new();
        let mut cur: &Expr = &outer.receiver;
        methods.push(outer);
        while let Expr::MethodCall(m) = peel(cur) {
            methods.push(m);
            cur = &m.receiver;
        }
        methods.reverse();
        let root = peel(cur);
        let mut filter_columns = Vec::new();
        for m in &methods {
            if FILTER_METHODS.iter().any(|f| m.method == f) {
                for a in &m.args {
                    Self::eq_columns(a, &mut filter_columns);
                }
            }
        }
        // The method names, built only where a site is recorded.
        let calls = || -> Vec<String> { methods.iter().map(|m| m.method.to_string()).collect() };

        // A query kept in a local and refined later: `q = q.filter(...)`.
        if let Expr::Path(p) = root
            && p.path.segments.len() == 1
        {
            let name = p.path.segments[0].ident.to_string();
            if let Some(&site) = self.locals.last().and_then(|l| l.queries.get(&name)) {
                let q = &mut self.out.queries[site];
                q.filter_columns.extend(filter_columns);
                q.calls.extend(calls());
                return;
            }
            // A helper filtering its parameter: `fn scoped(q: Select<E>, ..) { q.filter(..) }`.
            if !filter_columns.is_empty()
                && let Some(fi) = self.func()
                && self.out.functions[fi as usize]
                    .params
                    .iter()
                    .any(|p| p.name == name)
            {
                self.out.functions[fi as usize]
                    .filters_param
                    .extend(filter_columns.iter().cloned());
            }
        }
        match root {
            Expr::Call(c) => {
                let Expr::Path(fp) = peel(&c.func) else {
                    return;
                };
                let s = call_segs(fp);
                let Some(last) = s.last() else { return };
                if s.len() >= 2 && SEAORM_STARTS.contains(&last.as_str()) {
                    if !(last == "find_by_id" && c.args.first().is_some_and(|a| self.row_id(a))) {
                        self.seaorm_site(c, &s, filter_columns, calls());
                    }
                } else if self.is_diesel_wrap(&s)
                    && let Some(arg) = c.args.first()
                {
                    self.diesel_wrap_site(last, arg, filter_columns, calls());
                } else if last == "cmd"
                    && self.uses_redis
                    && let Some(cmd) = c.args.first().and_then(str_lit)
                {
                    let cmd = cmd.value().to_ascii_uppercase();
                    if REDIS_KEYLESS.contains(&cmd.as_str()) {
                        return;
                    }
                    let key = methods
                        .iter()
                        .find(|m| m.method == "arg")
                        .and_then(|m| m.args.first())
                        .map(|k| self.key_shape(k))
                        .unwrap_or(KeyShape::Unknown);
                    let span = self.span(c.span());
                    self.out.cache.push(CacheCall {
                        backend: "redis".into(),
                        method: cmd,
                        key,
                        span,
                        func: self.func(),
                        in_test: self.in_test(),
                    });
                }
            }
            Expr::Path(_) | Expr::Field(_) => {
                if let Some(receiver) = self.diesel_table(root) {
                    let span = self.span(root.span());
                    // A join's target (`.inner_join(t::table.on(..))`), a chain recorded with
                    // its `diesel::update(..)`, or a row in hand read back (`.find(x.id)`).
                    let first = methods[0];
                    if first.method == "on"
                        || self.consumed.contains(&span.start)
                        || (first.method == "find"
                            && first.args.first().is_some_and(|a| self.row_id(a)))
                    {
                        return;
                    }
                    let calls = calls();
                    let method = calls.first().cloned().unwrap_or_default();
                    self.out.queries.push(OrmQuery {
                        kind: OrmKind::Diesel,
                        receiver,
                        method,
                        filter_columns,
                        calls,
                        span,
                        insert_at: span.end,
                        func: self.func(),
                        in_test: self.in_test(),
                    });
                    return;
                }
                let first = methods[0];
                let method = first.method.to_string();
                let backend = if REDIS_METHODS.contains(&method.as_str())
                    && self.is_redis_receiver(root)
                {
                    "redis"
                } else if MOKA_METHODS.contains(&method.as_str()) && self.is_moka_receiver(root) {
                    "moka"
                } else {
                    return;
                };
                let Some(k) = first.args.first() else { return };
                let key = self.key_shape(k);
                let start = self.span(root.span()).start;
                let end = self.span(first.method.span()).end;
                self.out.cache.push(CacheCall {
                    backend: backend.into(),
                    method,
                    key,
                    span: Span::new(start, end),
                    func: self.func(),
                    in_test: self.in_test(),
                });
            }
            _ => {}
        }
    }

    fn is_diesel_wrap(&self, s: &[String]) -> bool {
        let Some(name) = s.last() else { return false };
        (name == "update" || name == "delete")
            && (s.first().is_some_and(|f| f == "diesel")
                || (s.len() == 1
                    && self
                        .out
                        .uses
                        .iter()
                        .any(|u| u.name == *name && u.path.first().is_some_and(|r| r == "diesel"))))
    }

    /// `diesel::update(<table or chain>).set(..).filter(..)...`: one site for the statement, with
    /// the filters inside and after the call.
    fn diesel_wrap_site(
        &mut self,
        name: &str,
        arg: &Expr,
        mut filter_columns: Vec<String>,
        mut calls: Vec<String>,
    ) {
        let mut inner = peel(arg);
        let mut inner_methods: Vec<&syn::ExprMethodCall> = Vec::new();
        while let Expr::MethodCall(m) = inner {
            inner_methods.push(m);
            inner = peel(&m.receiver);
        }
        let Some(receiver) = self.diesel_table(inner) else {
            return;
        };
        inner_methods.reverse();
        if inner_methods
            .first()
            .is_some_and(|m| m.method == "find" && m.args.first().is_some_and(|a| self.row_id(a)))
        {
            return;
        }
        for m in &inner_methods {
            if FILTER_METHODS.contains(&m.method.to_string().as_str()) {
                for a in &m.args {
                    Self::eq_columns(a, &mut filter_columns);
                }
            }
        }
        let mut all: Vec<String> = inner_methods.iter().map(|m| m.method.to_string()).collect();
        all.append(&mut calls);
        let span = self.span(inner.span());
        self.consumed.insert(span.start);
        self.out.queries.push(OrmQuery {
            kind: OrmKind::Diesel,
            receiver,
            method: name.to_string(),
            filter_columns,
            calls: all,
            span,
            insert_at: span.end,
            func: self.func(),
            in_test: self.in_test(),
        });
    }

    /// `x.id` (or `x.pk`) of a row in hand: a local read by a query or written by this function.
    fn row_id(&self, e: &Expr) -> bool {
        let path = dotted(e);
        let mut parts = path.split('.');
        let (Some(root), Some(field), None) = (parts.next(), parts.next(), parts.next()) else {
            return false;
        };
        (field == "id" || field == "pk")
            && self.locals.last().is_some_and(|l| l.rows.contains(root))
    }

    fn seaorm_site(
        &mut self,
        c: &syn::ExprCall,
        s: &[String],
        filter_columns: Vec<String>,
        calls: Vec<String>,
    ) {
        let span = self.span(c.span());
        self.out.queries.push(OrmQuery {
            kind: OrmKind::SeaOrm,
            receiver: s[..s.len() - 1].to_vec(),
            method: s[s.len() - 1].clone(),
            filter_columns,
            calls,
            span,
            insert_at: span.end,
            func: self.func(),
            in_test: self.in_test(),
        });
    }

    fn sql_text(&mut self, lit: &syn::LitStr) {
        let span = self.span(lit.span());
        self.out.sql.push(SqlSite {
            sql: lit.value(),
            span,
            func: self.func(),
            in_test: self.in_test(),
        });
    }

    /// `SET [LOCAL|SESSION] app.tenant_id ...` and `set_config('app.tenant_id', x, is_local)` in
    /// any string literal.
    fn session_vars(&mut self, lit: &syn::LitStr) {
        let value = lit.value();
        let lower = value.to_ascii_lowercase();
        if !lower.contains("set") {
            return;
        }
        let span = self.span(lit.span());
        // Where the literal's text starts in the source, if it maps byte for byte.
        let raw = lit.token().to_string();
        let content_at = raw.find('"').map(|q| q + 1);
        let map = |at: usize, len: usize| -> Option<Span> {
            let q = content_at?;
            (raw.get(q..q + at)? == value.get(..at)?).then(|| {
                Span::new(
                    span.start + (q + at) as u32,
                    span.start + (q + at + len) as u32,
                )
            })
        };
        let mut found = Vec::new();
        // set_config('name', value, is_local)
        let mut from = 0;
        while let Some(i) = lower[from..].find("set_config") {
            let at = from + i;
            from = at + 10;
            let rest = &lower[from..];
            let Some(open) = rest.find('(') else { continue };
            if !rest[..open].trim().is_empty() {
                continue;
            }
            let Some(close) = rest.find(')') else {
                continue;
            };
            let args = &rest[open + 1..close];
            let parts: Vec<&str> = args.split(',').collect();
            if parts.len() != 3 {
                continue;
            }
            let var = parts[0].trim().trim_matches('\'').to_string();
            let flag = parts[2].trim();
            let local = flag == "true";
            let fix = (flag == "false")
                .then(|| {
                    let flag_at = from + open + 1 + args.rfind("false")?;
                    map(flag_at, 5).map(|s| (s, "true".to_string()))
                })
                .flatten();
            found.push((var, local, fix));
        }
        // SET statements (each `;`-separated statement).
        let mut offset = 0;
        for stmt in lower.split(';') {
            let trimmed = stmt.trim_start();
            let lead = stmt.len() - trimmed.len();
            if let Some(rest) = trimmed.strip_prefix("set ") {
                let words: Vec<&str> = rest.split_whitespace().collect();
                let (local, name) = match words.first() {
                    Some(&"local") => (true, words.get(1)),
                    Some(&"session") => (false, words.get(1)),
                    _ => (false, words.first()),
                };
                if let Some(name) = name {
                    let var: String = name
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                        .collect();
                    if var.contains('.') || var == "search_path" || var == "role" {
                        let fix = (!local && words.first() != Some(&"session"))
                            .then(|| map(offset + lead + 4, 0).map(|s| (s, "LOCAL ".to_string())))
                            .flatten();
                        found.push((var, local, fix));
                    }
                }
            }
            offset += stmt.len() + 1;
        }
        let in_transaction = self.in_transaction();
        for (var, local, fix) in found {
            self.out.session_vars.push(SessionVar {
                var,
                local,
                in_transaction,
                span,
                fix,
                func: self.func(),
                in_test: self.in_test(),
            });
        }
    }

    fn is_sqlx_fn(&self, s: &[String]) -> bool {
        let Some(last) = s.last() else { return false };
        if !SQL_CALLS.contains(&last.as_str()) || !self.uses_sqlx {
            return false;
        }
        s.len() >= 2 && s[s.len() - 2] == "sqlx"
            || (s.len() == 1
                && self
                    .out
                    .uses
                    .iter()
                    .any(|u| u.name == *last && u.path.first().is_some_and(|r| r == "sqlx")))
    }

    fn visit_macro_body(&mut self, mac: &syn::Macro) {
        let name = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default();
        if name == "table" {
            self.diesel_table_macro(mac);
            return;
        }
        if opaque_macro(&name) {
            return;
        }
        let Some(args) = macro_args(mac) else { return };
        let sqlx =
            SQL_CALLS.contains(&name.as_str()) && (mac.path.segments.len() >= 2 || self.uses_sqlx);
        if sqlx && let Some(lit) = args.iter().take(2).find_map(str_lit) {
            self.sql_text(lit);
        }
        for a in &args {
            self.visit_expr(a);
        }
    }
}

/// Every name a `use` tree binds, with the path it stands for (globs bind `*`).
pub(super) fn record_use(out: &mut Vec<UseFact>, prefix: &mut Vec<String>, tree: &syn::UseTree) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            record_use(out, prefix, &p.tree);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = n.ident.to_string();
            let mut path = prefix.clone();
            if name != "self" {
                path.push(name.clone());
            }
            let bound = if name == "self" {
                prefix.last().cloned().unwrap_or_default()
            } else {
                name
            };
            out.push(UseFact { name: bound, path });
        }
        syn::UseTree::Rename(r) => {
            let mut path = prefix.clone();
            if r.ident != "self" {
                path.push(r.ident.to_string());
            }
            out.push(UseFact {
                name: r.rename.to_string(),
                path,
            });
        }
        syn::UseTree::Glob(_) => {
            let mut path = prefix.clone();
            path.push("*".into());
            out.push(UseFact {
                name: "*".into(),
                path,
            });
        }
        syn::UseTree::Group(g) => {
            for t in &g.items {
                record_use(out, prefix, t);
            }
        }
    }
}

/// The span of the first token of `e`, for the common kinds (`None`: ask `Spanned`).
pub(super) fn first_token(e: &Expr) -> Option<proc_macro2::Span> {
    match e {
        Expr::Path(p) if p.attrs.is_empty() => Some(path_start(p.qself.as_ref(), &p.path)),
        Expr::Call(c) if c.attrs.is_empty() => first_token(&c.func),
        Expr::MethodCall(m) if m.attrs.is_empty() => first_token(&m.receiver),
        Expr::Field(f) if f.attrs.is_empty() => first_token(&f.base),
        Expr::Index(i) if i.attrs.is_empty() => first_token(&i.expr),
        Expr::Await(a) if a.attrs.is_empty() => first_token(&a.base),
        Expr::Try(t) if t.attrs.is_empty() => first_token(&t.expr),
        Expr::Cast(c) if c.attrs.is_empty() => first_token(&c.expr),
        Expr::Binary(b) if b.attrs.is_empty() => first_token(&b.left),
        Expr::Lit(l) if l.attrs.is_empty() => Some(l.lit.span()),
        Expr::Reference(r) if r.attrs.is_empty() => Some(r.and_token.span),
        Expr::Paren(p) if p.attrs.is_empty() => Some(p.paren_token.span.open()),
        Expr::Tuple(t) if t.attrs.is_empty() => Some(t.paren_token.span.open()),
        Expr::Array(a) if a.attrs.is_empty() => Some(a.bracket_token.span.open()),
        Expr::Macro(m) if m.attrs.is_empty() => Some(path_start(None, &m.mac.path)),
        Expr::Struct(s) if s.attrs.is_empty() => Some(path_start(s.qself.as_ref(), &s.path)),
        _ => None,
    }
}

fn path_start(qself: Option<&syn::QSelf>, path: &syn::Path) -> proc_macro2::Span {
    if let Some(q) = qself {
        return q.lt_token.span;
    }
    if let Some(c) = &path.leading_colon {
        return c.spans[0];
    }
    path.segments
        .first()
        .map_or_else(proc_macro2::Span::call_site, |s| s.ident.span())
}

/// An expression as a dotted path (`self.tenant.id`, `tenant_id`, `ctx.tenant_id()` as
/// `ctx.tenant_id`); empty when it is none.
fn dotted(e: &Expr) -> String {
    match peel(e) {
        Expr::Path(p) => segs(&p.path).join("."),
        Expr::Field(f) => {
            let base = dotted(&f.base);
            let member = match &f.member {
                syn::Member::Named(i) => i.to_string(),
                syn::Member::Unnamed(i) => i.index.to_string(),
            };
            if base.is_empty() {
                String::new()
            } else {
                format!("{base}.{member}")
            }
        }
        Expr::MethodCall(m) if m.args.is_empty() => {
            let base = dotted(&m.receiver);
            match m.method.to_string().as_str() {
                "clone" | "as_str" | "to_string" | "as_ref" | "to_owned" | "into" => base,
                method if !base.is_empty() => format!("{base}.{method}"),
                _ => String::new(),
            }
        }
        _ => String::new(),
    }
}

/// The column a comparison's receiver names: `Column::TenantId`, `invoices::tenant_id`,
/// `tenant_id`, `Expr::col(Column::TenantId)`, `(Invoices::Table, Invoices::TenantId)`.
fn column_of(e: &Expr) -> Option<String> {
    match peel(e) {
        Expr::Path(p) => p.path.segments.last().map(|s| s.ident.to_string()),
        Expr::Call(c) => c.args.first().and_then(column_of),
        Expr::Tuple(t) => t.elems.last().and_then(column_of),
        Expr::MethodCall(m) if m.method == "into_expr" || m.method == "into_simple_expr" => {
            column_of(&m.receiver)
        }
        _ => None,
    }
}

impl<'ast> Visit<'ast> for V {
    fn visit_item_use(&mut self, u: &'ast syn::ItemUse) {
        record_use(&mut self.out.uses, &mut Vec::new(), &u.tree);
    }

    fn visit_item_mod(&mut self, m: &'ast syn::ItemMod) {
        let test = is_test_attr(&m.attrs);
        if test {
            self.test_depth += 1;
        }
        self.mods.push(m.ident.to_string());
        visit::visit_item_mod(self, m);
        self.mods.pop();
        if test {
            self.test_depth -= 1;
        }
    }

    fn visit_item_struct(&mut self, s: &'ast syn::ItemStruct) {
        self.entity(s);
        if self.uses_moka {
            for f in &s.fields {
                if let Some(id) = &f.ident
                    && type_names(&f.ty)
                        .iter()
                        .any(|n| n == "Cache" || n == "SegmentedCache")
                {
                    self.cache_fields.insert(id.to_string());
                }
            }
        }
        visit::visit_item_struct(self, s);
    }

    fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
        let test = self.enter_fn(&f.attrs, &f.sig);
        self.cached_attr(&f.attrs);
        self.visit_block(&f.block);
        self.leave_fn(test);
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        let test = self.enter_fn(&f.attrs, &f.sig);
        self.visit_block(&f.block);
        self.leave_fn(test);
    }

    fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
        if let Some(body) = &f.default {
            let test = self.enter_fn(&f.attrs, &f.sig);
            self.visit_block(body);
            self.leave_fn(test);
        }
    }

    fn visit_local(&mut self, l: &'ast syn::Local) {
        let (name, ty) = match &l.pat {
            Pat::Ident(i) => (Some(i.ident.to_string()), None),
            Pat::Type(pt) => match &*pt.pat {
                Pat::Ident(i) => (Some(i.ident.to_string()), Some(type_names(&pt.ty))),
                _ => (None, None),
            },
            _ => (None, None),
        };
        let before = self.out.queries.len();
        if let Some(init) = &l.init {
            self.in_receiver = false;
            self.visit_expr(&init.expr);
            if let Some(d) = &init.diverge {
                self.visit_expr(&d.1);
            }
        }
        let Some(name) = name else { return };
        if let Some(ty) = ty {
            self.cur().types.insert(name.clone(), ty);
        }
        let Some(init) = &l.init else { return };
        let start = self.start_of(peel(&init.expr));
        if let Some(i) = (before..self.out.queries.len())
            .rev()
            .find(|&i| self.out.queries[i].span.start == start)
        {
            self.cur().queries.insert(name.clone(), i);
        }
        // Keys are read only by Redis and moka calls.
        if self.uses_redis || self.uses_moka {
            let key = self.key_shape(&init.expr);
            if matches!(key, KeyShape::Text { .. } | KeyShape::Call { .. }) {
                self.cur().keys.insert(name.clone(), key);
            }
        }
        // A row in hand: `let inv = invoices::table.find(id).first(conn)?;`
        if chain_has_method(&init.expr, ROW_METHODS) {
            self.cur().rows.insert(name.clone());
        }
        if !self.uses_redis {
            return;
        }
        // A Redis connection: `let mut conn = client.get_multiplexed_async_connection().await?;`
        let mut e = peel(&init.expr);
        while let Expr::MethodCall(m) = e {
            if REDIS_CONN_METHODS.contains(&m.method.to_string().as_str())
                || (m.method == "get" && dotted(&m.receiver).contains("redis"))
            {
                self.cur().redis.insert(name.clone());
                break;
            }
            e = peel(&m.receiver);
        }
    }

    fn visit_expr_method_call(&mut self, m: &'ast syn::ExprMethodCall) {
        let outermost = !std::mem::replace(&mut self.in_receiver, false);
        if outermost {
            self.chain(m);
        }
        let method = &m.method;
        if method == "begin" {
            self.cur().began_tx = true;
        }
        // `.values(&new_row)`, `.set(&changes)`: rows this function writes.
        if ["values", "set", "insert", "save"]
            .iter()
            .any(|n| method == n)
            && let Some(a) = m.args.first()
            && let Expr::Path(p) = peel(a)
            && let Some(id) = p.path.get_ident()
        {
            let name = id.to_string();
            self.cur().rows.insert(name);
        }
        self.in_receiver = matches!(peel(&m.receiver), Expr::MethodCall(_) | Expr::Call(_));
        self.visit_expr(&m.receiver);
        self.in_receiver = false;
        let tx = method == "transaction" || method == "run";
        if tx {
            self.tx_closure += 1;
        }
        for a in &m.args {
            self.visit_expr(a);
        }
        if tx {
            self.tx_closure -= 1;
        }
    }

    fn visit_expr_call(&mut self, c: &'ast syn::ExprCall) {
        let outermost = !std::mem::replace(&mut self.in_receiver, false);
        let s = match peel(&c.func) {
            Expr::Path(p) => call_segs(p),
            _ => Vec::new(),
        };
        // `Invoice::find()` on its own (kept in a local, passed to a helper).
        if outermost
            && s.len() >= 2
            && s.last()
                .is_some_and(|l| SEAORM_STARTS.contains(&l.as_str()))
        {
            self.seaorm_site(c, &s, Vec::new(), Vec::new());
        }
        if (self.is_sqlx_fn(&s) || s.last().is_some_and(|l| l == "sql_query"))
            && let Some(lit) = c.args.first().and_then(str_lit)
        {
            self.sql_text(lit);
        }
        let name = s.last().cloned().unwrap_or_default();
        // `diesel::update(..)`/`delete(..)` sites are recorded from their chain (`chain`).
        let diesel_wrap = self.is_diesel_wrap(&s);
        self.visit_expr(&c.func);
        for a in &c.args {
            let before = self.out.queries.len();
            self.visit_expr(a);
            // The query is passed to `name`: a tenant helper, or Diesel's update/delete.
            let mut hits: Vec<usize> = Vec::new();
            if self.out.queries.len() > before {
                let start = self.start_of(peel(a));
                hits.extend(
                    (before..self.out.queries.len())
                        .filter(|&i| self.out.queries[i].span.start == start),
                );
            }
            if let Expr::Path(p) = peel(a)
                && p.path.segments.len() == 1
                && let Some(&i) = self
                    .locals
                    .last()
                    .and_then(|l| l.queries.get(&p.path.segments[0].ident.to_string()))
            {
                hits.push(i);
            }
            for i in hits {
                let q = &mut self.out.queries[i];
                if diesel_wrap && q.kind == OrmKind::Diesel {
                    // Recorded by `diesel_wrap_site` already.
                } else if !name.is_empty() {
                    q.calls.push(name.clone());
                }
            }
        }
    }

    fn visit_expr_closure(&mut self, c: &'ast syn::ExprClosure) {
        for input in &c.inputs {
            if let Pat::Type(pt) = input
                && type_names(&pt.ty)
                    .iter()
                    .any(|t| t.ends_with("Transaction"))
            {
                self.tx_closure += 1;
                visit::visit_expr_closure(self, c);
                self.tx_closure -= 1;
                return;
            }
        }
        visit::visit_expr_closure(self, c);
    }

    fn visit_lit_str(&mut self, lit: &'ast syn::LitStr) {
        self.session_vars(lit);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        self.in_receiver = false;
        self.visit_macro_body(mac);
    }
}
