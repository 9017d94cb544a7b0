//! Diagnostics and fixes, as the rules produce them.

use std::path::PathBuf;

use crate::locate::Span;
use crate::registry::Rule;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Applicability {
    /// Shown, never applied automatically.
    DisplayOnly,
    /// Applied with `--fix --unsafe-fixes`.
    Unsafe,
    /// Applied with `--fix`.
    Safe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
            Applicability::DisplayOnly => "display-only",
        }
    }
}

/// Replace `span` with `content` (an empty span inserts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Edit {
    pub span: Span,
    pub content: String,
}

#[derive(Clone, Debug)]
pub struct Fix {
    pub applicability: Applicability,
    pub message: String,
    pub edits: Vec<Edit>,
}

#[derive(Clone, Debug)]
pub struct Diagnostic {
    pub rule: Rule,
    pub message: String,
    /// Absolute path of the file.
    pub path: PathBuf,
    pub span: Span,
    pub fix: Option<Fix>,
    /// What to do when there is no automatic fix.
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(rule: Rule, message: impl Into<String>, path: PathBuf, span: Span) -> Self {
        Diagnostic {
            rule,
            message: message.into(),
            path,
            span,
            fix: None,
            help: None,
        }
    }

    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }

    pub fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn sort_key(&self) -> (&PathBuf, u32, u32, &'static str) {
        (
            &self.path,
            self.span.start_pos.row,
            self.span.start_pos.column,
            self.rule.code(),
        )
    }
}
