//! TEN900 syntax-error and TEN901 io-error: files that cannot be analysed.

use super::Context;
use crate::diagnostics::Diagnostic;
use crate::facts::FileProblem;
use crate::locate::Span;
use crate::registry::Rule;

pub fn check(ctx: &Context, out: &mut Vec<Diagnostic>, syntax: bool, io: bool) {
    for problem in &ctx.facts.problems {
        match problem {
            FileProblem::Syntax { message, span } if syntax => {
                out.push(Diagnostic::new(
                    Rule::SyntaxError,
                    format!("Syntax error: {message}"),
                    ctx.facts.path.clone(),
                    *span,
                ));
            }
            FileProblem::Io(message) if io => {
                let mut span = Span::default();
                span.start_pos.row = 1;
                span.start_pos.column = 1;
                span.end_pos = span.start_pos;
                out.push(Diagnostic::new(
                    Rule::IoError,
                    format!("Cannot check file: {message}"),
                    ctx.facts.path.clone(),
                    span,
                ));
            }
            _ => {}
        }
    }
}
