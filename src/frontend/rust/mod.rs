//! The Rust frontend: one `syn` parse per file, reduced to [`RustFacts`] (SeaORM entities, Diesel
//! `table!`s, query chains, sqlx SQL, Redis/moka cache calls, Postgres session variables,
//! functions and their parameters), then dropped. Also reads SQL migrations for their schema.
//!
//! Byte spans come from proc-macro2's `span-locations` (`Span::byte_range`, which converts its
//! character positions to byte offsets of the parsed text); the thread's span table is cleared
//! after every file so memory stays flat.

pub mod facts;
pub(crate) mod lex;
mod visit;

use crate::facts::{FileFacts, FileProblem, Noqa};
use crate::locate::{LineIndex, Span};
pub use facts::*;

/// Parse `source` once and extract its facts. Never panics: a file syn cannot parse is a
/// syntax problem (TEN900) at syn's error span.
pub fn extract_source(source: &str) -> FileFacts {
    let lines = LineIndex::new(source);
    let scan = lex::scan(source);
    let noqa = noqa_of(&scan, &lines);
    let mut facts = FileFacts {
        noqa,
        lines,
        ..Default::default()
    };
    if let Some(at) = scan.too_deep {
        facts.problems.push(FileProblem::Syntax {
            message: format!("brackets nested more than {} levels deep", lex::MAX_NESTING),
            span: Span::empty(at as u32),
        });
        facts.rust = Some(Box::default());
        return facts;
    }
    // syn strips a BOM and a shebang line itself; strip them here so byte offsets stay ours.
    let mut base = 0;
    if source.starts_with('\u{feff}') {
        base = 3;
    }
    if source[base..].starts_with("#!") && !source[base + 2..].trim_start().starts_with('[') {
        base += source[base..].find('\n').unwrap_or(source.len() - base);
    }
    let text = &source[base..];
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
fn noqa_of(scan: &lex::Scan, lines: &LineIndex) -> Noqa {
    let mut noqa = Noqa::default();
    for (at, text) in &scan.line_comments {
        // Doc comments (`///`, `//!`) are documentation, not directives.
        if text.starts_with('/') || text.starts_with('!') {
            continue;
        }
        // `// a  // noqa: X` reads as `# a  # noqa: X` (`//` becomes `# `, same length).
        let comment = format!("# {}", text.replace("//", "# "));
        crate::frontend::python::parse_noqa_comment(&comment, lines.row(*at as u32), &mut noqa);
    }
    noqa
}

#[cfg(test)]
mod tests;
