//! Reporters: one module per output format. Every reporter reads the same [`Report`].

pub mod github;
pub mod gitlab;
pub mod json;
pub mod junit;
pub mod sarif;
pub mod style;
pub mod text;

use std::collections::HashSet;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::diagnostics::Diagnostic;
use crate::registry::Rule;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Full,
    Concise,
    Grouped,
    Json,
    JsonLines,
    Sarif,
    Github,
    Gitlab,
    Junit,
}

/// Everything a reporter may use.
pub struct Report<'a> {
    pub cwd: &'a Path,
    pub diagnostics: &'a [Diagnostic],
    /// Whether unsafe fixes are applied / shown as available in this run.
    pub unsafe_fixes: bool,
    pub color: bool,
    /// Files that were checked (for formats that list passing files, like JUnit).
    pub files: &'a [PathBuf],
    /// Source text standing in for a file (standard input).
    pub stdin: Option<(&'a Path, &'a str)>,
    /// The paths named on the command line: (absolute, as written), to show files outside the
    /// current directory as the user named them.
    pub given: &'a [(PathBuf, PathBuf)],
}

impl Report<'_> {
    /// `filename` as the contract says: relative to the current directory when under it.
    pub fn display_path(&self, path: &Path) -> String {
        display_path_given(path, self.cwd, self.given)
    }

    /// The source of a file, for code frames.
    pub fn source(&self, path: &Path) -> Option<String> {
        if let Some((p, text)) = self.stdin
            && p == path
        {
            return Some(text.to_string());
        }
        let bytes = std::fs::read(path).ok()?;
        String::from_utf8(bytes).ok()
    }
}

/// Relative to `cwd` when under it, else as the user wrote the path it was found under, else
/// absolute.
pub fn display_path_given(path: &Path, cwd: &Path, given: &[(PathBuf, PathBuf)]) -> String {
    if !path.starts_with(cwd) {
        let best = given
            .iter()
            .filter(|(abs, _)| path.starts_with(abs))
            .max_by_key(|(abs, _)| abs.components().count());
        if let Some((abs, written)) = best {
            let rest = path.strip_prefix(abs).unwrap_or(Path::new(""));
            let shown = if rest.as_os_str().is_empty() {
                written.clone()
            } else {
                written.join(rest)
            };
            return shown.to_string_lossy().replace('\\', "/");
        }
    }
    display_path(path, cwd)
}

pub fn display_path(path: &Path, cwd: &Path) -> String {
    let shown = path.strip_prefix(cwd).unwrap_or(path);
    let s = shown.to_string_lossy();
    if s.is_empty() {
        ".".into()
    } else {
        s.replace('\\', "/")
    }
}

pub fn write_report(w: &mut dyn Write, format: OutputFormat, report: &Report) -> io::Result<()> {
    match format {
        OutputFormat::Full => text::write_full(w, report),
        OutputFormat::Concise => text::write_concise(w, report),
        OutputFormat::Grouped => text::write_grouped(w, report),
        OutputFormat::Json => json::write_json(w, report),
        OutputFormat::JsonLines => json::write_json_lines(w, report),
        OutputFormat::Sarif => sarif::write_sarif(w, report),
        OutputFormat::Github => github::write_github(w, report),
        OutputFormat::Gitlab => gitlab::write_gitlab(w, report),
        OutputFormat::Junit => junit::write_junit(w, report),
    }
}

/// One row of `--statistics`.
#[derive(Debug, serde::Serialize)]
pub struct StatRow {
    pub code: &'static str,
    pub name: &'static str,
    pub count: usize,
    pub fixable: usize,
    /// How many of them another finding causes, by its code (see `Diagnostic::root_cause`).
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub root_causes: std::collections::BTreeMap<String, usize>,
    /// How many findings (of any rule) name one of this rule's findings as their root cause.
    #[serde(skip_serializing_if = "is_zero")]
    pub root_cause_of: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

pub fn statistics(report: &Report) -> Vec<StatRow> {
    let mut rows: Vec<StatRow> = Vec::new();
    for &rule in Rule::all() {
        let of_rule: Vec<&Diagnostic> = report
            .diagnostics
            .iter()
            .filter(|d| d.rule == rule)
            .collect();
        if of_rule.is_empty() {
            continue;
        }
        let fixable = of_rule
            .iter()
            .filter(|d| {
                d.fix.as_ref().is_some_and(|f| {
                    crate::engine::fixloop::applies(f.applicability, report.unsafe_fixes)
                })
            })
            .count();
        let mut root_causes = std::collections::BTreeMap::new();
        for d in &of_rule {
            if let Some(code) = d.root_cause_code() {
                *root_causes.entry(code.to_string()).or_insert(0) += 1;
            }
        }
        let places: HashSet<(&Path, crate::locate::Span)> =
            of_rule.iter().map(|d| (d.path.as_path(), d.span)).collect();
        let root_cause_of = report
            .diagnostics
            .iter()
            .filter_map(|d| d.root_cause.as_ref())
            .filter(|r| places.contains(&(r.path.as_path(), r.span)))
            .count();
        rows.push(StatRow {
            code: rule.code(),
            name: rule.name(),
            count: of_rule.len(),
            fixable,
            root_causes,
            root_cause_of,
        });
    }
    // Root causes first (the most consequential first), then by count.
    rows.sort_by(|a, b| {
        b.root_cause_of
            .cmp(&a.root_cause_of)
            .then(b.count.cmp(&a.count))
            .then(a.code.cmp(b.code))
    });
    rows
}
