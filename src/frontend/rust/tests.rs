use super::*;

fn rust(src: &str) -> (FileFacts, RustFacts) {
    let f = extract_source(src);
    let r = *f.rust.clone().expect("rust facts");
    (f, r)
}

#[test]
fn syntax_error_is_a_problem_at_syns_span_and_never_a_panic() {
    let (f, _) = rust("fn main() {\n    let x = ;\n}\n");
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
