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
