//! TEN403 tenant-session-variable-on-pooled-connection: a Postgres session variable (the tenant
//! for row-level security, `search_path`, `role`) set at session scope (`SET app.tenant_id`,
//! `set_config('app.tenant_id', x, false)`) from Rust code. Pooled connections outlive the
//! request: the next borrower runs with this tenant. Unsafe fix inside a transaction: `SET LOCAL`
//! / `set_config(..., true)`, which Postgres resets at commit or rollback.

use super::{Context, fix_with};
use crate::diagnostics::{Applicability, Diagnostic, Edit};
use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN403",
    name: "tenant-session-variable-on-pooled-connection",
    summary: "A Postgres session variable (the tenant for row-level security) set at session scope on a pooled connection",
    fix: FixAvailability::Sometimes,
    doc: include_str!("../../rules/TEN403.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(TenantSessionVariable);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(rust) = ctx.facts.rust.as_deref() else {
        return;
    };
    if rust.session_vars.is_empty() || super::rust::quiet_path(ctx) {
        return;
    }
    for v in rust.session_vars.iter().filter(|v| !v.local && !v.in_test) {
        let fix = match (&v.fix, v.in_transaction) {
            (Some((span, content)), true) => fix_with(
                ctx,
                Applicability::Unsafe,
                if content == "true" {
                    "Make it transaction-scoped: `set_config(..., true)`".to_string()
                } else {
                    "Make it transaction-scoped: `SET LOCAL`".to_string()
                },
                |_| Some(vec![Edit::new(*span, content.clone())]),
            ),
            _ => None,
        };
        let help = if v.in_transaction {
            None
        } else {
            Some(
                "Set it inside a transaction with `SET LOCAL` or `set_config(..., true)` (reset at commit), or reset it before the connection goes back to the pool"
                    .to_string(),
            )
        };
        out.push(
            Diagnostic::new(
                RULE,
                format!(
                    "Session variable `{}` is set at session scope: on a pooled connection it outlives this request and leaks to the next borrower",
                    v.var
                ),
                ctx.path().to_path_buf(),
                v.span,
            )
            .with_fix(fix)
            .with_help(help),
        );
    }
}
