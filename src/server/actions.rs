//! Code actions: each fix of the diagnostics under the cursor (safe and unsafe, the unsafe ones
//! labelled), "Disable TENxxx for this line" (a `# noqa: TENxxx` appended or merged), and
//! `source.fixAll.tenantlint` (every safe fix, as `check --fix` would apply them). Every edit comes
//! from the engine (`Workspace::resolve_fixes`, the fix loop); nothing here knows a rule.

use std::collections::HashMap;

use lsp_types::{
    CodeAction, CodeActionKind, CodeActionOrCommand, CodeActionParams, DocumentChanges, OneOf,
    OptionalVersionedTextDocumentIdentifier, TextDocumentEdit, TextEdit, Url, WorkspaceEdit,
};
use ruff_python_ast::token::TokenKind;
use ruff_python_parser::{Mode, ParseOptions, parse_unchecked};
use ruff_text_size::Ranged;

use super::position::{Encoding, Lines};
use super::{FIX_ALL_KIND, Server, log};
use crate::diagnostics::{Applicability, Diagnostic};
use crate::engine::fixloop;
use crate::locate::Span;

/// Does a request for `requested` kinds (absent: all) want actions of `kind`? Kinds are
/// hierarchical: `source` covers `source.fixAll.tenantlint`.
fn wants(requested: Option<&[CodeActionKind]>, kind: &str) -> bool {
    requested.is_none_or(|ks| {
        ks.iter().any(|k| {
            let k = k.as_str();
            kind == k || (kind.starts_with(k) && kind.as_bytes().get(k.len()) == Some(&b'.'))
        })
    })
}

pub fn code_actions(server: &mut Server, p: CodeActionParams) -> Vec<CodeActionOrCommand> {
    let uri = p.text_document.uri;
    let enc = server.caps.encoding;
    let doc_changes = server.caps.document_changes;
    let only = p.context.only.as_deref();
    let mut out: Vec<CodeActionOrCommand> = Vec::new();
    let Some(doc) = server.docs.get(&uri) else {
        return out;
    };
    let Some(i) = doc.project else {
        return out;
    };
    let project = &server.projects[i];
    let (Some(ws), Some(selections)) = (project.ws.as_ref(), project.selections.as_ref()) else {
        return out;
    };
    let lines = Lines::new(&doc.text);
    let start = lines.offset(p.range.start, enc);
    let end = lines.offset(p.range.end, enc).max(start);
    let edit = |edits: Vec<TextEdit>| workspace_edit(&uri, doc.version, edits, doc_changes);

    if wants(only, CodeActionKind::QUICKFIX.as_str()) {
        let hits: Vec<usize> = (0..doc.diagnostics.len())
            .filter(|&k| {
                let s = doc.diagnostics[k].span;
                s.start <= end && start <= s.end
            })
            .collect();
        // The fixes, computed from the document's text by the engine.
        let mut fixable: Vec<Diagnostic> = hits
            .iter()
            .map(|&k| doc.diagnostics[k].clone())
            .filter(|d| {
                d.fix
                    .as_ref()
                    .is_some_and(|f| f.applicability != Applicability::DisplayOnly)
            })
            .collect();
        if !fixable.is_empty() {
            ws.resolve_fixes(&mut fixable, selections);
        }
        for d in &fixable {
            let Some(fix) = d.fix.as_ref().filter(|f| f.resolved) else {
                continue;
            };
            let unsafe_fix = fix.applicability == Applicability::Unsafe;
            let edits = fix
                .edits
                .iter()
                .map(|e| TextEdit::new(lines.range(e.span, enc), e.content.clone()))
                .collect();
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!(
                    "{}{}",
                    fix.message,
                    if unsafe_fix { " (unsafe)" } else { "" }
                ),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: published_for(doc, d).map(|x| vec![x]),
                edit: Some(edit(edits)),
                is_preferred: Some(!unsafe_fix),
                ..Default::default()
            }));
        }
        // Suppression, one action per diagnostic.
        let rust = crate::frontend::Language::of(&doc.path) == crate::frontend::Language::Rust;
        let tokens = (!hits.is_empty() && !rust).then(|| line_tokens(&doc.text));
        for &k in &hits {
            let d = &doc.diagnostics[k];
            if d.rule.is_file_error() {
                continue;
            }
            let edit_for = if rust {
                rust_noqa_edit(&lines, d)
            } else {
                noqa_edit(&lines, tokens.as_deref().unwrap_or(&[]), d)
            };
            let Some((span, content)) = edit_for else {
                continue;
            };
            out.push(CodeActionOrCommand::CodeAction(CodeAction {
                title: format!("Disable {} for this line", d.rule.code()),
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: doc.published.get(k).cloned().map(|x| vec![x]),
                edit: Some(edit(vec![TextEdit::new(lines.range(span, enc), content)])),
                ..Default::default()
            }));
        }
    }

    let has_safe_fix = doc.diagnostics.iter().any(|d| {
        d.fix
            .as_ref()
            .is_some_and(|f| f.applicability == Applicability::Safe)
    });
    if has_safe_fix && wants(only, FIX_ALL_KIND) {
        let mut action = CodeAction {
            title: "Fix all safe tenantlint fixes".into(),
            kind: Some(CodeActionKind::new(FIX_ALL_KIND)),
            ..Default::default()
        };
        if only.is_none() && server.caps.resolve_edit {
            // Asked for everything (a light bulb): the edit is computed when chosen.
            action.data = Some(serde_json::json!({"uri": uri, "version": doc.version}));
            out.push(CodeActionOrCommand::CodeAction(action));
        } else if let Some(edit) = fix_all(server, &uri) {
            action.edit = Some(edit);
            out.push(CodeActionOrCommand::CodeAction(action));
        }
    }
    out
}

/// `codeAction/resolve`: the fix-all edit offered without one.
pub fn resolve(server: &mut Server, mut action: CodeAction) -> CodeAction {
    if action.edit.is_some() {
        return action;
    }
    let target = action.data.as_ref().and_then(|d| {
        let uri = Url::parse(d.get("uri")?.as_str()?).ok()?;
        let version = d.get("version")?.as_i64()?;
        Some((uri, version))
    });
    if let Some((uri, version)) = target {
        let current = server.docs.get(&uri).map(|d| d.version as i64);
        if current == Some(version) {
            action.edit = fix_all(server, &uri);
        } else {
            log(&format!(
                "not resolving a fix-all for {uri}: the document changed"
            ));
        }
    }
    action
}

/// Every safe fix of the document, as `check --fix` would apply them (the engine's fix loop on
/// the document's text; the workspace is put back to that text afterwards).
fn fix_all(server: &mut Server, uri: &Url) -> Option<WorkspaceEdit> {
    let enc = server.caps.encoding;
    let doc_changes = server.caps.document_changes;
    let doc = server.docs.get(uri)?;
    let project = server.projects.get_mut(doc.project?)?;
    let (Some(ws), Some(selections)) = (project.ws.as_mut(), project.selections.as_ref()) else {
        return None;
    };
    let id = ws.file_id(&doc.path)?;
    let run = fixloop::run(ws, &[id], selections, false);
    ws.set_document(doc.path.clone(), Ok(doc.text.clone()));
    for e in &run.errors {
        log(e);
    }
    let fixed = run.fixed.into_iter().find(|f| f.path == doc.path)?;
    if fixed.original != doc.text {
        return None;
    }
    let edits = diff_edits(&doc.text, &fixed.fixed, enc);
    (!edits.is_empty()).then(|| workspace_edit(uri, doc.version, edits, doc_changes))
}

/// The published LSP diagnostic matching an engine diagnostic of the document.
fn published_for(doc: &super::Document, d: &Diagnostic) -> Option<lsp_types::Diagnostic> {
    let k = doc
        .diagnostics
        .iter()
        .position(|x| x.rule == d.rule && x.span == d.span && x.message == d.message)?;
    doc.published.get(k).cloned()
}

fn workspace_edit(uri: &Url, version: i32, edits: Vec<TextEdit>, versioned: bool) -> WorkspaceEdit {
    if versioned {
        WorkspaceEdit {
            document_changes: Some(DocumentChanges::Edits(vec![TextDocumentEdit {
                text_document: OptionalVersionedTextDocumentIdentifier {
                    uri: uri.clone(),
                    version: Some(version),
                },
                edits: edits.into_iter().map(OneOf::Left).collect(),
            }])),
            ..Default::default()
        }
    } else {
        WorkspaceEdit {
            changes: Some(HashMap::from([(uri.clone(), edits)])),
            ..Default::default()
        }
    }
}

/// The edits turning `old` into `new`, one per changed run of lines (a cursor elsewhere stays).
pub fn diff_edits(old: &str, new: &str, enc: Encoding) -> Vec<TextEdit> {
    let diff = similar::TextDiff::from_lines(old, new);
    let old_lines = diff.old_slices();
    let new_lines = diff.new_slices();
    let mut starts = Vec::with_capacity(old_lines.len() + 1);
    let mut at = 0usize;
    for l in old_lines {
        starts.push(at);
        at += l.len();
    }
    starts.push(at);
    let lines = Lines::new(old);
    let mut edits = Vec::new();
    // Positions made consistent as for `--diff` (see `fix::diff::consistent`).
    for op in &crate::fix::diff::consistent(diff.ops().to_vec()) {
        if matches!(op, similar::DiffOp::Equal { .. }) {
            continue;
        }
        let (o, n) = (op.old_range(), op.new_range());
        let span = Span::new(starts[o.start] as u32, starts[o.end] as u32);
        edits.push(TextEdit::new(lines.range(span, enc), new_lines[n].concat()));
    }
    edits
}

/// The tokens that matter for placing a comment: comments, and tokens spanning lines.
fn line_tokens(text: &str) -> Vec<(TokenKind, Span)> {
    let parsed = parse_unchecked(text, ParseOptions::from(Mode::Module));
    parsed
        .tokens()
        .iter()
        .filter(|t| {
            t.kind() == TokenKind::Comment
                || text[t.range().start().to_usize()..t.range().end().to_usize()]
                    .contains(['\n', '\r'])
        })
        .map(|t| {
            (
                t.kind(),
                Span::new(t.range().start().to_u32(), t.range().end().to_u32()),
            )
        })
        .collect()
}

/// `// noqa: CODE` for a Rust file: what `--add-noqa` writes for that one line, as one edit.
fn rust_noqa_edit(lines: &Lines, d: &Diagnostic) -> Option<(Span, String)> {
    let old = lines.text;
    let row = lines.index.row(d.span.start);
    let wanted =
        std::iter::once((row, std::iter::once(d.rule.code().to_string()).collect())).collect();
    let added = crate::add_noqa::add_noqa_rust(old, &wanted, None);
    if added.added == 0 {
        return None;
    }
    let new = added.text.as_str();
    let prefix = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = old[prefix..]
        .bytes()
        .rev()
        .zip(new[prefix..].bytes().rev())
        .take_while(|(a, b)| a == b)
        .count();
    let (mut p, mut s) = (prefix, suffix);
    while !old.is_char_boundary(p) || !new.is_char_boundary(p) {
        p -= 1;
    }
    while !old.is_char_boundary(old.len() - s) || !new.is_char_boundary(new.len() - s) {
        s -= 1;
    }
    Some((
        Span::new(p as u32, (old.len() - s) as u32),
        new[p..new.len() - s].to_string(),
    ))
}

/// The edit that suppresses `d` on its line: `# noqa: CODE` appended, or the code added to the
/// line's `# noqa: ...` list. `None` where no comment can go (the line ends inside a string or
/// with a backslash continuation) or where the result would not suppress it.
fn noqa_edit(
    lines: &Lines,
    tokens: &[(TokenKind, Span)],
    d: &Diagnostic,
) -> Option<(Span, String)> {
    let text = lines.text;
    let code = d.rule.code();
    let line = lines.index.line_of(d.span.start);
    let ls = lines.index.line_start(line, text.len() as u32) as usize;
    let mut le = lines.index.line_start(line + 1, text.len() as u32) as usize;
    while le > ls && matches!(text.as_bytes()[le - 1], b'\n' | b'\r') {
        le -= 1;
    }
    let comment = tokens
        .iter()
        .find(|(k, s)| *k == TokenKind::Comment && (ls..le).contains(&(s.start as usize)));
    let (span, content, new_comment) = match comment {
        Some((_, s)) => {
            let c = &text[s.start as usize..s.end as usize];
            match codes_end(c) {
                Some(at) => {
                    let insert = format!(", {code}");
                    let mut merged = c.to_string();
                    merged.insert_str(at, &insert);
                    (Span::empty(s.start + at as u32), insert, merged)
                }
                None => {
                    let add = format!("  # noqa: {code}");
                    (Span::empty(s.end), add.clone(), format!("{c}{add}"))
                }
            }
        }
        None => {
            let content = text[ls..le].trim_end();
            let inside_token = tokens.iter().any(|(k, s)| {
                *k != TokenKind::Comment && (s.start as usize) < le && le < s.end as usize
            });
            if inside_token || content.ends_with('\\') {
                return None;
            }
            let at = (ls + content.len()) as u32;
            let add = format!("  # noqa: {code}");
            (
                Span::new(at, le as u32),
                add.clone(),
                add.trim_start().to_string(),
            )
        }
    };
    // What the linter will read on that line must suppress this rule.
    let mut noqa = crate::facts::Noqa::default();
    crate::frontend::python::parse_noqa_comment(&new_comment, 1, &mut noqa);
    (noqa.file.is_none() && crate::noqa::is_suppressed(&noqa, d.rule, 1)).then_some((span, content))
}

/// In a comment holding a line-level `# noqa: CODES` directive, the byte offset just after its
/// last code; `None` when there is no such directive.
fn codes_end(comment: &str) -> Option<usize> {
    let lower = comment.to_ascii_lowercase();
    let bytes = lower.as_bytes();
    let mut search = 0;
    while let Some(i) = lower[search..].find("noqa") {
        let at = search + i;
        search = at + 4;
        if !lower[..at].trim_end_matches([' ', '\t']).ends_with('#') {
            continue;
        }
        if bytes
            .get(at + 4)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            continue;
        }
        let rest = &comment[at + 4..];
        let after_ws = rest.trim_start();
        let list = after_ws.strip_prefix(':')?;
        let pos = comment.len() - list.len();
        let mut last_end = None;
        // Codes separated by commas and blanks, as the linter reads them.
        let mut i = 0;
        let lb = list.as_bytes();
        while i < lb.len() {
            if matches!(lb[i], b',' | b' ' | b'\t') {
                i += 1;
                continue;
            }
            let start = i;
            while i < lb.len() && !matches!(lb[i], b',' | b' ' | b'\t') {
                i += 1;
            }
            let word = &list[start..i];
            let valid = word.len() >= 2
                && word.starts_with(|c: char| c.is_ascii_alphabetic())
                && word.chars().all(|c| c.is_ascii_alphanumeric());
            if !valid {
                break;
            }
            last_end = Some(pos + i);
        }
        return last_end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noqa_codes_end_after_the_last_code() {
        assert_eq!(codes_end("# noqa: TEN101"), Some(14));
        assert_eq!(codes_end("# NOQA:TEN101, TEN301 -- why"), Some(21));
        assert_eq!(codes_end("# type: ignore  # noqa: TEN101"), Some(30));
        assert_eq!(codes_end("# noqa"), None);
        assert_eq!(codes_end("# a comment"), None);
    }

    #[test]
    fn fix_all_edits_touch_only_changed_lines() {
        let old = "a\nb\nc\n";
        let new = "a\nB\nc\nd\n";
        let edits = diff_edits(old, new, Encoding::Utf16);
        assert_eq!(edits.len(), 2);
        assert_eq!(edits[0].new_text, "B\n");
        assert_eq!(edits[0].range.start, lsp_types::Position::new(1, 0));
        assert_eq!(edits[1].range.start, lsp_types::Position::new(3, 0));
        assert_eq!(edits[1].new_text, "d\n");
    }

    /// The edits of a fix that deletes a first line and inserts after the next one apply to
    /// exactly the fixed text (positions as `--diff`'s; `similar` put the insertion a line early).
    #[test]
    fn fix_all_edits_give_exactly_the_fixed_text() {
        let old = "import django.core.cache as djc\n\n\nfrom django.core import cache as cm\ndef a():\n    return djc.cache.get(\"k\")\n";
        let new = "\nfrom tenancy.cache import tenant_cache\n\n\ndef a():\n    return tenant_cache.get(\"k\")\n";
        let edits = diff_edits(old, new, Encoding::Utf16);
        // Every line here is ASCII: a position's character is a byte column.
        let offset = |p: lsp_types::Position| {
            old.split_inclusive('\n')
                .take(p.line as usize)
                .map(str::len)
                .sum::<usize>()
                + p.character as usize
        };
        let mut text = old.to_string();
        for e in edits.iter().rev() {
            text.replace_range(offset(e.range.start)..offset(e.range.end), &e.new_text);
        }
        assert_eq!(text, new);
    }
}
