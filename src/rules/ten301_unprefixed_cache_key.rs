//! TEN301 unprefixed-cache-key: a call on Django's shared cache whose key is not tenant-prefixed.
//!
//! Fix: route the call to the tenant cache (rewrite the receiver, import the tenant cache, drop
//! the Django cache import once nothing uses it) -- only for methods the tenant cache supports.

use super::cache_keys::{Target, carries_tenant, is_counter, target};
use super::fix_imports::{ensure_import, ensure_import_removing, tenant_cache_source};
use super::settings_lookup::{DEFAULT_ALIAS, tenant_caches};
use super::{Context, fix_with};
use crate::diagnostics::{Applicability, Diagnostic, Edit};
use crate::facts::EditFacts;
use crate::facts::{CacheSite, RootBinding};
use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN301",
    name: "unprefixed-cache-key",
    summary: "A call on Django's shared cache whose key is not tenant-prefixed",
    fix: FixAvailability::Sometimes,
    doc: include_str!("../../rules/TEN301.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(UnprefixedCacheKey);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    super::rust::ten301::check(ctx, out);
    let index = ctx.index;
    let flagged: Vec<(&CacheSite, Target)> = ctx
        .sites
        .cache_sites
        .iter()
        .filter_map(|site| target(ctx, site).map(|t| (site, t)))
        .filter(|(site, _)| !carries_tenant(index, ctx.file, site))
        // Counters and locks hold no tenant data: TEN304.
        .filter(|(site, _)| !is_counter(site, &ctx.sites.cache_sites))
        .collect();
    if flagged.is_empty() {
        return;
    }
    // A tenant-aware `KEY_FUNCTION` at the top level of the cache's settings entry prefixes every
    // key already. `cache` is the default alias; `caches["x"]` is alias `x`, and `caches[expr]` is
    // covered only when every configured cache is.
    let caches = tenant_caches(ctx);
    let flagged: Vec<(&CacheSite, Target)> = flagged
        .into_iter()
        .filter(|&(site, t)| match (t, &site.alias) {
            (Target::Cache, _) => !caches.covers(DEFAULT_ALIAS),
            (Target::Caches, Some(alias)) => !caches.covers(alias),
            (Target::Caches, None) => !caches.covers_every_alias(),
        })
        .collect();
    if flagged.is_empty() {
        return;
    }
    let methods = &ctx.conv().tenant_cache_methods;
    let cache_name = &ctx.conv().tenant_cache;
    let source = tenant_cache_source(ctx);
    for &(site, t) in &flagged {
        let receiver = ctx
            .sites
            .cache_sites
            .iter()
            .find(|s| std::ptr::eq(*s, site))
            .and_then(|s| s.receiver.dotted());
        let shown = receiver.unwrap_or_else(|| "caches[...]".into());
        let supported = methods.iter().any(|m| m == site.method.as_str());
        let mut message = format!(
            "`{shown}.{}()` on Django's shared cache with a key that is not tenant-prefixed",
            site.method
        );
        if !supported {
            message.push_str(&format!(
                "; no fix: the tenant cache has no `{}` method",
                site.method
            ));
        }
        let (fix, help) = if site.via_local {
            (
                None,
                Some("This name is bound to `caches[...]` in the function: use the tenant cache, or build the key with a key helper (see `key-helpers`)".to_string()),
            )
        } else if !supported {
            (
                None,
                Some(format!(
                    "`{}` has no `{}` method (see `tenant-cache-methods`): prefix the key with a key helper instead",
                    cache_name.rsplit('.').next().unwrap_or(cache_name),
                    site.method
                )),
            )
        } else {
            match source.as_ref().and_then(|(m, n)| ensure_import(ctx, m, n)) {
                None => (None, Some("Set `tenant-cache` to the dotted path of your tenant cache to enable the fix".into())),
                Some((local, _)) => {
                    let applicability = if t == Target::Caches { Applicability::Unsafe } else { Applicability::Safe };
                    let message = if t == Target::Caches {
                        format!("Use `{local}.{}()` (unsafe: `caches[...]` may name a different cache backend)", site.method)
                    } else {
                        format!("Use `{local}.{}()`", site.method)
                    };
                    let fix = fix_with(ctx, applicability, message, |edit_facts| {
                        let (m, n) = source.as_ref()?;
                        // The Django cache imports the file's fixes delete are no neighbours for
                        // the new one. Every site's fix passes the same list, so all of them add
                        // the same import edit, applied once (found by fuzzing: two sites whose
                        // fixes each deleted a different import added the import twice).
                        let mut removed: Vec<usize> = flagged
                            .iter()
                            .filter_map(|(s, _)| unused_import(ctx, edit_facts, s, &flagged))
                            .filter(|(_, whole)| *whole)
                            .map(|(si, _)| si)
                            .collect();
                        removed.sort_unstable();
                        removed.dedup();
                        let (_, import_edit) = ensure_import_removing(ctx, m, n, &removed)?;
                        let insert_at = import_edit
                            .as_ref()
                            .filter(|e| e.span.start == e.span.end)
                            .map(|e| e.span.start);
                        let mut edits = vec![Edit::new(site.receiver_span, local.clone())];
                        edits.extend(import_edit);
                        edits.extend(drop_unused_import(
                            ctx, edit_facts, site, &flagged, insert_at, &removed,
                        ));
                        Some(edits)
                    });
                    (fix, None)
                }
            }
        };
        let alias = match t {
            Target::Cache => Some(DEFAULT_ALIAS),
            Target::Caches => site.alias.as_deref(),
        };
        out.push(
            Diagnostic::new(RULE, message, ctx.path().to_path_buf(), site.span)
                .with_fix(fix)
                .with_help(help)
                .with_root_cause(caches.root_cause(ctx.index, alias)),
        );
    }
}

/// When every use of the imported name (`cache`, `caches`, or the `django` of
/// `import django.core.cache`) in its scope is a site this rule rewrites, the import goes too.
/// `insert_at`: where the same fix inserts the tenant cache's import (the deletion keeps clear
/// of it).
fn drop_unused_import(
    ctx: &Context,
    edit_facts: &EditFacts,
    site: &CacheSite,
    flagged: &[(&CacheSite, Target)],
    insert_at: Option<u32>,
    removed: &[usize],
) -> Option<Edit> {
    let (si, _) = unused_import(ctx, edit_facts, site, flagged)?;
    let stmt = &ctx.facts.imports[si];
    let name = site.receiver.root_name()?;
    // Every name of the statement binds this one (`import cache, cache` too): the statement goes.
    if stmt
        .names
        .iter()
        .all(|(n, a)| stmt.bound_name(n, a) == name)
    {
        let spans = edit_facts.import_spans.get(si)?;
        if !spans.alone_on_lines {
            return None;
        }
        if spans.sole_in_block {
            return Some(Edit::new(stmt.span, "pass".to_string()));
        }
        // Every statement of its indented block is an import these fixes delete (found by the
        // in-memory fuzz target: `if True:` holding two Django cache imports): the first of
        // them becomes `pass` so the block keeps a statement.
        let in_block: Vec<usize> = removed
            .iter()
            .copied()
            .filter(|&i| {
                edit_facts.import_spans.get(i).is_some_and(|s| {
                    s.block_start == spans.block_start && s.block_len == spans.block_len
                })
            })
            .collect();
        if spans.block_start != 0
            && in_block.len() as u32 == spans.block_len
            && in_block.iter().min() == Some(&si)
        {
            return Some(Edit::new(stmt.span, "pass".to_string()));
        }
        // Keep clear of the point where the new import goes, so the two edits do not overlap.
        let span = match insert_at {
            Some(at) if spans.delete_span.start < at && at < spans.delete_span.end => {
                spans.line_span
            }
            _ => spans.delete_span,
        };
        return Some(Edit::new(span, String::new()));
    }
    let rest: Vec<String> = stmt
        .names
        .iter()
        .filter(|(n, a)| stmt.bound_name(n, a) != name)
        .map(|(n, a)| match a {
            Some(a) => format!("{n} as {a}"),
            None => n.to_string(),
        })
        .collect();
    let content = match &stmt.from_module {
        Some(_) => format!("from {} import {}", stmt.written_module, rest.join(", ")),
        None => format!("import {}", rest.join(", ")),
    };
    Some(Edit::new(stmt.span, content))
}

/// The import statement (index) that binds the receiver's root name, when every use of that
/// name in its scope is a site this rule rewrites; and whether the whole statement would go.
fn unused_import(
    ctx: &Context,
    edit_facts: &EditFacts,
    site: &CacheSite,
    flagged: &[(&CacheSite, Target)],
) -> Option<(usize, bool)> {
    if matches!(site.root, RootBinding::Local) {
        return None;
    }
    let name = site.receiver.root_name()?;
    let methods = &ctx.conv().tenant_cache_methods;
    let uses = edit_facts
        .name_uses
        .iter()
        .filter(|u| u.name == *name && u.scope == site.root_scope)
        .count();
    let rewritten = flagged
        .iter()
        .filter(|(s, _)| {
            s.receiver.root_name() == Some(name)
                && !s.via_local
                && s.root_scope == site.root_scope
                && methods.iter().any(|m| m == s.method.as_str())
                && !(ctx.suppressed)(RULE, ctx.row(s.span.start))
        })
        .count();
    if uses != rewritten {
        return None;
    }
    let (si, stmt) = ctx.facts.imports.iter().enumerate().find(|(_, i)| {
        i.scope == site.root_scope && i.names.iter().any(|(n, a)| i.bound_name(n, a) == name)
    })?;
    let whole = stmt
        .names
        .iter()
        .all(|(n, a)| stmt.bound_name(n, a) == name)
        && edit_facts
            .import_spans
            .get(si)
            .is_some_and(|s| s.alone_on_lines && !s.sole_in_block);
    // Deleting a statement at the top of the file moves the lines below it up: a comment
    // naming an encoding (`# -*- coding: latin-1 -*-`) would become the file's coding
    // declaration (CPython reads one on line 1, or on line 2 after a blank or comment line) and
    // change how the file decodes. The import stays then (found by fuzzing).
    if whole
        && ctx.row(stmt.span.start) <= 2
        && super::fix_imports::python_lines(&edit_facts.source)
            .take(6)
            .any(|l| l.trim_start().starts_with('#') && l.contains("coding"))
    {
        return None;
    }
    Some((si, whole))
}
