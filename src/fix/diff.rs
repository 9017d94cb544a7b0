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
    let ops = capture_diff_slices(Algorithm::Myers, &a, &b);
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
}
