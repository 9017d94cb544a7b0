//! Call sites: which calls are recorded, with their receiver chain, arguments and filters.

use super::*;

/// QuerySet methods whose keyword arguments filter rows.
pub(super) const FILTERING_METHODS: &[&str] = &[
    "filter",
    "get",
    "get_or_create",
    "update_or_create",
    "aget",
    "aget_or_create",
    "aupdate_or_create",
];

/// Callee names recorded as [`CallSite`]s, besides the configured setters, clearers, context
/// managers and bypass calls.
pub(super) const CALL_NAMES: &[&str] = &[
    "execute",
    "executemany",
    "raw",
    "RawSQL",
    "extra",
    "cache_page",
    "method_decorator",
    "register",
    "set",
    "reset",
    "scopes_disabled",
    "with_scopes_disabled",
    "unscoped",
    "scope",
    "schema_context",
    "tenant_context",
    "set_current_tenant",
    "unset_current_tenant",
    "set_tenant",
    "set_schema",
    "set_schema_to_public",
    "Thread",
    "local",
    "ContextVar",
];

impl<'a> Extractor<'a, '_> {
    /// Try to read a call as a query or cache call site. Returns true if it was recorded (the
    /// chain's own children have then been visited).
    pub(super) fn call_site(&mut self, expr: &'a Expr) -> bool {
        // Links from the outermost expression down to the root name.
        let mut links: Vec<&'a Expr> = Vec::new();
        let mut cur = expr;
        let base = loop {
            match cur {
                Expr::Call(c) => {
                    links.push(cur);
                    cur = &c.func;
                }
                Expr::Attribute(a) => {
                    links.push(cur);
                    cur = &a.value;
                }
                Expr::Subscript(s) => {
                    links.push(cur);
                    cur = &s.value;
                }
                Expr::Name(n) => break n,
                _ => return false,
            }
            if links.len() > 64 {
                return false;
            }
        };
        links.reverse();
        let Some(ci) = links.iter().position(|l| matches!(l, Expr::Call(_))) else {
            return false;
        };
        if ci == 0 {
            return false;
        }
        let Expr::Attribute(method_attr) = links[ci - 1] else {
            return false;
        };
        let method = &method_attr.attr.id;
        let root = self.root_binding(&base.id);
        if matches!(root, RootBinding::Local) {
            // `c = caches["default"]; c.get(key)`: a function-local alias of a `caches[...]`.
            return ci == 1
                && CACHE_KEY_METHODS.contains(&method.as_str())
                && self.local_caches_site(base, method, links[ci]);
        }
        let Expr::Call(first_call) = links[ci] else {
            return false;
        };
        let receiver_expr: &Expr = &method_attr.value;
        let mut recorded = false;

        // `Receiver.manager.method(...)`
        if ci >= 2
            && let Expr::Attribute(manager_attr) = links[ci - 2]
            && links[..ci - 2]
                .iter()
                .all(|l| matches!(l, Expr::Attribute(_)))
        {
            let mut filter_keywords = Vec::new();
            let mut method_name: Option<&Name> = None;
            for link in &links[ci - 1..] {
                match link {
                    Expr::Attribute(a) => method_name = Some(&a.attr.id),
                    Expr::Call(c)
                        if method_name.is_some_and(|m| FILTERING_METHODS.contains(&m.as_str())) =>
                    {
                        collect_filter_keywords(&c.arguments, &mut filter_keywords);
                    }
                    _ => {}
                }
            }
            self.facts.query_sites.push(QuerySite {
                receiver: to_ref(&manager_attr.value),
                root: root.clone(),
                manager: manager_attr.attr.id.clone(),
                method: method.clone(),
                filter_keywords,
                span: self
                    .loc
                    .span(TextRange::new(base.start(), method_attr.attr.end())),
                scope: self.scope_id(),
                class_ctx: self.class_ctx.clone(),
            });
            recorded = true;
        }

        // `cache.method(key, ...)`, `caches["x"].method(...)`, `django.core.cache.cache.method(...)`
        if CACHE_KEY_METHODS.contains(&method.as_str()) {
            let key = self.cache_key(method, &first_call.arguments);
            let key_ref = self.cache_key_ref(&first_call.arguments);
            self.facts.cache_sites.push(CacheSite {
                key_ref,
                via_local: false,
                receiver: to_ref(receiver_expr),
                alias: match receiver_expr {
                    Expr::Subscript(sub) => match &*sub.slice {
                        Expr::StringLiteral(lit) => Some(lit.value.to_str().to_string()),
                        _ => None,
                    },
                    _ => None,
                },
                root,
                receiver_span: self.loc.span(receiver_expr.range()),
                method: method.clone(),
                key,
                span: self.loc.span(first_call.range()),
                root_scope: self.binding_scope(&base.id),
            });
            recorded = true;
        }

        if recorded {
            self.note_name_use(&base.id, base.start());
            // The outermost call was recorded by the caller; the chain's inner calls are not
            // visited as expressions, so record them here.
            for link in &links[..links.len() - 1] {
                if let Expr::Call(c) = link {
                    self.maybe_record_call(c);
                }
            }
            for link in &links {
                match link {
                    Expr::Call(c) => self.visit_arguments(&c.arguments),
                    Expr::Subscript(s) => self.visit_expr(&s.slice),
                    _ => {}
                }
            }
        }
        recorded
    }

    /// Record `call` as a [`CallSite`] when its callee's last name is of interest.
    pub(super) fn maybe_record_call(&mut self, call: &'a ast::ExprCall) {
        let (name, base) = match &*call.func {
            Expr::Name(n) => (&n.id, Some(&n.id)),
            Expr::Attribute(a) => {
                let mut cur: &Expr = &a.value;
                while let Expr::Attribute(inner) = cur {
                    cur = &inner.value;
                }
                let base = match cur {
                    Expr::Name(n) => Some(&n.id),
                    _ => None,
                };
                (&a.attr.id, base)
            }
            _ => return,
        };
        // What is recorded does not depend on the configuration (facts are cached by content):
        // calls of the names the rules know, and every call whose callee is reached from a name
        // bound at module level or imported in the function (a configured tenant setter, clearer,
        // context manager or bypass is one of those). Calls through local variables are not.
        let root = match base {
            Some(b) => self.root_binding(b),
            None => RootBinding::Local,
        };
        // Module-level names are checked once the whole module is known (a function may call
        // one defined further down): see `drop_unbound_calls`.
        if !CALL_NAMES.contains(&name.as_str())
            && (base.is_none() || matches!(root, RootBinding::Local))
        {
            return;
        }
        // A callee imported under another name is recorded under its original name
        // (`from tenancy import activate_tenant as activate`).
        let name = match self.imported_as(name) {
            Some(original) if matches!(&*call.func, Expr::Name(_)) => original,
            _ => name.clone(),
        };
        // Calls the rules know by name keep their arguments; any other call (a configured tenant
        // setter, clearer, context manager or bypass, or just any imported function) keeps its
        // first argument only (`set_tenant(None)` clears).
        let known = CALL_NAMES.contains(&name.as_str());
        let take = if known { 4 } else { 1 };
        let args = call
            .arguments
            .args
            .iter()
            .take(take)
            .map(|a| {
                if known {
                    self.arg_value_followed(a)
                } else {
                    arg_value(a, 0)
                }
            })
            .collect();
        let (arg_spans, keywords) = if known {
            (
                call.arguments
                    .args
                    .iter()
                    .take(4)
                    .map(|a| self.loc.span(a.range()))
                    .collect(),
                call.arguments
                    .keywords
                    .iter()
                    .filter_map(|k| {
                        k.arg
                            .as_ref()
                            .map(|a| (a.id.clone(), arg_value(&k.value, 0)))
                    })
                    .collect(),
            )
        } else {
            (Vec::new(), Vec::new())
        };
        self.facts.calls.push(CallSite {
            name,
            arg_spans,
            func: to_ref(&call.func),
            root,
            span: self.loc.span(call.range()),
            scope: self.scope_id(),
            args,
            keywords,
            in_finally: self.finally_depth > 0,
            with_item: self.in_with_item,
            in_decorator: self.in_decorator,
        });
    }

    /// [`arg_value`], following a plain name to its last assignment in the function that binds
    /// it, or to a module-level string constant (`sql = "SELECT ..."; cursor.execute(sql)`).
    pub(super) fn arg_value_followed(&self, e: &'a Expr) -> ArgValue {
        let Expr::Name(n) = e else {
            return arg_value(e, 0);
        };
        for scope in self.scopes.iter().rev() {
            if let Some(v) = scope.assigned.get(&n.id) {
                return arg_value(v, 0);
            }
            if scope.locals.contains(&n.id) || scope.imports.contains_key(&n.id) {
                return arg_value(e, 0);
            }
        }
        match self.facts.binding(&n.id) {
            Some(Binding::Assign(ExprRef::Str(s))) => ArgValue::Str(s.clone()),
            _ => arg_value(e, 0),
        }
    }

    pub(super) fn attr_store(&mut self, attr: &'a ast::ExprAttribute, clears: bool) {
        let mut cur: &Expr = &attr.value;
        while let Expr::Attribute(inner) = cur {
            cur = &inner.value;
        }
        let Expr::Name(base) = cur else { return };
        if base.id == "self" || base.id == "cls" {
            return;
        }
        let root = self.root_binding(&base.id);
        if matches!(root, RootBinding::Local) {
            return;
        }
        self.facts.attr_stores.push(AttrStore {
            target: to_ref(&attr.value),
            attr: attr.attr.id.clone(),
            root,
            scope: self.scope_id(),
            in_finally: self.finally_depth > 0,
            clears,
            span: self.loc.span(attr.range()),
        });
    }
}

pub(super) fn collect_filter_keywords(args: &ast::Arguments, out: &mut Vec<Name>) {
    for k in &args.keywords {
        match &k.arg {
            Some(a) => out.push(a.id.clone()),
            None => {
                // `filter(**{"tenant": t})`
                if let Expr::Dict(d) = &k.value {
                    for item in &d.items {
                        if let Some(Expr::StringLiteral(s)) = &item.key {
                            out.push(Name::new(s.value.to_str()));
                        }
                    }
                }
            }
        }
    }
    for a in &args.args {
        collect_q_keywords(a, out, 0);
    }
}

/// Keywords of `Q(...)` objects, through `&`, `|` and `~`.
pub(super) fn collect_q_keywords(e: &Expr, out: &mut Vec<Name>, depth: u32) {
    if depth > 16 {
        return;
    }
    match e {
        Expr::Call(c) => {
            let is_q = match &*c.func {
                Expr::Name(n) => n.id == "Q",
                Expr::Attribute(a) => a.attr.id == "Q",
                _ => false,
            };
            if is_q {
                collect_filter_keywords(&c.arguments, out);
            }
        }
        Expr::BinOp(b) if matches!(b.op, ast::Operator::BitAnd) => {
            // `Q(tenant=t) & Q(...)`: the tenant predicate holds for the whole filter.
            collect_q_keywords(&b.left, out, depth + 1);
            collect_q_keywords(&b.right, out, depth + 1);
        }
        _ => {}
    }
}
