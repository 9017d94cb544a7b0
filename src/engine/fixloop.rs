//! The check/fix loop: lint, compute the edits of the applicable fixes from the source, apply the
//! non-overlapping ones, re-parse (a result that does not parse abandons that file's fixes), update
//! the workspace with the fixed text as an in-memory document, and lint again, until nothing more
//! is fixable (bounded). Nothing is written here: the caller writes the fixed files (or prints a
//! diff) and puts a file whose write failed back to its original text.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use super::Workspace;
use super::select::Selections;
use crate::diagnostics::{Applicability, Diagnostic, Fix};
use crate::fix::apply_fixes;
use crate::index::FileId;
use crate::registry::Rule;

const MAX_ROUNDS: usize = 10;

/// A file whose fixes were applied (or would be, with `--diff`).
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct FixedFile {
    pub path: PathBuf,
    pub original: String,
    pub fixed: String,
    /// How many diagnostics each rule's fixes resolved.
    pub counts: Vec<(Rule, usize)>,
}

#[derive(Debug, Default)]
pub struct FixRun {
    /// What remains after fixing, sorted (edits not resolved).
    pub diagnostics: Vec<Diagnostic>,
    pub fixed: Vec<FixedFile>,
    /// Fixes that broke a file (the file was left as it was).
    pub errors: Vec<String>,
}

/// Is a fix of this applicability applied in this run?
pub fn applies(applicability: Applicability, unsafe_fixes: bool) -> bool {
    match applicability {
        Applicability::Safe => true,
        Applicability::Unsafe => unsafe_fixes,
        Applicability::DisplayOnly => false,
    }
}

struct FileState {
    original: String,
    current: String,
    counts: BTreeMap<Rule, usize>,
}

/// Fix `targets` in the workspace (as in-memory documents) and report what remains.
pub fn run(
    ws: &mut Workspace,
    targets: &[FileId],
    selections: &Selections,
    unsafe_fixes: bool,
) -> FixRun {
    let mut run = FixRun::default();
    let mut states: HashMap<FileId, FileState> = HashMap::new();
    let mut abandoned: HashSet<FileId> = HashSet::new();
    let mut remaining: Vec<Diagnostic>;
    let mut round = 0;
    loop {
        remaining = ws.lint(targets, selections);
        round += 1;
        if round > MAX_ROUNDS {
            break;
        }
        let mut fixable: Vec<Diagnostic> = remaining
            .iter()
            .filter(|d| {
                d.fix
                    .as_ref()
                    .is_some_and(|f| applies(f.applicability, unsafe_fixes))
                    && ws
                        .file_id(&d.path)
                        .is_some_and(|id| !abandoned.contains(&id))
            })
            .cloned()
            .collect();
        if fixable.is_empty() {
            break;
        }
        // The text each file's edits were computed from (stale files get no fixes).
        let mut texts: HashMap<FileId, String> = HashMap::new();
        for (file, text) in ws.resolve_fixes(&mut fixable, selections) {
            match text {
                Some(t) => {
                    texts.insert(file, t);
                }
                None => {
                    run.errors.push(format!(
                        "{}: changed or unreadable since it was checked; not fixed",
                        ws.path(file).display()
                    ));
                    abandoned.insert(file);
                }
            }
        }
        let mut per_file: BTreeMap<FileId, Vec<(Rule, &Fix)>> = BTreeMap::new();
        for d in &fixable {
            if let (Some(f), Some(id)) = (&d.fix, ws.file_id(&d.path)) {
                per_file.entry(id).or_default().push((d.rule, f));
            }
        }
        if per_file.is_empty() {
            break;
        }
        let mut progressed = false;
        for (file, fixes) in per_file {
            let path = ws.path(file).to_path_buf();
            let Some(source) = texts.remove(&file) else {
                continue;
            };
            let only: Vec<&Fix> = fixes.iter().map(|(_, f)| *f).collect();
            let (fixed, applied) = apply_fixes(&source, &only);
            let rules: Vec<Rule> = applied
                .iter()
                .filter_map(|a| {
                    fixes
                        .iter()
                        .find(|(_, f)| std::ptr::eq(*f, *a))
                        .map(|(r, _)| *r)
                })
                .collect();
            // The fixed text becomes the file's document; its facts (one parse) say whether it
            // still parses.
            let id = ws.set_document(path.clone(), Ok(fixed.clone()));
            if ws.index().facts(id).has_syntax_error() {
                let mut names: Vec<&str> = rules.iter().map(|r| r.code()).collect();
                names.sort();
                names.dedup();
                run.errors.push(format!(
                    "{}: fixes from {} produced code that does not parse; the file was left untouched (please report this)",
                    path.display(),
                    names.join(", ")
                ));
                abandoned.insert(file);
                // The file is left untouched: back to its original text.
                let original = states.remove(&file).map_or(source, |s| s.original);
                ws.set_document(path.clone(), Ok(original));
                progressed = true;
                continue;
            }
            let state = states.entry(file).or_insert_with(|| FileState {
                original: source.clone(),
                current: source.clone(),
                counts: BTreeMap::new(),
            });
            if fixed != state.current {
                progressed = true;
            }
            state.current = fixed.clone();
            for r in rules {
                *state.counts.entry(r).or_default() += 1;
            }
        }
        if !progressed {
            break;
        }
    }
    run.diagnostics = remaining;
    let mut changed: Vec<(FileId, FileState)> = states
        .into_iter()
        .filter(|(_, s)| s.current != s.original)
        .collect();
    changed.sort_by(|a, b| ws.path(a.0).cmp(ws.path(b.0)));
    for (file, state) in changed {
        run.fixed.push(FixedFile {
            path: ws.path(file).to_path_buf(),
            original: state.original,
            fixed: state.current,
            counts: state.counts.into_iter().collect(),
        });
    }
    run
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config;
    use crate::engine::select::{self, Selectors};
    use crate::engine::source::Sources;
    use std::sync::Arc;

    const MODELS: &str = "from django.db import models\n\n\nclass Tenant(models.Model):\n    pass\n\n\nclass TenantAwareManager(models.Manager):\n    pass\n\n\nclass Invoice(models.Model):\n    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE)\n";

    fn workspace(root: &std::path::Path) -> (Workspace, select::Selections) {
        let settings = Arc::new(config::resolve_settings(root.to_path_buf(), None).unwrap());
        let file = root.join("app/models.py");
        let ws = Workspace::load(
            settings.clone(),
            vec![file.clone()],
            Sources::default(),
            None,
        );
        let sel = select::selections(&settings, &Selectors::default(), &[file]).unwrap();
        (ws, sel)
    }

    #[test]
    fn a_file_edited_after_the_check_is_not_fixed_from_stale_facts() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("app/models.py");
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, MODELS).unwrap();

        // Unchanged: the TEN101 fix applies.
        let (mut ws, sel) = workspace(dir.path());
        let fixed = super::run(&mut ws, &[0], &sel, false);
        assert_eq!(
            fixed.fixed.len(),
            1,
            "{:?} {:?}",
            fixed.errors,
            fixed.diagnostics
        );
        assert!(
            fixed.fixed[0]
                .fixed
                .contains("objects = TenantAwareManager()")
        );

        // Edited on disk between the check and the fix: no fix, a message, the finding stays.
        let (mut ws, sel) = workspace(dir.path());
        std::fs::write(&path, format!("{MODELS}# edited in an editor\n")).unwrap();
        let run = super::run(&mut ws, &[0], &sel, false);
        assert!(run.fixed.is_empty());
        assert!(
            run.errors
                .iter()
                .any(|e| e.contains("changed or unreadable since it was checked")),
            "{:?}",
            run.errors
        );
        assert_eq!(run.diagnostics.len(), 1);
        assert_eq!(run.diagnostics[0].rule.code(), "TEN101");
    }
}
