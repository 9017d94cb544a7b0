//! Where fixes may edit a file (edit mode only): import insertion point, import statement
//! spans, class-body insertion points, name uses and wrapped calls.

use super::*;

/// Names bound by imports anywhere in the file; loads of these are counted so fixes know when an
/// import falls out of use.
pub(super) fn collect_import_names(body: &[Stmt]) -> HashSet<Name> {
    struct C(HashSet<Name>);
    impl<'a> Visitor<'a> for C {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::Import(i) => {
                    for a in &i.names {
                        let bound = match &a.asname {
                            Some(n) => n.id.clone(),
                            None => Name::new(a.name.id.split('.').next().unwrap_or_default()),
                        };
                        self.0.insert(bound);
                    }
                }
                Stmt::ImportFrom(i) => {
                    for a in &i.names {
                        self.0
                            .insert(a.asname.as_ref().unwrap_or(&a.name).id.clone());
                    }
                }
                _ => visitor::walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, _: &'a Expr) {}
    }
    let mut c = C(HashSet::default());
    c.visit_body(body);
    c.0
}

pub(super) fn is_docstring(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::Expr(e) if matches!(*e.value, Expr::StringLiteral(_)))
}

/// After the module docstring, `from __future__` imports and the leading import block.
pub(super) fn import_insert_point(body: &[Stmt], loc: &Locator) -> ImportInsert {
    let mut anchor: Option<&Stmt> = None;
    let mut iter = body.iter().peekable();
    if let Some(first) = iter.peek()
        && is_docstring(first)
    {
        anchor = iter.next();
    }
    for stmt in iter {
        if matches!(stmt, Stmt::Import(_) | Stmt::ImportFrom(_)) {
            anchor = Some(stmt);
        } else {
            break;
        }
    }
    let nl = detect_newline(loc.source);
    match anchor {
        Some(stmt) => match loc.next_logical_line_start(stmt.end()) {
            Some(off) => ImportInsert {
                span: loc.point(off),
                prefix: String::new(),
            },
            None => ImportInsert {
                span: loc.point(TextSize::of(loc.source)),
                prefix: nl.to_string(),
            },
        },
        None => {
            let mut off = body
                .first()
                .map(|s| loc.line_start(loc.line_of(s.start())))
                .unwrap_or(TextSize::of(loc.source));
            if off == TextSize::from(0) && loc.source.starts_with('\u{feff}') {
                off = TextSize::from(3);
            }
            let prefix = if off == TextSize::of(loc.source)
                && !loc.source.is_empty()
                && !loc.source.ends_with('\n')
            {
                nl.to_string()
            } else {
                String::new()
            };
            ImportInsert {
                span: loc.point(off),
                prefix,
            }
        }
    }
}

/// The lines of the import statement at `range`, for deleting it, in the statement list `block` (its first
/// statement's start and length).
pub(super) fn import_spans(loc: &Locator, range: TextRange, block: (u32, u32)) -> ImportSpans {
    let line_start = loc.line_start(loc.line_of(range.start()));
    let line_end = loc
        .next_logical_line_start(range.end())
        .unwrap_or(TextSize::of(loc.source));
    let before = &loc.source[line_start.to_usize()..range.start().to_usize()];
    let after = &loc.source[range.end().to_usize()..line_end.to_usize()];
    let after_code = after.trim_start();
    let alone = before.trim().is_empty()
        && (after_code.starts_with('#')
            || after_code
                .split(['\\', '\r', '\n'])
                .all(|part| part.trim().is_empty()));
    // Take one following blank line along when the statement starts the file or follows a
    // blank line, so no double blank line (or leading blank line) is left behind.
    let mut delete_end = line_end;
    let prev_blank = line_start == TextSize::from(0) || {
        let prev_line = loc.line_of(line_start).saturating_sub(1);
        let ps = loc.line_start(prev_line).to_usize();
        loc.source[ps..line_start.to_usize()].trim().is_empty()
    };
    if prev_blank && line_end.to_usize() < loc.source.len() {
        let next_end = loc
            .next_line_start(line_end)
            .unwrap_or(TextSize::of(loc.source));
        if loc.source[line_end.to_usize()..next_end.to_usize()]
            .trim()
            .is_empty()
        {
            delete_end = next_end;
        }
    }
    // The last line of a file without a final newline: take the previous line's terminator
    // instead, so the file still ends without one.
    let mut delete_start = line_start;
    if delete_end.to_usize() == loc.source.len()
        && !loc.source.ends_with(['\n', '\r'])
        && line_start > TextSize::from(0)
    {
        let head = &loc.source[..line_start.to_usize()];
        let term = if head.ends_with("\r\n") { 2 } else { 1 };
        delete_start = line_start - TextSize::from(term);
    }
    ImportSpans {
        delete_span: loc.span(TextRange::new(delete_start, delete_end)),
        line_span: loc.span(TextRange::new(line_start, line_end)),
        alone_on_lines: alone,
        sole_in_block: loc.sole_in_block(range.start(), range.end()),
        block_start: block.0,
        block_len: block.1,
    }
}

impl<'a> Extractor<'a, '_> {
    pub(super) fn note_name_use(&mut self, name: &Name, offset: TextSize) {
        if self.edits.is_some() && self.tracked_names.contains(name) {
            let scope = self.binding_scope(name);
            let Some(edits) = self.edits.as_mut() else {
                return;
            };
            edits.name_uses.push(NameUse {
                name: name.clone(),
                scope,
                offset: offset.to_u32(),
            });
        }
    }

    /// Where a new first statement goes in a class body: after the docstring (its real end), with
    /// the body's own indentation; one-line bodies are expanded onto their own lines.
    pub(super) fn body_insert(&self, class: &ast::StmtClassDef) -> Option<BodyInsert> {
        let first = class.body.first()?;
        let loc = self.loc;
        // A class statement continued onto its line with a backslash takes its indentation
        // from the line the continuation starts on, which the lines added here cannot follow:
        // no fix then.
        let line_start = loc.line_start(loc.line_of(class.start())).to_usize();
        if loc.source[..line_start]
            .trim_end_matches(['\n', '\r'])
            .ends_with('\\')
        {
            return None;
        }
        let nl = detect_newline(loc.source);
        let header_end = class
            .arguments
            .as_ref()
            .map_or(class.name.end(), |a| a.end());
        // A body on the header's logical line (also after a backslash): no indented block.
        let one_line = if loc.logical.ends.is_empty() {
            loc.line_of(first.start()) == loc.line_of(header_end)
        } else {
            loc.logical
                .block_firsts
                .binary_search(&first.start())
                .is_err()
        };
        if one_line {
            // `class A(B): pass` -> rebuild the body on its own lines.
            let colon = loc.source[header_end.to_usize()..first.start().to_usize()].find(':')?;
            let colon = header_end + TextSize::from(colon as u32);
            let last = class.body.last()?;
            let class_indent = loc.indentation_at(class.start());
            let unit = if class_indent.contains('\t') || loc.source.contains("\n\t") {
                "\t"
            } else {
                "    "
            };
            let indent = format!("{class_indent}{unit}");
            let texts: Vec<&str> = class.body.iter().map(|s| loc.slice(s.range())).collect();
            let sep = format!("{nl}{indent}");
            let (head, tail) = if is_docstring(first) {
                (&texts[..1], &texts[1..])
            } else {
                (&texts[..0], &texts[..])
            };
            let mut prefix = format!(":{nl}{indent}");
            for t in head {
                prefix.push_str(t);
                prefix.push_str(&sep);
            }
            let mut suffix = String::new();
            for t in tail {
                suffix.push_str(&sep);
                suffix.push_str(t);
            }
            return Some(BodyInsert {
                span: loc.span(TextRange::new(colon, last.end())),
                prefix,
                suffix,
            });
        }
        let indent = loc.block_indentation(first.start()).to_string();
        if is_docstring(first) {
            return Some(match loc.next_logical_line_start(first.end()) {
                Some(off) => BodyInsert {
                    span: loc.point(off),
                    prefix: indent,
                    suffix: nl.to_string(),
                },
                None => BodyInsert {
                    span: loc.point(first.end()),
                    prefix: format!("{nl}{indent}"),
                    suffix: String::new(),
                },
            });
        }
        // Insert right after the header line, before any leading comments of the body.
        let off = loc.next_logical_line_start(header_end)?;
        let before_first = &loc.source[off.to_usize()..first.start().to_usize()];
        if before_first.contains('\\') {
            // A backslash continuation joins a line into the first statement's: the new
            // statement goes where that one starts, so the continuation joins it instead.
            // Only when every continued line is a lone `\` at the start of its line. With
            // whitespace before the backslash, CPython counts the whitespace of both physical
            // lines as the block's indentation (a tab there and spaces on the next line are a
            // TabError for any tab-indented line after them), which the inserted lines cannot
            // repeat: no fix then.
            let indented_continuation = before_first
                .split_inclusive(['\n', '\r'])
                .map(|line| line.trim_end_matches(['\n', '\r']))
                .any(|line| line.ends_with('\\') && !line.contains('#') && line != "\\");
            if indented_continuation {
                return None;
            }
            return Some(BodyInsert {
                span: loc.point(first.start()),
                prefix: String::new(),
                suffix: format!("{nl}{}", loc.indentation_at(first.start())),
            });
        }
        Some(BodyInsert {
            span: loc.point(off),
            prefix: indent,
            suffix: nl.to_string(),
        })
    }

    /// For each call statement directly in `body` (edit mode only), how the rest of the body would be
    /// wrapped in `try`/`finally` (none when re-indenting would change a multi-line string or a
    /// line that is only a backslash continuation).
    pub(super) fn prepare_wraps(&mut self, body: &'a [Stmt]) {
        for (i, stmt) in body.iter().enumerate() {
            let Stmt::Expr(e) = stmt else { continue };
            let Expr::Call(call) = &*e.value else {
                continue;
            };
            if !matches!(&*call.func, Expr::Name(_) | Expr::Attribute(_)) {
                continue;
            }
            let rest = &body[i + 1..];
            let (Some(first), Some(last)) = (rest.first(), rest.last()) else {
                continue;
            };
            let loc = self.loc;
            let start = loc.line_start(loc.line_of(first.start()));
            if loc.line_of(first.start()) == loc.line_of(stmt.end()) {
                continue; // `set(); rest` on one line
            }
            let end = loc
                .next_line_start(last.end())
                .unwrap_or(TextSize::of(loc.source));
            let range = TextRange::new(start, end);
            if self
                .multiline_strings
                .iter()
                .any(|r| r.intersect(range).is_some())
            {
                continue;
            }
            // A line that is only a backslash continuation (with or without whitespace before
            // it) starts the next statement's logical line: re-indented, it would give that
            // statement a different indentation. No wrap then.
            if loc.source[range]
                .split(['\n', '\r'])
                .any(|line| line.trim_start_matches([' ', '\t', '\x0c']) == "\\")
            {
                continue;
            }
            // A form feed resets CPython's indentation count: a line starting with one cannot
            // be re-indented by prefixing it. No wrap then.
            if loc.source[range].contains('\x0c') {
                continue;
            }
            // The last statement's line continued with a backslash (onto a blank line): the
            // `finally:` inserted after it would be joined onto that statement. No wrap then.
            if loc.source[TextRange::new(last.end(), end)]
                .trim_end_matches(['\n', '\r'])
                .ends_with('\\')
            {
                continue;
            }
            let indent = loc.indentation_at(first.start()).to_string();
            let unit = if indent.starts_with('\t') {
                "\t"
            } else {
                "    "
            }
            .to_string();
            let Some(edits) = self.edits.as_mut() else {
                return;
            };
            edits.wraps.insert(
                call.start().to_u32(),
                WrapRest {
                    span: loc.span(range),
                    indent,
                    unit,
                },
            );
        }
    }
}
