//! Source positions: byte offsets to 1-based rows and character columns.

use ruff_source_file::LineIndex;
use ruff_text_size::{TextRange, TextSize};
use serde::Serialize;

/// A 1-based row and a 1-based column counted in characters (the BOM is not counted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Pos {
    pub row: u32,
    pub column: u32,
}

/// A byte range with its precomputed positions, so that rules and reporters never need the
/// source text again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
    pub start_pos: Pos,
    pub end_pos: Pos,
}

pub struct Locator<'a> {
    pub source: &'a str,
    index: LineIndex,
}

impl<'a> Locator<'a> {
    pub fn new(source: &'a str) -> Self {
        Locator {
            source,
            index: LineIndex::from_source_text(source),
        }
    }

    pub fn pos(&self, offset: TextSize) -> Pos {
        let offset = offset.min(TextSize::of(self.source));
        let lc = self.index.line_column(offset, self.source);
        Pos {
            row: lc.line.get() as u32,
            column: lc.column.get() as u32,
        }
    }

    pub fn span(&self, range: TextRange) -> Span {
        Span {
            start: range.start().to_u32(),
            end: range.end().to_u32(),
            start_pos: self.pos(range.start()),
            end_pos: self.pos(range.end()),
        }
    }

    pub fn point(&self, offset: TextSize) -> Span {
        self.span(TextRange::empty(offset))
    }

    /// 0-based line number of `offset`.
    pub fn line_of(&self, offset: TextSize) -> usize {
        self.index.line_index(offset).to_zero_indexed()
    }

    /// Byte offset where the 0-based `line` starts (the end of the text past the last line).
    pub fn line_start(&self, line: usize) -> TextSize {
        self.index
            .line_starts()
            .get(line)
            .copied()
            .unwrap_or_else(|| TextSize::of(self.source))
    }

    /// Byte offset where the line after the one holding `offset` starts, or the end of the text.
    pub fn next_line_start(&self, offset: TextSize) -> Option<TextSize> {
        self.index
            .line_starts()
            .get(self.line_of(offset) + 1)
            .copied()
    }

    /// The leading whitespace of the line holding `offset`.
    pub fn indentation_at(&self, offset: TextSize) -> &'a str {
        let start = self.line_start(self.line_of(offset)).to_usize();
        let line = &self.source[start..];
        let n = line.len() - line.trim_start_matches([' ', '\t']).len();
        &line[..n]
    }

    pub fn slice(&self, range: TextRange) -> &'a str {
        &self.source[range.start().to_usize()..range.end().to_usize()]
    }
}

/// The file's line ending: the first one found, else `\n`.
pub fn detect_newline(source: &str) -> &'static str {
    match source.find('\n') {
        Some(i) if i > 0 && source.as_bytes()[i - 1] == b'\r' => "\r\n",
        Some(_) => "\n",
        None => {
            if source.contains('\r') {
                "\r"
            } else {
                "\n"
            }
        }
    }
}
