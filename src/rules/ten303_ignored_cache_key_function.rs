//! TEN303 ignored-cache-key-function: a `CACHES` entry in a settings module with `KEY_FUNCTION`
//! or `KEY_PREFIX` inside its `OPTIONS` dict. Django reads both from the top level of the entry
//! (`BaseCache.__init__(params)`); `OPTIONS` goes to the backend client, which never builds keys
//! with them, so the setting is silently ignored.

use super::Context;
use super::settings_lookup::{cache_entries, deref};
use crate::diagnostics::Diagnostic;
use crate::facts::Lit;
use crate::registry::{FixAvailability, Rule, RuleMeta};

const IGNORED_KEYS: &[&str] = &["KEY_FUNCTION", "KEY_PREFIX"];

fn shown(lit: &Lit) -> Option<String> {
    match lit {
        Lit::Str(s, _) => Some(format!("`\"{s}\"`")),
        Lit::Ref(r) => r.dotted().map(|d| format!("`{d}`")),
        _ => None,
    }
}

pub static META: RuleMeta = RuleMeta {
    code: "TEN303",
    name: "ignored-cache-key-function",
    summary: "A cache `KEY_FUNCTION` or `KEY_PREFIX` inside `OPTIONS`, where Django ignores it",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN303.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(IgnoredCacheKeyFunction);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let facts = ctx.facts;
    if !facts.settings.iter().any(|s| s.name == "CACHES")
        || !ctx.settings.is_settings_module(ctx.path())
    {
        return;
    }
    // One entry dict may be shared by several aliases (`"a": REDIS, "b": REDIS`): report each
    // misplaced key once.
    let mut reported: Vec<u32> = Vec::new();
    for (alias, _, entry) in cache_entries(facts) {
        let Some(Lit::Dict(options)) = entry.get("OPTIONS").map(|o| deref(facts, o)) else {
            continue;
        };
        for (k, v) in options {
            let Lit::Str(key, span) = k else { continue };
            if !IGNORED_KEYS.contains(&key.as_str()) || reported.contains(&span.start) {
                continue;
            }
            reported.push(span.start);
            let value = shown(deref(facts, v));
            let top = entry.get(key).map(|t| deref(facts, t));
            let effect = match (key.as_str(), top) {
                (_, Some(t)) => match shown(t) {
                    Some(t) => format!("the top-level {t} is the one in effect"),
                    None => "the top-level one is the one in effect".to_string(),
                },
                ("KEY_FUNCTION", None) => match &value {
                    Some(v) => format!("keys are built by Django's default key function, not {v}"),
                    None => "keys are built by Django's default key function".to_string(),
                },
                _ => "keys get no prefix".to_string(),
            };
            let message = format!(
                "`{key}` inside `OPTIONS` of `CACHES[\"{alias}\"]` is ignored by Django: {effect}"
            );
            let help = format!(
                "Move `{key}` out of `OPTIONS` to the top level of `CACHES[\"{alias}\"]`, next to `BACKEND`"
            );
            out.push(
                Diagnostic::new(RULE, message, ctx.path().to_path_buf(), *span)
                    .with_help(Some(help)),
            );
        }
    }
}
