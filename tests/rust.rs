//! Rust services (issue 13): discovery, Cargo.toml config, the traps of `fixtures/rust-service`
//! by name, the fact cache, baseline, `--add-noqa` and the unsafe fixes on `.rs` files. (The
//! fixture's exact findings are `tests/fixtures.rs`; output formats `tests/formats.rs`; the
//! language server `tests/server.rs`; rule pages `tests/rule_docs.rs`.)

mod common;

use std::path::{Path, PathBuf};

use common::{parse_json, tl, write};
use serde_json::Value;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rust-service")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() == ".tenantlint_cache" {
                continue;
            }
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn fixture_copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&fixture(), dir.path());
    dir
}

fn json(dir: &Path, args: &[&str]) -> Vec<Value> {
    let out = tl()
        .current_dir(dir)
        .args(["check", "--output-format", "json", "--exit-zero"])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_json(&out.stdout)
}

/// `(file, row, code)` of each finding.
fn found(diags: &[Value]) -> Vec<(String, u64, String)> {
    diags
        .iter()
        .map(|d| {
            (
                d["filename"].as_str().unwrap().to_string(),
                d["location"]["row"].as_u64().unwrap(),
                d["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The 1-based row of the first line of `file` containing `marker`.
fn row_of(file: &Path, marker: &str) -> u64 {
    let text = std::fs::read_to_string(file).unwrap();
    text.lines()
        .position(|l| l.contains(marker))
        .unwrap_or_else(|| panic!("{marker:?} not in {}", file.display())) as u64
        + 1
}

#[test]
fn every_trap_by_name() {
    let dir = fixture();
    let got = found(&json(&dir, &["--no-cache"]));
    let at = |file: &str, marker: &str| {
        let row = row_of(&dir.join(file), marker);
        got.iter()
            .filter(|(f, r, _)| f == file && *r == row)
            .map(|(_, _, c)| c.clone())
            .collect::<Vec<_>>()
    };
    let handlers = "crates/api/src/handlers.rs";
    // A filter on another column named like the tenant is not a tenant filter.
    let tenant_name = row_of(&dir.join(handlers), "Column::TenantName") - 1;
    assert!(got.contains(&(handlers.into(), tenant_name, "TEN201".into())));
    let hint = row_of(&dir.join("crates/reports/src/lib.rs"), "tenant_id_hint.eq");
    assert!(got.contains(&("crates/reports/src/lib.rs".into(), hint, "TEN201".into())));
    // A tenant filter added in a helper function the chain passes through.
    assert_eq!(
        at(handlers, "invoices_of(Invoice::find(), tenant)"),
        Vec::<String>::new()
    );
    // A query kept in a local and filtered on the tenant later.
    assert_eq!(
        at(handlers, "let mut query = invoice::Entity::find();"),
        Vec::<String>::new()
    );
    // Tables without a tenant column.
    assert_eq!(at(handlers, "Plan::find()"), Vec::<String>::new());
    assert_eq!(
        at("crates/reports/src/lib.rs", "currencies::table.select"),
        Vec::<String>::new()
    );
    assert_eq!(
        at("crates/api/src/db.rs", "FROM feature_flags"),
        Vec::<String>::new()
    );
    // `SET LOCAL` inside a transaction (sqlx `.begin()`, Diesel `.transaction(..)`).
    assert_eq!(
        at("crates/api/src/db.rs", "SET LOCAL app.tenant_id"),
        Vec::<String>::new()
    );
    assert_eq!(
        at("crates/reports/src/lib.rs", "SET LOCAL app.tenant_id"),
        Vec::<String>::new()
    );
    // ... while plain `SET` in the same kind of transaction is reported.
    assert_eq!(
        at("crates/api/src/db.rs", "\"SET app.tenant_id"),
        vec!["TEN403".to_string()]
    );
    // A table made tenant-owned by a later migration's ALTER TABLE.
    assert_eq!(
        at("crates/api/src/db.rs", "FROM events"),
        vec!["TEN203".to_string()]
    );
    // Quiet in tests, build.rs and the migration crate.
    assert!(
        !got.iter()
            .any(|(f, _, _)| f.ends_with("build.rs") || f.starts_with("crates/migration/"))
    );
    let test_mod = row_of(&dir.join(handlers), "mod tests");
    assert!(!got.iter().any(|(f, r, _)| f == handlers && *r > test_mod));
}

#[test]
fn rust_files_need_a_cargo_project_and_target_is_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join(".git")).unwrap();
    write(root, "pyproject.toml", "[project]\nname = \"x\"\n");
    write(root, "scripts/loose.rs", "fn main() {}\n");
    write(root, "svc/Cargo.toml", "[package]\nname = \"svc\"\n");
    write(root, "svc/src/main.rs", "fn main() {}\n");
    write(
        root,
        "svc/migrations/1.sql",
        "CREATE TABLE t (tenant_id int);\n",
    );
    write(root, "svc/target/debug/build/x/out.rs", "fn broken( {\n");
    write(root, "app/models.py", "x = 1\n");
    let out = tl()
        .current_dir(root)
        .args(["check", "--show-files"])
        .output()
        .unwrap();
    let files = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        files.lines().collect::<Vec<_>>(),
        vec!["app/models.py", "svc/migrations/1.sql", "svc/src/main.rs"]
    );
}

#[test]
fn config_in_cargo_toml_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let entity = "#[derive(DeriveEntityModel)]\n#[sea_orm(table_name = \"docs\")]\npub struct Model {\n    pub id: i32,\n    pub org_id: i32,\n}\n";
    let query = "pub async fn f(db: &Db) {\n    let _ = doc::Entity::find().all(db).await;\n}\n";
    write(root, "Cargo.toml", "[package]\nname = \"svc\"\n");
    write(root, "src/doc.rs", entity);
    write(root, "src/lib.rs", query);
    std::fs::create_dir(root.join(".git")).unwrap();
    // Default `tenant-columns`: `org_id` does not make the table tenant-owned.
    assert!(json(root, &[]).is_empty());
    // `[package.metadata.tenantlint]`.
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"svc\"\n\n[package.metadata.tenantlint]\ntenant-columns = [\"org_id\"]\n",
    );
    assert_eq!(found(&json(root, &[]))[0].2, "TEN201");
    let settings = tl()
        .current_dir(root)
        .args(["check", "--show-settings"])
        .output()
        .unwrap();
    let settings = String::from_utf8(settings.stdout).unwrap();
    assert!(
        settings.contains("tenant-columns = [\"org_id\"]  # Cargo.toml"),
        "{settings}"
    );
    // `[workspace.metadata.tenantlint]` wins over the package's.
    write(
        root,
        "Cargo.toml",
        "[workspace]\n\n[workspace.metadata.tenantlint]\ntenant-tables = []\n\n[package]\nname = \"svc\"\n\n[package.metadata.tenantlint]\ntenant-columns = [\"org_id\"]\n",
    );
    assert!(json(root, &[]).is_empty());
    // An unknown key is an error naming the file and line.
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"svc\"\n\n[package.metadata.tenantlint]\ntenant-column = [\"org_id\"]\n",
    );
    let out = tl().current_dir(root).arg("check").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Cargo.toml:5: `tenant-column`"), "{err}");
}

#[test]
fn syntax_errors_are_ten900_where_syn_says() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(root, "Cargo.toml", "[package]\nname = \"svc\"\n");
    write(
        root,
        "src/lib.rs",
        "fn ok(db: &Db) {\n    invoice::Entity::find();\n    let x = ;\n}\n\nfn broken() {\n    let y = ;\n}\n",
    );
    // A file with no token a fact needs is skimmed, not parsed: its syntax is rustc's business,
    // unless its brackets or literals do not close. In a file with one, only the items that
    // hold a marker are parsed: the error in `ok` is reported, the one in `broken` is not.
    write(root, "src/plain.rs", "fn broken() {\n    let x = ;\n}\n");
    write(root, "src/open.rs", "fn broken() {\n    let s = (1;\n}\n");
    let got = found(&json(root, &["--no-cache"]));
    assert_eq!(
        got,
        vec![
            ("src/lib.rs".into(), 3, "TEN900".into()),
            ("src/open.rs".into(), 3, "TEN900".into())
        ]
    );
}

#[test]
fn cache_warm_equals_cold_and_languages_never_share_facts() {
    let dir = fixture_copy();
    let root = dir.path();
    // The same bytes as a Python file: a syntax error there, Rust facts here.
    let text = std::fs::read_to_string(root.join("crates/reports/src/lib.rs")).unwrap();
    write(root, "crates/reports/same_bytes.py", &text);
    let cold = json(root, &[]);
    assert!(root.join(".tenantlint_cache").is_dir());
    let warm = json(root, &[]);
    assert_eq!(cold, warm);
    let none = json(root, &["--no-cache"]);
    assert_eq!(cold, none);
    let codes_py: Vec<_> = found(&warm)
        .into_iter()
        .filter(|(f, _, _)| f.ends_with("same_bytes.py"))
        .map(|(_, _, c)| c)
        .collect();
    assert_eq!(codes_py, vec!["TEN900".to_string()]);
    let out = tl()
        .current_dir(root)
        .args(["check", "-v", "--exit-zero"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("from cache") || err.contains("from the cache"),
        "{err}"
    );
}

#[test]
fn baseline_then_a_new_finding() {
    let dir = fixture_copy();
    let root = dir.path();
    let out = tl()
        .current_dir(root)
        .args(["check", "--write-baseline", "baseline.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(json(root, &["--baseline", "baseline.json"]).is_empty());
    // Lines added above a finding keep it baselined; a new query is reported.
    let db = root.join("crates/api/src/db.rs");
    let text = std::fs::read_to_string(&db).unwrap();
    let text = text.replacen(
        "use sqlx::PgPool;\n",
        "use sqlx::PgPool;\n\n// moved down\n\npub async fn more(pool: &PgPool) {\n    let _ = sqlx::query(\"SELECT body FROM notes\").fetch_all(pool).await;\n}\n",
        1,
    );
    std::fs::write(&db, text).unwrap();
    let got = found(&json(root, &["--baseline", "baseline.json"]));
    assert_eq!(
        got,
        vec![("crates/api/src/db.rs".into(), 6, "TEN203".into())]
    );
}

#[test]
fn add_noqa_writes_slash_slash_comments() {
    let dir = fixture_copy();
    let root = dir.path();
    let out = tl()
        .current_dir(root)
        .args(["check", "--add-noqa"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let handlers = std::fs::read_to_string(root.join("crates/api/src/handlers.rs")).unwrap();
    assert!(
        handlers.contains(
            "invoice::Entity::find_by_id(id).one(&state.db).await.ok().flatten()  // noqa: TEN201\n"
        ),
        "{handlers}"
    );
    assert!(!handlers.contains("# noqa"));
    assert!(json(root, &[]).is_empty(), "everything is suppressed");
    // A second run changes nothing.
    let before = handlers.clone();
    tl().current_dir(root)
        .args(["check", "--add-noqa"])
        .output()
        .unwrap();
    let after = std::fs::read_to_string(root.join("crates/api/src/handlers.rs")).unwrap();
    assert_eq!(before, after);
}

#[test]
fn unsafe_fixes_insert_filters_and_set_local() {
    let dir = fixture_copy();
    let root = dir.path();
    let before = found(&json(root, &[]));
    let out = tl()
        .current_dir(root)
        .args(["check", "--fix", "--unsafe-fixes", "--exit-zero"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let read = |rel: &str| std::fs::read_to_string(root.join(rel)).unwrap();
    assert!(read("crates/api/src/handlers.rs").contains(
        "invoice::Entity::find_by_id(id).filter(invoice::Column::TenantId.eq(tenant)).one(&state.db)"
    ));
    assert!(read("crates/reports/src/lib.rs").contains(
        "projects::table.filter(projects::tenant_id.eq(tenant)).select(projects::name).load(conn)"
    ));
    assert!(
        read("crates/api/src/db.rs")
            .contains("sqlx::query(\"SET LOCAL app.tenant_id = 'placeholder'\")")
    );
    // Outside a transaction there is no fix.
    assert!(read("crates/api/src/db.rs").contains("set_config('app.tenant_id', $1, false)"));
    let after = found(&json(root, &[]));
    assert_eq!(after.len(), before.len() - 3, "{after:?}");
    // Every fixed file still parses, and a second run fixes nothing.
    assert!(!after.iter().any(|(_, _, c)| c == "TEN900"));
    let out = tl()
        .current_dir(root)
        .args(["check", "--diff", "--unsafe-fixes"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn checking_one_file_reports_what_it_causes_elsewhere() {
    // Pre-commit passes only the changed files: an entity gaining its tenant column makes the
    // queries on it unscoped, and they are reported when only the entity is checked.
    let dir = fixture_copy();
    let root = dir.path();
    let got = found(&json(root, &["crates/entity/src/invoice.rs"]));
    assert!(
        got.iter()
            .any(|(f, _, c)| f == "crates/api/src/handlers.rs" && c == "TEN201"),
        "{got:?}"
    );
}

/// The patterns of the real services (bench/REAL_PROJECTS.md), each with its expected reading.
#[test]
fn real_service_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join(".git")).unwrap();
    write(
        root,
        "Cargo.toml",
        "[package]\nname = \"svc\"\n\n[package.metadata.tenantlint]\ntenant-columns = [\"org_id\"]\ntenant-filter-methods = [\"secure_find\"]\n",
    );
    // svix: the scoping helper on the entity (trusted by `tenant-filter-methods`).
    write(
        root,
        "src/message.rs",
        "#[derive(DeriveEntityModel)]\n#[sea_orm(table_name = \"message\")]\npub struct Model {\n    #[sea_orm(primary_key)]\n    pub id: i32,\n    pub org_id: i32,\n}\n\nimpl Entity {\n    pub fn secure_find(org_id: OrgId) -> Select<Entity> {\n        Self::find().filter(Column::AppId.eq(org_id))\n    }\n\n    pub fn leak() -> Select<Entity> {\n        Self::find()\n    }\n}\n",
    );
    write(
        root,
        "src/handlers.rs",
        "pub async fn a(db: &Db, org: OrgId) {\n    let _ = message::Entity::secure_find(org).all(db).await;\n    let _ = <message::Entity as EntityTrait>::find().all(db).await;\n}\n",
    );
    // mycelium: Diesel through a module alias, a join target, a row written then read back.
    write(
        root,
        "src/schema.rs",
        "diesel::table! {\n    account (id) {\n        id -> Uuid,\n        org_id -> Nullable<Uuid>,\n    }\n}\n\ndiesel::table! {\n    users (id) {\n        id -> Uuid,\n        account_id -> Uuid,\n    }\n}\n",
    );
    write(
        root,
        "src/repo.rs",
        "use crate::schema::account::dsl as account_model;\nuse crate::schema::users;\n\nfn create(conn: &mut Conn, id: Uuid) {\n    let new_account = build();\n    diesel::insert_into(account_model::table).values(&new_account).execute(conn);\n    let _ = account_model::table.find(new_account.id).first::<A>(conn);\n    let _ = users::table.inner_join(account_model::table.on(account_model::id.eq(users::account_id))).load::<U>(conn);\n    let _ = diesel::update(account_model::table).filter(account_model::id.eq(id)).set(x).execute(conn);\n    let _ = account_model::table.filter(account_model::org_id.is_null()).load::<A>(conn);\n}\n",
    );
    // milan: the tenant registry (keyed by the tenant column) and a join on a key.
    write(
        root,
        "migrations/1_init.sql",
        "CREATE TABLE tenant (org_id uuid PRIMARY KEY, name text);\nCREATE TABLE loan (id uuid PRIMARY KEY, org_id uuid, contract_id uuid);\nCREATE TABLE contract (id uuid PRIMARY KEY, org_id uuid);\n",
    );
    write(
        root,
        "src/sql.rs",
        "pub async fn f(pool: &sqlx::PgPool, t: Uuid) {\n    let _ = sqlx::query(\"SELECT name FROM tenant WHERE org_id = $1\").fetch_one(pool).await;\n    let _ = sqlx::query(\"SELECT name FROM tenant\").fetch_all(pool).await;\n    let _ = sqlx::query(\"SELECT l.id FROM loan l JOIN contract c ON l.contract_id = c.id WHERE l.org_id = $1\").fetch_all(pool).await;\n    let _ = sqlx::query(\"SELECT c.id FROM contract c JOIN loan l ON l.contract_id = c.id\").fetch_all(pool).await;\n}\n",
    );
    let got: Vec<String> = found(&json(root, &["--no-cache"]))
        .into_iter()
        .map(|(f, r, c)| format!("{f}:{r} {c}"))
        .collect();
    assert_eq!(
        got,
        vec![
            "src/handlers.rs:3 TEN201", // the qualified path form, unfiltered
            "src/message.rs:15 TEN201", // `Self::find()` outside the trusted helper
            "src/repo.rs:9 TEN201",     // update by a raw id, through the alias
            "src/sql.rs:5 TEN203",      // nothing picks the tenant
        ]
    );
}

/// moka caches held in a struct field: a key with the tenant (a tuple part, a formatted value) is
/// fine, one without is TEN301; `HashMap::get` in the same file is not a cache call.
#[test]
fn moka_cache_keys() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join(".git")).unwrap();
    write(root, "Cargo.toml", "[package]\nname = \"svc\"\n");
    write(
        root,
        "src/lib.rs",
        "use moka::future::Cache;\nuse std::collections::HashMap;\n\npub struct State {\n    users: Cache<String, User>,\n    by_tenant: Cache<(TenantId, i64), User>,\n    names: HashMap<String, String>,\n}\n\nimpl State {\n    pub async fn user(&self, id: i64) -> Option<User> {\n        self.users.get(&format!(\"user:{id}\")).await\n    }\n\n    pub async fn scoped(&self, tenant_id: TenantId, id: i64) -> Option<User> {\n        let _ = self.users.get(&format!(\"user:{}:{id}\", tenant_id)).await;\n        self.by_tenant.get(&(tenant_id, id)).await\n    }\n\n    pub fn name(&self) -> Option<&String> {\n        self.names.get(\"x\")\n    }\n}\n",
    );
    let got = found(&json(root, &["--no-cache"]));
    assert_eq!(got, vec![("src/lib.rs".into(), 12, "TEN301".into())]);
}

/// The `cached` crate: the `convert` block builds the key of a cache every caller shares.
#[test]
fn cached_convert_keys() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    std::fs::create_dir(root.join(".git")).unwrap();
    write(root, "Cargo.toml", "[package]\nname = \"svc\"\n");
    write(
        root,
        "src/lib.rs",
        "use cached::proc_macro::cached;\n\n#[cached(time = 60, key = \"String\", convert = r#\"{ format!(\"report:{}\", id) }\"#)]\npub fn report(tenant: TenantId, id: i64) -> Report {\n    build(id)\n}\n\n#[cached(time = 60, key = \"String\", convert = r#\"{ format!(\"report:{}:{}\", tenant.0, id) }\"#)]\npub fn scoped_report(tenant: TenantId, id: i64) -> Report {\n    build(id)\n}\n\n#[cached]\npub fn all_args(tenant: TenantId, id: i64) -> Report {\n    build(id)\n}\n",
    );
    let got = found(&json(root, &["--no-cache"]));
    assert_eq!(got, vec![("src/lib.rs".into(), 3, "TEN301".into())]);
}
