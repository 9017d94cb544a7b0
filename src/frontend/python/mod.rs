//! Read, parse and extract the facts of one file. This is the only place that sees a syntax tree;
//! it is dropped when [`extract_source`] returns.

use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};

use ruff_python_ast::token::TokenKind;
use ruff_python_ast::visitor::{self, Visitor};
use ruff_python_ast::{self as ast, Expr, Stmt};
use ruff_python_parser::{Mode, ParseOptions, parse_unchecked};
use ruff_text_size::{Ranged, TextRange, TextSize};

use crate::facts::*;
use crate::locate::{Locator, detect_newline};

mod cache_keys;
mod calls;
mod classes;
mod edit_points;
mod imports;
mod noqa;
mod scopes;
mod values;
mod visit;

pub use cache_keys::CACHE_KEY_METHODS;
use calls::*;
use edit_points::*;
pub use noqa::parse_noqa_comment;
use scopes::*;
pub use values::to_ref;
use values::*;

/// The facts of a file that could not be read or decoded.
pub fn io_problem(msg: String) -> FileFacts {
    FileFacts {
        problems: vec![FileProblem::Io(msg)],
        ..Default::default()
    }
}

/// Parse `source` once and extract the facts of the file.
pub fn extract_source(source: &str) -> FileFacts {
    extract(source, false).0
}

/// Parse `source` and extract its facts and its edit facts (where fixes may edit it).
pub fn extract_with_edits(source: &str) -> (FileFacts, EditFacts) {
    let (facts, edits) = extract(source, true);
    (facts, edits.unwrap_or_default())
}

/// The Python version files are parsed for: the oldest the parser knows, so every newer construct
/// is recorded (see [`crate::facts::VersionSyntax`]).
pub const OLDEST_TARGET: ruff_python_ast::PythonVersion = ruff_python_ast::PythonVersion::PY37;

fn extract(source: &str, with_edits: bool) -> (FileFacts, Option<EditFacts>) {
    // What CPython rejects before parsing (nesting deeper than its limits) never reaches the
    // recursive parser: a TEN900 at the place, and no facts.
    let over_limit = |limit: crate::python_limits::LimitError| {
        let at = limit.offset.min(source.len()) as u32;
        let facts = FileFacts {
            problems: vec![FileProblem::Syntax {
                message: limit.message(),
                span: crate::locate::Span::empty(at),
            }],
            lines: crate::locate::LineIndex::new(source),
            ..Default::default()
        };
        (facts, with_edits.then(EditFacts::default))
    };
    let check_tokens = match crate::python_limits::pre_parse(source) {
        crate::python_limits::PreParse::Exceeds(limit) => return over_limit(limit),
        crate::python_limits::PreParse::Within => false,
        crate::python_limits::PreParse::CheckTokens => true,
    };
    // Parsed for the oldest version the parser knows, so every construct newer than that is
    // recorded with the version that added it; TEN900 compares with `target-version`.
    let parsed = parse_unchecked(
        source,
        ParseOptions::from(Mode::Module).with_target_version(OLDEST_TARGET),
    );
    if check_tokens
        && let Some(limit) = crate::python_limits::check_tokens(
            parsed
                .tokens()
                .iter()
                .map(|t| (t.kind(), t.start().to_u32())),
        )
    {
        return over_limit(limit);
    }
    let mut locator = Locator::new(source);
    if with_edits {
        locator.logical = crate::locate::LogicalLines::from_tokens(parsed.tokens());
    }
    let mut facts = FileFacts::default();

    if let Some(err) = parsed.errors().first() {
        let range = clamp(err.location, source);
        facts.problems.push(FileProblem::Syntax {
            message: err.error.to_string(),
            span: locator.span(range),
        });
    }
    facts.version_syntax = parsed
        .unsupported_syntax_errors()
        .iter()
        .filter_map(|e| {
            VersionSyntax::from_message(&e.to_string(), locator.span(clamp(e.range, source)))
        })
        .collect();

    // Comments (`# noqa` directives) and multi-line strings (which a re-indenting fix must not
    // touch).
    let mut multiline_strings: Vec<TextRange> = Vec::new();
    for token in parsed.tokens().iter() {
        match token.kind() {
            TokenKind::Comment => {
                let text = locator.slice(token.range());
                parse_noqa_comment(text, locator.row(token.range().start()), &mut facts.noqa);
            }
            TokenKind::String | TokenKind::FStringMiddle | TokenKind::TStringMiddle
                if with_edits && locator.slice(token.range()).contains('\n') =>
            {
                multiline_strings.push(token.range());
            }
            _ => {}
        }
    }

    let mut edits = with_edits.then(|| EditFacts {
        newline: detect_newline(source),
        source: source.to_string(),
        ..Default::default()
    });
    let Some(module_ast) = parsed.try_into_module() else {
        facts.lines = locator.into_index();
        return (facts, edits);
    };
    let body = module_ast.suite();

    let mut ex = Extractor {
        loc: &locator,
        facts: &mut facts,
        edits: edits.as_mut(),
        scopes: Vec::new(),
        class_depth: 0,
        next_scope: 1,
        tracked_names: HashSet::default(),
        expr_depth: 0,
        class_ctx: None,
        superuser_only: 0,
        superuser_rest: 0,
        not_superuser_blocks: HashSet::default(),
        finally_depth: 0,
        in_with_item: false,
        in_decorator: false,
        prefetch_depth: 0,
        current_method: None,
        multiline_strings,
        block: (0, 0),
        blocks: Vec::new(),
        row_loops: 0,
        links_seen: HashSet::default(),
        sites: Sites::default(),
    };
    if ex.edits.is_some() {
        ex.tracked_names = collect_import_names(body);
    }
    ex.visit_body(body);
    let mut sites = std::mem::take(&mut ex.sites);
    drop_unbound_calls(&facts, &mut sites);
    facts.set_sites(&sites);
    if let Some(e) = edits.as_mut() {
        e.import_insert = Some(import_insert_point(body, &locator));
    }
    facts.lines = locator.into_index();
    facts.shrink_to_fit();
    (facts, edits)
}

/// Calls of a name that is not bound at module level (a builtin like `len`, `print`) can be
/// neither a project function nor an import; calls into Django itself and the standard library
/// (`models.CharField(...)`, `json.dumps(...)`) are no project's tenant setters either. Keep only
/// those the rules know by name. (This keeps facts independent of the configuration while
/// dropping nine in ten calls.) Before that, a call in a function body is named by the
/// module's last binding of its callee (see `maybe_record_call` for its arguments).
fn drop_unbound_calls(facts: &FileFacts, sites: &mut Sites) {
    const LIBRARIES: &[&str] = &[
        "django",
        "json",
        "logging",
        "os",
        "re",
        "sys",
        "datetime",
        "time",
        "uuid",
        "typing",
        "collections",
        "functools",
        "itertools",
        "math",
        "decimal",
        "hashlib",
        "random",
        "string",
        "pathlib",
        "enum",
        "dataclasses",
        "copy",
        "operator",
        "urllib",
        "base64",
        "csv",
        "io",
        "textwrap",
        "warnings",
        "abc",
        "pytz",
        "zoneinfo",
        "traceback",
        "inspect",
        "secrets",
        "hmac",
        "struct",
        "shutil",
        "subprocess",
        "tempfile",
        "pprint",
    ];
    let star = !facts.star_imports.is_empty();
    let bound: HashMap<&Name, &Binding> = facts
        .bindings
        .iter()
        .map(|b| (&b.name, &b.binding))
        .collect();
    let from_library = |b: &Binding| {
        let module = match b {
            Binding::Module(m) => m.as_str(),
            Binding::FromImport { module, .. } => module.as_str(),
            _ => return false,
        };
        LIBRARIES.contains(&module.split('.').next().unwrap_or(module))
    };
    // A function body runs after the whole module has run: a callee named through a
    // module-level import is the name's last binding, wherever the import is in the file
    // (`forget_tenant()` in a method, `from ... import unset_current_tenant as forget_tenant`
    // further down). Calls at module level or in a class body keep the binding seen so far.
    for c in &mut sites.calls {
        if c.scope != 0
            && matches!(c.root, RootBinding::Module)
            && let ExprRef::Name(n) = &c.func
        {
            c.name = match bound.get(n) {
                Some(Binding::FromImport { name: original, .. }) => original.clone(),
                _ => n.clone(),
            };
        }
    }
    sites.calls.retain(|c| {
        if CALL_NAMES.contains(&c.name.as_str()) {
            return true;
        }
        match &c.root {
            RootBinding::Local => true,
            RootBinding::LocalImport(b) => !from_library(b),
            RootBinding::Module => match c.func.root_name().and_then(|n| bound.get(n)) {
                Some(b) => !from_library(b),
                None => star,
            },
        }
    });
}

fn clamp(range: TextRange, source: &str) -> TextRange {
    let len = TextSize::of(source);
    TextRange::new(
        range.start().min(len),
        range.end().min(len).max(range.start().min(len)),
    )
}

struct FunctionScope<'a> {
    id: u32,
    locals: HashSet<Name>,
    imports: HashMap<Name, Binding>,
    /// The last expression assigned to each local name so far (for cache key tracking).
    assigned: HashMap<Name, &'a Expr>,
    /// For a name whose last assignment is `x = x or y`: what `x` held before it.
    or_prev: HashMap<Name, &'a Expr>,
    /// The function's parameters (URL kwargs of a view, arguments of a task).
    params: HashSet<Name>,
    /// Locals whose last binding so far is a row read by a query (`x = M.objects.get(...)`,
    /// `x = M.objects.create(...)`, `for x in M.objects.filter(...)`): a model instance in hand.
    rows: HashSet<Name>,
    /// Locals holding a query chain recorded as a site (`qs = M.objects.all()`, and after
    /// `qs2 = qs.order_by(...)`): index into `FileFacts::query_sites`. Later filters on the local
    /// (`qs = qs.filter(tenant=t)`, `qs.filter(...).count()`) belong to that site.
    query_vars: HashMap<Name, usize>,
    /// Locals whose last binding is the result of a call of a plain or dotted name
    /// (`snapshot = take_snapshot(obj)`): the callee, which may return a row.
    call_results: HashMap<Name, ExprRef>,
    /// Whether a `return` of this function gave a row, and whether one gave anything else.
    returned_row: bool,
    returned_other: bool,
    /// The dict-literal shape common to every `return` with a value so far (see
    /// `DictReturn`), and whether one returned something else.
    dict_returns: Option<Vec<(Name, Vec<Name>)>>,
    returned_non_dict: bool,
    /// The blocks (see `Extractor::blocks`) each local whose last assignment is a dict literal
    /// was assigned in.
    assigned_in: HashMap<Name, Vec<u32>>,
    /// `d["key"] = value` after a local's last assignment, in its block or one around it (so
    /// it runs whenever the assignment did): keys the dict `d` holds besides its literal's.
    dict_adds: HashMap<Name, Vec<(Name, &'a Expr)>>,
    /// Locals last assigned an empty `set()`/`[]` that every `.add(...)`/`.append(...)` so far
    /// filled with keys of rows in hand (`ids = set(); ids.add(self.id)`): once one was added,
    /// the local is in `rows` too (see `Extractor::note_bag_add`).
    key_bags: HashSet<Name>,
    /// `q |= Q(...)` / `q &= Q(...)` after a local's last assignment: whether it was `|`, the
    /// value, and whether it runs whenever the assignment did (see
    /// `Extractor::q_local_filters`).
    q_augs: HashMap<Name, Vec<(bool, &'a Expr, bool)>>,
    /// Locals assigned a `Q` expression in every branch of an `if`/`elif`/`else` (and nowhere
    /// else in it), since: the value of each branch (see `Extractor::note_q_alternatives`).
    q_alts: HashMap<Name, Vec<&'a Expr>>,
    /// For a function whose name holds `key`: the key each `return` so far gives, or `None` once
    /// one returned something that is not a string (see `KeyReturn`).
    returned_keys: Option<Vec<KeyExpr>>,
}

/// Is `value` an `... or ...` with `name` as one of its operands (`x = x or default`)?
fn refers_to_self_in_or(value: &Expr, name: &Name) -> bool {
    matches!(value, Expr::BoolOp(b) if b.op == ast::BoolOp::Or
        && b.values.iter().any(|v| matches!(v, Expr::Name(m) if m.id == *name)))
}

struct Extractor<'a, 'f> {
    loc: &'f Locator<'f>,
    facts: &'f mut FileFacts,
    /// The query chains, cache calls, calls and attribute stores found so far (packed into
    /// `facts` at the end).
    sites: Sites,
    /// Set in edit mode: where fixes may edit the file.
    edits: Option<&'f mut EditFacts>,
    scopes: Vec<FunctionScope<'a>>,
    class_depth: u32,
    next_scope: u32,
    tracked_names: HashSet<Name>,
    expr_depth: u32,
    /// Set while visiting a class body directly (not inside its methods).
    class_ctx: Option<ClassCtx>,
    /// `finally:` blocks entered in the current function.
    finally_depth: u32,
    in_with_item: bool,
    in_decorator: bool,
    /// Inside the arguments of a `Prefetch(...)` call.
    prefetch_depth: u32,
    /// The statement list being visited: its first statement's start and its length (for
    /// `ImportSpans::block_start` / `block_len`).
    block: (u32, u32),
    /// The statement lists being walked, outermost first, each by the offset of its first
    /// statement: a statement runs whenever the one at a prefix of its blocks did.
    blocks: Vec<u32>,
    /// How many `for` loops over rows read by a query enclose the statement being walked.
    row_loops: u32,
    /// The method links recorded so far (each is recorded once).
    links_seen: HashSet<MethodLink>,
    /// The class (index) and name of the method whose body is being visited directly.
    current_method: Option<(u32, Name)>,
    /// How many enclosing blocks run only for superusers (see `QuerySite::superuser_only`).
    superuser_only: u32,
    /// How many of `superuser_only` the statement list being walked added after a guard
    /// (`if not user.is_superuser: raise PermissionDenied`): they end with the list.
    superuser_rest: u32,
    /// The blocks (by the offset of their first statement) that run only for users who are not
    /// superusers: a `q &= Q(...)` there narrows every query but a superuser's.
    not_superuser_blocks: HashSet<u32>,
    multiline_strings: Vec<TextRange>,
}

fn is_setting_name(name: &str) -> bool {
    name.bytes().any(|b| b.is_ascii_uppercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
}

const MAX_EXPR_DEPTH: u32 = 1000;

impl<'a> Extractor<'a, '_> {
    fn at_module_level(&self) -> bool {
        self.scopes.is_empty() && self.class_depth == 0
    }

    fn scope_id(&self) -> u32 {
        self.scopes.last().map_or(0, |s| s.id)
    }
}
