//! A fast pre-parse scan for the nesting limits CPython enforces, so that a hostile or generated
//! file with absurd nesting is reported (TEN900) before the recursive parser and the recursive
//! walkers ever see it.
//!
//! CPython rejects, before or while parsing:
//!
//! - more than 200 nested brackets `(`, `[`, `{` ("too many nested parentheses"; the tokenizer's
//!   `MAXLEVEL`). The `{` of an f-string replacement field counts, as in CPython 3.12+.
//! - more than 99 indentation levels ("too many levels of indentation"; `MAXINDENT` is 100 and
//!   the error fires when `indent + 1 >= 100`).
//! - more than 149 nested f-strings ("too many nested f-strings"; `MAXFSTRINGLEVEL` is 150, 3.12+).
//! - expressions nested too deeply without brackets (`not not ... x`, `x.a.a.a...`,
//!   `x()()()...`, `a + a + ...`, `lambda: lambda: ...`, `- - - x`): CPython 3.10 to 3.12 fail
//!   at about 3,000 levels ("maximum recursion depth exceeded during compilation", or "Parser
//!   stack overflowed - Python source too complex to parse"), 3.13 at about 10,000 for
//!   left-nested chains. We count the operators that add a level to the syntax tree per
//!   expression (see [`MAX_EXPR_DEPTH`]) and reject above 20,000, twice the most CPython accepts,
//!   so no file CPython compiles is rejected, while the parser and the walkers stay far from
//!   their stack limits.
//!
//! The scan is one linear pass over the bytes. It understands comments, string literals (all
//! prefixes, triple quotes, escapes, raw strings), f- and t-strings (replacement fields, format
//! specs, `{{`/`}}`, `\N{...}`), line continuations and the logical-line rules for indentation.
//! It never rejects valid code for anything but the limits above; on invalid code it may lose
//! track, but the parser reports such a file anyway.

use std::fmt;

/// CPython's `MAXLEVEL`: at most this many brackets may be open at once.
pub const MAX_PAREN_DEPTH: usize = 200;
/// At most this many indentation levels (CPython's `MAXINDENT` is 100; level 100 is an error).
pub const MAX_INDENT_LEVELS: usize = 99;
/// At most this many nested f-strings (CPython's `MAXFSTRINGLEVEL` is 150; level 150 is an error).
pub const MAX_FSTRING_DEPTH: usize = 149;
/// At most this many tree-deepening operators in one expression, counted over the enclosing
/// brackets: binary arithmetic and bitwise operators, unary operators and `not`, `.` attribute
/// access, call and subscript trailers, `lambda`, `await`, conditional `if`. Commas, `;`,
/// assignments and the end of a logical line start a new count (what follows is a sibling in
/// the tree, not a child). `and`, `or` and comparisons neither count nor reset (they are flat in
/// the tree, but an operand may still be deep).
pub const MAX_EXPR_DEPTH: usize = 20_000;

/// Which limit a file exceeds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitKind {
    Parentheses,
    Indentation,
    FStrings,
    Expression,
}

/// The first place where `source` exceeds a limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LimitError {
    /// Byte offset of the token that exceeds the limit (an opening bracket, the first character
    /// of the over-indented line, the opening quote of the f-string, the operator).
    pub offset: usize,
    pub kind: LimitKind,
}

impl LimitError {
    /// CPython's wording where CPython has one.
    pub fn message(&self) -> String {
        match self.kind {
            LimitKind::Parentheses => "too many nested parentheses".into(),
            LimitKind::Indentation => "too many levels of indentation".into(),
            LimitKind::FStrings => "too many nested f-strings".into(),
            LimitKind::Expression => format!(
                "expression too complex to parse (more than {MAX_EXPR_DEPTH} nested operations)"
            ),
        }
    }
}

impl fmt::Display for LimitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for LimitError {}

#[derive(Clone, Copy, Debug)]
enum Frame {
    /// An open `(`, `[` or `{` in code.
    Bracket,
    /// The replacement field `{...}` of an f-string (code inside).
    Field,
    /// The literal part of an f- or t-string.
    FStr { quote: u8, triple: bool, raw: bool },
    /// The format spec after `:` in a replacement field (literal, with nested fields).
    Spec,
}

/// Per-frame expression counter.
#[derive(Clone, Copy, Debug, Default)]
struct Count {
    n: usize,
    /// Between `lambda` and its `:`: commas and `=` do not end the expression.
    lambda_params: bool,
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    stack: Vec<Frame>,
    /// One counter for the top level and one per frame.
    counts: Vec<Count>,
    total: usize,
    parens: usize,
    fstrings: usize,
    indents: Vec<usize>,
    at_line_start: bool,
    /// The previous token ends a value (a name, literal or closing bracket): a following `(` or
    /// `[` is a call or subscript trailer.
    prev_value: bool,
    /// [`MAX_PAREN_DEPTH`] and [`MAX_FSTRING_DEPTH`] (smaller in tests).
    max_parens: usize,
    max_fstrings: usize,
}

/// What one cheap pass over the bytes proves about a file.
struct Bounds {
    /// Opening bracket bytes (`(`, `[`, `{`), in code or not: no more brackets can be open at
    /// once, and f-string nesting needs a brace per level.
    brackets: usize,
    /// No line starts with [`MAX_INDENT_LEVELS`] whitespace characters (every indentation level
    /// takes at least one).
    shallow_indent: bool,
    /// Fewer tree-deepening tokens in the whole file than [`MAX_EXPR_DEPTH`]: every one of them
    /// (an operator byte, a bracket, `not`, `await`, `if`, `lambda`) is counted at least once
    /// here, so no expression can hold more.
    few_operators: bool,
}

/// How many bytes of `b` `is` (0 or 1) holds for; in chunks of 255 with byte counters, which
/// the compiler vectorizes.
#[inline(always)]
fn count_bytes(b: &[u8], is: impl Fn(u8) -> u8) -> usize {
    b.chunks(255)
        .map(|chunk| usize::from(chunk.iter().fold(0u8, |n, &c| n + is(c))))
        .sum()
}

/// Three cheap passes over the bytes (each a tight loop the compiler vectorizes, or memchr).
fn bounds(b: &[u8]) -> Bounds {
    let brackets = count_bytes(b, |c| {
        u8::from(c == b'(') | u8::from(c == b'[') | u8::from(c == b'{')
    });
    let blanks = |from: usize| {
        b[from.min(b.len())..]
            .iter()
            .take(MAX_INDENT_LEVELS)
            .take_while(|&&c| matches!(c, b' ' | b'\t' | 0x0c))
            .count()
    };
    let shallow_indent = blanks(0) < MAX_INDENT_LEVELS
        && memchr::memchr2_iter(b'\n', b'\r', b).all(|i| blanks(i + 1) < MAX_INDENT_LEVELS);
    // Only a file of at least MAX_EXPR_DEPTH bytes can hold that many operators.
    let few_operators = b.len() < MAX_EXPR_DEPTH || {
        let operators = count_bytes(b, |c| {
            u8::from(matches!(
                c,
                b'(' | b'['
                    | b'.'
                    | b'+'
                    | b'-'
                    | b'*'
                    | b'/'
                    | b'%'
                    | b'@'
                    | b'&'
                    | b'|'
                    | b'^'
                    | b'~'
                    | b'<'
                    | b'>'
            ))
        });
        let words = [&b"not"[..], b"await", b"if", b"lambda"]
            .iter()
            .map(|w| memchr::memmem::find_iter(b, w).count())
            .sum::<usize>();
        operators + words < MAX_EXPR_DEPTH
    };
    Bounds {
        brackets,
        shallow_indent,
        few_operators,
    }
}

/// Fewer opening brackets than this, and a file within the indentation and expression limits,
/// nests too shallowly to endanger the parser or the walkers (on the engine's worker stacks):
/// its bracket and f-string nesting is checked on the parser's tokens instead of by a scan.
pub const TOKEN_CHECK_BRACKETS: usize = 4_000;

/// What [`pre_parse`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PreParse {
    /// Over a limit: the file must not be parsed.
    Exceeds(LimitError),
    /// Within every limit.
    Within,
    /// Safe to parse; the bracket and f-string limits are left to [`check_tokens`].
    CheckTokens,
}

/// What must be known before `source` is parsed. Most files are ruled out by [`bounds`]. A file
/// that may nest brackets or f-strings too deep, but cannot exceed the other two limits, is left
/// to [`check_tokens`] when it has few brackets, else gets the scan that follows only strings,
/// comments and brackets (it finds the same first error as the full scan); the rest get the full
/// scan.
pub fn pre_parse(source: &str) -> PreParse {
    let b = source.as_bytes();
    let bounds = bounds(b);
    let verdict = |r: Result<(), LimitError>| match r {
        Ok(()) => PreParse::Within,
        Err(e) => PreParse::Exceeds(e),
    };
    if !(bounds.shallow_indent && bounds.few_operators) {
        return verdict(Scanner::new(b).run());
    }
    if bounds.brackets < MAX_PAREN_DEPTH.min(MAX_FSTRING_DEPTH) {
        return PreParse::Within;
    }
    if bounds.brackets < TOKEN_CHECK_BRACKETS {
        return PreParse::CheckTokens;
    }
    verdict(scan_brackets(b))
}

/// The brackets-only scan, or the full scan where that one cannot tell.
fn scan_brackets(b: &[u8]) -> Result<(), LimitError> {
    Scanner::new(b)
        .run_brackets_only()
        .unwrap_or_else(|| Scanner::new(b).run())
}

/// Scan `source` for the first nesting limit it exceeds; `None` when it is within all of them.
pub fn check_limits(source: &str) -> Option<LimitError> {
    match pre_parse(source) {
        PreParse::Exceeds(e) => Some(e),
        PreParse::Within => None,
        PreParse::CheckTokens => scan_brackets(source.as_bytes()).err(),
    }
}

/// The first bracket or f-string of a parsed file that exceeds [`MAX_PAREN_DEPTH`] or
/// [`MAX_FSTRING_DEPTH`], from its tokens (kind and start offset): the lexer has already told
/// code from strings and comments. A replacement field's `{` is a bracket, as in CPython 3.12+.
pub fn check_tokens(
    tokens: impl IntoIterator<Item = (ruff_python_ast::token::TokenKind, u32)>,
) -> Option<LimitError> {
    check_tokens_within(tokens, MAX_PAREN_DEPTH, MAX_FSTRING_DEPTH)
}

fn check_tokens_within(
    tokens: impl IntoIterator<Item = (ruff_python_ast::token::TokenKind, u32)>,
    max_parens: usize,
    max_fstrings: usize,
) -> Option<LimitError> {
    use ruff_python_ast::token::TokenKind as T;
    let (mut parens, mut fstrings) = (0usize, 0usize);
    for (kind, at) in tokens {
        let at = at as usize;
        match kind {
            T::Lpar | T::Lsqb | T::Lbrace => {
                if parens >= max_parens {
                    return Some(LimitError {
                        offset: at,
                        kind: LimitKind::Parentheses,
                    });
                }
                parens += 1;
            }
            T::Rpar | T::Rsqb | T::Rbrace => parens = parens.saturating_sub(1),
            T::FStringStart | T::TStringStart => {
                if fstrings >= max_fstrings {
                    return Some(LimitError {
                        offset: at,
                        kind: LimitKind::FStrings,
                    });
                }
                fstrings += 1;
            }
            T::FStringEnd | T::TStringEnd => fstrings = fstrings.saturating_sub(1),
            _ => {}
        }
    }
    None
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// The string prefix `word` is (lowercased), if it is one: `r`, `u`, `b`, `f`, `t` and the
/// two-letter combinations of raw with bytes, f-strings and t-strings.
fn string_prefix(word: &[u8]) -> Option<&'static str> {
    let lower = |i: usize| word[i].to_ascii_lowercase();
    match word.len() {
        1 => match lower(0) {
            b'r' => Some("r"),
            b'u' => Some("u"),
            b'b' => Some("b"),
            b'f' => Some("f"),
            b't' => Some("t"),
            _ => None,
        },
        2 => match (lower(0), lower(1)) {
            (b'b', b'r') | (b'r', b'b') => Some("br"),
            (b'f', b'r') | (b'r', b'f') => Some("fr"),
            (b't', b'r') | (b'r', b't') => Some("tr"),
            _ => None,
        },
        _ => None,
    }
}

/// Keywords after which `(` / `[` is not a trailer.
fn is_keyword(word: &[u8]) -> bool {
    matches!(
        word,
        b"and"
            | b"as"
            | b"assert"
            | b"async"
            | b"await"
            | b"break"
            | b"class"
            | b"continue"
            | b"def"
            | b"del"
            | b"elif"
            | b"else"
            | b"except"
            | b"finally"
            | b"for"
            | b"from"
            | b"global"
            | b"if"
            | b"import"
            | b"in"
            | b"is"
            | b"lambda"
            | b"nonlocal"
            | b"not"
            | b"or"
            | b"pass"
            | b"raise"
            | b"return"
            | b"try"
            | b"while"
            | b"with"
            | b"yield"
    )
}

impl<'a> Scanner<'a> {
    fn new(b: &'a [u8]) -> Self {
        Scanner {
            b,
            i: 0,
            stack: Vec::new(),
            counts: vec![Count::default()],
            total: 0,
            parens: 0,
            fstrings: 0,
            indents: vec![0],
            at_line_start: true,
            prev_value: false,
            max_parens: MAX_PAREN_DEPTH,
            max_fstrings: MAX_FSTRING_DEPTH,
        }
    }

    fn err(&self, offset: usize, kind: LimitKind) -> Result<(), LimitError> {
        Err(LimitError { offset, kind })
    }

    fn peek(&self, k: usize) -> u8 {
        self.b.get(self.i + k).copied().unwrap_or(0)
    }

    fn count(&mut self, at: usize) -> Result<(), LimitError> {
        let c = self.counts.last_mut().expect("top-level counter");
        c.n += 1;
        self.total += 1;
        if self.total > MAX_EXPR_DEPTH {
            return self.err(at, LimitKind::Expression);
        }
        Ok(())
    }

    /// A comma, `;`, assignment or logical newline: what follows is a sibling.
    fn reset(&mut self) {
        let c = self.counts.last_mut().expect("top-level counter");
        if c.lambda_params {
            return;
        }
        self.total -= c.n;
        c.n = 0;
    }

    fn push(&mut self, f: Frame, at: usize) -> Result<(), LimitError> {
        match f {
            Frame::Bracket | Frame::Field => {
                if self.parens >= self.max_parens {
                    return self.err(at, LimitKind::Parentheses);
                }
                self.parens += 1;
            }
            Frame::FStr { .. } => {
                if self.fstrings >= self.max_fstrings {
                    return self.err(at, LimitKind::FStrings);
                }
                self.fstrings += 1;
            }
            Frame::Spec => {}
        }
        self.stack.push(f);
        self.counts.push(Count::default());
        Ok(())
    }

    fn pop(&mut self) {
        if let Some(f) = self.stack.pop() {
            match f {
                Frame::Bracket | Frame::Field => self.parens -= 1,
                Frame::FStr { .. } => self.fstrings -= 1,
                Frame::Spec => {}
            }
            let c = self.counts.pop().expect("one counter per frame");
            self.total -= c.n;
        }
    }

    fn run(&mut self) -> Result<(), LimitError> {
        while self.i < self.b.len() {
            match self.stack.last().copied() {
                Some(Frame::FStr { quote, triple, raw }) => {
                    self.fstring_literal(quote, triple, raw)?
                }
                Some(Frame::Spec) => self.spec_literal()?,
                _ => self.code()?,
            }
        }
        Ok(())
    }

    /// [`Scanner::run`] for a file that cannot exceed the indentation and expression limits:
    /// code is skipped up to the next byte that can open or close a bracket, a string or a
    /// comment, or start a format spec, so only the bracket and f-string limits are checked.
    /// `None` where it cannot tell what the full scan would (a string prefix right after `.`,
    /// `+` or `-`, which may end a number token: `1.f'x'` is the number `1.f` and a plain
    /// string); the caller then runs the full scan.
    fn run_brackets_only(&mut self) -> Option<Result<(), LimitError>> {
        while self.i < self.b.len() {
            let step = match self.stack.last().copied() {
                Some(Frame::FStr { quote, triple, raw }) => {
                    self.fstring_literal(quote, triple, raw).map(|()| true)
                }
                Some(Frame::Spec) => self.spec_literal().map(|()| true),
                _ => self.code_brackets_only(),
            };
            match step {
                Ok(true) => {}
                Ok(false) => return None,
                Err(e) => return Some(Err(e)),
            }
        }
        Some(Ok(()))
    }

    /// One step of [`Scanner::run_brackets_only`] in code; `false` when it cannot tell.
    fn code_brackets_only(&mut self) -> Result<bool, LimitError> {
        static SIGNIFICANT: [bool; 256] = {
            let mut t = [false; 256];
            let bytes = b"#'\"()[]{}:";
            let mut i = 0;
            while i < bytes.len() {
                t[bytes[i] as usize] = true;
                i += 1;
            }
            t
        };
        let Some(k) = self.b[self.i..]
            .iter()
            .position(|&c| SIGNIFICANT[c as usize])
        else {
            self.i = self.b.len();
            return Ok(true);
        };
        let at = self.i + k;
        self.i = at;
        let c = self.b[at];
        match c {
            b'#' => {
                self.i =
                    memchr::memchr2(b'\n', b'\r', &self.b[at..]).map_or(self.b.len(), |k| at + k);
            }
            b'\'' | b'"' => {
                // The word right before the quote is its prefix if it is one (the full scan
                // reads it as one identifier or number token ending at the quote).
                let mut start = at;
                while start > 0 && is_ident_byte(self.b[start - 1]) {
                    start -= 1;
                }
                match string_prefix(&self.b[start..at]) {
                    Some(_) if start > 0 && matches!(self.b[start - 1], b'.' | b'+' | b'-') => {
                        return Ok(false);
                    }
                    Some(prefix) => self.string(start, prefix)?,
                    None => self.string(at, "")?,
                }
            }
            b'(' | b'[' | b'{' => {
                self.i += 1;
                self.push(Frame::Bracket, at)?;
            }
            b')' | b']' | b'}' => self.close_bracket(c),
            _ => {
                // `:`: a format spec at the top of a replacement field, as in `code`.
                self.i += 1;
                if matches!(self.stack.last(), Some(Frame::Field)) && self.peek(0) != b'=' {
                    self.push(Frame::Spec, at)?;
                } else if self.peek(0) == b'=' {
                    self.i += 1;
                }
            }
        }
        Ok(true)
    }

    /// A closing bracket in code: it closes the open bracket, or a replacement field with `}`.
    fn close_bracket(&mut self, c: u8) {
        self.i += 1;
        match self.stack.last() {
            Some(Frame::Field) if c == b'}' => self.pop(),
            Some(Frame::Bracket) => self.pop(),
            _ => {}
        }
    }

    /// The length of the newline at `i` (`\n`, `\r\n`, `\r`), 0 if none.
    fn newline_len(&self, i: usize) -> usize {
        match self.b.get(i) {
            Some(b'\n') => 1,
            Some(b'\r') if self.b.get(i + 1) == Some(&b'\n') => 2,
            Some(b'\r') => 1,
            _ => 0,
        }
    }

    /// At the start of a line outside brackets: measure the indentation of a logical line.
    fn line_start(&mut self) -> Result<(), LimitError> {
        self.at_line_start = false;
        let mut col = 0usize;
        let mut j = self.i;
        while let Some(&c) = self.b.get(j) {
            match c {
                b' ' => col += 1,
                b'\t' => col = (col / 8 + 1) * 8,
                0x0c => col = 0,
                _ => break,
            }
            j += 1;
        }
        self.i = j;
        match self.b.get(j) {
            // Blank and comment-only lines do not count.
            None | Some(b'#') | Some(b'\n') | Some(b'\r') => return Ok(()),
            _ => {}
        }
        let top = *self.indents.last().expect("base indentation");
        if col > top {
            if self.indents.len() > MAX_INDENT_LEVELS {
                return self.err(j, LimitKind::Indentation);
            }
            self.indents.push(col);
        } else {
            while self.indents.len() > 1 && *self.indents.last().expect("non-empty") > col {
                self.indents.pop();
            }
        }
        Ok(())
    }

    fn code(&mut self) -> Result<(), LimitError> {
        if self.at_line_start && self.stack.is_empty() {
            self.line_start()?;
            if self.i >= self.b.len() {
                return Ok(());
            }
        }
        let at = self.i;
        let c = self.b[at];
        match c {
            b' ' | b'\t' | 0x0c => {
                self.i += 1;
                while matches!(self.b.get(self.i), Some(b' ' | b'\t' | 0x0c)) {
                    self.i += 1;
                }
            }
            b'#' => {
                self.i = memchr::memchr2(b'\n', b'\r', &self.b[self.i..])
                    .map_or(self.b.len(), |k| self.i + k);
            }
            b'\n' | b'\r' => {
                self.i += self.newline_len(at);
                if self.stack.is_empty() {
                    self.at_line_start = true;
                    self.prev_value = false;
                    let c = self.counts.last_mut().expect("top-level counter");
                    c.lambda_params = false;
                    self.reset();
                }
            }
            b'\\' => {
                // A line continuation: not a new logical line.
                let n = self.newline_len(at + 1);
                self.i += 1 + n;
            }
            b'\'' | b'"' => {
                self.string(at, "")?;
                self.prev_value = true;
            }
            b'0'..=b'9' => {
                self.number();
                self.prev_value = true;
            }
            b'.' if self.peek(1).is_ascii_digit() => {
                self.number();
                self.prev_value = true;
            }
            c if is_ident_byte(c) => {
                let start = self.i;
                while self.i < self.b.len() && is_ident_byte(self.b[self.i]) {
                    self.i += 1;
                }
                let word = &self.b[start..self.i];
                let next = self.peek(0);
                if (next == b'\'' || next == b'"')
                    && let Some(prefix) = string_prefix(word)
                {
                    self.string(start, prefix)?;
                    self.prev_value = true;
                    return Ok(());
                }
                match word {
                    b"not" | b"await" | b"if" => self.count(start)?,
                    b"lambda" => {
                        self.count(start)?;
                        self.counts.last_mut().expect("counter").lambda_params = true;
                    }
                    _ => {}
                }
                self.prev_value = !is_keyword(word);
            }
            b'(' | b'[' | b'{' => {
                if self.prev_value {
                    self.count(at)?;
                }
                self.i += 1;
                self.push(Frame::Bracket, at)?;
                self.prev_value = false;
            }
            b')' | b']' | b'}' => {
                self.close_bracket(c);
                self.prev_value = true;
            }
            b':' => {
                self.i += 1;
                if matches!(self.stack.last(), Some(Frame::Field)) && self.peek(0) != b'=' {
                    // `f"{x:>10}"`: the format spec. (`:=` at the top of a field is a spec
                    // too in CPython, but `{x:=...}` with `=...` as the spec has no nesting.)
                    self.push(Frame::Spec, at)?;
                } else if self.peek(0) == b'=' {
                    self.i += 1; // walrus: neither counts nor resets
                } else {
                    self.counts.last_mut().expect("counter").lambda_params = false;
                }
                self.prev_value = false;
            }
            b',' | b';' => {
                self.i += 1;
                self.reset();
                self.prev_value = false;
            }
            _ => {
                self.operator()?;
                self.prev_value = false;
            }
        }
        Ok(())
    }

    fn number(&mut self) {
        let start = self.i;
        let hex = self.b[start] == b'0' && matches!(self.peek(1), b'x' | b'X');
        while let Some(&c) = self.b.get(self.i) {
            let exponent_sign =
                (c == b'+' || c == b'-') && !hex && matches!(self.b[self.i - 1], b'e' | b'E');
            if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exponent_sign {
                self.i += 1;
            } else {
                break;
            }
        }
    }

    fn operator(&mut self) -> Result<(), LimitError> {
        let at = self.i;
        const OPS3: &[&[u8]] = &[b"**=", b"//=", b">>=", b"<<=", b"..."];
        const OPS2: &[&[u8]] = &[
            b"**", b"//", b">>", b"<<", b"==", b"!=", b"<=", b">=", b"->", b"+=", b"-=", b"*=",
            b"/=", b"%=", b"@=", b"&=", b"|=", b"^=", b"<>",
        ];
        let rest = &self.b[at..];
        // Every operator of two or three bytes starts with one of these.
        let op: &[u8] = if !matches!(
            rest[0],
            b'*' | b'/'
                | b'>'
                | b'<'
                | b'.'
                | b'='
                | b'!'
                | b'-'
                | b'+'
                | b'%'
                | b'@'
                | b'&'
                | b'|'
                | b'^'
        ) {
            &rest[..1]
        } else if let Some(op) = OPS3.iter().find(|op| rest.starts_with(op)) {
            op
        } else if let Some(op) = OPS2.iter().find(|op| rest.starts_with(op)) {
            op
        } else {
            &rest[..1]
        };
        self.i += op.len();
        match op {
            b"..." => {}
            b"==" | b"!=" | b"<=" | b">=" | b"<>" | b"<" | b">" => {}
            b"->" => self.reset(),
            o if o.ends_with(b"=") => self.reset(),
            b"+" | b"-" | b"*" | b"/" | b"//" | b"%" | b"@" | b"**" | b"<<" | b">>" | b"&"
            | b"|" | b"^" | b"~" | b"." => self.count(at)?,
            _ => {}
        }
        Ok(())
    }

    /// A string literal starting at its prefix `start`; `self.i` is at the opening quote.
    fn string(&mut self, start: usize, prefix: &str) -> Result<(), LimitError> {
        let q = self.b[self.i];
        let triple = self.peek(1) == q && self.peek(2) == q;
        let raw = prefix.contains('r');
        self.i += if triple { 3 } else { 1 };
        if prefix.contains('f') || prefix.contains('t') {
            return self.push(
                Frame::FStr {
                    quote: q,
                    triple,
                    raw,
                },
                start,
            );
        }
        // A plain string: skip to its end. A backslash keeps the next character (even in raw
        // strings, where it stays in the value but still protects a quote).
        while self.i < self.b.len() {
            // Skip to the next byte that matters: a backslash or the quote, and for a
            // single-quoted string a line end.
            let rest = &self.b[self.i..];
            let next = if triple {
                memchr::memchr2(b'\\', q, rest)
            } else {
                memchr::memchr3(b'\\', q, b'\n', rest)
                    .map(|k| memchr::memchr(b'\r', &rest[..k]).unwrap_or(k))
                    .or_else(|| memchr::memchr(b'\r', rest))
            };
            match next {
                Some(k) => self.i += k,
                None => {
                    self.i = self.b.len();
                    return Ok(());
                }
            }
            let c = self.b[self.i];
            if c == b'\\' {
                self.i += 1 + self.newline_len(self.i + 1).max(1);
            } else if c == q && (!triple || (self.peek(1) == q && self.peek(2) == q)) {
                self.i += if triple { 3 } else { 1 };
                return Ok(());
            } else if !triple && matches!(c, b'\n' | b'\r') {
                // Unterminated: the parser reports it; the newline is code again.
                return Ok(());
            } else {
                self.i += 1;
            }
        }
        Ok(())
    }

    fn fstring_literal(&mut self, quote: u8, triple: bool, raw: bool) -> Result<(), LimitError> {
        while self.i < self.b.len() {
            let at = self.i;
            let c = self.b[at];
            match c {
                b'\\' => {
                    let next = self.peek(1);
                    if raw {
                        self.i += if next == quote || next == b'\\' { 2 } else { 1 };
                    } else if next == b'N' && self.peek(2) == b'{' {
                        // `\N{NAME}` is an escape, not a replacement field.
                        self.i += 3;
                        while self.i < self.b.len() && !matches!(self.b[self.i], b'}' | b'\n') {
                            self.i += 1;
                        }
                        self.i += 1;
                    } else {
                        self.i += 1 + self.newline_len(at + 1).max(1);
                    }
                }
                b'{' if self.peek(1) == b'{' => self.i += 2,
                b'}' if self.peek(1) == b'}' => self.i += 2,
                b'{' => {
                    self.i += 1;
                    self.prev_value = false;
                    return self.push(Frame::Field, at);
                }
                c if c == quote
                    && (!triple || (self.peek(1) == quote && self.peek(2) == quote)) =>
                {
                    self.i += if triple { 3 } else { 1 };
                    self.pop();
                    self.prev_value = true;
                    return Ok(());
                }
                b'\n' | b'\r' if !triple => {
                    // Unterminated: give the newline back to the code around it.
                    self.pop();
                    return Ok(());
                }
                _ => self.i += 1,
            }
        }
        Ok(())
    }

    fn spec_literal(&mut self) -> Result<(), LimitError> {
        while self.i < self.b.len() {
            let at = self.i;
            match self.b[at] {
                b'\\' => self.i += 2,
                b'{' => {
                    self.i += 1;
                    self.prev_value = false;
                    return self.push(Frame::Field, at);
                }
                b'}' => {
                    // The end of the spec and of its replacement field.
                    self.i += 1;
                    self.pop();
                    if matches!(self.stack.last(), Some(Frame::Field)) {
                        self.pop();
                    }
                    return Ok(());
                }
                b'\n' | b'\r' => {
                    // Only a triple-quoted f-string may continue its spec on the next line.
                    let enclosing_triple = self.stack.iter().rev().find_map(|f| match f {
                        Frame::FStr { triple, .. } => Some(*triple),
                        _ => None,
                    });
                    if enclosing_triple == Some(true) {
                        self.i += 1;
                    } else {
                        self.pop();
                        if matches!(self.stack.last(), Some(Frame::Field)) {
                            self.pop();
                        }
                        if matches!(self.stack.last(), Some(Frame::FStr { .. })) {
                            self.pop();
                        }
                        return Ok(());
                    }
                }
                q @ (b'\'' | b'"') => {
                    // The closing quote of the enclosing f-string ends it (invalid code).
                    let closes = self.stack.iter().rev().find_map(|f| match f {
                        Frame::FStr { quote, .. } => Some(*quote == q),
                        _ => None,
                    });
                    if closes == Some(true) {
                        while !matches!(self.stack.last(), Some(Frame::FStr { .. }) | None) {
                            self.pop();
                        }
                        return Ok(());
                    }
                    self.i += 1;
                }
                _ => self.i += 1,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(src: &str) -> Option<LimitKind> {
        check_limits(src).map(|e| e.kind)
    }

    #[test]
    fn brackets_up_to_200_are_fine_201_is_not() {
        let ok = format!("x = {}1{}\n", "(".repeat(200), ")".repeat(200));
        assert_eq!(kind(&ok), None);
        let bad = format!("x = {}1{}\n", "(".repeat(201), ")".repeat(201));
        let e = check_limits(&bad).unwrap();
        assert_eq!(e.kind, LimitKind::Parentheses);
        assert_eq!(e.offset, 4 + 200);
        assert_eq!(e.message(), "too many nested parentheses");
        let mixed = format!("x = {}{}\n", "[{(".repeat(67), ")}]".repeat(67));
        assert_eq!(kind(&mixed), Some(LimitKind::Parentheses));
    }

    #[test]
    fn indentation_up_to_99_levels() {
        let src = |n: usize| {
            let mut s = String::new();
            for i in 0..n {
                s.push_str(&" ".repeat(i));
                s.push_str("if x:\n");
            }
            s.push_str(&" ".repeat(n));
            s.push_str("pass\n");
            s
        };
        assert_eq!(kind(&src(99)), None);
        let e = check_limits(&src(100)).unwrap();
        assert_eq!(e.kind, LimitKind::Indentation);
        assert_eq!(e.message(), "too many levels of indentation");
        // Dedenting frees levels.
        let twice = format!("{}{}", src(60), src(60));
        assert_eq!(kind(&twice), None);
        // Blank lines, comment lines and lines inside brackets or strings do not count.
        let mut s = String::from("x = (\n");
        for i in 0..150 {
            s.push_str(&" ".repeat(i + 1));
            s.push_str("1,\n");
        }
        s.push_str(")\ny = '''\n");
        for i in 0..150 {
            s.push_str(&" ".repeat(i + 1));
            s.push_str("text\n");
        }
        s.push_str("'''\n");
        for i in 0..150 {
            s.push_str(&" ".repeat(i + 1));
            s.push_str("# comment\n");
        }
        assert_eq!(kind(&s), None);
    }

    #[test]
    fn nested_fstrings_up_to_149() {
        let nest = |n: usize| {
            let mut s = "x".to_string();
            for _ in 0..n {
                s = format!("f\"{{{s}}}\"");
            }
            format!("y = {s}\n")
        };
        assert_eq!(kind(&nest(99)), None);
        assert_eq!(kind(&nest(149)), None);
        assert_eq!(kind(&nest(150)), Some(LimitKind::FStrings));
        assert_eq!(kind(&nest(10_000)), Some(LimitKind::FStrings));
    }

    #[test]
    fn fstring_fields_count_as_brackets() {
        let inner = format!("{}1{}", "(".repeat(199), ")".repeat(199));
        assert_eq!(kind(&format!("y = f'{{{inner}}}'\n")), None);
        let inner = format!("{}1{}", "(".repeat(200), ")".repeat(200));
        assert_eq!(
            kind(&format!("y = f'{{{inner}}}'\n")),
            Some(LimitKind::Parentheses)
        );
        // `{{` is not a field; `\N{...}` is not a field.
        let s = format!("y = f'{}'\n", "{{".repeat(500));
        assert_eq!(kind(&s), None);
        let s = format!("y = f'{}'\n", "\\N{BULLET}".repeat(500));
        assert_eq!(kind(&s), None);
    }

    #[test]
    fn strings_and_comments_are_skipped() {
        let opens = "(".repeat(1000);
        for src in [
            format!("x = '{opens}'\n"),
            format!("x = \"{opens}\"\n"),
            format!("x = '''\n{opens}\n'''\n"),
            format!("x = \"\"\"\n{opens}\n\"\"\"\n"),
            format!("x = r'\\'{opens}'\n"),
            format!("x = rb'{opens}'\n"),
            format!("x = b'\\'{opens}'\n"),
            format!("# {opens}\nx = 1\n"),
            format!("x = 1  # {opens}\n"),
            format!("x = f'{{a!r:>{{w}}}}{opens}'\n"),
            format!("x = f'{{a}}' '{opens}'\n"),
            format!("x = Rb'''{opens}'''\n"),
        ] {
            assert_eq!(kind(&src), None, "{src}");
        }
        // A name that is not a prefix, then a string: still a string.
        assert_eq!(kind(&format!("x = bar'{opens}'\n")), None);
        // An f-string's literal part is text; its fields are code.
        let fields = format!("x = f'{}'\n", "{(".repeat(201));
        assert_eq!(kind(&fields), Some(LimitKind::Parentheses));
    }

    #[test]
    fn sixty_thousand_deep_inputs_are_rejected() {
        let n = 60_000;
        let genexp = format!("x = {}x{}\n", "(x for x in ".repeat(n), ")".repeat(n));
        assert_eq!(kind(&genexp), Some(LimitKind::Parentheses));
        let q = format!("x = {}1{}\n", "Q(".repeat(n), ")".repeat(n));
        assert_eq!(kind(&q), Some(LimitKind::Parentheses));
        let slices = format!("x = a{}0{}\n", "[1:".repeat(n), "]".repeat(n));
        assert_eq!(kind(&slices), Some(LimitKind::Parentheses));
        for flat in [
            format!("y = {}x\n", "not ".repeat(n)),
            format!("y = {}x\n", "-".repeat(n)),
            format!("y = x{}\n", ".a".repeat(n)),
            format!("y = x{}\n", "()".repeat(n)),
            format!("y = x{}\n", "[0]".repeat(n)),
            format!("y = x{}\n", "+x".repeat(n)),
            format!("y = {}x\n", "x**".repeat(n)),
            format!("y = {}x\n", "lambda:".repeat(n)),
            format!("y = {}x\n", "lambda a, b=1: ".repeat(n)),
            format!("y = {}x\n", "a if b else ".repeat(n)),
            format!("async def f():\n    y = {}x\n", "await ".repeat(n)),
        ] {
            let e = check_limits(&flat).unwrap_or_else(|| panic!("{}", &flat[..40]));
            assert_eq!(e.kind, LimitKind::Expression, "{}", &flat[..40]);
        }
    }

    #[test]
    fn what_cpython_accepts_is_accepted() {
        // CPython 3.13 compiles left-nested chains of up to about 10,000 operators.
        let n = 10_000;
        for ok in [
            format!("y = x{}\n", "+x".repeat(n)),
            format!("y = x{}\n", ".a".repeat(n)),
            format!("y = {}x\n", "-".repeat(n)),
            // Flat in the tree: any length.
            format!("y = x{}\n", " and x".repeat(100_000)),
            format!("y = x{}\n", " < x".repeat(100_000)),
            format!("y = [{}]\n", "a.b.c + 1, ".repeat(100_000)),
            format!("y = {{{}}}\n", "'k': v.w, ".repeat(100_000)),
            "x = a.b.c(1)\n".repeat(100_000),
            format!("x = 1.5e-3{}\n", " + 1.5e-3".repeat(100)),
        ] {
            assert_eq!(kind(&ok), None, "{}", &ok[..40]);
        }
    }

    #[test]
    fn hundred_thousand_lines() {
        let mut s = String::new();
        for i in 0..100_000 {
            s.push_str(&format!("x{i} = a.b.c({i})\n"));
        }
        let t = std::time::Instant::now();
        assert_eq!(kind(&s), None);
        assert!(t.elapsed().as_secs() < 5);
    }

    #[test]
    fn real_code_shapes() {
        let src = r#"
import os


class A(object):
    """Doc with ( and [ and { and ' and \" """

    def f(self, x: int = 1, *args, **kwargs) -> "A":
        if x:
            return {k: v for k, v in kwargs.items() if v}
        elif x is None:
            y = lambda a, b=2: a + b
            return f"{self!r:>{x}} {x:%Y-%m-%d} {'a' + "b"} {x=} {{literal}}"
        else:
            s = rf"\d{x}\{{" + b"\x00" + u'\N{BULLET}'
            return s[1:2, ::3]  # trailing (


def g():
    x = 1 + \
        2
    return (
        x
    )
"#;
        assert_eq!(kind(src), None);
    }
    /// The brackets-only scan finds the same first error as the full scan whenever the file
    /// cannot exceed the other limits: random token soups (strings of every prefix and quote,
    /// f-string fields and specs, escapes, comments, line ends) against small limits.
    #[test]
    fn brackets_only_scan_agrees_with_the_full_scan() {
        const PIECES: &[&str] = &[
            "(", ")", "[", "]", "{", "}", "{{", "}}", "\"", "'", "\"\"\"", "\'\'\'", "f\"", "f'",
            "rf\"", "t'", "b\"", "rb'", "F\"\"\"", "x", "1.", "0x1f", " ", "\n", "\r\n", "\r",
            "\\", "\\\n", "#", ":", "=", ":=", "!r", "\\N{", "abc", "f", "r",
        ];
        let mut next = crate::test_rng(0x2545_f491_4f6c_dd1d_u64);
        let (mut errors, mut unsure) = (0, 0);
        for _ in 0..20_000 {
            let len = 1 + next(60);
            let src: String = (0..len).map(|_| PIECES[next(PIECES.len())]).collect();
            let limits = (1 + next(4), 1 + next(3));
            let scanner = || {
                let mut s = Scanner::new(src.as_bytes());
                (s.max_parens, s.max_fstrings) = limits;
                s
            };
            // Inputs this short cannot reach the indentation or expression limits.
            let full = scanner().run().err();
            errors += usize::from(full.is_some());
            match scanner().run_brackets_only() {
                Some(fast) => assert_eq!(fast.err(), full, "{src:?} with limits {limits:?}"),
                None => unsure += 1,
            }
        }
        assert!(
            unsure < 2_000,
            "the brackets-only scan gave up on {unsure} inputs"
        );
        assert!(errors > 1_000, "only {errors} inputs exceeded a limit");
    }
    /// On code that parses, the check on the parser's tokens finds exactly what the scan finds:
    /// random nestings of brackets, calls, subscripts, dicts, f-strings (fields, specs,
    /// conversions, escaped braces, quotes reused inside fields) and strings and comments full
    /// of brackets, against small limits.
    #[test]
    fn the_token_check_agrees_with_the_scan() {
        use ruff_python_parser::{Mode, ParseOptions, parse_unchecked};
        use ruff_text_size::Ranged;
        let mut next = crate::test_rng(0x9e37_79b9_7f4a_7c15_u64);
        fn expr(depth: usize, next: &mut dyn FnMut(usize) -> usize) -> String {
            if depth == 0 {
                return ["x", "1", "'a(b'", "\")]}\"", "f'{{)'", "None"][next(6)].to_string();
            }
            let choice = next(10);
            let a = expr(depth - 1, next);
            let b = expr(depth - 1, next);
            match choice {
                0 => format!("({a})"),
                1 => format!("[{a}, {b}]"),
                2 => format!("{{{a}: {b}}}"),
                3 => format!("f({a})"),
                4 => format!("a[{a}]"),
                // A space after each field's `{`: a dict display there is not read as `{{`.
                5 => format!("f\"{{ {a}}}\""),
                6 => format!("f'{{ {a}:>{{ {b}}}}}'"),
                7 => format!("f\"{{{{x}}}}{{ {a}!r}}\""),
                8 => format!("rf'\\d{{ {a}}}'"),
                _ => format!("{a} + {b}"),
            }
        }
        let mut errors = 0;
        for _ in 0..3_000 {
            let depth = 1 + next(6);
            let src = format!(
                "y = {}  # ) ] }}\n\"\"\"\n)]}}\n\"\"\"\nz = {}\n",
                expr(depth, &mut next),
                expr(depth, &mut next)
            );
            let parsed = parse_unchecked(&src, ParseOptions::from(Mode::Module));
            assert!(parsed.errors().is_empty(), "{src:?}: {:?}", parsed.errors());
            let limits = (1 + next(5), 1 + next(3));
            let mut scanner = Scanner::new(src.as_bytes());
            (scanner.max_parens, scanner.max_fstrings) = limits;
            let scanned = scanner.run().err();
            let tokens = parsed
                .tokens()
                .iter()
                .map(|t| (t.kind(), t.start().to_u32()));
            let checked = check_tokens_within(tokens, limits.0, limits.1);
            assert_eq!(checked, scanned, "{src:?} with limits {limits:?}");
            errors += usize::from(scanned.is_some());
        }
        assert!(errors > 500, "only {errors} inputs exceeded a limit");
    }

    #[test]
    fn files_with_many_brackets_are_checked_on_their_tokens() {
        let flat = "x = f(a[1], {2: (3,)})\n".repeat(40);
        assert_eq!(pre_parse(&flat), PreParse::CheckTokens);
        let deep = format!("{flat}y = {}1{}\n", "(".repeat(201), ")".repeat(201));
        assert_eq!(pre_parse(&deep), PreParse::CheckTokens);
        assert_eq!(kind(&deep), Some(LimitKind::Parentheses));
        let huge = format!(
            "y = {}1{}\n",
            "(".repeat(TOKEN_CHECK_BRACKETS),
            ")".repeat(TOKEN_CHECK_BRACKETS)
        );
        assert_eq!(
            pre_parse(&huge),
            PreParse::Exceeds(LimitError {
                offset: 4 + 200,
                kind: LimitKind::Parentheses
            })
        );
    }
}
