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

/// Methods of Django's cache API (and django-redis) that take a key or a key pattern.
/// The Python version files are parsed for: the oldest the parser knows, so every newer construct
/// is recorded (see [`crate::facts::VersionSyntax`]).
pub const OLDEST_TARGET: ruff_python_ast::PythonVersion = ruff_python_ast::PythonVersion::PY37;

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

/// QuerySet methods whose keyword arguments filter rows.
const FILTERING_METHODS: &[&str] = &[
    "filter",
    "get",
    "get_or_create",
    "update_or_create",
    "aget",
    "aget_or_create",
    "aupdate_or_create",
];

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

fn extract(source: &str, with_edits: bool) -> (FileFacts, Option<EditFacts>) {
    // What CPython rejects before parsing (nesting deeper than its limits) never reaches the
    // recursive parser: a TEN900 at the place, and no facts.
    if let Some(limit) = crate::python_limits::check_limits(source) {
        let at = limit.offset.min(source.len()) as u32;
        let facts = FileFacts {
            problems: vec![FileProblem::Syntax {
                message: limit.message(),
                span: crate::locate::Span::empty(at),
            }],
            lines: crate::locate::LineIndex::new(source),
            ..Default::default()
        };
        return (facts, with_edits.then(EditFacts::default));
    }
    // Parsed for the oldest version the parser knows, so every construct newer than that is
    // recorded with the version that added it; TEN900 compares with `target-version`.
    let parsed = parse_unchecked(
        source,
        ParseOptions::from(Mode::Module).with_target_version(OLDEST_TARGET),
    );
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
        finally_depth: 0,
        in_with_item: false,
        in_decorator: false,
        multiline_strings,
    };
    if ex.edits.is_some() {
        ex.tracked_names = collect_import_names(body);
    }
    ex.visit_body(body);
    drop_unbound_calls(&mut facts);
    if let Some(e) = edits.as_mut() {
        e.import_insert = Some(import_insert_point(body, &locator));
    }
    facts.lines = locator.into_index();
    (facts, edits)
}

/// Calls of a name that is not bound at module level (a builtin like `len`, `print`) can be
/// neither a project function nor an import; calls into Django itself and the standard library
/// (`models.CharField(...)`, `json.dumps(...)`) are no project's tenant setters either. Keep only
/// those the rules know by name. (This keeps facts independent of the configuration while
/// dropping nine in ten calls.)
fn drop_unbound_calls(facts: &mut FileFacts) {
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
    facts.calls.retain(|c| {
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

/// Parse one comment for `# noqa[: CODES]` and `# tenantlint: noqa[: CODES]`.
pub fn parse_noqa_comment(text: &str, row: u32, noqa: &mut Noqa) {
    let lower = text.to_ascii_lowercase();
    // File-level directive.
    if let Some(rest) = lower.strip_prefix('#').map(str::trim_start)
        && let Some(rest) = rest.strip_prefix("tenantlint")
        && let Some(rest) = rest.trim_start().strip_prefix(':')
        && let Some(rest) = rest.trim_start().strip_prefix("noqa")
    {
        let offset = text.len() - rest.len();
        let codes = parse_codes(&text[offset..]);
        noqa.file = Some(match (noqa.file.take(), codes) {
            (Some(None), _) | (_, None) => None,
            (Some(Some(mut a)), Some(b)) => {
                a.extend(b);
                Some(a)
            }
            (None, Some(b)) => Some(b),
        });
        return;
    }
    // Line-level directive: `# noqa` anywhere in the comment (`# type: ignore  # noqa: TEN101`).
    let bytes = lower.as_bytes();
    let mut search = 0;
    while let Some(i) = lower[search..].find("noqa") {
        let at = search + i;
        search = at + 4;
        let before = lower[..at].trim_end_matches([' ', '\t']);
        if !before.ends_with('#') {
            continue;
        }
        // `# noqa` must not be a prefix of a longer word (`# noqalike`).
        if bytes
            .get(at + 4)
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        {
            continue;
        }
        let codes = parse_codes(&text[at + 4..]);
        noqa.lines.push((row, codes));
        return;
    }
}

/// After `noqa`: `: CODE, CODE` gives codes; anything else is a blanket directive.
fn parse_codes(rest: &str) -> Option<Vec<String>> {
    let rest = rest.trim_start();
    let rest = rest.strip_prefix(':')?;
    let mut codes = Vec::new();
    for word in rest.split([',', ' ', '\t']).filter(|w| !w.is_empty()) {
        let valid = word.len() >= 2
            && word.chars().take_while(|c| c.is_ascii_alphabetic()).count() >= 1
            && word.chars().all(|c| c.is_ascii_alphanumeric());
        if valid {
            codes.push(word.to_ascii_uppercase());
        } else {
            break;
        }
    }
    if codes.is_empty() { None } else { Some(codes) }
}

/// Names bound by imports anywhere in the file; loads of these are counted so fixes know when an
/// import falls out of use.
fn collect_import_names(body: &[Stmt]) -> HashSet<Name> {
    struct C(HashSet<Name>);
    impl<'a> Visitor<'a> for C {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            match stmt {
                Stmt::Import(i) => {
                    for a in &i.names {
                        let bound = match &a.asname {
                            Some(n) => n.id.clone(),
                            None => Name::new(a.name.id.split('.').next().unwrap_or_default()),
                        };
                        self.0.insert(bound);
                    }
                }
                Stmt::ImportFrom(i) => {
                    for a in &i.names {
                        self.0
                            .insert(a.asname.as_ref().unwrap_or(&a.name).id.clone());
                    }
                }
                _ => visitor::walk_stmt(self, stmt),
            }
        }
        fn visit_expr(&mut self, _: &'a Expr) {}
    }
    let mut c = C(HashSet::default());
    c.visit_body(body);
    c.0
}

fn is_docstring(stmt: &Stmt) -> bool {
    matches!(stmt, Stmt::Expr(e) if matches!(*e.value, Expr::StringLiteral(_)))
}

/// After the module docstring, `from __future__` imports and the leading import block.
fn import_insert_point(body: &[Stmt], loc: &Locator) -> ImportInsert {
    let mut anchor: Option<&Stmt> = None;
    let mut iter = body.iter().peekable();
    if let Some(first) = iter.peek()
        && is_docstring(first)
    {
        anchor = iter.next();
    }
    for stmt in iter {
        if matches!(stmt, Stmt::Import(_) | Stmt::ImportFrom(_)) {
            anchor = Some(stmt);
        } else {
            break;
        }
    }
    let nl = detect_newline(loc.source);
    match anchor {
        Some(stmt) => match loc.next_logical_line_start(stmt.end()) {
            Some(off) => ImportInsert {
                span: loc.point(off),
                prefix: String::new(),
            },
            None => ImportInsert {
                span: loc.point(TextSize::of(loc.source)),
                prefix: nl.to_string(),
            },
        },
        None => {
            let mut off = body
                .first()
                .map(|s| loc.line_start(loc.line_of(s.start())))
                .unwrap_or(TextSize::of(loc.source));
            if off == TextSize::from(0) && loc.source.starts_with('\u{feff}') {
                off = TextSize::from(3);
            }
            let prefix = if off == TextSize::of(loc.source)
                && !loc.source.is_empty()
                && !loc.source.ends_with('\n')
            {
                nl.to_string()
            } else {
                String::new()
            };
            ImportInsert {
                span: loc.point(off),
                prefix,
            }
        }
    }
}

/// The lines an import statement occupies, for deleting it.
fn import_spans(loc: &Locator, range: TextRange) -> ImportSpans {
    let line_start = loc.line_start(loc.line_of(range.start()));
    let line_end = loc
        .next_logical_line_start(range.end())
        .unwrap_or(TextSize::of(loc.source));
    let before = &loc.source[line_start.to_usize()..range.start().to_usize()];
    let after = &loc.source[range.end().to_usize()..line_end.to_usize()];
    let after_code = after.trim_start();
    let alone = before.trim().is_empty()
        && (after_code.starts_with('#')
            || after_code
                .split(['\\', '\r', '\n'])
                .all(|part| part.trim().is_empty()));
    // Take one following blank line along when the statement starts the file or follows a
    // blank line, so no double blank line (or leading blank line) is left behind.
    let mut delete_end = line_end;
    let prev_blank = line_start == TextSize::from(0) || {
        let prev_line = loc.line_of(line_start).saturating_sub(1);
        let ps = loc.line_start(prev_line).to_usize();
        loc.source[ps..line_start.to_usize()].trim().is_empty()
    };
    if prev_blank && line_end.to_usize() < loc.source.len() {
        let next_end = loc
            .next_line_start(line_end)
            .unwrap_or(TextSize::of(loc.source));
        if loc.source[line_end.to_usize()..next_end.to_usize()]
            .trim()
            .is_empty()
        {
            delete_end = next_end;
        }
    }
    // The last line of a file without a final newline: take the previous line's terminator
    // instead, so the file still ends without one.
    let mut delete_start = line_start;
    if delete_end.to_usize() == loc.source.len()
        && !loc.source.ends_with(['\n', '\r'])
        && line_start > TextSize::from(0)
    {
        let head = &loc.source[..line_start.to_usize()];
        let term = if head.ends_with("\r\n") { 2 } else { 1 };
        delete_start = line_start - TextSize::from(term);
    }
    ImportSpans {
        delete_span: loc.span(TextRange::new(delete_start, delete_end)),
        line_span: loc.span(TextRange::new(line_start, line_end)),
        alone_on_lines: alone,
        sole_in_block: loc.sole_in_block(range.start(), range.end()),
    }
}

/// Convert an expression to an [`ExprRef`], bounded in depth.
pub fn to_ref(e: &Expr) -> ExprRef {
    to_ref_depth(e, 0)
}

fn to_ref_depth(e: &Expr, depth: u32) -> ExprRef {
    if depth > 8 {
        return ExprRef::Other;
    }
    match e {
        Expr::Name(n) => ExprRef::Name(n.id.clone()),
        Expr::Attribute(a) => ExprRef::Attr(
            Box::new(to_ref_depth(&a.value, depth + 1)),
            a.attr.id.clone(),
        ),
        Expr::Call(c) => ExprRef::Call(Box::new(CallRef {
            func: to_ref_depth(&c.func, depth + 1),
            args: c
                .arguments
                .args
                .iter()
                .take(4)
                .map(|a| to_ref_depth(a, depth + 1))
                .collect(),
            keywords: c
                .arguments
                .keywords
                .iter()
                .filter_map(|k| {
                    k.arg
                        .as_ref()
                        .map(|a| (a.id.clone(), to_ref_depth(&k.value, depth + 1)))
                })
                .collect(),
        })),
        Expr::Subscript(s) => ExprRef::Subscript(Box::new(to_ref_depth(&s.value, depth + 1))),
        Expr::StringLiteral(s) => ExprRef::Str(s.value.to_str().to_string()),
        _ => ExprRef::Other,
    }
}

struct FunctionScope<'a> {
    id: u32,
    locals: HashSet<Name>,
    imports: HashMap<Name, Binding>,
    /// The last expression assigned to each local name so far (for cache key tracking).
    assigned: HashMap<Name, &'a Expr>,
}

struct Extractor<'a, 'f> {
    loc: &'f Locator<'f>,
    facts: &'f mut FileFacts,
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
    multiline_strings: Vec<TextRange>,
}

/// Callee names recorded as [`CallSite`]s, besides the configured setters, clearers, context
/// managers and bypass calls.
const CALL_NAMES: &[&str] = &[
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

    /// Make `from .x import y` absolute.
    /// The module an import names, as written: relative imports keep their leading dots (facts do
    /// not know the file's own module; the index makes them absolute).
    fn absolute_module(&self, module: Option<&str>, level: u32) -> String {
        format!(
            "{}{}",
            ".".repeat(level as usize),
            module.unwrap_or_default()
        )
    }

    fn import_bindings(&self, stmt: &Stmt) -> Vec<(Name, Binding)> {
        let mut out = Vec::new();
        match stmt {
            Stmt::Import(i) => {
                for a in &i.names {
                    match &a.asname {
                        Some(asname) => {
                            out.push((asname.id.clone(), Binding::Module(a.name.id.to_string())))
                        }
                        None => {
                            let top = a.name.id.split('.').next().unwrap_or_default();
                            out.push((Name::new(top), Binding::Module(top.to_string())));
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
                            module: module.clone(),
                            name: a.name.id.clone(),
                        },
                    ));
                }
            }
            _ => {}
        }
        out
    }

    fn record_import_stmt(&mut self, stmt: &Stmt) {
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
            edits.import_spans.push(import_spans(self.loc, range));
        }
        self.facts.imports.push(ImportStmt {
            span: self.loc.span(range),
            from_module,
            written_module,
            names,
            scope: self.scope_id(),
        });
    }

    fn root_binding(&self, name: &Name) -> RootBinding {
        for scope in self.scopes.iter().rev() {
            if let Some(b) = scope.imports.get(name) {
                return RootBinding::LocalImport(b.clone());
            }
            if scope.locals.contains(name) {
                return RootBinding::Local;
            }
        }
        RootBinding::Module
    }

    /// The innermost function scope that binds `name`, or 0 for the module.
    fn binding_scope(&self, name: &Name) -> u32 {
        self.scopes
            .iter()
            .rev()
            .find(|s| s.imports.contains_key(name) || s.locals.contains(name))
            .map_or(0, |s| s.id)
    }

    fn note_name_use(&mut self, name: &Name, offset: TextSize) {
        if self.edits.is_some() && self.tracked_names.contains(name) {
            let scope = self.binding_scope(name);
            let Some(edits) = self.edits.as_mut() else {
                return;
            };
            edits.name_uses.push(NameUse {
                name: name.clone(),
                scope,
                offset: offset.to_u32(),
            });
        }
    }

    fn class_fact(&self, class: &ast::StmtClassDef) -> ClassFact {
        let mut fact = ClassFact {
            name: class.name.id.clone(),
            name_span: self.loc.span(class.name.range),
            bases: class
                .arguments
                .as_ref()
                .map(|a| a.args.iter().map(to_ref).collect())
                .unwrap_or_default(),
            assigns: Vec::new(),
            methods: Vec::new(),
            meta: MetaFacts::default(),
            tenant_column: None,
            decorators: class
                .decorator_list
                .iter()
                .map(|d| to_ref(&d.expression))
                .collect(),
            top_level: self.at_module_level(),
        };
        for stmt in &class.body {
            match stmt {
                Stmt::Assign(a) => {
                    for target in &a.targets {
                        if let Expr::Name(n) = target {
                            fact.assigns.push(ClassAssign {
                                name: n.id.clone(),
                                value: to_ref(&a.value),
                                value_span: self.loc.span(a.value.range()),
                            });
                        }
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(v)) = (&*a.target, &a.value) {
                        fact.assigns.push(ClassAssign {
                            name: n.id.clone(),
                            value: to_ref(v),
                            value_span: self.loc.span(v.range()),
                        });
                    }
                }
                Stmt::FunctionDef(f) => fact.methods.push(f.name.id.clone()),
                Stmt::ClassDef(c) if c.name.id == "Meta" => fact.meta = meta_facts(c),
                Stmt::ClassDef(c) if c.name.id == "TenantMeta" => {
                    fact.tenant_column = string_attr(&c.body, &["tenant_field_name", "tenant_id"]);
                }
                _ => {}
            }
        }
        if fact.tenant_column.is_none() {
            fact.tenant_column = string_attr(&class.body, &["tenant_id"]);
        }
        fact
    }

    /// Where a new first statement goes in a class body: after the docstring (its real end), with
    /// the body's own indentation; one-line bodies are expanded onto their own lines.
    fn body_insert(&self, class: &ast::StmtClassDef) -> Option<BodyInsert> {
        let first = class.body.first()?;
        let loc = self.loc;
        let nl = detect_newline(loc.source);
        let header_end = class
            .arguments
            .as_ref()
            .map_or(class.name.end(), |a| a.end());
        // A body on the header's logical line (also after a backslash): no indented block.
        let one_line = if loc.logical.ends.is_empty() {
            loc.line_of(first.start()) == loc.line_of(header_end)
        } else {
            loc.logical
                .block_firsts
                .binary_search(&first.start())
                .is_err()
        };
        if one_line {
            // `class A(B): pass` -> rebuild the body on its own lines.
            let colon = loc.source[header_end.to_usize()..first.start().to_usize()].find(':')?;
            let colon = header_end + TextSize::from(colon as u32);
            let last = class.body.last()?;
            let class_indent = loc.indentation_at(class.start());
            let unit = if class_indent.contains('\t') || loc.source.contains("\n\t") {
                "\t"
            } else {
                "    "
            };
            let indent = format!("{class_indent}{unit}");
            let texts: Vec<&str> = class.body.iter().map(|s| loc.slice(s.range())).collect();
            let sep = format!("{nl}{indent}");
            let (head, tail) = if is_docstring(first) {
                (&texts[..1], &texts[1..])
            } else {
                (&texts[..0], &texts[..])
            };
            let mut prefix = format!(":{nl}{indent}");
            for t in head {
                prefix.push_str(t);
                prefix.push_str(&sep);
            }
            let mut suffix = String::new();
            for t in tail {
                suffix.push_str(&sep);
                suffix.push_str(t);
            }
            return Some(BodyInsert {
                span: loc.span(TextRange::new(colon, last.end())),
                prefix,
                suffix,
            });
        }
        let indent = loc.indentation_at(first.start()).to_string();
        if is_docstring(first) {
            return Some(match loc.next_logical_line_start(first.end()) {
                Some(off) => BodyInsert {
                    span: loc.point(off),
                    prefix: indent,
                    suffix: nl.to_string(),
                },
                None => BodyInsert {
                    span: loc.point(first.end()),
                    prefix: format!("{nl}{indent}"),
                    suffix: String::new(),
                },
            });
        }
        // Insert right after the header line, before any leading comments of the body.
        let off = loc.next_logical_line_start(header_end)?;
        Some(BodyInsert {
            span: loc.point(off),
            prefix: indent,
            suffix: nl.to_string(),
        })
    }

    fn enter_function(&mut self, params: &'a ast::Parameters, body: &'a [Stmt]) {
        let mut locals = HashSet::default();
        for p in params.iter() {
            locals.insert(p.name().id.clone());
        }
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
        });
    }

    /// Try to read a call as a query or cache call site. Returns true if it was recorded (the
    /// chain's own children have then been visited).
    fn call_site(&mut self, expr: &'a Expr) -> bool {
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
            return false;
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
            self.facts.cache_sites.push(CacheSite {
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
    fn maybe_record_call(&mut self, call: &'a ast::ExprCall) {
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
    fn arg_value_followed(&self, e: &'a Expr) -> ArgValue {
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

    /// The original name of `name` when it is bound by `from m import original as name`.
    fn imported_as(&self, name: &Name) -> Option<Name> {
        let binding = match self.root_binding(name) {
            RootBinding::LocalImport(b) => b,
            RootBinding::Local => return None,
            RootBinding::Module => self.facts.binding(name)?.clone(),
        };
        match binding {
            Binding::FromImport { name: original, .. } if original != *name => Some(original),
            _ => None,
        }
    }

    fn attr_store(&mut self, attr: &'a ast::ExprAttribute, clears: bool) {
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

    /// For each call statement directly in `body` (edit mode only), how the rest of the body would be
    /// wrapped in `try`/`finally` (none when re-indenting would change a multi-line string).
    fn prepare_wraps(&mut self, body: &'a [Stmt]) {
        for (i, stmt) in body.iter().enumerate() {
            let Stmt::Expr(e) = stmt else { continue };
            let Expr::Call(call) = &*e.value else {
                continue;
            };
            if !matches!(&*call.func, Expr::Name(_) | Expr::Attribute(_)) {
                continue;
            }
            let rest = &body[i + 1..];
            let (Some(first), Some(last)) = (rest.first(), rest.last()) else {
                continue;
            };
            let loc = self.loc;
            let start = loc.line_start(loc.line_of(first.start()));
            if loc.line_of(first.start()) == loc.line_of(stmt.end()) {
                continue; // `set(); rest` on one line
            }
            let end = loc
                .next_line_start(last.end())
                .unwrap_or(TextSize::of(loc.source));
            let range = TextRange::new(start, end);
            if self
                .multiline_strings
                .iter()
                .any(|r| r.intersect(range).is_some())
            {
                continue;
            }
            let indent = loc.indentation_at(first.start()).to_string();
            let unit = if indent.starts_with('\t') {
                "\t"
            } else {
                "    "
            }
            .to_string();
            let Some(edits) = self.edits.as_mut() else {
                return;
            };
            edits.wraps.insert(
                call.start().to_u32(),
                WrapRest {
                    span: loc.span(range),
                    indent,
                    unit,
                },
            );
        }
    }

    fn lit(&self, e: &Expr, depth: u32) -> Lit {
        if depth > 12 {
            return Lit::Other;
        }
        match e {
            Expr::StringLiteral(s) => {
                Lit::Str(s.value.to_str().to_string(), self.loc.span(s.range))
            }
            Expr::BooleanLiteral(b) => Lit::Bool(b.value),
            Expr::List(l) => Lit::Seq(l.elts.iter().map(|e| self.lit(e, depth + 1)).collect()),
            Expr::Tuple(t) => Lit::Seq(t.elts.iter().map(|e| self.lit(e, depth + 1)).collect()),
            Expr::Dict(d) => Lit::Dict(
                d.items
                    .iter()
                    .filter_map(|item| {
                        item.key
                            .as_ref()
                            .map(|k| (self.lit(k, depth + 1), self.lit(&item.value, depth + 1)))
                    })
                    .collect(),
            ),
            Expr::Name(_) | Expr::Attribute(_) => Lit::Ref(to_ref(e)),
            _ => Lit::Other,
        }
    }

    fn cache_key(&self, method: &str, args: &'a ast::Arguments) -> KeyExpr {
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

    fn classify_key(&self, e: &'a Expr, depth: u32) -> KeyExpr {
        if depth > 4 {
            return KeyExpr::Unknown;
        }
        match e {
            Expr::StringLiteral(s) => KeyExpr::text(s.value.to_str(), Vec::new()),
            Expr::FString(f) => {
                let text = fstring_text(f);
                let lead = text.split(HOLE).next().unwrap_or_default();
                KeyExpr::text(lead, fstring_holes(f))
            }
            Expr::BinOp(b) if matches!(b.op, ast::Operator::Add | ast::Operator::Mod) => {
                match self.classify_key(&b.left, depth + 1) {
                    KeyExpr::Text { lead, mut holes } => {
                        // `"k:%s" % (a, b)` and `"k:" + x`: the right side is interpolated.
                        match &*b.right {
                            Expr::Tuple(t) => holes.extend(t.elts.iter().map(to_ref)),
                            other => holes.push(to_ref(other)),
                        }
                        KeyExpr::Text { lead, holes }
                    }
                    other => other,
                }
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
                        .map(to_ref)
                        .collect();
                    let text = lit.value.to_str();
                    return KeyExpr::text(text.split('{').next().unwrap_or(text), holes);
                }
                KeyExpr::Call(to_ref(&c.func))
            }
            Expr::Name(n) => {
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

/// The values an f-string interpolates, as references (`{request.tenant.pk}`).
fn fstring_holes(f: &ast::ExprFString) -> Vec<ExprRef> {
    let mut out = Vec::new();
    for part in f.value.iter() {
        if let ast::FStringPart::FString(fs) = part {
            for el in fs.elements.iter() {
                if let ast::InterpolatedStringElement::Interpolation(i) = el
                    && out.len() < 8
                {
                    out.push(to_ref(&i.expression));
                }
            }
        }
    }
    out
}

/// Marks where an f-string interpolates a value in [`fstring_text`].
const HOLE: char = '\u{1}';

/// The literal text of an f-string (all its implicitly concatenated parts), with [`HOLE`] where a
/// value is interpolated.
fn fstring_text(f: &ast::ExprFString) -> String {
    let mut out = String::new();
    for part in f.value.iter() {
        match part {
            ast::FStringPart::Literal(l) => out.push_str(&l.value),
            ast::FStringPart::FString(fs) => {
                for el in fs.elements.iter() {
                    match el {
                        ast::InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                        ast::InterpolatedStringElement::Interpolation(_) => out.push(HOLE),
                    }
                }
            }
        }
    }
    out
}

/// An argument reduced to an [`ArgValue`].
fn arg_value(e: &Expr, depth: u32) -> ArgValue {
    if depth > 8 {
        return ArgValue::Other;
    }
    match e {
        Expr::StringLiteral(s) => ArgValue::Str(s.value.to_str().to_string()),
        Expr::FString(f) => ArgValue::Str(fstring_text(f).replace(HOLE, "{}")),
        Expr::BinOp(b) if matches!(b.op, ast::Operator::Add | ast::Operator::Mod) => {
            match (arg_value(&b.left, depth + 1), &b.op) {
                (ArgValue::Str(l), ast::Operator::Add) => match arg_value(&b.right, depth + 1) {
                    ArgValue::Str(r) => ArgValue::Str(l + &r),
                    _ => ArgValue::Str(l + "{}"),
                },
                (ArgValue::Str(l), _) => ArgValue::Str(l),
                (_, ast::Operator::Add) => match arg_value(&b.right, depth + 1) {
                    ArgValue::Str(r) => ArgValue::Str(format!("{{}}{r}")),
                    _ => ArgValue::Other,
                },
                _ => ArgValue::Other,
            }
        }
        Expr::Call(c) => {
            // `"...".format(...)`
            if let Expr::Attribute(a) = &*c.func
                && a.attr.id == "format"
                && let ArgValue::Str(s) = arg_value(&a.value, depth + 1)
            {
                return ArgValue::Str(s);
            }
            ArgValue::Ref(to_ref(e))
        }
        Expr::List(l) => ArgValue::Seq(l.elts.iter().map(|e| arg_value(e, depth + 1)).collect()),
        Expr::Tuple(t) => ArgValue::Seq(t.elts.iter().map(|e| arg_value(e, depth + 1)).collect()),
        Expr::Name(_) | Expr::Attribute(_) | Expr::Subscript(_) => ArgValue::Ref(to_ref(e)),
        Expr::NoneLiteral(_) => ArgValue::None,
        _ => ArgValue::Other,
    }
}

fn collect_filter_keywords(args: &ast::Arguments, out: &mut Vec<Name>) {
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
fn collect_q_keywords(e: &Expr, out: &mut Vec<Name>, depth: u32) {
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

/// The string value of the first of `names` assigned directly in `body`.
fn string_attr(body: &[Stmt], names: &[&str]) -> Option<String> {
    body.iter().find_map(|stmt| {
        let Stmt::Assign(a) = stmt else { return None };
        let [Expr::Name(n)] = a.targets.as_slice() else {
            return None;
        };
        match &*a.value {
            Expr::StringLiteral(s) if names.contains(&n.id.as_str()) => {
                Some(s.value.to_str().to_string())
            }
            _ => None,
        }
    })
}

fn meta_facts(meta: &ast::StmtClassDef) -> MetaFacts {
    let mut m = MetaFacts {
        inherits_meta: meta.arguments.as_ref().is_some_and(|a| !a.args.is_empty()),
        declared: true,
        ..Default::default()
    };
    for stmt in &meta.body {
        let (targets, value): (Vec<&Expr>, &Expr) = match stmt {
            Stmt::Assign(a) => (a.targets.iter().collect(), &a.value),
            Stmt::AnnAssign(a) => match &a.value {
                Some(v) => (vec![&*a.target], v),
                None => continue,
            },
            _ => continue,
        };
        for t in targets {
            let Expr::Name(n) = t else { continue };
            let as_bool = match value {
                Expr::BooleanLiteral(b) => Some(b.value),
                _ => None,
            };
            let as_str = match value {
                Expr::StringLiteral(s) => Some(s.value.to_str().to_string()),
                _ => None,
            };
            match n.id.as_str() {
                "abstract" => m.abstract_ = as_bool,
                "proxy" => m.proxy = as_bool,
                "default_manager_name" => m.default_manager_name = as_str,
                "base_manager_name" => m.base_manager_name = as_str,
                "db_table" => m.db_table = as_str,
                "app_label" => m.app_label = as_str,
                _ => {}
            }
        }
    }
    m
}

/// Names bound in a function body (not descending into nested functions or classes).
fn collect_locals(
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

impl<'a> Visitor<'a> for Extractor<'a, '_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
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
                });
                if self.edits.is_some() {
                    self.prepare_wraps(&f.body);
                }
                let saved_class = self.class_ctx.take();
                let saved_finally = std::mem::take(&mut self.finally_depth);
                self.visit_body(&f.body);
                self.finally_depth = saved_finally;
                self.class_ctx = saved_class;
                self.scopes.pop();
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
                    && let Some(scope) = self.scopes.last_mut()
                {
                    for t in &a.targets {
                        if let Expr::Name(n) = t {
                            scope.assigned.insert(n.id.clone(), &a.value);
                        }
                    }
                }
                visitor::walk_stmt(self, stmt);
                if let Some(ctx) = &mut self.class_ctx {
                    ctx.attr = None;
                }
            }
            Stmt::AugAssign(a) => {
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
                for item in &w.items {
                    self.in_with_item = true;
                    self.visit_expr(&item.context_expr);
                    self.in_with_item = false;
                    if let Some(v) = &item.optional_vars {
                        self.visit_expr(v);
                    }
                }
                self.visit_body(&w.body);
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
    fn visit_expr_inner(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(call) => {
                self.maybe_record_call(call);
                if !self.call_site(expr) {
                    // Calls nested in a `with` item or decorator are not themselves the item.
                    let (w, d) = (self.in_with_item, self.in_decorator);
                    self.in_with_item = false;
                    visitor::walk_expr(self, expr);
                    self.in_with_item = w;
                    self.in_decorator = d;
                }
            }
            Expr::Name(n) => {
                if n.ctx.is_load() {
                    self.note_name_use(&n.id, n.start());
                }
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

fn collect_target_names(e: &Expr, out: &mut HashSet<Name>) {
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
