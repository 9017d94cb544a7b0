//! Function scopes: parameters, locals and the names assignments bind.

use super::*;

impl<'a> Extractor<'a, '_> {
    pub(super) fn enter_function(&mut self, params: &'a ast::Parameters, body: &'a [Stmt]) {
        let mut locals = HashSet::default();
        for p in params.iter() {
            locals.insert(p.name().id.clone());
        }
        let params_set = locals.clone();
        let mut imports = HashMap::default();
        let mut globals = HashSet::default();
        collect_locals(body, &mut locals, &mut imports, &mut globals, self);
        for g in &globals {
            locals.remove(g);
            imports.remove(g);
        }
        let id = self.next_scope;
        self.next_scope += 1;
        self.scopes.push(FunctionScope {
            id,
            locals,
            imports,
            assigned: HashMap::default(),
            or_prev: HashMap::default(),
            params: params_set,
            rows: HashSet::default(),
            query_vars: HashMap::default(),
            call_results: HashMap::default(),
            returned_row: false,
            returned_other: false,
            dict_returns: None,
            returned_non_dict: false,
            assigned_in: HashMap::default(),
            dict_adds: HashMap::default(),
            key_bags: HashSet::default(),
            q_augs: HashMap::default(),
            q_alts: HashMap::default(),
            returned_keys: None,
        });
    }
}

/// Names bound in a function body (not descending into nested functions or classes).
pub(super) fn collect_locals(
    body: &[Stmt],
    locals: &mut HashSet<Name>,
    imports: &mut HashMap<Name, Binding>,
    globals: &mut HashSet<Name>,
    ex: &Extractor,
) {
    let targets = collect_target_names;
    for stmt in body {
        match stmt {
            Stmt::Assign(a) => a.targets.iter().for_each(|t| targets(t, locals)),
            Stmt::AnnAssign(a) => targets(&a.target, locals),
            Stmt::AugAssign(a) => targets(&a.target, locals),
            Stmt::For(f) => {
                targets(&f.target, locals);
                collect_locals(&f.body, locals, imports, globals, ex);
                collect_locals(&f.orelse, locals, imports, globals, ex);
            }
            Stmt::While(w) => {
                collect_locals(&w.body, locals, imports, globals, ex);
                collect_locals(&w.orelse, locals, imports, globals, ex);
            }
            Stmt::If(i) => {
                collect_locals(&i.body, locals, imports, globals, ex);
                for clause in &i.elif_else_clauses {
                    collect_locals(&clause.body, locals, imports, globals, ex);
                }
            }
            Stmt::With(w) => {
                for item in &w.items {
                    if let Some(v) = &item.optional_vars {
                        targets(v, locals);
                    }
                }
                collect_locals(&w.body, locals, imports, globals, ex);
            }
            Stmt::Try(t) => {
                collect_locals(&t.body, locals, imports, globals, ex);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    if let Some(n) = &h.name {
                        locals.insert(n.id.clone());
                    }
                    collect_locals(&h.body, locals, imports, globals, ex);
                }
                collect_locals(&t.orelse, locals, imports, globals, ex);
                collect_locals(&t.finalbody, locals, imports, globals, ex);
            }
            Stmt::Match(m) => {
                for case in &m.cases {
                    collect_locals(&case.body, locals, imports, globals, ex);
                }
            }
            Stmt::FunctionDef(f) => {
                locals.insert(f.name.id.clone());
            }
            Stmt::ClassDef(c) => {
                locals.insert(c.name.id.clone());
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                for (name, binding) in ex.import_bindings(stmt) {
                    imports.insert(name, binding);
                }
            }
            Stmt::Global(g) => globals.extend(g.names.iter().map(|n| n.id.clone())),
            Stmt::Nonlocal(n) => globals.extend(n.names.iter().map(|n| n.id.clone())),
            _ => {}
        }
    }
}

pub(super) fn collect_target_names(e: &Expr, out: &mut HashSet<Name>) {
    match e {
        Expr::Name(n) => {
            out.insert(n.id.clone());
        }
        Expr::Tuple(t) => t.elts.iter().for_each(|e| collect_target_names(e, out)),
        Expr::List(l) => l.elts.iter().for_each(|e| collect_target_names(e, out)),
        Expr::Starred(s) => collect_target_names(&s.value, out),
        _ => {}
    }
}
