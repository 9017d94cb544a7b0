//! Import edits shared by fixes: find an existing binding, or add an import after the module's
//! docstring, `from __future__` imports and leading import block.

use crate::diagnostics::Edit;
use crate::facts::Binding;
use crate::index::{Index, Resolved};
use crate::rules::Context;

/// Make `module.name` available in the file. Returns the local expression to use and the edit
/// that adds the import, if one is needed. `None` when the name is bound to something else
/// already (an import would shadow it).
pub fn ensure_import(ctx: &Context, module: &str, name: &str) -> Option<(String, Option<Edit>)> {
    let index = ctx.index;
    let facts = ctx.facts;
    if ctx.module() == module {
        return Some((name.to_string(), None));
    }
    let target = index.resolve_attr(Resolved::Module(module.to_string()), name);
    // An existing import of the same thing, under any name or form.
    for b in facts.bindings.iter().rev() {
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
    let insert = edit_facts.import_insert.as_ref()?;
    Some((
        name.to_string(),
        Some(Edit::new(
            insert.span,
            format!(
                "{}from {module} import {name}{}",
                insert.prefix, edit_facts.newline
            ),
        )),
    ))
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
