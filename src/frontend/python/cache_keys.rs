//! Cache calls: the key argument classified as text with holes, a call, unknown or absent.

use super::*;

/// Methods of Django's cache API (and django-redis) that take a key or a key pattern.
pub const CACHE_KEY_METHODS: &[&str] = &[
    "get",
    "set",
    "add",
    "delete",
    "get_or_set",
    "touch",
    "incr",
    "decr",
    "has_key",
    "incr_version",
    "decr_version",
    "get_many",
    "set_many",
    "delete_many",
    "aget",
    "aset",
    "aadd",
    "adelete",
    "aget_or_set",
    "atouch",
    "aincr",
    "adecr",
    "ahas_key",
    "aincr_version",
    "adecr_version",
    "aget_many",
    "aset_many",
    "adelete_many",
    // django-redis
    "keys",
    "iter_keys",
    "delete_pattern",
    "ttl",
    "pttl",
    "expire",
    "pexpire",
    "expire_at",
    "persist",
    "lock",
];

/// `get_object_or_404(...)`, or a method call that reads one row (`....get(...)`, `.first()`:
/// [`ROW_READ_METHODS`]).
fn reads_one_row(call: &ast::ExprCall) -> bool {
    match &*call.func {
        Expr::Name(n) => n.id == "get_object_or_404",
        Expr::Attribute(a) => ROW_READ_METHODS.contains(&a.attr.id.as_str()),
        _ => false,
    }
}

impl<'a> Extractor<'a, '_> {
    /// The key argument as written, for grouping calls on the same key.
    pub(super) fn cache_key_ref(&self, args: &'a ast::Arguments) -> ExprRef {
        args.args
            .first()
            .or_else(|| {
                args.keywords
                    .iter()
                    .find(|k| k.arg.as_ref().is_some_and(|a| a.id == "key"))
                    .map(|k| &k.value)
            })
            .map_or(ExprRef::Other, to_ref)
    }

    /// `c.method(...)` where `c` is a function-local name whose last assignment so far is
    /// `caches[...]` (Django's `caches`, as the rules decide from the import): recorded as a cache
    /// call on that `caches[...]`, without a fix. Returns true if recorded (arguments visited).
    pub(super) fn local_caches_site(
        &mut self,
        base: &'a ast::ExprName,
        method: &Name,
        call: &'a Expr,
    ) -> bool {
        let Expr::Call(call) = call else {
            return false;
        };
        let Some(scope) = self
            .scopes
            .iter()
            .rev()
            .find(|s| s.locals.contains(&base.id))
        else {
            return false;
        };
        let Some(&value) = scope.assigned.get(&base.id) else {
            return false;
        };
        let Expr::Subscript(sub) = value else {
            return false;
        };
        let Expr::Name(caches) = &*sub.value else {
            return false;
        };
        let root = self.root_binding(&caches.id);
        if matches!(root, RootBinding::Local) {
            return false;
        }
        let key = self.cache_key(method, &call.arguments);
        let key_ref = self.cache_key_ref(&call.arguments);
        self.sites.cache_sites.push(CacheSite {
            receiver: to_ref(value),
            alias: match &*sub.slice {
                Expr::StringLiteral(lit) => Some(lit.value.to_str().to_string()),
                _ => None,
            },
            root,
            receiver_span: self.loc.span(base.range()),
            method: method.clone(),
            key,
            key_ref,
            via_local: true,
            span: self.loc.span(call.range()),
            root_scope: self.binding_scope(&caches.id),
            method_class: self.current_method.as_ref().map(|(c, _)| *c),
            scope: self.scope_id(),
        });
        self.visit_arguments(&call.arguments);
        true
    }

    /// The values a local name may hold when its last assignment is `x = x or y` (or any
    /// `a or b`): each operand, with `x` itself standing for what it held before (`None` when
    /// that is not known). `None` for any other name.
    fn or_alternatives(&self, e: &'a Expr) -> Option<Vec<Option<&'a Expr>>> {
        let Expr::Name(n) = e else {
            return None;
        };
        let scope = self
            .scopes
            .iter()
            .rev()
            .find(|s| s.assigned.contains_key(&n.id) || s.locals.contains(&n.id))?;
        let Some(Expr::BoolOp(b)) = scope.assigned.get(&n.id).copied() else {
            return None;
        };
        if b.op != ast::BoolOp::Or {
            return None;
        }
        Some(
            b.values
                .iter()
                .map(|v| match v {
                    Expr::Name(m) if m.id == n.id => scope.or_prev.get(&n.id).copied(),
                    other => Some(other),
                })
                .collect(),
        )
    }

    /// The last value assigned so far to a local name of the innermost function that binds it.
    fn local_assigned(&self, name: &Name) -> Option<&'a Expr> {
        for scope in self.scopes.iter().rev() {
            if let Some(v) = scope.assigned.get(name) {
                return Some(v);
            }
            if scope.locals.contains(name) || scope.imports.contains_key(name) {
                break;
            }
        }
        None
    }

    /// An interpolated value, through a local variable's last assignment so far
    /// (`key = helper(x); f"{key}:y"` interpolates `helper(x)`). When an attribute or a call's
    /// argument starts at a local holding one row read (`el = get_object_or_404(ExportLog,
    /// ...)`, then `str(el.pk)`), the value as written and the value with the local replaced by
    /// its read (`str(get_object_or_404(ExportLog, ...).pk)`, the key of a row the rules can
    /// place) are both kept, as the arguments of a call of nothing (`Other(written, read)`): the
    /// rules take either.
    fn key_hole(&self, e: &'a Expr) -> ExprRef {
        if let Expr::Name(n) = e
            && let Some(v) = self.local_assigned(&n.id)
        {
            return to_ref(v);
        }
        match self.hole_through_rows(e, 0) {
            Some(read) => ExprRef::Call(Box::new(CallRef {
                func: ExprRef::Other,
                args: vec![to_ref(e), read],
                keywords: Vec::new(),
            })),
            None => to_ref(e),
        }
    }

    /// `n.a.b` or `f(n.a)` where the local `n` holds a call's result: with `n` replaced by that
    /// call. `None` when no such local is in it.
    fn hole_through_rows(&self, e: &'a Expr, depth: u32) -> Option<ExprRef> {
        if depth > 4 {
            return None;
        }
        match e {
            // Only a row read (`get_object_or_404(...)`, `....get(...)`, `.first()`): any other
            // call's result is kept under the local's name, which the rules may read
            // (`tenant = get_tenant(request)`).
            Expr::Name(n) => match self.local_assigned(&n.id)? {
                v @ Expr::Call(call) if reads_one_row(call) => Some(to_ref(v)),
                _ => None,
            },
            Expr::Attribute(a) => Some(ExprRef::Attr(
                Box::new(self.hole_through_rows(&a.value, depth + 1)?),
                a.attr.id.clone(),
            )),
            Expr::Call(c) if !c.arguments.args.is_empty() => {
                let args: Vec<Option<ExprRef>> = c
                    .arguments
                    .args
                    .iter()
                    .take(4)
                    .map(|a| self.hole_through_rows(a, depth + 1))
                    .collect();
                if args.iter().all(Option::is_none) {
                    return None;
                }
                Some(ExprRef::Call(Box::new(CallRef {
                    func: to_ref(&c.func),
                    args: args
                        .into_iter()
                        .zip(&c.arguments.args)
                        .map(|(s, a)| s.unwrap_or_else(|| to_ref(a)))
                        .collect(),
                    keywords: Vec::new(),
                })))
            }
            _ => None,
        }
    }

    /// `self.<attr> = <key>` in an `__init__`, for an attribute whose name holds `key` (see
    /// `KeyAttr`).
    pub(super) fn note_key_attr(&mut self, a: &'a ast::StmtAssign) {
        let Some((class, method)) = &self.current_method else {
            return;
        };
        if method != "__init__" {
            return;
        }
        let [Expr::Attribute(target)] = &a.targets[..] else {
            return;
        };
        if !matches!(&*target.value, Expr::Name(n) if n.id == "self")
            || !target.attr.id.to_ascii_lowercase().contains("key")
        {
            return;
        }
        let class = *class;
        if let key @ (KeyExpr::Text { .. } | KeyExpr::Call { .. } | KeyExpr::Many(_)) =
            self.classify_key(&a.value, 0)
        {
            self.facts.key_attrs.push(KeyAttr {
                class,
                attr: target.attr.id.clone(),
                key,
            });
        }
    }

    /// A `return` in a function whose name holds `key`: the key it gives, if a string (see
    /// `KeyReturn`).
    pub(super) fn note_key_return(&mut self, value: Option<&'a Expr>) {
        if self.scopes.last().is_none_or(|s| s.returned_keys.is_none()) {
            return;
        }
        let key = value.map(|v| self.classify_key(v, 0));
        let Some(scope) = self.scopes.last_mut() else {
            return;
        };
        match key {
            Some(k @ (KeyExpr::Text { .. } | KeyExpr::Call { .. } | KeyExpr::Many(_))) => {
                if let Some(keys) = &mut scope.returned_keys {
                    keys.push(k);
                }
            }
            _ => scope.returned_keys = None,
        }
    }

    pub(super) fn cache_key(&self, method: &str, args: &'a ast::Arguments) -> KeyExpr {
        let key_arg = args.args.first().or_else(|| {
            args.keywords
                .iter()
                .find(|k| {
                    k.arg.as_ref().is_some_and(|a| {
                        matches!(
                            a.id.as_str(),
                            "key" | "keys" | "data" | "mapping" | "pattern"
                        )
                    })
                })
                .map(|k| &k.value)
        });
        match key_arg {
            Some(Expr::Starred(_)) | None => {
                if args.args.is_empty()
                    && args.keywords.is_empty()
                    && matches!(method, "keys" | "iter_keys")
                {
                    KeyExpr::Unknown
                } else if args.args.is_empty() && args.keywords.is_empty() {
                    KeyExpr::NoKey
                } else {
                    KeyExpr::Unknown
                }
            }
            Some(e) => self.classify_key(e, 0),
        }
    }

    pub(super) fn classify_key(&self, e: &'a Expr, depth: u32) -> KeyExpr {
        if depth > 4 {
            return KeyExpr::Unknown;
        }
        match e {
            Expr::StringLiteral(s) => KeyExpr::text(s.value.to_str(), Vec::new()),
            Expr::FString(f) => {
                let text = fstring_text(f);
                let lead = text.split(HOLE).next().unwrap_or_default();
                let exprs = fstring_hole_exprs(f);
                // A hole holding one of several values (`key = key or learn_cache_key(...)`):
                // the key carries the tenant only if it does with each of them.
                if let Some((i, alternatives)) = exprs
                    .iter()
                    .enumerate()
                    .find_map(|(i, e)| Some((i, self.or_alternatives(e)?)))
                {
                    return KeyExpr::Many(
                        alternatives
                            .into_iter()
                            .map(|alt| {
                                let holes = exprs
                                    .iter()
                                    .enumerate()
                                    .map(|(j, e)| match (j == i, alt) {
                                        (true, Some(alt)) => self.key_hole(alt),
                                        (true, None) => ExprRef::Other,
                                        (false, _) => self.key_hole(e),
                                    })
                                    .collect();
                                KeyExpr::text(lead, holes)
                            })
                            .collect(),
                    );
                }
                let holes = exprs.into_iter().map(|e| self.key_hole(e)).collect();
                KeyExpr::text(lead, holes)
            }
            // `a or b`: either value may be the key.
            Expr::BoolOp(b) if b.op == ast::BoolOp::Or => KeyExpr::Many(
                b.values
                    .iter()
                    .map(|v| self.classify_key(v, depth + 1))
                    .collect(),
            ),
            Expr::BinOp(b) if matches!(b.op, ast::Operator::Add | ast::Operator::Mod) => {
                let (lead, mut holes) = match self.classify_key(&b.left, depth + 1) {
                    KeyExpr::Text { lead, holes } => (lead, holes),
                    // `prefix + ":" + x`: no literal lead, but the values are still read.
                    KeyExpr::Unknown => (String::new(), vec![self.key_hole(&b.left)]),
                    other => return other,
                };
                // `"k:%s" % (a, b)` and `"k:" + x`: the right side is interpolated.
                match &*b.right {
                    Expr::Tuple(t) => holes.extend(t.elts.iter().map(|e| self.key_hole(e))),
                    other => holes.push(self.key_hole(other)),
                }
                KeyExpr::Text { lead, holes }
            }
            Expr::Call(c) => {
                if let Expr::Attribute(a) = &*c.func
                    && a.attr.id == "format"
                    && let Expr::StringLiteral(lit) = &*a.value
                {
                    let holes = c
                        .arguments
                        .args
                        .iter()
                        .chain(c.arguments.keywords.iter().map(|k| &k.value))
                        .map(|e| self.key_hole(e))
                        .collect();
                    let text = lit.value.to_str();
                    return KeyExpr::text(text.split('{').next().unwrap_or(text), holes);
                }
                // `cache.delete_many(cache.keys(f"*{key}*"))`: the keys match the pattern.
                if let Expr::Attribute(a) = &*c.func
                    && matches!(a.attr.id.as_str(), "keys" | "iter_keys")
                    && let Some(pattern) = c.arguments.args.first()
                {
                    return self.classify_key(pattern, depth + 1);
                }
                KeyExpr::Call {
                    func: to_ref(&c.func),
                    args: c
                        .arguments
                        .args
                        .iter()
                        .chain(c.arguments.keywords.iter().map(|k| &k.value))
                        .map(|e| self.key_hole(e))
                        .collect(),
                }
            }
            Expr::Name(n) => {
                if let Some(alternatives) = self.or_alternatives(e) {
                    return KeyExpr::Many(
                        alternatives
                            .into_iter()
                            .map(|alt| match alt {
                                Some(alt) => self.classify_key(alt, depth + 1),
                                None => KeyExpr::Unknown,
                            })
                            .collect(),
                    );
                }
                // The innermost function that binds the name: its last assignment so far (a
                // parameter or a name bound otherwise is not known).
                for scope in self.scopes.iter().rev() {
                    if let Some(v) = scope.assigned.get(&n.id) {
                        return self.classify_key(v, depth + 1);
                    }
                    if scope.locals.contains(&n.id) || scope.imports.contains_key(&n.id) {
                        return KeyExpr::Unknown;
                    }
                }
                // A module-level constant: `KEY = "tenant:..."`.
                match self.facts.binding(&n.id) {
                    Some(Binding::Assign(ExprRef::Str(s))) => KeyExpr::text(s, Vec::new()),
                    // `KEY = tenant_key("x")`: a key helper's result.
                    Some(Binding::Assign(ExprRef::Call(c))) => KeyExpr::Call {
                        func: c.func.clone(),
                        args: c
                            .args
                            .iter()
                            .chain(c.keywords.iter().map(|(_, v)| v))
                            .cloned()
                            .collect(),
                    },
                    _ => KeyExpr::Unknown,
                }
            }
            Expr::List(ast::ExprList { elts, .. })
            | Expr::Tuple(ast::ExprTuple { elts, .. })
            | Expr::Set(ast::ExprSet { elts, .. }) => KeyExpr::Many(
                elts.iter()
                    .map(|e| self.classify_key(e, depth + 1))
                    .collect(),
            ),
            // A value used as the whole key (`environment_cache.get(self.api_key)`,
            // `cache.get(self.pk)`): read as the one interpolated value of a key.
            Expr::Attribute(_) => KeyExpr::text("", vec![self.key_hole(e)]),
            Expr::Dict(d) => KeyExpr::Many(
                d.items
                    .iter()
                    .map(|item| match &item.key {
                        Some(k) => self.classify_key(k, depth + 1),
                        None => KeyExpr::Unknown,
                    })
                    .collect(),
            ),
            _ => KeyExpr::Unknown,
        }
    }
}
