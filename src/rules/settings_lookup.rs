//! Lookups in Django settings modules, shared by the cache rules (TEN301, TEN302) and the
//! settings rules (TEN303, TEN601).
//!
//! Settings values come from [`FileFacts::settings`]: module-level UPPER_CASE assignments reduced
//! to literals. A setting counts as *literal* in a file when its last plain assignment there is
//! not followed by an augmented one (`MIDDLEWARE += [...]`); what other modules (`from .base
//! import *`) contribute is looked up through the project index only where a rule says so.

use super::Context;
use crate::config::{Conventions, Settings};
use crate::diagnostics::Related;
use crate::facts::{ExprRef, FileFacts, Lit, SettingFact};
use crate::index::{Index, config_matches};
use crate::locate::Span;

/// Django's `DEFAULT_CACHE_ALIAS`: what `django.core.cache.cache` and, unless
/// `CACHE_MIDDLEWARE_ALIAS` says otherwise, `cache_page` use.
pub const DEFAULT_ALIAS: &str = "default";

/// The last plain assignment of `name` in `facts`, unless an augmented assignment to it follows
/// (then the value is built step by step and is not a literal).
pub fn literal_setting<'a>(facts: &'a FileFacts, name: &str) -> Option<&'a SettingFact> {
    let last = facts
        .settings
        .iter()
        .rposition(|s| s.name == name && !s.augmented)?;
    if facts.settings[last + 1..]
        .iter()
        .any(|s| s.name == name && s.augmented)
    {
        return None;
    }
    Some(&facts.settings[last])
}

/// Is `name` assigned at all (plainly or with `+=`) in `facts`?
pub fn assigns(facts: &FileFacts, name: &str) -> bool {
    facts.settings.iter().any(|s| s.name == name)
}

/// Follow a bare name to another literal setting of the same file (`"default": REDIS_CACHE`).
pub fn deref<'a>(facts: &'a FileFacts, lit: &'a Lit) -> &'a Lit {
    let mut cur = lit;
    for _ in 0..4 {
        match cur {
            Lit::Ref(ExprRef::Name(n)) => match literal_setting(facts, n) {
                Some(s) => cur = &s.value,
                None => return cur,
            },
            _ => return cur,
        }
    }
    cur
}

/// The items of a literal list or tuple whose items are all string literals.
pub fn str_items(lit: &Lit) -> Option<Vec<(&str, Span)>> {
    match lit {
        Lit::Seq(items) => items
            .iter()
            .map(|i| match i {
                Lit::Str(s, span) => Some((s.as_str(), *span)),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

/// `module.Name` matched against a configured entry: a dotted entry matches exactly, a bare one
/// matches the last dotted component.
pub fn matches_config(config: &str, dotted: &str) -> bool {
    let last = dotted.rsplit('.').next().unwrap_or(dotted);
    config_matches(config, last, dotted)
}

/// Does a cache `KEY_FUNCTION` (as a dotted path) make keys tenant-aware? It does when it is
/// listed in `tenant-key-functions`, or (a heuristic for project-specific key functions) when
/// its last component contains `tenant` (`tenancy.cache.make_tenant_key`).
pub fn is_tenant_key_function(conv: &Conventions, path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    conv.tenant_key_functions
        .iter()
        .any(|k| matches_config(k, path))
        || last.to_ascii_lowercase().contains("tenant")
}

/// The entries of every `CACHES` dict assigned in `facts`: `(alias, alias key span, entry)`.
/// Entries given by name (`"default": REDIS`) are followed to the same file's literal setting.
pub fn cache_entries(facts: &FileFacts) -> Vec<(&str, Span, &Lit)> {
    let mut out = Vec::new();
    for s in facts
        .settings
        .iter()
        .filter(|s| s.name == "CACHES" && !s.augmented)
    {
        if let Lit::Dict(items) = deref(facts, &s.value) {
            for (k, v) in items {
                if let Lit::Str(alias, span) = k {
                    out.push((alias.as_str(), *span, deref(facts, v)));
                }
            }
        }
    }
    out
}

/// The dotted path of a `KEY_FUNCTION` value in settings file `file`: a string, or a reference to
/// an imported function.
fn key_function_path(index: &Index, file: u32, value: &Lit) -> Option<String> {
    match value {
        Lit::Str(s, _) => Some(s.clone()),
        Lit::Ref(expr) => index
            .path_of(&index.resolve_expr(file, expr))
            .or_else(|| expr.dotted()),
        _ => None,
    }
}

/// The project's [`TenantCaches`], for the cache rules: computed once per run, on first use.
pub fn tenant_caches<'a>(ctx: &Context<'a>) -> &'a TenantCaches {
    ctx.shared
        .tenant_caches
        .get_or_init(|| TenantCaches::compute(ctx.index, ctx.settings))
}

/// Which caches the project's settings make tenant-aware with a top-level `KEY_FUNCTION`.
#[derive(Debug, Default)]
pub struct TenantCaches {
    /// Every alias some settings module defines in `CACHES`, and whether some settings module
    /// sets a tenant-aware `KEY_FUNCTION` at the top level of its entry. A `KEY_FUNCTION` inside
    /// `OPTIONS` is ignored by Django (TEN303) and does not count.
    aliases: Vec<(String, bool)>,
    /// Literal `CACHE_MIDDLEWARE_ALIAS` values (the cache `cache_page` uses by default).
    middleware_aliases: Vec<String>,
    /// A tenant-aware `KEY_FUNCTION` placed inside `OPTIONS` (TEN303), per alias: the file and
    /// the span of the `"KEY_FUNCTION"` key, which TEN303 reports.
    misplaced: Vec<(String, u32, Span)>,
}

impl TenantCaches {
    /// Scan the project's settings modules. Only files that assign `CACHES` or
    /// `CACHE_MIDDLEWARE_ALIAS` are matched against `settings-modules`, so the scan is one cheap
    /// pass over the files' (usually empty) settings lists.
    pub fn compute(index: &Index, settings: &Settings) -> TenantCaches {
        let mut out = TenantCaches::default();
        for (fi, facts) in index.files() {
            let relevant = facts
                .settings
                .iter()
                .any(|s| s.name == "CACHES" || s.name == "CACHE_MIDDLEWARE_ALIAS");
            if !relevant || !settings.is_settings_module(index.path(fi)) {
                continue;
            }
            for (alias, _, entry) in cache_entries(facts) {
                let tenant = entry
                    .get("KEY_FUNCTION")
                    .map(|v| deref(facts, v))
                    .and_then(|v| key_function_path(index, fi, v))
                    .is_some_and(|p| is_tenant_key_function(index.conv(), &p));
                if let Some(Lit::Dict(options)) = entry.get("OPTIONS").map(|o| deref(facts, o)) {
                    for (k, v) in options {
                        if let Lit::Str(key, span) = k
                            && key == "KEY_FUNCTION"
                            && key_function_path(index, fi, deref(facts, v))
                                .is_some_and(|p| is_tenant_key_function(index.conv(), &p))
                        {
                            out.misplaced.push((alias.to_string(), fi, *span));
                        }
                    }
                }
                match out.aliases.iter_mut().find(|(a, _)| a == alias) {
                    Some((_, covered)) => *covered |= tenant,
                    None => out.aliases.push((alias.to_string(), tenant)),
                }
            }
            for s in facts
                .settings
                .iter()
                .filter(|s| s.name == "CACHE_MIDDLEWARE_ALIAS" && !s.augmented)
            {
                if let Lit::Str(a, _) = deref(facts, &s.value)
                    && !out.middleware_aliases.contains(a)
                {
                    out.middleware_aliases.push(a.clone());
                }
            }
        }
        out
    }

    /// Does some settings module give cache `alias` a tenant-aware top-level `KEY_FUNCTION`?
    pub fn covers(&self, alias: &str) -> bool {
        self.aliases.iter().any(|(a, c)| a == alias && *c)
    }

    /// The root cause of an uncovered cache: a tenant-aware `KEY_FUNCTION` for `alias` (any
    /// alias when `None`) that a settings module put inside `OPTIONS`, where Django ignores it.
    pub fn misplaced_key_function(&self, alias: Option<&str>) -> Option<(u32, Span)> {
        self.misplaced
            .iter()
            .find(|(a, _, _)| alias.is_none_or(|x| x == a))
            .map(|&(_, f, s)| (f, s))
    }

    /// A [`Related`] pointing at [`Self::misplaced_key_function`], for the cache rules' findings.
    pub fn root_cause(&self, index: &Index, alias: Option<&str>) -> Option<Related> {
        let (file, span) = self.misplaced_key_function(alias)?;
        Some(Related::new(
            index.path(file).to_path_buf(),
            span,
            "`KEY_FUNCTION` is inside `OPTIONS`, where Django ignores it (TEN303): moving it to the top level of the cache entry makes these keys per tenant",
        ))
    }

    /// Is every configured cache tenant-aware (so a `caches[...]` whose alias is unknown is too)?
    pub fn covers_every_alias(&self) -> bool {
        !self.aliases.is_empty() && self.aliases.iter().all(|(_, c)| *c)
    }

    /// The aliases `cache_page(...)` without `cache=` may use: the literal
    /// `CACHE_MIDDLEWARE_ALIAS` values, else `"default"`.
    pub fn page_cache_aliases(&self) -> Vec<&str> {
        if self.middleware_aliases.is_empty() {
            vec![DEFAULT_ALIAS]
        } else {
            self.middleware_aliases.iter().map(String::as_str).collect()
        }
    }
}

/// Where a setting's effective value comes from, seen from one settings module.
pub enum Lookup<'a> {
    /// A literal assignment in file `.0` (this one, or one it star-imports).
    Literal(u32, &'a SettingFact),
    /// Assigned in a way that cannot be read (`+=`), or possibly by a module outside the
    /// project (`from settings_local import *`).
    Opaque,
    /// Assigned nowhere this module can see: Django's default applies.
    Absent,
}

/// Look `name` up in settings module `file`, then in the project modules it star-imports
/// (`from .base import *`), latest star import first.
pub fn lookup<'a>(index: &'a Index, file: u32, name: &str) -> Lookup<'a> {
    lookup_depth(index, file, name, 0)
}

fn lookup_depth<'a>(index: &'a Index, file: u32, name: &str, depth: u32) -> Lookup<'a> {
    let facts = index.facts(file);
    if assigns(facts, name) {
        return match literal_setting(facts, name) {
            Some(s) => Lookup::Literal(file, s),
            None => Lookup::Opaque,
        };
    }
    if depth > 8 {
        return Lookup::Opaque;
    }
    let mut opaque = false;
    for star in facts.star_imports.iter().rev() {
        match index.file_of_module(&index.absolute(file, star)) {
            Some(m) if m != file => match lookup_depth(index, m, name, depth + 1) {
                Lookup::Absent => {}
                found => return found,
            },
            Some(_) => {}
            None => opaque = true,
        }
    }
    if opaque {
        Lookup::Opaque
    } else {
        Lookup::Absent
    }
}

/// An item of a list setting as Django reads it, with where it is written.
pub struct ListItem<'a> {
    pub value: &'a str,
    pub span: Span,
    pub file: u32,
}

/// The value of list setting `name` as Django reads settings module `file`: its last plain
/// assignment, or (when the file only extends it) the value of the module it star-imports
/// (`from .base import *`, latest first), followed by the file's own `name += [...]`. `None` when
/// the file does not assign `name`, or a step is not a literal list of strings (`MIDDLEWARE =
/// MIDDLEWARE + [...]`, a star import from outside the project).
pub fn effective_str_list<'a>(
    index: &'a Index,
    file: u32,
    name: &str,
) -> Option<Vec<ListItem<'a>>> {
    effective_depth(index, file, name, 0)
}

fn effective_depth<'a>(
    index: &'a Index,
    file: u32,
    name: &str,
    depth: u32,
) -> Option<Vec<ListItem<'a>>> {
    let facts = index.facts(file);
    if depth > 8 || !assigns(facts, name) {
        return None;
    }
    let last_plain = facts
        .settings
        .iter()
        .rposition(|s| s.name == name && !s.augmented);
    let (mut items, from) = match last_plain {
        Some(i) => {
            let own = str_items(deref(facts, &facts.settings[i].value))?;
            let items = own
                .into_iter()
                .map(|(value, span)| ListItem { value, span, file })
                .collect();
            (items, i + 1)
        }
        None => {
            // Only `name += [...]` here: it extends the star-imported value.
            let mut base = None;
            for star in facts.star_imports.iter().rev() {
                let m = index.file_of_module(&index.absolute(file, star))?;
                if m != file && assigns(index.facts(m), name) {
                    base = Some(effective_depth(index, m, name, depth + 1)?);
                    break;
                }
            }
            (base.unwrap_or_default(), 0)
        }
    };
    for s in facts.settings[from..]
        .iter()
        .filter(|s| s.name == name && s.augmented)
    {
        let more = str_items(deref(facts, &s.value))?;
        items.extend(
            more.into_iter()
                .map(|(value, span)| ListItem { value, span, file }),
        );
    }
    Some(items)
}

/// The last assignment (plain or `+=`) of `name` in `facts`: where a finding about the value
/// this module ends up with is reported.
pub fn last_assignment<'a>(facts: &'a FileFacts, name: &str) -> Option<&'a SettingFact> {
    facts.settings.iter().rev().find(|s| s.name == name)
}

/// Is this module's value of `name` never what Django reads? It is when other settings modules
/// star-import it (`from .base import *`) and every one of them assigns `name` itself in a way
/// that is read ([`effective_str_list`]): those modules' values are checked instead. A module
/// that no settings module imports, or that one of them uses as is, is checked itself.
pub fn overridden_by_importers(index: &Index, settings: &Settings, file: u32, name: &str) -> bool {
    let module = index.module(file);
    let mut importers = 0;
    for (fi, facts) in index.files() {
        if fi == file
            || facts.star_imports.is_empty()
            || !facts
                .star_imports
                .iter()
                .any(|s| index.absolute(fi, s) == module)
            || !settings.is_settings_module(index.path(fi))
        {
            continue;
        }
        if effective_str_list(index, fi, name).is_none() {
            return false;
        }
        importers += 1;
    }
    importers > 0
}

/// The app label of an `INSTALLED_APPS` entry: `customers` for `customers`,
/// `project.customers` and `customers.apps.CustomersConfig`.
pub fn app_label(entry: &str) -> &str {
    let module = match entry.find(".apps.") {
        Some(i) => &entry[..i],
        None => entry,
    };
    module.rsplit('.').next().unwrap_or(module)
}
