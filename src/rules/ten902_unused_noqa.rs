//! TEN902 unused-noqa: a `# noqa: TENxxx` that suppresses nothing on its line, or names a TEN
//! code that does not exist (ruff's RUF100 is the model).
//!
//! It needs every other rule's findings in the file before suppression, so the engine runs it
//! after the others ([`check_unused`], called from the engine's per-file lint); its registry
//! entry only carries the metadata. Only TEN codes are judged: other tools' codes and blanket
//! `# noqa` comments are left alone, and so are codes of rules that are not enabled for the file
//! (whether they would suppress something is unknown). The safe fix removes the codes, or the
//! whole directive when no code would remain.

use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{Mode, ParseOptions, parse_unchecked};
use ruff_text_size::Ranged;

use super::Context;
use crate::diagnostics::{Applicability, Diagnostic, Edit};
use crate::locate::Span;
use crate::noqa;
use crate::registry::{FixAvailability, Rule, RuleMeta, selector_matches};

pub static META: RuleMeta = RuleMeta {
    code: "TEN902",
    name: "unused-noqa",
    summary: "A `# noqa: TENxxx` that suppresses nothing, or names an unknown TEN code",
    fix: FixAvailability::Sometimes,
    doc: include_str!("../../rules/TEN902.md"),
};
pub const RULE: Rule = Rule(&META);

/// Registered for its metadata; the engine calls [`check_unused`] after the other rules.
pub struct UnusedNoqa;

impl super::RuleCheck for UnusedNoqa {
    fn rule(&self) -> Rule {
        RULE
    }

    fn check(&self, _ctx: &Context, _out: &mut Vec<Diagnostic>) {}
}

/// What is wrong with one code of a directive.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Problem {
    Unused,
    Unknown,
}

/// The TEN902 findings of one file, given every other finding of the file before suppression,
/// the rules enabled for it and (read only when something is to be reported) its text, which
/// must be the one its facts came from.
pub fn check_unused(
    ctx: &Context,
    diags: &[Diagnostic],
    enabled: &[Rule],
    text: impl FnOnce() -> Option<String>,
) -> Vec<Diagnostic> {
    // Rows with a directive naming a code that is unknown or suppresses nothing.
    let mut rows: Vec<u32> = Vec::new();
    for (row, codes) in &ctx.facts.noqa.lines {
        let Some(codes) = codes else { continue };
        if codes
            .iter()
            .any(|c| problem(c, *row, ctx, diags, enabled).is_some())
        {
            rows.push(*row);
        }
    }
    if rows.is_empty() {
        return Vec::new();
    }
    let Some(text) = ctx.edits.map(|e| e.source.clone()).or_else(text) else {
        return Vec::new();
    };
    // Every comment with its start: Python's `#` comments from the tokens; Rust's `//` comments
    // from the lexer, each `//` read as `# ` (the same length, so offsets hold).
    let comments: Vec<(usize, String)> = if ctx.facts.rust.is_some() {
        crate::frontend::rust::lex::scan(&text)
            .line_comments
            .into_iter()
            .map(|(at, _)| {
                let end = text[at..].find(['\n', '\r']).map_or(text.len(), |i| at + i);
                (at, text[at..end].replace("//", "# "))
            })
            .collect()
    } else {
        let parsed = parse_unchecked(&text, ParseOptions::from(Mode::Module));
        parsed
            .tokens()
            .iter()
            .filter(|t| t.kind() == TokenKind::Comment)
            .map(|t| (t.start().to_usize(), text[t.range()].to_string()))
            .collect()
    };
    let mut out = Vec::new();
    for (start, comment) in &comments {
        let (start, comment) = (*start, comment.as_str());
        let row = ctx.row(start as u32);
        if !rows.contains(&row) {
            continue;
        }
        let Some(d) = noqa::find_directive(comment) else {
            continue;
        };
        let judged: Vec<(usize, Problem)> = d
            .codes
            .iter()
            .enumerate()
            .filter_map(|(i, (c, _))| problem(c, row, ctx, diags, enabled).map(|p| (i, p)))
            .collect();
        if judged.is_empty() {
            continue;
        }
        let list = |want: Problem| {
            judged
                .iter()
                .filter(|(_, p)| *p == want)
                .map(|(i, _)| format!("`{}`", d.codes[*i].0))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut parts = Vec::new();
        for (label, want) in [("unused", Problem::Unused), ("unknown", Problem::Unknown)] {
            let l = list(want);
            if !l.is_empty() {
                parts.push(format!("{label}: {l}"));
            }
        }
        let message = format!("Unused `noqa` directive ({})", parts.join("; "));
        let removed: Vec<usize> = judged.iter().map(|(i, _)| *i).collect();
        let edits = removal_edits(&text, start, comment, &d, &removed);
        let fix_message = if removed.len() == d.codes.len() {
            "Remove the `noqa` directive".to_string()
        } else {
            "Remove the unused codes".to_string()
        };
        let span = Span::new((start + d.start) as u32, (start + d.end) as u32);
        // Like every rule's fix: edits only when the engine asks for them.
        let fix = super::fix_with(ctx, Applicability::Safe, fix_message, |_| Some(edits));
        out.push(Diagnostic::new(RULE, message, ctx.path().to_path_buf(), span).with_fix(fix));
    }
    out
}

fn problem(
    code: &str,
    row: u32,
    ctx: &Context,
    diags: &[Diagnostic],
    enabled: &[Rule],
) -> Option<Problem> {
    if !code.starts_with("TEN") || code == RULE.code() {
        return None;
    }
    let matched: Vec<Rule> = Rule::all()
        .iter()
        .copied()
        .filter(|&r| selector_matches(code, r))
        .collect();
    if matched.is_empty() {
        return Some(Problem::Unknown);
    }
    if matched
        .iter()
        .any(|r| r.is_file_error() || !enabled.contains(r))
    {
        return None;
    }
    let used = diags
        .iter()
        .any(|d| ctx.row(d.span.start) == row && selector_matches(code, d.rule));
    (!used).then_some(Problem::Unused)
}

/// Edits (in file offsets) that remove codes `removed` of directive `d` in the comment starting
/// at `start`: the whole directive when none of its codes would remain (and the whole comment,
/// with the blanks before it, when nothing else is in it).
fn removal_edits(
    text: &str,
    start: usize,
    comment: &str,
    d: &noqa::Directive,
    removed: &[usize],
) -> Vec<Edit> {
    let at = |a: usize, b: usize| Span::new((start + a) as u32, (start + b) as u32);
    if removed.len() == d.codes.len() {
        let before = comment[..d.start].trim_end();
        // What follows the directive: another comment (`# reason`) stays; anything else is the
        // directive's own reason (`# noqa: X -- why`) and goes with it (leaving `-- why` bare
        // would not even be a comment).
        let mut after = comment[d.end..].trim_start();
        if !after.starts_with('#') {
            after = "";
        }
        let (from, to) = if before.is_empty() && after.is_empty() {
            // The comment is only the directive: remove it and the blanks before it.
            let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
            let code_end = line_start + text[line_start..start].trim_end().len();
            return vec![Edit::new(
                Span::new(code_end as u32, (start + comment.len()) as u32),
                "",
            )];
        } else if before.is_empty() {
            // `# noqa: X  # reason` -> `# reason`
            (d.start, comment.len() - after.len())
        } else {
            // `# type: ignore  # noqa: X  # reason` -> `# type: ignore  # reason`, and
            // `# type: ignore  # noqa: X -- why` -> `# type: ignore`
            let end = if after.is_empty() {
                comment.len()
            } else {
                d.end
            };
            (before.len(), end)
        };
        return vec![Edit::new(at(from, to), "")];
    }
    let mut edits = Vec::new();
    let mut kept_before: Option<usize> = None; // end of the last kept code
    for (i, (_, r)) in d.codes.iter().enumerate() {
        if !removed.contains(&i) {
            kept_before = Some(r.end);
            continue;
        }
        match kept_before {
            // Remove the separator before it with it: `A, B` -> `A`.
            Some(_) => {
                let prev_end = d.codes[i - 1].1.end;
                edits.push(Edit::new(at(prev_end, r.end), ""));
            }
            // The first kept code is after it: remove it and the separator after it.
            None => {
                let next_start = d.codes[i + 1].1.start;
                edits.push(Edit::new(at(r.start, next_start), ""));
            }
        }
    }
    // One edit per run of adjacent removals.
    let mut merged: Vec<Edit> = Vec::new();
    for e in edits {
        match merged.last_mut() {
            Some(last) if last.span.end == e.span.start => {
                last.span = Span::new(last.span.start, e.span.end);
            }
            _ => merged.push(e),
        }
    }
    merged
}
