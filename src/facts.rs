//! Per-file facts: everything the rules and fixes need from one file, extracted in a single
//! parse. Facts own their data (no syntax tree is kept), so the whole project's facts stay small.

use serde::{Deserialize, Serialize};
pub use thin_vec::ThinVec;

use crate::locate::{LineIndex, Span};

pub type Name = ruff_python_ast::name::Name;

/// A reference to a value, reduced to the shapes name resolution understands.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExprRef {
    /// `name`
    Name(Name),
    /// `value.attr`
    Attr(Box<ExprRef>, Name),
    /// `func(args..., kw=...)`
    Call(Box<CallRef>),
    /// `value[...]`
    Subscript(Box<ExprRef>),
    /// A string literal (e.g. a lazy model reference `"tenancy.Tenant"`).
    Str(String),
    /// Anything else.
    Other,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct CallRef {
    pub func: ExprRef,
    pub args: Vec<ExprRef>,
    pub keywords: Vec<(Name, ExprRef)>,
}

impl ExprRef {
    /// `a.b.c` as a dotted string, if the expression is a plain dotted name.
    pub fn dotted(&self) -> Option<String> {
        match self {
            ExprRef::Name(n) => Some(n.to_string()),
            ExprRef::Attr(v, a) => v.dotted().map(|d| format!("{d}.{a}")),
            _ => None,
        }
    }

    /// The root name of a dotted expression (`a` for `a.b.c`).
    pub fn root_name(&self) -> Option<&Name> {
        match self {
            ExprRef::Name(n) => Some(n),
            ExprRef::Attr(v, _) | ExprRef::Subscript(v) => v.root_name(),
            _ => None,
        }
    }

    pub fn as_call(&self) -> Option<&CallRef> {
        match self {
            ExprRef::Call(c) => Some(c),
            _ => None,
        }
    }
}

/// Query methods whose result is one row read (or written): `get`, `first`, `create`, ... The
/// extractor ends a chain there and follows locals holding such a row; the rules place a key
/// read from one.
pub const ROW_READ_METHODS: &[&str] = &[
    "get",
    "first",
    "last",
    "latest",
    "earliest",
    "create",
    "aget",
    "afirst",
    "alast",
    "alatest",
    "aearliest",
    "acreate",
];

/// What a name is bound to in a scope.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Binding {
    /// A class defined in this file (index into [`FileFacts::classes`]).
    Class(u32),
    /// `import a.b` binds `a` to module `a`; `import a.b as c` binds `c` to module `a.b`.
    /// (Module paths are `Name`s: most are short enough to be held inline, no allocation.)
    Module(Name),
    /// `from module import name` (module already made absolute).
    FromImport { module: Name, name: Name },
    /// `name = value` at module level.
    Assign(ExprRef),
    /// A function definition, or anything else that is not worth resolving.
    Other,
}

/// A module-level binding.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BindingFact {
    pub name: Name,
    pub binding: Binding,
}

/// A file's module-level bindings in source order, with a hash table from each name to its last
/// binding so a lookup is one hash probe, not a scan (a module of 100k assignments would
/// otherwise make every call site's lookup linear). The table holds only indices into the list
/// (about 5 bytes a binding, where a map keyed by a copy of the name would take 30 or more: the
/// facts of the whole project stay in memory). Only the list is serialized; the table is rebuilt
/// when facts are read back.
#[derive(Clone, Default)]
pub struct Bindings {
    list: Vec<BindingFact>,
    /// Index in `list` of the last binding of each name, hashed by the name.
    last: hashbrown::HashTable<u32>,
}

fn name_hash(name: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(name)
}

impl std::fmt::Debug for Bindings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.list.fmt(f)
    }
}

impl Bindings {
    pub fn push(&mut self, fact: BindingFact) {
        let i = u32::try_from(self.list.len()).expect("fewer than 4G bindings in one file");
        let hash = name_hash(&fact.name);
        let list = &self.list;
        match self
            .last
            .find_mut(hash, |&j| list[j as usize].name == fact.name)
        {
            Some(slot) => *slot = i,
            None => {
                self.last
                    .insert_unique(hash, i, |&j| name_hash(&list[j as usize].name));
            }
        }
        self.list.push(fact);
    }

    pub fn shrink_to_fit(&mut self) {
        self.list.shrink_to_fit();
        let list = &self.list;
        self.last
            .shrink_to_fit(|&j| name_hash(&list[j as usize].name));
    }

    /// The last binding of `name`, as at run time. One hash probe.
    pub fn get(&self, name: &str) -> Option<&Binding> {
        let &i = self
            .last
            .find(name_hash(name), |&j| self.list[j as usize].name == name)?;
        Some(&self.list[i as usize].binding)
    }

    /// How many distinct names are bound (for tests of the table).
    pub fn distinct_names(&self) -> usize {
        self.last.len()
    }
}

impl std::ops::Deref for Bindings {
    type Target = [BindingFact];
    fn deref(&self) -> &[BindingFact] {
        &self.list
    }
}

impl<'a> IntoIterator for &'a Bindings {
    type Item = &'a BindingFact;
    type IntoIter = std::slice::Iter<'a, BindingFact>;
    fn into_iter(self) -> Self::IntoIter {
        self.list.iter()
    }
}

impl FromIterator<BindingFact> for Bindings {
    fn from_iter<I: IntoIterator<Item = BindingFact>>(iter: I) -> Self {
        let mut b = Bindings::default();
        for fact in iter {
            b.push(fact);
        }
        b
    }
}

impl Serialize for Bindings {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.list.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Bindings {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<BindingFact>::deserialize(d)?.into_iter().collect())
    }
}

/// An import statement, kept for fixes (deduplication, removal) and insertion points.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportStmt {
    /// Whole statement.
    pub span: Span,
    /// `None` for `import x`; the absolute module for `from x import ...`.
    pub from_module: Option<Name>,
    /// The module as written (with leading dots for relative imports), for regenerating it.
    pub written_module: Name,
    pub names: Vec<(Name, Option<Name>)>,
    /// 0 for module level, otherwise the id of the enclosing function scope.
    pub scope: u32,
}

/// `name = <value>` directly in a class body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassAssign {
    pub name: Name,
    pub value: ExprRef,
    /// The value expression (for fixes that replace it).
    pub value_span: Span,
}

/// Options of the inner `class Meta`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct MetaFacts {
    pub abstract_: Option<bool>,
    pub proxy: Option<bool>,
    pub default_manager_name: Option<String>,
    pub base_manager_name: Option<String>,
    pub db_table: Option<String>,
    pub app_label: Option<String>,
    /// `class Meta(Base.Meta)` inherits options from an abstract base's Meta.
    pub inherits_meta: bool,
    /// The class declares its own `class Meta`.
    pub declared: bool,
}

/// Where and how a statement can be added as the first statement of a class body.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct BodyInsert {
    /// Range to replace (empty for a pure insertion).
    pub span: Span,
    /// Text before the new statement (e.g. the body's indentation).
    pub prefix: String,
    /// Text after the new statement.
    pub suffix: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ClassFact {
    pub name: Name,
    /// The class name identifier (where class diagnostics are reported).
    pub name_span: Span,
    pub bases: ThinVec<ExprRef>,
    pub assigns: ThinVec<ClassAssign>,
    pub methods: ThinVec<Name>,
    pub meta: MetaFacts,
    /// django-multitenant's tenant column: `tenant_id = "account_id"` on the class, or
    /// `class TenantMeta: tenant_field_name = "account_id"`.
    pub tenant_column: Option<String>,
    pub decorators: ThinVec<ExprRef>,
    /// Defined at module level (and so bound in the module namespace).
    pub top_level: bool,
}

/// The receiver of a query or cache call site, with how its root name is bound where it is used.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum RootBinding {
    /// Look the root name up in the module namespace.
    Module,
    /// The root name is imported inside the enclosing function.
    LocalImport(Box<Binding>),
    /// The root name is a local variable or parameter: never resolvable.
    Local,
}

/// `Receiver.manager.method(...)...` call chains.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct QuerySite {
    pub receiver: ExprRef,
    pub root: RootBinding,
    pub manager: Name,
    pub method: Name,
    /// Keyword argument names of every call in the chain that filters (`filter`, `get`, ...),
    /// including the keywords of `Q(...)` arguments combined with `&`, of a `**dict` literal or
    /// of a `**name` whose last assignment in the function is a dict literal, and of a
    /// `get_object_or_404(<this chain>, ...)` shortcut around it.
    pub filter_keywords: ThinVec<Name>,
    /// The keyword arguments (of `filter_keywords`) whose value is a model instance or rows
    /// already read: a name or attribute that is not id-like (`issue`, `self.project`), `<x>.pk`,
    /// `self.<x>`, `OuterRef(...)`, a query chain, or a list/comprehension of those. A relation
    /// pinned to such a value pins its tenant; a raw id (`issue_id=issue_id`) may be anyone's.
    #[serde(default)]
    pub instance_keywords: ThinVec<Name>,
    /// The keyword arguments (of `filter_keywords`, not instances) whose value is a parameter of
    /// the enclosing function not reassigned before the call (a view's URL keyword argument, a
    /// task's argument): a raw id that a permission check or the caller has already seen.
    #[serde(default)]
    pub param_keywords: ThinVec<Name>,
    /// `Q(...) | Q(...)` arguments of filtering calls: per `|` expression, the keywords of each
    /// branch, with whether its value is an instance or rows in hand (the filter constrains a
    /// field when every branch does).
    #[serde(default)]
    pub or_groups: ThinVec<Vec<Vec<(Name, bool)>>>,
    /// Start offsets of the query chains passed as `pk__in=`/`id__in=` (also inside
    /// `list(...)`, `set(...)`, `tuple(...)`): the rows are those of that subquery.
    #[serde(default)]
    pub pk_in_subqueries: ThinVec<u32>,
    /// `<relation>__in=` (or `<relation>_id__in=`) a query chain, by the lookup without `__in`
    /// and the chain's start offset.
    #[serde(default)]
    pub rel_in_subqueries: ThinVec<(Name, u32)>,
    /// A `pk`/`id` lookup on the primary key of a model instance already in hand: `self.pk`,
    /// `self.id`, `<expr>.pk`, or a list/comprehension of those.
    #[serde(default)]
    pub pk_of_loaded: bool,
    /// A `pk`/`id` lookup on the `.id` of a parameter of the enclosing function not reassigned
    /// before the call (`id=obj.id`, a row the caller passed in): trusted like the raw ids of
    /// `param_keywords` unless `strict-parent-lookups`.
    #[serde(default)]
    pub pk_of_param: bool,
    /// A `pk`/`id` lookup on the `.id`/`.pk` of a local assigned from a call of a project
    /// function (`snapshot = take_snapshot(...)`, then `id=snapshot.id`): the callee, for the
    /// rules to tell whether it returns a row (`FunctionFact::returns_row`).
    #[serde(default)]
    pub pk_of_call: Option<ExprRef>,
    /// `**self.<attr>["<key>"]` arguments of filtering calls (attribute, key): a dict of
    /// lookups built elsewhere (see [`LinkTarget::AttrCall`] and [`DictReturn`]).
    #[serde(default)]
    pub self_attr_splats: ThinVec<(Name, Name)>,
    /// Lookups whose value is the key of `self` (`object_id=self.pk`, `fk_id=self.id`) or its
    /// content type (`content_type=ContentType.objects.get_for_model(self)`), in a method: with
    /// the class of the method, a generic relation pinned to the instance.
    #[serde(default)]
    pub self_key_keywords: ThinVec<Name>,
    /// The string arguments of the chain's `values_list(...)` / `values(...)` call: which
    /// column a `pk__in=` of another model's query reads (`values_list("issue_id", flat=True)`).
    #[serde(default)]
    pub values_fields: ThinVec<Name>,
    /// The methods called along the chain, from the manager on (`filter`, `for_company`, ...).
    #[serde(default)]
    pub calls: ThinVec<Name>,
    /// The chain calls `.none()`: an empty queryset that reads nothing.
    #[serde(default)]
    pub empty: bool,
    /// The chain is (inside) an argument of a `Prefetch(...)` call: Django restricts it to the
    /// rows related to the outer query's.
    #[serde(default)]
    pub in_prefetch: bool,
    /// The chain runs only for superusers: in the body of `if <x>.is_superuser:`, the `else` of
    /// `if not <x>.is_superuser:`, or after a guard `if not <x>.is_superuser: raise ...`, where
    /// a query over every tenant is the point.
    #[serde(default)]
    pub superuser_only: bool,
    /// Inside the body of a `for` loop over rows read by a query (`for project in
    /// Project.objects.filter(...)`, or a local holding such a query): work done for one row.
    #[serde(default)]
    pub in_row_loop: bool,
    /// From the start of the receiver to the end of the method name.
    pub span: Span,
    /// The innermost function scope (0: module level or a class body).
    pub scope: u32,
    /// Set when the chain is evaluated directly in a class body (at import time).
    pub class_ctx: Option<ClassCtx>,
}

/// Where in a class body an expression is evaluated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClassCtx {
    /// Index of the class in [`FileFacts::classes`].
    pub class: u32,
    /// The class attribute being assigned (`queryset = ...`).
    pub attr: Option<Name>,
    /// The keyword argument the expression is passed as (`queryset=...`), innermost.
    pub keyword: Option<Name>,
}

/// An argument value, reduced to what rules read: strings (SQL, settings), references, lists.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ArgValue {
    /// A string literal; f-strings and `+`/`%` concatenations keep their literal parts, with `{}`
    /// where a value is interpolated.
    Str(String),
    Ref(ExprRef),
    Seq(Vec<ArgValue>),
    /// `None`
    None,
    Other,
}

/// How to wrap the rest of a function body in `try`/`finally` after a statement (TEN401's fix).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct WrapRest {
    /// From the start of the line after the statement to the end of the body's last line.
    pub span: Span,
    /// The body's indentation.
    pub indent: String,
    /// One indentation level (`"    "` or `"\t"`).
    pub unit: String,
}

impl WrapRest {
    /// The text of `span` in `source`, indented one more level, ending with a newline.
    pub fn reindented(&self, source: &str, newline: &str) -> String {
        let text = source
            .get(self.span.start as usize..self.span.end as usize)
            .unwrap_or_default();
        let mut out = String::with_capacity(text.len() + 64);
        for line in text.split_inclusive(['\n', '\r']) {
            // `\r\n` splits as `..\r` + `\n`; the lone `\n` is blank and gets no indentation.
            if !line.trim().is_empty() {
                out.push_str(&self.unit);
            }
            out.push_str(line);
        }
        if !out.ends_with(['\n', '\r']) {
            out.push_str(newline);
        }
        out
    }
}

/// A call whose callee's last name is one of interest to the rules (SQL execution, tenant
/// setters and clearers, scope bypasses, `cache_page`, registrations, `ContextVar.set`, ...).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CallSite {
    /// The callee's last name, as imported (`activate_tenant` for `activate(...)` after
    /// `from tenancy import activate_tenant as activate`).
    pub name: Name,
    pub func: ExprRef,
    pub root: RootBinding,
    /// The whole call.
    pub span: Span,
    /// The innermost function scope (0: module level or a class body).
    pub scope: u32,
    pub args: ThinVec<ArgValue>,
    /// Where each of `args` is.
    pub arg_spans: ThinVec<Span>,
    pub keywords: ThinVec<(Name, ArgValue)>,
    /// Inside a `finally:` block of its function.
    pub in_finally: bool,
    /// The context expression of a `with` statement.
    pub with_item: bool,
    /// Part of a decorator expression.
    pub in_decorator: bool,
    /// Inside the body of a `for` loop over rows read by a query (see
    /// [`QuerySite::in_row_loop`]).
    #[serde(default)]
    pub in_row_loop: bool,
    /// For a `with` statement's context expression: its body (see [`WithBody`]).
    #[serde(default)]
    pub with_body: Option<WithBody>,
}

/// The body of a `with` statement, for what its context manager covers.
#[derive(Clone, Copy, Debug, Serialize, Deserialize)]
pub struct WithBody {
    pub span: Span,
    /// The body calls something through a local name, a parameter, `self` or `super()`
    /// (`obj.save()`, `self.queryset.filter(...)`, `super().update(...)`), or a callee that is
    /// not a plain dotted name, or defines a class (its metaclass runs): calls the
    /// rules cannot place. Calls through module-level or imported names are in
    /// [`Sites::calls`].
    pub local_calls: bool,
}

impl CallSite {
    /// The callee's last name: `execute` for `cursor.execute(...)`; for a name imported under
    /// an alias, the original name.
    pub fn name(&self) -> &str {
        self.name.as_str()
    }
}

/// A filtering call on `self` (or `super()`, `self.get_queryset()`) in a method of a class:
/// `def for_company(self, c): return self.filter(multi_tenant_company=c)`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MethodFilter {
    /// Index of the class in [`FileFacts::classes`].
    pub class: u32,
    pub method: Name,
    pub keywords: Vec<Name>,
}

/// In a method of a class: a call of another method of the same object, or what
/// `get_queryset` returns. Lets the rules follow a custom manager method through the helpers it
/// delegates to (`Manager.for_product(...)` returning `self.get_queryset().for_product(...)`,
/// which returns `self.filter(product=product)`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MethodLink {
    /// Index of the class in [`FileFacts::classes`].
    pub class: u32,
    pub method: Name,
    pub target: LinkTarget,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum LinkTarget {
    /// `self.helper(...)` (a method that is not a filtering method of Django's API).
    SelfMethod(Name),
    /// `self.get_queryset().helper(...)` or `super().get_queryset().helper(...)`.
    QuerysetMethod(Name),
    /// `get_queryset` returns `QuerySetClass(...)`: the class called.
    QuerysetClass(ExprRef),
    /// `self.<attr> = f(...)` where `f` is a plain or dotted name: the attribute holds what the
    /// function returns (`self.filters = get_analytics_filters(...)`); `ExprRef::Other` for a
    /// dict built in place (`self.filters = {...}`), whose keys are not read.
    AttrCall(Name, ExprRef),
}

/// A method of a class whose receiver (`self`, its first parameter) is used only to call
/// methods on it: `self.create(...)`, `self.helper(...)`, `self.get_queryset().helper(...)`,
/// `super().get_queryset().helper(...)`, or not at all. Any other use (`self.filter` passed
/// along, `self.model`, `return self`, `for x in self`, `super().filter(...)`) and the method is
/// not recorded. Lets the rules see that a custom manager method such as
/// `is_internal_document_media(media=...)` or `create_product_type(company)` reads no rows of
/// its model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SelfCallsOnly {
    /// Index of the class in [`FileFacts::classes`].
    pub class: u32,
    pub method: Name,
    /// The methods called on the receiver, each once, with whether the call was on
    /// `get_queryset()`'s result.
    pub calls: ThinVec<(Name, bool)>,
}

/// A function every `return` of which gives a dict literal whose string key `key` maps to a
/// dict literal (inline, or a local assigned one) with the string keys `keys` (for a
/// `filter(**self.filters["base_filters"])` whose dict such a function built).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DictReturn {
    /// Index in [`FileFacts::functions`].
    pub function: u32,
    pub key: Name,
    pub keys: ThinVec<Name>,
}

/// A function or method definition.
/// The key a function whose name holds `key` (`cache_key`, `get_cache_key`, a
/// `_timeout_cache_key` property) returns, when every `return` gives a string (literal, formatted
/// or built by a call); several returns give [`KeyExpr::Many`]. A cache call whose key is
/// `self.<that property>` or `self.<that method>(...)` is read as that key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyReturn {
    /// Index in [`FileFacts::functions`].
    pub function: u32,
    pub key: KeyExpr,
}

/// `self.<attr> = <key>` in the `__init__` of a class, for an attribute whose name holds `key`
/// (`self.UNITS_KEY = f"SPACE_{space.id}_UNITS"`): a cache call whose key is that attribute of
/// an instance (`CacheHelper(space).UNITS_KEY`, `self.UNITS_KEY`) is read as that key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyAttr {
    /// Index in [`FileFacts::classes`].
    pub class: u32,
    pub attr: Name,
    pub key: KeyExpr,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FunctionFact {
    pub name: Name,
    pub name_span: Span,
    /// The scope id of its body (sites carry it in their `scope`).
    pub scope: u32,
    /// The scope it is defined in (0: module level or a class body).
    pub parent_scope: u32,
    /// The class whose body defines it directly (a method).
    pub class: Option<u32>,
    pub decorators: ThinVec<ExprRef>,
    pub params: ThinVec<Name>,
    pub is_async: bool,
    /// Every `return` gives a row read by a query (`return M.objects.create(...)`, a local
    /// holding one) or nothing, and at least one gives a row: a caller's `x = f(...)` holds a
    /// model instance in hand.
    #[serde(default)]
    pub returns_row: bool,
}

/// `obj.attr = value` or `del obj.attr` where `obj` is not a local variable (thread-locals).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AttrStore {
    pub target: ExprRef,
    pub attr: Name,
    pub root: RootBinding,
    pub scope: u32,
    pub in_finally: bool,
    /// `del obj.attr` or `obj.attr = None`.
    pub clears: bool,
    pub span: Span,
}

/// A literal value of a module-level UPPER_CASE assignment (settings).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Lit {
    Str(String, Span),
    Seq(Vec<Lit>),
    Dict(Vec<(Lit, Lit)>),
    Bool(bool),
    /// A name or dotted reference (`SHARED_APPS`).
    Ref(ExprRef),
    Other,
}

impl Lit {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Lit::Str(s, _) => Some(s),
            _ => None,
        }
    }

    /// `dict[key]` for a literal dict with string keys.
    pub fn get(&self, key: &str) -> Option<&Lit> {
        match self {
            Lit::Dict(items) => items
                .iter()
                .rev()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SettingFact {
    pub name: Name,
    pub value: Lit,
    /// The assignment target.
    pub span: Span,
    /// `NAME += ...`
    pub augmented: bool,
}

/// How a cache key argument looks.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum KeyExpr {
    /// A literal or formatted string: its literal text up to the first interpolated value
    /// (at most 128 bytes), and the values it interpolates.
    Text { lead: String, holes: Vec<ExprRef> },
    /// An expression that is not read (a parameter, an attribute...).
    Unknown,
    /// A call whose result may be a tenant key: if the callee is a key helper, or one of its
    /// arguments (through a local's last assignment) is a tenant value.
    Call { func: ExprRef, args: Vec<ExprRef> },
    /// Several keys (`get_many([...])`): prefixed only if all are.
    Many(Vec<KeyExpr>),
    /// The method takes no key (`clear()`).
    NoKey,
}

impl KeyExpr {
    pub fn text(lead: &str, holes: Vec<ExprRef>) -> KeyExpr {
        let mut end = lead.len().min(128);
        while !lead.is_char_boundary(end) {
            end -= 1;
        }
        KeyExpr::Text {
            lead: lead[..end].to_string(),
            holes,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CacheSite {
    /// The receiver: `cache`, `dj.cache`, `caches["default"]`.
    pub receiver: ExprRef,
    pub root: RootBinding,
    pub receiver_span: Span,
    /// The alias of `caches["alias"]` when it is a string literal.
    pub alias: Option<String>,
    pub method: Name,
    pub key: KeyExpr,
    /// The key argument as written (a name, an attribute...), so calls on the same key can be
    /// grouped (`cache.get(k)` then `cache.incr(k)`); `Other` when there is none.
    pub key_ref: ExprRef,
    /// The receiver is a function-local name bound to `caches[...]` (`c = caches["default"]`);
    /// `receiver` is then that `caches[...]` expression, and no fix rewrites the call.
    pub via_local: bool,
    /// The whole call.
    pub span: Span,
    /// The scope that binds the receiver's root name (0: module level).
    pub root_scope: u32,
    /// The class (index in [`FileFacts::classes`]) of the method whose body holds the call
    /// directly: what `self` and `cls` in the key stand for.
    #[serde(default)]
    pub method_class: Option<u32>,
    /// The function scope whose body holds the call (0: module level): whose parameters the key
    /// may name.
    #[serde(default)]
    pub scope: u32,
}

/// A load of a plain name, counted per scope so fixes know when an import falls out of use.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NameUse {
    pub name: Name,
    pub scope: u32,
    pub offset: u32,
}

/// `# noqa` comments.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Noqa {
    /// Per row (1-based): `None` suppresses every code, `Some(codes)` those codes.
    pub lines: Vec<(u32, Option<Vec<String>>)>,
    /// `# tenantlint: noqa` (all) or `# tenantlint: noqa: CODES`.
    pub file: Option<Option<Vec<String>>>,
}

/// A file that could not be analysed (fully).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub enum FileProblem {
    Io(String),
    Syntax { message: String, span: Span },
}

/// Syntax that only newer Python versions accept (`match`, `except*`, t-strings, `except A, B:`
/// without parentheses, ...), recorded with the version that added it. The file parses; TEN900
/// reports it when `target-version` is older.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct VersionSyntax {
    /// What is used, e.g. "Cannot use `match` statement".
    pub what: String,
    /// The rest of the parser's message after the version, e.g. "(syntax was added in Python
    /// 3.10)".
    pub detail: String,
    /// The first Python version that accepts it, as (major, minor).
    pub added: (u8, u8),
    pub span: Span,
}

impl VersionSyntax {
    /// From the parser's message for the oldest target, "WHAT on Python 3.7 DETAIL" where DETAIL
    /// says "... added in Python X.Y)". `None` for anything else (a removal: not recorded).
    pub fn from_message(message: &str, span: Span) -> Option<VersionSyntax> {
        let oldest = crate::frontend::python::OLDEST_TARGET.to_string();
        let (what, rest) = message.split_once(&format!(" on Python {oldest}"))?;
        let added = rest.split("added in Python ").nth(1)?;
        let version: String = added
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.')
            .collect();
        let (major, minor) = version.trim_end_matches('.').split_once('.')?;
        Some(VersionSyntax {
            what: what.to_string(),
            detail: rest.trim().to_string(),
            added: (major.parse().ok()?, minor.parse().ok()?),
            span,
        })
    }

    /// The message for a target version.
    pub fn message(&self, target: (u8, u8)) -> String {
        format!(
            "{} on Python {}.{} {}",
            self.what, target.0, target.1, self.detail
        )
    }
}

/// Insertion point for new module-level imports: after the module docstring, `from __future__`
/// imports and the leading import block.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ImportInsert {
    pub span: Span,
    pub prefix: String,
}

/// Everything the rules need from one file, extracted in one parse. Facts depend only on the
/// file's text: not on its path, module name or the configuration, so they can be cached by
/// content and shared by identical files. Spans are byte ranges.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct FileFacts {
    pub problems: Vec<FileProblem>,
    /// Syntax newer than some Python versions accept (reported per `target-version`).
    pub version_syntax: Vec<VersionSyntax>,
    pub bindings: Bindings,
    pub star_imports: Vec<String>,
    pub imports: Vec<ImportStmt>,
    pub classes: Vec<ClassFact>,
    /// The query chains, cache calls, calls of interest and attribute stores, encoded: read by
    /// the rules for this file only (see [`Sites`]).
    pub sites: PackedSites,
    /// The distinct callee names of [`Sites::calls`], sorted: what project-wide scans ask of
    /// another file's calls without decoding them.
    #[serde(default)]
    pub call_names: ThinVec<Name>,
    pub functions: Vec<FunctionFact>,
    #[serde(default)]
    pub method_filters: Vec<MethodFilter>,
    #[serde(default)]
    pub method_links: ThinVec<MethodLink>,
    #[serde(default)]
    pub dict_returns: ThinVec<DictReturn>,
    #[serde(default)]
    pub key_returns: ThinVec<KeyReturn>,
    #[serde(default)]
    pub key_attrs: ThinVec<KeyAttr>,
    #[serde(default)]
    pub self_calls_only: ThinVec<SelfCallsOnly>,
    pub settings: Vec<SettingFact>,
    /// Task names scheduled without arguments by a Celery beat entry in this file (a dict with a
    /// literal `"task"` and a `"schedule"`, anywhere: `CELERY_BEAT_SCHEDULE`,
    /// `app.conf.beat_schedule[...]`): periodic jobs, run by the scheduler with no tenant.
    #[serde(default)]
    pub periodic_tasks: ThinVec<String>,
    pub noqa: Noqa,
    pub lines: LineIndex,
    /// The facts of a Rust file or SQL migration (`None` for Python files).
    #[serde(default)]
    pub rust: Option<Box<crate::frontend::rust::RustFacts>>,
}

/// The per-site facts of a file: every query chain, cache call, call of interest and attribute
/// store. They are most of a file's facts and only the rules checking that file read them, so
/// [`FileFacts`] keeps them encoded ([`PackedSites`]: about a quarter of their decoded size) and a
/// rule pass decodes them file by file, instead of holding every file's decoded sites for the
/// whole run.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Sites {
    pub query_sites: Vec<QuerySite>,
    pub cache_sites: Vec<CacheSite>,
    pub calls: Vec<CallSite>,
    pub attr_stores: Vec<AttrStore>,
}

/// [`Sites`] encoded with postcard. Written and read only by this program (in memory, and inside
/// fact cache entries, whose pack is checksummed), so decoding cannot fail but on a bug; if it
/// did, the file would be checked as if it had no sites, never a panic.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PackedSites(crate::packed::Bytes);

impl PackedSites {
    pub fn pack(sites: &Sites) -> PackedSites {
        let empty = sites.query_sites.is_empty()
            && sites.cache_sites.is_empty()
            && sites.calls.is_empty()
            && sites.attr_stores.is_empty();
        if empty {
            return PackedSites::default();
        }
        PackedSites(postcard::to_stdvec(sites).unwrap_or_default().into())
    }

    pub fn unpack(&self) -> Sites {
        if self.0.is_empty() {
            return Sites::default();
        }
        let decoded = postcard::from_bytes(&self.0);
        debug_assert!(decoded.is_ok(), "packed sites decode");
        decoded.unwrap_or_default()
    }

    /// Bytes held (`examples/fact_memory.rs`).
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where fixes may edit a file: computed from its source only when fixes are wanted (`--fix`,
/// `--diff`, formats that print edits, an editor's code action), never cached.
#[derive(Clone, Debug, Default)]
pub struct EditFacts {
    /// Where a new first statement goes in each class body, by index into
    /// [`FileFacts::classes`].
    pub class_inserts: Vec<Option<BodyInsert>>,
    /// Where a new module-level import goes.
    pub import_insert: Option<ImportInsert>,
    /// How to delete each import statement, by index into [`FileFacts::imports`].
    pub import_spans: Vec<ImportSpans>,
    /// Loads of imported names, per scope (so a fix knows when an import falls out of use).
    pub name_uses: Vec<NameUse>,
    /// Statements after which the rest of a function body can be wrapped in `try`/`finally`,
    /// by the offset of the call that is the statement.
    pub wraps: rustc_hash::FxHashMap<u32, WrapRest>,
    pub newline: &'static str,
    /// The text these edit facts describe.
    pub source: String,
}

/// The lines an import statement occupies, for deleting it.
#[derive(Clone, Debug, Default)]
pub struct ImportSpans {
    /// The statement's full lines, including the trailing newline, and one following blank line
    /// when the statement starts the file or follows a blank line.
    pub delete_span: Span,
    /// The statement's full lines, including the trailing newline.
    pub line_span: Span,
    /// The whole statement is alone on its lines (nothing else shares them).
    pub alone_on_lines: bool,
    /// The statement is the only one of an indented block (deleting it would leave the block
    /// empty: replace it by `pass`).
    pub sole_in_block: bool,
    /// The statement list holding it: its first statement's start and its number of
    /// statements (deleting every statement of an indented block would leave it empty).
    pub block_start: u32,
    pub block_len: u32,
}

impl ImportStmt {
    /// The name an alias of this statement binds: `as` name, else the imported name for
    /// `from` imports, else the top-level package for `import a.b`.
    pub fn bound_name<'a>(&self, name: &'a Name, asname: &'a Option<Name>) -> &'a str {
        match asname {
            Some(a) => a.as_str(),
            None if self.from_module.is_some() => name.as_str(),
            None => name.as_str().split('.').next().unwrap_or_default(),
        }
    }
}

impl FileFacts {
    /// Give back the spare capacity of the lists: the facts of every file are held for the
    /// whole run, and the lists grew while walking (the calls list held about ten times the calls
    /// it keeps), so on a large project this halves the memory the facts take.
    pub fn shrink_to_fit(&mut self) {
        self.problems.shrink_to_fit();
        self.bindings.shrink_to_fit();
        self.star_imports.shrink_to_fit();
        self.imports.shrink_to_fit();
        self.classes.shrink_to_fit();
        for c in &mut self.classes {
            c.bases.shrink_to_fit();
            c.assigns.shrink_to_fit();
            c.methods.shrink_to_fit();
            c.decorators.shrink_to_fit();
        }
        for f in &mut self.functions {
            f.params.shrink_to_fit();
            f.decorators.shrink_to_fit();
        }
        self.call_names.shrink_to_fit();
        self.functions.shrink_to_fit();
        self.method_filters.shrink_to_fit();
        self.method_links.shrink_to_fit();
        self.dict_returns.shrink_to_fit();
        self.key_returns.shrink_to_fit();
        self.key_attrs.shrink_to_fit();
        self.self_calls_only.shrink_to_fit();
        self.settings.shrink_to_fit();
        self.periodic_tasks.shrink_to_fit();
        self.noqa.lines.shrink_to_fit();
        self.lines.shrink_to_fit();
    }

    /// Encode `sites` into [`FileFacts::sites`] and record their callee names.
    pub fn set_sites(&mut self, sites: &Sites) {
        let mut names: Vec<Name> = sites.calls.iter().map(|c| c.name.clone()).collect();
        // Sorted by the text, as `calls_name` searches it.
        names.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
        names.dedup();
        self.call_names = names.into_iter().collect();
        self.sites = PackedSites::pack(sites);
    }

    /// This file's sites, decoded (each call decodes again: a rule pass decodes once per file
    /// and hands them to every rule, see [`crate::rules::Context::sites`]).
    pub fn sites(&self) -> Sites {
        self.sites.unpack()
    }

    /// Does this file call something named `name` (a callee's last name, see [`CallSite::name`])?
    pub fn calls_name(&self, name: &str) -> bool {
        self.call_names
            .binary_search_by(|n| n.as_str().cmp(name))
            .is_ok()
    }

    /// The text did not parse.
    pub fn has_syntax_error(&self) -> bool {
        self.problems
            .iter()
            .any(|p| matches!(p, FileProblem::Syntax { .. }))
    }

    /// The function whose body is scope `scope`.
    /// `functions` is in scope order (extraction numbers scopes as it enters them and records a
    /// function when it enters it), so this is a binary search.
    pub fn function(&self, scope: u32) -> Option<&FunctionFact> {
        let i = self
            .functions
            .binary_search_by_key(&scope, |f| f.scope)
            .ok()?;
        self.functions.get(i)
    }

    /// Is scope `inner` the same as, or nested inside, scope `outer`?
    pub fn scope_within(&self, inner: u32, outer: u32) -> bool {
        let mut cur = inner;
        for _ in 0..256 {
            if cur == outer {
                return true;
            }
            match self.function(cur) {
                Some(f) => cur = f.parent_scope,
                None => return false,
            }
        }
        false
    }

    pub fn setting(&self, name: &str) -> Option<&SettingFact> {
        self.settings
            .iter()
            .rev()
            .find(|s| s.name == name && !s.augmented)
    }
    /// The binding of `name` at module level (the last one wins, as at run time).
    pub fn binding(&self, name: &str) -> Option<&Binding> {
        self.bindings.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binding_lookup_is_a_map_probe_and_the_last_binding_wins() {
        let src: String = (0..20_000)
            .map(|i| format!("x{i} = a.b.c({i})\n"))
            .chain(["x7 = 1\n".to_string(), "def x8(): pass\n".to_string()])
            .collect();
        let facts = crate::frontend::python::extract_source(&src);
        assert_eq!(facts.bindings.len(), 20_002);
        // One map entry per distinct name: a lookup is one hash probe, never a scan.
        assert_eq!(facts.bindings.distinct_names(), 20_000);
        assert!(matches!(
            facts.binding("x19999"),
            Some(Binding::Assign(ExprRef::Call(_)))
        ));
        assert!(matches!(
            facts.binding("x7"),
            Some(Binding::Assign(ExprRef::Other))
        ));
        assert_eq!(facts.binding("x8"), Some(&Binding::Other));
        assert_eq!(facts.binding("x20000"), None);
    }

    #[test]
    fn bindings_survive_a_serde_round_trip_with_their_map() {
        let facts = crate::frontend::python::extract_source(
            "import os\nx = 1\nx = os.path\nclass A: pass\n",
        );
        let bytes = serde_json::to_vec(&facts.bindings).unwrap();
        let back: Bindings = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back.len(), 4);
        assert_eq!(back.distinct_names(), 3);
        assert_eq!(back.get("x"), facts.binding("x"));
        assert_eq!(back.get("A"), Some(&Binding::Class(0)));
        assert_eq!(back.get("os"), Some(&Binding::Module("os".into())));
    }

    #[test]
    fn sites_round_trip_packed_and_call_names_are_searchable() {
        let src = "from tenancy import activate_tenant_for_this_request as go, zeta, alpha\n\
                   from django.core.cache import cache\n\
                   def f(t):\n    go(t)\n    zeta()\n    alpha()\n    cache.set('k', 1)\n";
        let facts = crate::frontend::python::extract_source(src);
        let sites = facts.sites();
        assert_eq!(sites.cache_sites.len(), 1);
        assert!(!facts.sites.is_empty());
        assert_eq!(PackedSites::pack(&sites), facts.sites);
        // Inline (short) and heap (long) names alike; the alias is named by its original.
        for name in ["activate_tenant_for_this_request", "zeta", "alpha"] {
            assert!(facts.calls_name(name), "{name}");
        }
        assert!(!facts.calls_name("go"));
        assert!(!facts.calls_name("beta"));
    }

    #[test]
    fn functions_are_in_scope_order_so_lookup_by_scope_finds_each() {
        let src = "def a():\n    f = lambda x: x\n    def b():\n        def c(): pass\n    return 1\n\
                   class K:\n    def m(self):\n        g = lambda: 0\n\ndef d(): pass\n";
        let facts = crate::frontend::python::extract_source(src);
        assert_eq!(facts.functions.len(), 5);
        for f in &facts.functions {
            assert_eq!(
                facts.function(f.scope).map(|g| g.name.as_str()),
                Some(f.name.as_str())
            );
        }
        let by_name = |n: &str| facts.functions.iter().find(|f| f.name == n).unwrap().scope;
        assert!(facts.scope_within(by_name("c"), by_name("a")));
        assert!(!facts.scope_within(by_name("d"), by_name("a")));
    }
}
