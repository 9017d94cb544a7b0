//! The Rust halves of the rules that Rust services share with Django projects (TEN201, TEN203,
//! TEN301), each called from its rule's file, and the project's Rust schema they all read: which
//! tables are tenant-owned (an entity, a Diesel `table!`, a migration or `tenant-tables` with a
//! tenant column, wherever it is declared), how entities and Diesel tables are named, and which
//! functions add a tenant filter to the query they are given.

pub mod ten201;
pub mod ten203;
pub mod ten301;

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use super::Context;
use crate::config::Conventions;
use crate::diagnostics::Related;
use crate::frontend::rust::{OrmKind, OrmQuery, RustFacts, TableKind};
use crate::index::{FileId, Index};
use crate::locate::Span;

/// One table, merged over its declarations.
#[derive(Debug, Default)]
pub struct TableInfo {
    /// The `tenant-columns` it has (empty: not tenant-owned).
    pub tenant_columns: Vec<String>,
    /// The first declaration that has a tenant column (for related locations).
    pub decl: Option<(FileId, Span)>,
    /// Its primary key is the tenant column: the tenant registry.
    pub registry: bool,
}

#[derive(Debug, Default)]
pub struct RustSchema {
    /// By table name (lowercase).
    pub tables: HashMap<String, TableInfo>,
    /// SeaORM entity modules (the inline `mod`, else the file's stem) to their tables.
    pub entity_modules: HashMap<String, Vec<String>>,
    /// Diesel table modules to their SQL tables.
    pub diesel_modules: HashMap<String, Vec<String>>,
    /// `pub use super::invoice::Entity as Invoice` (a SeaORM prelude), anywhere: alias to module.
    pub entity_aliases: HashMap<String, String>,
    /// Functions that filter the query they are given on a tenant column.
    pub helpers: HashSet<String>,
}

/// `tenant_id` → `TenantId` (SeaORM's column variant).
pub fn camel(snake: &str) -> String {
    snake
        .split('_')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Does a column as written in a filter (`TenantId`, `tenant_id`) name one of `columns`?
pub fn names_column(written: &str, columns: &[String]) -> bool {
    columns.iter().any(|c| c == written || camel(c) == written)
}

fn file_stem(index: &Index, file: FileId) -> String {
    index
        .path(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string()
}

pub fn schema<'a>(ctx: &Context<'a>) -> &'a RustSchema {
    ctx.shared
        .rust_schema
        .get_or_init(|| build(ctx.index, ctx.conv()))
}

fn build(index: &Index, conv: &Conventions) -> RustSchema {
    let mut s = RustSchema::default();
    let tenant_cols = &conv.tenant_columns;
    let add = |s: &mut RustSchema, table: &str, cols: &[String], decl: Option<(FileId, Span)>| {
        let info = s.tables.entry(table.to_string()).or_default();
        if info.registry {
            return;
        }
        for c in tenant_cols {
            if cols.contains(c) && !info.tenant_columns.contains(c) {
                info.tenant_columns.push(c.clone());
                if info.decl.is_none() {
                    info.decl = decl;
                }
            }
        }
    };
    for (file, facts) in index.files() {
        let Some(r) = facts.rust.as_deref() else {
            continue;
        };
        for t in &r.tables {
            // A table keyed by the tenant column is the tenant registry (like Django's tenant
            // model): each row is a tenant, not owned by one.
            if t.primary_key.len() == 1 && tenant_cols.contains(&t.primary_key[0]) {
                let info = s.tables.entry(t.table.clone()).or_default();
                info.registry = true;
                info.tenant_columns.clear();
            }
            add(&mut s, &t.table, &t.columns, Some((file, t.span)));
            match t.kind {
                TableKind::SeaOrmEntity => {
                    let module = if t.module.is_empty() {
                        file_stem(index, file)
                    } else {
                        t.module.clone()
                    };
                    s.entity_modules
                        .entry(module)
                        .or_default()
                        .push(t.table.clone());
                }
                TableKind::Diesel => s
                    .diesel_modules
                    .entry(t.module.clone())
                    .or_default()
                    .push(t.table.clone()),
                TableKind::Migration => {}
            }
        }
        for u in &r.uses {
            let n = u.path.len();
            if n >= 2 && u.path[n - 1] == "Entity" && u.name != "Entity" {
                s.entity_aliases
                    .insert(u.name.clone(), u.path[n - 2].clone());
            }
        }
        for f in &r.functions {
            if f.filters_param.iter().any(|c| names_column(c, tenant_cols)) {
                s.helpers.insert(f.name.clone());
            }
        }
    }
    if let Some(first) = tenant_cols.first() {
        for t in &conv.tenant_tables {
            add(
                &mut s,
                &t.to_ascii_lowercase(),
                std::slice::from_ref(first),
                None,
            );
        }
    }
    s
}

/// Where Rust rules stay quiet whatever the config: `build.rs` and migration crates/folders
/// (`test-paths` and `#[cfg(test)]` are handled by the engine and the sites).
pub fn quiet_path(ctx: &Context) -> bool {
    let path = ctx.path();
    path.file_name().is_some_and(|n| n == "build.rs")
        || path.components().any(|c| {
            matches!(
                c.as_os_str().to_str(),
                Some("migration" | "migrations" | "benches")
            )
        })
}

/// The tables a query's receiver names, and how to write its entity's column path in a fix.
pub struct Target<'s> {
    pub tables: Vec<&'s String>,
    /// SeaORM: `invoice::Column`, `Column`, `<Invoice as sea_orm::EntityTrait>::Column`;
    /// Diesel: the table module path (`invoices`, `crate::schema::invoices`).
    pub column_prefix: String,
    pub display: String,
}

pub fn target<'s>(
    ctx: &Context,
    schema: &'s RustSchema,
    rust: &RustFacts,
    q: &OrmQuery,
) -> Option<Target<'s>> {
    let r = &q.receiver;
    let display = r.join("::");
    match q.kind {
        OrmKind::SeaOrm => {
            let last = r.last()?;
            let (module, prefix) = if last == "Self" && r.len() == 1 {
                // `Self::find()` in `impl Entity` of the entity's own module.
                (file_stem(ctx.index, ctx.file), "Column".to_string())
            } else if last == "Entity" {
                if r.len() >= 2 {
                    (
                        r[r.len() - 2].clone(),
                        format!("{}::Column", r[..r.len() - 1].join("::")),
                    )
                } else {
                    // `Entity::find()` inside the entity's own module.
                    (file_stem(ctx.index, ctx.file), "Column".to_string())
                }
            } else if r.len() == 1 {
                // An alias: `use entity::invoice::Entity as Invoice`, or a prelude's.
                let from_use = rust
                    .uses
                    .iter()
                    .rev()
                    .find(|u| u.name == *last)
                    .and_then(|u| {
                        let n = u.path.len();
                        (n >= 2 && u.path[n - 1] == "Entity").then(|| u.path[n - 2].clone())
                    });
                let module = from_use.or_else(|| schema.entity_aliases.get(last).cloned())?;
                (module, format!("<{last} as sea_orm::EntityTrait>::Column"))
            } else {
                return None;
            };
            let tables = schema.entity_modules.get(&module)?.iter().collect();
            Some(Target {
                tables,
                column_prefix: prefix,
                display,
            })
        }
        OrmKind::Diesel => {
            // `use crate::schema::account::dsl as account_model` / `use crate::schema::account as
            // account_model`: the alias stands for the table's module.
            let unalias = |m: &String| -> String {
                if schema.diesel_modules.contains_key(m) {
                    return m.clone();
                }
                rust.uses
                    .iter()
                    .rev()
                    .find(|u| u.name == *m)
                    .and_then(|u| {
                        let n = u.path.len();
                        if n >= 2 && u.path[n - 1] == "dsl" {
                            Some(u.path[n - 2].clone())
                        } else {
                            u.path.last().cloned()
                        }
                    })
                    .unwrap_or_else(|| m.clone())
            };
            let (module, prefix) = if r.len() >= 2 {
                (r[r.len() - 2].clone(), r[..r.len() - 1].join("::"))
            } else {
                let name = &r[0];
                let path = rust.uses.iter().rev().find_map(|u| {
                    let n = u.path.len();
                    let named = u.name == *name && n >= 2 && u.path[n - 2] == "dsl";
                    let glob =
                        u.name == "*" && n >= 3 && u.path[n - 2] == "dsl" && u.path[n - 3] == *name;
                    (named || glob).then(|| u.path[..n - 2].join("::"))
                });
                (name.clone(), path.unwrap_or_else(|| name.clone()))
            };
            let tables = schema
                .diesel_modules
                .get(&unalias(&module))?
                .iter()
                .collect();
            Some(Target {
                tables,
                column_prefix: prefix,
                display,
            })
        }
    }
}

/// A table's tenant-owned info, unless it is one of `global-models`.
pub fn tenant_table<'s>(
    ctx: &Context,
    schema: &'s RustSchema,
    table: &str,
) -> Option<&'s TableInfo> {
    let conv = ctx.conv();
    if conv
        .global_models
        .iter()
        .any(|g| g.eq_ignore_ascii_case(table))
    {
        return None;
    }
    schema
        .tables
        .get(table)
        .filter(|t| !t.tenant_columns.is_empty())
}

pub fn related(ctx: &Context, table: &str, info: &TableInfo) -> Vec<Related> {
    info.decl
        .map(|(file, span)| {
            Related::new(
                ctx.index.path(file).to_path_buf(),
                span,
                format!(
                    "table `{table}` is declared with tenant column `{}`",
                    info.tenant_columns[0]
                ),
            )
        })
        .into_iter()
        .collect()
}

/// A tenant value in scope in function `func`: a parameter whose type names one of
/// `tenant-context-types`. The value is the parameter itself for an id type (`TenantId`) or a
/// destructured extractor (`CurrentTenant(id)`), else its `.id` (`tenant: Tenant` gives
/// `tenant.id`).
pub fn tenant_value(ctx: &Context, rust: &RustFacts, func: Option<u32>) -> Option<String> {
    let f = rust.functions.get(func? as usize)?;
    let types = &ctx.conv().tenant_context_types;
    f.params.iter().find_map(|p| {
        let ty = p.ty.iter().find(|t| types.contains(t))?;
        let id_like = ty.ends_with("Id") || ty.ends_with("ID");
        let destructured = p.destructured.as_ref() == Some(ty);
        Some(if id_like || destructured {
            p.name.clone()
        } else {
            format!("{}.id", p.name)
        })
    })
}

/// Print tokens built with `quote` as Rust source, without the spaces `TokenStream`'s own
/// printing puts between every token.
pub fn tokens_to_source(tokens: proc_macro2::TokenStream) -> String {
    use proc_macro2::{Delimiter, TokenTree};
    let mut out = String::new();
    let mut prev_word = false;
    for tt in tokens {
        match tt {
            TokenTree::Ident(i) => {
                if prev_word {
                    out.push(' ');
                }
                let s = i.to_string();
                out.push_str(&s);
                if s == "as" {
                    out.push(' ');
                    prev_word = false;
                } else {
                    prev_word = true;
                }
            }
            TokenTree::Literal(l) => {
                if prev_word {
                    out.push(' ');
                }
                out.push_str(&l.to_string());
                prev_word = true;
            }
            TokenTree::Punct(p) => {
                out.push(p.as_char());
                prev_word = false;
            }
            TokenTree::Group(g) => {
                let (open, close) = match g.delimiter() {
                    Delimiter::Parenthesis => ("(", ")"),
                    Delimiter::Bracket => ("[", "]"),
                    Delimiter::Brace => ("{", "}"),
                    Delimiter::None => ("", ""),
                };
                out.push_str(open);
                out.push_str(&tokens_to_source(g.stream()));
                out.push_str(close);
                prev_word = false;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_and_column_names() {
        assert_eq!(camel("tenant_id"), "TenantId");
        let cols = vec!["tenant_id".to_string()];
        assert!(names_column("TenantId", &cols));
        assert!(names_column("tenant_id", &cols));
        assert!(!names_column("TenantName", &cols));
        assert!(!names_column("tenant_id_hint", &cols));
    }

    #[test]
    fn quoted_code_prints_like_source() {
        let col: syn::Path = syn::parse_str("invoice::Column::TenantId").unwrap();
        let value: syn::Expr = syn::parse_str("tenant.id").unwrap();
        let code = tokens_to_source(quote::quote!(.filter(#col.eq(#value))));
        assert_eq!(code, ".filter(invoice::Column::TenantId.eq(tenant.id))");
        let q: syn::Type = syn::parse_str("<Invoice as sea_orm::EntityTrait>::Column").unwrap();
        let code = tokens_to_source(quote::quote!(#q));
        assert_eq!(code, "<Invoice as sea_orm::EntityTrait>::Column");
    }
}
