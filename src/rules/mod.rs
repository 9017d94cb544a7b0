//! The rules. One file per rule; each reads the facts of one file and the project index, and
//! returns diagnostics (with fixes where a safe or unsafe one exists). Rules never touch the file
//! system and never see a syntax tree.

pub mod ten101_missing_tenant_manager;
pub mod ten201_unscoped_query;
pub mod ten301_unprefixed_cache_key;
pub mod ten900_syntax_error;

use crate::diagnostics::Diagnostic;
use crate::facts::FileFacts;
use crate::index::Index;
use crate::registry::Rule;

/// What a rule may look at while checking one file.
pub struct Context<'a> {
    pub index: &'a Index<'a>,
    /// Index of the file in the project.
    pub file: u32,
    pub facts: &'a FileFacts,
    /// Is a line suppressed for a rule (so fixes can tell which sites will really change)?
    pub suppressed: &'a dyn Fn(Rule, u32) -> bool,
}

impl Context<'_> {
    pub fn conv(&self) -> &crate::config::Conventions {
        self.index.conv
    }
}

/// Run every enabled rule on one file.
pub fn check_file(ctx: &Context, enabled: &[Rule]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let on = |r: Rule| enabled.contains(&r);
    // File problems (TEN900/TEN901) replace the other rules: facts recovered from a file that
    // does not parse still feed the index, but are not trusted for diagnostics in that file.
    if !ctx.facts.problems.is_empty() {
        ten900_syntax_error::check(ctx, &mut out, on(Rule::SyntaxError), on(Rule::IoError));
        return out;
    }
    if on(Rule::MissingTenantManager) {
        ten101_missing_tenant_manager::check(ctx, &mut out);
    }
    if on(Rule::UnscopedQuery) {
        ten201_unscoped_query::check(ctx, &mut out);
    }
    if on(Rule::UnprefixedCacheKey) {
        ten301_unprefixed_cache_key::check(ctx, &mut out);
    }
    out
}
