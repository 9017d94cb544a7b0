//! `junit`: JUnit XML, for CI systems that show test reports (GitLab, Jenkins, Azure DevOps…).
//!
//! One `<testsuite>` per file with diagnostics, one failing `<testcase>` per diagnostic (named
//! `CODE at row:col`, `classname` the file). When the report knows which files were checked, each
//! clean file gets a suite with one passing testcase; a run with nothing to report at all still
//! writes one passing testcase, because some consumers reject a report without tests.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

use super::Report;
use crate::diagnostics::Diagnostic;
use crate::engine::fixloop::applies;

/// Escape text for an XML attribute value or element content (XML 1.0). Characters XML 1.0
/// cannot carry at all (most C0 controls) become U+FFFD; line breaks and tabs in attributes are
/// written as character references so that attribute normalisation keeps them.
pub fn escape_xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\r' => out.push_str("&#13;"),
            '\t' => out.push_str("&#9;"),
            '\u{0}'..='\u{8}'
            | '\u{B}'
            | '\u{C}'
            | '\u{E}'..='\u{1F}'
            | '\u{FFFE}'
            | '\u{FFFF}' => out.push('\u{FFFD}'),
            _ => out.push(c),
        }
    }
    out
}

fn failure_text(report: &Report, path: &str, d: &Diagnostic) -> String {
    let mut text = format!(
        "{}:{}:{}: {} {}",
        path,
        d.start_pos.row,
        d.start_pos.column,
        d.rule.code(),
        d.message
    );
    if let Some(help) = &d.help {
        let _ = write!(text, "\nhelp: {help}");
    }
    if let Some(fix) = &d.fix {
        if applies(fix.applicability, report.unsafe_fixes) {
            let _ = write!(text, "\nfix (--fix): {}", fix.message);
        } else {
            let _ = write!(text, "\nfix (--fix --unsafe-fixes): {}", fix.message);
        }
    }
    text
}

pub fn write_junit(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    // One suite per file, in path order: the diagnostics of a file (already sorted), or none for
    // a clean file that was checked.
    let mut suites: BTreeMap<String, Vec<&Diagnostic>> = BTreeMap::new();
    for d in report.diagnostics {
        suites
            .entry(report.display_path(&d.path))
            .or_default()
            .push(d);
    }
    for f in report.files {
        suites.entry(report.display_path(f)).or_default();
    }

    let failures = report.diagnostics.len();
    let clean = suites.values().filter(|ds| ds.is_empty()).count();
    let placeholder = failures + clean == 0;
    let tests = if placeholder { 1 } else { failures + clean };

    let mut out = String::new();
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"tenantlint\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\">"
    );
    for (path, ds) in &suites {
        let p = escape_xml(path);
        let n = ds.len().max(1);
        let _ = writeln!(
            out,
            "  <testsuite name=\"{p}\" tests=\"{n}\" failures=\"{}\" errors=\"0\" skipped=\"0\">",
            ds.len()
        );
        if ds.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase name=\"tenantlint\" classname=\"{p}\" file=\"{p}\"/>"
            );
        }
        for d in ds {
            let _ = writeln!(
                out,
                "    <testcase name=\"{} at {}:{}\" classname=\"{p}\" file=\"{p}\" line=\"{}\">",
                d.rule.code(),
                d.start_pos.row,
                d.start_pos.column,
                d.start_pos.row
            );
            let _ = writeln!(
                out,
                "      <failure message=\"{}\" type=\"{}\">{}</failure>",
                escape_xml(&d.message),
                d.rule.code(),
                escape_xml(&failure_text(report, path, d))
            );
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    if placeholder {
        out.push_str(
            "  <testsuite name=\"tenantlint\" tests=\"1\" failures=\"0\" errors=\"0\" skipped=\"0\">\n",
        );
        out.push_str("    <testcase name=\"no diagnostics\" classname=\"tenantlint\"/>\n");
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    w.write_all(out.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_quotes_and_controls() {
        assert_eq!(
            escape_xml("a<b>&\"c'\n\u{1}"),
            "a&lt;b&gt;&amp;&quot;c&apos;&#10;\u{FFFD}"
        );
    }
}
