//! Import edits shared by fixes: find an existing binding, or add an import after the module's
//! docstring, `from __future__` imports and leading import block.

use crate::diagnostics::Edit;
use crate::facts::{Binding, EditFacts, FileFacts};
use crate::index::{Index, Resolved};
use crate::locate::Span;
use crate::rules::Context;

/// Make `module.name` available in the file. Returns the local expression to use and the edit
/// that adds the import, if one is needed. `None` when the name is bound to something else
/// already (an import would shadow it).
pub fn ensure_import(ctx: &Context, module: &str, name: &str) -> Option<(String, Option<Edit>)> {
    ensure_import_removing(ctx, module, name, &[])
}

/// [`ensure_import`], when the fixes of the same file delete the import statements `removed`
/// (by index into the file's imports): the new import is not placed against them. Every fix of
/// a file must pass the same list, so that they all add the same edit (which the engine applies
/// once).
pub fn ensure_import_removing(
    ctx: &Context,
    module: &str,
    name: &str,
    removed: &[usize],
) -> Option<(String, Option<Edit>)> {
    let index = ctx.index;
    let facts = ctx.facts;
    if ctx.module() == module {
        return Some((name.to_string(), None));
    }
    let target = index.resolve_attr(Resolved::Module(module.to_string()), name);
    // An existing import of the same thing, under any name or form: only a name's last
    // binding is what it holds (`from m import A as X` then `from m import B as X`: `X` is `B`;
    // found by the on-disk fuzz target, whose second `--fix` then rewrote the first's work).
    let mut seen: rustc_hash::FxHashSet<&str> = Default::default();
    for b in facts.bindings.iter().rev() {
        if !seen.insert(b.name.as_str()) {
            continue;
        }
        match &b.binding {
            Binding::FromImport { .. } => {
                let resolved = index.resolve_binding(ctx.file, &b.name, &b.binding);
                if resolved == target && target != Resolved::Unknown {
                    return Some((b.name.to_string(), None));
                }
                // `from tenancy import managers` then `managers.TenantAwareManager`.
                if resolved == Resolved::Module(module.to_string()) {
                    return Some((format!("{}.{}", b.name, name), None));
                }
                if let Binding::FromImport { module: m, name: n } = &b.binding
                    && index.absolute(ctx.file, m) == module
                    && n == name
                {
                    return Some((b.name.to_string(), None));
                }
            }
            Binding::Module(m) => {
                // `import a.b` binds `a`; `import a.b as c` binds `c` to `a.b`.
                let is_alias = facts.imports.iter().any(|i| {
                    i.scope == 0
                        && i.from_module.is_none()
                        && i.names
                            .iter()
                            .any(|(_, asname)| asname.as_ref() == Some(&b.name))
                });
                if m == module {
                    return Some((format!("{}.{}", b.name, name), None));
                }
                if !is_alias && let Some(rest) = module.strip_prefix(&format!("{m}.")) {
                    let imported_fully = facts.imports.iter().any(|i| {
                        i.scope == 0
                            && i.from_module.is_none()
                            && i.names.iter().any(|(n, a)| a.is_none() && n == module)
                    });
                    if imported_fully {
                        return Some((format!("{}.{}.{}", b.name, rest, name), None));
                    }
                }
            }
            _ => {}
        }
    }
    // Importing `name` must not shadow another binding of the same name.
    if facts.binding(name).is_some() {
        return None;
    }
    // Without edit facts (the fix's availability only), a placeholder edit stands for the import.
    let Some(edit_facts) = ctx.edits else {
        return Some((
            name.to_string(),
            Some(Edit::new(Default::default(), String::new())),
        ));
    };
    let first_party = |m: &str| is_first_party(index, m);
    let edit = place_import(facts, edit_facts, module, name, &first_party, removed)?;
    Some((name.to_string(), Some(edit)))
}

/// Is `module` one of the project's own? As ruff decides with its default `src`: the module
/// itself is a file or package of the project (`tenancy.managers`; a missing submodule of a
/// project package is not).
pub fn is_first_party(index: &Index, module: &str) -> bool {
    index.file_of_module(module).is_some() || {
        let prefix = format!("{module}.");
        index
            .files()
            .any(|(fi, _)| index.module(fi).starts_with(&prefix))
    }
}

/// isort's sections, in order (ruff's defaults: future, standard library, third party, first
/// party, local folder).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Section {
    Future,
    Stdlib,
    ThirdParty,
    FirstParty,
    Local,
}

fn section(module: &str, first_party: &dyn Fn(&str) -> bool) -> Section {
    if module.starts_with('.') {
        return Section::Local;
    }
    let top = module.split('.').next().unwrap_or(module);
    if top == "__future__" {
        Section::Future
    } else if super::stdlib::STDLIB.binary_search(&top).is_ok() {
        Section::Stdlib
    } else if first_party(module) {
        Section::FirstParty
    } else {
        Section::ThirdParty
    }
}

/// ruff's order within a section (`force-sort-within-sections = false`): every `import x`
/// before every `from x import y`, then by module name ignoring case, then by the first name
/// imported.
type StmtKey = (bool, String, String, (u8, String, String));

fn stmt_key(is_from: bool, module: &str, first: &str) -> StmtKey {
    (
        is_from,
        module.to_lowercase(),
        module.to_string(),
        member_key(first),
    )
}

/// ruff's order of the names of one `from` import (`order-by-type`): constants, then classes,
/// then everything else, each ignoring case.
fn member_key(name: &str) -> (u8, String, String) {
    let kind = if name.len() > 1 && name.chars().all(|c| !c.is_lowercase()) {
        0
    } else if name.starts_with(|c: char| c.is_uppercase()) {
        1
    } else {
        2
    };
    (kind, name.to_lowercase(), name.to_string())
}

/// ruff's default line length: a longer `from` import is wrapped, one name per line.
const LINE_LENGTH: usize = 88;

/// The edit that adds `from module import name` where isort (ruff's `I001`, default settings)
/// puts it: into an existing `from module import ...` of the leading import block (names
/// kept sorted; wrapped as ruff wraps when the line gets too long), else as a new statement at
/// its sorted place in its section of the leading block (a new section gets its blank line),
/// else as a new block after the module docstring and `from __future__` imports, followed by
/// the blank lines ruff wants before the next statement. `removed` are import statements
/// other edits delete (they are not neighbours to place against).
pub fn place_import(
    facts: &FileFacts,
    edits: &EditFacts,
    module: &str,
    name: &str,
    first_party: &dyn Fn(&str) -> bool,
    removed: &[usize],
) -> Option<Edit> {
    let insert = edits.import_insert.as_ref()?;
    let nl = edits.newline;
    let src = edits.source.as_str();
    let line = format!("from {module} import {name}");
    // The leading block: module-level statements at the start of their line, before the
    // point after the block.
    struct Stmt {
        section: Section,
        key: StmtKey,
        line_span: Span,
    }
    let mut block: Vec<Stmt> = Vec::new();
    let in_block = |i: usize| {
        let imp = &facts.imports[i];
        imp.scope == 0
            && imp.span.end <= insert.span.start
            && edits
                .import_spans
                .get(i)
                .is_some_and(|s| s.line_span.start == imp.span.start)
    };
    // Only a statement of the leading block matters (a function-local import does not).
    let mut removed: Vec<usize> = removed
        .iter()
        .copied()
        .filter(|&i| i < facts.imports.len() && in_block(i))
        .collect();
    removed.sort_unstable();
    for (i, imp) in facts.imports.iter().enumerate() {
        if !in_block(i) || removed.contains(&i) {
            continue;
        }
        let Some(spans) = edits.import_spans.get(i) else {
            continue;
        };
        let first = imp
            .names
            .first()
            .map(|(n, _)| n.to_string())
            .unwrap_or_default();
        let (is_from, m) = match &imp.from_module {
            Some(_) => (true, imp.written_module.to_string()),
            None => (false, first.clone()),
        };
        // Merge into `from module import a, b` on one line, without aliases or comments, and
        // never into `from module import *` (`*, name` does not parse).
        if is_from && m == module {
            let text = &src[imp.span.start as usize..imp.span.end as usize];
            let plain = !text.contains(['(', '\\', '#', '\n'])
                && imp.names.iter().all(|(n, a)| a.is_none() && n != "*");
            if plain {
                let mut names: Vec<String> = imp.names.iter().map(|(n, _)| n.to_string()).collect();
                names.push(name.to_string());
                names.sort_by_key(|n| member_key(n));
                names.dedup();
                let one_line = format!("from {module} import {}", names.join(", "));
                let content = if one_line.len() <= LINE_LENGTH {
                    one_line
                } else {
                    let items: String = names.iter().map(|n| format!("    {n},{nl}")).collect();
                    format!("from {module} import ({nl}{items})")
                };
                return Some(Edit::new(imp.span, content));
            }
        }
        block.push(Stmt {
            section: section(&m, first_party),
            key: stmt_key(is_from, &m, &first),
            line_span: spans.line_span,
        });
    }
    let mine = section(module, first_party);
    let key = stmt_key(true, module, name);
    // Above the comment lines that belong to a statement.
    // Lines end at `\n`, `\r\n` or a lone `\r`, as Python's. A shebang, or a comment on line
    // 1 or 2 that mentions `coding`, stays there: a coding declaration only counts there, and
    // one that merely looks like it (`# -*- coding2 utf-8 -*-`) is not climbed over either, or a
    // real one below it would move up into line 2.
    let above_comments = |at: u32| -> u32 {
        let mut at = at as usize;
        while at > 0 {
            let body_end = if src[..at].ends_with("\r\n") {
                at - 2
            } else {
                at - 1
            };
            let prev_start = src[..body_end].rfind(['\n', '\r']).map_or(0, |i| i + 1);
            let prev = &src[prev_start..body_end];
            let header = python_lines(&src[..prev_start]).take(2).count() < 2
                && (prev.starts_with("#!") || prev.contains("coding"));
            if prev.trim_start().starts_with('#') && !header {
                at = prev_start;
            } else {
                break;
            }
        }
        at as u32
    };
    let same: Vec<&Stmt> = block.iter().filter(|s| s.section == mine).collect();
    if let Some(first) = same.first() {
        // After the statement it sorts after; else first of the section, above the comment
        // lines of the statement that was first (ruff keeps a blank line before a comment).
        return Some(match same.iter().rfind(|s| s.key < key) {
            Some(prev) => Edit::new(Span::empty(prev.line_span.end), format!("{line}{nl}")),
            None => {
                let at = above_comments(first.line_span.start);
                let gap = if at < first.line_span.start { nl } else { "" };
                Edit::new(Span::empty(at), format!("{line}{nl}{gap}"))
            }
        });
    }
    // A new section: after the last statement of an earlier one, else before the first of a
    // later one, with a blank line between sections.
    if let Some(prev) = block.iter().rfind(|s| s.section < mine) {
        return Some(Edit::new(
            Span::empty(prev.line_span.end),
            format!("{nl}{line}{nl}"),
        ));
    }
    if let Some(next) = block.iter().find(|s| s.section > mine) {
        return Some(Edit::new(
            Span::empty(above_comments(next.line_span.start)),
            format!("{line}{nl}{nl}"),
        ));
    }
    // No import block: a new one at the insertion point, after any blank lines there, followed
    // by one blank line (two before a class or function, as ruff's `lines-after-imports`).
    let blank_lines_before = |rest: &str| match python_lines(rest)
        .map(str::trim_start)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
    {
        None => 0,
        Some(l)
            if ["class ", "def ", "async def ", "@"]
                .iter()
                .any(|p| l.starts_with(p)) =>
        {
            2
        }
        Some(_) => 1,
    };
    if let Some(&ri) = removed.last() {
        // The block's only statements go (the same fix deletes it, with one blank line after
        // it when it follows a blank line or starts the file): the new one takes its place.
        let spans = edits.import_spans.get(ri)?;
        let after = &src[spans.line_span.end as usize..];
        let blanks = python_lines(after)
            .take_while(|l| l.trim().is_empty())
            .count();
        let taken = usize::from(spans.delete_span.end > spans.line_span.end);
        let want: usize = blank_lines_before(after);
        let add = want.saturating_sub(blanks.saturating_sub(taken));
        return Some(Edit::new(
            Span::empty(spans.line_span.start),
            format!("{line}{nl}{}", nl.repeat(add)),
        ));
    }
    let mut at = insert.span.start as usize;
    if insert.prefix.is_empty() {
        loop {
            // A line ends at `\n`, `\r\n` or a lone `\r`, as Python's.
            let end = match src[at..].find(['\n', '\r']) {
                None => src.len(),
                Some(i) if src[at + i..].starts_with("\r\n") => at + i + 2,
                Some(i) => at + i + 1,
            };
            if end > at && end < src.len() && src[at..end].trim().is_empty() {
                at = end;
            } else {
                break;
            }
        }
    }
    let blank_lines = blank_lines_before(&src[at..]);
    let start = insert.span.start as usize;
    if at > start {
        // Blank lines after the docstring: one stays before the new block, and exactly the
        // blank lines ruff wants follow it.
        return Some(Edit::new(
            Span::new(start as u32, at as u32),
            format!("{nl}{line}{nl}{}", nl.repeat(blank_lines)),
        ));
    }
    Some(Edit::new(
        Span::empty(at as u32),
        format!("{}{line}{nl}{}", insert.prefix, nl.repeat(blank_lines)),
    ))
}

/// The lines of `text` as Python splits them: at `\n`, `\r\n` and a lone `\r`.
pub fn python_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut rest = text;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (line, next) = match rest.find(['\n', '\r']) {
            None => (rest, ""),
            Some(i) if rest[i..].starts_with("\r\n") => (&rest[..i], &rest[i + 2..]),
            Some(i) => (&rest[..i], &rest[i + 1..]),
        };
        rest = next;
        Some(line)
    })
}

/// Where the scoped manager the TEN101 fix adds comes from: `manager-import`, else the project's
/// definition of the first configured scoped manager, else an existing import of one.
/// Computed once per run.
pub fn scoped_manager_source(ctx: &Context) -> Option<(String, String)> {
    ctx.shared
        .manager_source
        .get_or_init(|| compute_manager_source(ctx.index))
        .clone()
}

fn compute_manager_source(index: &Index) -> Option<(String, String)> {
    let conv = index.conv();
    if let Some((m, n)) = conv.manager_import.rsplit_once('.') {
        return Some((m.to_string(), n.to_string()));
    }
    for cfg in &conv.scoped_managers {
        if let Some(&id) = index.find_classes(cfg).first() {
            let module = index.module(id.file);
            return Some((module.to_string(), index.class(id).name.to_string()));
        }
    }
    // An external scoped manager imported somewhere in the project.
    for cfg in &conv.scoped_managers {
        if let Some((m, n)) = cfg.rsplit_once('.') {
            return Some((m.to_string(), n.to_string()));
        }
        for (fi, f) in index.files() {
            for b in &f.bindings {
                if let Binding::FromImport { .. } = &b.binding
                    && let Resolved::External(p) = index.resolve_binding(fi, &b.name, &b.binding)
                    && p.rsplit('.').next() == Some(cfg.as_str())
                    && let Some((m, n)) = p.rsplit_once('.')
                {
                    return Some((m.to_string(), n.to_string()));
                }
            }
        }
    }
    None
}

/// Where the tenant cache the TEN301 fix routes to is defined: `tenant-cache` as a dotted path,
/// else the project module that defines it. Computed once per run.
pub fn tenant_cache_source(ctx: &Context) -> Option<(String, String)> {
    ctx.shared
        .cache_source
        .get_or_init(|| ctx.index.find_symbol(&ctx.index.conv().tenant_cache))
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `source` with `from module import name` placed as [`place_import`] places it.
    fn placed(source: &str, module: &str, name: &str) -> String {
        let (facts, edits) = crate::frontend::python::extract_with_edits(source);
        let first_party = |m: &str| ["tenancy", "app"].contains(&m.split('.').next().unwrap());
        let edit = place_import(&facts, &edits, module, name, &first_party, &[]).expect("an edit");
        let (s, e) = (edit.span.start as usize, edit.span.end as usize);
        format!("{}{}{}", &source[..s], edit.content, &source[e..])
    }

    #[test]
    fn module_docstring_first() {
        assert_eq!(
            placed(
                "\"\"\"Doc.\"\"\"\n\nclass A:\n    pass\n",
                "tenancy.cache",
                "tenant_cache"
            ),
            "\"\"\"Doc.\"\"\"\n\nfrom tenancy.cache import tenant_cache\n\n\nclass A:\n    pass\n"
        );
    }

    #[test]
    fn no_imports_at_all() {
        assert_eq!(
            placed("X = 1\n", "tenancy.cache", "tenant_cache"),
            "from tenancy.cache import tenant_cache\n\nX = 1\n"
        );
        assert_eq!(
            placed("def f():\n    pass\n", "tenancy.cache", "tenant_cache"),
            "from tenancy.cache import tenant_cache\n\n\ndef f():\n    pass\n"
        );
        assert_eq!(
            placed("", "tenancy.cache", "tenant_cache"),
            "from tenancy.cache import tenant_cache\n"
        );
    }

    #[test]
    fn after_future_imports_in_a_section_of_its_own() {
        assert_eq!(
            placed(
                "from __future__ import annotations\n\n\nclass A:\n    pass\n",
                "tenancy.cache",
                "tenant_cache"
            ),
            "from __future__ import annotations\n\nfrom tenancy.cache import tenant_cache\n\n\nclass A:\n    pass\n"
        );
    }

    #[test]
    fn only_stdlib_then_a_first_party_section() {
        assert_eq!(
            placed(
                "import os\nfrom json import dumps\n\nX = 1\n",
                "tenancy.managers",
                "TenantAwareManager"
            ),
            "import os\nfrom json import dumps\n\nfrom tenancy.managers import TenantAwareManager\n\nX = 1\n"
        );
    }

    #[test]
    fn mixed_sections_sorted_place_and_from_after_plain_imports() {
        let src = "import os\n\nfrom django.db import models\n\nimport tenancy\nfrom app.models import Order\nfrom tenancy.models import Tenant\n\nX = 1\n";
        assert_eq!(
            placed(src, "tenancy.managers", "TenantAwareManager"),
            "import os\n\nfrom django.db import models\n\nimport tenancy\nfrom app.models import Order\nfrom tenancy.managers import TenantAwareManager\nfrom tenancy.models import Tenant\n\nX = 1\n"
        );
        // Third party, after the standard library and before first party, in a section of its
        // own when there is none.
        let src = "import os\n\nfrom tenancy.models import Tenant\n\nX = 1\n";
        assert_eq!(
            placed(src, "django_scopes", "ScopedManager"),
            "import os\n\nfrom django_scopes import ScopedManager\n\nfrom tenancy.models import Tenant\n\nX = 1\n"
        );
        let src = "from tenancy.models import Tenant\n\nX = 1\n";
        assert_eq!(
            placed(src, "django_scopes", "ScopedManager"),
            "from django_scopes import ScopedManager\n\nfrom tenancy.models import Tenant\n\nX = 1\n"
        );
        // A comment above the next statement stays with it.
        let src = "from app.a import x\n\n# about b\nfrom app.b import y\n";
        assert_eq!(
            placed(src, "app.ab", "z"),
            "from app.a import x\nfrom app.ab import z\n\n# about b\nfrom app.b import y\n"
        );
        let src = "# about b\nfrom app.b import y\n";
        assert_eq!(
            placed(src, "app.a", "x"),
            "from app.a import x\n\n# about b\nfrom app.b import y\n"
        );
    }

    #[test]
    fn type_checking_block_is_not_the_import_block() {
        let src = "from typing import TYPE_CHECKING\n\nfrom django.db import models\n\nif TYPE_CHECKING:\n    from tenancy.models import Tenant\n";
        assert_eq!(
            placed(src, "tenancy.managers", "TenantAwareManager"),
            "from typing import TYPE_CHECKING\n\nfrom django.db import models\n\nfrom tenancy.managers import TenantAwareManager\n\nif TYPE_CHECKING:\n    from tenancy.models import Tenant\n"
        );
    }

    #[test]
    fn merged_into_an_existing_from_import_kept_sorted() {
        let src = "from tenancy.cache import tenant_key, KEY_PREFIX\n\nX = 1\n";
        assert_eq!(
            placed(src, "tenancy.cache", "tenant_cache"),
            "from tenancy.cache import KEY_PREFIX, tenant_cache, tenant_key\n\nX = 1\n"
        );
        // Constants, then classes, then the rest (ruff's order-by-type).
        let src = "from tenancy.managers import scoped, BaseManager\n";
        assert_eq!(
            placed(src, "tenancy.managers", "TenantAwareManager"),
            "from tenancy.managers import BaseManager, TenantAwareManager, scoped\n"
        );
        // Too long for one line: wrapped as ruff wraps it.
        let src = "from tenancy.managers import AlphaManager, BravoManager, CharlieManager, DeltaManager\n";
        assert_eq!(
            placed(src, "tenancy.managers", "TenantAwareManager"),
            "from tenancy.managers import (\n    AlphaManager,\n    BravoManager,\n    CharlieManager,\n    DeltaManager,\n    TenantAwareManager,\n)\n"
        );
        // An alias is a statement of its own for ruff: not merged into.
        let src = "from tenancy.cache import tenant_key as tk\n";
        assert_eq!(
            placed(src, "tenancy.cache", "tenant_cache"),
            "from tenancy.cache import tenant_cache\nfrom tenancy.cache import tenant_key as tk\n"
        );
        // A star import neither (found by the in-memory fuzz target: a clearer whose module is
        // star-imported was merged into `from base import *, unset_current_tenant`).
        let src = "from tenancy.context import *  # noqa: F403\n\nX = 1\n";
        assert_eq!(
            placed(src, "tenancy.context", "unset_current_tenant"),
            "from tenancy.context import *  # noqa: F403\nfrom tenancy.context import unset_current_tenant\n\nX = 1\n"
        );
    }
}
