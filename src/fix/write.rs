//! Writing a fixed file without losing data or lying about it.
//!
//! [`write_fixed`] writes the fixed text of a file only when it is safe and reports every reason
//! it did not:
//!
//! - **Stale content**: the file is written only if its bytes are still exactly the ones the
//!   fix was computed from ([`WriteError::Changed`]). The check is repeated immediately before
//!   the rename (or the in-place write), so the window for a concurrent editor save, `git
//!   checkout` or second `tenantlint --fix` is a few system calls wide.
//! - **Read-only files** (no write bit for anyone, such as `0444`) are never rewritten
//!   ([`WriteError::ReadOnly`]); the mode bits are checked explicitly because root bypasses
//!   permission checks.
//! - **Atomic replace**: a temporary file in the same directory, with the original's mode and
//!   owner and group, then a rename. If the owner or group cannot be kept (not root, and the file
//!   belongs to someone else), the file is not written ([`WriteError::Owner`]).
//! - **Hard links** (`nlink > 1`): a rename would split the links, so the file is written in
//!   place through its inode (truncate, then write). This is not atomic: a crash or a full disk
//!   in the middle can leave the file partly written; on a write error we try to put the
//!   original bytes back and report the error either way.
//! - **Symlinks** are never replaced by a regular file: the target is written (atomically, with
//!   the rules above), but only if it lies inside the project root once every link is resolved
//!   ([`WriteError::OutsideRoot`]).
//! - **Every IO failure is an error** (immutable file, read-only directory, disk full, ...); the
//!   temporary file is removed on every failure path.
//!
//! Not preserved: extended attributes, ACLs and SELinux labels of the original (the temporary
//! file gets the directory's defaults), and the inode number (except for hard-linked files).

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// Why a fixed file was not written. `Display` starts with the path.
#[derive(Debug)]
pub enum WriteError {
    /// The file's bytes differ from the ones the fix was computed from.
    Changed { path: PathBuf },
    /// The file has no write permission bit at all.
    ReadOnly { path: PathBuf, mode: u32 },
    /// The path resolves (through symlinks) to a file outside the project root.
    OutsideRoot {
        path: PathBuf,
        target: PathBuf,
        root: PathBuf,
    },
    /// The path (resolved) is not a regular file.
    NotRegular { path: PathBuf },
    /// The temporary file could not be given the original's owner and group.
    Owner {
        path: PathBuf,
        uid: u32,
        gid: u32,
        source: io::Error,
    },
    /// Any other IO failure; `action` says what was being done.
    Io {
        path: PathBuf,
        action: &'static str,
        source: io::Error,
    },
}

impl WriteError {
    /// The path that was being written (as given).
    pub fn path(&self) -> &Path {
        match self {
            WriteError::Changed { path }
            | WriteError::ReadOnly { path, .. }
            | WriteError::OutsideRoot { path, .. }
            | WriteError::NotRegular { path }
            | WriteError::Owner { path, .. }
            | WriteError::Io { path, .. } => path,
        }
    }
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Changed { path } => write!(
                f,
                "{}: changed on disk since it was read; not fixed",
                path.display()
            ),
            WriteError::ReadOnly { path, mode } => write!(
                f,
                "{}: file is read-only (mode {:o}); not fixed",
                path.display(),
                mode & 0o7777
            ),
            WriteError::OutsideRoot { path, target, root } => write!(
                f,
                "{}: is a symlink to {}, outside the project root {}; not fixed",
                path.display(),
                target.display(),
                root.display()
            ),
            WriteError::NotRegular { path } => {
                write!(f, "{}: not a regular file; not fixed", path.display())
            }
            WriteError::Owner {
                path,
                uid,
                gid,
                source,
            } => write!(
                f,
                "{}: cannot keep its owner and group ({uid}:{gid}) when replacing it: {source}; not fixed",
                path.display()
            ),
            WriteError::Io {
                path,
                action,
                source,
            } => write!(
                f,
                "{}: cannot {action}: {source}; not fixed",
                path.display()
            ),
        }
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WriteError::Owner { source, .. } | WriteError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Write `new` to `path`, which must still contain exactly `expected`. `root` is the project
/// root: a path that resolves through symlinks to a file outside it is refused. See the module
/// documentation for the rules.
pub fn write_fixed(
    path: &Path,
    expected: &[u8],
    new: &[u8],
    root: &Path,
) -> Result<(), WriteError> {
    let io_err = |action| io_error(path, action);

    // Resolve symlinks (of the file and of its directories) and keep the write inside the root.
    let target = std::fs::canonicalize(path).map_err(io_err("resolve the path"))?;
    let lexical =
        crate::config::normalize(&std::path::absolute(path).map_err(io_err("resolve the path"))?);
    if target != lexical {
        let root = std::fs::canonicalize(root).map_err(io_err("resolve the project root"))?;
        if !target.starts_with(&root) {
            return Err(WriteError::OutsideRoot {
                path: path.to_path_buf(),
                target,
                root,
            });
        }
    }

    let meta = std::fs::metadata(&target).map_err(io_err("read the file's metadata"))?;
    if !meta.is_file() {
        return Err(WriteError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    let mode = file_mode(&meta);
    if mode & 0o222 == 0 {
        return Err(WriteError::ReadOnly {
            path: path.to_path_buf(),
            mode,
        });
    }
    if std::fs::read(&target).map_err(io_err("read the file"))? != expected {
        return Err(WriteError::Changed {
            path: path.to_path_buf(),
        });
    }

    if nlink(&meta) > 1 {
        write_in_place(path, &target, expected, new)
    } else {
        replace_atomically(path, &target, &meta, expected, new)
    }
}

/// Wrap an I/O error of `action` on `path`.
fn io_error<'a>(path: &'a Path, action: &'static str) -> impl FnOnce(io::Error) -> WriteError + 'a {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        action,
        source,
    }
}

/// A hard-linked file: write through the existing inode so every link sees the new text.
fn write_in_place(
    path: &Path,
    target: &Path,
    expected: &[u8],
    new: &[u8],
) -> Result<(), WriteError> {
    let io_err = |action| io_error(path, action);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(target)
        .map_err(io_err("open the file for writing"))?;
    // The last check, through the very file descriptor we write with.
    let mut current = Vec::with_capacity(expected.len());
    file.read_to_end(&mut current)
        .map_err(io_err("read the file"))?;
    if current != expected {
        return Err(WriteError::Changed {
            path: path.to_path_buf(),
        });
    }
    let write = |file: &mut File, bytes: &[u8]| -> io::Result<()> {
        file.seek(SeekFrom::Start(0))?;
        file.set_len(0)?;
        file.write_all(bytes)?;
        file.sync_all()
    };
    if let Err(e) = write(&mut file, new) {
        // Best effort: put the original text back before reporting.
        let _ = write(&mut file, expected);
        return Err(WriteError::Io {
            path: path.to_path_buf(),
            action: "write the file in place (it has several hard links)",
            source: e,
        });
    }
    Ok(())
}

/// Replace the file by a temporary one with the same mode, owner and group, via a rename.
fn replace_atomically(
    path: &Path,
    target: &Path,
    meta: &std::fs::Metadata,
    expected: &[u8],
    new: &[u8],
) -> Result<(), WriteError> {
    let io_err = |action| io_error(path, action);
    let dir = target.parent().unwrap_or(Path::new("."));
    // Dropping `tmp` on any early return removes the temporary file.
    let mut tmp = tempfile::Builder::new()
        .prefix(".tenantlint-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io_err("create a temporary file next to it"))?;
    tmp.write_all(new)
        .map_err(io_err("write the temporary file"))?;
    tmp.as_file()
        .sync_all()
        .map_err(io_err("write the temporary file"))?;
    tmp.as_file()
        .set_permissions(meta.permissions())
        .map_err(io_err("set the temporary file's permissions"))?;
    keep_owner(path, tmp.as_file(), meta)?;
    // The owner change may clear set-user-ID/set-group-ID bits: set the mode again.
    tmp.as_file()
        .set_permissions(meta.permissions())
        .map_err(io_err("set the temporary file's permissions"))?;

    // The last check, as late as possible before the rename.
    if std::fs::read(target).map_err(io_err("read the file"))? != expected {
        return Err(WriteError::Changed {
            path: path.to_path_buf(),
        });
    }
    tmp.persist(target).map_err(|e| WriteError::Io {
        path: path.to_path_buf(),
        action: "replace the file",
        source: e.error,
    })?;
    Ok(())
}

#[cfg(unix)]
fn keep_owner(path: &Path, tmp: &File, meta: &std::fs::Metadata) -> Result<(), WriteError> {
    use std::os::unix::fs::MetadataExt;
    let (uid, gid) = (meta.uid(), meta.gid());
    let tmp_meta = tmp.metadata().map_err(|source| WriteError::Io {
        path: path.to_path_buf(),
        action: "read the temporary file's metadata",
        source,
    })?;
    if tmp_meta.uid() == uid && tmp_meta.gid() == gid {
        return Ok(());
    }
    std::os::unix::fs::fchown(tmp, Some(uid), Some(gid)).map_err(|source| WriteError::Owner {
        path: path.to_path_buf(),
        uid,
        gid,
        source,
    })
}

#[cfg(not(unix))]
fn keep_owner(_: &Path, _: &File, _: &std::fs::Metadata) -> Result<(), WriteError> {
    Ok(())
}

#[cfg(unix)]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    meta.permissions().mode()
}

#[cfg(not(unix))]
fn file_mode(meta: &std::fs::Metadata) -> u32 {
    if meta.permissions().readonly() {
        0o444
    } else {
        0o644
    }
}

#[cfg(unix)]
fn nlink(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.nlink()
}

#[cfg(not(unix))]
fn nlink(_: &std::fs::Metadata) -> u64 {
    1
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    const OLD: &[u8] = b"x = 1\n";
    const NEW: &[u8] = b"x = 2\n";

    fn setup() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.py");
        std::fs::write(&p, OLD).unwrap();
        (dir, p)
    }

    fn leftovers(dir: &Path) -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".tenantlint-"))
            .collect()
    }

    #[test]
    fn writes_when_unchanged_and_keeps_the_mode() {
        let (dir, p) = setup();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        write_fixed(&p, OLD, NEW, dir.path()).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), NEW);
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o7777, 0o640);
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn changed_file_is_not_written() {
        let (dir, p) = setup();
        std::fs::write(&p, b"x = 1  # edited\n").unwrap();
        let e = write_fixed(&p, OLD, NEW, dir.path()).unwrap_err();
        assert!(matches!(e, WriteError::Changed { .. }));
        assert!(
            e.to_string()
                .ends_with("changed on disk since it was read; not fixed")
        );
        assert_eq!(std::fs::read(&p).unwrap(), b"x = 1  # edited\n");
    }

    #[test]
    fn read_only_file_is_not_written() {
        let (dir, p) = setup();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o444)).unwrap();
        let e = write_fixed(&p, OLD, NEW, dir.path()).unwrap_err();
        assert!(matches!(e, WriteError::ReadOnly { .. }), "{e}");
        assert!(e.to_string().contains("read-only (mode 444)"), "{e}");
        assert_eq!(std::fs::read(&p).unwrap(), OLD);
    }

    #[test]
    fn hard_links_are_written_in_place() {
        let (dir, p) = setup();
        let other = dir.path().join("other.py");
        std::fs::hard_link(&p, &other).unwrap();
        let ino = std::fs::metadata(&p).unwrap().ino();
        write_fixed(&p, OLD, NEW, dir.path()).unwrap();
        assert_eq!(std::fs::read(&other).unwrap(), NEW);
        assert_eq!(std::fs::metadata(&p).unwrap().ino(), ino);
        assert_eq!(std::fs::metadata(&p).unwrap().nlink(), 2);
        // Shorter text: the file is truncated.
        write_fixed(&p, NEW, b"y\n", dir.path()).unwrap();
        assert_eq!(std::fs::read(&other).unwrap(), b"y\n");
    }

    #[test]
    fn symlink_inside_root_writes_the_target_and_stays_a_link() {
        let (dir, p) = setup();
        let link = dir.path().join("link.py");
        std::os::unix::fs::symlink("m.py", &link).unwrap();
        write_fixed(&link, OLD, NEW, dir.path()).unwrap();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read(&p).unwrap(), NEW);
    }

    #[test]
    fn symlink_outside_root_is_refused() {
        let (outside, target) = setup();
        let root = tempfile::tempdir().unwrap();
        let link = root.path().join("link.py");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let e = write_fixed(&link, OLD, NEW, root.path()).unwrap_err();
        assert!(matches!(e, WriteError::OutsideRoot { .. }), "{e}");
        assert!(e.to_string().contains("outside the project root"), "{e}");
        assert_eq!(std::fs::read(&target).unwrap(), OLD);
        drop(outside);
    }
}
