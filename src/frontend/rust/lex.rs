//! One pass over Rust source without a parser: the `//` comments (for `// noqa`) and the deepest
//! bracket nesting (syn recurses per level: a file nested deeper than [`MAX_NESTING`] is a
//! TEN900 and never reaches it). Strings, raw strings, byte strings, char literals and block
//! comments are skipped.

/// Deeper than this many brackets, a file is not parsed (rustc itself stops at its recursion
/// limit long before any hand-written code gets there).
pub const MAX_NESTING: usize = 256;

pub struct Scan {
    /// `(byte offset of the comment's `//`, end of its line)`.
    pub line_comments: Vec<(usize, usize)>,
    /// Where the nesting first went past [`MAX_NESTING`].
    pub too_deep: Option<usize>,
    /// Byte ranges of string literals and block comments that span lines (a line ending inside
    /// one cannot take a `// noqa`).
    pub multiline: Vec<(usize, usize)>,
}

pub fn scan(src: &str) -> Scan {
    let b = src.as_bytes();
    let mut out = Scan {
        line_comments: Vec::new(),
        too_deep: None,
        multiline: Vec::new(),
    };
    let note = |out: &mut Scan, start: usize, end: usize| {
        if memchr::memchr(b'\n', &b[start..end.min(b.len())]).is_some() {
            out.multiline.push((start, end.min(b.len())));
        }
    };
    let mut depth = 0usize;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |e| i + e);
                out.line_comments.push((i, end));
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                // Block comments nest in Rust.
                let start = i;
                let mut level = 1;
                i += 2;
                while i < b.len() && level > 0 {
                    if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                        level += 1;
                        i += 2;
                    } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                        level -= 1;
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                note(&mut out, start, i);
            }
            b'r' | b'b' | b'c' if !prev_is_ident(b, i) && raw_string_start(b, i).is_some() => {
                let (hashes, quote) = raw_string_start(b, i).unwrap_or((0, i));
                let mut j = quote + 1;
                loop {
                    match memchr::memchr(b'"', &b[j.min(b.len())..]) {
                        None => {
                            j = b.len();
                            break;
                        }
                        Some(k) => {
                            let q = j + k;
                            if b[q + 1..]
                                .iter()
                                .take(hashes)
                                .filter(|&&h| h == b'#')
                                .count()
                                == hashes
                            {
                                j = q + 1 + hashes;
                                break;
                            }
                            j = q + 1;
                        }
                    }
                }
                note(&mut out, i, j);
                i = j;
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
                note(&mut out, start, i);
            }
            b'\'' => {
                // A char literal ('x', '\n', '\u{..}') or a lifetime ('a): a literal closes
                // with a quote within a few bytes.
                if b.get(i + 1) == Some(&b'\\') {
                    let mut j = i + 2;
                    while j < b.len() && j < i + 12 && b[j] != b'\'' {
                        j += 1;
                    }
                    i = j + 1;
                } else {
                    let ch_len = src[i + 1..].chars().next().map_or(1, char::len_utf8);
                    if b.get(i + 1 + ch_len) == Some(&b'\'') {
                        i += 2 + ch_len;
                    } else {
                        i += 1;
                    }
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_NESTING && out.too_deep.is_none() {
                    out.too_deep = Some(i);
                }
                i += 1;
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            _ => i += 1,
        }
    }
    out
}

fn prev_is_ident(b: &[u8], i: usize) -> bool {
    i > 0 && (b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')
}

/// `r"`, `r#"`, `br"`, `cr#"`...: the number of hashes and the offset of the opening quote.
pub(super) fn raw_string_start(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let mut j = i;
    if b[j] == b'b' || b[j] == b'c' {
        j += 1;
    }
    if b.get(j) != Some(&b'r') {
        return None;
    }
    j += 1;
    let mut hashes = 0;
    while b.get(j) == Some(&b'#') {
        hashes += 1;
        j += 1;
    }
    (b.get(j) == Some(&b'"')).then_some((hashes, j))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_outside_strings_only() {
        let src = "let a = \"// not\"; // noqa: TEN201\nlet b = r#\"x // no\"#; let c = '/'; // two\n/* // block */ fn f<'a>() {} // three";
        let s = scan(src);
        let texts: Vec<&str> = s
            .line_comments
            .iter()
            .map(|&(a, e)| &src[a + 2..e])
            .collect();
        assert_eq!(texts, vec![" noqa: TEN201", " two", " three"]);
        assert!(s.too_deep.is_none());
    }

    #[test]
    fn deep_nesting_is_found() {
        let src = format!("fn f() {{ {} }}", "(".repeat(300));
        assert!(scan(&src).too_deep.is_some());
    }
}
