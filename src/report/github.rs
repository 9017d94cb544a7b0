//! `github`: GitHub Actions workflow commands, one `::error` line per diagnostic, which the runner
//! turns into annotations on the pull request's diff.
//!
//! ```text
//! ::error file=billing/views.py,line=16,col=13,endLine=16,endColumn=39,title=TEN201::`Invoice.objects.all()` queries …
//! ```
//!
//! Paths are relative to the current directory, so run tenantlint from the repository root (the
//! default working directory of a workflow step) for the annotations to land on the right files.

use std::io::{self, Write};

use super::Report;

/// Escape the message part of a workflow command (after `::`), as GitHub's toolkit does
/// (`escapeData` in `@actions/core`).
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            _ => out.push(c),
        }
    }
    out
}

/// Escape a property value of a workflow command (`file=`, `title=`…), as GitHub's toolkit does
/// (`escapeProperty` in `@actions/core`): like [`escape_data`], plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            _ => out.push(c),
        }
    }
    out
}

pub fn write_github(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    for d in report.diagnostics {
        let start = d.start_pos;
        let end = d.end_pos;
        // An empty or inverted span (e.g. TEN901 at 1:1) still needs a valid range.
        let (end_row, end_col) = if (end.row, end.column) < (start.row, start.column) {
            (start.row, start.column)
        } else {
            (end.row, end.column)
        };
        writeln!(
            w,
            "::error file={},line={},col={},endLine={},endColumn={},title={}::{}",
            escape_property(&report.display_path(&d.path)),
            start.row.max(1),
            start.column.max(1),
            end_row.max(1),
            end_col.max(1),
            escape_property(d.rule.code()),
            escape_data(&d.message),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_actions_toolkit() {
        assert_eq!(
            escape_data("100% done: a, b\r\nnext"),
            "100%25 done: a, b%0D%0Anext"
        );
        assert_eq!(
            escape_property("100% done: a, b\r\nnext"),
            "100%25 done%3A a%2C b%0D%0Anext"
        );
        assert_eq!(escape_data("%0A"), "%250A");
    }
}
