//! The rule catalogue: codes, names, one-line summaries and the embedded documentation pages.
//!
//! Every rule keeps its code forever. The page for each rule lives in `rules/<CODE>.md` at the top
//! of the repository and is embedded in the binary.

use std::fmt;

/// Whether a rule can offer fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixAvailability {
    None,
    Sometimes,
}

macro_rules! rules {
    ($( $variant:ident => $code:literal, $name:literal, $fix:ident, $summary:literal; )*) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule { $( $variant, )* }

        impl Rule {
            pub const ALL: &'static [Rule] = &[ $( Rule::$variant, )* ];

            pub fn code(self) -> &'static str {
                match self { $( Rule::$variant => $code, )* }
            }

            pub fn name(self) -> &'static str {
                match self { $( Rule::$variant => $name, )* }
            }

            pub fn summary(self) -> &'static str {
                match self { $( Rule::$variant => $summary, )* }
            }

            pub fn fix_availability(self) -> FixAvailability {
                match self { $( Rule::$variant => FixAvailability::$fix, )* }
            }

            pub fn doc(self) -> &'static str {
                match self { $( Rule::$variant => include_str!(concat!("../rules/", $code, ".md")), )* }
            }
        }
    };
}

rules! {
    MissingTenantManager => "TEN101", "missing-tenant-manager", Sometimes,
        "A concrete tenant-owned model with no tenant-scoped manager";
    UnscopedDefaultManager => "TEN102", "unscoped-default-manager", None,
        "A tenant-owned model that declares a scoped manager, but whose default manager is not scoped";
    SharedUploadPath => "TEN104", "shared-upload-path", None,
        "A file field on a tenant-owned model whose `upload_to` is one folder shared by every tenant";
    UnscopedQuery => "TEN201", "unscoped-query", None,
        "A query on a tenant-owned model through a manager that is not tenant-scoped, with no tenant filter";
    ScopeBypass => "TEN202", "scope-bypass", None,
        "An explicit escape from tenant scoping outside the places where one is expected";
    RawSqlWithoutTenantFilter => "TEN203", "raw-sql-without-tenant-filter", None,
        "Raw SQL that reads a tenant-owned table without a predicate on its tenant column";
    ImportTimeQueryset => "TEN204", "import-time-queryset", None,
        "A queryset on a tenant-owned model built once, at class-definition time";
    UnprefixedCacheKey => "TEN301", "unprefixed-cache-key", Sometimes,
        "A call on Django's shared cache whose key is not tenant-prefixed";
    TenantAgnosticPageCache => "TEN302", "tenant-agnostic-page-cache", None,
        "`cache_page` with no tenant-specific key, so one tenant's page is served to another";
    IgnoredCacheKeyFunction => "TEN303", "ignored-cache-key-function", None,
        "A cache `KEY_FUNCTION` or `KEY_PREFIX` inside `OPTIONS`, where Django ignores it";
    TenantContextNotCleared => "TEN401", "tenant-context-not-cleared", Sometimes,
        "Middleware that sets the current tenant without clearing it on every path";
    TaskWithoutTenantContext => "TEN402", "task-without-tenant-context", None,
        "A Celery task that queries tenant-owned models without establishing a tenant context";
    TenantUnawareAdmin => "TEN501", "tenant-unaware-admin", None,
        "A ModelAdmin for a tenant-owned model that does not scope its queryset";
    TenantMiddlewareSetup => "TEN601", "tenant-middleware-setup", None,
        "Settings without exactly one tenant middleware, or without the tenant database router";
    SyntaxError => "TEN900", "syntax-error", None,
        "A file that does not parse";
    IoError => "TEN901", "io-error", None,
        "A file that cannot be read or is not UTF-8";
}

impl Rule {
    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::ALL
            .iter()
            .copied()
            .find(|r| r.code().eq_ignore_ascii_case(code))
    }

    /// Rules that report on files the checker could not analyse. They cannot be deselected by
    /// accident through a prefix like `TEN1`, but `--ignore TEN900` still works.
    pub fn is_file_error(self) -> bool {
        matches!(self, Rule::SyntaxError | Rule::IoError)
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// Does `selector` (a code or a code prefix such as `TEN`, `TEN3`, `TEN301`) select `rule`?
pub fn selector_matches(selector: &str, rule: Rule) -> bool {
    let sel = selector.trim();
    if sel.is_empty() {
        // An empty selector (`--select ""`, `"TEN1,"`) selects nothing; it is rejected as
        // invalid before it gets here.
        return false;
    }
    if sel.eq_ignore_ascii_case("ALL") {
        return true;
    }
    rule.code().len() >= sel.len() && rule.code()[..sel.len()].eq_ignore_ascii_case(sel)
}

/// Is `selector` a valid selector, i.e. does it select at least one rule? An empty one is not.
pub fn is_valid_selector(selector: &str) -> bool {
    Rule::ALL.iter().any(|&r| selector_matches(selector, r))
}

/// The command-line parser for one selector of a comma-separated list: rejects an empty one
/// (`--select ""`, `",,,"`, `"TEN1,"`), as ruff does. Unknown codes are left to the check
/// (`unknown rule selector`).
pub fn parse_selector(selector: &str) -> Result<String, String> {
    if selector.trim().is_empty() {
        return Err("empty rule selector (a stray comma?)".into());
    }
    Ok(selector.to_string())
}

/// Resolve `select` / `extend-select` / `ignore` into the set of enabled rules.
///
/// As in ruff, the more specific selector wins when `select` and `ignore` overlap
/// (`--select TEN301 --ignore TEN3` keeps TEN301).
pub fn resolve_selection(
    select: &[String],
    extend_select: &[String],
    ignore: &[String],
) -> Vec<Rule> {
    let mut enabled = Vec::new();
    for &rule in Rule::ALL {
        let best_select = select
            .iter()
            .chain(extend_select.iter())
            .filter(|s| selector_matches(s, rule))
            .map(|s| specificity(s))
            .max();
        let best_ignore = ignore
            .iter()
            .filter(|s| selector_matches(s, rule))
            .map(|s| specificity(s))
            .max();
        match (best_select, best_ignore) {
            (Some(s), Some(i)) if s > i => enabled.push(rule),
            (Some(_), None) => enabled.push(rule),
            _ => {}
        }
    }
    enabled
}

fn specificity(selector: &str) -> usize {
    if selector.eq_ignore_ascii_case("ALL") {
        0
    } else {
        selector.len()
    }
}
