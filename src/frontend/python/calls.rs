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
    "get_model",
    "load_model",
    "get_user_model",
];

/// Callees that return a model class by name from Django's app registry (resolved by the index:
/// `apps.get_model`, `get_user_model`, swapper's `load_model`).
pub(super) const MODEL_LOOKUPS: &[&str] = &["get_model", "load_model", "get_user_model"];

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
        let root = self.root_binding(&base.id);
        if self.registry_query_site(base, &links, &root) {
            return true;
        }
        if ci == 0 {
            return false;
        }
        let Expr::Attribute(method_attr) = links[ci - 1] else {
            return false;
        };
        let method = &method_attr.attr.id;
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
            self.push_query_site(
                to_ref(&manager_attr.value),
                root.clone(),
                &manager_attr.attr.id,
                &links[ci - 1..],
                TextRange::new(base.start(), method_attr.attr.end()),
            );
            recorded = true;
        }

        // `cache.method(key, ...)`, `caches["x"].method(...)`, `django.core.cache.cache.method(...)`
        if CACHE_KEY_METHODS.contains(&method.as_str()) {
            let key = self.cache_key(method, &first_call.arguments);
            let key_ref = self.cache_key_ref(&first_call.arguments);
            self.sites.cache_sites.push(CacheSite {
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
                method_class: self.current_method.as_ref().map(|(c, _)| *c),
                scope: self.scope_id(),
            });
            recorded = true;
        }

        if recorded {
            self.visit_chain(base, &links);
        }
        recorded
    }

    /// After recording a chain as a site: note the use of its root name and visit what the
    /// caller will not (its inner calls and their arguments, subscripts).
    fn visit_chain(&mut self, base: &'a ast::ExprName, links: &[&'a Expr]) {
        {
            self.note_name_use(&base.id, base.start());
            // The outermost call was recorded by the caller; the chain's inner calls are not
            // visited as expressions, so record them here.
            for link in &links[..links.len() - 1] {
                if let Expr::Call(c) = link {
                    self.maybe_record_call(c);
                }
            }
            for link in links {
                match link {
                    Expr::Call(c) => self.visit_arguments(&c.arguments),
                    Expr::Subscript(s) => self.visit_expr(&s.slice),
                    _ => {}
                }
            }
        }
    }

    /// Record a query site: `receiver.<manager>` followed by `tail`, the chain from the first
    /// method's attribute on (`.filter`, `(...)`, `.first`, `(...)`), `span` from the root name to
    /// the first method's name.
    fn push_query_site(
        &mut self,
        receiver: ExprRef,
        root: RootBinding,
        manager: &Name,
        tail: &[&'a Expr],
        span: TextRange,
    ) {
        let Some(Expr::Attribute(method_attr)) = tail.first() else {
            return;
        };
        let mut filters = Filters::default();
        let mut method_name: Option<&Name> = None;
        let mut empty = false;
        let mut calls = Vec::new();
        let mut values_fields = Vec::new();
        // After a call that reads one row (`get(...)`, `first()`), the chain goes on with that
        // row (`.get(pk=pk).templates.filter(...)` queries its related manager): not this query.
        let mut row_read = false;
        for link in tail {
            match link {
                Expr::Attribute(_) if row_read => break,
                Expr::Call(_)
                    if method_name.is_some_and(|m| ROW_READ_METHODS.contains(&m.as_str())) =>
                {
                    row_read = true;
                    if let Expr::Call(c) = link
                        && method_name.is_some_and(|m| FILTERING_METHODS.contains(&m.as_str()))
                    {
                        self.collect_filters(
                            &c.arguments.keywords,
                            &c.arguments.args,
                            &mut filters,
                        );
                    }
                }
                Expr::Attribute(a) => {
                    method_name = Some(&a.attr.id);
                    calls.push(a.attr.id.clone());
                    empty |= a.attr.id == "none";
                }
                Expr::Call(c)
                    if method_name.is_some_and(|m| FILTERING_METHODS.contains(&m.as_str())) =>
                {
                    self.collect_filters(&c.arguments.keywords, &c.arguments.args, &mut filters);
                }
                Expr::Call(c)
                    if method_name.is_some_and(|m| m == "values_list" || m == "values") =>
                {
                    values_fields = string_args(c);
                }
                _ => {}
            }
        }
        self.sites.query_sites.push(QuerySite {
            receiver,
            root,
            manager: manager.clone(),
            method: method_attr.attr.id.clone(),
            filter_keywords: filters.keywords.into(),
            instance_keywords: filters.instance_keywords.into(),
            param_keywords: filters.param_keywords.into(),
            or_groups: filters.or_groups.into(),
            pk_in_subqueries: filters.pk_in_subqueries.into(),
            rel_in_subqueries: filters.rel_in_subqueries.into(),
            pk_of_loaded: filters.pk_of_loaded,
            pk_of_param: filters.pk_of_param,
            pk_of_call: filters.pk_of_call,
            self_attr_splats: filters.self_attr_splats.into(),
            self_key_keywords: filters.self_key_keywords.into(),
            values_fields: values_fields.into(),
            calls: calls.into(),
            empty,
            in_prefetch: self.prefetch_depth > 0,
            superuser_only: self.superuser_only > 0,
            in_row_loop: self.row_loops > 0,
            span: self.loc.span(span),
            scope: self.scope_id(),
            class_ctx: self.class_ctx.clone(),
        });
    }

    /// A query on a model reached through the app registry: chained
    /// (`apps.get_model("billing", "Invoice").objects.filter(...)`, `get_user_model().objects...`)
    /// or through a function-local name bound to such a call (`Invoice = apps.get_model(...)`,
    /// then `Invoice.objects.filter(...)`). The receiver is the lookup call, which the index
    /// resolves; a lookup whose root name is itself a local (a migration's `apps` parameter) is
    /// not the registry and is not recorded.
    fn registry_query_site(
        &mut self,
        base: &'a ast::ExprName,
        links: &[&'a Expr],
        root: &RootBinding,
    ) -> bool {
        // `(lookup call, its root binding, the links after the receiver)`
        let (lookup, lookup_root, rest): (&'a Expr, RootBinding, &[&'a Expr]) =
            if matches!(root, RootBinding::Local) {
                let Some(value) = self.local_value(&base.id) else {
                    return false;
                };
                let Some(lookup_base) = registry_lookup_root(value) else {
                    return false;
                };
                let lookup_root = self.root_binding(&lookup_base.id);
                if matches!(lookup_root, RootBinding::Local) {
                    return false;
                }
                (value, lookup_root, links)
            } else {
                let Some(ci) = links.iter().position(|l| matches!(l, Expr::Call(_))) else {
                    return false;
                };
                if registry_lookup_root(links[ci]).is_none() {
                    return false;
                }
                (links[ci], root.clone(), &links[ci + 1..])
            };
        // `.manager.method(...)...`
        let (
            Some(Expr::Attribute(manager_attr)),
            Some(Expr::Attribute(method_attr)),
            Some(Expr::Call(_)),
        ) = (rest.first(), rest.get(1), rest.get(2))
        else {
            return false;
        };
        let Expr::Call(_) = lookup else {
            return false;
        };
        self.push_query_site(
            to_ref(lookup),
            lookup_root,
            &manager_attr.attr.id,
            &rest[1..],
            TextRange::new(base.start(), method_attr.attr.end()),
        );
        // A function-local name: the lookup call was visited where it was assigned.
        self.visit_chain(base, links);
        true
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
        // A bare name in a function body not bound yet may be imported further down (named
        // then by that import, see `drop_unbound_calls`): keep its arguments too.
        let bound_later = self.scope_id() != 0
            && matches!(root, RootBinding::Module)
            && matches!(&*call.func, Expr::Name(n) if self.facts.binding(&n.id).is_none());
        let known = CALL_NAMES.contains(&name.as_str()) || bound_later;
        let take = if known { 4 } else { 1 };
        let args: crate::facts::ThinVec<_> = call
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
        let (arg_spans, keywords): (crate::facts::ThinVec<_>, crate::facts::ThinVec<_>) = if known {
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
            Default::default()
        };
        self.sites.calls.push(CallSite {
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
            in_row_loop: self.row_loops > 0,
            with_body: None,
        });
    }

    /// Does the body call anything through a local name, a parameter, `self` or `super()`, or
    /// through a callee that is not a dotted name (see [`WithBody::local_calls`])?
    pub(super) fn body_has_local_calls(&self, body: &'a [Stmt]) -> bool {
        struct Scan<'e, 'a, 'b> {
            ex: &'e Extractor<'a, 'b>,
            found: bool,
        }
        impl<'a> Visitor<'a> for Scan<'_, 'a, '_> {
            fn visit_stmt(&mut self, stmt: &'a Stmt) {
                // A class statement runs its metaclass (django-filter builds a `FilterSet`'s
                // querysets there): out of sight too.
                self.found |= matches!(stmt, Stmt::ClassDef(_));
                if !self.found {
                    visitor::walk_stmt(self, stmt);
                }
            }
            fn visit_expr(&mut self, e: &'a Expr) {
                if self.found {
                    return;
                }
                if let Expr::Call(c) = e {
                    // `super().save(...)`: a parent's method, out of the rules' sight.
                    self.found = match chain_root(&c.func) {
                        Some(n) => {
                            n.id == "super"
                                || matches!(self.ex.root_binding(&n.id), RootBinding::Local)
                        }
                        None => true,
                    };
                }
                visitor::walk_expr(self, e);
            }
        }
        let mut scan = Scan {
            ex: self,
            found: false,
        };
        scan.visit_body(body);
        scan.found
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
        self.sites.attr_stores.push(AttrStore {
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

/// What the filtering calls of a query chain say about its rows.
#[derive(Default)]
pub(super) struct Filters {
    pub keywords: Vec<Name>,
    pub instance_keywords: Vec<Name>,
    pub or_groups: Vec<Vec<Vec<(Name, bool)>>>,
    pub pk_in_subqueries: Vec<u32>,
    pub rel_in_subqueries: Vec<(Name, u32)>,
    pub pk_of_loaded: bool,
    pub pk_of_param: bool,
    pub pk_of_call: Option<ExprRef>,
    pub param_keywords: Vec<Name>,
    pub self_attr_splats: Vec<(Name, Name)>,
    pub self_key_keywords: Vec<Name>,
}

/// Shortcuts whose first argument is a model or a queryset and whose keywords filter it.
pub(super) const SHORTCUTS: &[&str] = &[
    "get_object_or_404",
    "get_list_or_404",
    "aget_object_or_404",
    "aget_list_or_404",
];

const PK_LOOKUPS: &[&str] = &["pk", "id", "pk__in", "id__in", "pk__exact", "id__exact"];

impl<'a> Extractor<'a, '_> {
    /// The keywords (and `Q` objects, `**dict`s, pk subqueries) of one filtering call.
    pub(super) fn collect_filters(
        &self,
        keywords: &'a [ast::Keyword],
        args: &'a [Expr],
        out: &mut Filters,
    ) {
        for k in keywords {
            match &k.arg {
                Some(a) => {
                    out.keywords.push(a.id.clone());
                    let row = |e: &Expr| self.is_row_expr(e);
                    if self.is_self_key_or_type(&k.value) {
                        out.self_key_keywords.push(a.id.clone());
                    }
                    if is_instance_value(&k.value, &row, 0) || self.holds_rows_keys(&k.value) {
                        out.instance_keywords.push(a.id.clone());
                    } else if self.is_param_value(&k.value)
                        || self.is_param_key(&k.value)
                        || self.param_rows(&k.value)
                        || is_view_context(&k.value)
                    {
                        out.param_keywords.push(a.id.clone());
                    }
                    if PK_LOOKUPS.contains(&a.id.as_str()) {
                        if is_loaded_pk(&k.value, &row, 0)
                            || self.is_related_rows(&k.value)
                            || self.holds_rows_keys(&k.value)
                        {
                            out.pk_of_loaded = true;
                        } else if let Expr::Attribute(attr) = &k.value
                            && attr.attr.id == "id"
                            && matches!(&*attr.value, Expr::Name(_))
                            && self.is_param_value(&attr.value)
                        {
                            // `id=obj.id` of a parameter: a row the caller passed in (not
                            // `id=data.issue_id`: a payload parameter has that shape too).
                            out.pk_of_param = true;
                        } else if self.param_rows(&k.value) {
                            // `pk__in=queryset.values("pk")`: keys of rows the caller passed.
                            out.pk_of_param = true;
                        } else if let Expr::Attribute(attr) = &k.value
                            && matches!(attr.attr.id.as_str(), "id" | "pk")
                            && let Expr::Name(n) = &*attr.value
                            && let Some(callee) = self.call_result(&n.id)
                        {
                            // `id=snapshot.id` after `snapshot = take_snapshot(...)`.
                            out.pk_of_call = Some(callee);
                        }
                        if a.id.ends_with("__in")
                            && let Some(start) = self.subquery_start(&k.value)
                        {
                            out.pk_in_subqueries.push(start);
                        }
                    } else if let Some(rel) = a.id.strip_suffix("__in")
                        && let Some(start) = self.subquery_start(&k.value)
                    {
                        // `project_id__in=` a query: resolved by the rules (a relation to a
                        // tenant-owned model, and a subquery reading keys of its target).
                        out.rel_in_subqueries.push((Name::new(rel), start));
                    }
                }
                None => {
                    // `filter(**{"tenant": t})`, or `filter(**filters)` after
                    // `filters = {"tenant": t, ...}` in the same function.
                    let mut value = match &k.value {
                        Expr::Name(n) => self.local_value(&n.id),
                        other => Some(other),
                    };
                    // Keys stored after the dict was built (`filters["tenant"] = t`).
                    let mut added: &[(Name, &Expr)] = match &k.value {
                        Expr::Name(n) => self.dict_adds(&n.id),
                        _ => &[],
                    };
                    // `extra = kwargs.copy()`: the dict `kwargs` holds.
                    for _ in 0..4 {
                        let Some(Expr::Call(c)) = value else { break };
                        let Expr::Attribute(a) = &*c.func else { break };
                        let Expr::Name(n) = &*a.value else { break };
                        if a.attr.id != "copy" || !c.arguments.is_empty() {
                            break;
                        }
                        value = self.local_value(&n.id);
                        if added.is_empty() {
                            added = self.dict_adds(&n.id);
                        }
                    }
                    if let Some(Expr::Dict(d)) = value {
                        let literal = d.items.iter().filter_map(|item| match &item.key {
                            Some(Expr::StringLiteral(s)) => {
                                Some((Name::new(s.value.to_str()), &item.value))
                            }
                            _ => None,
                        });
                        let stored = added.iter().map(|(k, v)| (k.clone(), *v));
                        let row = |e: &Expr| self.is_row_expr(e);
                        for (key, item_value) in literal.chain(stored) {
                            // Values classified as keyword arguments' are.
                            if is_instance_value(item_value, &row, 0) {
                                out.instance_keywords.push(key.clone());
                            } else if self.is_param_value(item_value)
                                || self.is_param_key(item_value)
                            {
                                out.param_keywords.push(key.clone());
                            }
                            out.keywords.push(key);
                        }
                    }
                    // `filter(**self.filters["base"])`: resolved by the rules, through the
                    // method that assigns `self.filters`.
                    if let Expr::Subscript(sub) = &k.value
                        && let Expr::Attribute(attr) = &*sub.value
                        && matches!(&*attr.value, Expr::Name(n) if n.id == "self")
                        && let Expr::StringLiteral(key) = &*sub.slice
                    {
                        out.self_attr_splats
                            .push((attr.attr.id.clone(), Name::new(key.value.to_str())));
                    }
                }
            }
        }
        for a in args {
            // `filter(q)` with `q = Q(...) | Q(...)` built before in the function.
            if let Expr::Name(n) = a {
                self.q_local_filters(&n.id, out);
                continue;
            }
            self.q_arg_filters(a, out);
        }
    }

    /// The filters of one positional argument of a filtering call: the keywords of its `Q(...)`
    /// objects under `&`, their values read as keyword arguments' are (an instance pins a
    /// relation; under `&` each holds for the whole filter), and its `|` branches.
    fn q_arg_filters(&self, a: &Expr, out: &mut Filters) {
        collect_q_keywords(a, &mut out.keywords, 0);
        let mut valued = Vec::new();
        self.q_keyword_values(a, &mut valued, 0);
        for (k, instance) in valued {
            if instance {
                out.instance_keywords.push(k);
            }
        }
        if let Expr::BinOp(b) = a
            && matches!(b.op, ast::Operator::BitOr)
        {
            let mut branches = Vec::new();
            self.or_branches(a, &mut branches, 0);
            out.or_groups.push(branches);
        }
    }

    /// After `name op= value` in a function, on a local whose last assignment was recorded in
    /// `assigned_in` (a `Q` expression or a dict literal): kept for [`Self::q_local_filters`],
    /// an `&=` as a conjunct (of a `Q` expression, its keywords; of anything else, such as a
    /// parameter or `~Q(...)`, nothing: a conjunct only narrows), anything else as an `|`
    /// branch (one that is not a `Q` expression makes the local count for nothing).
    pub(super) fn note_q_aug(&mut self, name: &Name, op: ast::Operator, value: &'a Expr) {
        let blocks = self.blocks.clone();
        let Some(scope) = self.scopes.last_mut() else {
            return;
        };
        let Some(at) = scope.assigned_in.get(name) else {
            return;
        };
        // Also under `if not user.is_superuser:`: it narrows every query but a superuser's.
        let unconditional = at.starts_with(&blocks)
            || (blocks.starts_with(at)
                && blocks[at.len()..]
                    .iter()
                    .all(|b| self.not_superuser_blocks.contains(b)));
        let is_or = !matches!(op, ast::Operator::BitAnd);
        scope
            .q_augs
            .entry(name.clone())
            .or_default()
            .push((is_or, value, unconditional));
    }

    /// After an `if` with `elif`s and an `else`, in a function: each local that every branch
    /// assigns a `Q` expression at its top level, and that nothing else in the statement writes
    /// (no `q |= ...` in a branch, no assignment in a nested block), holds one of those values:
    /// kept as alternatives for [`Self::q_local_filters`] (`if org: q = Q(organization=org)`
    /// `else: q = Q(organization__in=managed)`).
    pub(super) fn note_q_alternatives(&mut self, stmt: &'a ast::StmtIf) {
        if self.class_depth != 0
            || stmt
                .elif_else_clauses
                .last()
                .is_none_or(|c| c.test.is_some())
        {
            return;
        }
        let bodies: Vec<&'a [Stmt]> = std::iter::once(&stmt.body[..])
            .chain(stmt.elif_else_clauses.iter().map(|c| &c.body[..]))
            .collect();
        // The names the first branch assigns a `Q` expression at its top level.
        let mut names: Vec<&'a Name> = Vec::new();
        for s in bodies[0] {
            if let Stmt::Assign(a) = s
                && let [Expr::Name(n)] = &a.targets[..]
                && is_q_expr(&a.value)
                && !names.contains(&&n.id)
            {
                names.push(&n.id);
            }
        }
        for name in names {
            let mut values = Vec::new();
            for body in &bodies {
                let mut last = None;
                let mut clean = true;
                for s in *body {
                    match s {
                        Stmt::Assign(a) if matches!(&a.targets[..], [Expr::Name(n)] if n.id == *name) =>
                        {
                            last = is_q_expr(&a.value).then_some(&*a.value);
                        }
                        other if self.writes_name(other, name) => clean = false,
                        _ => {}
                    }
                }
                match last {
                    Some(v) if clean => values.push(v),
                    _ => {
                        values.clear();
                        break;
                    }
                }
            }
            if values.is_empty() {
                continue;
            }
            let blocks = self.blocks.clone();
            if let Some(scope) = self.scopes.last_mut() {
                scope.assigned_in.insert(name.clone(), blocks);
                scope.q_augs.remove(name);
                scope.q_alts.insert(name.clone(), values);
            }
        }
    }

    /// `q = q & <expr>` / `q = q | <expr>` on a local whose last assignment is a `Q` expression
    /// recorded in `assigned_in`: the name, the operator and the added value.
    pub(super) fn q_self_combine(
        &self,
        a: &'a ast::StmtAssign,
    ) -> Option<(&'a Name, ast::Operator, &'a Expr)> {
        let [Expr::Name(target)] = &a.targets[..] else {
            return None;
        };
        let Expr::BinOp(b) = &*a.value else {
            return None;
        };
        if !matches!(b.op, ast::Operator::BitAnd | ast::Operator::BitOr)
            || !matches!(&*b.left, Expr::Name(l) if l.id == target.id)
        {
            return None;
        }
        let scope = self.scopes.last()?;
        let held = scope.assigned.get(&target.id)?;
        (scope.assigned_in.contains_key(&target.id) && is_q_expr(held))
            .then_some((&target.id, b.op, &*b.right))
    }

    /// Does the statement (or one nested in it, not in a nested function) bind `name`?
    fn writes_name(&self, stmt: &Stmt, name: &Name) -> bool {
        let (mut locals, mut imports, mut globals) = Default::default();
        collect_locals(
            std::slice::from_ref(stmt),
            &mut locals,
            &mut imports,
            &mut globals,
            self,
        );
        locals.contains(name) || imports.contains_key(name)
    }

    /// The filters of `filter(q)` where the local `q` was last assigned a `Q` expression
    /// (`Q(...)`, combined with `&` and `|`) before, in this block or one around it, read as if
    /// it were written inline. A later `q &= Q(...)` that runs whenever the assignment did adds
    /// its keywords; any `q |= ...` makes the whole an `|` of the assigned value and each added
    /// one (then the `&=` parts are left out, which only loses constraints). Anything else (an
    /// assignment under an `if`, a value that is not a `Q` expression) counts for nothing.
    fn q_local_filters(&self, name: &Name, out: &mut Filters) {
        let Some(value) = self.local_value(name) else {
            return;
        };
        let Some(scope) = self
            .scopes
            .iter()
            .rev()
            .find(|s| s.locals.contains(name) || s.assigned.contains_key(name))
        else {
            return;
        };
        let assigned_before = scope
            .assigned_in
            .get(name)
            .is_some_and(|at| self.blocks.starts_with(at));
        if !is_q_expr(value) || !assigned_before {
            return;
        }
        let augs = scope.q_augs.get(name).map_or(&[][..], |v| v.as_slice());
        // The values the local may hold: one per branch of an `if` (see `q_alts`), else the one
        // assigned. Several values, or any `q |= ...`, make an `|` of them all.
        let values = scope
            .q_alts
            .get(name)
            .map_or(std::slice::from_ref(&value), Vec::as_slice);
        let widened = augs.iter().any(|(is_or, _, _)| *is_or);
        if values.len() > 1 || widened {
            let mut branches = Vec::new();
            for v in values {
                self.or_branches(v, &mut branches, 0);
            }
            for (is_or, added, unconditional) in augs {
                if *is_or {
                    if !is_q_expr(added) {
                        return;
                    }
                    self.or_branches(added, &mut branches, 0);
                } else if *unconditional && !widened {
                    // `(a | b) & c`: `c` constrains every branch.
                    self.q_arg_filters(added, out);
                }
            }
            out.or_groups.push(branches);
            return;
        }
        let conjuncts = std::iter::once(value).chain(
            augs.iter()
                .filter(|(_, _, unconditional)| *unconditional)
                .map(|(_, added, _)| *added),
        );
        for part in conjuncts {
            self.q_arg_filters(part, out);
        }
    }

    /// `self.pk`, `self.id`, or the content type of `self`
    /// (`ContentType.objects.get_for_model(self)`, inline or in a local).
    fn is_self_key_or_type(&self, value: &Expr) -> bool {
        let is_self = |e: &Expr| matches!(e, Expr::Name(n) if n.id == "self");
        let for_self = |e: &Expr| {
            matches!(e, Expr::Call(c)
                if matches!(&*c.func, Expr::Attribute(f) if f.attr.id == "get_for_model")
                    && matches!(&*c.arguments.args, [arg] if is_self(arg)))
        };
        match value {
            Expr::Attribute(attr) => {
                matches!(attr.attr.id.as_str(), "pk" | "id") && is_self(&attr.value)
            }
            Expr::Name(n) => self.local_value(&n.id).is_some_and(for_self),
            other => for_self(other),
        }
    }

    /// Where the query chain a lookup's value is starts: the value itself (also inside
    /// `list(...)`, `set(...)`, `tuple(...)`), or the chain a local holds (`ids` after
    /// `ids = M.objects.filter(...).values_list(...)`). The rules find the site by that offset.
    fn subquery_start(&self, value: &Expr) -> Option<u32> {
        let v = unwrap_builder(value);
        match v {
            Expr::Call(_) => Some(self.loc.span(v.range()).start),
            Expr::Name(n) => {
                let &i = self.scopes.last()?.query_vars.get(&n.id)?;
                Some(self.sites.query_sites.get(i)?.span.start)
            }
            _ => None,
        }
    }

    /// The keywords of `Q(...)` (and of `Q(...) & Q(...)`), each with whether its value is an
    /// instance or rows in hand.
    fn q_keyword_values(&self, e: &Expr, out: &mut Vec<(Name, bool)>, depth: u32) {
        if depth > 16 {
            return;
        }
        match e {
            Expr::Call(c) => {
                // `Q(..., _negated=True)`, `Q(..., _connector=...)` do not pin.
                if !is_q_call(c)
                    || c.arguments
                        .keywords
                        .iter()
                        .any(|k| k.arg.as_ref().is_some_and(|a| a.id.starts_with('_')))
                {
                    return;
                }
                let row = |e: &Expr| self.is_row_expr(e);
                let mut names = Vec::new();
                collect_filter_keywords(&c.arguments, &mut names);
                for name in names {
                    let instance = c.arguments.keywords.iter().any(|k| {
                        k.arg.as_ref().is_some_and(|a| a.id == name)
                            && is_instance_value(&k.value, &row, 0)
                    });
                    out.push((name, instance));
                }
            }
            Expr::BinOp(b) if matches!(b.op, ast::Operator::BitAnd) => {
                self.q_keyword_values(&b.left, out, depth + 1);
                self.q_keyword_values(&b.right, out, depth + 1);
            }
            _ => {}
        }
    }

    /// The branches of `a | b | ...`: per branch, its `Q` keywords with whether each value is
    /// an instance.
    fn or_branches(&self, e: &Expr, out: &mut Vec<Vec<(Name, bool)>>, depth: u32) {
        if depth > 16 {
            out.push(Vec::new());
            return;
        }
        match e {
            Expr::BinOp(b) if matches!(b.op, ast::Operator::BitOr) => {
                self.or_branches(&b.left, out, depth + 1);
                self.or_branches(&b.right, out, depth + 1);
            }
            other => {
                let mut kws = Vec::new();
                self.q_keyword_values(other, &mut kws, 0);
                out.push(kws);
            }
        }
    }

    /// In a method: record the keywords of `self.filter(...)`, `super().filter(...)`,
    /// `self.get_queryset().filter(...)` and the like.
    pub(super) fn method_filter(&mut self, call: &'a ast::ExprCall) {
        let Expr::Attribute(method) = &*call.func else {
            return;
        };
        if !FILTERING_METHODS.contains(&method.attr.id.as_str()) {
            self.method_link(method);
            return;
        }
        // The chain must start at `self` or `super()`.
        let mut cur: &Expr = &method.value;
        let mut hops = 0;
        let on_self = loop {
            hops += 1;
            if hops > 16 {
                break false;
            }
            match cur {
                Expr::Name(n) => break n.id == "self",
                Expr::Call(c) => match &*c.func {
                    Expr::Name(n) => break n.id == "super",
                    other => cur = other,
                },
                Expr::Attribute(a) => cur = &a.value,
                _ => break false,
            }
        };
        if !on_self {
            return;
        }
        let mut filters = Filters::default();
        self.collect_filters(&call.arguments.keywords, &call.arguments.args, &mut filters);
        if filters.keywords.is_empty() {
            return;
        }
        let Some((class, name)) = self.current_method.clone() else {
            return;
        };
        self.facts.method_filters.push(MethodFilter {
            class,
            method: name,
            keywords: filters.keywords,
        });
    }

    /// Record a [`MethodLink`] once (a method calling the same helper many times gives one).
    fn push_method_link(&mut self, link: MethodLink) {
        if self.links_seen.insert(link.clone()) {
            self.facts.method_links.push(link);
        }
    }

    /// In a method: record `self.helper(...)` and `self.get_queryset().helper(...)` (or
    /// `super().get_queryset().helper(...)`) as a [`MethodLink`] of the current method.
    fn method_link(&mut self, method: &ast::ExprAttribute) {
        let Some((class, name)) = &self.current_method else {
            return;
        };
        let callee = method.attr.id.clone();
        if callee == "get_queryset" || callee == *name && !matches!(&*method.value, Expr::Call(_)) {
            return;
        }
        let target = match &*method.value {
            Expr::Name(n) if n.id == "self" => LinkTarget::SelfMethod(callee),
            Expr::Call(c)
                if c.arguments.is_empty()
                    && let Expr::Attribute(a) = &*c.func
                    && a.attr.id == "get_queryset"
                    && match &*a.value {
                        Expr::Name(n) => n.id == "self",
                        Expr::Call(s) => {
                            matches!(&*s.func, Expr::Name(n) if n.id == "super")
                        }
                        _ => false,
                    } =>
            {
                LinkTarget::QuerysetMethod(callee)
            }
            _ => return,
        };
        self.push_method_link(MethodLink {
            class: *class,
            method: name.clone(),
            target,
        });
    }

    /// In a method: `self.<attr> = f(...)` with `f` a plain or dotted name not rooted at a
    /// local records what the attribute holds.
    pub(super) fn self_attr_call(&mut self, target: &Expr, value: &Expr) {
        let Some((class, name)) = &self.current_method else {
            return;
        };
        let Expr::Attribute(attr) = target else {
            return;
        };
        if !matches!(&*attr.value, Expr::Name(n) if n.id == "self") {
            return;
        }
        // A dict built here (`self.filters = {...}`, or a local holding one) is recorded too,
        // as holding nothing the rules can read: it may lack the key a splat needs.
        let dict_here = match value {
            Expr::Dict(_) | Expr::DictComp(_) => true,
            Expr::Name(n) => matches!(
                self.local_value(&n.id),
                Some(Expr::Dict(_) | Expr::DictComp(_))
            ),
            _ => false,
        };
        if dict_here {
            self.push_method_link(MethodLink {
                class: *class,
                method: name.clone(),
                target: LinkTarget::AttrCall(attr.attr.id.clone(), ExprRef::Other),
            });
            return;
        }
        let Expr::Call(call) = value else {
            return;
        };
        let mut root: &Expr = &call.func;
        while let Expr::Attribute(a) = root {
            root = &a.value;
        }
        let Expr::Name(root) = root else {
            return;
        };
        if matches!(self.root_binding(&root.id), RootBinding::Local) {
            return;
        }
        self.push_method_link(MethodLink {
            class: *class,
            method: name.clone(),
            target: LinkTarget::AttrCall(attr.attr.id.clone(), to_ref(&call.func)),
        });
    }

    /// At a `return` with a value: the dict-literal shape of what the function returns (see
    /// [`DictReturn`]); the keys common to every `return` are kept.
    pub(super) fn note_dict_return(&mut self, value: &Expr) {
        let shape: Option<Vec<(Name, Vec<Name>)>> = match value {
            Expr::Dict(d) => Some(
                d.items
                    .iter()
                    .filter_map(|item| {
                        let Some(Expr::StringLiteral(key)) = &item.key else {
                            return None;
                        };
                        let inner = match &item.value {
                            Expr::Name(n) => self.local_value(&n.id)?,
                            other => other,
                        };
                        let Expr::Dict(inner) = inner else {
                            return None;
                        };
                        let keys = inner
                            .items
                            .iter()
                            .filter_map(|i| match &i.key {
                                Some(Expr::StringLiteral(k)) => Some(Name::new(k.value.to_str())),
                                _ => None,
                            })
                            .collect();
                        Some((Name::new(key.value.to_str()), keys))
                    })
                    .collect(),
            ),
            _ => None,
        };
        let Some(scope) = self.scopes.last_mut() else {
            return;
        };
        match (shape, &mut scope.dict_returns) {
            (None, _) => scope.returned_non_dict = true,
            (Some(shape), slot @ None) => *slot = Some(shape),
            (Some(shape), Some(kept)) => {
                kept.retain_mut(|(key, keys)| {
                    let Some((_, other)) = shape.iter().find(|(k, _)| k == key) else {
                        return false;
                    };
                    keys.retain(|k| other.contains(k));
                    true
                });
            }
        }
    }

    /// In a method named `get_queryset`: `return QuerySetClass(...)` records the class.
    pub(super) fn queryset_class_return(&mut self, value: &Expr) {
        let Some((class, name)) = &self.current_method else {
            return;
        };
        if name != "get_queryset" {
            return;
        }
        let Expr::Call(c) = value else {
            return;
        };
        if !matches!(&*c.func, Expr::Name(_) | Expr::Attribute(_)) {
            return;
        }
        self.push_method_link(MethodLink {
            class: *class,
            method: name.clone(),
            target: LinkTarget::QuerysetClass(to_ref(&c.func)),
        });
    }

    /// The innermost function scope that binds the local `name` (an assignment or another
    /// local binding; see `binding_scope` for imports).
    fn local_scope(&self, name: &Name) -> Option<&FunctionScope<'a>> {
        self.scopes
            .iter()
            .rev()
            .find(|s| s.locals.contains(name) || s.assigned.contains_key(name))
    }

    /// The callee whose result the local `name` holds (see `FunctionScope::call_results`).
    fn call_result(&self, name: &Name) -> Option<ExprRef> {
        self.local_scope(name)?.call_results.get(name).cloned()
    }

    /// Does the local `name` hold a row read by a query (see `FunctionScope::rows`)?
    pub(super) fn is_row(&self, name: &Name) -> bool {
        self.local_scope(name)
            .is_some_and(|s| s.rows.contains(name))
    }

    /// Does `e` hold a model instance in hand: a local row (see [`Self::is_row`]), the
    /// `.instance` of a local form or serializer built in this function (`serializer =
    /// IssueSerializer(data=...)`; after `save()`, `serializer.instance` is the saved row), or a
    /// related object of one (`event.issue`)?
    pub(super) fn is_row_expr(&self, e: &Expr) -> bool {
        match e {
            Expr::Name(n) => self.is_row(&n.id),
            Expr::Attribute(a) if a.attr.id == "instance" => {
                let Expr::Name(holder) = &*a.value else {
                    return false;
                };
                let Some(Expr::Call(c)) = self.local_value(&holder.id) else {
                    return false;
                };
                let mut cur: &Expr = &c.func;
                while let Expr::Attribute(x) = cur {
                    cur = &x.value;
                }
                matches!(cur, Expr::Name(root) if !matches!(self.root_binding(&root.id), RootBinding::Local))
            }
            // A related object of a row in hand (`event.issue`), in the same tenant.
            Expr::Attribute(a) => !id_like(&a.attr.id) && self.is_row_expr(&a.value),
            _ => false,
        }
    }

    /// After `target = <value>`: does `target` now hold a recorded query chain (the site whose
    /// span starts where the value does, recorded while visiting it), or a refinement of a local
    /// that does (`qs = qs.filter(...)`)?
    pub(super) fn note_query_var(
        &mut self,
        targets: &'a [Expr],
        value: &'a Expr,
        sites_before: usize,
    ) {
        // `qs = qs.filter(...)...`: the refinement belongs to the site `qs` holds.
        if let [Expr::Name(t)] = targets
            && chain_root(value).is_some_and(|r| r.id == t.id)
        {
            let mut cur = value;
            let mut calls = Vec::new();
            for _ in 0..64 {
                match cur {
                    Expr::Call(c) => {
                        calls.push(c);
                        cur = &c.func;
                    }
                    Expr::Attribute(a) => cur = &a.value,
                    Expr::Subscript(s) => cur = &s.value,
                    _ => break,
                }
            }
            for c in calls.into_iter().rev() {
                self.query_var_refinement(c);
            }
        }
        // `ids = list(M.objects.filter(...).values_list("id"))` holds the query's keys as the
        // chain itself would.
        let start = self.loc.span(unwrap_builder(value).range()).start;
        let site = self.sites.query_sites[sites_before..]
            .iter()
            .position(|s| s.span.start == start)
            .map(|i| sites_before + i)
            .or_else(|| {
                let root = chain_root(value)?;
                self.scopes.last()?.query_vars.get(&root.id).copied()
            });
        // `qs = helper(qs, ...)` (taiga's `attach_total_points(queryset)`): a helper handed the
        // query and assigned back returns it refined; the local still holds that site.
        let passed_back = |name: &Name| {
            matches!(value, Expr::Call(c)
                if matches!(c.arguments.args.first(), Some(Expr::Name(a)) if a.id == *name))
        };
        let Some(scope) = self.scopes.last_mut() else {
            return;
        };
        for t in targets {
            if let Expr::Name(n) = t {
                match site {
                    Some(i) => {
                        scope.query_vars.insert(n.id.clone(), i);
                    }
                    None if passed_back(&n.id) => {}
                    None => {
                        scope.query_vars.remove(&n.id);
                    }
                };
            }
        }
    }

    /// A call in `qs = qs.<method>(...)` where `qs` holds a recorded query chain: its method and
    /// filters belong to that site, as if the chain had been written in one piece (every later
    /// use of `qs` sees them). A conditional refinement counts (the rule cannot tell branches
    /// apart); a use that is not assigned back (`qs.filter(tenant=t).count()`) does not change
    /// what `qs` holds for its other uses, and is not merged.
    fn query_var_refinement(&mut self, call: &'a ast::ExprCall) {
        let Expr::Attribute(method) = &*call.func else {
            return;
        };
        let Some(root) = chain_root(&method.value) else {
            return;
        };
        let Some(&i) = self.scopes.last().and_then(|s| s.query_vars.get(&root.id)) else {
            return;
        };
        let mut filters = Filters::default();
        if FILTERING_METHODS.contains(&method.attr.id.as_str()) {
            self.collect_filters(&call.arguments.keywords, &call.arguments.args, &mut filters);
        }
        let Some(site) = self.sites.query_sites.get_mut(i) else {
            return;
        };
        if matches!(method.attr.id.as_str(), "values_list" | "values") {
            site.values_fields = string_args(call).into();
        }
        site.calls.push(method.attr.id.clone());
        site.empty |= method.attr.id == "none";
        site.filter_keywords.extend(filters.keywords);
        site.instance_keywords.extend(filters.instance_keywords);
        site.param_keywords.extend(filters.param_keywords);
        site.or_groups.extend(filters.or_groups);
        site.pk_in_subqueries.extend(filters.pk_in_subqueries);
        site.rel_in_subqueries.extend(filters.rel_in_subqueries);
        site.self_attr_splats.extend(filters.self_attr_splats);
        site.self_key_keywords.extend(filters.self_key_keywords);
        site.pk_of_loaded |= filters.pk_of_loaded;
        site.pk_of_param |= filters.pk_of_param;
        if site.pk_of_call.is_none() {
            site.pk_of_call = filters.pk_of_call;
        }
    }

    /// After `name = f(...)` (or `await f(...)`) where `f` is a plain or dotted name not rooted
    /// at a local (`take_snapshot`, `services.take_snapshot`): `name` holds what `f` returns.
    pub(super) fn note_call_result(&mut self, targets: &[Expr], value: &Expr) {
        let [Expr::Name(target)] = targets else {
            return;
        };
        let value = match value {
            Expr::Await(a) => &*a.value,
            other => other,
        };
        let Expr::Call(call) = value else {
            return;
        };
        let mut root: &Expr = &call.func;
        while let Expr::Attribute(a) = root {
            root = &a.value;
        }
        let Expr::Name(root) = root else {
            return;
        };
        if matches!(self.root_binding(&root.id), RootBinding::Local) {
            return;
        }
        let callee = to_ref(&call.func);
        if let Some(scope) = self.scopes.last_mut() {
            scope.call_results.insert(target.id.clone(), callee);
        }
    }

    /// After `target = <value>` or `for target in <value>`: does `target` now hold a row?
    pub(super) fn note_row(&mut self, target: &Expr, row: bool) {
        let Some(scope) = self.scopes.last_mut() else {
            return;
        };
        let mut names = HashSet::default();
        super::scopes::collect_target_names(target, &mut names);
        for n in names {
            scope.call_results.remove(&n);
            // Only a plain name target holds the row itself (`x, created = ...` does not).
            if row && matches!(target, Expr::Name(_)) {
                scope.rows.insert(n);
            } else {
                scope.rows.remove(&n);
            }
        }
    }

    /// After `targets = value`: a plain name assigned an empty `set()`, `list()` or `[]` starts a
    /// bag of keys (see `FunctionScope::key_bags`); any other value ends one.
    pub(super) fn note_bag(&mut self, targets: &[Expr], value: &Expr) {
        let empty = match value {
            Expr::List(l) => l.elts.is_empty(),
            Expr::Call(c) => {
                matches!(&*c.func, Expr::Name(n) if matches!(n.id.as_str(), "set" | "list"))
                    && c.arguments.is_empty()
            }
            _ => false,
        };
        let Some(scope) = self.scopes.last_mut() else {
            return;
        };
        for t in targets {
            if let Expr::Name(n) = t {
                if empty {
                    scope.key_bags.insert(n.id.clone());
                } else {
                    scope.key_bags.remove(&n.id);
                }
            }
        }
    }

    /// `bag.add(v)` / `bag.append(v)` as a statement on a bag of keys: a key of a row in hand
    /// (`self.id`, `row.pk`, a row's relation key) keeps it one and makes it hold rows in hand
    /// (see `is_row`); anything else ends it. `extend`/`update` take an instance's related
    /// rows or a literal collection of such keys.
    pub(super) fn note_bag_add(&mut self, e: &Expr) {
        let Expr::Call(c) = e else { return };
        let Expr::Attribute(a) = &*c.func else { return };
        let Expr::Name(bag) = &*a.value else { return };
        if !matches!(a.attr.id.as_str(), "add" | "append" | "extend" | "update") {
            return;
        }
        let Some(scope) = self.scopes.last() else {
            return;
        };
        if !scope.key_bags.contains(&bag.id) {
            return;
        }
        let row = |e: &Expr| self.is_row_expr(e);
        let key = match (
            a.attr.id.as_str(),
            &*c.arguments.args,
            c.arguments.keywords.is_empty(),
        ) {
            ("add" | "append", [v], true) => is_loaded_pk(v, &row, 0),
            ("extend" | "update", [v], true) => {
                self.is_related_rows(v) || (!matches!(v, Expr::Name(_)) && is_loaded_pk(v, &row, 0))
            }
            _ => false,
        };
        let Some(scope) = self.scopes.last_mut() else {
            return;
        };
        if key {
            scope.rows.insert(bag.id.clone());
        } else {
            scope.key_bags.remove(&bag.id);
            scope.rows.remove(&bag.id);
        }
    }

    /// Is a lookup's value a parameter of the enclosing function, not reassigned so far (a view's
    /// URL keyword argument, a task's argument), or a list of those?
    fn is_param_value(&self, e: &Expr) -> bool {
        let n = match e {
            Expr::Name(n) => n,
            Expr::List(ast::ExprList { elts, .. }) | Expr::Tuple(ast::ExprTuple { elts, .. }) => {
                return !elts.is_empty() && elts.iter().all(|x| self.is_param_value(x));
            }
            _ => return false,
        };
        // The innermost function that binds the name: a closure's free variable is its
        // enclosing function's parameter (`def actual_task(): M.objects.get(id=item_id)`
        // inside a task taking `item_id`).
        let Some(scope) = self
            .scopes
            .iter()
            .rev()
            .find(|s| s.locals.contains(&n.id) || s.imports.contains_key(&n.id))
        else {
            return false;
        };
        scope.params.contains(&n.id) && !scope.assigned.contains_key(&n.id)
    }

    /// A key held by a parameter (not reassigned): `obj.id`, `obj.pk`, `instance.issue_id`,
    /// the primary key or a foreign key of a row the caller passed in (a serializer's
    /// `update(self, instance, ...)`, `get_members(self, obj)`): trusted like the parameter.
    fn is_param_key(&self, e: &Expr) -> bool {
        let Expr::Attribute(attr) = e else {
            return false;
        };
        let key = attr.attr.id.as_str();
        (key == "id" || key == "pk" || key.ends_with("_id"))
            && matches!(&*attr.value, Expr::Name(n) if n.id != "self" && n.id != "request")
            && self.is_param_value(&attr.value)
    }

    /// Rows or their keys read from a queryset a parameter holds (`queryset.values("pk")`,
    /// `list(qs.values_list("id", flat=True))`): trusted like the parameter.
    fn param_rows(&self, e: &Expr) -> bool {
        let Some((cur, calls)) = under_row_calls(unwrap_builder(e)) else {
            return false;
        };
        calls >= 1 && matches!(cur, Expr::Name(n) if !id_like(&n.id)) && self.is_param_value(cur)
    }

    /// The last expression assigned to a local name in the innermost function that binds it.
    /// The `d["key"] = value` stores that always follow local `d`'s last assignment.
    pub(super) fn dict_adds(&self, name: &Name) -> &[(Name, &'a Expr)] {
        for scope in self.scopes.iter().rev() {
            if scope.assigned.contains_key(name) || scope.locals.contains(name) {
                return scope.dict_adds.get(name).map_or(&[], |v| v.as_slice());
            }
        }
        &[]
    }

    pub(super) fn local_value(&self, name: &Name) -> Option<&'a Expr> {
        for scope in self.scopes.iter().rev() {
            if let Some(v) = scope.assigned.get(name) {
                return Some(*v);
            }
            if scope.locals.contains(name) {
                return None;
            }
        }
        None
    }

    /// After visiting `get_object_or_404(<chain>, **kw)`: the shortcut's keywords filter the
    /// query site recorded for its first argument.
    pub(super) fn shortcut_filters(&mut self, call: &'a ast::ExprCall, first_site: usize) {
        let Some(mut first) = call.arguments.args.first() else {
            return;
        };
        // `get_object_or_404(annotate_rollups(Account.objects.all()), id=pk, org=org)`: a
        // helper that refines the query it is given (its first argument), written inline.
        for _ in 0..2 {
            let start = self.loc.span(first.range()).start;
            if self.sites.query_sites[first_site..]
                .iter()
                .any(|s| s.span.start == start)
            {
                break;
            }
            match first {
                Expr::Call(c) if matches!(&*c.func, Expr::Name(_)) => {
                    let Some(inner) = c.arguments.args.first() else {
                        return;
                    };
                    first = inner;
                }
                _ => return,
            }
        }
        let start = self.loc.span(first.range()).start;
        let mut filters = Filters::default();
        self.collect_filters(&call.arguments.keywords, &[], &mut filters);
        if let Some(site) = self.sites.query_sites[first_site..]
            .iter_mut()
            .find(|s| s.span.start == start)
        {
            site.filter_keywords.extend(filters.keywords);
            site.instance_keywords.extend(filters.instance_keywords);
            site.or_groups.extend(filters.or_groups);
            site.pk_in_subqueries.extend(filters.pk_in_subqueries);
            site.rel_in_subqueries.extend(filters.rel_in_subqueries);
            site.pk_of_loaded |= filters.pk_of_loaded;
            site.pk_of_param |= filters.pk_of_param;
            site.param_keywords.extend(filters.param_keywords);
            site.self_key_keywords.extend(filters.self_key_keywords);
        }
    }
}

/// The root name of an attribute/call/subscript chain (`qs` in `qs.filter(...).first()`).
pub(super) fn chain_root(e: &Expr) -> Option<&ast::ExprName> {
    let mut cur = e;
    for _ in 0..64 {
        match cur {
            Expr::Name(n) => return Some(n),
            Expr::Attribute(a) => cur = &a.value,
            Expr::Call(c) => cur = &c.func,
            Expr::Subscript(s) => cur = &s.value,
            _ => return None,
        }
    }
    None
}

impl Extractor<'_, '_> {
    /// Is `e` a query chain `Model.<manager>...<method>(...)` whose last method is one of
    /// `methods`: at least `Root.attr.method(...)`, the root a name bound at module level or
    /// imported (a model class), never a local or parameter (`request.data.get(...)` is a dict).
    fn model_chain(&self, e: &Expr, methods: &[&str]) -> bool {
        let e = match e {
            Expr::Await(a) => &*a.value,
            other => other,
        };
        let Expr::Call(c) = e else {
            return false;
        };
        let Expr::Attribute(a) = &*c.func else {
            return false;
        };
        if !methods.contains(&a.attr.id.as_str()) {
            return false;
        }
        let mut cur: &Expr = &a.value;
        let mut links = 0;
        for _ in 0..32 {
            match cur {
                Expr::Attribute(x) => cur = &x.value,
                Expr::Call(x) => cur = &x.func,
                _ => break,
            }
            links += 1;
        }
        let Expr::Name(root) = cur else {
            return false;
        };
        if links < 1 {
            return false;
        }
        if !matches!(self.root_binding(&root.id), RootBinding::Local) {
            return true;
        }
        // A local bound to a model looked up in the app registry (`entry_model =
        // apps.get_model("history", "HistoryEntry")`), as for query sites.
        self.local_value(&root.id)
            .and_then(registry_lookup_root)
            .is_some_and(|b| !matches!(self.root_binding(&b.id), RootBinding::Local))
    }

    /// Rows reached from an instance in hand through one of its related managers:
    /// `product.variations.values_list("parent_id", flat=True)`, `us.role_points.all()`,
    /// `self.items.filter(...)`. They are that instance's related rows, in its tenant, as a
    /// lookup on the instance itself is (`filter(product=product)`). The root is a local or
    /// parameter (not a query a local holds, a model class, or a name like a raw id); between
    /// it and the query methods there are only attributes, the relation, none of them a way to
    /// every row of a model (`objects`, `model`, `queryset`, ...; Django refuses a manager
    /// through an instance, so `instance.<manager>` is no concern).
    pub(super) fn is_related_rows(&self, e: &Expr) -> bool {
        const NOT_RELATIONS: &[&str] = &[
            "objects",
            "_default_manager",
            "_base_manager",
            "model",
            "queryset",
            "__class__",
            "_meta",
        ];
        let e = match e {
            Expr::Await(a) => &*a.value,
            other => other,
        };
        let Some((mut cur, calls)) = under_row_calls(e) else {
            return false;
        };
        let mut hops = 0;
        while let Expr::Attribute(a) = cur {
            hops += 1;
            if NOT_RELATIONS.contains(&a.attr.id.as_str()) || hops > 8 {
                return false;
            }
            cur = &a.value;
        }
        let Expr::Name(root) = cur else {
            return false;
        };
        calls >= 1
            && hops >= 1
            && root.id != "cls"
            && !id_like(&root.id)
            && matches!(self.root_binding(&root.id), RootBinding::Local)
            && !self
                .scopes
                .last()
                .is_some_and(|s| s.query_vars.contains_key(&root.id))
            && self
                .local_value(&root.id)
                .and_then(registry_lookup_root)
                .is_none()
    }

    /// Rows, or keys of rows, read by a query checked where it ran, or in hand: a query chain or
    /// a local holding one, a local holding rows or their keys, an instance's related rows, and
    /// what is built from those: `list(...)`, `set(...)`, `tuple(...)`, `sorted(...)` or
    /// `frozenset(...)` of one, a comprehension over one whose element is the loop variable or a
    /// part of it (`[c.id for c in qs]`, `{row[0] for row in qs.values_list("id")}`), a set
    /// difference (`set(a) - set(b)`: part of `a`), intersection or union of such.
    pub(super) fn is_rows_keys(&self, e: &Expr, depth: u32) -> bool {
        if depth > 8 {
            return false;
        }
        match e {
            Expr::Name(n) => {
                self.is_row(&n.id)
                    || self
                        .local_scope(&n.id)
                        .is_some_and(|s| s.query_vars.contains_key(&n.id))
            }
            Expr::Call(_) => {
                let inner = unwrap_builder(e);
                if !std::ptr::eq(inner, e) {
                    return self.is_rows_keys(inner, depth + 1);
                }
                self.is_query_chain(e)
                    || self.is_related_rows(e)
                    // A refinement of a local holding a query (`qs.values_list("id")`).
                    || chain_root(e).is_some_and(|r| {
                        self.local_scope(&r.id)
                            .is_some_and(|s| s.query_vars.contains_key(&r.id))
                    })
            }
            Expr::ListComp(c) => self.comp_rows_keys(&c.elt, &c.generators, depth),
            Expr::SetComp(c) => self.comp_rows_keys(&c.elt, &c.generators, depth),
            Expr::Generator(g) => self.comp_rows_keys(&g.elt, &g.generators, depth),
            Expr::BinOp(b) => match b.op {
                ast::Operator::Sub => self.is_rows_keys(&b.left, depth + 1),
                ast::Operator::BitAnd => {
                    self.is_rows_keys(&b.left, depth + 1) || self.is_rows_keys(&b.right, depth + 1)
                }
                ast::Operator::BitOr | ast::Operator::Add => {
                    self.is_rows_keys(&b.left, depth + 1) && self.is_rows_keys(&b.right, depth + 1)
                }
                _ => false,
            },
            _ => false,
        }
    }

    /// A comprehension with one `for` over rows or their keys (see [`Self::is_rows_keys`]),
    /// whose element is a loop variable, an attribute of one or an item of one.
    fn comp_rows_keys(&self, elt: &Expr, generators: &[ast::Comprehension], depth: u32) -> bool {
        let [g] = generators else {
            return false;
        };
        let mut targets = HashSet::default();
        super::scopes::collect_target_names(&g.target, &mut targets);
        let mut base = elt;
        for _ in 0..8 {
            base = match base {
                Expr::Attribute(a) => &a.value,
                Expr::Subscript(sub) => &sub.value,
                _ => break,
            };
        }
        matches!(base, Expr::Name(n) if targets.contains(&n.id))
            && self.is_rows_keys(&g.iter, depth + 1)
    }

    /// Keys or rows built from rows read by a query or in hand (see [`Self::is_rows_keys`]),
    /// not a query itself: a `pk__in=` query is judged by its own filter (see
    /// [`QuerySite::pk_in_subqueries`]).
    pub(super) fn holds_rows_keys(&self, e: &Expr) -> bool {
        let row = |e: &Expr| self.is_row_expr(e);
        match e {
            Expr::Name(n) => self.is_row(&n.id),
            _ if self.is_query_chain(unwrap_builder(e)) || self.is_related_rows(e) => false,
            Expr::ListComp(_) | Expr::SetComp(_) | Expr::Generator(_) => {
                // As when written inline (`pk__in=[c.pk for c in cases]`).
                self.is_rows_keys(e, 0) || is_loaded_pk(e, &row, 0)
            }
            _ => self.is_rows_keys(e, 0),
        }
    }

    /// Rows of a query (`M.objects.filter(...)`, `M.objects.all()`): what a `for` loop runs over.
    pub(super) fn is_query_chain(&self, e: &Expr) -> bool {
        self.model_chain(e, ROW_METHODS)
    }

    /// One row read or created by a query: `M.objects.get(...)`, `M.objects.filter(...).first()`,
    /// `M.objects.create(...)`.
    pub(super) fn is_row_read(&self, e: &Expr) -> bool {
        if self.model_chain(e, ROW_READ_METHODS) {
            return true;
        }
        // `get_object_or_404(Model, ...)`: Django's shortcut (a name bound at module level or
        // imported), one row or a 404.
        let e = match e {
            Expr::Await(a) => &*a.value,
            other => other,
        };
        matches!(e, Expr::Call(c) if matches!(&*c.func, Expr::Name(n)
            if matches!(n.id.as_str(), "get_object_or_404" | "aget_object_or_404")
                && !matches!(self.root_binding(&n.id), RootBinding::Local)))
    }

    /// `Prefetch(..., queryset=qs)` where the local `qs` holds a recorded query chain: that
    /// chain is restricted to the outer query's related rows, as if written inline.
    pub(super) fn prefetch_query_var(&mut self, call: &ast::ExprCall) {
        for k in &call.arguments.keywords {
            let (Some(arg), Expr::Name(n)) = (&k.arg, &k.value) else {
                continue;
            };
            if arg.id != "queryset" {
                continue;
            }
            if let Some(&i) = self.scopes.last().and_then(|s| s.query_vars.get(&n.id))
                && let Some(site) = self.sites.query_sites.get_mut(i)
            {
                site.in_prefetch = true;
            }
        }
    }
}

/// `self.pk`, `self.id`, `<expr>.pk`, and lists, tuples, sets and comprehensions of those: the
/// primary key of a model instance already loaded (by a query checked where it ran).
fn is_loaded_pk(e: &Expr, row: &dyn Fn(&Expr) -> bool, depth: u32) -> bool {
    if depth > 8 {
        return false;
    }
    match e {
        Expr::Attribute(a) => {
            a.attr.id == "pk"
                || (a.attr.id == "id" && matches!(&*a.value, Expr::Name(n) if n.id == "self"))
                // Any key a row in hand holds: its own (`issue.id`) or a relation's
                // (`asset.project_id`, the row it points at, in the same tenant).
                || row(&a.value)
        }
        Expr::List(l) => {
            !l.elts.is_empty() && l.elts.iter().all(|x| is_loaded_pk(x, row, depth + 1))
        }
        Expr::Tuple(t) => {
            !t.elts.is_empty() && t.elts.iter().all(|x| is_loaded_pk(x, row, depth + 1))
        }
        Expr::Set(s) => {
            !s.elts.is_empty() && s.elts.iter().all(|x| is_loaded_pk(x, row, depth + 1))
        }
        Expr::ListComp(c) => comp_elt(&c.elt, &c.generators, row, depth, is_loaded_pk),
        // A row in hand (`pk=issue`), or a key one holds (`id=exporter_id` after `for name,
        // exporter_id in qs.values_list(...)`).
        Expr::Name(_) => row(e),
        // `id=OuterRef("pk")`: the outer query's own row, in a correlated subquery.
        Expr::Call(c) => match &*c.func {
            Expr::Name(n) => n.id == "OuterRef",
            Expr::Attribute(a) => a.attr.id == "OuterRef",
            _ => false,
        },
        Expr::SetComp(c) => comp_elt(&c.elt, &c.generators, row, depth, is_loaded_pk),
        Expr::Generator(g) => comp_elt(&g.elt, &g.generators, row, depth, is_loaded_pk),
        _ => false,
    }
}

/// Does a name end like an id (`issue_id`, `ids`, `pk`)? Its value is a raw key, maybe from
/// a request, not a row read through a query.
fn id_like(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    ["id", "ids", "pk", "pks"].iter().any(|s| n.ends_with(s))
}

/// `self.kwargs["project_pk"]` (a view's URL keyword arguments) or `self.context["environment"]`
/// (a row a view put in a DRF serializer's context): values the view hands over, trusted like a
/// parameter on a relation (not as the queried model's own key). Not an id in the context
/// (`self.context["project_id"]`): views put the request's payload there too (plane's draft
/// issues: `context={"project_id": request.data["project_id"]}`).
fn is_view_context(e: &Expr) -> bool {
    let Expr::Subscript(sub) = e else {
        return false;
    };
    let Expr::StringLiteral(key) = &*sub.slice else {
        return false;
    };
    let Expr::Attribute(a) = &*sub.value else {
        return false;
    };
    matches!(&*a.value, Expr::Name(n) if n.id == "self")
        && match a.attr.id.as_str() {
            "kwargs" => true,
            "context" => !id_like(key.value.to_str()),
            _ => false,
        }
}

/// Down a chain of query methods (`x.filter(...).values_list(...)`): what they are called on, and
/// how many there are; `None` when another call is in the chain, or a method a dict has too
/// (`request.data.get("ids")`, `self.map.values()`).
fn under_row_calls(e: &Expr) -> Option<(&Expr, u32)> {
    let mut cur = e;
    let mut calls = 0;
    while let Expr::Call(c) = cur {
        let Expr::Attribute(a) = &*c.func else {
            return None;
        };
        calls += 1;
        let method = a.attr.id.as_str();
        let dict_like = method == "get" || (method == "values" && c.arguments.is_empty());
        if !ROW_METHODS.contains(&method) || dict_like || calls > 16 {
            return None;
        }
        cur = &a.value;
    }
    Some((cur, calls))
}

/// Builtins that copy a collection (`list(qs)`, `set(ids)`): the copy holds what it held.
const COLLECTION_BUILDERS: &[&str] = &["list", "set", "tuple", "sorted", "frozenset"];

/// `list(x)`, `set(x)`, `sorted(x, key=...)`: `x` (what a `pk__in=` subquery reads the same
/// way).
pub(super) fn unwrap_builder(e: &Expr) -> &Expr {
    if let Expr::Call(c) = e
        && let Expr::Name(n) = &*c.func
        && COLLECTION_BUILDERS.contains(&n.id.as_str())
        && let [inner] = &*c.arguments.args
    {
        return inner;
    }
    e
}

/// QuerySet methods that end a chain whose value is rows (or their keys) of a query.
const ROW_METHODS: &[&str] = &[
    "all",
    "filter",
    "exclude",
    "values",
    "values_list",
    "only",
    "defer",
    "order_by",
    "distinct",
    "select_related",
    "prefetch_related",
    "get",
    "first",
    "last",
    "none",
];

/// Is a lookup's value a model instance or rows already read (see
/// [`QuerySite::instance_keywords`])?
fn is_instance_value(e: &Expr, row: &dyn Fn(&Expr) -> bool, depth: u32) -> bool {
    if depth > 8 {
        return false;
    }
    let all = |elts: &[Expr]| {
        !elts.is_empty() && elts.iter().all(|x| is_instance_value(x, row, depth + 1))
    };
    match e {
        Expr::Name(n) => !id_like(&n.id) || row(e),
        // Any attribute of a row in hand (`us.id`, `asset.project_id`) is a key it holds.
        Expr::Attribute(a) => {
            a.attr.id == "pk"
                || matches!(&*a.value, Expr::Name(n) if n.id == "self")
                || row(&a.value)
                || !id_like(&a.attr.id)
        }
        Expr::Call(c) => match &*c.func {
            Expr::Name(n) => matches!(n.id.as_str(), "OuterRef" | "Subquery"),
            Expr::Attribute(a) => {
                a.attr.id == "OuterRef"
                    || a.attr.id == "Subquery"
                    || (ROW_METHODS.contains(&a.attr.id.as_str())
                        && matches!(&*a.value, Expr::Attribute(_) | Expr::Call(_)))
            }
            _ => false,
        },
        Expr::List(l) => all(&l.elts),
        Expr::Tuple(t) => all(&t.elts),
        Expr::Set(s) => all(&s.elts),
        Expr::ListComp(c) => comp_elt(&c.elt, &c.generators, row, depth, is_instance_value),
        Expr::SetComp(c) => comp_elt(&c.elt, &c.generators, row, depth, is_instance_value),
        Expr::Generator(g) => comp_elt(&g.elt, &g.generators, row, depth, is_instance_value),
        _ => false,
    }
}

/// How a lookup value is judged given what counts as a row in hand ([`is_loaded_pk`],
/// [`is_instance_value`]).
type ValueJudge = fn(&Expr, &dyn Fn(&Expr) -> bool, u32) -> bool;

/// A comprehension's element judged by `judge`, with its one loop variable counted as a row when
/// the loop runs over instances or rows (`[p.id for p in products]`: `products`, `self.items`, a
/// query chain); `.pk` of anything counts for [`is_loaded_pk`] anyway.
fn comp_elt(
    elt: &Expr,
    generators: &[ast::Comprehension],
    row: &dyn Fn(&Expr) -> bool,
    depth: u32,
    judge: ValueJudge,
) -> bool {
    let target = match generators {
        [g] => match &g.target {
            Expr::Name(t) if is_instance_value(&g.iter, row, depth + 1) => Some(&t.id),
            _ => None,
        },
        _ => None,
    };
    match target {
        Some(t) => judge(
            elt,
            &|e: &Expr| matches!(e, Expr::Name(n) if n.id == *t) || row(e),
            depth + 1,
        ),
        None => judge(elt, row, depth + 1),
    }
}

/// The keywords of a filtering call's arguments, with those of its `Q(...)` objects.
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

/// A `Q` expression: `Q(...)`, and `&`/`|` of those (not `~Q(...)`, which pins nothing).
pub(super) fn is_q_expr(e: &Expr) -> bool {
    fn go(e: &Expr, depth: u32) -> bool {
        match e {
            Expr::Call(c) => is_q_call(c),
            Expr::BinOp(b) if depth < 16 => {
                matches!(b.op, ast::Operator::BitAnd | ast::Operator::BitOr)
                    && go(&b.left, depth + 1)
                    && go(&b.right, depth + 1)
            }
            _ => false,
        }
    }
    go(e, 0)
}

/// `Q(...)` or `models.Q(...)`.
fn is_q_call(c: &ast::ExprCall) -> bool {
    match &*c.func {
        Expr::Name(n) => n.id == "Q",
        Expr::Attribute(a) => a.attr.id == "Q",
        _ => false,
    }
}

/// Keywords of `Q(...)` objects, through `&`, `|` and `~`.
pub(super) fn collect_q_keywords(e: &Expr, out: &mut Vec<Name>, depth: u32) {
    if depth > 16 {
        return;
    }
    match e {
        Expr::Call(c) if is_q_call(c) => collect_filter_keywords(&c.arguments, out),
        Expr::BinOp(b) if matches!(b.op, ast::Operator::BitAnd) => {
            // `Q(tenant=t) & Q(...)`: the tenant predicate holds for the whole filter.
            collect_q_keywords(&b.left, out, depth + 1);
            collect_q_keywords(&b.right, out, depth + 1);
        }
        _ => {}
    }
}

/// The root name of a call to a registry lookup (`apps.get_model(...)`, `get_user_model()`,
/// `swapper.load_model(...)`): a call whose callee is a dotted name ending in one of
/// [`MODEL_LOOKUPS`].
fn registry_lookup_root(e: &Expr) -> Option<&ast::ExprName> {
    let Expr::Call(call) = e else {
        return None;
    };
    let (last, mut cur) = match &*call.func {
        Expr::Name(n) => return MODEL_LOOKUPS.contains(&n.id.as_str()).then_some(n),
        Expr::Attribute(a) => (&a.attr.id, &*a.value),
        _ => return None,
    };
    if !MODEL_LOOKUPS.contains(&last.as_str()) {
        return None;
    }
    while let Expr::Attribute(a) = cur {
        cur = &a.value;
    }
    match cur {
        Expr::Name(n) => Some(n),
        _ => None,
    }
}

/// The string-literal positional arguments of a call (`values_list("issue_id", flat=True)`).
fn string_args(call: &ast::ExprCall) -> Vec<Name> {
    call.arguments
        .args
        .iter()
        .filter_map(|a| match a {
            Expr::StringLiteral(s) => Some(Name::new(s.value.to_str())),
            _ => None,
        })
        .collect()
}

/// The methods a method calls on its receiver, when calling methods is all it does with it
/// ([`SelfCallsOnly`]); `None` at the first other use.
pub(super) fn self_calls_only(f: &ast::StmtFunctionDef) -> Option<ThinVec<(Name, bool)>> {
    let recv = f
        .parameters
        .posonlyargs
        .iter()
        .chain(&f.parameters.args)
        .next()
        .map(|p| p.parameter.name.id.clone());
    let mut walk = SelfUses {
        recv,
        calls: ThinVec::new(),
        other: false,
    };
    for stmt in &f.body {
        walk.visit_stmt(stmt);
        if walk.other {
            return None;
        }
    }
    Some(walk.calls)
}

struct SelfUses {
    recv: Option<Name>,
    calls: ThinVec<(Name, bool)>,
    other: bool,
}

impl SelfUses {
    fn is_recv(&self, e: &Expr) -> bool {
        matches!((e, &self.recv), (Expr::Name(n), Some(r)) if n.id == *r)
    }

    /// `self` (`Some(false)`), or `self.get_queryset()` / `super().get_queryset()`
    /// (`Some(true)`).
    fn receiver_kind(&self, e: &Expr) -> Option<bool> {
        if self.is_recv(e) {
            return Some(false);
        }
        let Expr::Call(c) = e else { return None };
        let Expr::Attribute(a) = &*c.func else {
            return None;
        };
        let on_self = self.is_recv(&a.value)
            || matches!(&*a.value, Expr::Call(s) if matches!(&*s.func, Expr::Name(n) if n.id == "super"));
        (c.arguments.is_empty() && a.attr.id == "get_queryset" && on_self).then_some(true)
    }
}

impl<'a> Visitor<'a> for SelfUses {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if !self.other {
            visitor::walk_stmt(self, stmt);
        }
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if self.other {
            return;
        }
        match expr {
            Expr::Call(c) => {
                if let Expr::Attribute(a) = &*c.func
                    && let Some(via_queryset) = self.receiver_kind(&a.value)
                {
                    let call = (a.attr.id.clone(), via_queryset);
                    if !self.calls.contains(&call) {
                        self.calls.push(call);
                    }
                    self.visit_arguments(&c.arguments);
                    return;
                }
                // `super()` used any other way reaches the model's rows like `self`.
                if matches!(&*c.func, Expr::Name(n) if n.id == "super") {
                    self.other = true;
                    return;
                }
            }
            Expr::Name(_) if self.is_recv(expr) => {
                self.other = true;
                return;
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}
