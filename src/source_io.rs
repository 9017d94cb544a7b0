//! Reading Python source files defensively: only regular files, never more than
//! `max-file-size` bytes, and only text CPython would read as UTF-8.
//!
//! - [`read_source`] looks at the file's metadata before opening it, so a FIFO, a socket, a
//!   device such as `/dev/zero` or `/dev/urandom`, or a directory is rejected at once (a FIFO is
//!   never opened, and every file is opened non-blocking in case it is swapped for one between
//!   the check and the open). A file over the size limit is rejected without being read, and the
//!   read itself is bounded in case the file grows meanwhile.
//! - [`decode_python`] applies CPython's rules for the source encoding (PEP 263): a UTF-8 BOM is
//!   fine, a coding declaration naming another codec means the file is not UTF-8 source (it is
//!   reported, and `--fix` must never rewrite it), NUL bytes mean a binary file.

use std::fmt;
use std::io::{self, Read};
use std::path::Path;

/// What a path that is not a regular file is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    Directory,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Other,
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileKind::Directory => "a directory",
            FileKind::Fifo => "a FIFO (named pipe)",
            FileKind::Socket => "a socket",
            FileKind::CharDevice => "a character device",
            FileKind::BlockDevice => "a block device",
            FileKind::Other => "not a regular file",
        })
    }
}

fn kind_of(ft: &std::fs::FileType) -> FileKind {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return FileKind::Fifo;
        }
        if ft.is_socket() {
            return FileKind::Socket;
        }
        if ft.is_char_device() {
            return FileKind::CharDevice;
        }
        if ft.is_block_device() {
            return FileKind::BlockDevice;
        }
    }
    if ft.is_dir() {
        FileKind::Directory
    } else {
        FileKind::Other
    }
}

/// Why a source file was not read.
#[derive(Debug)]
pub enum ReadError {
    /// The path is not a regular file (after following symlinks).
    NotRegular(FileKind),
    /// The file is bigger than `max-file-size` (`size` is what was seen: the metadata, or
    /// `max + 1` when it grew while being read).
    TooLarge { size: u64, max: u64 },
    /// Opening or reading failed.
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::NotRegular(FileKind::Other) => {
                f.write_str("not a regular file; only regular files are read")
            }
            ReadError::NotRegular(kind) => {
                write!(
                    f,
                    "not a regular file ({kind}); only regular files are read"
                )
            }
            ReadError::TooLarge { size, max } => write!(
                f,
                "file is {}, over max-file-size of {}",
                human_size(*size),
                human_size(*max)
            ),
            ReadError::Io(e) => write!(f, "cannot read file: {}", io_message(e)),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// The same wording as the extractor's read errors.
fn io_message(e: &io::Error) -> String {
    match e.kind() {
        io::ErrorKind::PermissionDenied => "permission denied".into(),
        io::ErrorKind::NotFound => "no such file".into(),
        _ => e.to_string(),
    }
}

/// A size for messages: `512 bytes`, `12 KB`, `8 MB`, `8.5 MB`, `1.2 GB` (binary units, the
/// same ones `max-file-size` is written in).
pub fn human_size(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * KB;
    const GB: u64 = 1024 * MB;
    let (unit, name) = if bytes >= GB {
        (GB, "GB")
    } else if bytes >= MB {
        (MB, "MB")
    } else if bytes >= KB {
        (KB, "KB")
    } else {
        return format!("{bytes} bytes");
    };
    if bytes.is_multiple_of(unit) {
        format!("{} {name}", bytes / unit)
    } else {
        let v = bytes as f64 / unit as f64;
        // One decimal, never rounding up to the limit it exceeds ("8.0 MB, over 8 MB").
        let tenths = (v * 10.0).floor() / 10.0;
        if tenths.fract() == 0.0 {
            format!("{tenths:.1} {name}")
        } else {
            format!("{tenths} {name}")
        }
    }
}

/// Read a source file of at most `max_size` bytes.
///
/// Rejects, before opening: anything that is not a regular file once symlinks are followed
/// (directories, FIFOs, sockets, devices such as `/dev/zero`), and files whose size is over
/// `max_size`. The open is non-blocking and the opened file is checked again to be the same
/// regular file, so a path swapped for a FIFO in between cannot block. At most `max_size + 1`
/// bytes are read, so a file growing meanwhile is rejected too.
pub fn read_source(path: &Path, max_size: u64) -> Result<Vec<u8>, ReadError> {
    read_source_stamped(path, max_size).map(|(bytes, _)| bytes)
}

/// What the file system says about a file's identity and last change: size, modification and
/// status-change times (nanoseconds), inode and device. Any write changes the mtime and ctime,
/// and the ctime cannot be set back by a user, so a file whose stamp is unchanged (and was not
/// changed in the same instant it was stamped, see [`Stamp::settled`]) still has the content
/// it had when stamped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Stamp {
    pub len: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub ino: u64,
    pub dev: u64,
}

impl Stamp {
    pub fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Stamp {
                len: meta.len(),
                mtime_ns: meta.mtime() as i128 * 1_000_000_000 + meta.mtime_nsec() as i128,
                ctime_ns: meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
                ino: meta.ino(),
                dev: meta.dev(),
            }
        }
        #[cfg(not(unix))]
        {
            let ns = |t: io::Result<std::time::SystemTime>| {
                t.ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                    .map_or(0, |d| d.as_nanos() as i128)
            };
            Stamp {
                len: meta.len(),
                mtime_ns: ns(meta.modified()),
                ctime_ns: ns(meta.created()),
                ino: 0,
                dev: 0,
            }
        }
    }

    /// The stamp of the regular file at `path` (following symlinks), if it is one.
    pub fn of_path(path: &Path) -> Option<Stamp> {
        let meta = std::fs::metadata(path).ok()?;
        meta.is_file().then(|| Stamp::of(&meta))
    }

    /// Was the file last changed long enough before `now` that a change in the same clock tick
    /// cannot have gone unseen (git's "racily clean" rule)? Only settled stamps may stand for
    /// the content.
    pub fn settled(&self, now: std::time::SystemTime) -> bool {
        let now = now
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        let latest = self.mtime_ns.max(self.ctime_ns);
        latest > 0 && now - latest > 2_000_000_000
    }
}

/// [`read_source`], with the stamp of the file that was read (taken from the open file before
/// reading it).
pub fn read_source_stamped(path: &Path, max_size: u64) -> Result<(Vec<u8>, Stamp), ReadError> {
    let meta = std::fs::metadata(path).map_err(ReadError::Io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular(kind_of(&meta.file_type())));
    }
    if meta.len() > max_size {
        return Err(ReadError::TooLarge {
            size: meta.len(),
            max: max_size,
        });
    }
    let file = open_nonblocking(path).map_err(ReadError::Io)?;
    let opened = file.metadata().map_err(ReadError::Io)?;
    if !opened.is_file() {
        return Err(ReadError::NotRegular(kind_of(&opened.file_type())));
    }
    if opened.len() > max_size {
        return Err(ReadError::TooLarge {
            size: opened.len(),
            max: max_size,
        });
    }
    let mut buf = Vec::with_capacity(opened.len() as usize);
    file.take(max_size.saturating_add(1))
        .read_to_end(&mut buf)
        .map_err(ReadError::Io)?;
    if buf.len() as u64 > max_size {
        return Err(ReadError::TooLarge {
            size: buf.len() as u64,
            max: max_size,
        });
    }
    Ok((buf, Stamp::of(&opened)))
}

#[cfg(unix)]
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
}

#[cfg(not(unix))]
fn open_nonblocking(path: &Path) -> io::Result<std::fs::File> {
    std::fs::File::open(path)
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The codec named by a PEP 263 coding declaration in `line`, as CPython's tokenizer finds it:
/// the line is a comment (`^[ \t\f]*#`) and contains `coding` followed by `:` or `=`, optional
/// blanks and a name of ASCII letters, digits, `-`, `_`, `.`.
fn coding_spec(line: &[u8]) -> Option<&[u8]> {
    let start = line
        .iter()
        .position(|&c| !matches!(c, b' ' | b'\t' | 0x0c))?;
    if line[start] != b'#' {
        return None;
    }
    let rest = &line[start..];
    let mut i = 0;
    while i + 6 <= rest.len() {
        if &rest[i..i + 6] == b"coding" && matches!(rest.get(i + 6), Some(b':' | b'=')) {
            let mut j = i + 7;
            while matches!(rest.get(j), Some(b' ' | b'\t')) {
                j += 1;
            }
            let begin = j;
            while rest
                .get(j)
                .is_some_and(|&c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
            {
                j += 1;
            }
            if j > begin {
                return Some(&rest[begin..j]);
            }
        }
        i += 1;
    }
    None
}

/// A blank or comment-only line: a coding declaration may then follow on line 2.
fn blank_or_comment(line: &[u8]) -> bool {
    match line.iter().position(|&c| !matches!(c, b' ' | b'\t' | 0x0c)) {
        None => true,
        Some(i) => matches!(line[i], b'#' | b'\r' | b'\n'),
    }
}

/// CPython's normalisation of a codec name (`get_normal_name` in the tokenizer): `utf-8` and
/// `utf-8-*` (e.g. `utf-8-sig`, `UTF_8`) are `utf-8`. Only these go with a BOM.
fn is_normal_utf8(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('_', "-");
    n == "utf-8" || n.starts_with("utf-8-")
}

/// Without a BOM, the codec registry's aliases of UTF-8 are fine too.
fn is_utf8_alias(name: &str) -> bool {
    let n = name.to_ascii_lowercase().replace('_', "-");
    is_normal_utf8(name) || matches!(n.as_str(), "utf8" | "u8" | "utf" | "cp65001")
}

/// The first two lines of `bytes` (without their line endings are not needed: the scanner
/// stops at them).
fn first_lines(bytes: &[u8]) -> (&[u8], Option<&[u8]>) {
    let split = |b: &'_ [u8]| -> (usize, Option<usize>) {
        match b.iter().position(|&c| c == b'\n' || c == b'\r') {
            None => (b.len(), None),
            Some(i) => {
                let next = if b[i] == b'\r' && b.get(i + 1) == Some(&b'\n') {
                    i + 2
                } else {
                    i + 1
                };
                (i, Some(next))
            }
        }
    };
    let (end1, next) = split(bytes);
    let line1 = &bytes[..end1];
    let line2 = next.map(|n| {
        let rest = &bytes[n..];
        let (end2, _) = split(rest);
        &rest[..end2]
    });
    (line1, line2)
}

/// Decode a Python source file as CPython would, accepting only UTF-8 source.
///
/// Returns the whole text (a UTF-8 BOM, if any, is kept as `U+FEFF` at the start, so that
/// writing the text back preserves it). Errors, with the message to report:
/// - NUL bytes: `binary file (contains NUL bytes), not Python source`;
/// - a coding declaration (line 1, or line 2 after a blank or comment-only line 1) naming a
///   codec other than UTF-8: `file declares encoding `latin-1` (line 1); only UTF-8 source is
///   supported, so it is not checked or fixed`;
/// - a UTF-8 BOM with such a declaration: `encoding problem: `latin-1` with BOM (line 1)`, as
///   CPython reports it;
/// - invalid UTF-8: `file is not valid UTF-8 (invalid byte at line L, byte offset N)`.
pub fn decode_python(bytes: &[u8]) -> Result<&str, String> {
    if bytes.contains(&0) {
        return Err("binary file (contains NUL bytes), not Python source".into());
    }
    let has_bom = bytes.starts_with(BOM);
    let body = if has_bom { &bytes[BOM.len()..] } else { bytes };
    let (line1, line2) = first_lines(body);
    let declared = match coding_spec(line1) {
        Some(c) => Some((c, 1)),
        None if blank_or_comment(line1) => line2.and_then(coding_spec).map(|c| (c, 2)),
        None => None,
    };
    if let Some((codec, line)) = declared {
        // The name is ASCII by construction.
        let codec = String::from_utf8_lossy(codec);
        if has_bom && !is_normal_utf8(&codec) {
            return Err(format!(
                "encoding problem: `{codec}` with BOM (line {line}); CPython rejects this file"
            ));
        }
        if !is_utf8_alias(&codec) {
            return Err(format!(
                "file declares encoding `{codec}` (line {line}); only UTF-8 source is supported, so it is not checked or fixed"
            ));
        }
    }
    std::str::from_utf8(bytes).map_err(|e| {
        let line = bytes[..e.valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count()
            + 1;
        format!(
            "file is not valid UTF-8 (invalid byte at line {line}, byte offset {})",
            e.valid_up_to()
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_well() {
        assert_eq!(human_size(100), "100 bytes");
        assert_eq!(human_size(8 * 1024 * 1024), "8 MB");
        assert_eq!(human_size(8 * 1024 * 1024 + 1), "8.0 MB");
        assert_eq!(human_size(12 * 1024 * 1024 + 400 * 1024), "12.3 MB");
        assert_eq!(human_size(512 * 1024), "512 KB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3 GB");
    }

    #[test]
    fn coding_declarations() {
        assert_eq!(decode_python(b"x = 1\n"), Ok("x = 1\n"));
        assert_eq!(decode_python(b"\xEF\xBB\xBFx = 1\n"), Ok("\u{feff}x = 1\n"));
        for ok in [
            &b"# -*- coding: utf-8 -*-\nx = 1\n"[..],
            b"# coding=UTF8\n",
            b"# vim: set fileencoding=utf_8 :\n",
            b"#!/usr/bin/env python\n# -*- coding: utf-8-sig -*-\n",
            b"\xEF\xBB\xBF# coding: utf-8\n",
            b"\n# coding: utf-8\n",
            // Line 1 is code, so line 2 is not a declaration.
            b"x = 1\n# coding: latin-1\n",
            // Line 3 never is.
            b"#\n#\n# coding: latin-1\n",
            // Not a comment.
            b"s = '# coding: latin-1'\n",
        ] {
            assert!(decode_python(ok).is_ok(), "{}", String::from_utf8_lossy(ok));
        }
        let e = decode_python(b"# -*- coding: latin-1 -*-\nx = 1\n").unwrap_err();
        assert_eq!(
            e,
            "file declares encoding `latin-1` (line 1); only UTF-8 source is supported, so it is not checked or fixed"
        );
        let e =
            decode_python(b"#!/usr/bin/python\r\n# coding=ascii\r\nx = '\xc3\xa9'\n").unwrap_err();
        assert!(e.contains("`ascii` (line 2)"), "{e}");
        let e = decode_python(b"# coding: no-such-codec\n").unwrap_err();
        assert!(e.contains("`no-such-codec`"), "{e}");
        assert!(decode_python(b"\xEF\xBB\xBF# coding: utf8\n").is_err());
        let e = decode_python(b"\xEF\xBB\xBF# coding: latin-1\n").unwrap_err();
        assert_eq!(
            e,
            "encoding problem: `latin-1` with BOM (line 1); CPython rejects this file"
        );
    }

    #[test]
    fn binary_and_invalid_utf8_keep_their_messages() {
        assert_eq!(
            decode_python(b"x = 1\x00\n").unwrap_err(),
            "binary file (contains NUL bytes), not Python source"
        );
        assert_eq!(
            decode_python(b"x = 1\ny = '\xff'\n").unwrap_err(),
            "file is not valid UTF-8 (invalid byte at line 2, byte offset 11)"
        );
    }
}
