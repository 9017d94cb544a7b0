//! Which rules apply to which file: the main config's selection, the command line's, and nested
//! config files'.

use std::path::{Path, PathBuf};

use crate::config::{self, ConfigError, Settings};
use crate::registry::{self, Rule};

/// The rule selectors of the command line (or of an editor's settings).
#[derive(Clone, Debug, Default)]
pub struct Selectors {
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
    /// Look for config files nested below the main one (not with `--config` or `--isolated`).
    pub nested_configs: bool,
}

#[derive(Debug)]
pub enum SelectError {
    Config(ConfigError),
    Usage(String),
}

impl From<ConfigError> for SelectError {
    fn from(e: ConfigError) -> Self {
        SelectError::Config(e)
    }
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
    sel: &Selectors,
    files: &[PathBuf],
) -> Result<Selections, SelectError> {
    let main = enabled_rules(settings, sel)?;
    let mut nested = Vec::new();
    if sel.nested_configs {
        let top = settings
            .config_file
            .as_ref()
            .and_then(|c| c.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| settings.root.clone());
        // The directories between the files and the top, each once, nearest first per file.
        // Keyed by the path's bytes with FxHash (hashing a `Path` walks its components).
        let mut seen: rustc_hash::FxHashSet<&std::ffi::OsStr> = Default::default();
        let mut dirs: Vec<&Path> = Vec::new();
        for file in files {
            let mut dir = file.parent();
            while let Some(d) = dir {
                if d == top || !d.starts_with(&top) || !seen.insert(d.as_os_str()) {
                    break;
                }
                dirs.push(d);
                dir = d.parent();
            }
        }
        // Which config files exist there: one `stat` per name and directory, in parallel (a big
        // tree has thousands of directories).
        let existing: Vec<Vec<PathBuf>> = super::pool::shared().install(|| {
            use rayon::prelude::*;
            dirs.par_iter()
                .map(|d| {
                    config::CONFIG_FILE_NAMES
                        .iter()
                        .map(|name| d.join(name))
                        .filter(|c| c.is_file())
                        .collect()
                })
                .collect()
        });
        for (d, candidates) in dirs.into_iter().zip(existing) {
            // The first that holds a configuration (a `pyproject.toml` may not).
            for candidate in candidates {
                if let Some(options) = config::read_config_file(&candidate)? {
                    let nested_settings =
                        config::resolve_settings(d.to_path_buf(), Some((candidate, options)))?;
                    let rules = enabled_rules(&nested_settings, sel)?;
                    nested.push((d.to_path_buf(), rules, nested_settings));
                    break;
                }
            }
        }
    }
    Ok(Selections { main, nested })
}

/// The rules enabled by the settings and the command line (the command line wins).
pub fn enabled_rules(settings: &Settings, sel: &Selectors) -> Result<Vec<Rule>, SelectError> {
    for s in sel
        .select
        .iter()
        .flatten()
        .chain(&sel.extend_select)
        .chain(&sel.ignore)
    {
        if !registry::is_valid_selector(s) {
            return Err(SelectError::Usage(format!("unknown rule selector `{s}`")));
        }
    }
    let select = sel
        .select
        .clone()
        .unwrap_or_else(|| settings.select.clone());
    let mut extend = settings.extend_select.clone();
    extend.extend(sel.extend_select.iter().cloned());
    let mut ignore = settings.ignore.clone();
    ignore.extend(sel.ignore.iter().cloned());
    let mut rules = registry::resolve_selection(&select, &extend, &ignore);
    // A preset's rules-off are the weakest word: a rule named (or a prefix like `TEN2`, not the
    // blanket `TEN`) in an explicit `select` / `extend-select`, in the config or on the command
    // line, stays on.
    let explicit: Vec<&String> = sel
        .select
        .iter()
        .flatten()
        .chain(&sel.extend_select)
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
