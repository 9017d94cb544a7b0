use super::*;

fn rust(src: &str) -> (FileFacts, RustFacts) {
    let f = extract_source(src);
    let r = *f.rust.clone().expect("rust facts");
    (f, r)
}

#[test]
fn syntax_error_is_a_problem_at_syns_span_and_never_a_panic() {
    let (f, _) = rust("fn main(db: &Db) {\n    let x = ;\n    invoice::Entity::find();\n}\n");
    assert!(f.has_syntax_error());
    let crate::facts::FileProblem::Syntax { span, .. } = &f.problems[0] else {
        panic!()
    };
    assert_eq!(f.lines.row(span.start), 2);
}

#[test]
fn deep_nesting_is_a_syntax_problem() {
    let src = format!(
        "fn f() {{ let x = {}1{}; }}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    let (f, _) = rust(&src);
    assert!(f.has_syntax_error());
}

#[test]
fn spans_are_bytes_after_non_ascii_and_a_bom() {
    let src = "\u{feff}// é ü\nfn f(db: &Db) { let _ = invoice::Entity::find().all(db); }\n";
    let (_, r) = rust(src);
    let q = &r.queries[0];
    assert_eq!(
        &src[q.span.start as usize..q.span.end as usize],
        "invoice::Entity::find()"
    );
}

#[test]
fn seaorm_entity_and_chain_filters() {
    let src = r#"
#[derive(Clone, Debug, DeriveEntityModel)]
#[sea_orm(table_name = "invoices")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub tenant_id: Uuid,
}

async fn a(db: &DatabaseConnection, t: TenantId) {
    let rows = Entity::find().filter(Column::TenantId.eq(t)).all(db).await;
    let other = invoice::Entity::find().filter(invoice::Column::TenantName.eq("x")).all(db).await;
    let mut q = Invoice::find();
    q = q.filter(invoice::Column::TenantId.eq(t.0));
    let scoped = for_tenant(Invoice::find(), t);
}
"#;
    let (_, r) = rust(src);
    assert_eq!(r.tables.len(), 1);
    assert_eq!(r.tables[0].table, "invoices");
    assert_eq!(r.tables[0].columns, vec!["id", "tenant_id"]);
    let cols: Vec<_> = r.queries.iter().map(|q| q.filter_columns.clone()).collect();
    assert_eq!(cols[0], vec!["TenantId"]);
    assert_eq!(cols[1], vec!["TenantName"]);
    assert_eq!(cols[2], vec!["TenantId"], "refined through the local");
    assert!(r.queries[3].calls.contains(&"for_tenant".to_string()));
    assert_eq!(r.queries.len(), 4);
}

#[test]
fn diesel_table_and_chains() {
    let src = r#"
diesel::table! {
    invoices (id) {
        id -> Int4,
        #[max_length = 10]
        tenant_id -> Uuid,
        tenant_id_hint -> Text,
    }
}
fn f(conn: &mut PgConnection, t: Uuid) {
    use crate::schema::invoices::dsl::*;
    let a = invoices::table.filter(invoices::tenant_id.eq(t)).load::<Invoice>(conn);
    let b = invoices.filter(tenant_id_hint.eq("x")).first::<Invoice>(conn);
    diesel::delete(invoices::table.find(3)).execute(conn);
}
"#;
    let (_, r) = rust(src);
    assert_eq!(r.tables[0].table, "invoices");
    assert_eq!(
        r.tables[0].columns,
        vec!["id", "tenant_id", "tenant_id_hint"]
    );
    assert_eq!(r.queries.len(), 3, "{:?}", r.queries);
    assert_eq!(r.queries[0].filter_columns, vec!["tenant_id"]);
    assert_eq!(r.queries[1].filter_columns, vec!["tenant_id_hint"]);
    assert_eq!(r.queries[2].method, "delete");
}

#[test]
fn sqlx_sql_cache_and_session_vars() {
    let src = r##"
use sqlx::PgPool;
use redis::AsyncCommands;
async fn f(pool: &PgPool, mut conn: redis::aio::MultiplexedConnection, tenant: TenantId) {
    let rows = sqlx::query!("SELECT * FROM invoices WHERE id = $1", 1).fetch_all(pool).await;
    let rows = sqlx::query_as::<_, Invoice>(r#"SELECT * FROM invoices"#).fetch_all(pool).await;
    let key = format!("invoices:{}", 1);
    let _: String = conn.get(&key).await.unwrap();
    let _: () = conn.set(format!("t:{}:x", tenant), 1).await.unwrap();
    sqlx::query("SELECT set_config('app.tenant_id', $1, false)").execute(pool).await;
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("SET LOCAL app.tenant_id = '1'").execute(&mut *tx).await;
    sqlx::query("SET app.tenant_id = '1'").execute(&mut *tx).await;
}
"##;
    let (_, r) = rust(src);
    assert_eq!(r.sql.len(), 5, "{:?}", r.sql);
    assert_eq!(r.cache.len(), 2, "{:?}", r.cache);
    assert!(matches!(&r.cache[0].key, KeyShape::Text { lead, .. } if lead == "invoices:"));
    let KeyShape::Text { holes, .. } = &r.cache[1].key else {
        panic!()
    };
    assert_eq!(holes[0].ty, vec!["TenantId"]);
    let vars: Vec<_> = r
        .session_vars
        .iter()
        .map(|v| (v.var.as_str(), v.local, v.in_transaction, v.fix.is_some()))
        .collect();
    assert_eq!(
        vars,
        vec![
            ("app.tenant_id", false, false, true),
            ("app.tenant_id", true, true, false),
            ("app.tenant_id", false, true, true),
        ]
    );
    let fix = r.session_vars[2].fix.as_ref().unwrap();
    assert_eq!(&src[fix.0.start as usize..fix.0.end as usize], "");
    assert_eq!(&src[fix.0.start as usize - 4..fix.0.start as usize], "SET ");
}

#[test]
fn noqa_comments() {
    let (f, _) = rust(
        "fn f() {} // noqa: TEN201\nconst S: &str = \"// noqa\";\n// tenantlint: noqa: TEN301\n",
    );
    assert_eq!(f.noqa.lines, vec![(1, Some(vec!["TEN201".to_string()]))]);
    assert_eq!(f.noqa.file, Some(Some(vec!["TEN301".to_string()])));
}

#[test]
fn tests_are_marked() {
    let src = "#[cfg(test)]\nmod tests { fn f() { invoice::Entity::find(); } }\n#[tokio::test]\nasync fn g() { invoice::Entity::find(); }\nfn h() { invoice::Entity::find(); }";
    let (_, r) = rust(src);
    let flags: Vec<bool> = r.queries.iter().map(|q| q.in_test).collect();
    assert_eq!(flags, vec![true, true, false]);
}

#[test]
fn a_file_without_markers_is_skimmed_not_syntax_checked_unless_it_does_not_close() {
    // No token a fact needs: not parsed in full, so syn's complaint is not heard (rustc's is).
    let (f, _) = rust("fn main() {\n    let x = ;\n}\n");
    assert!(!f.has_syntax_error());
    assert!(extract_source_full("fn main() {\n    let x = ;\n}\n").has_syntax_error());
    // Unbalanced brackets or an unterminated literal: parsed in full, TEN900 where syn says.
    for src in [
        "fn main() {\n    let x = (1;\n}\n",
        "fn main() {\n    let s = \"open;\n}\n",
    ] {
        let (f, _) = rust(src);
        assert!(f.has_syntax_error(), "{src}");
    }
}

/// The skim gives the facts of a full parse: every Rust file of the fixtures, and files made to
/// exercise what it reads (uses, functions, parameters, test attributes, macros, raw strings).
#[test]
fn skimmed_facts_equal_full_parse_facts() {
    let mut files: Vec<(String, String)> = Vec::new();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for entry in ignore::WalkBuilder::new(&root)
        .standard_filters(false)
        .build()
    {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            files.push((entry.path().display().to_string(), text));
        }
    }
    assert!(files.len() >= 10, "fixtures have Rust files");
    let made = [
        "use a::{b::{self, C as D}, e::*};\npub(crate) use x;\nfn f(&self, t: TenantId, CurrentTenant(id): CurrentTenant, (a, b): (X, Transaction)) {}",
        "#[cfg(test)]\nmod tests {\n    use super::*;\n    #[test]\n    fn t() { fn inner(x: u8) {} }\n}\nmod m { #![cfg(test)] fn g() {} }\n",
        "impl<T: Fn(u8) -> u8> S<T> {\n    pub async unsafe fn a<'a, const N: usize>(&'a self, f: impl Fn(&str) -> Result<(), E>) -> Vec<[u8; N]> where T: Clone { let c = '{'; let s = r#\"}\"#; }\n}\n",
        "trait T { fn decl(&self); fn with_default(&self, x: u32) -> u32 { x } }\nextern \"C\" { fn ext(x: i32); }\n",
        "macro_rules! m { ($x:ident) => { fn $x() {} use foo::bar; }; }\nfn after(y: Option<Box<dyn Fn() -> u8>>) { if !(y.is_some()) { m!(zz); } }\n",
        "/// Doc\n#[tokio::test]\n/// more\nasync fn t2(r#type: u8) { let b = b'x'; let l: &'static str = \"a\\\"b\"; }\n",
        "\u{feff}#!/usr/bin/env run-cargo-script\nfn é(ü: Ü) {}\n",
        "fn outer() -> impl Iterator<Item = u8> + use<> { struct S; impl S { fn m(self: Box<Self>) {} } std::iter::empty() }\n",
        "#[cfg_attr(test, derive(Debug))]\nfn not_test() {}\n#[cfg(not(test))]\nfn also_not() {}\n#[cfg(all(test, feature = \"x\"))]\nfn yes() {}\n",
    ];
    for (i, m) in made.iter().enumerate() {
        files.push((format!("made {i}"), m.to_string()));
    }
    let mut skimmed = 0;
    for (name, text) in &files {
        let fast = extract_source(text);
        let full = extract_source_full(text);
        if full.has_syntax_error() {
            continue;
        }
        let fast_json = serde_json::to_string(&fast).unwrap();
        let full_json = serde_json::to_string(&full).unwrap();
        assert_eq!(fast_json, full_json, "{name}");
        if super::skim::tokenize(text, super::skim::code_start(text))
            .ok()
            .and_then(|t| super::skim::skim(text, &t))
            .is_some()
        {
            skimmed += 1;
        }
    }
    // The comparison is worth something only if files were skimmed.
    assert!(skimmed >= made.len(), "{skimmed} skimmed");
}

/// A file that holds a marker is parsed item by item: the items without one are blanked, and
/// the facts are still those of the full parse (function indices, `use` order, tests, nested
/// modules, generics with `=`, a `const` ending in a struct literal, `use` groups, inner
/// attributes).
#[test]
fn items_without_a_marker_are_blanked_and_facts_stay_the_same() {
    let src = r#"#![allow(dead_code)]
use diesel::prelude::*;
use crate::schema::{invoices, users};

/// Doc.
pub struct Plain<T = u8> { a: T }
const DEFAULT: Plain = Plain { a: 1 };
fn first(x: impl Iterator<Item = u8>) -> Option<u8> { let v: Vec<u8> = x.collect(); v.first().copied() }

impl Repo {
    pub fn helper(&self, n: u32) -> u32 { n + 1 }
    pub fn list(&self, conn: &mut PgConnection, t: i64) -> Vec<Invoice> {
        invoices::table.filter(invoices::tenant_id.eq(t)).load(conn).unwrap()
    }
    fn other(&self) -> impl Fn() -> u8 { || 3 }
    pub fn all(&self, conn: &mut PgConnection) -> Vec<User> { users::table.load(conn).unwrap() }
}

macro_rules! noop { ($x:expr) => { $x }; }

#[cfg(test)]
mod tests {
    use super::*;
    fn fixture() -> u8 { 1 }
    #[test]
    fn loads() { let _ = invoices::table.load::<Invoice>(&mut conn()); }
}

pub fn last(conn: &mut PgConnection) { diesel::delete(invoices::table).execute(conn).unwrap(); }
"#;
    let tokens = super::skim::tokenize(src, 0).ok().unwrap();
    let (blanked, _) = super::skim::blank_unmarked(src, 0, &tokens).expect("blanked");
    assert_eq!(blanked.len(), src.len());
    for gone in [
        "struct Plain",
        "const DEFAULT",
        "fn first",
        "fn helper",
        "fn other",
        "macro_rules",
        "fn fixture",
    ] {
        assert!(!blanked.contains(gone), "{gone} kept");
    }
    for kept in [
        "#![allow(dead_code)]",
        "use crate::schema::{invoices, users};",
        "fn list",
        "fn all",
        "fn loads",
        "fn last",
        "mod tests",
    ] {
        assert!(blanked.contains(kept), "{kept} blanked");
    }
    let fast = serde_json::to_string(&extract_source(src)).unwrap();
    let full = extract_source_full(src);
    assert!(!full.has_syntax_error());
    assert_eq!(fast, serde_json::to_string(&full).unwrap());
    let r = full.rust.unwrap();
    assert_eq!(r.queries.len(), 4, "{:?}", r.queries);
    assert!(r.functions.len() >= 8);
}

/// A file that names the Redis or moka crates is parsed in part too: an item is kept when it
/// holds a cache method's name, `cmd` or a moka `Cache` type (a struct field that other items'
/// calls go through), and the facts equal the full parse's. Items without any (the config
/// structs and error types of such a module) are blanked.
#[test]
fn cache_crate_files_keep_only_items_with_a_cache_marker() {
    let src = r#"use deadpool_redis::{redis::AsyncCommands, Pool};
use moka::future::Cache;

pub struct RedisConfig { pub dsn: String, pub pool_size: u32 }
#[derive(Debug)]
pub enum RedisError { Down, Timeout(u64) }
impl std::fmt::Display for RedisError {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "redis error") }
}

pub struct Store { redis: Pool, local: Cache<String, String> }

impl Store {
    fn label(&self) -> &'static str { "store" }
    pub async fn report(&self, tenant: i64) -> Option<String> {
        let mut conn = self.redis.get().await.ok()?;
        let _: Option<String> = conn.get(format!("report:{tenant}")).await.ok()?;
        self.local.get("report").await
    }
    pub async fn raw(&self) {
        let mut conn = self.redis.get().await.unwrap();
        let _: () = redis::cmd("SET").arg("global").arg(1).query_async(&mut conn).await.unwrap();
    }
}
"#;
    let tokens = super::skim::tokenize(src, 0).ok().unwrap();
    let (blanked, _) = super::skim::blank_unmarked(src, 0, &tokens).expect("blanked");
    for gone in [
        "struct RedisConfig",
        "enum RedisError",
        "impl std::fmt::Display",
        "fn label",
    ] {
        assert!(!blanked.contains(gone), "{gone} kept");
    }
    for kept in ["use deadpool_redis", "struct Store", "fn report", "fn raw"] {
        assert!(blanked.contains(kept), "{kept} blanked");
    }
    let fast = extract_source(src);
    let full = extract_source_full(src);
    assert!(!full.has_syntax_error());
    assert_eq!(
        serde_json::to_string(&fast).unwrap(),
        serde_json::to_string(&full).unwrap()
    );
    let cache = &full.rust.unwrap().cache;
    let seen: Vec<(&str, &str)> = cache
        .iter()
        .map(|c| (c.backend.as_str(), c.method.as_str()))
        .collect();
    assert_eq!(seen, [("redis", "get"), ("moka", "get"), ("redis", "SET")]);
}

/// A file that only mentions Redis (a config struct, a setting's name) makes no method call a
/// cache call: it is skimmed. `use redis;` (also `use ::redis;`) or a `redis::`/`moka::` path
/// is what the full parse reads as using the crate; those files keep their cache calls.
#[test]
fn only_a_use_or_a_path_of_the_cache_crates_makes_calls_cache_calls() {
    let mentions = "pub struct RedisConfig { pub dsn: String }\nfn dsn(m: &std::collections::HashMap<String, String>) -> Option<&String> { m.get(\"redis_dsn\") }\n";
    let tokens = super::skim::tokenize(mentions, 0).ok().unwrap();
    assert!(super::skim::skim(mentions, &tokens).is_some(), "skimmed");
    assert!(extract_source_full(mentions).rust.unwrap().cache.is_empty());
    for src in [
        "use redis;\nasync fn f(redis_conn: &mut Conn) { let _: () = redis_conn.set(\"k\", 1).await.unwrap(); }\n",
        "use ::redis;\nfn f(redis_conn: &mut Conn) { redis_conn.get(\"k\"); }\n",
        "fn f(c: &mut Conn) { let r = redis::cmd(\"GET\").arg(\"k\"); }\n",
        "use moka::sync::Cache;\nfn f(c: &Cache<String, u8>) { c.get(\"k\"); }\n",
    ] {
        let full = extract_source_full(src);
        assert_eq!(
            serde_json::to_string(&extract_source(src)).unwrap(),
            serde_json::to_string(&full).unwrap(),
            "{src}"
        );
        assert!(!full.rust.unwrap().cache.is_empty(), "{src}");
    }
}

/// A field named like a crate (`config.diesel.database_url`) is no marker: the item holding it
/// is blanked, the one calling `diesel::update` is kept, and the facts equal the full parse's.
#[test]
fn a_field_named_like_a_crate_is_no_marker() {
    let src = "use diesel::prelude::*;\nfn url(config: &Config) -> String { config.diesel.database_url.clone() }\nfn bump(c: &mut PgConnection) { diesel::update(users::table).set(users::n.eq(1)).execute(c); }\n";
    let tokens = super::skim::tokenize(src, 0).ok().unwrap();
    let (blanked, _) = super::skim::blank_unmarked(src, 0, &tokens).expect("blanked");
    assert!(!blanked.contains("fn url"), "{blanked}");
    assert!(blanked.contains("fn bump"), "{blanked}");
    assert_eq!(
        serde_json::to_string(&extract_source(src)).unwrap(),
        serde_json::to_string(&extract_source_full(src)).unwrap()
    );
}

/// Inner doc comments before an inner attribute stay with it: the item after them is read
/// whole (a `use` group keeps its `;`, so the walk still knows the crate of `query`).
#[test]
fn inner_docs_before_inner_attributes_do_not_merge_into_the_next_item() {
    for src in [
        "//! Invoice queries.\n#![allow(clippy::too_many_arguments)]\nuse sqlx::{query, PgPool};\nfn other() {}\npub async fn all(p: &PgPool) { query(\"SELECT * FROM invoices\").fetch_all(p).await; }\n",
        "mod t {\n    //! Tests.\n    #![cfg(test)]\n    fn helper() {}\n    fn q(c: &mut PgConnection) { users::table.load(c); }\n}\n",
    ] {
        let fast = extract_source(src);
        let full = extract_source_full(src);
        assert!(!full.has_syntax_error());
        assert_eq!(
            serde_json::to_string(&fast).unwrap(),
            serde_json::to_string(&full).unwrap(),
            "{src}"
        );
        let r = full.rust.unwrap();
        assert_eq!(r.sql.len() + r.queries.len(), 1, "{src}");
    }
}

/// What the partial parse gives up: a syntax error in an item without a marker, in a file with
/// one, is not reported (rustc reports it); one in an item with a marker still is.
#[test]
fn partial_parse_reports_syntax_errors_only_in_items_with_a_marker() {
    let (f, r) = rust(
        "fn broken() { let x = ; }
fn q(c: &mut PgConnection) { users::table.load(c); }
",
    );
    assert!(!f.has_syntax_error());
    assert_eq!(r.queries.len(), 1);
    let (f, _) = rust(
        "fn q(c: &mut PgConnection) { let x = ; users::table.load(c); }
",
    );
    assert!(f.has_syntax_error());
}

/// The same comparison on real trees, file by file:
/// `TENANTLINT_SKIM_TREES=/work/realprojects/rust cargo test --lib skim_equals_full_on_trees -- --ignored`.
/// Every readable `.rs` file under the `:`-separated roots of `TENANTLINT_SKIM_TREES`, with
/// its text (for the ignored comparisons on real trees).
pub(super) fn real_tree_files() -> Vec<(std::path::PathBuf, String)> {
    let roots = std::env::var("TENANTLINT_SKIM_TREES").expect("TENANTLINT_SKIM_TREES");
    let mut out = Vec::new();
    for root in roots.split(':') {
        for entry in ignore::WalkBuilder::new(root)
            .standard_filters(false)
            .build()
        {
            let entry = entry.unwrap();
            if entry.path().extension().is_none_or(|e| e != "rs") {
                continue;
            }
            if let Ok(text) = std::fs::read_to_string(entry.path()) {
                out.push((entry.path().to_path_buf(), text));
            }
        }
    }
    out
}

#[test]
#[ignore]
fn skim_equals_full_on_trees() {
    let (mut files, mut skimmed) = (0, 0);
    for (path, text) in real_tree_files() {
        files += 1;
        let full = extract_source_full(&text);
        if super::skim::tokenize(&text, super::skim::code_start(&text))
            .ok()
            .and_then(|t| super::skim::skim(&text, &t))
            .is_some()
        {
            skimmed += 1;
            assert!(!full.has_syntax_error(), "{}", path.display());
        }
        assert_eq!(
            serde_json::to_string(&extract_source(&text)).unwrap(),
            serde_json::to_string(&full).unwrap(),
            "{}",
            path.display()
        );
    }
    eprintln!("{files} Rust files, {skimmed} skimmed");
    assert!(files > 0);
}

/// `first_token` (the cheap start of an expression) agrees with `Spanned::span` on every
/// expression of the fixtures' Rust files.
#[test]
fn first_token_is_where_spanned_starts() {
    use syn::spanned::Spanned;
    use syn::visit::Visit;
    struct All(usize);
    impl<'a> Visit<'a> for All {
        fn visit_expr(&mut self, e: &'a syn::Expr) {
            if let Some(t) = super::visit::first_token(e) {
                assert_eq!(t.byte_range().start, e.span().byte_range().start);
                self.0 += 1;
            }
            syn::visit::visit_expr(self, e);
        }
    }
    let mut all = All(0);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    for entry in ignore::WalkBuilder::new(&root)
        .standard_filters(false)
        .build()
    {
        let entry = entry.unwrap();
        if entry.path().extension().is_some_and(|e| e == "rs") {
            let text = std::fs::read_to_string(entry.path()).unwrap();
            if let Ok(file) = syn::parse_str::<syn::File>(&text) {
                all.visit_file(&file);
            }
            proc_macro2::extra::invalidate_current_thread_spans();
        }
    }
    let file: syn::File = syn::parse_str(
        "fn f() { let _ = (<A as B>::c)(::std::x, [1], (2, 3), S { a: 1 }, m!(x), &y, a as u8, x[0].y?.await, 1 + 2); }",
    )
    .unwrap();
    all.visit_file(&file);
    assert!(all.0 > 200, "{} expressions compared", all.0);
}
