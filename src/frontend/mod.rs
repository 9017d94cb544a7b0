//! Frontends: one per source language, each turning one file's text into its [`FileFacts`]
//! (config-free, path-free, serde, byte spans), in one parse.
//!
//! - [`python`]: Python (Django) source, on ruff's parser.
//!
//! [`FileFacts`]: crate::facts::FileFacts

pub mod python;
