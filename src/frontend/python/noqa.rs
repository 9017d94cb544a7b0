//! `# noqa` comments: which codes a line or a whole file suppresses.

use super::*;

/// Parse one comment for `# noqa[: CODES]` and `# tenantlint: noqa[: CODES]`.
pub fn parse_noqa_comment(text: &str, row: u32, noqa: &mut Noqa) {
    let lower = text.to_ascii_lowercase();
    // File-level directive.
    if let Some(rest) = lower.strip_prefix('#').map(str::trim_start)
        && let Some(rest) = rest.strip_prefix("tenantlint")
        && let Some(rest) = rest.trim_start().strip_prefix(':')
        && let Some(rest) = rest.trim_start().strip_prefix("noqa")
    {
        let offset = text.len() - rest.len();
        let codes = parse_codes(&text[offset..]);
        noqa.file = Some(match (noqa.file.take(), codes) {
            (Some(None), _) | (_, None) => None,
            (Some(Some(mut a)), Some(b)) => {
                a.extend(b);
                Some(a)
            }
            (None, Some(b)) => Some(b),
        });
        return;
    }
    // Line-level directive: `# noqa` anywhere in the comment (`# type: ignore  # noqa: TEN101`),
    // found as `--add-noqa` and the editor's noqa action find it.
    if let Some(d) = crate::noqa::find_directive(text) {
        let codes = (!d.codes.is_empty()).then(|| d.codes.into_iter().map(|(c, _)| c).collect());
        noqa.lines.push((row, codes));
    }
}

/// After `noqa`: `: CODE, CODE` gives codes; anything else is a blanket directive.
pub(super) fn parse_codes(rest: &str) -> Option<Vec<String>> {
    let rest = rest.trim_start();
    let rest = rest.strip_prefix(':')?;
    let mut codes = Vec::new();
    for word in rest.split([',', ' ', '\t']).filter(|w| !w.is_empty()) {
        let valid = word.len() >= 2
            && word.chars().take_while(|c| c.is_ascii_alphabetic()).count() >= 1
            && word.chars().all(|c| c.is_ascii_alphanumeric());
        if valid {
            codes.push(word.to_ascii_uppercase());
        } else {
            break;
        }
    }
    if codes.is_empty() { None } else { Some(codes) }
}
