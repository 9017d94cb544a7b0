//! tenantlint: a linter for tenant-isolation bugs in multi-tenant Django projects.
//!
//! The pipeline, one module per stage:
//!
//! 1. [`discovery`]: find the Python files of the project (honouring `.gitignore` and `exclude`).
//! 2. [`facts`] / [`extract`]: read and parse every file once, in parallel, and keep only the facts
//!    the rules need (classes, bindings, query and cache call sites, suppressions). Syntax trees are
//!    dropped as soon as a file's facts are extracted.
//! 3. [`index`]: the cross-file project index: module resolution, imports and re-exports, which
//!    classes are Django models, which are tenant-owned, which manager each one really ends up with.
//! 4. [`rules`]: one file per rule, each reading the facts of one file and the index.
//! 5. [`fix`]: applying fixes, re-checking, writing files atomically.
//! 6. [`report`]: the output formats.

pub mod check;
pub mod cli;
pub mod config;
pub mod diagnostics;
pub mod discovery;
pub mod extract;
pub mod facts;
pub mod fix;
pub mod index;
pub mod locate;
pub mod noqa;
pub mod python_limits;
pub mod registry;
pub mod report;
pub mod rules;
pub mod source_io;
