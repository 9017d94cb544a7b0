//! `gitlab`: a GitLab Code Quality report (a subset of the Code Climate format): one JSON array of
//! issues, each with `description`, `check_name`, `fingerprint`, `severity` and `location`.
//!
//! GitLab compares the fingerprints of the merge request's report with the target branch's to
//! tell new findings from old ones, so a fingerprint must not change when unrelated lines are
//! added above a finding. It is therefore built from what the finding *is* (file, rule, message
//! and the text of the line it starts on, whitespace-trimmed) and never from row numbers; an
//! occurrence counter tells apart identical findings on identical lines of one file.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::Report;
use crate::diagnostics::Diagnostic;

/// FNV-1a, 64 bits: small, stable across platforms and releases (unlike `DefaultHasher`).
pub struct Fnv1a64(u64);

impl Fnv1a64 {
    pub fn new() -> Self {
        Fnv1a64(0xcbf2_9ce4_8422_2325)
    }

    pub fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }

    /// Hash one field, followed by a separator that cannot occur in text, so that
    /// `("ab", "c")` and `("a", "bc")` differ.
    pub fn field(&mut self, s: &str) {
        self.write(s.as_bytes());
        self.write(&[0xff]);
    }

    pub fn finish(&self) -> u64 {
        self.0
    }
}

impl Default for Fnv1a64 {
    fn default() -> Self {
        Self::new()
    }
}

/// The stripped text of the line a diagnostic starts on ("" when the file cannot be read).
pub fn line_text<'s>(source: Option<&'s str>, d: &Diagnostic) -> &'s str {
    let Some(src) = source else { return "" };
    let start = (d.span.start as usize).min(src.len());
    let start = (0..=start)
        .rev()
        .find(|&i| src.is_char_boundary(i))
        .unwrap_or(0);
    let line_start = src[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = src[start..].find('\n').map_or(src.len(), |i| start + i);
    src[line_start..line_end].trim()
}

/// One fingerprint per diagnostic, in order: 32 hex digits, unique within the report, and
/// unchanged by line shifts and by re-runs. Paths are shown as in the report.
pub fn fingerprints(report: &Report) -> Vec<String> {
    fingerprints_with(
        report.diagnostics,
        |p| report.source(p),
        |p| report.display_path(p),
    )
}

/// The line-independent fingerprints of `diags` (sorted as reported): built from the file's
/// path as `path_of` shows it, the rule's code, the message and the trimmed text of the line the
/// diagnostic starts on (read with `source_of`), plus an occurrence number that tells apart
/// identical findings on identical lines of one file (so two of them need two baseline entries).
/// Shared by the GitLab report and the baseline (`crate::baseline`).
pub fn fingerprints_with(
    diags: &[Diagnostic],
    mut source_of: impl FnMut(&Path) -> Option<String>,
    mut path_of: impl FnMut(&Path) -> String,
) -> Vec<String> {
    let mut out = Vec::with_capacity(diags.len());
    let mut seen: HashSet<String> = HashSet::new();
    let mut occurrences: HashMap<(String, &str, &str, String), u32> = HashMap::new();
    let mut cached: Option<(PathBuf, Option<String>)> = None;
    for d in diags {
        if cached.as_ref().is_none_or(|(p, _)| *p != d.path) {
            cached = Some((d.path.clone(), source_of(&d.path)));
        }
        let source = cached.as_ref().and_then(|(_, s)| s.as_deref());
        let path = path_of(&d.path);
        let line = line_text(source, d).to_string();
        let n = occurrences
            .entry((
                path.clone(),
                d.rule.code(),
                d.message.as_str(),
                line.clone(),
            ))
            .or_insert(0);
        let mut occurrence = *n;
        *n += 1;
        loop {
            let fp = fingerprint(&path, d.rule.code(), &d.message, &line, occurrence);
            if seen.insert(fp.clone()) {
                out.push(fp);
                break;
            }
            // A hash collision within one report: take the next occurrence number instead.
            occurrence += 1;
        }
    }
    out
}

/// One fingerprint: two independent 64-bit FNV-1a hashes (different field order), 32 hex digits.
pub fn fingerprint(path: &str, code: &str, message: &str, line: &str, occurrence: u32) -> String {
    let mut a = Fnv1a64::new();
    let mut b = Fnv1a64::new();
    for (h, parts) in [
        (&mut a, [path, code, message, line]),
        (&mut b, [line, message, code, path]),
    ] {
        h.field("tenantlint");
        for p in parts {
            h.field(p);
        }
        h.field(&occurrence.to_string());
    }
    format!("{:016x}{:016x}", a.finish(), b.finish())
}

pub fn write_gitlab(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    let fps = fingerprints(report);
    let issues: Vec<Value> = report
        .diagnostics
        .iter()
        .zip(fps)
        .map(|(d, fingerprint)| {
            let begin = d.start_pos.row.max(1);
            let end = d.end_pos.row.max(begin);
            json!({
                "type": "issue",
                "check_name": d.rule.code(),
                "description": format!("{}: {}", d.rule.code(), d.message),
                "categories": ["Security"],
                "severity": "major",
                "fingerprint": fingerprint,
                "location": {
                    "path": report.display_path(&d.path),
                    "lines": {"begin": begin, "end": end},
                },
            })
        })
        .collect();
    serde_json::to_writer_pretty(&mut *w, &issues)?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a64_matches_reference_values() {
        // Reference vectors from the FNV specification.
        let h = |s: &str| {
            let mut f = Fnv1a64::new();
            f.write(s.as_bytes());
            f.finish()
        };
        assert_eq!(h(""), 0xcbf29ce484222325);
        assert_eq!(h("a"), 0xaf63dc4c8601ec8c);
        assert_eq!(h("foobar"), 0x85944171f73967e8);
    }
}
