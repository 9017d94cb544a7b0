//! The facts of one Rust file (or SQL migration): config-free, path-free, serde, byte spans.
//! Reached from [`crate::facts::FileFacts::rust`].

use serde::{Deserialize, Serialize};

use crate::locate::Span;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct RustFacts {
    /// Tables this file declares: SeaORM entities, Diesel `table!`s, SQL migrations.
    pub tables: Vec<TableDecl>,
    /// `use` items: each bound name with the path it stands for (globs end in `*`).
    pub uses: Vec<UseFact>,
    /// SeaORM and Diesel query chains.
    pub queries: Vec<OrmQuery>,
    /// SQL text run through sqlx (`query!`, `query(...)`, ...) or `diesel::sql_query`.
    pub sql: Vec<SqlSite>,
    /// Redis and moka cache calls.
    pub cache: Vec<CacheCall>,
    /// Postgres session variables set from SQL text (`SET app.tenant_id`, `set_config(...)`).
    pub session_vars: Vec<SessionVar>,
    /// Functions (free functions and methods), in source order.
    pub functions: Vec<RustFn>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TableKind {
    /// `#[derive(DeriveEntityModel)] #[sea_orm(table_name = "...")] struct Model { ... }`
    SeaOrmEntity,
    /// `diesel::table! { name (id) { col -> Type, ... } }`
    Diesel,
    /// `CREATE TABLE` / `ALTER TABLE ... ADD COLUMN` in a `.sql` migration.
    Migration,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TableDecl {
    pub kind: TableKind,
    /// The SQL table name, lowercase.
    pub table: String,
    /// The Rust module that names it: an entity's inline `mod` (empty when the entity is the
    /// file's own module), a Diesel table's module (`invoices` in `invoices::table`).
    pub module: String,
    /// Column names (snake_case, lowercase).
    pub columns: Vec<String>,
    /// The primary key's columns, where the declaration says (a table whose key is its tenant
    /// column is the tenant registry, not tenant-owned).
    #[serde(default)]
    pub primary_key: Vec<String>,
    pub span: Span,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct UseFact {
    /// The name the item binds (`Invoice` for `use entity::invoice::Entity as Invoice`); `*` for
    /// a glob.
    pub name: String,
    /// The full path, segment by segment.
    pub path: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrmKind {
    SeaOrm,
    Diesel,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OrmQuery {
    pub kind: OrmKind,
    /// The receiver path as written: `invoice::Entity`, `Invoice`, `invoices::table`, `invoices`.
    pub receiver: Vec<String>,
    /// SeaORM: the starting method (`find`, `find_by_id`, `update_many`, `delete_many`, ...);
    /// Diesel: `update`/`delete` for `diesel::update(..)`/`diesel::delete(..)`, else the first
    /// method called on the table.
    pub method: String,
    /// The columns that `.filter(...)` calls of the chain compare for equality (the receiver of
    /// `eq`, `eq_any`, `is_in`, ...), as written: `TenantId`, `tenant_id`.
    pub filter_columns: Vec<String>,
    /// Methods called along the chain and functions the query is passed to (tenant helpers).
    pub calls: Vec<String>,
    /// From the receiver's start to the end of the starting call (`Invoice::find()`).
    pub span: Span,
    /// Where a `.filter(...)` can be inserted: right after the starting call (SeaORM) or the
    /// table (Diesel).
    pub insert_at: u32,
    /// The enclosing function (index into [`RustFacts::functions`]).
    pub func: Option<u32>,
    /// Inside `#[cfg(test)]` or a `#[test]` function.
    pub in_test: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SqlSite {
    /// The SQL text (a `format!` keeps its literal parts with `{}` for each value).
    pub sql: String,
    /// The literal.
    pub span: Span,
    pub func: Option<u32>,
    pub in_test: bool,
}

/// A value interpolated into a key, or passed to a key helper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Hole {
    /// The expression as a dotted path (`tenant.id`, `self.tenant_id`), empty when it is none.
    pub path: String,
    /// The declared type of its root variable (a parameter or typed `let`), as the names in the
    /// type (`Extension<CurrentTenant>` gives `Extension`, `CurrentTenant`).
    pub ty: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KeyShape {
    /// A literal or `format!`: the literal text up to the first value, and the values.
    Text {
        lead: String,
        holes: Vec<Hole>,
    },
    /// `helper(args)` or `value.helper(args)`: the function's name and the values it gets.
    Call {
        name: String,
        holes: Vec<Hole>,
    },
    /// A tuple key (moka): its parts.
    Many(Vec<KeyShape>),
    /// A plain value (a variable or field that is not a known key).
    Value(Hole),
    Unknown,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CacheCall {
    /// `redis` (`cmd(...)` or a connection's command method) or `moka`.
    pub backend: String,
    /// The command or method (`GET`, `set_ex`, `insert`).
    pub method: String,
    pub key: KeyShape,
    /// The receiver (or `cmd(...)`) through the method name.
    pub span: Span,
    pub func: Option<u32>,
    pub in_test: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SessionVar {
    /// The variable (`app.tenant_id`), lowercase.
    pub var: String,
    /// `SET LOCAL` or `set_config(..., true)`: transaction scope.
    pub local: bool,
    /// Inside a transaction: after a `.begin()` in the function, in a `.transaction(|..| ..)`
    /// closure, or in a function taking a `Transaction`.
    pub in_transaction: bool,
    /// The SQL literal.
    pub span: Span,
    /// The edit that makes it transaction-scoped (insert `LOCAL ` after `SET `, or replace
    /// `false` by `true`), when the literal maps byte for byte onto the source.
    pub fix: Option<(Span, String)>,
    pub func: Option<u32>,
    pub in_test: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Param {
    /// The bound name (`tenant` in `Extension(tenant): Extension<Tenant>`).
    pub name: String,
    /// The names in its type, outermost first.
    pub ty: Vec<String>,
    /// The pattern destructures a tuple struct (`CurrentTenant(id): CurrentTenant`): the name
    /// is the value inside that type.
    pub destructured: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RustFn {
    pub name: String,
    pub name_span: Span,
    pub params: Vec<Param>,
    /// Columns that `.filter(...)` calls on a parameter (or `self`) compare for equality: a
    /// function returning its query with a tenant filter is a tenant helper.
    pub filters_param: Vec<String>,
    pub in_test: bool,
}
