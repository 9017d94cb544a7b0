//! The AST walk: statements and expressions dispatched to the other extraction modules.

use super::*;

/// Who runs the branches of `if <test>:`, as (the body, the `elif`/`else` branches): `Some(true)`
/// only superusers, `Some(false)` only other users. `x.is_superuser`: (true, false);
/// `not x.is_superuser`: (false, true); `x.is_superuser and ...`: (true, unknown).
fn superuser_test(test: &Expr) -> (Option<bool>, Option<bool>) {
    let is_superuser = |e: &Expr| matches!(e, Expr::Attribute(a) if a.attr.id == "is_superuser");
    match test {
        e if is_superuser(e) => (Some(true), Some(false)),
        Expr::UnaryOp(u) if u.op == ast::UnaryOp::Not && is_superuser(&u.operand) => {
            (Some(false), Some(true))
        }
        Expr::BoolOp(b) if b.op == ast::BoolOp::And && b.values.iter().any(is_superuser) => {
            (Some(true), None)
        }
        _ => (None, None),
    }
}

impl<'a> Extractor<'a, '_> {
    /// A branch of an `if`: `Some(true)` when it runs only for superusers, `Some(false)` only for
    /// other users.
    fn visit_branch(&mut self, body: &'a [Stmt], superuser: Option<bool>) {
        match superuser {
            Some(true) => {
                self.superuser_only += 1;
                self.visit_body(body);
                self.superuser_only -= 1;
            }
            Some(false) => {
                if let Some(first) = body.first() {
                    self.not_superuser_blocks
                        .insert(first.range().start().to_u32());
                }
                self.visit_body(body);
            }
            None => self.visit_body(body),
        }
    }
}

impl<'a> Visitor<'a> for Extractor<'a, '_> {
    fn visit_body(&mut self, body: &'a [Stmt]) {
        let start = body.first().map_or(0, |s| s.range().start().to_u32());
        let saved = std::mem::replace(&mut self.block, (start, body.len() as u32));
        self.blocks.push(start);
        let saved_rest = std::mem::take(&mut self.superuser_rest);
        visitor::walk_body(self, body);
        self.superuser_only -= self.superuser_rest;
        self.superuser_rest = saved_rest;
        self.blocks.pop();
        self.block = saved;
    }

    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::If(i) => {
                // `if user.is_superuser:` / `if not user.is_superuser:`: which branches run only
                // for superusers, which only for everyone else.
                let (body, orelse) = superuser_test(&i.test);
                self.visit_expr(&i.test);
                self.visit_branch(&i.body, body);
                for clause in &i.elif_else_clauses {
                    if let Some(test) = &clause.test {
                        self.visit_expr(test);
                    }
                    self.visit_branch(&clause.body, orelse);
                }
                self.note_q_alternatives(i);
                // `if not user.is_superuser: raise PermissionDenied` (or `return ...`): the rest
                // of the statement list runs only for superusers.
                if body == Some(false)
                    && i.elif_else_clauses.is_empty()
                    && matches!(i.body.last(), Some(Stmt::Return(_) | Stmt::Raise(_)))
                {
                    self.superuser_only += 1;
                    self.superuser_rest += 1;
                }
            }
            Stmt::FunctionDef(f) => {
                if self.at_module_level() {
                    self.facts.bindings.push(BindingFact {
                        name: f.name.id.clone(),
                        binding: Binding::Other,
                    });
                }
                self.in_decorator = true;
                for d in &f.decorator_list {
                    self.visit_decorator(d);
                }
                self.in_decorator = false;
                for p in f.parameters.iter_non_variadic_params() {
                    if let Some(d) = &p.default {
                        self.visit_expr(d);
                    }
                }
                let class = self.class_ctx.as_ref().map(|c| c.class);
                let parent_scope = self.scope_id();
                self.enter_function(&f.parameters, &f.body);
                if f.name.id.to_ascii_lowercase().contains("key")
                    && let Some(scope) = self.scopes.last_mut()
                {
                    scope.returned_keys = Some(Vec::new());
                }
                let function = self.facts.functions.len();
                self.facts.functions.push(FunctionFact {
                    name: f.name.id.clone(),
                    name_span: self.loc.span(f.name.range),
                    scope: self.scope_id(),
                    parent_scope,
                    class,
                    decorators: f
                        .decorator_list
                        .iter()
                        .map(|d| to_ref(&d.expression))
                        .collect(),
                    params: f.parameters.iter().map(|p| p.name().id.clone()).collect(),
                    is_async: f.is_async,
                    returns_row: false,
                });
                if self.edits.is_some() {
                    self.prepare_wraps(&f.body);
                }
                let saved_class = self.class_ctx.take();
                let saved_finally = std::mem::take(&mut self.finally_depth);
                // A method body is not a class body: its assignments are the function's.
                let saved_depth = std::mem::take(&mut self.class_depth);
                if let Some(c) = class
                    && let Some(calls) = calls::self_calls_only(f)
                {
                    self.facts.self_calls_only.push(SelfCallsOnly {
                        class: c,
                        method: f.name.id.clone(),
                        calls,
                    });
                }
                let saved_method = std::mem::replace(
                    &mut self.current_method,
                    class.map(|c| (c, f.name.id.clone())),
                );
                self.visit_body(&f.body);
                self.current_method = saved_method;
                self.class_depth = saved_depth;
                self.finally_depth = saved_finally;
                self.class_ctx = saved_class;
                if let Some(scope) = self.scopes.pop() {
                    self.facts.functions[function].returns_row =
                        scope.returned_row && !scope.returned_other;
                    if let Some(mut keys) = scope.returned_keys
                        && !keys.is_empty()
                    {
                        let key = if keys.len() == 1 {
                            keys.remove(0)
                        } else {
                            KeyExpr::Many(keys)
                        };
                        self.facts.key_returns.push(KeyReturn {
                            function: function as u32,
                            key,
                        });
                    }
                    if let Some(shape) = scope.dict_returns
                        && !scope.returned_non_dict
                    {
                        for (key, keys) in shape {
                            self.facts.dict_returns.push(DictReturn {
                                function: function as u32,
                                key,
                                keys: keys.into(),
                            });
                        }
                    }
                }
            }
            Stmt::Return(r) => {
                // Before the value is visited: what its names hold at this point.
                let row = match r.value.as_deref() {
                    None | Some(Expr::NoneLiteral(_)) => None,
                    Some(v) => Some(self.is_row_read(v) || self.is_row_expr(v)),
                };
                if let Some(v) = r.value.as_deref() {
                    self.queryset_class_return(v);
                    self.note_dict_return(v);
                }
                self.note_key_return(r.value.as_deref());
                if let Some(scope) = self.scopes.last_mut() {
                    match row {
                        Some(true) => scope.returned_row = true,
                        Some(false) => scope.returned_other = true,
                        None => {}
                    }
                }
                visitor::walk_stmt(self, stmt);
            }
            Stmt::ClassDef(c) => {
                let fact = self.class_fact(c);
                if fact.top_level {
                    let idx = self.facts.classes.len() as u32;
                    self.facts.bindings.push(BindingFact {
                        name: c.name.id.clone(),
                        binding: Binding::Class(idx),
                    });
                }
                let is_meta = c.name.id == "Meta" && self.class_depth > 0;
                let idx = self.facts.classes.len() as u32;
                if !is_meta {
                    if self.edits.is_some() {
                        let insert = if fact.bases.is_empty() {
                            None
                        } else {
                            self.body_insert(c)
                        };
                        if let Some(edits) = self.edits.as_mut() {
                            edits.class_inserts.push(insert);
                        }
                    }
                    self.facts.classes.push(fact);
                }
                self.in_decorator = true;
                for d in &c.decorator_list {
                    self.visit_decorator(d);
                }
                self.in_decorator = false;
                if let Some(args) = &c.arguments {
                    self.visit_arguments(args);
                }
                let saved = std::mem::replace(
                    &mut self.class_ctx,
                    (!is_meta).then_some(ClassCtx {
                        class: idx,
                        attr: None,
                        keyword: None,
                    }),
                );
                self.class_depth += 1;
                self.visit_body(&c.body);
                self.class_depth -= 1;
                self.class_ctx = saved;
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                self.record_import_stmt(stmt);
                if self.at_module_level() {
                    if let Stmt::ImportFrom(i) = stmt
                        && i.names.iter().any(|a| a.name.id == "*")
                    {
                        let m =
                            self.absolute_module(i.module.as_ref().map(|m| m.id.as_str()), i.level);
                        self.facts.star_imports.push(m);
                    }
                    for (name, binding) in self.import_bindings(stmt) {
                        self.facts.bindings.push(BindingFact { name, binding });
                    }
                }
            }
            Stmt::Assign(a) => {
                self.note_key_attr(a);
                if self.at_module_level() {
                    for t in &a.targets {
                        if let Expr::Name(n) = t
                            && is_setting_name(&n.id)
                        {
                            self.facts.settings.push(SettingFact {
                                name: n.id.clone(),
                                value: self.lit(&a.value, 0),
                                span: self.loc.span(n.range),
                                augmented: false,
                            });
                        }
                    }
                }
                for t in &a.targets {
                    if let Expr::Attribute(attr) = t {
                        let clears = matches!(&*a.value, Expr::NoneLiteral(_));
                        self.attr_store(attr, clears);
                        self.self_attr_call(t, &a.value);
                    }
                }
                if let Some(ctx) = &mut self.class_ctx
                    && let [Expr::Name(n)] = a.targets.as_slice()
                {
                    ctx.attr = Some(n.id.clone());
                }
                if self.at_module_level() {
                    for t in &a.targets {
                        match t {
                            Expr::Name(n) => self.facts.bindings.push(BindingFact {
                                name: n.id.clone(),
                                binding: Binding::Assign(to_ref(&a.value)),
                            }),
                            other => {
                                let mut names = HashSet::default();
                                collect_target_names(other, &mut names);
                                for name in names {
                                    self.facts.bindings.push(BindingFact {
                                        name,
                                        binding: Binding::Other,
                                    });
                                }
                            }
                        }
                    }
                } else if self.class_depth == 0
                    && let Some((name, op, added)) = self.q_self_combine(a)
                {
                    // `q = q & Q(...)`: as `q &= Q(...)`.
                    self.note_q_aug(name, op, added);
                } else if self.class_depth == 0
                    && let Some(scope) = self.scopes.last_mut()
                {
                    for t in &a.targets {
                        if let Expr::Name(n) = t {
                            // `x = x or y`: remember what `x` held before (`classify_key`).
                            let prev = scope.assigned.get(&n.id).copied();
                            match prev {
                                Some(prev) if refers_to_self_in_or(&a.value, &n.id) => {
                                    scope.or_prev.insert(n.id.clone(), prev);
                                }
                                _ => {
                                    scope.or_prev.remove(&n.id);
                                }
                            }
                            scope.assigned.insert(n.id.clone(), &a.value);
                            // Only a dict literal can gain keys the rules read (see
                            // `dict_adds`); other values need no record.
                            if !scope.q_augs.is_empty() {
                                scope.q_augs.remove(&n.id);
                            }
                            if !scope.q_alts.is_empty() {
                                scope.q_alts.remove(&n.id);
                            }
                            if matches!(&*a.value, Expr::Dict(_)) || is_q_expr(&a.value) {
                                scope.assigned_in.insert(n.id.clone(), self.blocks.clone());
                            } else if !scope.assigned_in.is_empty() {
                                scope.assigned_in.remove(&n.id);
                            }
                            if !scope.dict_adds.is_empty() {
                                scope.dict_adds.remove(&n.id);
                            }
                        } else if let Expr::Subscript(sub) = t
                            && let Expr::Name(d) = &*sub.value
                            && let Expr::StringLiteral(key) = &*sub.slice
                        {
                            // `d["key"] = value`: kept when it runs whenever `d`'s assignment did.
                            let unconditional = scope
                                .assigned_in
                                .get(&d.id)
                                .is_some_and(|at| at.starts_with(&self.blocks));
                            if unconditional {
                                scope
                                    .dict_adds
                                    .entry(d.id.clone())
                                    .or_default()
                                    .push((Name::new(key.value.to_str()), &a.value));
                            }
                        }
                    }
                }
                let sites_before = self.sites.query_sites.len();
                visitor::walk_stmt(self, stmt);
                // After the value was visited: the name now holds a row read by a query, or not;
                // a query chain recorded as a site, or not.
                if !self.at_module_level() && self.class_depth == 0 {
                    // A row read, or a key a row in hand holds (`project_id = project.id`).
                    // Or rows reached through a related manager of an instance in hand
                    // (`parent_ids = product.variations.values_list("parent_id", flat=True)`).
                    // Or keys built from rows (`ids = [c.id for c in qs]`, `list(qs.values_list(
                    // "id", flat=True))`).
                    let row = self.is_row_read(&a.value)
                        || matches!(&*a.value, Expr::Attribute(x) if self.is_row_expr(&x.value))
                        || self.is_related_rows(&a.value)
                        || self.holds_rows_keys(&a.value);
                    for t in &a.targets {
                        self.note_row(t, row);
                    }
                    self.note_bag(&a.targets, &a.value);
                    if !row {
                        self.note_call_result(&a.targets, &a.value);
                    }
                    self.note_query_var(&a.targets, &a.value, sites_before);
                }
                if let Some(ctx) = &mut self.class_ctx {
                    ctx.attr = None;
                }
            }
            Stmt::For(f) => {
                self.visit_expr(&f.iter);
                self.visit_expr(&f.target);
                // `for x in M.objects.filter(...)`: each `x` is a row read by that query.
                let mut rows = false;
                if !self.at_module_level() && self.class_depth == 0 {
                    // Over a query, or a local holding one (`for p in projects:`).
                    rows = self.is_query_chain(&f.iter)
                        || super::calls::chain_root(&f.iter).is_some_and(|root| {
                            self.scopes
                                .last()
                                .is_some_and(|s| s.query_vars.contains_key(&root.id))
                        });
                    // Over an instance's related rows (`for v in product.variations.all()`,
                    // or a local holding them): each is a row in hand too, though not read
                    // by a query checked here.
                    let related = self.is_related_rows(&f.iter)
                        || matches!(&*f.iter, Expr::Name(n) if self.is_row(&n.id));
                    self.note_row(&f.target, rows || related);
                    // `for name, exporter_id in qs.values_list(...)`: values a row read holds.
                    if rows
                        && let Expr::Tuple(t) = &*f.target
                        && let Some(scope) = self.scopes.last_mut()
                    {
                        for e in &t.elts {
                            if let Expr::Name(n) = e {
                                scope.rows.insert(n.id.clone());
                            }
                        }
                    }
                }
                self.row_loops += u32::from(rows);
                self.visit_body(&f.body);
                self.row_loops -= u32::from(rows);
                self.visit_body(&f.orelse);
            }
            Stmt::Expr(e) => {
                visitor::walk_stmt(self, stmt);
                if !self.at_module_level() && self.class_depth == 0 {
                    self.note_bag_add(&e.value);
                }
            }
            Stmt::AugAssign(a) => {
                if !self.at_module_level()
                    && self.class_depth == 0
                    && let Expr::Name(n) = &*a.target
                {
                    self.note_q_aug(&n.id, a.op, &a.value);
                }
                if self.at_module_level()
                    && let Expr::Name(n) = &*a.target
                    && is_setting_name(&n.id)
                {
                    self.facts.settings.push(SettingFact {
                        name: n.id.clone(),
                        value: self.lit(&a.value, 0),
                        span: self.loc.span(n.range),
                        augmented: true,
                    });
                }
                visitor::walk_stmt(self, stmt);
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    if let Expr::Attribute(attr) = t {
                        self.attr_store(attr, true);
                    }
                }
                visitor::walk_stmt(self, stmt);
            }
            Stmt::Try(t) => {
                self.visit_body(&t.body);
                for h in &t.handlers {
                    self.visit_except_handler(h);
                }
                self.visit_body(&t.orelse);
                self.finally_depth += 1;
                self.visit_body(&t.finalbody);
                self.finally_depth -= 1;
            }
            Stmt::With(w) => {
                let calls_before = self.sites.calls.len();
                for item in &w.items {
                    self.in_with_item = true;
                    self.visit_expr(&item.context_expr);
                    self.in_with_item = false;
                    if let Some(v) = &item.optional_vars {
                        self.visit_expr(v);
                    }
                }
                let item_calls = self.sites.calls.len();
                self.visit_body(&w.body);
                if item_calls > calls_before
                    && let (Some(first), Some(last)) = (w.body.first(), w.body.last())
                {
                    let body = WithBody {
                        span: self.loc.span(TextRange::new(first.start(), last.end())),
                        local_calls: self.body_has_local_calls(&w.body),
                    };
                    for call in &mut self.sites.calls[calls_before..item_calls] {
                        if call.with_item {
                            call.with_body = Some(body);
                        }
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if self.at_module_level()
                    && let Expr::Name(n) = &*a.target
                {
                    let binding = a
                        .value
                        .as_ref()
                        .map_or(Binding::Other, |v| Binding::Assign(to_ref(v)));
                    self.facts.bindings.push(BindingFact {
                        name: n.id.clone(),
                        binding,
                    });
                }
                if let Some(ctx) = &mut self.class_ctx
                    && let Expr::Name(n) = &*a.target
                {
                    ctx.attr = Some(n.id.clone());
                }
                visitor::walk_stmt(self, stmt);
                // `ids: list[int] = []` starts a bag of keys as `ids = []` does; a row or keys
                // built from rows are held as after `=`.
                if !self.at_module_level()
                    && self.class_depth == 0
                    && let Some(value) = &a.value
                {
                    let target = std::slice::from_ref(&*a.target);
                    let row = self.is_row_read(value)
                        || self.is_related_rows(value)
                        || self.holds_rows_keys(value);
                    self.note_row(&a.target, row);
                    self.note_bag(target, value);
                }
                if let Some(ctx) = &mut self.class_ctx {
                    ctx.attr = None;
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }

    fn visit_keyword(&mut self, keyword: &'a ast::Keyword) {
        let saved = self.class_ctx.as_mut().map(|ctx| {
            std::mem::replace(&mut ctx.keyword, keyword.arg.as_ref().map(|a| a.id.clone()))
        });
        self.visit_expr(&keyword.value);
        if let (Some(ctx), Some(saved)) = (self.class_ctx.as_mut(), saved) {
            ctx.keyword = saved;
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        // Facts never come from absurdly deep expressions; stop descending long before the stack
        // is at risk.
        if self.expr_depth > MAX_EXPR_DEPTH {
            return;
        }
        self.expr_depth += 1;
        self.visit_expr_inner(expr);
        self.expr_depth -= 1;
    }
}

impl<'a> Extractor<'a, '_> {
    pub(super) fn visit_expr_inner(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                self.maybe_record_call(call);
                let callee = match &*call.func {
                    Expr::Name(n) => Some(n.id.as_str()),
                    Expr::Attribute(a) => Some(a.attr.id.as_str()),
                    _ => None,
                };
                let prefetch = callee == Some("Prefetch");
                if prefetch {
                    self.prefetch_query_var(call);
                }
                let shortcut = callee.is_some_and(|c| SHORTCUTS.contains(&c));
                let first_site = self.sites.query_sites.len();
                if self.current_method.is_some() {
                    self.method_filter(call);
                }
                self.prefetch_depth += u32::from(prefetch);
                let recorded = self.call_site(expr);
                if !recorded {
                    // Calls nested in a `with` item or decorator are not themselves the item.
                    let (w, d) = (self.in_with_item, self.in_decorator);
                    self.in_with_item = false;
                    visitor::walk_expr(self, expr);
                    self.in_with_item = w;
                    self.in_decorator = d;
                }
                self.prefetch_depth -= u32::from(prefetch);
                if shortcut && !recorded {
                    self.shortcut_filters(call, first_site);
                }
            }
            Expr::Name(n) => {
                if n.ctx.is_load() {
                    self.note_name_use(&n.id, n.start());
                }
            }
            Expr::Dict(d) => {
                if let Some(task) = beat_entry(d) {
                    self.facts.periodic_tasks.push(task);
                }
                visitor::walk_expr(self, expr);
            }
            Expr::Lambda(l) => {
                // A lambda body runs when called, not at class-definition time.
                let saved_class = self.class_ctx.take();
                // Lambda parameters shadow outer names inside the lambda body.
                if let Some(params) = &l.parameters {
                    let mut locals: HashSet<Name> = HashSet::default();
                    for p in params.iter() {
                        locals.insert(p.name().id.clone());
                    }
                    let id = self.next_scope;
                    self.next_scope += 1;
                    self.scopes.push(FunctionScope {
                        id,
                        locals,
                        imports: HashMap::default(),
                        assigned: HashMap::default(),
                        or_prev: HashMap::default(),
                        params: HashSet::default(),
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
                    self.visit_expr(&l.body);
                    self.scopes.pop();
                } else {
                    self.visit_expr(&l.body);
                }
                self.class_ctx = saved_class;
            }
            _ => visitor::walk_expr(self, expr),
        }
    }
}

/// The task a Celery beat schedule entry runs, when the entry gives it no arguments: a dict with
/// a literal `"task"` and a `"schedule"` (`{"task": "app.tasks.cleanup", "schedule":
/// crontab(...)}`), with `"args"`/`"kwargs"` absent or empty. A task scheduled with arguments
/// may be given a tenant, so it is not one.
fn beat_entry(d: &ast::ExprDict) -> Option<String> {
    let mut task = None;
    let mut schedule = false;
    for item in &d.items {
        let Some(Expr::StringLiteral(key)) = &item.key else {
            continue;
        };
        match key.value.to_str() {
            "task" => match &item.value {
                Expr::StringLiteral(s) => task = Some(s.value.to_str().to_string()),
                _ => return None,
            },
            "schedule" => schedule = true,
            "args" | "kwargs" => {
                let empty = match &item.value {
                    Expr::Tuple(t) => t.elts.is_empty(),
                    Expr::List(l) => l.elts.is_empty(),
                    Expr::Dict(d) => d.items.is_empty(),
                    Expr::NoneLiteral(_) => true,
                    _ => false,
                };
                if !empty {
                    return None;
                }
            }
            _ => {}
        }
    }
    task.filter(|_| schedule)
}
