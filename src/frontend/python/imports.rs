//! Import statements and name bindings: what each name is bound to, in which scope.

use super::*;

impl<'a> Extractor<'a, '_> {
    /// Make `from .x import y` absolute.
    /// The module an import names, as written: relative imports keep their leading dots (facts do
    /// not know the file's own module; the index makes them absolute).
    pub(super) fn absolute_module(&self, module: Option<&str>, level: u32) -> String {
        format!(
            "{}{}",
            ".".repeat(level as usize),
            module.unwrap_or_default()
        )
    }

    pub(super) fn import_bindings(&self, stmt: &Stmt) -> Vec<(Name, Binding)> {
        let mut out = Vec::new();
        match stmt {
            Stmt::Import(i) => {
                for a in &i.names {
                    match &a.asname {
                        Some(asname) => {
                            out.push((asname.id.clone(), Binding::Module(a.name.id.clone())))
                        }
                        None => {
                            let top = a.name.id.split('.').next().unwrap_or_default();
                            out.push((Name::new(top), Binding::Module(Name::new(top))));
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let module =
                    self.absolute_module(i.module.as_ref().map(|m| m.id.as_str()), i.level);
                for a in &i.names {
                    if a.name.id == "*" {
                        continue;
                    }
                    let bound = a.asname.as_ref().unwrap_or(&a.name).id.clone();
                    out.push((
                        bound,
                        Binding::FromImport {
                            module: Name::new(&module),
                            name: a.name.id.clone(),
                        },
                    ));
                }
            }
            _ => {}
        }
        out
    }

    pub(super) fn record_import_stmt(&mut self, stmt: &Stmt) {
        let (from_module, written_module, names) = match stmt {
            Stmt::Import(i) => (
                None,
                String::new(),
                i.names
                    .iter()
                    .map(|a| (a.name.id.clone(), a.asname.as_ref().map(|n| n.id.clone())))
                    .collect(),
            ),
            Stmt::ImportFrom(i) => {
                let module =
                    self.absolute_module(i.module.as_ref().map(|m| m.id.as_str()), i.level);
                let written = format!(
                    "{}{}",
                    ".".repeat(i.level as usize),
                    i.module.as_ref().map_or("", |m| m.id.as_str())
                );
                if i.module.as_ref().is_some_and(|m| m.id == "__future__") {
                    return;
                }
                (
                    Some(module),
                    written,
                    i.names
                        .iter()
                        .map(|a| (a.name.id.clone(), a.asname.as_ref().map(|n| n.id.clone())))
                        .collect(),
                )
            }
            _ => return,
        };
        let range = stmt.range();
        if let Some(edits) = self.edits.as_mut() {
            edits
                .import_spans
                .push(import_spans(self.loc, range, self.block));
        }
        self.facts.imports.push(ImportStmt {
            span: self.loc.span(range),
            from_module: from_module.map(Name::from),
            written_module: Name::from(written_module),
            names,
            scope: self.scope_id(),
        });
    }

    pub(super) fn root_binding(&self, name: &Name) -> RootBinding {
        for scope in self.scopes.iter().rev() {
            if let Some(b) = scope.imports.get(name) {
                return RootBinding::LocalImport(Box::new(b.clone()));
            }
            if scope.locals.contains(name) {
                return RootBinding::Local;
            }
        }
        RootBinding::Module
    }

    /// The innermost function scope that binds `name`, or 0 for the module.
    pub(super) fn binding_scope(&self, name: &Name) -> u32 {
        self.scopes
            .iter()
            .rev()
            .find(|s| s.imports.contains_key(name) || s.locals.contains(name))
            .map_or(0, |s| s.id)
    }

    /// The original name of `name` when it is bound by `from m import original as name`.
    pub(super) fn imported_as(&self, name: &Name) -> Option<Name> {
        let binding = match self.root_binding(name) {
            RootBinding::LocalImport(b) => *b,
            RootBinding::Local => return None,
            RootBinding::Module => self.facts.binding(name)?.clone(),
        };
        match binding {
            Binding::FromImport { name: original, .. } if original != *name => Some(original),
            _ => None,
        }
    }
}
