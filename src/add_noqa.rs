//! `check --add-noqa[=REASON]`: append `# noqa: CODE` to the line where each finding is
//! suppressed (the line it starts on, see [`crate::noqa`]), merging with a `# noqa: ...` already
//! there (other tools' codes are kept), with `  # REASON` after a new directive when given.
//!
//! A line that ends inside a multi-line string (or an f-string spanning lines) or with a
//! backslash continuation cannot take a comment: those findings are left alone and reported
//! (a `# noqa` on another line would not suppress them; use the baseline instead).
//!
//! The new text is checked before it is written: it must parse wherever the old one did, and
//! every finding it was meant to suppress must now be suppressed.

use std::collections::{BTreeMap, BTreeSet};

use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{Mode, ParseOptions, parse_unchecked};
use ruff_text_size::{Ranged, TextSize};

use crate::noqa;

/// Why a line could not take a `# noqa`.
pub const IN_STRING: &str = "the line ends inside a multi-line string";
pub const CONTINUATION: &str = "the line ends with a backslash continuation";
pub const FILE_DIRECTIVE: &str = "the line holds a file-level `# tenantlint: noqa` comment";
pub const DOC_COMMENT: &str = "the line ends in a doc comment";

/// [`add_noqa`] for a file of language `lang` (`// noqa: CODE` in Rust).
pub fn add_noqa_for(
    lang: crate::frontend::Language,
    source: &str,
    wanted: &BTreeMap<u32, BTreeSet<String>>,
    reason: Option<&str>,
) -> Added {
    match lang {
        crate::frontend::Language::Rust => add_noqa_rust(source, wanted, reason),
        _ => add_noqa(source, wanted, reason),
    }
}

/// `// noqa: CODE` at the end of each wanted row of a Rust file, merged into an existing
/// `// noqa: ...` (read as `# noqa` is).
pub fn add_noqa_rust(
    source: &str,
    wanted: &BTreeMap<u32, BTreeSet<String>>,
    reason: Option<&str>,
) -> Added {
    let scan = crate::frontend::rust::lex::scan(source);
    let lines = Lines::new(source);
    let mut out = Added::default();
    let mut inserts: Vec<(usize, usize, String)> = Vec::new();
    for (&row, codes) in wanted {
        let Some((line_start, line_end)) = lines.range(row) else {
            continue;
        };
        if scan
            .multiline
            .iter()
            .any(|&(s, e)| s < line_end && line_end < e)
        {
            out.skipped.push((row, IN_STRING));
            continue;
        }
        let comment = scan
            .line_comments
            .iter()
            .find(|(at, _)| (line_start..line_end).contains(at))
            .map(|(at, _)| *at);
        let comment = match comment {
            Some(s) => {
                let text = &source[s..line_end];
                if text.starts_with("///") || text.starts_with("//!") {
                    out.skipped.push((row, DOC_COMMENT));
                    continue;
                }
                // Read as a `#` comment: every `//` becomes `# ` (same length: offsets hold).
                Some((s, line_end, text.replace("//", "# ")))
            }
            None => None,
        };
        plan_line(
            &mut out,
            &mut inserts,
            row,
            codes,
            comment.as_ref().map(|(s, e, t)| (*s, *e, t.as_str())),
            (line_start, line_end),
            source,
            rust_directive(codes, reason),
        );
    }
    out.text = apply(source, inserts);
    out
}

fn rust_directive(codes: &BTreeSet<String>, reason: Option<&str>) -> String {
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("  // noqa: {}  // {r}", codes.join(", ")),
        None => format!("  // noqa: {}", codes.join(", ")),
    }
}

/// The byte ranges of a text's lines (split at `\n`), by 1-based row.
struct Lines<'a> {
    source: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(source: &'a str) -> Self {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { source, starts }
    }

    /// Row `row`'s start and end, without its line ending (`\n` or `\r\n`).
    fn range(&self, row: u32) -> Option<(usize, usize)> {
        let start = *self.starts.get((row as usize).checked_sub(1)?)?;
        let mut end = self.source[start..]
            .find('\n')
            .map_or(self.source.len(), |i| start + i);
        if end > start && self.source.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        Some((start, end))
    }
}

#[derive(Debug, Default)]
pub struct Added {
    /// The new text (the old one when nothing changed).
    pub text: String,
    /// Codes added, over all lines.
    pub added: usize,
    /// Rows (1-based) that could not take a comment, with the reason.
    pub skipped: Vec<(u32, &'static str)>,
}

/// Add `codes` (upper-case rule codes) at each row of `wanted` (1-based rows).
pub fn add_noqa(
    source: &str,
    wanted: &BTreeMap<u32, BTreeSet<String>>,
    reason: Option<&str>,
) -> Added {
    let parsed = parse_unchecked(source, ParseOptions::from(Mode::Module));
    let tokens = parsed.tokens();
    // Byte ranges of whole strings (an f-string from its start to its end token) that span lines.
    let mut strings: Vec<(usize, usize)> = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    for t in tokens.iter() {
        let (s, e) = (t.start().to_usize(), t.end().to_usize());
        match t.kind() {
            TokenKind::String => strings.push((s, e)),
            TokenKind::FStringStart | TokenKind::TStringStart => open.push(s),
            TokenKind::FStringEnd | TokenKind::TStringEnd => {
                if let Some(start) = open.pop() {
                    strings.push((start, e));
                }
            }
            _ => {}
        }
    }
    strings.retain(|(s, e)| source[*s..*e].contains('\n'));
    // An unterminated f-string runs to the end of the file.
    strings.extend(open.into_iter().map(|s| (s, source.len())));

    let lines = Lines::new(source);
    let mut out = Added::default();
    // (start, end, replacement), applied from the end.
    let mut inserts: Vec<(usize, usize, String)> = Vec::new();
    for (&row, codes) in wanted {
        let Some((line_start, line_end)) = lines.range(row) else {
            continue;
        };
        if strings.iter().any(|&(s, e)| s < line_end && line_end < e) {
            out.skipped.push((row, IN_STRING));
            continue;
        }
        let first = tokens.partition_point(|t| t.start() < TextSize::new(line_start as u32));
        let comment = tokens[first..]
            .iter()
            .take_while(|t| t.start().to_usize() < line_end)
            .find(|t| t.kind() == TokenKind::Comment)
            .map(|t| (t.start().to_usize(), t.end().to_usize()));
        let code_end = comment.map_or(line_end, |(s, _)| s);
        if source[line_start..code_end].trim_end().ends_with('\\') {
            out.skipped.push((row, CONTINUATION));
            continue;
        }
        plan_line(
            &mut out,
            &mut inserts,
            row,
            codes,
            comment.map(|(s, e)| (s, e, &source[s..e])),
            (line_start, line_end),
            source,
            directive(codes, reason),
        );
    }
    out.text = apply(source, inserts);
    out
}

/// Plan the edit that puts `codes` on row `row` (`line` its byte range, without the line
/// ending): merged into the directive of the line's comment (`comment`: its byte range and its
/// text as a `#` comment reads), else `new_directive` at the end of the line (replacing a
/// comment without a directive's trailing blanks). A blanket `noqa` already suppresses all; a
/// `tenantlint: noqa` comment is a file directive a line directive cannot join.
#[allow(clippy::too_many_arguments)]
fn plan_line(
    out: &mut Added,
    inserts: &mut Vec<(usize, usize, String)>,
    row: u32,
    codes: &BTreeSet<String>,
    comment: Option<(usize, usize, &str)>,
    line: (usize, usize),
    source: &str,
    new_directive: String,
) {
    let (line_start, line_end) = line;
    let Some((s, e, text)) = comment else {
        out.added += codes.len();
        let end = line_start + source[line_start..line_end].trim_end().len();
        inserts.push((end, line_end, new_directive));
        return;
    };
    match noqa::find_directive(text) {
        Some(d) if d.codes.is_empty() => {}
        Some(d) => {
            let have: BTreeSet<&str> = d.codes.iter().map(|(c, _)| c.as_str()).collect();
            let new: Vec<&str> = codes
                .iter()
                .map(String::as_str)
                .filter(|c| !have.contains(c))
                .collect();
            if !new.is_empty() {
                out.added += new.len();
                let at = s + d.end;
                inserts.push((at, at, format!(", {}", new.join(", "))));
            }
        }
        None if text.to_ascii_lowercase().contains("tenantlint") => {
            out.skipped.push((row, FILE_DIRECTIVE));
        }
        None => {
            out.added += codes.len();
            let end = s + text.trim_end().len();
            inserts.push((end, e, new_directive));
        }
    }
}

/// `source` with `inserts` (start, end, replacement) applied, from the end.
fn apply(source: &str, mut inserts: Vec<(usize, usize, String)>) -> String {
    let mut text = source.to_string();
    inserts.sort_by_key(|(at, _, _)| std::cmp::Reverse(*at));
    for (start, end, s) in inserts {
        text.replace_range(start..end, &s);
    }
    text
}

fn directive(codes: &BTreeSet<String>, reason: Option<&str>) -> String {
    let codes: Vec<&str> = codes.iter().map(String::as_str).collect();
    match reason.map(str::trim).filter(|r| !r.is_empty()) {
        Some(r) => format!("  # noqa: {}  # {r}", codes.join(", ")),
        None => format!("  # noqa: {}", codes.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(src: &str, rows: &[(u32, &[&str])], reason: Option<&str>) -> Added {
        let wanted = rows
            .iter()
            .map(|(r, c)| (*r, c.iter().map(|s| s.to_string()).collect()))
            .collect();
        add_noqa(src, &wanted, reason)
    }

    #[test]
    fn rust_lines_get_slash_slash_directives() {
        let src = "let a = 1;\nlet b = 2; // keep\nlet c = 3; // noqa: E501\nlet s = \"x\n y\";\n";
        let wanted = [
            (1, &["TEN201"][..]),
            (2, &["TEN301"]),
            (3, &["TEN203"]),
            (4, &["TEN403"]),
        ]
        .iter()
        .map(|(r, c)| (*r, c.iter().map(|s| s.to_string()).collect()))
        .collect();
        let r = add_noqa_rust(src, &wanted, Some("legacy"));
        assert_eq!(
            r.text,
            "let a = 1;  // noqa: TEN201  // legacy\nlet b = 2; // keep  // noqa: TEN301  // legacy\nlet c = 3; // noqa: E501, TEN203\nlet s = \"x\n y\";\n"
        );
        assert_eq!(r.skipped, vec![(4, IN_STRING)]);
        let facts = crate::frontend::rust::extract_source(&r.text);
        assert_eq!(facts.noqa.lines.len(), 3, "{:?}", facts.noqa);
    }

    #[test]
    fn appends_merges_and_keeps_other_codes() {
        let src = "a = 1\nb = 2  # type: ignore\nc = 3  # noqa: E501\nd = 4  # noqa\ne = 5   \n";
        let r = add(
            src,
            &[
                (1, &["TEN101"]),
                (2, &["TEN201"]),
                (3, &["TEN301", "E501"]),
                (4, &["TEN101"]),
                (5, &["TEN101", "TEN201"]),
            ],
            None,
        );
        assert_eq!(
            r.text,
            "a = 1  # noqa: TEN101\nb = 2  # type: ignore  # noqa: TEN201\nc = 3  # noqa: E501, TEN301\nd = 4  # noqa\ne = 5  # noqa: TEN101, TEN201\n"
        );
        assert_eq!(r.added, 5);
        assert!(r.skipped.is_empty());
    }

    #[test]
    fn reason_goes_after_a_new_directive_and_crlf_is_kept() {
        let r = add(
            "a = 1\r\nb = 2\r\n",
            &[(2, &["TEN301"])],
            Some("legacy, see #12"),
        );
        assert_eq!(
            r.text,
            "a = 1\r\nb = 2  # noqa: TEN301  # legacy, see #12\r\n"
        );
    }

    #[test]
    fn lines_inside_strings_and_continuations_are_skipped() {
        let src = "x = f(\"\"\"a\nb\"\"\")\ny = f\"\"\"{\n1}\"\"\"\nz = 1 + \\\n  2\n";
        let r = add(
            src,
            &[(1, &["TEN203"]), (3, &["TEN203"]), (5, &["TEN203"])],
            None,
        );
        assert_eq!(r.text, src);
        assert_eq!(
            r.skipped,
            vec![(1, IN_STRING), (3, IN_STRING), (5, CONTINUATION)]
        );
        // The string's last line can take one.
        let r = add(src, &[(2, &["TEN203"])], None);
        assert!(r.text.contains("b\"\"\")  # noqa: TEN203\n"), "{}", r.text);
    }
}
