//! The engine: one [`Workspace`] that the CLI, the fact cache and the language server all drive.
//!
//! A workspace owns the project's files by [`FileId`], reads their text through the source layer
//! ([`source::Sources`]: disk, or in-memory documents such as standard input and editor buffers),
//! extracts each file's facts once (in parallel, on its own thread pool with large stacks, or from
//! the fact [`cache`]), keeps the project [`Index`] up to date one file at a time, runs the rules,
//! and computes fixes from the facts plus the source when they are asked for. The check/fix loop
//! is [`fixloop`]; `crate::fix` only applies edits, re-parses and writes files.

pub mod cache;
pub mod fixloop;
pub mod pool;
pub mod select;
pub mod source;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use rustc_hash::FxHashMap as HashMap;

use crate::config::Settings;
use crate::diagnostics::Diagnostic;
use crate::facts::FileFacts;
use crate::frontend::{self, Language};
use crate::index::{FileId, FileMeta, Index};
use crate::noqa;
use crate::registry::{self, Rule};
use crate::rules::{self, Context};
use select::Selections;
use source::Sources;

/// A project loaded for checking.
pub struct Workspace {
    settings: Arc<Settings>,
    sources: Sources,
    ids: HashMap<PathBuf, FileId>,
    index: Index,
    cache: Option<cache::FactCache>,
    pool: Arc<rayon::ThreadPool>,
    /// By file: the hash of the text its facts were extracted from (`None`: unreadable).
    hashes: Vec<Option<cache::Key>>,
    /// How many files' facts came from the cache in the last load or refresh.
    pub cache_hits: usize,
    /// How long building the index took in [`Workspace::load`] (of the load's total).
    pub index_time: std::time::Duration,
}

impl Workspace {
    /// Load `files` (absolute paths, sorted): read each through `sources`, extract its facts (or
    /// take them from `cache`), and build the index.
    pub fn load(
        settings: Arc<Settings>,
        files: Vec<PathBuf>,
        sources: Sources,
        cache: Option<cache::FactCache>,
    ) -> Workspace {
        let sources = sources.with_max_file_size(settings.max_file_size);
        Self::load_with(settings, files, sources, cache, Prefetched::default())
    }

    /// Discover and load in one go: `discover` walks the project, telling the callback it is
    /// given of each file as it is listed, and returns the files to load (absolute, sorted) with
    /// whatever else it found. Each file's facts are extracted as soon as the walk lists it, on
    /// the workspace's pool, so extraction overlaps the walk (which mostly waits on the file
    /// system). A file listed but not returned is dropped; one returned but not listed is loaded
    /// after the walk.
    pub fn discover_and_load<R: Send>(
        settings: Arc<Settings>,
        sources: Sources,
        cache: Option<cache::FactCache>,
        discover: impl FnOnce(&(dyn Fn(&Path) + Sync)) -> (Vec<PathBuf>, R) + Send,
    ) -> (Workspace, R) {
        let pool = pool::shared();
        let sources = sources.with_max_file_size(settings.max_file_size);
        let done: std::sync::Mutex<Prefetched> = Default::default();
        let (files, rest) = pool.install(|| {
            rayon::scope(|scope| {
                let (sources, cache, done) = (&sources, &cache, &done);
                let start = |path: &Path| {
                    let path = path.to_path_buf();
                    scope.spawn(move |_| {
                        let loaded = facts_for(sources, cache.as_ref(), &path);
                        if let Ok(mut d) = done.lock() {
                            d.insert(path, loaded);
                        }
                    });
                };
                discover(&start)
            })
        });
        let prefetched = done.into_inner().unwrap_or_default();
        let ws = Self::load_with(settings, files, sources, cache, prefetched);
        (ws, rest)
    }

    fn load_with(
        settings: Arc<Settings>,
        files: Vec<PathBuf>,
        sources: Sources,
        cache: Option<cache::FactCache>,
        prefetched: Prefetched,
    ) -> Workspace {
        let pool = pool::shared();
        let hits = std::sync::atomic::AtomicUsize::new(0);
        let (loaded, hashes): (Vec<_>, Vec<_>) = pool.install(|| {
            files
                .par_iter()
                .map(|path| {
                    let meta = FileMeta::new(path.clone(), settings.module_name(path));
                    let (facts, hit, hash) = match prefetched.get(path) {
                        Some((facts, hit, hash)) => (facts.clone(), *hit, *hash),
                        None => facts_for(&sources, cache.as_ref(), path),
                    };
                    if hit {
                        hits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    ((meta, facts), hash)
                })
                .unzip()
        });
        let ids = files
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), i as FileId))
            .collect();
        let conv = Arc::new(settings.conventions.clone());
        let started = std::time::Instant::now();
        // The pack is written while the index is built (the write is mostly I/O and one
        // thread's hashing; the index build is parallel).
        let (index, ()) = pool.install(|| {
            rayon::join(
                || Index::build(loaded, conv),
                || {
                    if let Some(c) = &cache {
                        c.flush();
                    }
                },
            )
        });
        let index_time = started.elapsed();
        Workspace {
            settings,
            sources,
            ids,
            index,
            cache,
            pool,
            hashes,
            cache_hits: hits.into_inner(),
            index_time,
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn index(&self) -> &Index {
        &self.index
    }

    pub fn sources(&self) -> &Sources {
        &self.sources
    }

    pub fn file_id(&self, path: &Path) -> Option<FileId> {
        self.ids.get(path).copied()
    }

    pub fn path(&self, file: FileId) -> &Path {
        self.index.path(file)
    }

    pub fn len(&self) -> usize {
        self.index.len()
    }

    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Run `op` on the workspace's thread pool (large stacks for deep syntax trees).
    pub fn install<R: Send>(&self, op: impl FnOnce() -> R + Send) -> R {
        self.pool.install(op)
    }

    /// Let `text` stand for the file at `path` (an editor buffer, a fixed text) and update the
    /// index. A path the workspace does not know yet is added.
    pub fn set_document(&mut self, path: PathBuf, text: source::Text) -> FileId {
        self.sources.set_document(path.clone(), text);
        self.refresh(&path)
    }

    /// Drop the in-memory document for `path` (an editor closed it) and read the file from disk
    /// again.
    pub fn close_document(&mut self, path: &Path) -> FileId {
        self.sources.remove_document(path);
        self.refresh(path)
    }

    /// Stop using the fact cache (`load` has written it): a long-lived workspace (the language
    /// server) would otherwise keep the whole pack and every edit's facts in memory.
    pub fn detach_cache(&mut self) {
        self.cache = None;
    }

    /// Read one file again and update the index with its facts.
    pub fn refresh(&mut self, path: &Path) -> FileId {
        let meta = FileMeta::new(path.to_path_buf(), self.settings.module_name(path));
        let (facts, hit, hash) = {
            let sources = &self.sources;
            let cache = self.cache.as_ref();
            self.pool.install(|| facts_for(sources, cache, path))
        };
        self.cache_hits = hit as usize;
        let id = match self.ids.get(path) {
            Some(&id) => id,
            None => {
                let id = self.index.len() as FileId;
                self.ids.insert(path.to_path_buf(), id);
                self.hashes.push(None);
                id
            }
        };
        self.hashes[id as usize] = hash;
        let index = &mut self.index;
        self.pool.install(|| index.update(id, meta, facts));
        id
    }

    /// The file's text, if it is still exactly the one its facts were extracted from (a file
    /// edited on disk since is not fixed from stale facts).
    pub fn text_if_unchanged(&self, file: FileId) -> Option<String> {
        let expected = self.content_key(file)?;
        let text = self.sources.read(self.index.path(file)).ok()?;
        let lang = Language::of(self.index.path(file));
        (cache::content_key(lang, text.as_bytes()) == expected).then_some(text)
    }

    /// The hash of the text the file's facts were extracted from (`None`: it was unreadable).
    pub fn content_key(&self, file: FileId) -> Option<cache::Key> {
        self.hashes.get(file as usize).copied().flatten()
    }

    /// Run the enabled rules on `targets` and drop suppressed diagnostics. Sorted.
    pub fn lint(&self, targets: &[FileId], selections: &Selections) -> Vec<Diagnostic> {
        let shared = rules::Shared::default();
        let mut out: Vec<Diagnostic> = self.pool.install(|| {
            targets
                .par_iter()
                .flat_map_iter(|&file| self.lint_file(&shared, selections, file, None))
                .collect()
        });
        out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        out
    }

    /// The enabled rules for one file, after `per-file-ignores`.
    pub fn rules_for(&self, selections: &Selections, file: FileId) -> Vec<Rule> {
        let path = self.index.path(file);
        let (enabled, selection_settings) = selections.for_path(path, &self.settings);
        let ignored = selection_settings.per_file_ignored(path);
        // Test code builds cross-tenant fixtures and clears caches on purpose (`test-paths`).
        let in_tests = self.settings.is_test_path(path);
        // Migrations, management commands and tests run over every tenant on purpose
        // (`bypass-allowed-paths`).
        let in_bypass = self.settings.bypass_allowed(path);
        enabled
            .iter()
            .copied()
            .filter(|&r| !ignored.iter().any(|sel| registry::selector_matches(sel, r)))
            .filter(|&r| !(in_tests && crate::config::TEST_QUIET_RULES.contains(&r.code())))
            .filter(|&r| !(in_bypass && crate::config::BYPASS_QUIET_RULES.contains(&r.code())))
            .collect()
    }

    fn lint_file(
        &self,
        shared: &rules::Shared,
        selections: &Selections,
        file: FileId,
        edits: Option<&crate::facts::EditFacts>,
    ) -> Vec<Diagnostic> {
        let enabled = self.rules_for(selections, file);
        if enabled.is_empty() {
            return Vec::new();
        }
        let facts = self.index.facts(file);
        let sites = facts.sites();
        let suppressed = |rule: Rule, row: u32| noqa::is_suppressed(&facts.noqa, rule, row);
        let ctx = Context {
            index: &self.index,
            file,
            facts,
            sites: &sites,
            settings: &self.settings,
            shared,
            suppressed: &suppressed,
            edits,
        };
        let mut diags = rules::check_file(&ctx, &enabled);
        // TEN902 judges the `# noqa` comments against every other finding, before suppression.
        let unused_noqa = rules::ten902_unused_noqa::RULE;
        if enabled.contains(&unused_noqa)
            && facts.problems.is_empty()
            && !facts.noqa.lines.is_empty()
        {
            let unused = rules::ten902_unused_noqa::check_unused(&ctx, &diags, &enabled, || {
                self.text_if_unchanged(file)
            });
            diags.extend(unused);
        }
        diags.retain(|d| {
            d.rule.is_file_error()
                || !noqa::is_suppressed(&facts.noqa, d.rule, ctx.row(d.span.start))
        });
        diags
    }

    /// Compute the edits of the fixes of `diags` (which carry only their fixes' applicability
    /// and message): per file, parse its source for edit facts and run the rules that reported
    /// fixable diagnostics again with them. A fix whose edits cannot be made is dropped.
    ///
    /// Returns, per file, the text the edits were computed from, or `None` when the file no longer
    /// holds the text its facts came from (its fixes are dropped: never fix from stale facts).
    pub fn resolve_fixes(
        &self,
        diags: &mut [Diagnostic],
        selections: &Selections,
    ) -> Vec<(FileId, Option<String>)> {
        let mut by_file: HashMap<FileId, Vec<usize>> = HashMap::default();
        for (i, d) in diags.iter().enumerate() {
            if d.fix.as_ref().is_some_and(|f| !f.resolved)
                && let Some(id) = self.file_id(&d.path)
            {
                by_file.entry(id).or_default().push(i);
            }
        }
        let jobs: Vec<(FileId, Vec<usize>)> = by_file.into_iter().collect();
        let shared = rules::Shared::default();
        let resolved: Vec<_> = self.pool.install(|| {
            jobs.par_iter()
                .map(|(file, idxs)| match self.text_if_unchanged(*file) {
                    Some(text) => {
                        let lang = Language::of(self.index.path(*file));
                        let (_, edits) = frontend::extract_with_edits(lang, &text);
                        let mut out = self.lint_file(&shared, selections, *file, Some(&edits));
                        fill_edit_positions(&mut out, &edits.source);
                        (*file, idxs.clone(), out, Some(edits.source))
                    }
                    None => (*file, idxs.clone(), Vec::new(), None),
                })
                .collect()
        });
        let mut texts = Vec::with_capacity(resolved.len());
        for (file, idxs, fresh, text) in resolved {
            texts.push((file, text));
            for i in idxs {
                let d = &mut diags[i];
                let found = fresh
                    .iter()
                    .find(|f| f.rule == d.rule && f.span == d.span && f.message == d.message);
                d.fix = found.and_then(|f| f.fix.clone()).filter(|f| f.resolved);
            }
        }
        texts
    }

    /// Rows and columns for diagnostics and their related locations, from the files' texts
    /// (each read once).
    pub fn fill_positions(&self, diags: &mut [Diagnostic]) {
        // Each path once (compared as bytes: cheaper than by components, and only equality
        // matters here).
        let mut paths: Vec<&Path> = Vec::new();
        for d in diags.iter() {
            paths.push(&d.path);
            paths.extend(d.related.iter().map(|r| r.path.as_path()));
            paths.extend(d.root_cause.iter().map(|r| r.path.as_path()));
        }
        paths.sort_unstable_by(|a, b| a.as_os_str().cmp(b.as_os_str()));
        paths.dedup_by(|a, b| a.as_os_str() == b.as_os_str());
        // An ASCII file's rows and columns come from its facts' line index alone.
        paths.retain(|p| {
            self.sources.is_document(p)
                || self
                    .file_id(p)
                    .is_none_or(|id| !self.index.facts(id).lines.is_ascii())
        });
        let paths: Vec<PathBuf> = paths.into_iter().map(Path::to_path_buf).collect();
        let texts: HashMap<PathBuf, (String, crate::locate::LineIndex)> = self.pool.install(|| {
            paths
                .par_iter()
                .map(|p| {
                    let text = self.sources.read(p).unwrap_or_default();
                    let idx = crate::locate::LineIndex::new(&text);
                    (p.clone(), (text, idx))
                })
                .collect()
        });
        // A path's positions: from its text, or from its facts' line index (ASCII files).
        enum Lines<'a> {
            Text(&'a str, &'a crate::locate::LineIndex),
            Ascii(&'a crate::locate::LineIndex),
            Unknown,
        }
        impl Lines<'_> {
            fn pos(&self, off: u32) -> crate::locate::Pos {
                match self {
                    Lines::Text(t, i) => i.pos(t, off),
                    Lines::Ascii(i) => i.pos_ascii(off),
                    Lines::Unknown => crate::locate::Pos { row: 1, column: 1 },
                }
            }
        }
        let lines = |path: &Path| match texts.get(path) {
            Some((t, i)) => Lines::Text(t, i),
            None => match self.file_id(path) {
                Some(id) => Lines::Ascii(&self.index.facts(id).lines),
                None => Lines::Unknown,
            },
        };
        for d in diags.iter_mut() {
            let own = lines(&d.path);
            d.start_pos = own.pos(d.span.start);
            d.end_pos = own.pos(d.span.end);
            for r in d.related.iter_mut().chain(d.root_cause.as_mut()) {
                let l = lines(&r.path);
                r.start_pos = l.pos(r.span.start);
                r.end_pos = l.pos(r.span.end);
            }
            if let Some(fix) = &mut d.fix {
                for e in &mut fix.edits {
                    e.start_pos = own.pos(e.span.start);
                    e.end_pos = own.pos(e.span.end);
                }
            }
        }
    }
}

fn fill_edit_positions(diags: &mut [Diagnostic], text: &str) {
    let idx = crate::locate::LineIndex::new(text);
    for d in diags {
        if let Some(fix) = &mut d.fix {
            for e in &mut fix.edits {
                e.start_pos = idx.pos(text, e.span.start);
                e.end_pos = idx.pos(text, e.span.end);
            }
        }
    }
}

/// Facts extracted while the walk went on, by path (see [`Workspace::discover_and_load`]).
type Prefetched = HashMap<PathBuf, (Arc<FileFacts>, bool, Option<cache::Key>)>;

/// One file's facts (from the cache when its content was seen before, else extracted), whether
/// they came from the cache, and the hash of the text.
fn facts_for(
    sources: &Sources,
    cache: Option<&cache::FactCache>,
    path: &Path,
) -> (Arc<FileFacts>, bool, Option<cache::Key>) {
    // A file unchanged since a run that read it: its facts without reading it.
    if let Some(cache) = cache
        && let Some(stamp) = sources.disk_stamp(path)
        && let Some(key) = cache.key_for_stamp(path, &stamp)
        && let Some(facts) = cache.get(key)
    {
        return (facts, true, Some(key));
    }
    sources.with_text(path, |text, stamp| match text {
        Err(msg) => (
            Arc::new(frontend::python::io_problem(msg.to_string())),
            false,
            None,
        ),
        Ok(text) => {
            let lang = Language::of(path);
            let key = cache::content_key(lang, text.as_bytes());
            if let (Some(cache), Some(stamp)) = (cache, stamp) {
                cache.record_stamp(path, stamp, key);
            }
            if let Some(facts) = cache.and_then(|c| c.get(key)) {
                return (facts, true, Some(key));
            }
            let facts = Arc::new(frontend::extract_source(lang, text));
            if let Some(cache) = cache {
                cache.put(key, &facts);
            }
            (facts, false, Some(key))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::engine::select::Selectors;

    /// Loading while the walk goes on gives the workspace a walk-then-load gives: the same files
    /// in the same order and the same findings. A file the walk lists but does not return (a
    /// Rust file outside any Cargo project) is not loaded.
    #[test]
    fn discovering_and_loading_together_equals_one_after_the_other() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/demo");
        let settings = Arc::new(config::resolve_settings(root.clone(), None).unwrap());
        let roots = [settings.root.clone()];
        let (files, _) = crate::discovery::discover(&settings, &roots, false);
        assert!(files.len() > 5);
        let sel = select::selections(&settings, &Selectors::default(), &files).unwrap();
        let findings = |ws: &Workspace| -> Vec<String> {
            let ids: Vec<FileId> = files.iter().filter_map(|p| ws.file_id(p)).collect();
            ws.lint(&ids, &sel)
                .iter()
                .map(|d| {
                    format!(
                        "{} {:?} {} {}",
                        d.path.display(),
                        d.span,
                        d.rule.code(),
                        d.message
                    )
                })
                .collect()
        };
        let one = Workspace::load(settings.clone(), files.clone(), Sources::default(), None);
        let listed = std::sync::Mutex::new(Vec::new());
        let load = |drop_first: bool| {
            Workspace::discover_and_load(settings.clone(), Sources::default(), None, |on_file| {
                let (mut found, _) =
                    crate::discovery::discover_streaming(&settings, &roots, false, &|p: &Path| {
                        listed.lock().unwrap().push(p.to_path_buf());
                        on_file(p)
                    });
                if drop_first {
                    found.remove(0);
                }
                (found, ())
            })
            .0
        };
        let two = load(false);
        assert_eq!(listed.lock().unwrap().len(), files.len());
        assert_eq!(two.len(), files.len());
        for (i, p) in files.iter().enumerate() {
            assert_eq!(two.file_id(p), Some(i as FileId));
        }
        assert!(!findings(&one).is_empty());
        assert_eq!(findings(&one), findings(&two));
        // Listed, extracted, then left out by the walk's result: not loaded.
        let three = load(true);
        assert_eq!(three.len(), files.len() - 1);
        assert!(three.file_id(&files[0]).is_none());
    }
}
