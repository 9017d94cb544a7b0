//! Engine diagnostics as LSP diagnostics: code, a link to the rule page, related information from
//! the places that caused the finding, tags, ranges in the negotiated position encoding.

use std::path::{Path, PathBuf};

use lsp_types::{
    CodeDescription, DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag, Location,
    NumberOrString, Url,
};
use rustc_hash::FxHashMap as HashMap;

use super::position::{Encoding, Lines};
use crate::diagnostics::Diagnostic;

pub const SOURCE: &str = "tenantlint";

type Reader<'a> = Box<dyn Fn(&Path) -> Option<String> + 'a>;

/// Texts of the other files related locations point into, read once per round.
pub struct OtherFiles<'a> {
    read: Reader<'a>,
    texts: HashMap<PathBuf, Option<String>>,
}

impl<'a> OtherFiles<'a> {
    pub fn new(read: impl Fn(&Path) -> Option<String> + 'a) -> OtherFiles<'a> {
        OtherFiles {
            read: Box::new(read),
            texts: HashMap::default(),
        }
    }

    fn range(&mut self, path: &Path, span: crate::locate::Span, enc: Encoding) -> lsp_types::Range {
        let text = self
            .texts
            .entry(path.to_path_buf())
            .or_insert_with(|| (self.read)(path));
        match text {
            Some(t) => Lines::new(t).range(span, enc),
            None => lsp_types::Range::default(),
        }
    }
}

/// One diagnostic of the file whose text is `lines`.
pub fn to_lsp(
    d: &Diagnostic,
    lines: &Lines,
    enc: Encoding,
    others: &mut OtherFiles,
) -> lsp_types::Diagnostic {
    let related: Vec<DiagnosticRelatedInformation> = d
        .related
        .iter()
        .filter_map(|r| {
            let uri = Url::from_file_path(&r.path).ok()?;
            let range = if r.path == d.path {
                lines.range(r.span, enc)
            } else {
                others.range(&r.path, r.span, enc)
            };
            Some(DiagnosticRelatedInformation {
                location: Location { uri, range },
                message: r.message.clone(),
            })
        })
        .collect();
    let mut message = d.message.clone();
    if d.fix.is_none()
        && let Some(help) = &d.help
    {
        message.push_str("\nhelp: ");
        message.push_str(help);
    }
    let severity = if d.rule.is_file_error() {
        DiagnosticSeverity::ERROR
    } else {
        DiagnosticSeverity::WARNING
    };
    // TEN303: a cache setting Django ignores is dead configuration.
    let tags = (d.rule.code() == "TEN303").then(|| vec![DiagnosticTag::UNNECESSARY]);
    lsp_types::Diagnostic {
        range: lines.range(d.span, enc),
        severity: Some(severity),
        code: Some(NumberOrString::String(d.rule.code().to_string())),
        code_description: d
            .rule
            .url()
            .and_then(|u| Url::parse(&u).ok())
            .map(|href| CodeDescription { href }),
        source: Some(SOURCE.to_string()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags,
        data: None,
    }
}
