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
    discover_streaming(settings, roots, force_exclude, &|_| {})
}

/// [`discover`], telling `on_file` of each file of the walk as soon as it is listed (so its facts
/// can be extracted while the walk goes on). A Rust or SQL file is told before the walk knows
/// whether it lies in a Cargo project; the returned list is what counts.
pub fn discover_streaming(
    settings: &Settings,
    roots: &[PathBuf],
    force_exclude: bool,
    on_file: &(dyn Fn(&Path) + Sync),
) -> (Vec<PathBuf>, Vec<MissingPath>) {
    walk(settings, roots, force_exclude, on_file, None)
}

/// The project's files, as [`discover`] finds them under the root, telling `on_dir` of every
/// directory the walk goes into before the walk reads it: a file can join the project only by an
/// entry added to one of them (the daemon watches them).
pub fn discover_watching_dirs(
    settings: &Settings,
    on_dir: &(dyn Fn(&Path) + Sync),
) -> Vec<PathBuf> {
    let root = std::slice::from_ref(&settings.root);
    walk(settings, root, false, &|_| {}, Some(on_dir)).0
}

fn walk(
    settings: &Settings,
    roots: &[PathBuf],
    force_exclude: bool,
    on_file: &(dyn Fn(&Path) + Sync),
    on_dir: Option<&(dyn Fn(&Path) + Sync)>,
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
        // Rust and SQL files wait for the end of the walk: whether a directory holds a
        // `Cargo.toml` is then known from the walk's own listings (no `stat` per directory).
        let pending = Mutex::new(Vec::new());
        let walked = Mutex::new(rustc_hash::FxHashMap::<PathBuf, bool>::default());
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
            let pending = &pending;
            let walked = &walked;
            let found_file = on_file;
            Box::new(move |entry| {
                let Ok(entry) = entry else {
                    return WalkState::Continue;
                };
                let path = entry.path();
                let is_dir = entry.file_type().is_some_and(|t| t.is_dir());
                if is_dir {
                    walked
                        .lock()
                        .unwrap()
                        .entry(path.to_path_buf())
                        .or_insert(false);
                } else if path.file_name().is_some_and(|n| n == "Cargo.toml")
                    && let Some(dir) = path.parent()
                {
                    walked.lock().unwrap().insert(dir.to_path_buf(), true);
                }
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
                if is_dir && let Some(on_dir) = on_dir {
                    on_dir(path);
                }
                if !is_dir && entry.file_type().is_some_and(|t| t.is_file()) {
                    if is_python(path) {
                        found_file(path);
                        found.lock().unwrap().push(path.to_path_buf());
                    } else if is_rust(path) || is_sql_migration(path) {
                        found_file(path);
                        pending.lock().unwrap().push(path.to_path_buf());
                    }
                }
                WalkState::Continue
            })
        });
        files.extend(found.into_inner().unwrap());
        // Directories the walk listed say themselves whether they hold a `Cargo.toml`; the
        // others (above the walked roots) are asked.
        for (dir, manifest) in walked.into_inner().unwrap() {
            cargo.0.lock().unwrap().entry(dir).or_insert(manifest);
        }
        files.extend(
            pending
                .into_inner()
                .unwrap()
                .into_iter()
                .filter(|p| cargo.in_cargo_project(p, root)),
        );
    }
    files.sort();
    files.dedup();
    (files, missing)
}
