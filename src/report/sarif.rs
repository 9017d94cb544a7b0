//! `sarif`: SARIF 2.1.0, the format GitHub code scanning and most security dashboards read.
//!
//! One run; the tool component lists the rules with results (code, name, summary, the page's
//! first paragraph, a link to the page as `helpUri`, `security-severity`, `precision` and the
//! `security` tag for the tenant-isolation rules); each result points at its rule by id and index, carries the diagnostic's region
//! and, where the diagnostic has one, its fix as replacements. Paths are relative URIs against
//! `%SRCROOT%`, which `originalUriBaseIds` maps to the current directory. Columns count Unicode
//! code points (`columnKind`), as everywhere in tenantlint.

use std::io::{self, Write};
use std::path::Path;

use serde_json::{Value, json};

use super::Report;
use crate::diagnostics::Diagnostic;
use crate::locate::Pos;
use crate::registry::Rule;

pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";

/// Percent-encode what may not appear literally in a URI path (RFC 3986: keep unreserved
/// characters, `/` and the sub-delimiters that are safe in a path segment).
fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'=' | b'@' => {
                out.push(b as char)
            }
            // `:` is allowed in a path, but not in the first segment of a relative reference.
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A `file://` URI for an absolute path (Windows drive paths become `file:///C:/...`).
fn file_uri(path: &Path, trailing_slash: bool) -> String {
    let s = path.to_string_lossy().replace('\\', "/");
    let mut encoded = String::new();
    let mut rest = s.as_str();
    // Keep a Windows drive letter's colon.
    if rest.len() >= 2 && rest.as_bytes()[1] == b':' && rest.as_bytes()[0].is_ascii_alphabetic() {
        encoded.push('/');
        encoded.push_str(&rest[..2]);
        rest = &rest[2..];
    }
    encoded.push_str(&encode_path(rest));
    if trailing_slash && !encoded.ends_with('/') {
        encoded.push('/');
    }
    format!("file://{encoded}")
}

fn artifact_location(report: &Report, path: &Path) -> Value {
    match path.strip_prefix(report.cwd) {
        Ok(rel) if !rel.as_os_str().is_empty() => json!({
            "uri": encode_path(&rel.to_string_lossy().replace('\\', "/")),
            "uriBaseId": SRCROOT,
        }),
        _ if path.is_absolute() => json!({"uri": file_uri(path, false)}),
        _ => {
            json!({"uri": encode_path(&path.to_string_lossy().replace('\\', "/")), "uriBaseId": SRCROOT})
        }
    }
}

fn region(start_pos: Pos, end_pos: Pos) -> Value {
    let start = Pos {
        row: start_pos.row.max(1),
        column: start_pos.column.max(1),
    };
    let end = if (end_pos.row, end_pos.column) < (start.row, start.column) {
        start
    } else {
        end_pos
    };
    json!({
        "startLine": start.row,
        "startColumn": start.column,
        "endLine": end.row,
        "endColumn": end.column.max(1),
    })
}

/// The first paragraph of a rule page that is not a heading, for `fullDescription`.
fn first_paragraph(doc: &str) -> Option<String> {
    let mut para: Vec<&str> = Vec::new();
    let mut in_code = false;
    for line in doc.lines() {
        let t = line.trim();
        if t.starts_with("```") {
            in_code = !in_code;
            if !para.is_empty() {
                break;
            }
            continue;
        }
        if in_code {
            continue;
        }
        if t.is_empty() || t.starts_with('#') {
            if !para.is_empty() {
                break;
            }
            continue;
        }
        para.push(t);
    }
    (!para.is_empty()).then(|| para.join(" "))
}

/// GitHub code scanning's `security-severity` (0.0 to 10.0; 7.0 and above is "high") for the
/// tenant-isolation rules: a finding is a possible cross-tenant data leak.
pub const SECURITY_SEVERITY: &str = "7.5";

/// A rule's descriptor: the page's first paragraph as `fullDescription`, and as help a link to
/// the page (`helpUri`), not the page itself: the pages are long, and embedding each one (twice)
/// in every report made the report mostly documentation. `tenantlint rule CODE` prints the page.
pub fn rule_descriptor(rule: Rule) -> Value {
    let doc = rule.doc();
    let full = first_paragraph(doc).unwrap_or_else(|| rule.summary().to_string());
    let url = rule.url();
    // The page's first paragraph is the `fullDescription`; the help only points at the page.
    let (text, markdown) = match &url {
        Some(u) => (
            format!("{u} (or `tenantlint rule {}`)", rule.code()),
            format!("[{}: {}]({u})", rule.code(), rule.name()),
        ),
        None => {
            let t = format!("`tenantlint rule {}`", rule.code());
            (t.clone(), t)
        }
    };
    let properties = if rule.is_security() {
        json!({
            "tags": ["security", "tenant-isolation"],
            "security-severity": SECURITY_SEVERITY,
            "precision": "high",
        })
    } else {
        json!({"tags": ["tenantlint"], "precision": "very-high"})
    };
    let mut d = json!({
        "id": rule.code(),
        "name": rule.name(),
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": full},
        "help": {"text": text, "markdown": markdown},
        "defaultConfiguration": {"level": "error"},
        "properties": properties,
    });
    if let Some(u) = url {
        d["helpUri"] = json!(u);
    }
    d
}

fn fix_json(report: &Report, d: &Diagnostic) -> Option<Value> {
    let fix = d.fix.as_ref()?;
    let replacements: Vec<Value> = fix
        .edits
        .iter()
        .map(|e| {
            json!({
                "deletedRegion": region(e.start_pos, e.end_pos),
                "insertedContent": {"text": e.content},
            })
        })
        .collect();
    Some(json!({
        "description": {"text": fix.message},
        "artifactChanges": [{
            "artifactLocation": artifact_location(report, &d.path),
            "replacements": replacements,
        }],
        "properties": {"applicability": fix.applicability.as_str()},
    }))
}

pub fn sarif_log(report: &Report) -> Value {
    let fingerprints = super::gitlab::fingerprints(report);
    // The rules with results, in code order (as ruff's SARIF): the report stays proportional to
    // what it reports. `tenantlint rule --all` lists the catalogue.
    let mut rules: Vec<Rule> = report.diagnostics.iter().map(|d| d.rule).collect();
    rules.sort();
    rules.dedup();
    let results: Vec<Value> = report
        .diagnostics
        .iter()
        .zip(fingerprints)
        .map(|(d, fp)| {
            let index = rules.iter().position(|&r| r == d.rule).unwrap_or(0);
            let mut result = json!({
                "ruleId": d.rule.code(),
                "ruleIndex": index,
                "level": "error",
                "message": {"text": d.message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": artifact_location(report, &d.path),
                        "region": region(d.start_pos, d.end_pos),
                    }
                }],
                "partialFingerprints": {"tenantlint/v1": fp},
            });
            if let Some(fix) = fix_json(report, d) {
                result["fixes"] = json!([fix]);
            }
            if !d.related.is_empty() || d.root_cause.is_some() {
                result["relatedLocations"] = d
                    .root_cause
                    .iter()
                    .map(|r| (format!("root cause: {}", r.message), r))
                    .chain(d.related.iter().map(|r| (r.message.clone(), r)))
                    .enumerate()
                    .map(|(i, (message, r))| {
                        json!({
                            "id": i,
                            "message": {"text": message},
                            "physicalLocation": {
                                "artifactLocation": artifact_location(report, &r.path),
                                "region": region(r.start_pos, r.end_pos),
                            },
                        })
                    })
                    .collect();
            }
            result
        })
        .collect();
    let mut driver = json!({
        "name": "tenantlint",
        "version": env!("CARGO_PKG_VERSION"),
        "semanticVersion": env!("CARGO_PKG_VERSION"),
        "rules": rules.iter().map(|&r| rule_descriptor(r)).collect::<Vec<_>>(),
    });
    let info = [env!("CARGO_PKG_HOMEPAGE"), env!("CARGO_PKG_REPOSITORY")]
        .into_iter()
        .find(|s| !s.is_empty());
    if let Some(uri) = info {
        driver["informationUri"] = json!(uri);
    }
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "originalUriBaseIds": {"%SRCROOT%": {"uri": file_uri(report.cwd, true)}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

/// Compact JSON on one line: SARIF is read by machines, and indentation made up a third of it.
pub fn write_sarif(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    serde_json::to_writer(&mut *w, &sarif_log(report))?;
    writeln!(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_encoded() {
        assert_eq!(encode_path("my app/views.py"), "my%20app/views.py");
        assert_eq!(encode_path("a/b%c#d?.py"), "a/b%25c%23d%3F.py");
        assert_eq!(encode_path("é.py"), "%C3%A9.py");
        assert_eq!(
            file_uri(Path::new("/srv/my app"), true),
            "file:///srv/my%20app/"
        );
        assert_eq!(
            file_uri(Path::new("C:\\src\\app"), true),
            "file:///C:/src/app/"
        );
    }

    #[test]
    fn first_paragraph_skips_headings_and_code() {
        let doc =
            "# TEN101: x\n\n## What it does\n\nFlags a model\nthat leaks.\n\n```python\nx\n```\n";
        assert_eq!(
            first_paragraph(doc).as_deref(),
            Some("Flags a model that leaks.")
        );
        assert_eq!(first_paragraph("# TEN101"), None);
    }
}
