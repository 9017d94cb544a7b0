//! tenantlint: a linter for tenant-isolation bugs in multi-tenant Django projects.
//!
//! The pipeline, one module per stage:
//!
//! 1. [`discovery`]: find the Python files of the project (honouring `.gitignore` and `exclude`).
//! 2. [`facts`] / [`frontend`]: parse every file once (one frontend per language), in parallel, and keep only the facts the
//!    rules need (classes, bindings, query and cache call sites, suppressions). Facts depend only on
//!    the file's text, so they are cached by content ([`engine::cache`]). Syntax trees are dropped
//!    as soon as a file's facts are extracted.
//! 3. [`index`]: the cross-file project index, owned and updatable one file at a time: module
//!    resolution, imports and re-exports, which classes are Django models, which are tenant-owned,
//!    which manager each one really ends up with.
//! 4. [`rules`]: one file per rule, each reading the facts of one file and the index.
//! 5. [`fix`]: applying edits, checking the result parses, writing files atomically.
//! 6. [`report`]: the output formats.
//!
//! [`engine`] drives 1-5 for every front end (the `check` command in [`check`], the fact cache,
//! an editor): its `Workspace` owns the files, their sources and the index, and runs the rules
//! and the check/fix loop.

pub mod add_noqa;
pub mod baseline;
pub mod check;
pub mod cli;
pub mod config;
pub mod daemon;
pub mod diagnostics;
pub mod discovery;
pub mod engine;
pub mod facts;
pub mod fix;
pub mod frontend;
pub mod index;
pub mod init;
pub mod locate;
pub mod noqa;
pub mod packed;
pub mod python_limits;
pub mod registry;
pub mod report;
pub mod rules;
pub mod server;
pub mod show;
pub mod source_io;
pub mod sql;

/// A small deterministic random number source for the randomized unit tests: `next(n)` is in
/// `0..n` (xorshift64).
#[cfg(test)]
pub(crate) fn test_rng(mut state: u64) -> impl FnMut(usize) -> usize {
    move |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    }
}
