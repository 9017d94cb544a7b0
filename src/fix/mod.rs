//! Fixes as pure text operations: apply non-overlapping edits and write a file safely
//! ([`write`]). Whether a fixed text still parses is read from its facts, which the engine's fix
//! loop extracts anyway (`FileFacts::has_syntax_error`). The check/fix loop that drives them is `crate::engine::fixloop`; the
//! edits themselves are computed by the rules.

pub mod diff;
pub mod write;

use crate::diagnostics::{Edit, Fix};

/// Apply a set of fixes to `source`. Fixes are taken in order of their first edit; a fix that
/// overlaps an already applied one is skipped (it is retried in the next round). Identical edits
/// (two fixes adding the same import) are applied once. Returns the new text and the fixes applied.
pub fn apply_fixes<'a>(source: &str, fixes: &[&'a Fix]) -> (String, Vec<&'a Fix>) {
    let mut order: Vec<&Fix> = fixes.to_vec();
    order.sort_by_key(|f| {
        f.edits
            .iter()
            .map(|e| (e.span.start, e.span.end))
            .min()
            .unwrap_or((u32::MAX, u32::MAX))
    });
    let mut chosen: Vec<Edit> = Vec::new();
    let mut applied = Vec::new();
    'fixes: for fix in order {
        let mut new_edits = Vec::new();
        for e in &fix.edits {
            if chosen.contains(e) || new_edits.contains(e) {
                continue;
            }
            let overlaps = chosen
                .iter()
                .chain(new_edits.iter())
                .any(|c: &Edit| overlap(c, e));
            if overlaps {
                continue 'fixes;
            }
            new_edits.push(e.clone());
        }
        chosen.extend(new_edits);
        applied.push(fix);
    }
    // Stable order: by position; insertions at the same point keep their order of arrival.
    let mut indexed: Vec<(usize, &Edit)> = chosen.iter().enumerate().collect();
    indexed.sort_by_key(|(i, e)| (e.span.start, e.span.end, *i));
    let mut out = String::with_capacity(source.len() + 256);
    let mut last = 0usize;
    for (_, e) in indexed {
        let (s, t) = (e.span.start as usize, e.span.end as usize);
        if s < last
            || t > source.len()
            || !source.is_char_boundary(s)
            || !source.is_char_boundary(t)
        {
            continue;
        }
        out.push_str(&source[last..s]);
        out.push_str(&e.content);
        last = t;
    }
    out.push_str(&source[last..]);
    (out, applied)
}

fn overlap(a: &Edit, b: &Edit) -> bool {
    let (a0, a1, b0, b1) = (a.span.start, a.span.end, b.span.start, b.span.end);
    if a0 == a1 && b0 == b1 {
        return false;
    }
    if a0 == a1 {
        return b0 < a0 && a0 < b1;
    }
    if b0 == b1 {
        return a0 < b0 && b0 < a1;
    }
    a0 < b1 && b0 < a1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::Applicability;
    use crate::locate::Span;

    fn edit(start: u32, end: u32, content: &str) -> Edit {
        Edit::new(Span::new(start, end), content)
    }

    fn fix(edits: Vec<Edit>) -> Fix {
        Fix::new(Applicability::Safe, "test", edits)
    }

    #[test]
    fn a_fix_that_breaks_the_file_is_caught() {
        let source = "class A:\n    pass\n";
        let (out, _) = apply_fixes(source, &[&fix(vec![edit(7, 8, "")])]); // drops the colon
        assert!(
            crate::frontend::python::extract_source(&out).has_syntax_error(),
            "a fix producing invalid syntax must be caught"
        );
        let good = fix(vec![edit(9, 9, "    x = 1\n")]);
        let (out, applied) = apply_fixes(source, &[&good]);
        assert_eq!(out, "class A:\n    x = 1\n    pass\n");
        assert_eq!(applied.len(), 1);
        assert!(!crate::frontend::python::extract_source(&out).has_syntax_error());
    }

    #[test]
    fn overlapping_fixes_are_deferred_and_identical_edits_deduplicated() {
        let source = "abcdef";
        let import = edit(0, 0, "I");
        let a = fix(vec![edit(1, 3, "X"), import.clone()]);
        let b = fix(vec![edit(2, 4, "Y")]);
        let c = fix(vec![edit(4, 5, "Z"), import]);
        let (out, applied) = apply_fixes(source, &[&a, &b, &c]);
        assert_eq!(out, "IaXdZf");
        assert_eq!(
            applied.len(),
            2,
            "the overlapping fix waits for the next round"
        );
    }
}
