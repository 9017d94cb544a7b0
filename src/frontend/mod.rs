//! Frontends: one per source language, each turning one file's text into its [`FileFacts`]
//! (config-free, path-free, serde, byte spans), in one parse.
//!
//! - [`python`]: Python (Django) source, on ruff's parser.
//! - [`rust`]: Rust services (SeaORM, Diesel, sqlx, Redis), on `syn`; it also reads SQL
//!   migrations (`migrations/**/*.sql`) for their schema.
//!
//! The language of a file is decided by its extension ([`Language::of`]); the engine, the fact
//! cache (whose key includes the language) and the fix layer's re-parse all dispatch through
//! [`extract_source`].
//!
//! [`FileFacts`]: crate::facts::FileFacts

use std::path::Path;

use crate::facts::{EditFacts, FileFacts};

pub mod python;
pub mod rust;

/// The language of a source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Language {
    Python,
    Rust,
    /// A SQL migration (schema facts only).
    Sql,
}

impl Language {
    /// By extension: `.rs` is Rust, `.sql` SQL, anything else Python (files named on the command
    /// line or opened in an editor are Python unless they say otherwise, as before).
    pub fn of(path: &Path) -> Language {
        match path.extension().and_then(|e| e.to_str()) {
            Some("rs") => Language::Rust,
            Some("sql") => Language::Sql,
            _ => Language::Python,
        }
    }

    /// A byte that keeps the facts of the same text in two languages apart in the fact cache.
    pub fn tag(self) -> u8 {
        match self {
            Language::Python => b'p',
            Language::Rust => b'r',
            Language::Sql => b's',
        }
    }
}

/// Parse `source` once as `lang` and extract its facts.
pub fn extract_source(lang: Language, source: &str) -> FileFacts {
    match lang {
        Language::Python => python::extract_source(source),
        Language::Rust => rust::extract_source(source),
        Language::Sql => rust::extract_sql_migration(source),
    }
}

/// Facts and edit facts (where fixes may edit) of `source` as `lang`.
pub fn extract_with_edits(lang: Language, source: &str) -> (FileFacts, EditFacts) {
    match lang {
        Language::Python => python::extract_with_edits(source),
        Language::Rust | Language::Sql => {
            let facts = extract_source(lang, source);
            let edits = EditFacts {
                newline: crate::locate::detect_newline(source),
                source: source.to_string(),
                ..Default::default()
            };
            (facts, edits)
        }
    }
}
