//! LSP positions: 0-based lines and columns in the negotiated encoding (UTF-16 unless the client
//! offers UTF-8 or UTF-32), to and from the byte offsets the engine works in.

use lsp_types::{Position, PositionEncodingKind, Range};

use crate::locate::{LineIndex, Span};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    /// The client's preferred encoding among those it offers: UTF-8 (columns are byte offsets, the
    /// cheapest), then UTF-32, else the protocol's default UTF-16.
    pub fn negotiate(offered: Option<&[PositionEncodingKind]>) -> Encoding {
        let offered = offered.unwrap_or_default();
        if offered.contains(&PositionEncodingKind::UTF8) {
            Encoding::Utf8
        } else if offered.contains(&PositionEncodingKind::UTF32) {
            Encoding::Utf32
        } else {
            Encoding::Utf16
        }
    }

    pub fn kind(self) -> PositionEncodingKind {
        match self {
            Encoding::Utf8 => PositionEncodingKind::UTF8,
            Encoding::Utf16 => PositionEncodingKind::UTF16,
            Encoding::Utf32 => PositionEncodingKind::UTF32,
        }
    }
}

/// A text with its line index, for position conversions.
pub struct Lines<'a> {
    pub text: &'a str,
    pub index: LineIndex,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Lines<'a> {
        Lines {
            text,
            index: LineIndex::new(text),
        }
    }

    /// Byte range of the 0-based `line`'s content (without its line ending).
    fn line_bounds(&self, line: u32) -> (usize, usize) {
        let len = self.text.len() as u32;
        let start = self.index.line_start(line as usize, len) as usize;
        let mut end = self.index.line_start(line as usize + 1, len) as usize;
        let bytes = self.text.as_bytes();
        while end > start && matches!(bytes[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        (start, end)
    }

    pub fn position(&self, offset: u32, enc: Encoding) -> Position {
        let mut offset = (offset as usize).min(self.text.len());
        while offset > 0 && !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.index.line_of(offset as u32);
        let start = self.index.line_start(line, self.text.len() as u32) as usize;
        let prefix = &self.text[start.min(offset)..offset];
        let character = match enc {
            Encoding::Utf8 => prefix.len(),
            Encoding::Utf16 => prefix.chars().map(char::len_utf16).sum(),
            Encoding::Utf32 => prefix.chars().count(),
        };
        Position::new(line as u32, character as u32)
    }

    pub fn range(&self, span: Span, enc: Encoding) -> Range {
        Range::new(
            self.position(span.start, enc),
            self.position(span.end.max(span.start), enc),
        )
    }

    /// The byte offset of a position, clamped to the text: a line past the end is the end of the
    /// text, a column past the end of its line is the end of the line, a column inside a
    /// character is that character's start.
    pub fn offset(&self, pos: Position, enc: Encoding) -> u32 {
        if pos.line as usize >= self.index.line_count() {
            return self.text.len() as u32;
        }
        let (start, end) = self.line_bounds(pos.line);
        let line = &self.text[start..end];
        let want = pos.character as usize;
        let mut units = 0usize;
        for (i, c) in line.char_indices() {
            if units >= want {
                return (start + i) as u32;
            }
            units += match enc {
                Encoding::Utf8 => c.len_utf8(),
                Encoding::Utf16 => c.len_utf16(),
                Encoding::Utf32 => 1,
            };
            if units > want {
                // Inside a character: its start.
                return (start + i) as u32;
            }
        }
        end as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_every_encoding() {
        let text = "a😀é\r\nxy\rz";
        let l = Lines::new(text);
        // After the emoji: 5 bytes, 3 UTF-16 units, 2 code points.
        assert_eq!(l.position(5, Encoding::Utf8), Position::new(0, 5));
        assert_eq!(l.position(5, Encoding::Utf16), Position::new(0, 3));
        assert_eq!(l.position(5, Encoding::Utf32), Position::new(0, 2));
        for enc in [Encoding::Utf8, Encoding::Utf16, Encoding::Utf32] {
            for off in [0u32, 1, 5, 7, 9, 10, 12, 13] {
                let p = l.position(off, enc);
                assert_eq!(l.offset(p, enc), off, "{enc:?} {off} {p:?}");
            }
        }
        // Out of range: clamped, never a panic.
        assert_eq!(l.offset(Position::new(0, 99), Encoding::Utf16), 7);
        assert_eq!(l.offset(Position::new(99, 0), Encoding::Utf16), 13);
        // Inside the emoji's surrogate pair: its start.
        assert_eq!(l.offset(Position::new(0, 2), Encoding::Utf16), 1);
        assert_eq!(l.position(3, Encoding::Utf8), Position::new(0, 1));
    }
}
