//! Applying fixes: lint -> apply non-overlapping edits -> re-parse -> re-lint, until nothing more
//! is fixable (bounded). A round whose result does not parse abandons that file's fixes (the file is
//! left untouched). Files are written only when changed, atomically, keeping their permissions.

pub mod imports;

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
    order.sort_by_key(|f| f.edits.iter().map(|e| (e.span.start, e.span.end)).min().unwrap_or((u32::MAX, u32::MAX)));
    let mut chosen: Vec<Edit> = Vec::new();
    let mut applied = Vec::new();
    'fixes: for fix in order {
        let mut new_edits = Vec::new();
        for e in &fix.edits {
            if chosen.contains(e) || new_edits.contains(e) {
                continue;
            }
            let overlaps = chosen.iter().chain(new_edits.iter()).any(|c: &Edit| overlap(c, e));
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
        if s < last || t > source.len() || !source.is_char_boundary(s) || !source.is_char_boundary(t) {
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
    enabled: &[Rule],
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
        remaining = check::lint(&index, settings, targets, enabled);
        round += 1;
        if round > MAX_ROUNDS {
            break;
        }
        // Fixable diagnostics per file.
        let mut per_file: BTreeMap<usize, Vec<&Fix>> = BTreeMap::new();
        let path_to_idx: HashMap<&Path, usize> = targets.iter().map(|&i| (files[i].path.as_path(), i)).collect();
        for d in &remaining {
            let Some(fix) = &d.fix else { continue };
            if !check::applies(fix.applicability, opts.unsafe_fixes) {
                continue;
            }
            let Some(&fi) = path_to_idx.get(d.path.as_path()) else { continue };
            if abandoned.contains(&fi) {
                continue;
            }
            per_file.entry(fi).or_default().push(fix);
        }
        if per_file.is_empty() {
            break;
        }
        let rule_of: HashMap<usize, Rule> =
            remaining.iter().filter_map(|d| d.fix.as_ref().map(|f| (f as *const Fix as usize, d.rule))).collect();
        let jobs: Vec<(usize, Vec<&Fix>)> = per_file.into_iter().collect();
        let outcomes: Vec<(usize, Result<(String, FileFacts, Vec<Rule>), (String, Vec<Rule>)>)> = jobs
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
                let (fixed, applied) = apply_fixes(&source, fixes);
                let rules: Vec<Rule> = applied.iter().filter_map(|f| rule_of.get(&(*f as *const Fix as usize)).copied()).collect();
                let new_facts =
                    extract::extract_source(&facts.path, facts.module.clone(), facts.is_package, &fixed, conv);
                if new_facts.problems.iter().any(|p| matches!(p, FileProblem::Syntax { .. })) {
                    return (fi, Err((source, rules)));
                }
                (fi, Ok((fixed, new_facts, rules)))
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
                        result.fix_errors.push(format!("{}: cannot read the file to fix it", path.display()));
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
                        files[fi] = extract::extract_source(&files[fi].path, module, is_package, &state.original, conv);
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

    let mut changed: Vec<(usize, FileState)> = states.into_iter().filter(|(_, s)| s.current != s.original).collect();
    changed.sort_by(|a, b| files[a.0].path.cmp(&files[b.0].path));
    for (fi, state) in changed {
        let path = files[fi].path.clone();
        let is_stdin = stdin.is_some_and(|(p, _)| p == path);
        if opts.fix == FixMode::Apply && !is_stdin
            && let Err(e) = write_atomic(&path, &state.current)
        {
            result.fix_errors.push(format!("{}: cannot write the fixed file: {e}", path.display()));
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
    let mut tmp = tempfile::Builder::new().prefix(".tenantlint-").suffix(".tmp").tempfile_in(dir)?;
    tmp.write_all(contents.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.as_file().set_permissions(perms)?;
    tmp.persist(&target).map_err(|e| e.error)?;
    Ok(())
}
