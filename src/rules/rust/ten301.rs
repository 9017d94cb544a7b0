//! TEN301 for Rust: a Redis command (`cmd("GET").arg(key)`, `conn.get(key)`, `set_ex`, `del`,
//! ...), a moka cache call or a `#[cached(convert = "..")]` function whose key does not carry the
//! tenant: no `key-prefixes` prefix, no `key-helpers` call, no tenant value (a tenant column or
//! `tenant-fields` name in the path, a value of a `tenant-context-types` type). Keys that cannot be
//! read (a parameter) are not reported.

use super::super::Context;
use super::quiet_path;
use crate::diagnostics::Diagnostic;
use crate::frontend::rust::{Hole, KeyShape};

fn tenant_hole(ctx: &Context, h: &Hole) -> bool {
    let conv = ctx.conv();
    h.ty.iter().any(|t| conv.tenant_context_types.contains(t))
        || h.path.split('.').any(|seg| {
            conv.tenant_columns.iter().any(|c| c == seg)
                || conv
                    .tenant_fields
                    .iter()
                    .any(|f| f == seg || format!("{f}_id") == seg)
        })
}

/// `Some(true)`: the key carries the tenant; `Some(false)`: it does not; `None`: unknown.
fn carries(ctx: &Context, k: &KeyShape) -> Option<bool> {
    let conv = ctx.conv();
    match k {
        KeyShape::Text { lead, holes } => Some(
            conv.key_prefixes
                .iter()
                .any(|p| lead.starts_with(p.as_str()))
                || holes.iter().any(|h| tenant_hole(ctx, h)),
        ),
        KeyShape::Call { name, holes } => {
            if conv.key_helpers.iter().any(|h| h == name)
                || holes.iter().any(|h| tenant_hole(ctx, h))
            {
                Some(true)
            } else {
                None
            }
        }
        KeyShape::Many(parts) => {
            let each: Vec<Option<bool>> = parts.iter().map(|p| carries(ctx, p)).collect();
            if each.contains(&Some(true)) {
                Some(true)
            } else if each.iter().all(|e| *e == Some(false)) {
                Some(false)
            } else {
                None
            }
        }
        KeyShape::Value(h) => tenant_hole(ctx, h).then_some(true),
        KeyShape::Unknown => None,
    }
}

fn describe(k: &KeyShape) -> String {
    match k {
        KeyShape::Text { lead, holes } if holes.is_empty() => format!("`\"{lead}\"`"),
        KeyShape::Text { lead, .. } => format!("`\"{lead}...\"`"),
        _ => "its key".into(),
    }
}

pub fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(rust) = ctx.facts.rust.as_deref() else {
        return;
    };
    if rust.cache.is_empty() || quiet_path(ctx) {
        return;
    }
    for c in rust.cache.iter().filter(|c| !c.in_test) {
        if carries(ctx, &c.key) != Some(false) {
            continue;
        }
        let what = match c.backend.as_str() {
            "cached" => "`#[cached]` function".to_string(),
            "redis" => format!("Redis `{}`", c.method),
            _ => format!("moka `{}`", c.method),
        };
        let prefix = ctx.conv().key_prefixes.first().cloned().unwrap_or_default();
        out.push(
            Diagnostic::new(
                super::super::ten301_unprefixed_cache_key::RULE,
                format!(
                    "{what} on a shared cache with key {} that does not carry the tenant",
                    describe(&c.key)
                ),
                ctx.path().to_path_buf(),
                c.span,
            )
            .with_help(Some(format!(
                "Build the key with the tenant (`format!(\"{prefix}{{}}:...\", tenant_id)`) or a key helper"
            ))),
        );
    }
}
