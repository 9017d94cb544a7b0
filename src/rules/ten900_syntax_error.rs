//! TEN900 syntax-error: a file that does not parse, reported where the error is. A file with a
//! problem (TEN900 or TEN901) gets no other diagnostics: facts recovered from a file that does not
//! parse still feed the index, but are not trusted for diagnostics in that file.

use super::Context;
use crate::diagnostics::Diagnostic;
use crate::facts::FileProblem;
use crate::locate::Span;
use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN900",
    name: "syntax-error",
    summary: "A file that does not parse",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN900.md"),
};
pub const RULE: Rule = Rule(&META);

pub struct SyntaxError;

impl super::RuleCheck for SyntaxError {
    fn rule(&self) -> Rule {
        RULE
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Diagnostic>) {
        for problem in &ctx.facts.problems {
            if let FileProblem::Syntax { message, span } = problem {
                out.push(Diagnostic::new(
                    RULE,
                    format!("Syntax error: {message}"),
                    ctx.path().to_path_buf(),
                    *span,
                ));
            }
        }
        if !ctx.facts.problems.is_empty() {
            return;
        }
        let target = ctx.settings.target_version;
        for use_ in &ctx.facts.version_syntax {
            if use_.added > target {
                out.push(Diagnostic::new(
                    RULE,
                    format!("Syntax error: {}", use_.message(target)),
                    ctx.path().to_path_buf(),
                    use_.span,
                ));
            }
        }
    }
}

/// TEN901's check lives here, beside TEN900's: both report [`FileProblem`]s.
pub struct IoError;

impl super::RuleCheck for IoError {
    fn rule(&self) -> Rule {
        super::ten901_io_error::RULE
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Diagnostic>) {
        for problem in &ctx.facts.problems {
            if let FileProblem::Io(message) = problem {
                out.push(Diagnostic::new(
                    super::ten901_io_error::RULE,
                    format!("Cannot check file: {message}"),
                    ctx.path().to_path_buf(),
                    Span::default(),
                ));
            }
        }
    }
}
