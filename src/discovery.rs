//! Finding the project's source files: the `ignore` crate's parallel walker, honouring
//! `.gitignore` / `.ignore` (unless `respect-gitignore = false`) and `exclude`.
//!
//! Python files are always found. Rust files (`.rs`) and SQL migrations (`.sql` under a
//! `migrations` or `migration` folder) are found only inside a Cargo project: a directory from the
//! file's up to the project root holds a `Cargo.toml`. A `target` folder beside a `Cargo.toml`
//! (Cargo's build output) is never walked.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use crate::config::Settings;

pub fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py" || e == "pyi")
}

pub fn is_rust(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "rs")
}

/// A SQL migration: `*.sql` below a `migrations` (sqlx, diesel) or `migration` folder.
pub fn is_sql_migration(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "sql")
        && path.parent().is_some_and(|p| {
            p.components()
                .any(|c| matches!(c.as_os_str().to_str(), Some("migrations" | "migration")))
        })
}

/// Which directories hold a `Cargo.toml` (memoised: one `stat` per directory).
#[derive(Default)]
struct CargoDirs(Mutex<rustc_hash::FxHashMap<PathBuf, bool>>);

impl CargoDirs {
    fn has_manifest(&self, dir: &Path) -> bool {
        if let Some(&known) = self.0.lock().unwrap().get(dir) {
            return known;
        }
        let found = dir.join("Cargo.toml").is_file();
        self.0.lock().unwrap().insert(dir.to_path_buf(), found);
        found
    }

    /// Is `file` in a Cargo project: a directory from its own up to `root` (or up to the
    /// filesystem root when it is outside `root`) holds a `Cargo.toml`?
    fn in_cargo_project(&self, file: &Path, root: &Path) -> bool {
        let mut dir = file.parent();
        while let Some(d) = dir {
            if self.has_manifest(d) {
                return true;
            }
            if d == root {
                return false;
            }
            dir = d.parent();
        }
        false
    }
}

/// Is `path` a file tenantlint checks (when found by walking)?
fn wanted(path: &Path, root: &Path, cargo: &CargoDirs) -> bool {
    is_python(path)
        || ((is_rust(path) || is_sql_migration(path)) && cargo.in_cargo_project(path, root))
}

/// A path that was named on the command line but could not be found or read.
#[derive(Debug)]
pub struct MissingPath {
    pub path: PathBuf,
    pub message: String,
}

/// All Python files under `roots`, sorted, deduplicated. Directories are walked with the
/// exclusion rules; a file named directly is kept even when excluded, unless `force_exclude`.
pub fn discover(
    settings: &Settings,
    roots: &[PathBuf],
    force_exclude: bool,
) -> (Vec<PathBuf>, Vec<MissingPath>) {
    let mut files = Vec::new();
    let mut missing = Vec::new();
    let mut dirs = Vec::new();
    for root in roots {
        match std::fs::metadata(root) {
            Ok(m) if m.is_dir() => {
                if force_exclude && settings.is_excluded(root) {
                    continue;
                }
                dirs.push(root.clone());
            }
            Ok(_) => {
                if force_exclude && settings.is_excluded(root) {
                    continue;
                }
                // The config file named on the command line is not Python: `check` reports its
                // problems (TEN001), the rules have nothing to say about it.
                if settings.config_file.as_ref() == Some(root) {
                    continue;
                }
                files.push(root.clone());
            }
            Err(e) => missing.push(MissingPath {
                path: root.clone(),
                message: e.to_string(),
            }),
        }
    }
    if !dirs.is_empty() {
        let found = Mutex::new(Vec::new());
        let cargo = CargoDirs::default();
        let root = settings.root.as_path();
        let mut builder = WalkBuilder::new(&dirs[0]);
        for d in &dirs[1..] {
            builder.add(d);
        }
        builder
            .hidden(false)
            .parents(settings.respect_gitignore)
            .git_ignore(settings.respect_gitignore)
            .git_global(settings.respect_gitignore)
            .git_exclude(settings.respect_gitignore)
            .ignore(settings.respect_gitignore)
            .require_git(false)
            .follow_links(false)
            .threads(
                std::thread::available_parallelism()
                    .map_or(2, |n| n.get())
                    .min(8),
            );
        let walker = builder.build_parallel();
        walker.run(|| {
            let found = &found;
            let cargo = &cargo;
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                let path = entry.path();
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                // The roots themselves were given explicitly.
                if entry.depth() > 0 && settings.is_excluded(path) {
                    return if is_dir {
                        WalkState::Skip
                    } else {
                        WalkState::Continue
                    };
                }
                // Cargo's build output.
                if is_dir
                    && entry.depth() > 0
                    && path.file_name().is_some_and(|n| n == "target")
                    && path.parent().is_some_and(|p| cargo.has_manifest(p))
                {
                    return WalkState::Skip;
                }
                if !is_dir
                    && entry.file_type().is_some_and(|t| t.is_file())
                    && wanted(path, root, cargo)
                {
                    found.lock().unwrap().push(path.to_path_buf());
                }
                WalkState::Continue
            })
        });
        files.extend(found.into_inner().unwrap());
    }
    files.sort();
    files.dedup();
    (files, missing)
}
