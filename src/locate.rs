//! Source positions. Facts, diagnostics and edits carry byte ranges ([`Span`]); rows and columns
//! are computed only when a result is shown ([`LineIndex`]): 1-based rows, columns counted in
//! characters (the contract) or in UTF-16 code units (the LSP).

use ruff_text_size::{Ranged, TextRange, TextSize};
use serde::{Deserialize, Serialize};

/// A 1-based row and a 1-based column counted in characters (the BOM is not counted).
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Pos {
    pub row: u32,
    pub column: u32,
}

/// A byte range in one file's text.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    pub fn new(start: u32, end: u32) -> Span {
        Span { start, end }
    }

    pub fn empty(at: u32) -> Span {
        Span { start: at, end: at }
    }

    pub fn range(self) -> TextRange {
        TextRange::new(TextSize::from(self.start), TextSize::from(self.end))
    }
}

/// Where each line of a text starts, to turn byte offsets into rows and columns.
///
/// Every file's index is held for the whole run, so it is compact: each line's start is stored
/// as its distance from the previous line's (a LEB128 varint: one byte for a line shorter than
/// 128 bytes), with the absolute start of every [`BLOCK`]th line to jump to. About 1.1 bytes a
/// line instead of 4; a lookup is a binary search over the blocks and a scan of at most
/// `BLOCK` bytes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineIndex {
    /// Per block of [`BLOCK`] lines: its first line's start, and where the distances of its
    /// following lines begin in `deltas`.
    blocks: Vec<(u32, u32)>,
    /// For every line but the first, its start minus the previous line's start, as a varint.
    deltas: crate::packed::Bytes,
    /// Number of lines (at least 1).
    count: u32,
    /// The text is pure ASCII: columns are byte differences.
    ascii: bool,
}

/// Lines per block of a [`LineIndex`].
const BLOCK: usize = 64;

impl Default for LineIndex {
    fn default() -> Self {
        LineIndex::from_starts(&[0], false)
    }
}

/// Read the varint at `*pos` in `bytes` and move past it.
fn read_varint(bytes: &[u8], pos: &mut usize) -> u32 {
    let mut value = 0u32;
    let mut shift = 0;
    while let Some(&b) = bytes.get(*pos) {
        *pos += 1;
        value |= u32::from(b & 0x7f).checked_shl(shift).unwrap_or(0);
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    value
}

impl LineIndex {
    pub fn shrink_to_fit(&mut self) {
        self.blocks.shrink_to_fit();
    }

    /// Lines end at `\n`, `\r\n` or a lone `\r`, as Python's tokenizer sees them.
    pub fn new(text: &str) -> LineIndex {
        let bytes = text.as_bytes();
        let mut starts = Vec::with_capacity(text.len() / 32 + 1);
        starts.push(0);
        for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
            match bytes[i] {
                // The `\n` of a `\r\n` was counted at its `\r`.
                b'\n' if i > 0 && bytes[i - 1] == b'\r' => {}
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => starts.push(i as u32 + 2),
                _ => starts.push(i as u32 + 1),
            }
        }
        LineIndex::from_starts(&starts, text.is_ascii())
    }

    /// From the ascending start offsets of the lines (the first is 0).
    fn from_starts(starts: &[u32], ascii: bool) -> LineIndex {
        let mut blocks = Vec::with_capacity(starts.len() / BLOCK + 1);
        let mut deltas = Vec::with_capacity(starts.len() + starts.len() / 8);
        for (i, &start) in starts.iter().enumerate() {
            if i % BLOCK == 0 {
                blocks.push((start, deltas.len() as u32));
            } else {
                let mut d = start - starts[i - 1];
                loop {
                    let low = (d & 0x7f) as u8;
                    d >>= 7;
                    if d == 0 {
                        deltas.push(low);
                        break;
                    }
                    deltas.push(low | 0x80);
                }
            }
        }
        LineIndex {
            blocks,
            deltas: crate::packed::Bytes::from(deltas),
            count: starts.len() as u32,
            ascii,
        }
    }

    pub fn line_count(&self) -> usize {
        self.count as usize
    }

    /// 0-based line holding `offset` (the last line for an offset past the end).
    pub fn line_of(&self, offset: u32) -> usize {
        let b = self
            .blocks
            .partition_point(|&(start, _)| start <= offset)
            .saturating_sub(1);
        let Some(&(mut start, pos)) = self.blocks.get(b) else {
            return 0;
        };
        let mut pos = pos as usize;
        let first = b * BLOCK;
        let last = (first + BLOCK).min(self.line_count()) - 1;
        let mut line = first;
        while line < last {
            let next = start + read_varint(&self.deltas, &mut pos);
            if next > offset {
                break;
            }
            start = next;
            line += 1;
        }
        line
    }

    /// 1-based row of `offset`.
    pub fn row(&self, offset: u32) -> u32 {
        self.line_of(offset) as u32 + 1
    }

    /// Byte offset where the 0-based `line` starts (`len` past the last line).
    pub fn line_start(&self, line: usize, len: u32) -> u32 {
        if line >= self.line_count() {
            return len;
        }
        self.start_of(line)
    }

    /// The start of an existing line.
    fn start_of(&self, line: usize) -> u32 {
        let Some(&(mut start, pos)) = self.blocks.get(line / BLOCK) else {
            return 0;
        };
        let mut pos = pos as usize;
        for _ in 0..line % BLOCK {
            start += read_varint(&self.deltas, &mut pos);
        }
        start
    }

    pub fn is_ascii(&self) -> bool {
        self.ascii
    }

    /// Row and column of `offset` in an ASCII text, without the text.
    pub fn pos_ascii(&self, offset: u32) -> Pos {
        let line = self.line_of(offset);
        Pos {
            row: line as u32 + 1,
            column: offset.saturating_sub(self.start_of(line)) + 1,
        }
    }

    /// Row and character column of `offset` in `text` (the text this index was built from).
    pub fn pos(&self, text: &str, offset: u32) -> Pos {
        let offset = clamp_to_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.start_of(line);
        let mut column = if self.ascii {
            offset - start
        } else {
            text[start as usize..offset as usize].chars().count() as u32
        };
        // The BOM is not a column.
        if line == 0 && text.starts_with('\u{feff}') && offset >= 3 {
            column -= 1;
        }
        Pos {
            row: line as u32 + 1,
            column: column + 1,
        }
    }

    /// 0-based line and UTF-16 column of `offset` (the LSP's default position encoding).
    pub fn utf16(&self, text: &str, offset: u32) -> (u32, u32) {
        let offset = clamp_to_boundary(text, offset);
        let line = self.line_of(offset);
        let start = self.start_of(line) as usize;
        let col = text[start..offset as usize]
            .chars()
            .map(char::len_utf16)
            .sum::<usize>();
        (line as u32, col as u32)
    }

    /// Byte offset of a 0-based line and UTF-16 column (clamped to the line).
    pub fn offset_utf16(&self, text: &str, line: u32, col: u32) -> u32 {
        let len = text.len() as u32;
        let start = self.line_start(line as usize, len);
        let end = self.line_start(line as usize + 1, len);
        let mut units = 0u32;
        for (i, c) in text[start as usize..end as usize].char_indices() {
            if units >= col || c == '\n' || c == '\r' {
                return start + i as u32;
            }
            units += c.len_utf16() as u32;
        }
        end.min(len)
    }
}

fn clamp_to_boundary(text: &str, offset: u32) -> u32 {
    let mut o = (offset as usize).min(text.len());
    while o > 0 && !text.is_char_boundary(o) {
        o -= 1;
    }
    o as u32
}

/// The logical-line structure of a text, from its tokens (collected only when fixes are
/// wanted): a statement's line may go on after a backslash or share its line with others after
/// `;`, so "the next physical line" is not where a new statement can go.
#[derive(Debug, Default)]
pub struct LogicalLines {
    /// The end of each `Newline` token (where the next logical line starts), ascending.
    pub ends: Vec<TextSize>,
    /// The start of the first statement of each indented block, ascending.
    pub block_firsts: Vec<TextSize>,
    /// The block's indentation (the `Indent` token's range), by index into `block_firsts`: the
    /// first statement's own line may be a backslash continuation with other leading blanks.
    pub block_indents: Vec<TextRange>,
    /// The end of the last logical line of each indented block, ascending.
    pub block_last_ends: Vec<TextSize>,
}

impl LogicalLines {
    pub fn from_tokens(tokens: &[ruff_python_ast::token::Token]) -> LogicalLines {
        use ruff_python_ast::token::TokenKind;
        let next_significant = |i: usize| {
            tokens[i + 1..]
                .iter()
                .find(|t| !matches!(t.kind(), TokenKind::Comment | TokenKind::NonLogicalNewline))
        };
        let mut out = LogicalLines::default();
        for (i, t) in tokens.iter().enumerate() {
            match t.kind() {
                TokenKind::Newline => {
                    out.ends.push(t.end());
                    if next_significant(i).is_some_and(|n| n.kind() == TokenKind::Dedent) {
                        out.block_last_ends.push(t.end());
                    }
                }
                TokenKind::Indent => {
                    if let Some(n) = next_significant(i) {
                        out.block_firsts.push(n.start());
                        out.block_indents.push(t.range());
                    }
                }
                _ => {}
            }
        }
        out
    }
}

/// The extractor's view of a text: byte ranges from syntax nodes, lines and indentation.
pub struct Locator<'a> {
    pub source: &'a str,
    index: LineIndex,
    /// Empty unless fixes are wanted.
    pub logical: LogicalLines,
}

impl<'a> Locator<'a> {
    pub fn new(source: &'a str) -> Self {
        Locator {
            source,
            index: LineIndex::new(source),
            logical: LogicalLines::default(),
        }
    }

    /// The end of the `Newline` token that ends the logical line holding `offset`.
    pub fn newline_end(&self, offset: TextSize) -> Option<TextSize> {
        let ends = &self.logical.ends;
        ends.get(ends.partition_point(|&e| e <= offset)).copied()
    }

    /// Where the line after the logical line holding `offset` starts (past backslash
    /// continuations and statements sharing the line after `;`), or `None` on the last line.
    /// Without token information, the next physical line.
    pub fn next_logical_line_start(&self, offset: TextSize) -> Option<TextSize> {
        match self.newline_end(offset) {
            Some(end) if end > TextSize::from(0) => self.next_line_start(end - TextSize::from(1)),
            _ => self.next_line_start(offset),
        }
    }

    /// The statement starting at `start` whose logical line ends at `end` is the only one of
    /// an indented block: deleting it would leave the block empty.
    pub fn sole_in_block(&self, start: TextSize, end: TextSize) -> bool {
        let l = &self.logical;
        l.block_firsts.binary_search(&start).is_ok()
            && self
                .newline_end(end)
                .is_some_and(|e| l.block_last_ends.binary_search(&e).is_ok())
    }

    pub fn into_index(self) -> LineIndex {
        self.index
    }

    pub fn index(&self) -> &LineIndex {
        &self.index
    }

    pub fn row(&self, offset: TextSize) -> u32 {
        self.index.row(offset.to_u32())
    }

    pub fn span(&self, range: TextRange) -> Span {
        Span {
            start: range.start().to_u32(),
            end: range.end().to_u32(),
        }
    }

    pub fn point(&self, offset: TextSize) -> Span {
        Span::empty(offset.to_u32())
    }

    /// 0-based line number of `offset`.
    pub fn line_of(&self, offset: TextSize) -> usize {
        self.index.line_of(offset.to_u32())
    }

    /// Byte offset where the 0-based `line` starts (the end of the text past the last line).
    pub fn line_start(&self, line: usize) -> TextSize {
        TextSize::from(self.index.line_start(line, self.source.len() as u32))
    }

    /// Byte offset where the line after the one holding `offset` starts, or `None` on the last
    /// line.
    pub fn next_line_start(&self, offset: TextSize) -> Option<TextSize> {
        let next = self.line_of(offset) + 1;
        (next < self.index.line_count()).then(|| self.line_start(next))
    }

    /// The indentation of the block whose first statement starts at `first` (the leading
    /// whitespace of the statement's logical line, which a backslash continuation can put on
    /// an earlier physical line); without token information, or not a block's first statement,
    /// the leading whitespace of its physical line.
    pub fn block_indentation(&self, first: TextSize) -> &'a str {
        let l = &self.logical;
        match l.block_firsts.binary_search(&first) {
            // The token spans the blanks and any backslash continuations before the statement:
            // the indentation is the leading whitespace of the line it starts on.
            Ok(i) => match l.block_indents.get(i) {
                Some(r) => self.indentation_at(r.start()),
                None => self.indentation_at(first),
            },
            Err(_) => self.indentation_at(first),
        }
    }

    /// The leading whitespace of the line holding `offset` that counts as its indentation: a
    /// form feed there resets CPython's column count, so only what follows the last one.
    pub fn indentation_at(&self, offset: TextSize) -> &'a str {
        let start = self.line_start(self.line_of(offset)).to_usize();
        let line = &self.source[start..];
        let n = line.len() - line.trim_start_matches([' ', '\t', '\x0c']).len();
        let lead = &line[..n];
        lead.rfind('\x0c').map_or(lead, |i| &lead[i + 1..])
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_and_columns_count_characters_and_every_line_ending() {
        let text = "a\r\nbé\rc\nd";
        let idx = LineIndex::new(text);
        assert_eq!(idx.pos(text, 0), Pos { row: 1, column: 1 });
        assert_eq!(idx.pos(text, 3), Pos { row: 2, column: 1 });
        // After `bé` (é is two bytes): column 3.
        assert_eq!(idx.pos(text, 6), Pos { row: 2, column: 3 });
        assert_eq!(idx.pos(text, 7), Pos { row: 3, column: 1 });
        assert_eq!(idx.pos(text, 9), Pos { row: 4, column: 1 });
        let emoji = "x😀y\nz";
        let eidx = LineIndex::new(emoji);
        // `😀` is two UTF-16 units.
        assert_eq!(eidx.utf16(emoji, 5), (0, 3));
        assert_eq!(eidx.offset_utf16(emoji, 0, 3), 5);
        assert_eq!(eidx.utf16(emoji, 7), (1, 0));
    }

    #[test]
    fn the_bom_is_not_a_column() {
        let text = "\u{feff}ab";
        assert_eq!(LineIndex::new(text).pos(text, 4), Pos { row: 1, column: 2 });
    }

    #[test]
    fn line_starts_for_every_mix_of_line_endings() {
        for text in [
            "",
            "\r",
            "\n",
            "\r\n",
            "\r\r\n\n",
            "a\rb\r\n\r\nc\n\rd\r",
            "\n\r",
        ] {
            let mut naive = vec![0u32];
            let b = text.as_bytes();
            for (i, &c) in b.iter().enumerate() {
                if c == b'\n' && !(i > 0 && b[i - 1] == b'\r')
                    || c == b'\r' && b.get(i + 1) != Some(&b'\n')
                {
                    naive.push(i as u32 + 1);
                } else if c == b'\r' {
                    naive.push(i as u32 + 2);
                }
            }
            let idx = LineIndex::new(text);
            assert_eq!(idx.line_count(), naive.len(), "{text:?}");
            let starts: Vec<u32> = (0..naive.len()).map(|l| idx.line_start(l, 0)).collect();
            assert_eq!(starts, naive, "{text:?}");
        }
    }

    /// The naive index: every line start, and the line of an offset by binary search.
    fn naive_starts(text: &str) -> Vec<u32> {
        let mut starts = vec![0u32];
        let b = text.as_bytes();
        for (i, &c) in b.iter().enumerate() {
            if c == b'\n' && !(i > 0 && b[i - 1] == b'\r')
                || c == b'\r' && b.get(i + 1) != Some(&b'\n')
            {
                starts.push(i as u32 + 1);
            } else if c == b'\r' {
                starts.push(i as u32 + 2);
            }
        }
        starts
    }

    fn check_against_naive(text: &str) {
        let idx = LineIndex::new(text);
        let naive = naive_starts(text);
        assert_eq!(idx.line_count(), naive.len());
        for (line, &start) in naive.iter().enumerate() {
            assert_eq!(
                idx.line_start(line, text.len() as u32),
                start,
                "line {line}"
            );
        }
        assert_eq!(
            idx.line_start(naive.len(), text.len() as u32),
            text.len() as u32
        );
        // Every offset of a short text; around every line start (and the end) of a long one.
        let offsets: Vec<u32> = if text.len() < 20_000 {
            (0..=text.len() as u32 + 2).collect()
        } else {
            naive
                .iter()
                .chain(&[text.len() as u32])
                .flat_map(|&s| [s.saturating_sub(1), s, s + 1, s + 100])
                .collect()
        };
        for offset in offsets {
            let expected = match naive.binary_search(&offset) {
                Ok(i) => i,
                Err(i) => i - 1,
            };
            assert_eq!(idx.line_of(offset), expected, "offset {offset}");
        }
    }

    #[test]
    fn compact_line_index_equals_the_naive_one_across_blocks_and_long_lines() {
        // Block boundaries (64 lines), lines of 127/128/16383/16384 bytes (varint widths),
        // empty lines and every line ending.
        let mut text = String::new();
        for i in 0..300 {
            let len = match i % 7 {
                0 => 127,
                1 => 128,
                2 => 0,
                3 => 16_383,
                4 => 16_384,
                _ => i % 50,
            };
            text.push_str(&"x".repeat(len));
            text.push_str(["\n", "\r\n", "\r"][i % 3]);
        }
        check_against_naive(&text);
        check_against_naive("");
        check_against_naive("no newline");
        check_against_naive(&"\n".repeat(64));
        check_against_naive(&"\n".repeat(65));
        check_against_naive(&"a\n".repeat(128));
    }

    proptest::proptest! {
        #[test]
        fn compact_line_index_equals_the_naive_one(
            parts in proptest::collection::vec((0usize..300, 0usize..4), 0..200)
        ) {
            let mut text = String::new();
            for (len, ending) in parts {
                text.push_str(&"é".repeat(len / 2));
                text.push_str(["\n", "\r\n", "\r", ""][ending]);
            }
            check_against_naive(&text);
        }
    }
}
