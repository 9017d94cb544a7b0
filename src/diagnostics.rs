//! Diagnostics and fixes, as the rules produce them. Everything here is in byte ranges; the
//! engine fills in rows and columns (from the file's text) when the result is shown.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::locate::{Pos, Span};
use crate::registry::Rule;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Edit {
    pub span: Span,
    pub content: String,
    /// Filled in by the engine from the file's text.
    pub start_pos: Pos,
    pub end_pos: Pos,
}

impl Edit {
    pub fn new(span: Span, content: impl Into<String>) -> Edit {
        Edit {
            span,
            content: content.into(),
            start_pos: Pos::default(),
            end_pos: Pos::default(),
        }
    }
}

impl PartialEq for Edit {
    fn eq(&self, other: &Self) -> bool {
        self.span == other.span && self.content == other.content
    }
}

impl Eq for Edit {}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Fix {
    pub applicability: Applicability,
    pub message: String,
    /// Empty until the engine computes the fix from the file's source ([`Fix::resolved`]).
    pub edits: Vec<Edit>,
    /// The edits were computed from the source (not only the fix's availability from the facts).
    pub resolved: bool,
}

impl Fix {
    pub fn new(applicability: Applicability, message: impl Into<String>, edits: Vec<Edit>) -> Fix {
        let resolved = !edits.is_empty();
        Fix {
            applicability,
            message: message.into(),
            edits,
            resolved,
        }
    }
}

/// A place that contributed to a diagnostic: the model's class, its manager's declaration, the
/// cache setting... A change there can make the diagnostic appear or disappear.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Related {
    pub path: PathBuf,
    pub span: Span,
    pub message: String,
    /// Filled in by the engine from the file's text.
    pub start_pos: Pos,
    pub end_pos: Pos,
}

impl Related {
    pub fn new(path: PathBuf, span: Span, message: impl Into<String>) -> Related {
        Related {
            path,
            span,
            message: message.into(),
            start_pos: Pos::default(),
            end_pos: Pos::default(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Diagnostic {
    pub rule: Rule,
    pub message: String,
    /// Absolute path of the file.
    pub path: PathBuf,
    pub span: Span,
    /// Filled in by the engine from the file's text.
    pub start_pos: Pos,
    pub end_pos: Pos,
    pub fix: Option<Fix>,
    /// What to do when there is no automatic fix.
    pub help: Option<String>,
    /// The places that caused it, besides the diagnostic's own span.
    pub related: Vec<Related>,
    /// Another finding that causes this one, and whose fix removes it: a TEN201 through the
    /// unscoped default manager of a model with a TEN101/TEN102, a TEN301 on a cache whose
    /// `KEY_FUNCTION` a TEN303 says is ignored. By convention the message of the [`Related`]
    /// starts with that finding's code and a colon (`"TEN101: model `Payment` ..."`);
    /// `--statistics` counts root causes by it.
    pub root_cause: Option<Related>,
}

impl Diagnostic {
    pub fn new(rule: Rule, message: impl Into<String>, path: PathBuf, span: Span) -> Self {
        Diagnostic {
            rule,
            message: message.into(),
            path,
            span,
            start_pos: Pos::default(),
            end_pos: Pos::default(),
            fix: None,
            help: None,
            related: Vec::new(),
            root_cause: None,
        }
    }

    pub fn with_root_cause(mut self, root_cause: Option<Related>) -> Self {
        self.root_cause = root_cause;
        self
    }

    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }

    pub fn with_help(mut self, help: Option<String>) -> Self {
        self.help = help;
        self
    }

    pub fn with_related(mut self, related: impl IntoIterator<Item = Related>) -> Self {
        for r in related {
            // The diagnostic's own place is not a related location.
            if !(r.path == self.path && r.span == self.span) {
                self.related.push(r);
            }
        }
        self
    }

    /// The code of the finding that causes this one (see [`Diagnostic::root_cause`]).
    pub fn root_cause_code(&self) -> Option<&str> {
        let msg = &self.root_cause.as_ref()?.message;
        let (code, _) = msg.split_once(':')?;
        (code.len() > 3 && code.starts_with("TEN") && code[3..].bytes().all(|b| b.is_ascii_digit()))
            .then_some(code)
    }

    /// Sorted by file, then position (byte order is row-then-column order), then code.
    pub fn sort_key(&self) -> (&PathBuf, u32, &'static str, u32) {
        (&self.path, self.span.start, self.rule.code(), self.span.end)
    }
}
