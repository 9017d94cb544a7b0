//! The Rust frontend: one `syn` parse per file, reduced to [`RustFacts`] (SeaORM entities, Diesel
//! `table!`s, query chains, sqlx SQL, Redis/moka cache calls, Postgres session variables,
//! functions and their parameters), then dropped. Also reads SQL migrations for their schema.
//!
//! Byte spans come from proc-macro2's `span-locations` (`Span::byte_range`, which converts its
//! character positions to byte offsets of the parsed text); the thread's span table is cleared
//! after every file so memory stays flat.

pub mod facts;
pub(crate) mod lex;
mod skim;
mod visit;

use crate::facts::{FileFacts, FileProblem, Noqa};
use crate::locate::{LineIndex, Span};
pub use facts::*;

/// Extract the facts of `source`. Never panics: a file syn cannot parse is a syntax problem
/// (TEN900) at syn's error span. A file without any token a query, SQL, cache or session fact
/// needs is skimmed rather than parsed in full ([`skim`]; `TENANTLINT_RUST_FULL_PARSE=1` turns
/// that off): its facts are the same, but its syntax is not checked. In a file that holds a
/// marker, the items that hold none are blanked before `syn` parses it (same facts; a syntax
/// error in such an item is not reported).
pub fn extract_source(source: &str) -> FileFacts {
    static FULL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let full = *FULL.get_or_init(|| {
        std::env::var_os("TENANTLINT_RUST_FULL_PARSE").is_some_and(|v| !v.is_empty() && v != "0")
    });
    extract(source, full)
}

/// [`extract_source`] with every file parsed in full by `syn` (the reference the skim is
/// tested against).
pub fn extract_source_full(source: &str) -> FileFacts {
    extract(source, true)
}

fn extract(source: &str, full_parse: bool) -> FileFacts {
    let lines = LineIndex::new(source);
    // syn strips a BOM and a shebang line itself; strip them here so byte offsets stay ours.
    let base = skim::code_start(source);
    // One byte-level pass finds the comments, the nesting depth and the tokens the skim needs;
    // when it gives up (an unterminated literal, unbalanced brackets), the plain scan finds the
    // first two and syn reports the error.
    let mut tokens = skim::tokenize(source, base).ok();
    let (comments, too_deep) = match &mut tokens {
        Some(t) => (std::mem::take(&mut t.comments), t.too_deep),
        None => {
            let scan = lex::scan(source);
            (scan.line_comments, scan.too_deep)
        }
    };
    let noqa = noqa_of(source, &comments, &lines);
    let mut facts = FileFacts {
        noqa,
        lines,
        ..Default::default()
    };
    if let Some(at) = too_deep {
        facts.problems.push(FileProblem::Syntax {
            message: format!("brackets nested more than {} levels deep", lex::MAX_NESTING),
            span: Span::empty(at as u32),
        });
        facts.rust = Some(Box::default());
        return facts;
    }
    // Most files hold no query, SQL, cache or session variable: skim them (see `skim`).
    if !full_parse
        && let Some(tokens) = &tokens
        && let Some(rust) = skim::skim(source, tokens)
    {
        facts.rust = Some(Box::new(rust));
        proc_macro2::extra::invalidate_current_thread_spans();
        facts.shrink_to_fit();
        return facts;
    }
    let text = &source[base..];
    // A file that holds a marker: only its items that can hold a fact are parsed.
    if !full_parse
        && let Some(tokens) = &tokens
        && let Some((blanked, skimmed)) = skim::blank_unmarked(source, base, tokens)
    {
        let merged = syn::parse_str::<syn::File>(&blanked).ok().and_then(|file| {
            skim::merge_partial(visit::extract(&file, text, base as u32), skimmed)
        });
        proc_macro2::extra::invalidate_current_thread_spans();
        if let Some(rust) = merged {
            facts.rust = Some(Box::new(rust));
            facts.shrink_to_fit();
            return facts;
        }
    }
    let parsed = syn::parse_str::<syn::File>(text);
    let rust = match parsed {
        Ok(file) => visit::extract(&file, text, base as u32),
        Err(e) => {
            let r = e.span().byte_range();
            let start = (base + r.start).min(source.len()) as u32;
            let end = (base + r.end).min(source.len()) as u32;
            facts.problems.push(FileProblem::Syntax {
                message: e.to_string(),
                span: Span::new(start, end.max(start)),
            });
            RustFacts::default()
        }
    };
    // Every parse adds the text to this thread's span table: drop it (no span outlives this).
    proc_macro2::extra::invalidate_current_thread_spans();
    facts.rust = Some(Box::new(rust));
    facts.shrink_to_fit();
    facts
}

/// A SQL migration: its `CREATE TABLE` and `ALTER TABLE ... ADD COLUMN` statements.
pub fn extract_sql_migration(source: &str) -> FileFacts {
    let tables = crate::sql::ddl_tables(source)
        .into_iter()
        .map(|t| TableDecl {
            kind: TableKind::Migration,
            table: t.table,
            module: String::new(),
            columns: t.columns,
            primary_key: t.primary_key,
            span: Span::new(t.offset as u32, t.offset as u32),
        })
        .collect();
    FileFacts {
        lines: LineIndex::new(source),
        rust: Some(Box::new(RustFacts {
            tables,
            ..Default::default()
        })),
        ..Default::default()
    }
}

/// `// noqa[: CODES]` at the end of a line, `// tenantlint: noqa[: CODES]` anywhere: read as the
/// Python frontend reads `# ...` comments, so both agree on what a directive is.
fn noqa_of(source: &str, comments: &[(usize, usize)], lines: &LineIndex) -> Noqa {
    let mut noqa = Noqa::default();
    for &(at, end) in comments {
        let text = source[at + 2..end].trim_end_matches('\r');
        // Doc comments (`///`, `//!`) are documentation, not directives; every directive says
        // `noqa` (in any case).
        if text.starts_with('/')
            || text.starts_with('!')
            || !text
                .as_bytes()
                .windows(4)
                .any(|w| w.eq_ignore_ascii_case(b"noqa"))
        {
            continue;
        }
        // `// a  // noqa: X` reads as `# a  # noqa: X` (`//` becomes `# `, same length).
        let comment = format!("# {}", text.replace("//", "# "));
        crate::frontend::python::parse_noqa_comment(&comment, lines.row(at as u32), &mut noqa);
    }
    noqa
}

#[cfg(test)]
mod tests;
