//! `full` (code frames, rendered by miette), `concise` (one line per diagnostic) and `grouped`
//! (by file, as ruff's).

use std::fmt;
use std::io::{self, Write};
use std::path::PathBuf;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceCode};

use super::Report;
use super::style::{self, Paint};
use crate::diagnostics::Diagnostic;
use crate::engine::fixloop::applies;

struct Frame {
    code: &'static str,
    message: String,
    label: String,
    help: Option<String>,
    source: Option<NamedSource<String>>,
    offset: usize,
    len: usize,
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Frame {}

impl miette::Diagnostic for Frame {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.source.as_ref()?;
        Some(Box::new(std::iter::once(LabeledSpan::new(
            Some(self.label.clone()),
            self.offset,
            self.len,
        ))))
    }
}

fn fix_note(d: &Diagnostic, unsafe_fixes: bool) -> Option<String> {
    let fix = d.fix.as_ref()?;
    if applies(fix.applicability, unsafe_fixes) {
        Some(format!("[*] {}", fix.message))
    } else {
        Some(format!(
            "(unsafe fix available with --unsafe-fixes) {}",
            fix.message
        ))
    }
}

pub fn write_full(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    let theme = if report.color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    let handler = GraphicalReportHandler::new_themed(theme)
        .with_context_lines(2)
        .with_width(120);
    let mut cached: Option<(PathBuf, Option<String>)> = None;
    for d in report.diagnostics {
        if cached.as_ref().is_none_or(|(p, _)| *p != d.path) {
            cached = Some((d.path.clone(), report.source(&d.path)));
        }
        let text = cached.as_ref().and_then(|(_, t)| t.clone());
        let name = report.display_path(&d.path);
        let header = format!(
            "{}:{}:{}: {}",
            name, d.start_pos.row, d.start_pos.column, d.message
        );
        let mut help = d.help.clone();
        if let Some(note) = fix_note(d, report.unsafe_fixes) {
            help = Some(match help {
                Some(h) => format!("{h}\n{note}"),
                None => note,
            });
        }
        let (source, offset, len) = match text {
            Some(t) if (d.span.end as usize) <= t.len() && d.rule.code() != "TEN901" => (
                Some(NamedSource::new(name.clone(), t)),
                d.span.start as usize,
                (d.span.end - d.span.start) as usize,
            ),
            _ => (None, 0, 0),
        };
        let frame = Frame {
            code: d.rule.code(),
            message: header,
            label: d.rule.name().to_string(),
            help,
            source,
            offset,
            len,
        };
        let mut out = String::new();
        if handler.render_report(&mut out, &frame).is_err() {
            out = format!("{}\n", frame.message);
        }
        w.write_all(out.as_bytes())?;
        if let Some(r) = &d.root_cause {
            writeln!(
                w,
                "  root cause: {}:{}:{}: {}",
                report.display_path(&r.path),
                r.start_pos.row,
                r.start_pos.column,
                r.message
            )?;
        }
        // What caused it, elsewhere: a change there can make it appear or go away.
        for r in &d.related {
            writeln!(
                w,
                "  related: {}:{}:{}: {}",
                report.display_path(&r.path),
                r.start_pos.row,
                r.start_pos.column,
                r.message
            )?;
        }
        writeln!(w)?;
    }
    Ok(())
}

/// `[*] ` for a finding `--fix` would fix (with `--unsafe-fixes`: unsafe ones too), painted.
fn fix_mark(d: &Diagnostic, report: &Report, paint: Paint) -> String {
    let fixable = d
        .fix
        .as_ref()
        .is_some_and(|f| applies(f.applicability, report.unsafe_fixes));
    if fixable {
        format!("{} ", paint.paint("[*]", style::FIXABLE))
    } else {
        String::new()
    }
}

pub fn write_concise(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    let paint = Paint(report.color);
    let sep = paint.paint(":", style::SEP);
    for d in report.diagnostics {
        writeln!(
            w,
            "{}{sep}{}{sep}{}{sep} {} {}{}",
            paint.paint(report.display_path(&d.path), style::PATH),
            d.start_pos.row,
            d.start_pos.column,
            paint.paint(d.rule.code(), style::CODE),
            fix_mark(d, report, paint),
            d.message
        )?;
    }
    Ok(())
}

/// `grouped`, as ruff's: the file's path on a line of its own, then one indented line per
/// diagnostic (`row:col CODE [*] message`, rows and columns aligned within the file), and a blank
/// line after each file.
pub fn write_grouped(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    let paint = Paint(report.color);
    let sep = paint.paint(":", style::SEP);
    for group in report.diagnostics.chunk_by(|a, b| a.path == b.path) {
        writeln!(
            w,
            "{}{sep}",
            paint.paint(report.display_path(&group[0].path), style::PATH)
        )?;
        let row_w = group
            .iter()
            .map(|d| d.start_pos.row.to_string().len())
            .max()
            .unwrap_or(1);
        let col_w = group
            .iter()
            .map(|d| d.start_pos.column.to_string().len())
            .max()
            .unwrap_or(1);
        for d in group {
            writeln!(
                w,
                "  {:>row_w$}{sep}{:<col_w$} {} {}{}",
                d.start_pos.row,
                d.start_pos.column,
                paint.paint(d.rule.code(), style::CODE),
                fix_mark(d, report, paint),
                d.message
            )?;
        }
        writeln!(w)?;
    }
    Ok(())
}
