//! `json` and `json-lines`: the contract's JSON objects.

use std::io::{self, Write};

use serde_json::{Value, json};

use super::Report;
use crate::diagnostics::Diagnostic;
use crate::locate::Pos;

fn loc(p: Pos) -> Value {
    json!({"row": p.row, "column": p.column})
}

pub fn diagnostic_json(report: &Report, d: &Diagnostic) -> Value {
    let fix = d.fix.as_ref().map(|f| {
        json!({
            "applicability": f.applicability.as_str(),
            "message": f.message,
            "edits": f.edits.iter().map(|e| json!({
                "content": e.content,
                "location": loc(e.start_pos),
                "end_location": loc(e.end_pos),
            })).collect::<Vec<_>>(),
        })
    });
    let mut v = json!({
        "code": d.rule.code(),
        "name": d.rule.name(),
        "message": d.message,
        "filename": report.display_path(&d.path),
        "location": loc(d.start_pos),
        "end_location": loc(d.end_pos),
        "fix": fix,
        "url": d.rule.url(),
        // The row where a `# noqa` suppresses it (none for unreadable or unparsable files).
        "noqa_row": (!d.rule.is_file_error() && !d.rule.is_config()).then_some(d.start_pos.row),
        "severity": "error",
    });
    // Only when there is one, so the contract's objects are unchanged otherwise.
    if let Some(r) = &d.root_cause {
        v["root_cause"] = json!({
            "message": r.message,
            "filename": report.display_path(&r.path),
            "location": loc(r.start_pos),
            "end_location": loc(r.end_pos),
        });
    }
    v
}

pub fn write_json(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    let all: Vec<Value> = report
        .diagnostics
        .iter()
        .map(|d| diagnostic_json(report, d))
        .collect();
    serde_json::to_writer_pretty(&mut *w, &all)?;
    writeln!(w)
}

pub fn write_json_lines(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    for d in report.diagnostics {
        serde_json::to_writer(&mut *w, &diagnostic_json(report, d))?;
        writeln!(w)?;
    }
    Ok(())
}
