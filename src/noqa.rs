//! Suppression: `# noqa[: CODES]` on the line where a diagnostic starts, `# tenantlint: noqa[:
//! CODES]` anywhere for the whole file, and `per-file-ignores`.

use crate::facts::Noqa;
use crate::registry::{Rule, selector_matches};

fn codes_match(codes: &Option<Vec<String>>, rule: Rule) -> bool {
    match codes {
        None => true,
        Some(codes) => codes.iter().any(|c| selector_matches(c, rule)),
    }
}

/// Is a diagnostic of `rule` starting on `row` suppressed by the file's comments?
pub fn is_suppressed(noqa: &Noqa, rule: Rule, row: u32) -> bool {
    if let Some(file) = &noqa.file
        && codes_match(file, rule)
    {
        return true;
    }
    noqa.lines
        .iter()
        .any(|(r, codes)| *r == row && codes_match(codes, rule))
}

/// A line-level `# noqa` directive inside one comment's text (byte offsets into that text):
/// from its `#` to the end of its last code (or of `noqa` for a blanket one). Parsed as
/// `frontend::python::parse_noqa_comment` does, so the two agree on what a directive is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Directive {
    pub start: usize,
    pub end: usize,
    /// The codes (upper-cased) and their ranges; empty for a blanket `# noqa`.
    pub codes: Vec<(String, std::ops::Range<usize>)>,
}

/// The line-level directive in a comment (`# noqa`, `# noqa: A, B`, also after other text as in
/// `# type: ignore  # noqa: X`); `None` when there is none, or when the comment is a file-level
/// `# tenantlint: noqa`.
pub fn find_directive(comment: &str) -> Option<Directive> {
    let lower = comment.to_ascii_lowercase();
    if let Some(rest) = lower.strip_prefix('#').map(str::trim_start)
        && let Some(rest) = rest.strip_prefix("tenantlint")
        && rest.trim_start().starts_with(':')
    {
        return None;
    }
    let bytes = lower.as_bytes();
    let mut search = 0;
    while let Some(i) = lower[search..].find("noqa") {
        let at = search + i;
        search = at + 4;
        let before = lower[..at].trim_end_matches([' ', '\t']);
        if !before.ends_with('#') {
            continue;
        }
        if bytes
            .get(at + 4)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            continue;
        }
        let start = before.len() - 1;
        let mut end = at + 4;
        let mut codes = Vec::new();
        let after = &comment[at + 4..];
        let trimmed = after.trim_start();
        if let Some(list) = trimmed.strip_prefix(':') {
            let mut pos = at + 4 + (after.len() - trimmed.len()) + 1;
            let mut rest = list;
            loop {
                let skip = rest.len() - rest.trim_start_matches([',', ' ', '\t']).len();
                pos += skip;
                rest = &rest[skip..];
                let word_len = rest.find([',', ' ', '\t']).unwrap_or(rest.len());
                let word = &rest[..word_len];
                let valid = word.len() >= 2
                    && word.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                    && word.chars().all(|c| c.is_ascii_alphanumeric());
                if !valid {
                    break;
                }
                codes.push((word.to_ascii_uppercase(), pos..pos + word_len));
                end = pos + word_len;
                pos += word_len;
                rest = &rest[word_len..];
            }
        }
        return Some(Directive { start, end, codes });
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Noqa;

    #[test]
    fn find_directive_agrees_with_the_extractor() {
        for comment in [
            "# noqa",
            "# noqa: TEN101",
            "#noqa:TEN101,E501",
            "# type: ignore  # noqa: E501, TEN301  # legacy",
            "# NOQA : ten101 ten201",
            "# noqalike",
            "# tenantlint: noqa: TEN101",
            "# plain comment",
            "# noqa: -- why",
        ] {
            let mut noqa = Noqa::default();
            crate::frontend::python::parse_noqa_comment(comment, 1, &mut noqa);
            let d = find_directive(comment);
            match (&noqa.lines[..], &d) {
                ([], None) => {}
                ([(_, codes)], Some(d)) => {
                    let mine: Vec<String> = d.codes.iter().map(|(c, _)| c.clone()).collect();
                    assert_eq!(codes.clone().unwrap_or_default(), mine, "{comment}");
                    for (c, r) in &d.codes {
                        assert!(comment[r.clone()].eq_ignore_ascii_case(c), "{comment}");
                    }
                    assert_eq!(&comment[d.start..d.start + 1], "#", "{comment}");
                }
                other => panic!("{comment}: {other:?}"),
            }
        }
        let d = find_directive("# type: ignore  # noqa: E501, TEN301  # legacy").unwrap();
        assert_eq!(d.start, 16);
        assert_eq!(
            &"# type: ignore  # noqa: E501, TEN301  # legacy"[d.start..d.end],
            "# noqa: E501, TEN301"
        );
    }
}
