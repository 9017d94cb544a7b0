//! The fast path for Rust files that cannot hold a query, SQL, cache or session-variable fact:
//! most files of a service (domain types, handlers' plumbing, errors, config). A byte-level
//! tokenizer (strings, raw strings, chars, lifetimes, nested and doc comments, brackets) looks
//! for the tokens every such fact needs ([`may_hold_facts`]); a file without any of them is not
//! given to `syn` as a whole. Its facts are then only what other files and TEN001 read from it:
//! its `use` items and its functions' names and parameters, taken from the token stream with
//! `syn` parsing just each `use` item, signature and test attribute (the same code the full walk
//! runs on them), so the facts are those of a full parse.
//!
//! What a skipped file loses is the syntax check: a file `syn` could not parse is a TEN900 only
//! when it holds a marker, or when its brackets or literals do not close (then it is parsed in
//! full and `syn` says where). `rustc` reports every syntax error anyway.
//!
//! The full parse can be forced with `TENANTLINT_RUST_FULL_PARSE=1` (to compare the two paths).

use super::facts::{Param, RustFacts, RustFn, UseFact};
use super::lex::raw_string_start;
use super::visit::is_test_attr;
use crate::locate::Span;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Ident,
    Punct,
    Open,
    Close,
    /// A string, char, byte or number literal: `start..end` is the whole token.
    Lit,
    /// A string literal (`"..."`, raw, byte or C): its text can be SQL.
    Str,
    /// `///`, `//!`, `/** */`, `/*! */`: `syn` reads them as `#[doc = "..."]` string literals.
    Doc,
    Lifetime,
}

#[derive(Clone, Copy, Debug)]
struct Tok {
    kind: Kind,
    start: u32,
    end: u32,
    /// For `Open`: the index of its `Close`; for `Punct`/`Open`/`Close`: unused.
    pair: u32,
}

/// The lexer gave up: an unterminated literal or comment, or brackets that do not match.
pub(super) struct Broken;

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

/// Where the code starts: after a BOM and a shebang line (as `syn` strips them).
pub(super) fn code_start(source: &str) -> usize {
    let mut base = 0;
    if source.starts_with('\u{feff}') {
        base = 3;
    }
    if source[base..].starts_with("#!") && !source[base + 2..].trim_start().starts_with('[') {
        base += source[base..].find('\n').unwrap_or(source.len() - base);
    }
    base
}

/// A file's tokens, with what [`super::lex::scan`] would find in the same pass: its `//`
/// comments and where its brackets first nest deeper than [`super::lex::MAX_NESTING`].
pub(super) struct Tokens {
    toks: Vec<Tok>,
    /// `(start of the //, end of its line)` of every line comment, doc comments included.
    pub comments: Vec<(usize, usize)>,
    pub too_deep: Option<usize>,
}

pub(super) fn tokenize(src: &str, from: usize) -> Result<Tokens, Broken> {
    let b = src.as_bytes();
    let mut out: Vec<Tok> = Vec::with_capacity(b.len() / 4);
    let mut comments: Vec<(usize, usize)> = Vec::new();
    let mut too_deep = None;
    let mut opens: Vec<usize> = Vec::new();
    let mut i = from;
    let push = |out: &mut Vec<Tok>, kind, start: usize, end: usize| {
        out.push(Tok {
            kind,
            start: start as u32,
            end: end as u32,
            pair: 0,
        })
    };
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c => {
                // Runs of indentation in one loop rather than one dispatch a byte.
                i += 1;
                while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                let end = memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |e| i + e);
                // `///x` and `//!x` are doc comments; `////x` is not.
                let doc = (b.get(i + 2) == Some(&b'/') && b.get(i + 3) != Some(&b'/'))
                    || b.get(i + 2) == Some(&b'!');
                if doc {
                    push(&mut out, Kind::Doc, i, end);
                }
                comments.push((i, end));
                i = end;
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                let start = i;
                let mut level = 1;
                i += 2;
                while level > 0 {
                    let Some(k) = memchr::memchr2(b'*', b'/', &b[i.min(b.len())..]) else {
                        return Err(Broken);
                    };
                    i += k;
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
                let doc = (b.get(start + 2) == Some(&b'*')
                    && !matches!(b.get(start + 3), Some(b'*' | b'/')))
                    || b.get(start + 2) == Some(&b'!');
                if doc {
                    push(&mut out, Kind::Doc, start, i);
                }
            }
            b'"' => {
                let start = i;
                i = string_end(b, i + 1)?;
                push(&mut out, Kind::Str, start, i);
            }
            b'\'' => i = quote(src, i, &mut out)?,
            b'(' | b'[' | b'{' => {
                opens.push(out.len());
                if opens.len() > super::lex::MAX_NESTING && too_deep.is_none() {
                    too_deep = Some(i);
                }
                push(&mut out, Kind::Open, i, i + 1);
                i += 1;
            }
            b')' | b']' | b'}' => {
                let want = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                let Some(o) = opens.pop() else {
                    return Err(Broken);
                };
                if b[out[o].start as usize] != want {
                    return Err(Broken);
                }
                let here = out.len() as u32;
                out[o].pair = here;
                push(&mut out, Kind::Close, i, i + 1);
                out.last_mut().expect("just pushed").pair = o as u32;
                i += 1;
            }
            c if c.is_ascii_digit() => {
                let start = i;
                i += 1;
                while i < b.len()
                    && (is_ident_char(b[i])
                        || (b[i] == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit)))
                {
                    i += 1;
                }
                push(&mut out, Kind::Lit, start, i);
            }
            c if is_ident_start(c) => {
                let start = i;
                // Literal prefixes: b"..", br"..", r#"..."#, c"..", cr"..", b'x'.
                if let Some((hashes, q)) = raw_string_start(b, i) {
                    i = raw_string_end(b, q + 1, hashes)?;
                    push(&mut out, Kind::Str, start, i);
                    continue;
                }
                if (c == b'b' || c == b'c') && b.get(i + 1) == Some(&b'"') {
                    i = string_end(b, i + 2)?;
                    push(&mut out, Kind::Str, start, i);
                    continue;
                }
                if c == b'b' && b.get(i + 1) == Some(&b'\'') {
                    i = quote(src, i + 1, &mut out)?;
                    continue;
                }
                // A raw identifier `r#name`.
                if c == b'r'
                    && b.get(i + 1) == Some(&b'#')
                    && b.get(i + 2).is_some_and(|&n| is_ident_start(n))
                {
                    i += 2;
                }
                while i < b.len() && is_ident_char(b[i]) {
                    i += 1;
                }
                push(&mut out, Kind::Ident, start, i);
            }
            _ => {
                push(&mut out, Kind::Punct, i, i + 1);
                i += 1;
            }
        }
    }
    if !opens.is_empty() {
        return Err(Broken);
    }
    Ok(Tokens {
        toks: out,
        comments,
        too_deep,
    })
}

/// The end (after the closing quote) of a `"` string whose body starts at `i`.
fn string_end(b: &[u8], mut i: usize) -> Result<usize, Broken> {
    loop {
        let Some(k) = memchr::memchr2(b'"', b'\\', &b[i.min(b.len())..]) else {
            return Err(Broken);
        };
        i += k;
        if b[i] == b'\\' {
            i += 2;
        } else {
            return Ok(i + 1);
        }
    }
}

fn raw_string_end(b: &[u8], mut j: usize, hashes: usize) -> Result<usize, Broken> {
    loop {
        let Some(k) = memchr::memchr(b'"', &b[j.min(b.len())..]) else {
            return Err(Broken);
        };
        let q = j + k;
        if b.len() >= q + 1 + hashes && b[q + 1..q + 1 + hashes].iter().all(|&h| h == b'#') {
            return Ok(q + 1 + hashes);
        }
        j = q + 1;
    }
}

/// A `'` at `i`: a char literal (`'x'`, `'\n'`, `'\u{1F600}'`, `'''` is not one) or a lifetime
/// or label (`'a`). Returns where the token ends.
fn quote(src: &str, i: usize, out: &mut Vec<Tok>) -> Result<usize, Broken> {
    let b = src.as_bytes();
    let lit = |out: &mut Vec<Tok>, end: usize| {
        out.push(Tok {
            kind: Kind::Lit,
            start: i as u32,
            end: end as u32,
            pair: 0,
        })
    };
    if b.get(i + 1) == Some(&b'\\') {
        // An escape: up to the closing quote.
        let Some(k) = memchr::memchr(b'\'', &b[(i + 3).min(b.len())..]) else {
            return Err(Broken);
        };
        let end = i + 3 + k + 1;
        lit(out, end);
        return Ok(end);
    }
    let Some(ch) = src.get(i + 1..).and_then(|s| s.chars().next()) else {
        return Err(Broken);
    };
    let after = i + 1 + ch.len_utf8();
    if b.get(after) == Some(&b'\'') {
        lit(out, after + 1);
        return Ok(after + 1);
    }
    if ch == '_' || ch.is_alphabetic() {
        // A lifetime or label: the quote and the name.
        let mut j = after;
        while j < b.len() && is_ident_char(b[j]) {
            j += 1;
        }
        out.push(Tok {
            kind: Kind::Lifetime,
            start: i as u32,
            end: j as u32,
            pair: 0,
        });
        return Ok(j);
    }
    Err(Broken)
}

/// SQL functions and macros (sqlx, `query!`...) as [`super::visit`] knows them.
const SQL_CALLS: &[&str] = &[
    "query",
    "query_as",
    "query_scalar",
    "query_with",
    "query_as_with",
    "query_scalar_with",
    "query_unchecked",
    "query_as_unchecked",
    "query_scalar_unchecked",
];

/// Could this file hold a fact besides its `use` items and functions? `true` when it holds any
/// token the extraction of a table, query, SQL text, cache call, session variable or tenant
/// helper needs (a superset: the full parse decides).
fn may_hold_facts(src: &str, toks: &[Tok]) -> bool {
    toks_hold_facts(src, toks) || (names_cache_crate(src, toks) && holds_cache_marker(src, toks))
}

/// Does the file use the Redis or moka crates as [`super::visit`] decides it (a superset of
/// it): `redis::` or `moka::` anywhere in the text (so also `deadpool_redis::`), or a `use` of
/// one of their crates by its bare name (`use redis;`). Their cache calls are ordinary method
/// calls on values of their types, anywhere in such a file. A file that only mentions them
/// (`RedisConfig`, `"redis_dsn"`) holds no cache call the full parse would record.
fn names_cache_crate(src: &str, toks: &[Tok]) -> bool {
    use memchr::memmem::Finder;
    use std::sync::LazyLock;
    // Built once: a searcher per call cost more than the search on small files.
    static REDIS: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"redis::"));
    static MOKA: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"moka::"));
    if REDIS.find(src.as_bytes()).is_some() || MOKA.find(src.as_bytes()).is_some() {
        return true;
    }
    let text = |t: &Tok| &src[t.start as usize..t.end as usize];
    toks.iter().enumerate().any(|(k, t)| {
        t.kind == Kind::Ident && text(t) == "use" && {
            // `use ::redis;` as well as `use redis;`.
            let mut n = k + 1;
            while toks
                .get(n)
                .is_some_and(|t| t.kind == Kind::Punct && text(t) == ":")
            {
                n += 1;
            }
            toks.get(n).is_some_and(|t| {
                t.kind == Kind::Ident && super::visit::CACHE_CRATES.contains(&text(t))
            })
        }
    })
}

/// [`may_hold_facts`] for a run of tokens (a whole file, or one item of it), the crate names
/// aside.
fn toks_hold_facts(src: &str, toks: &[Tok]) -> bool {
    let text = |t: &Tok| &src[t.start as usize..t.end as usize];
    let punct = |k: usize, c: u8| {
        toks.get(k)
            .is_some_and(|t| t.kind == Kind::Punct && src.as_bytes()[t.start as usize] == c)
    };
    let after_path_sep = |k: usize| k >= 2 && punct(k - 1, b':') && punct(k - 2, b':');
    let mut filter = false;
    let mut eq = false;
    for (k, t) in toks.iter().enumerate() {
        match t.kind {
            Kind::Ident => match text(t) {
                // SeaORM entities and starting calls, Diesel, `cached`.
                "DeriveEntityModel" | "find_by_id" | "update_many" | "delete_many"
                | "delete_by_id" | "sql_query" => {
                    return true;
                }
                // Crate and module names, attribute names: never a field or method after a `.`
                // (`config.diesel.database_url` names no Diesel item).
                "dsl" | "diesel" | "cached" | "io_cached" if !(k >= 1 && punct(k - 1, b'.')) => {
                    return true;
                }
                // `Entity::find()`, `<E as EntityTrait>::find()` (not `iter.find(..)`).
                "find" if after_path_sep(k) => return true,
                // `invoices::table`, `table! { .. }`.
                "table" if after_path_sep(k) || punct(k + 1, b'!') => return true,
                // `query!(..)`, `sqlx::query(..)`, `query_as::<_, T>(..)`.
                name if SQL_CALLS.contains(&name)
                    && (punct(k + 1, b'!')
                        || punct(k + 1, b':')
                        || toks.get(k + 1).is_some_and(|n| {
                            n.kind == Kind::Open && src.as_bytes()[n.start as usize] == b'('
                        })) =>
                {
                    return true;
                }
                // A helper filtering its parameter on a column (`q.filter(Col.eq(..))`).
                "filter" | "having" => filter = true,
                "eq" | "eq_any" | "is_in" | "in_subquery" | "is_not_distinct_from" | "is_null" => {
                    eq = true
                }
                _ => {}
            },
            Kind::Str | Kind::Doc
                if session_marker(&src.as_bytes()[t.start as usize..t.end as usize]) =>
            {
                return true;
            }
            _ => {}
        }
        if filter && eq {
            return true;
        }
    }
    false
}

/// A string literal's (or doc comment's) source text that may set a Postgres variable:
/// `set_config` anywhere, or `SET [LOCAL|SESSION] <name>` where the name is dotted or
/// `search_path`/`role` (case-insensitive; escapes between the words are skipped).
fn session_marker(body: &[u8]) -> bool {
    // Every marker holds `set` (any case): most strings and doc comments hold none, and are
    // answered without the lower-cased copy.
    let has_set = memchr::memchr2_iter(b's', b'S', body).any(|at| {
        body.get(at + 1..at + 3)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"et"))
    });
    if !has_set {
        return false;
    }
    let lower = body.to_ascii_lowercase();
    if memchr::memmem::find(&lower, b"set_config").is_some() {
        return true;
    }
    let skip_space = |mut j: usize| {
        while j < lower.len() {
            match lower[j] {
                b' ' | b'\t' | b'\n' | b'\r' => j += 1,
                b'\\' => j += 2,
                _ => break,
            }
        }
        j
    };
    let word = |j: usize| {
        let mut e = j;
        while e < lower.len() && (is_ident_char(lower[e]) || lower[e] == b'.') {
            e += 1;
        }
        &lower[j..e]
    };
    for at in memchr::memmem::find_iter(&lower, b"set") {
        let next = at + 3;
        if !matches!(lower.get(next), Some(b' ' | b'\\')) {
            continue;
        }
        let mut j = skip_space(next);
        let mut w = word(j);
        if w == b"local" || w == b"session" {
            j = skip_space(j + w.len());
            w = word(j);
        }
        if w.contains(&b'.') || w == b"search_path" || w == b"role" {
            return true;
        }
    }
    false
}

/// Keywords that may stand before a `!` that is a negation, not a macro call.
fn is_keyword(name: &str) -> bool {
    matches!(
        name,
        "if" | "while"
            | "match"
            | "return"
            | "in"
            | "else"
            | "let"
            | "break"
            | "yield"
            | "as"
            | "mut"
            | "move"
            | "loop"
            | "for"
            | "where"
            | "impl"
            | "dyn"
    )
}

/// Item qualifiers between an item's attributes and its `fn` or `mod`.
fn is_qualifier(name: &str) -> bool {
    matches!(
        name,
        "pub" | "async" | "const" | "unsafe" | "extern" | "default" | "safe"
    )
}

struct Frame {
    test: bool,
    /// A `mod` or `fn` body: its inner attributes (`#![cfg(test)]`) belong to it.
    item: Option<Option<usize>>,
    /// Nothing but inner attributes seen in it yet.
    at_start: bool,
}

/// The facts of a file that holds no marker: its `use` items and functions. `None` when the
/// file may hold more, or when the skim cannot be sure (the caller parses it in full then).
pub(super) fn skim(source: &str, tokens: &Tokens) -> Option<RustFacts> {
    let toks = &tokens.toks;
    if may_hold_facts(source, toks) {
        return None;
    }
    Walk {
        src: source,
        toks,
        uses: Vec::new(),
        functions: Vec::new(),
    }
    .run()
}

/// A file that may hold facts, made cheaper for `syn`: every item that holds no marker (at the
/// top level, and inside the bodies of `impl`, `trait` and `mod` items that hold one) is blanked
/// to spaces, newlines kept, so the text `syn` parses keeps every byte offset and only the items
/// that can hold a fact are parsed and walked. Returned with the facts the skim reads from the
/// whole file's tokens (its `use` items and functions), which [`merge_partial`] puts together
/// with the walk of the blanked text. `None` when nothing would be blanked, when the file names
/// the skim cannot read the tokens: the file is parsed whole then. In a file that names the
/// Redis or moka crates, whose cache calls are ordinary method calls, an item is also kept when
/// it holds such a method's name, `cmd` or a moka `Cache` type ([`holds_cache_marker`]).
pub(super) fn blank_unmarked(
    src: &str,
    base: usize,
    tokens: &Tokens,
) -> Option<(String, RustFacts)> {
    let cache_crate = names_cache_crate(src, &tokens.toks);
    let toks = &tokens.toks;
    let mut spans: Vec<(u32, u32)> = Vec::new();
    unmarked_items(src, toks, 0, toks.len(), cache_crate, &mut spans);
    if spans.is_empty() {
        return None;
    }
    let skimmed = Walk {
        src,
        toks,
        uses: Vec::new(),
        functions: Vec::new(),
    }
    .run()?;
    let mut bytes = src.as_bytes()[base..].to_vec();
    for (a, b) in spans {
        for c in &mut bytes[a as usize - base..b as usize - base] {
            if *c != b'\n' {
                *c = b' ';
            }
        }
    }
    // Whole tokens (so whole characters) were blanked: still UTF-8.
    Some((String::from_utf8(bytes).ok()?, skimmed))
}

/// The items between tokens `a..b` (a file, or the inside of an item's braces) that hold no
/// marker, as byte spans into `spans`; items that hold one and have items in their braces
/// (`impl`, `trait`, `mod`) are looked into. `use` and `extern crate` items and inner
/// attributes stay (the walk reads the crates a file uses from them; they are cheap).
///
/// An item ends at a `;` or at the `}` of its braces, outside `<..>` and before any `=` (a
/// `const X: S = S { .. };` ends at its `;`). Reading generics wrong can only make an item
/// longer (it then ends at a later `;`, which only ever ends an item), never cut one in two.
fn unmarked_items(
    src: &str,
    toks: &[Tok],
    a: usize,
    b: usize,
    cache_crate: bool,
    spans: &mut Vec<(u32, u32)>,
) {
    let byte = |k: usize| src.as_bytes()[toks[k].start as usize];
    let punct = |k: usize, c: u8| k < b && toks[k].kind == Kind::Punct && byte(k) == c;
    let mut i = a;
    while i < b {
        // `#![..]`: an inner attribute of the file or of the enclosing item, kept with the
        // inner doc comments (`//!`) before it.
        let mut d = i;
        while d < b && toks[d].kind == Kind::Doc {
            d += 1;
        }
        if punct(d, b'#')
            && punct(d + 1, b'!')
            && d + 2 < b
            && toks[d + 2].kind == Kind::Open
            && byte(d + 2) == b'['
        {
            i = toks[d + 2].pair as usize + 1;
            continue;
        }
        let start = i;
        let mut end = b - 1;
        let mut body = None;
        let head = head_keyword(src, toks, start, b - 1);
        // `use a::{b, c};` ends at its `;`.
        let (mut angle, mut saw_eq) = (0i32, head == Some("use"));
        let mut j = i;
        while j < b {
            let t = toks[j];
            match t.kind {
                Kind::Open => {
                    if byte(j) == b'{' && angle <= 0 && !saw_eq {
                        body = Some((j, t.pair as usize));
                        end = t.pair as usize;
                        break;
                    }
                    j = t.pair as usize;
                }
                Kind::Punct => match byte(j) {
                    b';' => {
                        end = j;
                        break;
                    }
                    b'<' => angle += 1,
                    // Not the `>` of `->` or `=>`.
                    b'>' if !(j > start
                        && toks[j - 1].end == t.start
                        && matches!(byte(j - 1), b'-' | b'=')) =>
                    {
                        angle -= 1
                    }
                    b'=' if angle <= 0 => saw_eq = true,
                    _ => {}
                },
                _ => {}
            }
            j += 1;
        }
        let end = end.min(b - 1);
        let item = &toks[start..=end];
        let marked = toks_hold_facts(src, item) || (cache_crate && holds_cache_marker(src, item));
        if !marked {
            if !matches!(head, Some("use" | "crate")) {
                spans.push((toks[start].start, toks[end].end));
            }
        } else if let Some((open, close)) = body
            && matches!(head, Some("impl" | "trait" | "mod"))
        {
            unmarked_items(src, toks, open + 1, close, cache_crate, spans);
        }
        i = end + 1;
    }
}

/// In a file that names the Redis or moka crates: could these tokens hold a cache call, or a
/// struct field of a moka cache type that another item's calls go through? Any Redis or moka
/// method name (`get`, `set_ex`, `insert`, ...), `cmd` (`redis::cmd("GET")`), or `Cache` /
/// `SegmentedCache`.
fn holds_cache_marker(src: &str, toks: &[Tok]) -> bool {
    use super::visit::{MOKA_METHODS, REDIS_METHODS};
    use std::sync::LazyLock;
    // One hash lookup a name instead of a scan of the two lists (this runs on every item of a
    // file that names the crates).
    static MARKERS: LazyLock<rustc_hash::FxHashSet<&'static str>> = LazyLock::new(|| {
        ["cmd", "Cache", "SegmentedCache"]
            .into_iter()
            .chain(REDIS_METHODS.iter().copied())
            .chain(MOKA_METHODS.iter().copied())
            .collect()
    });
    toks.iter()
        .any(|t| t.kind == Kind::Ident && MARKERS.contains(&src[t.start as usize..t.end as usize]))
}

/// The keyword of the item at tokens `a..=b`: its first word after attributes, doc comments
/// and qualifiers (`pub(crate) unsafe impl` -> `impl`, `extern crate` -> `crate`).
fn head_keyword<'s>(src: &'s str, toks: &[Tok], a: usize, b: usize) -> Option<&'s str> {
    let mut k = a;
    while k <= b {
        let t = toks[k];
        let text = &src[t.start as usize..t.end as usize];
        match t.kind {
            Kind::Doc => k += 1,
            Kind::Punct if text == "#" => {
                // `#[..]` (or `#![..]`): skip the group after it.
                let mut g = k + 1;
                if toks.get(g).is_some_and(|t| {
                    t.kind == Kind::Punct && src.as_bytes()[t.start as usize] == b'!'
                }) {
                    g += 1;
                }
                let g = toks.get(g)?;
                if g.kind != Kind::Open {
                    return None;
                }
                k = g.pair as usize + 1;
            }
            Kind::Ident
                if matches!(
                    text,
                    "pub" | "unsafe" | "default" | "auto" | "extern" | "async" | "safe"
                ) =>
            {
                k += 1;
                if text == "pub" && toks.get(k).is_some_and(|g| g.kind == Kind::Open) {
                    k = toks[k].pair as usize + 1;
                }
                // `extern "C"`.
                if toks.get(k).is_some_and(|g| g.kind == Kind::Str) {
                    k += 1;
                }
            }
            Kind::Ident => return Some(text),
            _ => return None,
        }
    }
    None
}

/// The walk of a blanked text ([`blank_unmarked`]) put together with the skim of the whole
/// file: the `use` items and functions come from the skim, the parsed functions replace their
/// skimmed selves (they carry what the walk of their bodies found), and every fact's function
/// index is moved to the function's place in the whole list. `None` when a parsed function has
/// no skimmed counterpart (the file is then parsed whole).
pub(super) fn merge_partial(parsed: RustFacts, skimmed: RustFacts) -> Option<RustFacts> {
    let mut out = parsed;
    let mut functions = skimmed.functions;
    let mut moved = Vec::with_capacity(out.functions.len());
    for f in std::mem::take(&mut out.functions) {
        let at = functions
            .binary_search_by_key(&f.name_span.start, |g| g.name_span.start)
            .ok()?;
        if functions[at].name != f.name {
            return None;
        }
        functions[at] = f;
        moved.push(at as u32);
    }
    let remap = |func: &mut Option<u32>| {
        if let Some(f) = func {
            *f = moved[*f as usize];
        }
    };
    out.queries.iter_mut().for_each(|q| remap(&mut q.func));
    out.sql.iter_mut().for_each(|q| remap(&mut q.func));
    out.cache.iter_mut().for_each(|q| remap(&mut q.func));
    out.session_vars.iter_mut().for_each(|q| remap(&mut q.func));
    out.functions = functions;
    out.uses = skimmed.uses;
    Some(out)
}

struct Walk<'a> {
    src: &'a str,
    toks: &'a [Tok],
    uses: Vec<UseFact>,
    functions: Vec<RustFn>,
}

impl<'a> Walk<'a> {
    fn text(&self, k: usize) -> &'a str {
        let t = self.toks[k];
        &self.src[t.start as usize..t.end as usize]
    }

    fn is(&self, k: usize, kind: Kind, c: u8) -> bool {
        self.toks
            .get(k)
            .is_some_and(|t| t.kind == kind && self.src.as_bytes()[t.start as usize] == c)
    }

    fn ident(&self, k: usize) -> Option<&'a str> {
        (self.toks.get(k)?.kind == Kind::Ident).then(|| self.text(k))
    }

    /// Source text from token `a`'s start to token `b`'s end.
    fn slice(&self, a: usize, b: usize) -> &'a str {
        &self.src[self.toks[a].start as usize..self.toks[b].end as usize]
    }

    fn attrs_are_test(&self, attrs: &[(usize, usize)], inner: bool) -> Option<bool> {
        for &(a, b) in attrs {
            let text = self.slice(a, b);
            if !text.contains("test") {
                continue;
            }
            let parsed = if inner {
                syn::parse::Parser::parse_str(syn::Attribute::parse_inner, text)
            } else {
                syn::parse::Parser::parse_str(syn::Attribute::parse_outer, text)
            };
            if is_test_attr(&parsed.ok()?) {
                return Some(true);
            }
        }
        Some(false)
    }

    fn run(mut self) -> Option<RustFacts> {
        let toks = self.toks;
        let mut frames = vec![Frame {
            test: false,
            item: None,
            at_start: false,
        }];
        let mut attrs: Vec<(usize, usize)> = Vec::new();
        let mut k = 0;
        while k < toks.len() {
            let t = toks[k];
            let frame_test = frames.last().is_some_and(|f| f.test);
            match t.kind {
                Kind::Doc => {
                    k += 1;
                    continue;
                }
                Kind::Punct if self.is(k, Kind::Punct, b'#') => {
                    if self.is(k + 1, Kind::Open, b'[') {
                        let close = toks[k + 1].pair as usize;
                        attrs.push((k, close));
                        k = close + 1;
                        continue;
                    }
                    if self.is(k + 1, Kind::Punct, b'!') && self.is(k + 2, Kind::Open, b'[') {
                        let close = toks[k + 2].pair as usize;
                        let frame = frames.last()?;
                        if frame.at_start
                            && frame.item.is_some()
                            && self.attrs_are_test(&[(k, close)], true)?
                        {
                            let f = frames.last_mut()?;
                            f.test = true;
                            if let Some(Some(fi)) = f.item {
                                self.functions[fi].in_test = true;
                            }
                        }
                        k = close + 1;
                        continue;
                    }
                }
                Kind::Open => {
                    frames.push(Frame {
                        test: frame_test,
                        item: None,
                        at_start: false,
                    });
                    attrs.clear();
                    k += 1;
                    continue;
                }
                Kind::Close => {
                    frames.pop();
                    if frames.is_empty() {
                        return None;
                    }
                    attrs.clear();
                    k += 1;
                    continue;
                }
                Kind::Ident => {
                    let name = self.text(k);
                    if name == "use" && !self.is(k + 1, Kind::Punct, b'<') {
                        k = self.use_item(k)?;
                        attrs.clear();
                        continue;
                    }
                    if name == "fn" && self.ident(k + 1).is_some() {
                        let test = frame_test || self.attrs_are_test(&attrs, false)?;
                        attrs.clear();
                        match self.fn_item(k, test)? {
                            (next, Some(fi)) => {
                                frames.push(Frame {
                                    test,
                                    item: Some(Some(fi)),
                                    at_start: true,
                                });
                                k = next;
                            }
                            (next, None) => k = next,
                        }
                        continue;
                    }
                    if name == "mod"
                        && self.ident(k + 1).is_some()
                        && self.is(k + 2, Kind::Open, b'{')
                    {
                        let test = frame_test || self.attrs_are_test(&attrs, false)?;
                        attrs.clear();
                        frames.push(Frame {
                            test,
                            item: Some(None),
                            at_start: true,
                        });
                        k += 3;
                        continue;
                    }
                    if name == "pub" && self.is(k + 1, Kind::Open, b'(') {
                        // `pub(crate)`: a qualifier, not a group.
                        k = toks[k + 1].pair as usize + 1;
                        self.not_start(&mut frames);
                        continue;
                    }
                    // A macro call or `macro_rules!`: its body is not items `syn` visits.
                    if self.is(k + 1, Kind::Punct, b'!') && !is_keyword(name) {
                        let mut j = k + 2;
                        if name == "macro_rules" && self.ident(j).is_some() {
                            j += 1;
                        }
                        if toks.get(j).is_some_and(|t| t.kind == Kind::Open) {
                            k = toks[j].pair as usize + 1;
                            attrs.clear();
                            self.not_start(&mut frames);
                            continue;
                        }
                    }
                    if !is_qualifier(name) {
                        attrs.clear();
                    }
                }
                Kind::Str | Kind::Lit => {
                    // `extern "C" fn`: the ABI keeps the attributes.
                    if !(t.kind == Kind::Str && k > 0 && self.ident(k - 1) == Some("extern")) {
                        attrs.clear();
                    }
                }
                _ => attrs.clear(),
            }
            self.not_start(&mut frames);
            k += 1;
        }
        if frames.len() != 1 {
            return None;
        }
        Some(RustFacts {
            uses: self.uses,
            functions: self.functions,
            ..Default::default()
        })
    }

    fn not_start(&self, frames: &mut [Frame]) {
        if let Some(f) = frames.last_mut() {
            f.at_start = false;
        }
    }

    /// `use ...;` at token `k`: record it, return the token after its `;`.
    fn use_item(&mut self, k: usize) -> Option<usize> {
        let mut j = k + 1;
        while j < self.toks.len() && !self.is(j, Kind::Punct, b';') {
            if self.toks[j].kind == Kind::Open {
                j = self.toks[j].pair as usize;
            } else if self.toks[j].kind == Kind::Close {
                return None;
            }
            j += 1;
        }
        if j >= self.toks.len() {
            return None;
        }
        // Read from the tokens as `syn` would read the item (`record_use` on its tree); what
        // does not read as a use tree sends the file to the full parse.
        let mut at = k + 1;
        if self.is(at, Kind::Punct, b':') && self.is(at + 1, Kind::Punct, b':') {
            at += 2;
        }
        if self.use_tree(at, j, &mut Vec::new())? != j {
            return None;
        }
        Some(j + 1)
    }

    /// The use tree starting at token `k` (before token `end`): its bindings recorded, the
    /// token after it returned.
    fn use_tree(&mut self, k: usize, end: usize, prefix: &mut Vec<String>) -> Option<usize> {
        if k >= end {
            return None;
        }
        if self.is(k, Kind::Punct, b'*') {
            let mut path = prefix.clone();
            path.push("*".into());
            self.uses.push(UseFact {
                name: "*".into(),
                path,
            });
            return Some(k + 1);
        }
        if self.is(k, Kind::Open, b'{') {
            let close = self.toks[k].pair as usize;
            let mut j = k + 1;
            while j < close {
                j = self.use_tree(j, close, prefix)?;
                if j < close {
                    if !self.is(j, Kind::Punct, b',') {
                        return None;
                    }
                    j += 1;
                }
            }
            return Some(close + 1);
        }
        let ident = self.ident(k)?;
        if k + 2 < end && self.is(k + 1, Kind::Punct, b':') && self.is(k + 2, Kind::Punct, b':') {
            prefix.push(ident.to_string());
            let next = self.use_tree(k + 3, end, prefix);
            prefix.pop();
            return next;
        }
        let mut path = prefix.clone();
        if ident != "self" {
            path.push(ident.to_string());
        }
        if k + 1 < end && self.ident(k + 1) == Some("as") {
            let rename = self.ident(k + 2).filter(|_| k + 2 < end)?;
            self.uses.push(UseFact {
                name: rename.to_string(),
                path,
            });
            return Some(k + 3);
        }
        let name = if ident == "self" {
            prefix.last().cloned().unwrap_or_default()
        } else {
            ident.to_string()
        };
        self.uses.push(UseFact { name, path });
        Some(k + 1)
    }

    /// Is token `k` the punctuation `c` glued to the one before it (`::`, `->`)?
    fn glued(&self, k: usize, c: u8) -> bool {
        k > 0 && self.is(k, Kind::Punct, c) && self.toks[k - 1].end == self.toks[k].start
    }

    /// Is token `k` the start of `::`?
    fn path_sep(&self, k: usize) -> bool {
        self.is(k, Kind::Punct, b':') && self.glued(k + 1, b':')
    }

    /// The parameters between tokens `a` and `b` (the inside of a signature's parentheses), as
    /// `signature_params` reads them from `syn`'s parse: `self` in any form, a name, or a
    /// one-field tuple-struct pattern (`Extension(tenant): Extension<Tenant>`); other patterns
    /// are left out. `None` for anything the token reading is not sure of (the file is then
    /// parsed in full).
    fn params(&self, a: usize, b: usize) -> Option<Vec<Param>> {
        let mut out = Vec::new();
        let mut k = a;
        while k < b {
            // One parameter: up to the next comma outside `<...>` (brackets are single tokens).
            let mut end = k;
            let mut angle = 0i32;
            while end < b {
                match self.toks[end].kind {
                    Kind::Open => end = self.toks[end].pair as usize,
                    Kind::Punct => match self.src.as_bytes()[self.toks[end].start as usize] {
                        b'<' => angle += 1,
                        b'>' if !self.glued_after_dash(end) => angle -= 1,
                        b',' if angle == 0 => break,
                        _ => {}
                    },
                    _ => {}
                }
                end += 1;
            }
            if let Some(p) = self.param(k, end)? {
                out.push(p);
            }
            k = end + 1;
        }
        Some(out)
    }

    /// `->`: a `>` glued to a `-` before it.
    fn glued_after_dash(&self, k: usize) -> bool {
        self.glued(k, b'>') && self.is(k - 1, Kind::Punct, b'-')
    }

    /// One parameter between tokens `a` and `b`; `Some(None)` for a pattern that binds no
    /// plain name.
    fn param(&self, mut a: usize, b: usize) -> Option<Option<Param>> {
        // Attributes on the parameter.
        while a + 1 < b && self.is(a, Kind::Punct, b'#') && self.is(a + 1, Kind::Open, b'[') {
            a = self.toks[a + 1].pair as usize + 1;
        }
        if a >= b {
            return None;
        }
        // The pattern ends at the first `:` that is not part of a `::`.
        let mut colon = None;
        let mut k = a;
        while k < b {
            match self.toks[k].kind {
                Kind::Open => k = self.toks[k].pair as usize,
                Kind::Punct if self.path_sep(k) => k += 1,
                Kind::Punct if self.is(k, Kind::Punct, b':') => {
                    colon = Some(k);
                    break;
                }
                Kind::Punct if self.is(k, Kind::Punct, b'.') || self.is(k, Kind::Punct, b'@') => {
                    return None;
                }
                _ => {}
            }
            k += 1;
        }
        let pat_end = colon.unwrap_or(b);
        // `self`, `mut self`, `&self`, `&'a mut self`, `self: Box<Self>`.
        let mut r = a;
        if self.is(r, Kind::Punct, b'&') {
            r += 1;
            if self.toks.get(r).is_some_and(|t| t.kind == Kind::Lifetime) {
                r += 1;
            }
        }
        if self.ident(r) == Some("mut") {
            r += 1;
        }
        if self.ident(r) == Some("self") && r + 1 == pat_end {
            return Some(Some(Param {
                name: "self".into(),
                ty: Vec::new(),
                destructured: None,
            }));
        }
        let colon = colon?;
        let ty = self.type_names(colon + 1, b)?;
        // `[ref] [mut] name`
        let binding = |k: usize| -> Option<(&'a str, usize)> {
            let mut k = k;
            if self.ident(k) == Some("ref") {
                k += 1;
            }
            if self.ident(k) == Some("mut") {
                k += 1;
            }
            let name = self.ident(k)?;
            (!is_keyword(name) && name != "_").then_some((name, k + 1))
        };
        if let Some((name, next)) = binding(a)
            && next == pat_end
        {
            // A lone path-like name is a binding in a parameter (`None` would be refused by
            // rustc); `syn` reads it as an identifier pattern too.
            return Some(Some(Param {
                name: name.to_string(),
                ty,
                destructured: None,
            }));
        }
        // `Path(binding)` / `a::b::Path(binding)`.
        let other = |k: usize| {
            self.is(a, Kind::Punct, b'&')
                || self.is(a, Kind::Open, b'(')
                || self.is(a, Kind::Open, b'[')
                || self.ident(a) == Some("_")
                || self.is(k, Kind::Open, b'{')
        };
        let Some(mut last) = self.ident(a) else {
            return other(a).then_some(None);
        };
        let mut k = a + 1;
        while self.path_sep(k) {
            last = self.ident(k + 2)?;
            k += 3;
        }
        if !self.is(k, Kind::Open, b'(') || self.toks[k].pair as usize + 1 != pat_end {
            // Another pattern (a reference, a tuple, a struct, a wildcard): no plain name.
            return other(k).then_some(None);
        }
        let close = self.toks[k].pair as usize;
        match binding(k + 1) {
            Some((name, next)) if next == close => Some(Some(Param {
                name: name.to_string(),
                ty,
                destructured: Some(last.to_string()),
            })),
            _ => Some(None),
        }
    }

    /// The path segments' names in the type between tokens `a` and `b`, in the order `syn`'s
    /// visitor meets them (`Extension<Arc<State>>`: Extension, Arc, State). `None` for what the
    /// token reading is not sure of.
    fn type_names(&self, a: usize, b: usize) -> Option<Vec<String>> {
        let mut out = Vec::new();
        let mut k = a;
        while k < b {
            let t = self.toks[k];
            match t.kind {
                Kind::Ident => {
                    let name = self.text(k);
                    match name {
                        "dyn" | "impl" | "mut" | "const" | "fn" | "unsafe" | "extern" | "for"
                        | "as" | "_" | "true" | "false" => {}
                        "use" | "where" | "async" => return None,
                        _ => {
                            // `Item = T` and `name: T` (a bound or a bare fn's argument name)
                            // are not path segments; a macro's body is not visited.
                            let next_colon =
                                self.is(k + 1, Kind::Punct, b':') && !self.path_sep(k + 1);
                            if !(self.is(k + 1, Kind::Punct, b'=') || next_colon) {
                                out.push(name.to_string());
                            }
                            if self.is(k + 1, Kind::Punct, b'!') {
                                let group = k + 2;
                                if !self.toks.get(group).is_some_and(|t| t.kind == Kind::Open) {
                                    return None;
                                }
                                k = self.toks[group].pair as usize + 1;
                                continue;
                            }
                        }
                    }
                }
                Kind::Open if self.is(k, Kind::Open, b'{') => return None,
                Kind::Doc => return None,
                _ => {}
            }
            k += 1;
        }
        Some(out)
    }

    /// `fn name<..>(..) -> .. where .. { .. }` at token `k`: with a body, record the function
    /// and return the token after the body's `{` and the function's index; without one (a trait
    /// or foreign declaration, which the full walk does not record either), the token after `;`.
    fn fn_item(&mut self, k: usize, test: bool) -> Option<(usize, Option<usize>)> {
        let toks = self.toks;
        let name_tok = k + 1;
        let mut j = k + 2;
        let mut angle = 0i32;
        let mut params: Option<usize> = None;
        loop {
            let t = toks.get(j)?;
            match t.kind {
                Kind::Punct => {
                    let c = self.src.as_bytes()[t.start as usize];
                    if c == b'<' {
                        angle += 1;
                    } else if c == b'>' && !self.glued_after_dash(j) {
                        angle -= 1;
                    } else if c == b';' && angle <= 0 {
                        return Some((j + 1, None));
                    }
                }
                Kind::Open => {
                    let c = self.src.as_bytes()[t.start as usize];
                    if angle <= 0 && c == b'(' && params.is_none() {
                        params = Some(j);
                    } else if angle <= 0 && c == b'{' {
                        break;
                    }
                    j = t.pair as usize;
                }
                Kind::Close => return None,
                _ => {}
            }
            j += 1;
        }
        let open = params?;
        let close = toks[open].pair as usize;
        let name = self.text(name_tok).to_string();
        let params = self.params(open + 1, close)?;
        let nt = toks[name_tok];
        self.functions.push(RustFn {
            name,
            name_span: Span::new(nt.start, nt.end),
            params,
            filters_param: Vec::new(),
            in_test: test,
        });
        Some((j + 1, Some(self.functions.len() - 1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn skimmed(src: &str) -> Option<RustFacts> {
        skim(src, &tokenize(src, code_start(src)).ok()?)
    }

    #[test]
    fn markers_send_a_file_to_the_full_parse() {
        for src in [
            "fn f(db: &Db) { let _ = invoice::Entity::find().all(db); }",
            "fn f() { let _ = <E as EntityTrait>::find(); }",
            "fn f(c: &mut PgConnection) { users::table.load(c); }",
            "diesel::table! { users (id) { id -> Int4, } }",
            "use crate::schema::users::dsl::*;",
            "fn f() { sqlx::query!(\"SELECT 1\"); }",
            "fn f() { query_as::<_, Row>(\"SELECT 1\"); }",
            "fn f() { let _ = \"SET app.tenant_id = 1\"; }",
            "fn f() { let _ = r#\"select set_config('a.b', $1, false)\"#; }",
            "/// SET search_path TO x\nfn f() {}",
            "fn f() { let _ = \"set\\n  local app.x\"; }",
            "use deadpool_redis::Pool;\nasync fn f(p: &Pool) { let _: () = p.get().await.unwrap().set(\"k\", 1).await.unwrap(); }",
            "fn scoped(q: Select<E>, t: i64) -> Select<E> { q.filter(Column::TenantId.eq(t)) }",
            "#[cached(convert = r#\"{ format!(\"{}\", id) }\"#)] fn f(id: i64) {}",
            "#[derive(DeriveEntityModel)] struct Model { id: i32 }",
        ] {
            assert!(skimmed(src).is_none(), "{src}");
        }
    }

    #[test]
    fn files_without_markers_are_skimmed() {
        for src in [
            "fn f(v: Vec<u8>) -> Option<u8> { v.iter().find(|x| **x > 1).copied() }",
            "fn f() { let query = 1; let table = query; let _ = \"offset 3\"; }",
            "// set self.x here\nfn f() {}",
            "fn f(items: &[u8]) -> Vec<u8> { items.iter().filter(|x| **x > 0).copied().collect() }",
            // Naming the Redis crate is not enough: no cache method is called.
            "use deadpool_redis::Pool;\npub struct Config { pool: Pool, redis_dsn: String }",
        ] {
            assert!(skimmed(src).is_some(), "{src}");
        }
    }

    /// Every prefix of every fixture Rust file, and each with one byte dropped every 7 bytes:
    /// the skim answers (facts or `None`) and never panics.
    #[test]
    fn never_panics_on_cut_or_damaged_text() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut n = 0;
        for entry in ignore::WalkBuilder::new(&root)
            .standard_filters(false)
            .build()
        {
            let entry = entry.unwrap();
            if entry.path().extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap();
            let mut texts: Vec<String> = (0..=text.len())
                .filter(|&i| text.is_char_boundary(i))
                .map(|i| text[..i].to_string())
                .collect();
            let bytes = text.as_bytes();
            for i in (0..bytes.len()).step_by(7) {
                let mut b = bytes.to_vec();
                b.remove(i);
                if let Ok(t) = String::from_utf8(b) {
                    texts.push(t);
                }
            }
            for t in &texts {
                let _ = skimmed(t);
                n += 1;
            }
            proc_macro2::extra::invalidate_current_thread_spans();
        }
        assert!(n > 1000, "{n} texts");
    }

    #[test]
    fn broken_text_goes_to_the_full_parse() {
        for src in [
            "fn f() { let s = \"unterminated; }",
            "fn f() { (] }",
            "fn f() {",
            "fn f() {} }",
            "/* never closed",
            "fn f() { let c = '",
        ] {
            assert!(skimmed(src).is_none(), "{src}");
        }
    }

    /// The `use` items and signatures read from the tokens agree with `syn`'s reading (the
    /// full walk's facts) on every file where the token reading is sure of itself, whether or
    /// not the file would be skimmed: tricky signatures here, and every fixture's Rust file
    /// (`skim_equals_full_on_trees` in the frontend's tests does the same on real trees).
    /// The `use` items and signatures of `src` read from the tokens and by `syn` (the full
    /// walk), printed; `None` where the token reading is not sure of itself or syn fails.
    fn both(src: &str) -> Option<(String, String)> {
        let tokens = tokenize(src, code_start(src)).ok()?;
        let hand = Walk {
            src,
            toks: &tokens.toks,
            uses: Vec::new(),
            functions: Vec::new(),
        }
        .run()?;
        let file: syn::File = syn::parse_str(src).ok()?;
        let full = super::super::visit::extract(&file, src, 0);
        proc_macro2::extra::invalidate_current_thread_spans();
        let show = |f: &RustFacts| {
            let fns: Vec<_> = f.functions.iter().map(|f| (&f.name, &f.params)).collect();
            format!("{:?}\n{:?}", f.uses, fns)
        };
        Some((show(&hand), show(&full)))
    }

    #[test]
    fn uses_and_signatures_read_from_tokens_match_syn() {
        let tricky = "use ::std::{self, io::{self as sio, Read}, fmt::*};\nuse a::b as _;\n\
            fn a(self: Box<Self>, x: impl Fn(&str) -> Result<(), E>, \
            Extension(t): Extension<Arc<T>>, axum::extract::Path((a, b)): Path<(i64, i64)>, \
            _: u8, mut y: Vec<u8>, ref z: u8, Json(_): Json<V>, &w: &u8, (p, q): (u8, u8), \
            S { f, .. }: S, it: impl Iterator<Item = Foo>, f2: fn(x: i32) -> i32, \
            arr: [u8; N], d: &dyn Trait<'a>, q2: <T as Tr>::A, m: mac!(x y), g: Foo<true>, \
            h: Option<Box<dyn Fn() + Send + 'static>>, #[cfg(x)] k: crate::K<Self>, \
            Path(mut id): Path<i64>, r#type: r#Type) {}\n\
            impl X { fn m(&'a mut self, n: Vec<HashMap<K, V>>) {} fn s(mut self) {} fn t(&self) {} }\n\
            fn generic<T: Into<u8>, const N: usize>(t: T, u: [T; N]) -> u8 where T: Copy { 0 }\n";
        if let Err(e) = syn::parse_str::<syn::File>(tricky) {
            panic!("syn: {e}");
        }
        let (hand, full) = both(tricky).expect("the tricky file reads from tokens");
        assert_eq!(hand, full);
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        let mut compared = 0;
        for entry in ignore::WalkBuilder::new(&root)
            .standard_filters(false)
            .build()
        {
            let entry = entry.unwrap();
            if entry.path().extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(entry.path()).unwrap();
            if let Some((hand, full)) = both(&text) {
                assert_eq!(hand, full, "{}", entry.path().display());
                compared += 1;
            }
        }
        assert!(compared > 10, "{compared} fixture files compared");
    }

    /// [`uses_and_signatures_read_from_tokens_match_syn`] on every Rust file of real trees:
    /// `TENANTLINT_SKIM_TREES=/work/realprojects/rust cargo test --lib tokens_match_syn_on_trees -- --ignored`.
    #[test]
    #[ignore]
    fn tokens_match_syn_on_trees() {
        let (mut files, mut compared) = (0, 0);
        for (path, text) in super::super::tests::real_tree_files() {
            files += 1;
            if let Some((hand, full)) = both(&text) {
                assert_eq!(hand, full, "{}", path.display());
                compared += 1;
            }
        }
        eprintln!("{files} Rust files, {compared} compared");
        assert!(compared > 0);
    }
}
