//! What the server holds: projects (a [`Workspace`] each, loaded on first use) and the open
//! documents.
//!
//! A project is what `tenantlint check` would see when run on a workspace folder: the settings
//! found from that folder (its config file, or the defaults rooted at the nearest
//! `pyproject.toml`/`setup.cfg`/`.git`), every Python file below the project root, nested config
//! files choosing rules below them. A document belongs to the project with the deepest root
//! holding it; a file outside every project gets its own, found from the file as `check` finds
//! it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use lsp_types::Url;

use crate::check::{self, ConfigSource};
use crate::config::Settings;
use crate::diagnostics::Diagnostic;
use crate::discovery;
use crate::engine::select::{self, Selections, Selectors};
use crate::engine::source::Sources;
use crate::engine::{Workspace, cache};

pub struct Project {
    /// The directory the settings are discovered from (a workspace folder, or a file's directory).
    pub start: PathBuf,
    /// Created for a workspace folder (kept while the folder is open).
    pub folder: bool,
    pub settings: Arc<Settings>,
    /// Loaded on first use.
    pub ws: Option<Workspace>,
    pub selections: Option<Selections>,
}

pub struct Document {
    pub uri: Url,
    pub path: PathBuf,
    pub version: i32,
    pub text: String,
    /// Index into the server's projects; `None`: no project (its config is broken).
    pub project: Option<usize>,
    /// The engine's diagnostics of the last lint (byte spans into `text`), for code actions.
    pub diagnostics: Vec<Diagnostic>,
    /// What the client was last given.
    pub published: Vec<lsp_types::Diagnostic>,
    /// Changes whenever `published` does (pull diagnostics' `resultId`).
    pub result_id: u64,
}

/// The settings `check` would use for `start` (a directory).
pub fn load_settings(start: &Path) -> Result<Settings, String> {
    check::load_settings(start, &[start.to_path_buf()], &ConfigSource::Discover)
        .map_err(|e| e.to_string())
}

impl Project {
    pub fn new(start: PathBuf, folder: bool) -> Result<Project, String> {
        let settings = load_settings(&start)?;
        Ok(Project {
            start,
            folder,
            settings: Arc::new(settings),
            ws: None,
            selections: None,
        })
    }

    pub fn root(&self) -> &Path {
        &self.settings.root
    }

    pub fn contains(&self, path: &Path) -> bool {
        path.starts_with(&self.settings.root)
    }

    /// Load the workspace (every Python file of the project, `documents` standing for their
    /// files), from the fact cache where it can; the cache is written once and then let go.
    pub fn load(&mut self, documents: &[(PathBuf, String)], use_cache: bool) {
        let settings = self.settings.clone();
        let (mut files, _) =
            discovery::discover(&settings, std::slice::from_ref(&settings.root), false);
        let mut sources = Sources::default();
        for (path, text) in documents {
            files.push(path.clone());
            sources.set_document(path.clone(), Ok(text.clone()));
        }
        files.sort();
        files.dedup();
        let fact_cache = use_cache.then(|| {
            cache::FactCache::open(cache::cache_dir(
                &settings.root,
                settings.cache_dir.as_deref(),
            ))
        });
        let selectors = Selectors {
            nested_configs: true,
            ..Default::default()
        };
        let selections = match select::selections(&settings, &selectors, &files) {
            Ok(s) => s,
            // A broken nested config: the main config's rules everywhere.
            Err(e) => {
                eprintln!("tenantlint server: {}", describe_select_error(&e));
                select::selections(&settings, &Selectors::default(), &files)
                    .unwrap_or_else(|_| empty_selections(&settings))
            }
        };
        let mut ws = Workspace::load(settings, files, sources, fact_cache);
        ws.detach_cache();
        self.ws = Some(ws);
        self.selections = Some(selections);
    }
}

fn empty_selections(settings: &Settings) -> Selections {
    // `enabled_rules` with no command-line selectors only fails on an invalid selector, which
    // config validation has already rejected.
    select::selections(
        settings,
        &Selectors {
            select: Some(Vec::new()),
            ..Default::default()
        },
        &[],
    )
    .expect("an empty selection")
}

pub fn describe_select_error(e: &select::SelectError) -> String {
    match e {
        select::SelectError::Config(c) => format!("invalid configuration: {c}"),
        select::SelectError::Usage(m) => m.clone(),
    }
}

/// Is this file name one of the config files that can apply to a project?
pub fn is_config_file(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("tenantlint.toml" | ".tenantlint.toml" | "pyproject.toml" | "Cargo.toml")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_load_reads_every_file_from_the_cache_the_first_wrote() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("pyproject.toml"), "[tool.tenantlint]\n").unwrap();
        std::fs::create_dir_all(root.join("app")).unwrap();
        std::fs::write(root.join("app/models.py"), "from django.db import models\n").unwrap();
        std::fs::write(root.join("app/views.py"), "x = 1\n").unwrap();
        let docs = [(root.join("app/views.py"), "x = 1\n".to_string())];
        let mut first = Project::new(root.to_path_buf(), true).unwrap();
        first.load(&docs, true);
        assert_eq!(first.ws.as_ref().unwrap().cache_hits, 0);
        for _ in 0..2 {
            let mut again = Project::new(root.to_path_buf(), true).unwrap();
            again.load(&docs, true);
            assert_eq!(
                again.ws.as_ref().unwrap().cache_hits,
                2,
                "every file from the cache"
            );
        }
    }
}
