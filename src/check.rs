//! One run of `tenantlint check`: settings, discovery, parallel extraction, the project index,
//! the rules, suppression, and (optionally) fixes.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::config::{self, ConfigError, Settings};
use crate::diagnostics::{Applicability, Diagnostic};
use crate::discovery;
use crate::extract;
use crate::facts::FileFacts;
use crate::index::Index;
use crate::noqa;
use crate::registry::{self, Rule};
use crate::rules::{self, Context};

/// Where the configuration comes from.
#[derive(Clone, Debug, Default)]
pub enum ConfigSource {
    /// Discover the nearest config file.
    #[default]
    Discover,
    /// `--config PATH`
    File(PathBuf),
    /// `--isolated`
    Isolated,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FixMode {
    /// Report only.
    #[default]
    None,
    /// `--fix`: write fixed files.
    Apply,
    /// `--diff`: compute fixes, write nothing.
    Diff,
}

#[derive(Clone, Debug, Default)]
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
}

/// A file whose fixes were applied (or would be, with `--diff`).
#[derive(Clone, Debug)]
pub struct FixedFile {
    pub path: PathBuf,
    pub original: String,
    pub fixed: String,
    /// How many diagnostics each rule's fixes resolved.
    pub counts: Vec<(Rule, usize)>,
}

#[derive(Debug, Default)]
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
}

#[derive(Debug)]
pub enum CheckError {
    Config(ConfigError),
    Usage(String),
}

impl std::fmt::Display for CheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckError::Config(e) => write!(f, "invalid configuration: {e}"),
            CheckError::Usage(m) => f.write_str(m),
        }
    }
}

impl From<ConfigError> for CheckError {
    fn from(e: ConfigError) -> Self {
        CheckError::Config(e)
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
    let root = match &config {
        Some((p, _)) => p
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| cwd.to_path_buf()),
        None => config::find_project_root(&start).unwrap_or_else(|| cwd.to_path_buf()),
    };
    Ok(config::resolve_settings(root, config)?)
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

/// Which rules apply to which file: the main config's selection, and nested config files (closer
/// to a file than the main one) whose `select`, `extend-select`, `ignore` and `per-file-ignores`
/// replace it for the files below them, as ruff's hierarchical configs do. Tenancy conventions
/// always come from the main config: the project index is one for the whole project.
pub struct Selections {
    main: Vec<Rule>,
    nested: Vec<(PathBuf, Vec<Rule>, Settings)>,
}

impl Selections {
    /// The enabled rules for `path`, and the settings holding its `per-file-ignores`.
    pub fn for_path<'a>(&'a self, path: &Path, main: &'a Settings) -> (&'a [Rule], &'a Settings) {
        self.nested
            .iter()
            .filter(|(dir, _, _)| path.starts_with(dir))
            .max_by_key(|(dir, _, _)| dir.components().count())
            .map_or((&self.main, main), |(_, rules, settings)| {
                (rules.as_slice(), settings)
            })
    }

    pub fn any_enables(&self, rule: Rule) -> bool {
        self.main.contains(&rule) || self.nested.iter().any(|(_, r, _)| r.contains(&rule))
    }
}

/// Find nested config files between the files and the main config's directory.
pub fn selections(
    settings: &Settings,
    opts: &CheckOptions,
    files: &[PathBuf],
) -> Result<Selections, CheckError> {
    let main = enabled_rules(settings, opts)?;
    let mut nested = Vec::new();
    if matches!(opts.config, ConfigSource::Discover) {
        let top = settings
            .config_file
            .as_ref()
            .and_then(|c| c.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| settings.root.clone());
        let mut seen: HashSet<PathBuf> = HashSet::new();
        for file in files {
            let mut dir = file.parent();
            while let Some(d) = dir {
                if d == top || !d.starts_with(&top) || !seen.insert(d.to_path_buf()) {
                    break;
                }
                for name in ["tenantlint.toml", ".tenantlint.toml", "pyproject.toml"] {
                    let candidate = d.join(name);
                    if candidate.is_file()
                        && let Some(options) = config::read_config_file(&candidate)?
                    {
                        let nested_settings =
                            config::resolve_settings(d.to_path_buf(), Some((candidate, options)))?;
                        let rules = enabled_rules(&nested_settings, opts)?;
                        nested.push((d.to_path_buf(), rules, nested_settings));
                        break;
                    }
                }
                dir = d.parent();
            }
        }
    }
    Ok(Selections { main, nested })
}

/// The rules enabled by the settings and the command line (the command line wins).
pub fn enabled_rules(settings: &Settings, opts: &CheckOptions) -> Result<Vec<Rule>, CheckError> {
    for sel in opts
        .select
        .iter()
        .flatten()
        .chain(&opts.extend_select)
        .chain(&opts.ignore)
    {
        if !registry::is_valid_selector(sel) {
            return Err(CheckError::Usage(format!("unknown rule selector `{sel}`")));
        }
    }
    let select = opts
        .select
        .clone()
        .unwrap_or_else(|| settings.select.clone());
    let mut extend = settings.extend_select.clone();
    extend.extend(opts.extend_select.iter().cloned());
    let mut ignore = settings.ignore.clone();
    ignore.extend(opts.ignore.iter().cloned());
    let mut rules = registry::resolve_selection(&select, &extend, &ignore);
    // A preset's rules-off are the weakest word: a rule named (or a prefix like `TEN2`, not the
    // blanket `TEN`) in an explicit `select` / `extend-select`, in the config or on the command
    // line, stays on.
    let explicit: Vec<&String> = opts
        .select
        .iter()
        .flatten()
        .chain(&opts.extend_select)
        .chain(
            settings
                .select_explicit
                .then_some(&settings.select)
                .into_iter()
                .flatten(),
        )
        .chain(&settings.extend_select)
        .filter(|s| !s.eq_ignore_ascii_case("TEN") && !s.eq_ignore_ascii_case("ALL"))
        .collect();
    rules.retain(|&r| {
        !settings
            .preset_ignore
            .iter()
            .any(|p| registry::selector_matches(p, r))
            || explicit.iter().any(|s| registry::selector_matches(s, r))
    });
    Ok(rules)
}

/// Parse and extract every file, in parallel. `stdin` stands in for the file at its path.
pub fn extract_all(
    settings: &Settings,
    paths: &[PathBuf],
    stdin: Option<(&Path, &str)>,
    stdin_error: Option<&str>,
) -> Vec<FileFacts> {
    let conv = &settings.conventions;
    paths
        .par_iter()
        .map(|path| {
            let module = settings.module_name(path);
            match stdin {
                Some((p, text)) if p == path => {
                    let is_package = path.file_stem().is_some_and(|s| s == "__init__");
                    match stdin_error {
                        Some(msg) => extract::io_problem(path, module, is_package, msg.to_string()),
                        None => extract::extract_source(path, module, is_package, text, conv),
                    }
                }
                _ => extract::read_and_extract(path, module, conv),
            }
        })
        .collect()
}

/// Run the rules on `targets` (indices into `files`) and drop suppressed diagnostics.
pub fn lint(
    index: &Index,
    settings: &Settings,
    targets: &[usize],
    selections: &Selections,
) -> Vec<Diagnostic> {
    let shared = rules::Shared::default();
    let mut out: Vec<Diagnostic> = targets
        .par_iter()
        .flat_map_iter(|&fi| {
            let (enabled, selection_settings) =
                selections.for_path(&index.files[fi].path, settings);
            lint_file(index, settings, &shared, selection_settings, fi, enabled)
        })
        .collect();
    out.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    out
}

pub fn lint_file(
    index: &Index,
    settings: &Settings,
    shared: &rules::Shared,
    selection_settings: &Settings,
    fi: usize,
    enabled: &[Rule],
) -> Vec<Diagnostic> {
    let facts = &index.files[fi];
    let ignored = selection_settings.per_file_ignored(&facts.path);
    let enabled: Vec<Rule> = enabled
        .iter()
        .copied()
        .filter(|&r| !ignored.iter().any(|sel| registry::selector_matches(sel, r)))
        .collect();
    if enabled.is_empty() {
        return Vec::new();
    }
    let suppressed = |rule: Rule, row: u32| noqa::is_suppressed(&facts.noqa, rule, row);
    let ctx = Context {
        index,
        file: fi as u32,
        facts,
        settings,
        shared,
        suppressed: &suppressed,
    };
    let mut diags = rules::check_file(&ctx, &enabled);
    diags.retain(|d| {
        d.rule.is_file_error() || !noqa::is_suppressed(&facts.noqa, d.rule, d.span.start_pos.row)
    });
    diags
}

/// Is a fix of this applicability applied in this run?
pub fn applies(applicability: Applicability, unsafe_fixes: bool) -> bool {
    match applicability {
        Applicability::Safe => true,
        Applicability::Unsafe => unsafe_fixes,
        Applicability::DisplayOnly => false,
    }
}

/// Run `check` as the CLI does (without printing).
pub fn run(cwd: &Path, opts: &CheckOptions) -> Result<CheckResult, CheckError> {
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
    let timer = Timer::new();
    let settings = load_settings(cwd, &settings_start, &opts.config)?;
    enabled_rules(&settings, opts)?;

    // The whole project is indexed; only the targets are reported on.
    let (mut report_files, missing) = discovery::discover(&settings, &targets, opts.force_exclude);
    let stdin_excluded = stdin_path
        .as_ref()
        .is_some_and(|p| opts.force_exclude && settings.is_excluded(p));
    if let Some(p) = &stdin_path
        && !stdin_excluded
    {
        report_files.push(p.clone());
    }
    let project_files = if targets.len() == 1 && targets[0] == settings.root {
        report_files.clone()
    } else {
        discovery::discover(&settings, std::slice::from_ref(&settings.root), false).0
    };
    let mut all: Vec<PathBuf> = project_files;
    all.extend(report_files.iter().cloned());
    all.sort();
    all.dedup();
    // The stdin file may not exist on disk yet.
    if let Some(p) = &stdin_path
        && !all.contains(p)
    {
        all.push(p.clone());
        all.sort();
    }
    timer.lap("discovery");
    let report_set: HashSet<&PathBuf> = report_files.iter().collect();
    let target_idx: Vec<usize> = all
        .iter()
        .enumerate()
        .filter(|(_, p)| report_set.contains(p))
        .map(|(i, _)| i)
        .collect();

    let stdin = match (&stdin_path, &opts.stdin) {
        (Some(p), Some(text)) => Some((p.as_path(), text.as_str())),
        _ => None,
    };
    let files = extract_all(&settings, &all, stdin, opts.stdin_error.as_deref());
    timer.lap("parse+extract");
    let selections = selections(&settings, opts, &report_files)?;
    let missing_diags: Vec<Diagnostic> = if selections.any_enables(Rule::IoError) {
        missing
            .iter()
            .map(|m| {
                let mut span = crate::locate::Span::default();
                span.start_pos = crate::locate::Pos { row: 1, column: 1 };
                span.end_pos = span.start_pos;
                Diagnostic::new(
                    Rule::IoError,
                    format!("Cannot check path: {}", m.message),
                    m.path.clone(),
                    span,
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let mut result = CheckResult {
        stdin_path: stdin_path.clone(),
        given: opts
            .paths
            .iter()
            .map(|p| (config::normalize(&cwd.join(p)), p.clone()))
            .collect(),
        checked: target_idx.iter().map(|&i| all[i].clone()).collect(),
        ..Default::default()
    };
    if opts.fix == FixMode::None {
        let index = Index::build(&files, &settings.conventions);
        timer.lap("index");
        result.diagnostics = lint(&index, &settings, &target_idx, &selections);
        timer.lap("rules");
        merge_sorted(&mut result.diagnostics, missing_diags);
        if stdin_excluded {
            result.stdin_output = opts.stdin.clone();
        }
        return Ok(result);
    }
    crate::fix::run_fixes(
        &settings,
        files,
        &target_idx,
        &selections,
        opts,
        stdin,
        &mut result,
    );
    merge_sorted(&mut result.diagnostics, missing_diags);
    if stdin_excluded {
        result.stdin_output = opts.stdin.clone();
    }
    Ok(result)
}

fn merge_sorted(into: &mut Vec<Diagnostic>, more: Vec<Diagnostic>) {
    if more.is_empty() {
        return;
    }
    into.extend(more);
    into.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
}

/// Phase timings on stderr when `TENANTLINT_TIMINGS` is set (for profiling, not for tests).
struct Timer {
    enabled: bool,
    last: std::cell::Cell<std::time::Instant>,
}

impl Timer {
    fn new() -> Self {
        Timer {
            enabled: std::env::var_os("TENANTLINT_TIMINGS").is_some(),
            last: std::cell::Cell::new(std::time::Instant::now()),
        }
    }

    fn lap(&self, phase: &str) {
        if self.enabled {
            let now = std::time::Instant::now();
            eprintln!(
                "timing: {phase}: {:.1} ms",
                (now - self.last.get()).as_secs_f64() * 1000.0
            );
            self.last.set(now);
        }
    }
}
