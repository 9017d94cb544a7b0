//! Baselines: `check --write-baseline FILE` records today's findings, `check --baseline FILE` (or
//! the config key `baseline`) reports only the ones not recorded.
//!
//! A finding is recorded by the line-independent fingerprint the GitLab report uses
//! ([`crate::report::gitlab::fingerprints_with`]): the rule's code, the file's path relative to
//! the project root, the message and the whitespace-trimmed text of the line the finding starts
//! on, plus an occurrence number for identical findings on identical lines of one file. Lines
//! added or removed above a finding do not change it; two identical findings need two entries.
//!
//! The file is JSON, sorted, one entry per finding with the fingerprint and, for people reviewing
//! it, the code, path, message and line text.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnostics::Diagnostic;
use crate::report::gitlab;

/// The format version written in every baseline file.
pub const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(rename = "tenantlint-baseline")]
    version: u32,
    findings: Vec<Entry>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq, PartialOrd, Ord)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub filename: String,
    pub code: String,
    pub message: String,
    pub line: String,
    pub fingerprint: String,
}

/// A baseline read from disk.
#[derive(Debug, Default)]
pub struct Baseline {
    pub entries: Vec<Entry>,
    fingerprints: HashSet<String>,
}

impl Baseline {
    pub fn contains(&self, fingerprint: &str) -> bool {
        self.fingerprints.contains(fingerprint)
    }

    fn new(entries: Vec<Entry>) -> Baseline {
        let fingerprints = entries.iter().map(|e| e.fingerprint.clone()).collect();
        Baseline {
            entries,
            fingerprints,
        }
    }
}

/// A path as recorded in a baseline: relative to the project root with `/`, else absolute.
pub fn baseline_path(path: &Path, root: &Path) -> String {
    path.strip_prefix(root)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}

/// The baseline entries of `diags` (sorted as reported), their sources read with `source_of`
/// (once per file).
pub fn entries(
    diags: &[Diagnostic],
    root: &Path,
    mut source_of: impl FnMut(&Path) -> Option<String>,
) -> Vec<Entry> {
    let mut out = Vec::with_capacity(diags.len());
    for group in diags.chunk_by(|a, b| a.path == b.path) {
        let source = source_of(&group[0].path);
        let fps = gitlab::fingerprints_with(group, |_| source.clone(), |p| baseline_path(p, root));
        for (d, fingerprint) in group.iter().zip(fps) {
            out.push(Entry {
                filename: baseline_path(&d.path, root),
                code: d.rule.code().to_string(),
                message: d.message.clone(),
                line: gitlab::line_text(source.as_deref(), d).to_string(),
                fingerprint,
            });
        }
    }
    out
}

/// Read a baseline file. Errors name the file and say what is wrong.
pub fn read(path: &Path) -> Result<Baseline, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read the baseline {}: {e} (create it with `tenantlint check --write-baseline {}`)",
            path.display(),
            path.display()
        )
    })?;
    let file: File = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{} is not a tenantlint baseline: {e} (write it again with `--write-baseline`)",
            path.display()
        )
    })?;
    if file.version != VERSION {
        return Err(format!(
            "{}: baseline format {} is not supported (this tenantlint writes format {VERSION}); write it again with `--write-baseline`",
            path.display(),
            file.version
        ));
    }
    Ok(Baseline::new(file.findings))
}

/// Write a baseline with `entries` (sorted, duplicates dropped) through a temporary file renamed
/// over the old one, so a reader never sees half a file.
pub fn write(path: &Path, mut entries: Vec<Entry>) -> Result<usize, String> {
    entries.sort();
    let mut seen = HashSet::new();
    entries.retain(|e| seen.insert(e.fingerprint.clone()));
    let n = entries.len();
    let file = File {
        version: VERSION,
        findings: entries,
    };
    let mut text = serde_json::to_string_pretty(&file).map_err(|e| e.to_string())?;
    text.push('\n');
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let err = |e: std::io::Error| format!("cannot write the baseline {}: {e}", path.display());
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    std::io::Write::write_all(&mut tmp, text.as_bytes()).map_err(err)?;
    // A temporary file is private (0600); a baseline is a shared project file: keep the old
    // file's mode, else the usual 0644.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_or(0o644, |m| m.permissions().mode() & 0o7777);
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(mode)).map_err(err)?;
    }
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(n)
}

/// The entries to write: today's findings in the files that were checked, plus the old
/// baseline's entries for files that were not checked this time and still exist (so
/// `--write-baseline` on a few files, as pre-commit passes them, does not forget the rest).
pub fn merge(
    old: Option<Baseline>,
    new: Vec<Entry>,
    checked: &[PathBuf],
    root: &Path,
) -> Vec<Entry> {
    let checked: HashSet<String> = checked.iter().map(|p| baseline_path(p, root)).collect();
    let mut out = new;
    if let Some(old) = old {
        out.extend(old.entries.into_iter().filter(|e| {
            !checked.contains(&e.filename) && {
                let p = Path::new(&e.filename);
                if p.is_absolute() {
                    p.exists()
                } else {
                    root.join(p).exists()
                }
            }
        }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::locate::Span;

    fn diag(path: &str, start: u32) -> Diagnostic {
        Diagnostic::new(
            crate::rules::ten901_io_error::RULE,
            "msg",
            PathBuf::from(path),
            Span { start, end: start },
        )
    }

    #[test]
    fn identical_findings_get_distinct_fingerprints_and_shift_free_ones() {
        let src = "a = 1\nb = 2\na = 1\n";
        let shifted = format!("# new\n# lines\n{src}");
        let root = Path::new("/p");
        let d = [diag("/p/x.py", 0), diag("/p/x.py", 12)];
        let e = entries(&d, root, |_| Some(src.to_string()));
        assert_ne!(e[0].fingerprint, e[1].fingerprint);
        assert_eq!(e[0].filename, "x.py");
        assert_eq!(e[0].line, "a = 1");
        let d2 = [diag("/p/x.py", 14), diag("/p/x.py", 26)];
        let e2 = entries(&d2, root, |_| Some(shifted.clone()));
        assert_eq!(
            e.iter().map(|x| &x.fingerprint).collect::<Vec<_>>(),
            e2.iter().map(|x| &x.fingerprint).collect::<Vec<_>>()
        );
    }

    #[test]
    fn write_then_read_round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        let d = [diag("/p/x.py", 0)];
        let e = entries(&d, Path::new("/p"), |_| Some("x = 1\n".into()));
        assert_eq!(write(&p, e.clone()).unwrap(), 1);
        let b = read(&p).unwrap();
        assert!(b.contains(&e[0].fingerprint));
        std::fs::write(&p, "[]").unwrap();
        assert!(read(&p).unwrap_err().contains("not a tenantlint baseline"));
        assert!(
            read(&dir.path().join("missing.json"))
                .unwrap_err()
                .contains("--write-baseline")
        );
    }
}
