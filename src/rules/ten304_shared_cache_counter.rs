//! TEN304 shared-cache-counter: a counter or a lock on Django's shared cache whose key does not
//! carry the tenant (`cache.add(f"lock:{id}", True, 30)`, a rate limit's `incr`). Off by default:
//! no tenant data is served across tenants, but two tenants' counters or locks can collide.

use super::Context;
use super::cache_keys::{Target, carries_tenant, is_counter, target};
use super::settings_lookup::{DEFAULT_ALIAS, tenant_caches};
use crate::diagnostics::Diagnostic;
use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN304",
    name: "shared-cache-counter",
    summary: "A counter or lock on Django's shared cache whose key does not carry the tenant",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN304.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(SharedCacheCounter);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let sites = &ctx.sites.cache_sites;
    let flagged: Vec<_> = sites
        .iter()
        .filter(|s| is_counter(s, sites))
        .filter_map(|s| target(ctx, s).map(|t| (s, t)))
        .filter(|(s, _)| !carries_tenant(ctx.index, ctx.file, s))
        .collect();
    if flagged.is_empty() {
        return;
    }
    // A tenant-aware `KEY_FUNCTION` on the cache prefixes these keys too.
    let caches = tenant_caches(ctx);
    for (site, t) in flagged {
        let covered = match (t, &site.alias) {
            (Target::Cache, _) => caches.covers(DEFAULT_ALIAS),
            (Target::Caches, Some(alias)) => caches.covers(alias),
            (Target::Caches, None) => caches.covers_every_alias(),
        };
        if covered {
            continue;
        }
        let shown = site
            .receiver
            .dotted()
            .unwrap_or_else(|| "caches[...]".into());
        let message = format!(
            "`{shown}.{}()` uses a counter or lock key on Django's shared cache that does not carry the tenant: tenants share the count or the lock",
            site.method
        );
        let alias = match t {
            Target::Cache => Some(DEFAULT_ALIAS),
            Target::Caches => site.alias.as_deref(),
        };
        out.push(
            Diagnostic::new(RULE, message, ctx.path().to_path_buf(), site.span)
                .with_root_cause(caches.root_cause(ctx.index, alias))
                .with_help(Some(
                "Put the tenant in the key (a key helper, a tenant prefix or a tenant value), or leave it global if one count for all tenants is meant".into(),
            )),
        );
    }
}
