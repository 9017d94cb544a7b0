//! Applying fixes: lint -> apply non-overlapping edits -> re-parse -> re-lint, until nothing more
//! is fixable (bounded). A round whose result does not parse abandons that file's fixes (the file is
//! left untouched). Files are written only when changed, atomically, keeping their permissions.

pub mod imports;
pub mod write;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::Path;

use rayon::prelude::*;

use crate::check::{self, CheckOptions, CheckResult, FixMode, FixedFile};
use crate::config::Settings;
use crate::diagnostics::{Diagnostic, Edit, Fix};
use crate::extract;
use crate::facts::{FileFacts, FileProblem};
use crate::index::Index;
use crate::registry::Rule;

const MAX_ROUNDS: usize = 10;

/// Apply a set of fixes to `source`. Fixes are taken in order of their first edit; a fix that
/// overlaps an already applied one is skipped (it is retried in the next round). Identical edits
/// (two fixes adding the same import) are applied once. Returns the new text and the fixes applied.
pub fn apply_fixes<'a>(source: &str, fixes: &[&'a Fix]) -> (String, Vec<&'a Fix>) {
    let mut order: Vec<&Fix> = fixes.to_vec();
    order.sort_by_key(|f| {
        f.edits
            .iter()
            .map(|e| (e.span.start, e.span.end))
            .min()
            .unwrap_or((u32::MAX, u32::MAX))
    });
    let mut chosen: Vec<Edit> = Vec::new();
    let mut applied = Vec::new();
    'fixes: for fix in order {
        let mut new_edits = Vec::new();
        for e in &fix.edits {
            if chosen.contains(e) || new_edits.contains(e) {
                continue;
            }
            let overlaps = chosen
                .iter()
                .chain(new_edits.iter())
                .any(|c: &Edit| overlap(c, e));
            if overlaps {
                continue 'fixes;
            }
            new_edits.push(e.clone());
        }
        chosen.extend(new_edits);
        applied.push(fix);
    }
    // Stable order: by position; insertions at the same point keep their order of arrival.
    let mut indexed: Vec<(usize, &Edit)> = chosen.iter().enumerate().collect();
    indexed.sort_by_key(|(i, e)| (e.span.start, e.span.end, *i));
    let mut out = String::with_capacity(source.len() + 256);
    let mut last = 0usize;
    for (_, e) in indexed {
        let (s, t) = (e.span.start as usize, e.span.end as usize);
        if s < last
            || t > source.len()
            || !source.is_char_boundary(s)
            || !source.is_char_boundary(t)
        {
            continue;
        }
        out.push_str(&source[last..s]);
        out.push_str(&e.content);
        last = t;
    }
    out.push_str(&source[last..]);
    (out, applied)
}

fn overlap(a: &Edit, b: &Edit) -> bool {
    let (a0, a1, b0, b1) = (a.span.start, a.span.end, b.span.start, b.span.end);
    if a0 == a1 && b0 == b1 {
        return false;
    }
    if a0 == a1 {
        return b0 < a0 && a0 < b1;
    }
    if b0 == b1 {
        return a0 < b0 && b0 < a1;
    }
    a0 < b1 && b0 < a1
}

/// Apply `fixes` to the source of the file described by `facts`, and extract the facts of the
/// result. `Err` (with the fixes that were applied) when the result does not parse: the caller
/// then leaves the file untouched.
pub fn apply_verified<'a>(
    facts: &FileFacts,
    source: &str,
    fixes: &[&'a Fix],
    conv: &crate::config::Conventions,
) -> Result<(String, FileFacts, Vec<&'a Fix>), Vec<&'a Fix>> {
    let (fixed, applied) = apply_fixes(source, fixes);
    let new_facts = extract::extract_source(
        &facts.path,
        facts.module.clone(),
        facts.is_package,
        &fixed,
        conv,
    );
    if new_facts
        .problems
        .iter()
        .any(|p| matches!(p, FileProblem::Syntax { .. }))
    {
        return Err(applied);
    }
    Ok((fixed, new_facts, applied))
}

/// A file's round: the fixed text and facts with the rules applied, or the text it had and the
/// rules whose fixes broke it.
type FixOutcome = Result<(String, FileFacts, Vec<Rule>), (String, Vec<Rule>)>;

struct FileState {
    original: String,
    current: String,
    counts: BTreeMap<Rule, usize>,
}

/// The fix loop. Fills `result` with the remaining diagnostics and the changed files, and writes
/// them (with `--fix`; `--diff` writes nothing).
pub fn run_fixes(
    settings: &Settings,
    mut files: Vec<FileFacts>,
    targets: &[usize],
    selections: &check::Selections,
    opts: &CheckOptions,
    stdin: Option<(&Path, &str)>,
    result: &mut CheckResult,
) {
    let conv = &settings.conventions;
    let mut states: HashMap<usize, FileState> = HashMap::new();
    let mut abandoned: HashSet<usize> = HashSet::new();
    let mut remaining: Vec<Diagnostic>;
    let mut round = 0;
    loop {
        let index = Index::build(&files, conv);
        remaining = check::lint(&index, settings, targets, selections);
        round += 1;
        if round > MAX_ROUNDS {
            break;
        }
        // Fixable diagnostics per file.
        let mut per_file: BTreeMap<usize, Vec<&Fix>> = BTreeMap::new();
        let path_to_idx: HashMap<&Path, usize> = targets
            .iter()
            .map(|&i| (files[i].path.as_path(), i))
            .collect();
        for d in &remaining {
            let Some(fix) = &d.fix else { continue };
            if !check::applies(fix.applicability, opts.unsafe_fixes) {
                continue;
            }
            let Some(&fi) = path_to_idx.get(d.path.as_path()) else {
                continue;
            };
            if abandoned.contains(&fi) {
                continue;
            }
            per_file.entry(fi).or_default().push(fix);
        }
        if per_file.is_empty() {
            break;
        }
        let rule_of: HashMap<usize, Rule> = remaining
            .iter()
            .filter_map(|d| d.fix.as_ref().map(|f| (f as *const Fix as usize, d.rule)))
            .collect();
        let jobs: Vec<(usize, Vec<&Fix>)> = per_file.into_iter().collect();
        let outcomes: Vec<(usize, FixOutcome)> = jobs
            .par_iter()
            .map(|(fi, fixes)| {
                let fi = *fi;
                let facts = &files[fi];
                let source = match states.get(&fi) {
                    Some(s) => s.current.clone(),
                    None => match read_source(&facts.path, stdin) {
                        Ok(s) => s,
                        Err(e) => return (fi, Err((e, vec![]))),
                    },
                };
                match apply_verified(facts, &source, fixes, conv) {
                    Ok((fixed, new_facts, applied)) => {
                        let rules = applied
                            .iter()
                            .filter_map(|f| rule_of.get(&(*f as *const Fix as usize)).copied())
                            .collect();
                        (fi, Ok((fixed, new_facts, rules)))
                    }
                    Err(applied) => {
                        let rules = applied
                            .iter()
                            .filter_map(|f| rule_of.get(&(*f as *const Fix as usize)).copied())
                            .collect();
                        (fi, Err((source, rules)))
                    }
                }
            })
            .collect();
        drop(index);
        let mut progressed = false;
        for (fi, outcome) in outcomes {
            match outcome {
                Ok((fixed, new_facts, rules)) => {
                    let original = match states.remove(&fi) {
                        Some(s) => s,
                        None => FileState {
                            original: read_source(&files[fi].path, stdin).unwrap_or_default(),
                            current: String::new(),
                            counts: BTreeMap::new(),
                        },
                    };
                    let mut state = original;
                    if fixed != state.current {
                        progressed = true;
                    }
                    state.current = fixed;
                    for r in rules {
                        *state.counts.entry(r).or_default() += 1;
                    }
                    states.insert(fi, state);
                    files[fi] = new_facts;
                }
                Err((_, rules)) => {
                    let path = &files[fi].path;
                    let mut names: Vec<&str> = rules.iter().map(|r| r.code()).collect();
                    names.sort();
                    names.dedup();
                    if names.is_empty() {
                        result.fix_errors.push(format!(
                            "{}: cannot read the file to fix it",
                            path.display()
                        ));
                    } else {
                        result.fix_errors.push(format!(
                            "{}: fixes from {} produced code that does not parse; the file was left untouched (please report this)",
                            path.display(),
                            names.join(", ")
                        ));
                    }
                    abandoned.insert(fi);
                    if let Some(state) = states.remove(&fi) {
                        let module = files[fi].module.clone();
                        let is_package = files[fi].is_package;
                        files[fi] = extract::extract_source(
                            &files[fi].path,
                            module,
                            is_package,
                            &state.original,
                            conv,
                        );
                    }
                    progressed = true;
                }
            }
        }
        if !progressed {
            break;
        }
    }
    result.diagnostics = remaining;

    let mut changed: Vec<(usize, FileState)> = states
        .into_iter()
        .filter(|(_, s)| s.current != s.original)
        .collect();
    changed.sort_by(|a, b| files[a.0].path.cmp(&files[b.0].path));
    for (fi, state) in changed {
        let path = files[fi].path.clone();
        let is_stdin = stdin.is_some_and(|(p, _)| p == path);
        if opts.fix == FixMode::Apply
            && !is_stdin
            && let Err(e) = write_atomic(&path, &state.current)
        {
            result.fix_errors.push(format!(
                "{}: cannot write the fixed file: {e}",
                path.display()
            ));
            continue;
        }
        if is_stdin {
            result.stdin_output = Some(state.current.clone());
        }
        result.fixed.push(FixedFile {
            path,
            original: state.original,
            fixed: state.current,
            counts: state.counts.into_iter().collect(),
        });
    }
    if result.stdin_output.is_none()
        && let Some((_, text)) = stdin
    {
        result.stdin_output = Some(text.to_string());
    }
}

fn read_source(path: &Path, stdin: Option<(&Path, &str)>) -> Result<String, String> {
    if let Some((p, text)) = stdin
        && p == path
    {
        return Ok(text.to_string());
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    extract::decode(&bytes).map(str::to_string)
}

/// Replace `path` with `contents` atomically: a temporary file in the same directory, the
/// original's permissions, then a rename. Symlinks are followed (their target is replaced).
pub fn write_atomic(path: &Path, contents: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let dir = target.parent().unwrap_or(Path::new("."));
    let perms = std::fs::metadata(&target)?.permissions();
    let mut tmp = tempfile::Builder::new()
        .prefix(".tenantlint-")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().set_permissions(perms)?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Conventions;
    use crate::diagnostics::Applicability;
    use crate::locate::Locator;
    use ruff_text_size::{TextRange, TextSize};
    use std::path::Path;

    fn edit(source: &str, start: u32, end: u32, content: &str) -> Edit {
        let loc = Locator::new(source);
        Edit {
            span: loc.span(TextRange::new(TextSize::from(start), TextSize::from(end))),
            content: content.into(),
        }
    }

    fn fix(edits: Vec<Edit>) -> Fix {
        Fix {
            applicability: Applicability::Safe,
            message: "test".into(),
            edits,
        }
    }

    fn facts_for(source: &str) -> FileFacts {
        extract::extract_source(
            Path::new("m.py"),
            "m".into(),
            false,
            source,
            &Conventions::default(),
        )
    }

    #[test]
    fn a_fix_that_breaks_the_file_is_rejected() {
        let source = "class A:\n    pass\n";
        let bad = fix(vec![edit(source, 7, 8, "")]); // drops the colon
        let result = apply_verified(&facts_for(source), source, &[&bad], &Conventions::default());
        assert!(
            result.is_err(),
            "a fix producing invalid syntax must be rejected"
        );
    }

    #[test]
    fn a_sound_fix_is_applied_and_re_extracted() {
        let source = "class A:\n    pass\n";
        let good = fix(vec![edit(source, 9, 9, "    x = 1\n")]);
        let (text, facts, applied) = apply_verified(
            &facts_for(source),
            source,
            &[&good],
            &Conventions::default(),
        )
        .expect("valid fix");
        assert_eq!(text, "class A:\n    x = 1\n    pass\n");
        assert_eq!(applied.len(), 1);
        assert_eq!(facts.classes[0].assigns[0].name.as_str(), "x");
    }

    #[test]
    fn overlapping_fixes_are_deferred_and_identical_edits_deduplicated() {
        let source = "abcdef";
        let import = edit(source, 0, 0, "I");
        let a = fix(vec![edit(source, 1, 3, "X"), import.clone()]);
        let b = fix(vec![edit(source, 2, 4, "Y")]);
        let c = fix(vec![edit(source, 4, 5, "Z"), import]);
        let (out, applied) = apply_fixes(source, &[&a, &b, &c]);
        assert_eq!(out, "IaXdZf");
        assert_eq!(
            applied.len(),
            2,
            "the overlapping fix waits for the next round"
        );
    }
}
