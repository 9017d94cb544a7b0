//! Unified diffs that `patch` and `git apply` accept for any line endings.
//!
//! Both tools split a file into lines at `\n` only: a CR-only file is one long line to them, and
//! a `\r` before a `\n` is part of the line. The diff must split the same way (a diff library
//! that also breaks lines at a lone `\r` produces hunks those tools cannot apply), and every
//! line is printed with its own ending, so CRLF, CR and mixed files round-trip exactly.

use std::fmt::Write;

use similar::{Algorithm, DiffOp, capture_diff_slices, group_diff_ops, udiff::UnifiedHunkHeader};

/// Lines as `patch` sees them: split after each `\n`, each keeping its terminator; the last
/// one has none when the text does not end with `\n`.
fn patch_lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The unified diff from `old` to `new` with `context` lines of context and the given header
/// names; empty when the texts are equal.
pub fn unified_diff(
    old: &str,
    new: &str,
    old_name: &str,
    new_name: &str,
    context: usize,
) -> String {
    let a = patch_lines(old);
    let b = patch_lines(new);
    let ops = consistent(capture_diff_slices(Algorithm::Myers, &a, &b));
    let mut out = String::new();
    for group in group_diff_ops(ops, context) {
        if group.is_empty() {
            continue;
        }
        if out.is_empty() {
            let _ = writeln!(out, "--- {old_name}");
            let _ = writeln!(out, "+++ {new_name}");
        }
        let _ = writeln!(out, "{}", UnifiedHunkHeader::new(&group));
        for op in &group {
            let (old_range, new_range) = (op.old_range(), op.new_range());
            match op {
                DiffOp::Equal { .. } => emit(&mut out, ' ', &a[old_range]),
                DiffOp::Delete { .. } => emit(&mut out, '-', &a[old_range]),
                DiffOp::Insert { .. } => emit(&mut out, '+', &b[new_range]),
                DiffOp::Replace { .. } => {
                    emit(&mut out, '-', &a[old_range]);
                    emit(&mut out, '+', &b[new_range]);
                }
            }
        }
    }
    out
}

/// The ops with the positions of deletions in the new text and of insertions in the old text
/// recomputed from the ops before them: `similar`'s Myers can give a deletion at the start a
/// `new_index` past the lines inserted after it (`Delete { old_index: 0, new_index: 2 }` before
/// an `Insert` of two lines), and the hunk header, which is taken from the first op, then names
/// the wrong line: `patch` rejects the diff as malformed.
pub(crate) fn consistent(ops: Vec<DiffOp>) -> Vec<DiffOp> {
    let (mut old_at, mut new_at) = (0, 0);
    ops.into_iter()
        .map(|op| {
            let op = match op {
                DiffOp::Delete {
                    old_index, old_len, ..
                } => DiffOp::Delete {
                    old_index,
                    old_len,
                    new_index: new_at,
                },
                DiffOp::Insert {
                    new_index, new_len, ..
                } => DiffOp::Insert {
                    old_index: old_at,
                    new_index,
                    new_len,
                },
                op => op,
            };
            old_at = op.old_range().end;
            new_at = op.new_range().end;
            op
        })
        .collect()
}

fn emit(out: &mut String, sign: char, lines: &[&str]) {
    for line in lines {
        out.push(sign);
        out.push_str(line);
        if !line.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cr_only_text_is_one_line_to_patch() {
        let d = unified_diff("a\rb\r", "a\rc\r", "a/f", "b/f", 3);
        assert_eq!(
            d,
            "--- a/f\n+++ b/f\n@@ -1 +1 @@\n-a\rb\r\n\\ No newline at end of file\n\
             +a\rc\r\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn crlf_lines_keep_their_cr_and_context_is_three_lines() {
        let old = "1\r\n2\r\n3\r\n4\r\n5\r\n6\r\n";
        let new = "1\r\n2\r\n3\r\n4\r\nX\r\n6\r\n";
        let d = unified_diff(old, new, "a/f", "b/f", 3);
        assert_eq!(
            d,
            "--- a/f\n+++ b/f\n@@ -2,5 +2,5 @@\n 2\r\n 3\r\n 4\r\n-5\r\n+X\r\n 6\r\n"
        );
    }

    #[test]
    fn equal_texts_give_no_diff_and_a_missing_final_newline_is_marked() {
        assert_eq!(unified_diff("a\n", "a\n", "x", "y", 3), "");
        assert_eq!(
            unified_diff("a", "b\na", "x", "y", 3),
            "--- x\n+++ y\n@@ -1 +1,2 @@\n+b\n a\n\\ No newline at end of file\n"
        );
    }

    /// Apply a diff made by [`unified_diff`] to `old` the way `patch` does: every hunk at the
    /// line its header names, its context and removed lines checked against the text.
    fn apply(old: &str, diff: &str) -> String {
        let old_lines = patch_lines(old);
        let mut out = String::new();
        let mut at = 0; // next old line to copy
        let mut lines = diff.split_inclusive('\n').skip(2).peekable();
        while let Some(header) = lines.next() {
            let header = header.trim_end();
            let range = |part: &str| -> (usize, usize) {
                let part = part.trim_start_matches(['-', '+']);
                let start: usize = part.split(',').next().unwrap().parse().unwrap();
                let count: usize = part.split(',').nth(1).map_or(1, |c| c.parse().unwrap());
                (if count == 0 { start } else { start - 1 }, count)
            };
            let (start, old_count) = range(header.split(' ').nth(1).unwrap());
            let (new_start, new_count) = range(header.split(' ').nth(2).unwrap());
            for l in &old_lines[at..start] {
                out.push_str(l);
            }
            at = start;
            assert_eq!(out.split_inclusive('\n').count(), new_start, "{header}");
            let (old_before, new_before) = (at, new_start);
            while let Some(l) = lines.peek().copied() {
                if l.starts_with("@@") {
                    break;
                }
                lines.next();
                let mut text = l[1..].to_string();
                if lines.peek().is_some_and(|n| n.starts_with('\\')) {
                    lines.next();
                    text.pop();
                }
                match &l[..1] {
                    " " => {
                        assert_eq!(old_lines[at], text, "context at old line {}", at + 1);
                        out.push_str(&text);
                        at += 1;
                    }
                    "-" => {
                        assert_eq!(old_lines[at], text, "removed line at old line {}", at + 1);
                        at += 1;
                    }
                    "+" => out.push_str(&text),
                    other => panic!("unexpected diff line {other:?}"),
                }
            }
            assert_eq!(at - old_before, old_count, "{header}");
            assert_eq!(
                out.split_inclusive('\n').count() - new_before,
                new_count,
                "{header}"
            );
        }
        for l in &old_lines[at..] {
            out.push_str(l);
        }
        out
    }

    /// A deletion at the top before inserted lines (found by the on-disk fuzz target, seed
    /// 3620631691051021348: `patch` called the diff malformed).
    #[test]
    fn a_deletion_before_insertions_gets_the_right_hunk_header() {
        let old = "import django.core.cache as djc\n\n\nfrom django.core import cache as cache_module\ndef a():\n    return djc.cache.get(\"feature-flags\")\n\n\ndef b(flags):\n    cache_module.cache.set(\"feature-flags\", flags)\n";
        let new = "\nfrom tenancy.cache import tenant_cache\n\n\ndef a():\n    return tenant_cache.get(\"feature-flags\")\n\n\ndef b(flags):\n    tenant_cache.set(\"feature-flags\", flags)\n";
        let d = unified_diff(old, new, "a/f", "b/f", 3);
        assert!(d.contains("@@ -1,10 +1,10 @@"), "{d}");
        assert_eq!(apply(old, &d), new);
    }

    /// Every diff applies: random line edits of random texts.
    #[test]
    fn diffs_apply_to_what_they_were_made_from() {
        let mut next = crate::test_rng(0x1234_5678_9abc_def1_u64);
        const LINES: &[&str] = &["a\n", "b\n", "\n", "c\r\n", "d", "import x\n", "\n", "e\r"];
        for _ in 0..3_000 {
            let old: String = (0..next(14)).map(|_| LINES[next(LINES.len())]).collect();
            let new: String = (0..next(14)).map(|_| LINES[next(LINES.len())]).collect();
            let d = unified_diff(&old, &new, "a/f", "b/f", next(4));
            assert_eq!(apply(&old, &d), new, "{old:?} -> {new:?}\n{d}");
        }
    }
}
