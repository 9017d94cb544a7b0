//! The `check` command on the engine: settings, discovery, a [`Workspace`] over the whole
//! project (from the fact cache where it can), the rules on the files asked about plus the
//! cross-file findings they cause, and (optionally) the fix loop and the writes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{self, ConfigError, Settings};
use crate::diagnostics::Diagnostic;
use crate::discovery;
use crate::engine::select::{self, SelectError, Selectors};
use crate::engine::source::Sources;
use crate::engine::{Workspace, cache, fixloop};
use crate::index::FileId;

pub use crate::engine::fixloop::FixedFile;

/// Where the configuration comes from.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub enum ConfigSource {
    /// Discover the nearest config file.
    #[default]
    Discover,
    /// `--config PATH`
    File(PathBuf),
    /// `--isolated`
    Isolated,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FixMode {
    /// Report only.
    #[default]
    None,
    /// `--fix`: write fixed files.
    Apply,
    /// `--diff`: compute fixes, write nothing.
    Diff,
}

#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct CheckOptions {
    /// Paths as given on the command line (already without `-`).
    pub paths: Vec<PathBuf>,
    /// Source read from standard input, checked as `stdin_filename` (or `-`).
    pub stdin: Option<String>,
    /// Why standard input could not be used as source (not UTF-8): a TEN901 for that file.
    pub stdin_error: Option<String>,
    pub stdin_filename: Option<PathBuf>,
    pub config: ConfigSource,
    pub force_exclude: bool,
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    pub fix: FixMode,
    pub unsafe_fixes: bool,
    /// Do not read or write the fact cache.
    pub no_cache: bool,
    /// Compute the edits of every fix (for output formats that print them).
    pub resolve_fixes: bool,
    /// `--baseline FILE` (absolute): report only findings not in it (else the config's `baseline`).
    pub baseline: Option<PathBuf>,
    /// `--write-baseline FILE` (absolute): record today's findings there.
    pub write_baseline: Option<PathBuf>,
    /// `--add-noqa[=REASON]`: suppress every remaining finding with a `# noqa` comment.
    pub add_noqa: Option<Option<String>>,
    /// `-v`: a summary of the index and the time per phase in [`CheckResult::verbose`].
    pub verbose: bool,
}

#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct CheckResult {
    /// Remaining diagnostics, sorted.
    pub diagnostics: Vec<Diagnostic>,
    pub fixed: Vec<FixedFile>,
    /// Problems found while fixing (a fix that broke a file, a write that failed).
    pub fix_errors: Vec<String>,
    /// With `--stdin-filename --fix`: the fixed source (or the original).
    pub stdin_output: Option<String>,
    /// The path standard input was checked as.
    pub stdin_path: Option<PathBuf>,
    /// Paths named on the command line: (absolute, as written).
    pub given: Vec<(PathBuf, PathBuf)>,
    /// The files reported on (absolute), sorted.
    pub checked: Vec<PathBuf>,
    /// Findings not reported because the baseline holds them.
    pub baselined: usize,
    /// `--write-baseline`: the file written and how many findings it holds.
    pub wrote_baseline: Option<(PathBuf, usize)>,
    /// `--add-noqa`: codes added, and in how many files.
    pub noqa_added: Option<(usize, usize)>,
    /// `-v`: the index summary and the time per phase.
    pub verbose: Option<String>,
    /// Warnings about the settings (where the project root is, and why).
    pub warnings: Vec<String>,
}

#[derive(Debug)]
pub enum CheckError {
    Config(ConfigError),
    Usage(String),
    /// A baseline that cannot be read or written.
    Baseline(String),
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Config(e) => write!(f, "invalid configuration: {e}"),
            CheckError::Usage(m) | CheckError::Baseline(m) => f.write_str(m),
        }
    }
}

impl From<ConfigError> for CheckError {
    fn from(e: ConfigError) -> Self {
        CheckError::Config(e)
    }
}

impl From<SelectError> for CheckError {
    fn from(e: SelectError) -> Self {
        match e {
            SelectError::Config(c) => CheckError::Config(c),
            SelectError::Usage(m) => CheckError::Usage(m),
        }
    }
}

/// Resolve settings for a run started in `cwd` on `targets` (absolute paths).
pub fn load_settings(
    cwd: &Path,
    targets: &[PathBuf],
    source: &ConfigSource,
) -> Result<Settings, CheckError> {
    // Start from the deepest directory holding every target, so the order of the paths on the
    // command line changes nothing.
    let dirs: Vec<PathBuf> = targets
        .iter()
        .map(|t| {
            if t.is_dir() {
                t.clone()
            } else {
                t.parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| cwd.to_path_buf())
            }
        })
        .collect();
    let start = common_ancestor(&dirs).unwrap_or_else(|| cwd.to_path_buf());
    let config = match source {
        ConfigSource::Isolated => None,
        ConfigSource::File(p) => {
            let p = config::normalize(&cwd.join(p));
            match config::read_config_file(&p)? {
                Some(o) => Some((p, o)),
                // `--config pyproject.toml` without a tenantlint table: the defaults, rooted there.
                None => Some((p, config::FileOptions::default())),
            }
        }
        ConfigSource::Discover => config::find_config(&start)?,
    };
    let natural = config::find_project_root(&start);
    let root = match &config {
        Some((p, _)) => p
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.to_path_buf()),
        None => natural.clone().unwrap_or_else(|| cwd.to_path_buf()),
    };
    let warning = config.as_ref().and_then(|(file, options)| {
        root_warning(
            cwd,
            &root,
            file,
            matches!(source, ConfigSource::File(_)),
            options.src.is_some(),
            natural.as_deref(),
            targets,
        )
    });
    let mut settings = config::resolve_settings(root, config)?;
    settings.root_warning = warning;
    Ok(settings)
}

/// The project root is the directory of the config file in use (the contract). Say so when that
/// is not where the files are: paths checked outside the root, `--config` naming a file whose
/// directory is not the project's (the nearest directory holding `pyproject.toml`, `setup.cfg`
/// or `.git`), or a discovered config file above the project's directory (unless it sets `src`,
/// which says where modules start).
fn root_warning(
    cwd: &Path,
    root: &Path,
    config_file: &Path,
    given: bool,
    sets_src: bool,
    natural: Option<&Path>,
    targets: &[PathBuf],
) -> Option<String> {
    let shown = |p: &Path| crate::report::display_path(p, cwd);
    let why = format!(
        "the project root is `{}`, the directory of the config file `{}`{}",
        shown(root),
        shown(config_file),
        if given { " given with --config" } else { "" }
    );
    if let Some(outside) = targets.iter().find(|t| !t.starts_with(root)) {
        return Some(format!(
            "{why}; `{}` is outside it, so its module names (and the imports that reach it) cannot be resolved as in the project",
            shown(outside)
        ));
    }
    let natural = natural?;
    let moved = if given {
        natural != root
    } else {
        natural != root && natural.starts_with(root) && !sets_src
    };
    moved.then(|| {
        format!(
            "{why}, not `{}`, the nearest directory holding pyproject.toml, setup.cfg or .git: module names are computed from `{}` (set `src` in the config, or move the config file)",
            shown(natural),
            shown(root)
        )
    })
}

fn common_ancestor(paths: &[PathBuf]) -> Option<PathBuf> {
    let mut iter = paths.iter();
    let mut acc = iter.next()?.clone();
    for p in iter {
        while !p.starts_with(&acc) {
            if !acc.pop() {
                return None;
            }
        }
    }
    Some(acc)
}

impl CheckOptions {
    pub fn selectors(&self) -> Selectors {
        Selectors {
            select: self.select.clone(),
            extend_select: self.extend_select.clone(),
            ignore: self.ignore.clone(),
            nested_configs: matches!(self.config, ConfigSource::Discover),
        }
    }
}

/// The settings and the files `check` would report on, for `--show-settings` and `--show-files`
/// (sorted, absolute; paths that do not exist are left out).
pub fn settings_and_files(
    cwd: &Path,
    opts: &CheckOptions,
) -> Result<(Settings, Vec<PathBuf>), CheckError> {
    let mut targets: Vec<PathBuf> = opts
        .paths
        .iter()
        .map(|p| config::normalize(&cwd.join(p)))
        .collect();
    if targets.is_empty() {
        targets.push(cwd.to_path_buf());
    }
    let settings = load_settings(cwd, &targets, &opts.config)?;
    let (mut files, _missing) = discovery::discover(&settings, &targets, opts.force_exclude);
    files.sort();
    files.dedup();
    Ok((settings, files))
}

/// Run `check` as the CLI does (without printing).
pub fn run(cwd: &Path, opts: &CheckOptions) -> Result<CheckResult, CheckError> {
    let prep = prepare(cwd, opts)?;
    let Prepared {
        stdin_path,
        targets,
        settings,
        timer,
        ..
    } = &prep;
    let mut sources = Sources::default();
    if let (Some(p), Some(doc)) = (stdin_path, stdin_document(opts)) {
        sources.set_document(p.clone(), doc);
    }
    let fact_cache = (!opts.no_cache).then(|| {
        cache::FactCache::open(cache::cache_dir(
            &settings.root,
            settings.cache_dir.as_deref(),
        ))
    });
    // The whole project is indexed; the targets are reported on, with what they cause elsewhere.
    let whole_project = prep.whole_project();
    let stdin_excluded = prep.stdin_excluded(opts);
    let (mut ws, report_files, missing) = if whole_project {
        // Files are read and parsed while the walk lists the others: "discovery" is the walk,
        // "read+parse" what was left of the parsing after it.
        let (ws, (files, missing, walked)) =
            Workspace::discover_and_load(settings.clone(), sources, fact_cache, |on_file| {
                let (files, missing) =
                    discovery::discover_streaming(settings, targets, opts.force_exclude, on_file);
                let walked = std::time::Instant::now();
                (files.clone(), (files, missing, walked))
            });
        timer.lap_until("discovery", walked);
        timer.lap_split(
            &format!("read+parse ({} files from cache)", ws.cache_hits),
            "index",
            ws.index_time,
        );
        (ws, files, missing)
    } else {
        let (mut report_files, missing) =
            discovery::discover(settings, targets, opts.force_exclude);
        if let Some(p) = stdin_path
            && !stdin_excluded
        {
            report_files.push(p.clone());
        }
        let mut all: Vec<PathBuf> =
            discovery::discover(settings, std::slice::from_ref(&settings.root), false).0;
        all.extend(report_files.iter().cloned());
        // The stdin file may not exist on disk yet.
        all.extend(stdin_path.iter().cloned());
        all.sort();
        all.dedup();
        timer.lap("discovery");
        let ws = Workspace::load(settings.clone(), all, sources, fact_cache);
        timer.lap_split(
            &format!("read+parse ({} files from cache)", ws.cache_hits),
            "index",
            ws.index_time,
        );
        (ws, report_files, missing)
    };
    let result = finish(cwd, opts, &prep, &mut ws, report_files, missing);
    // Freeing a whole project's facts takes a noticeable part of a short run; let another
    // thread do it while the report is printed (the process may well exit first).
    std::thread::spawn(move || drop(ws));
    result
}

/// What a run knows before it loads anything: the stdin file, the paths asked about, the
/// settings and the timer.
pub struct Prepared {
    pub stdin_path: Option<PathBuf>,
    pub targets: Vec<PathBuf>,
    pub settings: Arc<Settings>,
    selectors: Selectors,
    timer: Timer,
}

impl Prepared {
    /// `--force-exclude` and the stdin file is excluded: it is echoed, not checked.
    pub fn stdin_excluded(&self, opts: &CheckOptions) -> bool {
        self.stdin_path
            .as_ref()
            .is_some_and(|p| opts.force_exclude && self.settings.is_excluded(p))
    }

    /// The run covers the whole project (no paths but the root, no stdin): nothing is checked
    /// for findings caused elsewhere.
    pub fn whole_project(&self) -> bool {
        self.targets.len() == 1
            && self.targets[0] == self.settings.root
            && self.stdin_path.is_none()
    }

    /// Record a phase's time (`-v`, `TENANTLINT_TIMINGS`).
    pub fn lap(&self, phase: &str) {
        self.timer.lap(phase);
    }
}

/// Resolve the settings and the selection for a run (nothing is read but the config).
pub fn prepare(cwd: &Path, opts: &CheckOptions) -> Result<Prepared, CheckError> {
    let stdin_path = opts.stdin.as_ref().map(|_| {
        config::normalize(
            &cwd.join(
                opts.stdin_filename
                    .clone()
                    .unwrap_or_else(|| PathBuf::from("-")),
            ),
        )
    });
    let mut targets: Vec<PathBuf> = opts
        .paths
        .iter()
        .map(|p| config::normalize(&cwd.join(p)))
        .collect();
    if targets.is_empty() && stdin_path.is_none() {
        targets.push(cwd.to_path_buf());
    }
    let mut settings_start = targets.clone();
    if let Some(p) = &stdin_path {
        settings_start.insert(0, p.clone());
    }
    let timer = Timer::new(opts.verbose);
    let settings = load_settings(cwd, &settings_start, &opts.config)?;
    let selectors = opts.selectors();
    select::enabled_rules(&settings, &selectors)?;
    Ok(Prepared {
        stdin_path,
        targets,
        settings: Arc::new(settings),
        selectors,
        timer,
    })
}

/// The text standard input stands for (or why it cannot be used).
pub fn stdin_document(opts: &CheckOptions) -> Option<crate::engine::source::Text> {
    let text = opts.stdin.as_ref()?;
    Some(match &opts.stdin_error {
        Some(msg) => Err(msg.clone()),
        None => Ok(text.clone()),
    })
}

/// The run on a loaded workspace: the rules on `report_files` plus the findings they cause
/// elsewhere, fixes, positions, baseline and `--add-noqa`.
pub fn finish(
    cwd: &Path,
    opts: &CheckOptions,
    prep: &Prepared,
    ws: &mut Workspace,
    report_files: Vec<PathBuf>,
    missing: Vec<discovery::MissingPath>,
) -> Result<CheckResult, CheckError> {
    let Prepared {
        stdin_path,
        targets,
        settings,
        selectors,
        timer,
    } = prep;
    let stdin_excluded = prep.stdin_excluded(opts);
    let selections = select::selections(settings, selectors, &report_files)?;
    let missing_diags: Vec<Diagnostic> =
        if selections.any_enables(crate::rules::ten901_io_error::RULE) {
            missing
                .iter()
                .map(|m| {
                    Diagnostic::new(
                        crate::rules::ten901_io_error::RULE,
                        format!("Cannot check path: {}", m.message),
                        m.path.clone(),
                        Default::default(),
                    )
                })
                .collect()
        } else {
            Vec::new()
        };
    let report_set: HashSet<&PathBuf> = report_files.iter().collect();
    let target_ids: Vec<FileId> = report_files
        .iter()
        .filter_map(|p| ws.file_id(p))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    let mut result = CheckResult {
        warnings: settings.root_warning.iter().cloned().collect(),
        stdin_path: stdin_path.clone(),
        given: opts
            .paths
            .iter()
            .map(|p| (config::normalize(&cwd.join(p)), p.clone()))
            .collect(),
        checked: target_ids
            .iter()
            .map(|&i| ws.path(i).to_path_buf())
            .collect(),
        ..Default::default()
    };
    result.checked.sort();

    // Without fixes, the project cannot change under TEN001's config check: it runs beside the
    // rules, in the engine's pool (both only read the workspace).
    let mut config_diags: Option<Vec<Diagnostic>> = None;
    let mut diagnostics = if opts.fix == FixMode::None {
        let (diags, config) = ws.install(|| {
            rayon::join(
                || ws.lint(&target_ids, &selections),
                || config_diagnostics(ws, targets, stdin_path.is_some(), &selections),
            )
        });
        config_diags = Some(config);
        diags
    } else {
        let run = fixloop::run(ws, &target_ids, &selections, opts.unsafe_fixes);
        result.fix_errors = run.errors;
        write_fixed(
            ws,
            opts,
            stdin_path,
            run.fixed,
            &mut result,
            &target_ids,
            &selections,
        )
        .unwrap_or(run.diagnostics)
    };
    timer.lap("rules");
    if !prep.whole_project() {
        // Findings elsewhere caused by the files asked about (pre-commit passes only the changed
        // files: a manager removed in `models.py` makes a query in `views.py` unscoped).
        // Only files that import them (directly or not) can resolve names into them; settings
        // modules are read by Django, not imported, so a change there may matter anywhere.
        let candidates: Vec<FileId> = if report_files.iter().any(|p| settings.is_settings_module(p))
        {
            (0..ws.len() as FileId).collect()
        } else {
            ws.index().dependents(&target_ids)
        };
        let others: Vec<FileId> = candidates
            .into_iter()
            .filter(|id| !report_set.contains(&ws.path(*id).to_path_buf()))
            .collect();
        let caused: Vec<Diagnostic> = ws
            .lint(&others, &selections)
            .into_iter()
            .filter(|d| {
                d.related
                    .iter()
                    .chain(d.root_cause.as_ref())
                    .any(|r| report_set.contains(&r.path))
            })
            .collect();
        diagnostics.extend(caused);
        timer.lap("cross-file");
    }
    if opts.resolve_fixes {
        let _ = ws.resolve_fixes(&mut diagnostics, &selections);
    }
    diagnostics.extend(missing_diags);
    diagnostics.extend(
        config_diags
            .unwrap_or_else(|| config_diagnostics(ws, targets, stdin_path.is_some(), &selections)),
    );
    diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    ws.fill_positions(&mut diagnostics);
    timer.lap("output positions");
    apply_baseline(ws, opts, &mut diagnostics, &mut result)?;
    if let Some(reason) = &opts.add_noqa {
        add_noqa(ws, reason.as_deref(), &mut diagnostics, &mut result);
    }
    result.diagnostics = diagnostics;
    if opts.verbose {
        let mut s = crate::show::index_summary(ws.index(), settings, cwd);
        s.push_str(&format!(
            "files checked: {}, from the fact cache: {}\ntime: {}\n",
            result.checked.len(),
            ws.cache_hits,
            timer.laps()
        ));
        result.verbose = Some(s);
    }
    if stdin_excluded || (opts.fix == FixMode::Apply && result.stdin_output.is_none()) {
        result.stdin_output = opts.stdin.clone();
    }
    Ok(result)
}

/// TEN001 (misconfigured-name), once per run, when the run covers the config file: the paths
/// given include the directory holding it (the project root, or above) or the file itself. A
/// run on some files (pre-commit passes only the changed ones) or on standard input does not
/// report the config's problems: they are not in what it was asked about.
fn config_diagnostics(
    ws: &Workspace,
    targets: &[PathBuf],
    stdin: bool,
    selections: &select::Selections,
) -> Vec<Diagnostic> {
    use crate::rules::ten001_misconfigured_name as ten001;
    let settings = ws.settings();
    let Some(config) = &settings.config_file else {
        return Vec::new();
    };
    if stdin || !targets.iter().any(|t| config.starts_with(t)) {
        return Vec::new();
    }
    let (enabled, selection_settings) = selections.for_path(config, settings);
    let ignored = selection_settings.per_file_ignored(config);
    if !enabled.contains(&ten001::RULE)
        || ignored
            .iter()
            .any(|sel| crate::registry::selector_matches(sel, ten001::RULE))
    {
        return Vec::new();
    }
    ten001::check_config(ws.index(), settings)
}

/// `--write-baseline`: record the findings (all of them are then in the baseline, so none is
/// reported). `--baseline` or the config's `baseline`: drop the findings it holds.
fn apply_baseline(
    ws: &Workspace,
    opts: &CheckOptions,
    diagnostics: &mut Vec<Diagnostic>,
    result: &mut CheckResult,
) -> Result<(), CheckError> {
    let root = ws.settings().root.clone();
    let source_of = |p: &Path| ws.sources().read(p).ok();
    if let Some(path) = &opts.write_baseline {
        let entries = crate::baseline::entries(diagnostics, &root, source_of);
        let old = path
            .exists()
            .then(|| crate::baseline::read(path))
            .transpose()
            .map_err(CheckError::Baseline)?;
        let merged = crate::baseline::merge(old, entries, &result.checked, &root);
        let n = crate::baseline::write(path, merged).map_err(CheckError::Baseline)?;
        result.wrote_baseline = Some((path.clone(), n));
        result.baselined = diagnostics.len();
        diagnostics.clear();
        return Ok(());
    }
    let Some(path) = opts.baseline.as_ref().or(ws.settings().baseline.as_ref()) else {
        return Ok(());
    };
    let baseline = crate::baseline::read(path).map_err(CheckError::Baseline)?;
    let entries = crate::baseline::entries(diagnostics, &root, source_of);
    let before = diagnostics.len();
    let mut keep = entries.iter().map(|e| !baseline.contains(&e.fingerprint));
    diagnostics.retain(|_| keep.next().unwrap_or(true));
    result.baselined = before - diagnostics.len();
    Ok(())
}

/// `--add-noqa`: per file, add the directives, check that the new text parses and suppresses
/// what it should, and write it safely. The findings it suppressed are no longer reported;
/// those it could not suppress stay, with a warning saying why.
fn add_noqa(
    ws: &Workspace,
    reason: Option<&str>,
    diagnostics: &mut Vec<Diagnostic>,
    result: &mut CheckResult,
) {
    use std::collections::{BTreeMap, BTreeSet};
    let stdin_path = result.stdin_path.clone();
    // Config files take no `# noqa` (TEN001 is reported there).
    let suppressible = |d: &Diagnostic| {
        !d.rule.is_file_error()
            && stdin_path.as_ref() != Some(&d.path)
            && ws.file_id(&d.path).is_some()
    };
    let mut by_file: BTreeMap<&Path, BTreeMap<u32, BTreeSet<String>>> = BTreeMap::new();
    for d in diagnostics.iter().filter(|d| suppressible(d)) {
        by_file
            .entry(d.path.as_path())
            .or_default()
            .entry(d.start_pos.row)
            .or_default()
            .insert(d.rule.code().to_string());
    }
    let root = &ws.settings().root;
    type Outcome = (PathBuf, Result<usize, String>, Vec<(u32, &'static str)>);
    let outcomes: Vec<Outcome> = ws.install(|| {
        use rayon::prelude::*;
        by_file
            .par_iter()
            .map(|(&path, rows)| {
                let Some(text) = ws.file_id(path).and_then(|id| ws.text_if_unchanged(id)) else {
                    let msg = format!(
                        "{}: changed while checking; no `# noqa` added",
                        path.display()
                    );
                    return (path.to_path_buf(), Err(msg), Vec::new());
                };
                let added = crate::add_noqa::add_noqa_for(
                    crate::frontend::Language::of(path),
                    &text,
                    rows,
                    reason,
                );
                if added.added == 0 {
                    return (path.to_path_buf(), Ok(0), added.skipped);
                }
                let facts = crate::frontend::extract_source(
                    crate::frontend::Language::of(path),
                    &added.text,
                );
                let skipped: BTreeSet<u32> = added.skipped.iter().map(|(r, _)| *r).collect();
                let suppresses_all =
                    rows.iter()
                        .filter(|(r, _)| !skipped.contains(r))
                        .all(|(row, codes)| {
                            codes.iter().all(|c| {
                                crate::registry::Rule::from_code(c).is_some_and(|rule| {
                                    crate::noqa::is_suppressed(&facts.noqa, rule, *row)
                                })
                            })
                        });
                if !facts.problems.is_empty() || !suppresses_all {
                    let msg = format!(
                        "{}: adding `# noqa` comments would break the file; left unchanged",
                        path.display()
                    );
                    return (path.to_path_buf(), Err(msg), added.skipped);
                }
                let written = crate::fix::write::write_fixed(
                    path,
                    text.as_bytes(),
                    added.text.as_bytes(),
                    root,
                )
                .map(|()| added.added)
                .map_err(|e| e.to_string());
                (path.to_path_buf(), written, added.skipped)
            })
            .collect()
    });
    let mut done: HashSet<(PathBuf, u32)> = HashSet::new();
    let (mut codes, mut files) = (0, 0);
    for (path, outcome, skipped) in outcomes {
        for (row, why) in &skipped {
            result.fix_errors.push(format!(
                "{}:{row}: cannot add `# noqa`: {why}",
                path.display()
            ));
        }
        match outcome {
            Ok(n) => {
                if n > 0 {
                    codes += n;
                    files += 1;
                }
                let skipped: HashSet<u32> = skipped.iter().map(|(r, _)| *r).collect();
                if let Some(rows) = by_file.get(path.as_path()) {
                    for row in rows.keys().filter(|r| !skipped.contains(r)) {
                        done.insert((path.clone(), *row));
                    }
                }
            }
            Err(e) => result.fix_errors.push(e),
        }
    }
    diagnostics.retain(|d| !(suppressible(d) && done.contains(&(d.path.clone(), d.start_pos.row))));
    result.noqa_added = Some((codes, files));
}

/// Write the fixed files (`--fix`; `--diff` writes nothing). A file whose write fails goes back
/// to its original text in the workspace, so its findings are reported as not fixed. Returns
/// the remaining diagnostics when a failed write changed them.
fn write_fixed(
    ws: &mut Workspace,
    opts: &CheckOptions,
    stdin_path: &Option<PathBuf>,
    fixed: Vec<FixedFile>,
    result: &mut CheckResult,
    targets: &[FileId],
    selections: &select::Selections,
) -> Option<Vec<Diagnostic>> {
    let mut failed = false;
    for f in fixed {
        let is_stdin = stdin_path.as_ref() == Some(&f.path);
        if is_stdin {
            result.stdin_output = Some(f.fixed.clone());
        } else if opts.fix == FixMode::Apply
            && let Err(e) = crate::fix::write::write_fixed(
                &f.path,
                f.original.as_bytes(),
                f.fixed.as_bytes(),
                &ws.settings().root,
            )
        {
            result.fix_errors.push(e.to_string());
            ws.set_document(f.path.clone(), Ok(f.original));
            failed = true;
            continue;
        }
        result.fixed.push(f);
    }
    failed.then(|| ws.lint(targets, selections))
}

/// `, RSS 123 MB (peak 150 MB)` where the system says (Linux), for profiling memory by phase.
fn rss_note() -> String {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return String::new();
    };
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    match (kb("VmRSS:"), kb("VmHWM:")) {
        (Some(now), Some(peak)) => format!(", RSS {} MB (peak {} MB)", now / 1024, peak / 1024),
        _ => String::new(),
    }
}

/// Phase timings: on stderr as they happen when `TENANTLINT_TIMINGS` is set (for profiling),
/// and collected for `-v`.
struct Timer {
    print: bool,
    collect: bool,
    last: std::cell::Cell<std::time::Instant>,
    laps: std::cell::RefCell<Vec<(String, f64)>>,
}

impl Timer {
    fn new(collect: bool) -> Self {
        Timer {
            print: std::env::var_os("TENANTLINT_TIMINGS").is_some(),
            collect,
            last: std::cell::Cell::new(std::time::Instant::now()),
            laps: Default::default(),
        }
    }

    fn lap(&self, phase: &str) {
        self.lap_until(phase, std::time::Instant::now());
    }

    /// A lap that ended at `now` (measured inside another phase's work).
    fn lap_until(&self, phase: &str, now: std::time::Instant) {
        if self.print || self.collect {
            let ms = now.saturating_duration_since(self.last.get()).as_secs_f64() * 1000.0;
            if self.print {
                eprintln!("timing: {phase}: {ms:.1} ms{}", rss_note());
            }
            if self.collect {
                self.laps.borrow_mut().push((phase.to_string(), ms));
            }
            self.last.set(now);
        }
    }

    /// A lap made of two phases, the second of which took `second` (measured inside).
    fn lap_split(&self, first: &str, second_name: &str, second: std::time::Duration) {
        if self.print || self.collect {
            let now = std::time::Instant::now();
            let total = (now - self.last.get()).as_secs_f64() * 1000.0;
            let b = second.as_secs_f64() * 1000.0;
            for (phase, ms) in [(first, (total - b).max(0.0)), (second_name, b)] {
                if self.print {
                    eprintln!("timing: {phase}: {ms:.1} ms{}", rss_note());
                }
                if self.collect {
                    self.laps.borrow_mut().push((phase.to_string(), ms));
                }
            }
            self.last.set(now);
        }
    }

    /// `phase 12 ms, phase 3 ms, ...`
    fn laps(&self) -> String {
        self.laps
            .borrow()
            .iter()
            .map(|(p, ms)| format!("{p} {ms:.0} ms"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}
