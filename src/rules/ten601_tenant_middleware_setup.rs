//! TEN601 tenant-middleware-setup: in settings modules, a literal `MIDDLEWARE` with no
//! configured tenant middleware or with more than one of them, and configured tenant routers
//! missing from `DATABASE_ROUTERS`. With the django-tenants conventions (`schema_per_tenant`),
//! also the consistency of `SHARED_APPS` / `TENANT_APPS` / `INSTALLED_APPS` and the tenant
//! middleware's position.
//!
//! Settings split over modules are read as Django reads them: a module's `MIDDLEWARE` is its own
//! literal list, or the list of the module it star-imports (`from .base import *`) extended by
//! its own `MIDDLEWARE += [...]`; a module whose every settings importer assigns the list
//! itself is never what Django reads, and is not judged. A list built otherwise
//! (`MIDDLEWARE = MIDDLEWARE + [...]`, a name from elsewhere) is never "missing" anything.

use super::Context;
use super::settings_lookup::{
    ListItem, Lookup, app_label, assigns, deref, effective_str_list, last_assignment, lookup,
    matches_config, overridden_by_importers, str_items,
};
use crate::diagnostics::Diagnostic;
use crate::facts::{FileFacts, Lit, SettingFact};
use crate::index::{ClassId, Index};
use crate::locate::Span;
use crate::registry::{FixAvailability, Rule, RuleMeta};

const WATCHED: &[&str] = &[
    "MIDDLEWARE",
    "DATABASE_ROUTERS",
    "SHARED_APPS",
    "TENANT_APPS",
];

fn push(ctx: &Context, out: &mut Vec<Diagnostic>, span: Span, message: String, help: String) {
    out.push(Diagnostic::new(RULE, message, ctx.path().to_path_buf(), span).with_help(Some(help)));
}

fn listed(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A setting assigned literally in this file, as a list of strings (`None` when it is not
/// assigned here, is built non-literally, or holds anything but string literals).
fn own_list<'a>(
    facts: &'a FileFacts,
    name: &str,
) -> Option<(&'a SettingFact, Vec<(&'a str, Span)>)> {
    let fact = super::settings_lookup::literal_setting(facts, name)?;
    let items = str_items(deref(facts, &fact.value))?;
    Some((fact, items))
}

pub static META: RuleMeta = RuleMeta {
    code: "TEN601",
    name: "tenant-middleware-setup",
    summary: "Settings without exactly one tenant middleware, or without the tenant database router",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN601.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(TenantMiddlewareSetup);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let facts = ctx.facts;
    if !facts
        .settings
        .iter()
        .any(|s| WATCHED.contains(&s.name.as_str()))
        || !ctx.settings.is_settings_module(ctx.path())
    {
        return;
    }
    // The value Django reads for this module, unless every settings module importing it
    // assigns its own (then those are judged).
    let middleware = last_assignment(facts, "MIDDLEWARE")
        .filter(|_| !overridden_by_importers(ctx.index, ctx.settings, ctx.file, "MIDDLEWARE"))
        .and_then(|fact| Some((fact, effective_str_list(ctx.index, ctx.file, "MIDDLEWARE")?)));
    if let Some((fact, items)) = &middleware {
        check_middleware(ctx, out, fact, items);
    }
    check_routers(ctx, out, middleware.as_ref().map(|(f, _)| *f));
    if ctx.conv().schema_per_tenant {
        check_tenant_apps(ctx, out);
    }
}

/// Middleware that never touches the database, so it may run before the tenant middleware
/// (Django requires `UpdateCacheMiddleware` first of all).
const DB_FREE_MIDDLEWARE: &[&str] = &[
    "django.middleware.cache.UpdateCacheMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.gzip.GZipMiddleware",
    "django.middleware.http.ConditionalGetMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
];

/// Can a middleware entry query the database (and so must not run before the schema is set)?
/// Known database-free middleware cannot; a project class can when one of its methods queries a
/// model; anything else is assumed to.
fn may_query(ctx: &Context, entry: &str) -> bool {
    if DB_FREE_MIDDLEWARE.contains(&entry) {
        return false;
    }
    match ctx.index.resolve_dotted(entry) {
        crate::index::Resolved::Class(id) => {
            let facts = ctx.index.facts(id.file);
            let queries = facts.sites().query_sites;
            facts
                .functions
                .iter()
                .filter(|f| f.class == Some(id.class))
                .any(|f| queries.iter().any(|q| q.scope == f.scope))
        }
        _ => true,
    }
}

/// Does the project set a current tenant at all: a preset whose library does
/// (django-multitenant, django-tenants), a tenant middleware named in any settings module, a call to or definition of a `tenant-setters` function,
/// a project class that is (or inherits) a `tenant-middlewares` entry, or a module-level
/// `ContextVar(...)` / `threading.local()` whose name has a tenant word (`_current_tenant`)?
fn has_current_tenant_mechanism(ctx: &Context) -> bool {
    *ctx.shared.current_tenant_mechanism.get_or_init(|| {
        if matches!(
            ctx.settings.preset.as_deref(),
            Some("django-multitenant" | "django-tenants")
        ) {
            return true;
        }
        let conv = ctx.conv();
        let index = ctx.index;
        let setter = |name: &str| conv.tenant_setters.iter().any(|s| matches_config(s, name));
        let tenant_word = |name: &str| {
            name.split('_').any(|w| {
                w.eq_ignore_ascii_case("tenant")
                    || conv
                        .tenant_fields
                        .iter()
                        .any(|f| w == f.rsplit('.').next().unwrap_or(f))
            })
        };
        registered_in_settings(ctx, true)
            || index.files().any(|(file, facts)| {
            facts.call_names.iter().any(|n| setter(n))
                || facts.functions.iter().any(|f| setter(&f.name))
                || facts.bindings.iter().any(|b| {
                    tenant_word(&b.name)
                        && matches!(&b.binding, crate::facts::Binding::Assign(crate::facts::ExprRef::Call(c))
                            if matches!(index.path_of(&index.resolve_expr(file, &c.func)).as_deref(),
                                Some("contextvars.ContextVar" | "threading.local" | "asgiref.local.Local")))
                })
                || (0..facts.classes.len()).any(|ci| {
                    let id = ClassId {
                        file,
                        class: ci as u32,
                    };
                    conv.tenant_middlewares
                        .iter()
                        .any(|m| index.class_reaches_config(id, m))
                })
        })
    })
}

/// Does a literal setting value name a tenant middleware (in a list, a dict's values...)?
fn names_middleware(ctx: &Context, lit: &Lit, depth: u32) -> bool {
    if depth > 6 {
        return false;
    }
    match lit {
        Lit::Str(s, _) => is_tenant_middleware(ctx, &ctx.conv().tenant_middlewares, s),
        Lit::Seq(items) => items.iter().any(|i| names_middleware(ctx, i, depth + 1)),
        Lit::Dict(items) => items
            .iter()
            .any(|(_, v)| names_middleware(ctx, v, depth + 1)),
        _ => false,
    }
}

/// Does a settings module of the project name a tenant middleware in a setting (`MIDDLEWARE`
/// too when `with_middleware`)?
fn registered_in_settings(ctx: &Context, with_middleware: bool) -> bool {
    ctx.index.files().any(|(file, facts)| {
        !facts.settings.is_empty()
            && ctx.settings.is_settings_module(ctx.index.path(file))
            && facts.settings.iter().any(|s| {
                (with_middleware || s.name != "MIDDLEWARE") && names_middleware(ctx, &s.value, 0)
            })
    })
}

/// Is a tenant middleware named in a settings module outside `MIDDLEWARE` (a GraphQL library's
/// own middleware list, such as `GRAPHENE = {"MIDDLEWARE": [...]}`)?
fn registered_elsewhere(ctx: &Context) -> bool {
    *ctx.shared
        .middleware_registered_elsewhere
        .get_or_init(|| registered_in_settings(ctx, false))
}

/// A `MIDDLEWARE` entry that is a configured tenant middleware, or a project class inheriting one.
fn is_tenant_middleware(ctx: &Context, configured: &[String], entry: &str) -> bool {
    if configured.iter().any(|c| matches_config(c, entry)) {
        return true;
    }
    match ctx.index.resolve_dotted(entry) {
        crate::index::Resolved::Class(id) => configured
            .iter()
            .any(|c| ctx.index.class_reaches_config(id, c)),
        _ => false,
    }
}

fn check_middleware(
    ctx: &Context,
    out: &mut Vec<Diagnostic>,
    fact: &SettingFact,
    items: &[ListItem],
) {
    // An entry written in a star-imported module is reported at this module's assignment.
    let items: Vec<(&str, Span)> = items
        .iter()
        .map(|i| {
            let span = if i.file == ctx.file {
                i.span
            } else {
                fact.span
            };
            (i.value, span)
        })
        .collect();
    let items = &items[..];
    let conv = ctx.conv();
    let configured = &conv.tenant_middlewares;
    if configured.is_empty() {
        return;
    }
    let matches: Vec<(usize, &str, Span)> = items
        .iter()
        .enumerate()
        .filter(|(_, (s, _))| is_tenant_middleware(ctx, configured, s))
        .map(|(i, (s, span))| (i, *s, *span))
        .collect();
    let Some(&(first_pos, first, _)) = matches.first() else {
        // A project that scopes every query explicitly has no current tenant to set; and a
        // middleware registered elsewhere (`GRAPHENE["MIDDLEWARE"]`) does set it.
        if !has_current_tenant_mechanism(ctx) || registered_elsewhere(ctx) {
            return;
        }
        push(
            ctx,
            out,
            fact.span,
            format!(
                "`MIDDLEWARE` has no tenant middleware (one of {}, see `tenant-middlewares`): requests are served without a current tenant",
                listed(configured)
            ),
            "Add your tenant middleware to `MIDDLEWARE`, or list it in `tenant-middlewares` if it has another name".into(),
        );
        return;
    };
    for &(_, other, span) in &matches[1..] {
        let message = if other == first {
            format!(
                "`{other}` is listed twice in `MIDDLEWARE`: the tenant is resolved twice per request"
            )
        } else {
            format!(
                "A second tenant middleware `{other}` in `MIDDLEWARE` besides `{first}`: two middlewares resolve the tenant independently and can disagree about it"
            )
        };
        push(
            ctx,
            out,
            span,
            message,
            format!("Keep exactly one tenant middleware (`{first}`) in `MIDDLEWARE`"),
        );
    }
    if conv.schema_per_tenant
        && let Some(&(before, _)) = items[..first_pos]
            .iter()
            .find(|(entry, _)| may_query(ctx, entry))
    {
        let (_, span) = items[first_pos];
        push(
            ctx,
            out,
            span,
            format!(
                "`{first}` is not the first entry of `MIDDLEWARE` (it is entry {}): `{before}` before it runs in the public schema",
                first_pos + 1
            ),
            format!("Move `{first}` to the top of `MIDDLEWARE`"),
        );
    }
}

/// Configured routers missing from `DATABASE_ROUTERS`: reported at a literal `DATABASE_ROUTERS`
/// of this file; when no module this one can see assigns `DATABASE_ROUTERS` at all (Django's
/// default, no routers), reported at this file's literal `MIDDLEWARE` (the file that is the
/// project's settings).
fn check_routers(ctx: &Context, out: &mut Vec<Diagnostic>, middleware: Option<&SettingFact>) {
    let facts = ctx.facts;
    let routers = &ctx.conv().tenant_routers;
    if routers.is_empty() {
        return;
    }
    if assigns(facts, "DATABASE_ROUTERS") {
        if overridden_by_importers(ctx.index, ctx.settings, ctx.file, "DATABASE_ROUTERS") {
            return;
        }
        let (Some(fact), Some(items)) = (
            last_assignment(facts, "DATABASE_ROUTERS"),
            effective_str_list(ctx.index, ctx.file, "DATABASE_ROUTERS"),
        ) else {
            return;
        };
        for r in routers {
            if !items.iter().any(|i| matches_config(r, i.value)) {
                push(
                    ctx,
                    out,
                    fact.span,
                    format!(
                        "`DATABASE_ROUTERS` lacks the tenant router `{r}` (see `tenant-routers`): Django never consults it"
                    ),
                    format!("Add `\"{r}\"` to `DATABASE_ROUTERS`"),
                );
            }
        }
        return;
    }
    let Some(mw) = middleware else { return };
    // Every settings module importing this one sets its own routers: those are what Django reads.
    if overridden_by_importers(ctx.index, ctx.settings, ctx.file, "DATABASE_ROUTERS") {
        return;
    }
    if !matches!(
        lookup(ctx.index, ctx.file, "DATABASE_ROUTERS"),
        Lookup::Absent
    ) {
        return; // A star-imported module assigns it (and is checked itself), or it is unknown.
    }
    for r in routers {
        push(
            ctx,
            out,
            mw.span,
            format!(
                "These settings have no `DATABASE_ROUTERS`, so the tenant router `{r}` (see `tenant-routers`) is not installed"
            ),
            format!("Add `DATABASE_ROUTERS = [\"{r}\"]`"),
        );
    }
}

/// The project's tenant model class: the one top-level class named by `tenant-model`, else the
/// one concrete class in a `models` module that inherits it (django-tenants' `TenantMixin`, which
/// lives outside the project, so the subclass is not known to be a Django model).
fn tenant_model_class(index: &Index) -> Option<ClassId> {
    let cfg = &index.conv().tenant_model;
    let named = index.find_classes(cfg);
    if let [id] = named.as_slice()
        && index.class(*id).meta.abstract_ != Some(true)
    {
        return Some(*id);
    }
    if !named.is_empty() {
        return None;
    }
    let mut found = None;
    for (fi, facts) in index.files() {
        if !index.module(fi).split('.').any(|p| p == "models") {
            continue;
        }
        for (ci, class) in facts.classes.iter().enumerate() {
            let id = ClassId {
                file: fi,
                class: ci as u32,
            };
            if !class.top_level
                || class.meta.abstract_ == Some(true)
                || !index.class_reaches_config(id, cfg)
            {
                continue;
            }
            if found.is_some() {
                return None; // Several candidates: do not guess.
            }
            found = Some(id);
        }
    }
    found
}

/// The app label of the tenant model: from `TENANT_MODEL = "app_label.Model"`, else from the
/// project's tenant model class.
fn tenant_model_app(ctx: &Context) -> Option<(String, String)> {
    if let Lookup::Literal(file, fact) = lookup(ctx.index, ctx.file, "TENANT_MODEL") {
        let facts = &ctx.index.facts(file);
        if let Lit::Str(s, _) = deref(facts, &fact.value) {
            let (label, _) = s.rsplit_once('.')?;
            return Some((label.to_string(), s.clone()));
        }
        return None;
    }
    let index = ctx.index;
    let id = tenant_model_class(index)?;
    let class = index.class(id);
    let label = match &class.meta.app_label {
        Some(l) => l.clone(),
        None => {
            let module = index.module(id.file);
            let parts: Vec<&str> = module.split('.').collect();
            match parts.iter().rposition(|p| *p == "models") {
                Some(i) if i > 0 => parts[i - 1].to_string(),
                _ if parts.len() >= 2 => parts[parts.len() - 2].to_string(),
                _ => return None,
            }
        }
    };
    let shown = format!("{label}.{}", class.name);
    Some((label, shown))
}

/// django-tenants: `SHARED_APPS` starts with `django_tenants` and holds the tenant model's app;
/// every shared and tenant app is installed.
fn check_tenant_apps(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let facts = ctx.facts;
    let shared = own_list(facts, "SHARED_APPS");
    if let Some((fact, items)) = &shared {
        // django-tenant-schemas, django-tenants' predecessor, is `tenant_schemas`.
        if !items
            .iter()
            .any(|(s, _)| matches!(app_label(s), "django_tenants" | "tenant_schemas"))
        {
            push(
                ctx,
                out,
                fact.span,
                "`SHARED_APPS` lacks `django_tenants`, which django-tenants requires there (its documentation marks it mandatory)".into(),
                "Add `\"django_tenants\"` as the first entry of `SHARED_APPS`".into(),
            );
        }
        check_django_tenants_first(ctx, out, "SHARED_APPS", items);
        if let Some((label, model)) = tenant_model_app(ctx)
            && !items.iter().any(|(s, _)| app_label(s) == label)
        {
            push(
                ctx,
                out,
                fact.span,
                format!(
                    "`SHARED_APPS` lacks `{label}`, the app of the tenant model `{model}`: the tenant table must live in the public schema"
                ),
                format!("Add the `{label}` app to `SHARED_APPS`"),
            );
        }
    }
    if let Some((_, items)) = own_list(facts, "INSTALLED_APPS") {
        check_django_tenants_first(ctx, out, "INSTALLED_APPS", &items);
    }
    // Apps that are shared or per tenant but never installed: only when `INSTALLED_APPS` is a
    // literal list (it is usually computed from the other two, and then always consistent).
    let installed = match lookup(ctx.index, ctx.file, "INSTALLED_APPS") {
        Lookup::Literal(file, fact) => {
            let f = &ctx.index.facts(file);
            match str_items(deref(f, &fact.value)) {
                Some(items) => items
                    .into_iter()
                    .map(|(s, _)| app_label(s))
                    .collect::<Vec<_>>(),
                None => return,
            }
        }
        _ => return,
    };
    let tenant = own_list(facts, "TENANT_APPS");
    for (setting, list) in [("SHARED_APPS", &shared), ("TENANT_APPS", &tenant)] {
        let Some((_, items)) = list else { continue };
        for &(app, span) in items {
            if !installed.contains(&app_label(app)) {
                push(
                    ctx,
                    out,
                    span,
                    format!(
                        "`{app}` is in `{setting}` but not in `INSTALLED_APPS`: Django never loads it, so its tables are not migrated"
                    ),
                    format!(
                        "Add `\"{app}\"` to `INSTALLED_APPS`, or build `INSTALLED_APPS` from `SHARED_APPS` and `TENANT_APPS`"
                    ),
                );
            }
        }
    }
}

/// django-tenants' own system check: `django_tenants` must come before every Django core app
/// (`django.*`), so that its schema-aware management commands override Django's.
fn check_django_tenants_first(
    ctx: &Context,
    out: &mut Vec<Diagnostic>,
    setting: &str,
    items: &[(&str, Span)],
) {
    let Some(pos) = items
        .iter()
        .position(|(s, _)| app_label(s) == "django_tenants")
    else {
        return;
    };
    if let Some((core, _)) = items[..pos].iter().find(|(s, _)| s.starts_with("django.")) {
        push(
            ctx,
            out,
            items[pos].1,
            format!(
                "`django_tenants` comes after `{core}` in `{setting}`: Django apps listed before it override its schema-aware management commands"
            ),
            format!("Move `\"django_tenants\"` to the top of `{setting}`"),
        );
    }
}
