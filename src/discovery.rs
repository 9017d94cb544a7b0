//! Finding the project's Python files: the `ignore` crate's parallel walker, honouring
//! `.gitignore` / `.ignore` (unless `respect-gitignore = false`) and `exclude`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ignore::{WalkBuilder, WalkState};

use crate::config::Settings;

pub fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "py" || e == "pyi")
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
                if !is_dir && entry.file_type().is_some_and(|t| t.is_file()) && is_python(path) {
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
