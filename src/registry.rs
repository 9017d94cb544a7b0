//! The rule catalogue: codes, names, one-line summaries and the embedded documentation pages.
//!
//! Every rule keeps its code forever. Each rule declares its metadata in its own file
//! (`src/rules/tenNNN_*.rs`); the registration list is [`crate::rules::REGISTRY`]. The page for
//! each rule lives in `rules/<CODE>.md` at the top of the repository and is embedded in the binary.

use std::fmt;

/// Whether a rule can offer fixes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FixAvailability {
    None,
    Sometimes,
}

/// What a rule declares about itself, in its own file (`pub static META: RuleMeta`).
#[derive(Debug)]
pub struct RuleMeta {
    pub code: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
    pub fix: FixAvailability,
    /// The rule's page, `rules/<CODE>.md`, embedded in the binary.
    pub doc: &'static str,
}

/// A rule's identity: a handle on its metadata. Compared, hashed and ordered by code.
#[derive(Clone, Copy)]
pub struct Rule(pub &'static RuleMeta);

impl PartialEq for Rule {
    fn eq(&self, other: &Self) -> bool {
        self.0.code == other.0.code
    }
}
impl Eq for Rule {}
impl std::hash::Hash for Rule {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.code.hash(state)
    }
}
impl PartialOrd for Rule {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Rule {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.code.cmp(other.0.code)
    }
}
impl fmt::Debug for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0.code)
    }
}

impl Rule {
    pub fn code(self) -> &'static str {
        self.0.code
    }

    pub fn name(self) -> &'static str {
        self.0.name
    }

    pub fn summary(self) -> &'static str {
        self.0.summary
    }

    pub fn fix_availability(self) -> FixAvailability {
        self.0.fix
    }

    pub fn doc(self) -> &'static str {
        self.0.doc
    }

    /// Every rule, in code order (from the registration list in [`crate::rules`]).
    pub fn all() -> &'static [Rule] {
        static ALL: std::sync::OnceLock<Vec<Rule>> = std::sync::OnceLock::new();
        ALL.get_or_init(|| {
            let mut all: Vec<Rule> = crate::rules::REGISTRY.iter().map(|r| r.rule()).collect();
            all.sort();
            all
        })
    }

    /// The rule's page on the web: `rules/<CODE>.md` in the repository, at this version's tag
    /// (`<repository>/blob/v<version>/rules/<CODE>.md`, GitHub's and GitLab's layout). `None`
    /// when the package declares no repository. The language server's `codeDescription`, SARIF's
    /// `helpUri` and JSON's `url` all use it.
    pub fn url(self) -> Option<String> {
        let repo = env!("CARGO_PKG_REPOSITORY").trim_end_matches('/');
        (!repo.is_empty()).then(|| {
            format!(
                "{repo}/blob/v{}/rules/{}.md",
                env!("CARGO_PKG_VERSION"),
                self.code()
            )
        })
    }

    /// Whether a finding of this rule is a security finding (a possible cross-tenant leak), as
    /// opposed to a problem with the configuration (TEN0xx), with the input (TEN900, TEN901) or
    /// a stale suppression (TEN902).
    pub fn is_security(self) -> bool {
        !self.code().starts_with("TEN9") && !self.code().starts_with("TEN0")
    }

    /// Rules that report on the configuration file (TEN0xx): located in `pyproject.toml` or
    /// `tenantlint.toml`, where no `# noqa` applies.
    pub fn is_config(self) -> bool {
        self.code().starts_with("TEN0")
    }

    pub fn from_code(code: &str) -> Option<Rule> {
        Rule::all()
            .iter()
            .copied()
            .find(|r| r.code().eq_ignore_ascii_case(code))
    }

    /// Rules that report on files the checker could not analyse. They cannot be deselected by
    /// accident through a prefix like `TEN1`, but `--ignore TEN900` still works.
    pub fn is_file_error(self) -> bool {
        // TEN900 and TEN901 only: TEN902 (unused-noqa) is an ordinary rule.
        matches!(self.code(), "TEN900" | "TEN901")
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
    Rule::all().iter().any(|&r| selector_matches(selector, r))
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
    for &rule in Rule::all() {
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

/// A rule travels by its code (the daemon's answers to `check`).
impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> serde::Deserialize<'de> for Rule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Rule, D::Error> {
        let code = String::deserialize(d)?;
        Rule::from_code(&code)
            .ok_or_else(|| serde::de::Error::custom(format!("unknown rule code {code}")))
    }
}
