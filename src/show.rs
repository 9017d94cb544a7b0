//! `check --show-settings`: the resolved configuration, each value with where it came from
//! (`default`, `preset NAME`, the config file, or `command line`), the project root, the config
//! file, the `src` roots and the settings modules found.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::config::{Conventions, Settings};

/// The config file's tenantlint table (empty without a file, or when it cannot be read: the run
/// that got here read it already).
fn file_table(config: Option<&Path>) -> toml::Table {
    let Some(path) = config else {
        return toml::Table::new();
    };
    let Ok(text) = std::fs::read_to_string(path) else {
        return toml::Table::new();
    };
    let Ok(doc) = text.parse::<toml::Table>() else {
        return toml::Table::new();
    };
    let own = crate::config::settings_table_path(path, &doc);
    crate::config::table_at(&doc, own)
        .cloned()
        .unwrap_or_default()
}

fn quote_list(v: &[String]) -> String {
    let items: Vec<String> = v.iter().map(|s| format!("{s:?}")).collect();
    format!("[{}]", items.join(", "))
}

/// The convention keys, each with how to show its value.
type Getter = fn(&Conventions) -> String;
const CONVENTION_KEYS: &[(&str, Getter)] = &[
    ("tenant-model", |c| format!("{:?}", c.tenant_model)),
    ("tenant-fields", |c| quote_list(&c.tenant_fields)),
    ("tenant-parent-fields", |c| {
        quote_list(&c.tenant_parent_fields)
    }),
    ("tenant-base-classes", |c| {
        quote_list(&c.tenant_base_classes)
    }),
    ("scoped-managers", |c| quote_list(&c.scoped_managers)),
    ("global-models", |c| quote_list(&c.global_models)),
    ("manager-import", |c| format!("{:?}", c.manager_import)),
    ("tenant-cache", |c| format!("{:?}", c.tenant_cache)),
    ("tenant-cache-methods", |c| {
        quote_list(&c.tenant_cache_methods)
    }),
    ("key-helpers", |c| quote_list(&c.key_helpers)),
    ("key-prefixes", |c| quote_list(&c.key_prefixes)),
    ("tenant-setters", |c| quote_list(&c.tenant_setters)),
    ("tenant-clearers", |c| quote_list(&c.tenant_clearers)),
    ("tenant-context-managers", |c| {
        quote_list(&c.tenant_context_managers)
    }),
    ("task-base-classes", |c| quote_list(&c.task_base_classes)),
    ("bypass-calls", |c| quote_list(&c.bypass_calls)),
    ("bypass-managers", |c| quote_list(&c.bypass_managers)),
    ("scoping-methods", |c| quote_list(&c.scoping_methods)),
    ("capability-fields", |c| quote_list(&c.capability_fields)),
    ("tenant-admin-mixins", |c| {
        quote_list(&c.tenant_admin_mixins)
    }),
    ("tenant-view-mixins", |c| quote_list(&c.tenant_view_mixins)),
    ("tenant-middlewares", |c| quote_list(&c.tenant_middlewares)),
    ("tenant-routers", |c| quote_list(&c.tenant_routers)),
    ("tenant-key-functions", |c| {
        quote_list(&c.tenant_key_functions)
    }),
    ("strict-parent-lookups", |c| {
        c.strict_parent_lookups.to_string()
    }),
    ("global-periodic-tasks", |c| {
        c.global_periodic_tasks.to_string()
    }),
    ("tenant-columns", |c| quote_list(&c.tenant_columns)),
    ("tenant-tables", |c| quote_list(&c.tenant_tables)),
    ("tenant-context-types", |c| {
        quote_list(&c.tenant_context_types)
    }),
];

/// Command-line rule selection, shown as overriding the config's.
#[derive(Default)]
pub struct CliSelection<'a> {
    pub select: Option<&'a [String]>,
    pub extend_select: &'a [String],
    pub ignore: &'a [String],
}

/// The text of `--show-settings`. `files` are the files that would be checked (for the
/// settings modules among them).
pub fn show_settings(
    settings: &Settings,
    cli: &CliSelection,
    files: &[PathBuf],
    cwd: &Path,
) -> String {
    let shown = |p: &Path| crate::report::display_path(p, cwd);
    let table = file_table(settings.config_file.as_deref());
    let keys: BTreeSet<String> = table.keys().cloned().collect();
    let file_label = settings
        .config_file
        .as_deref()
        .map(&shown)
        .unwrap_or_default();
    let preset = settings
        .preset
        .as_deref()
        .and_then(|p| Conventions::preset(p).map(|c| (p, c)));
    let defaults = Conventions::default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# Resolved settings (tenantlint {})",
        env!("CARGO_PKG_VERSION")
    );
    let _ = writeln!(out, "root = {:?}", settings.root.display().to_string());
    match &settings.config_file {
        Some(p) => {
            let _ = writeln!(out, "config-file = {:?}", shown(p));
        }
        None => {
            let _ = writeln!(out, "config-file = \"\"  # none: the embedded defaults");
        }
    }
    if let Some(w) = &settings.root_warning {
        let _ = writeln!(out, "# warning: {w}");
    }
    let src: Vec<String> = settings.src.iter().map(|p| shown(p)).collect();
    let from = |key: &str| {
        if keys.contains(key) {
            file_label.clone()
        } else {
            "default".to_string()
        }
    };
    let _ = writeln!(out, "src = {}  # {}", quote_list(&src), from("src"));
    let _ = writeln!(
        out,
        "preset = {:?}  # {}",
        settings.preset.clone().unwrap_or_default(),
        from("preset")
    );
    // Rule selection.
    let sel = |key: &str, cli_value: Option<&[String]>, file_value: &[String]| match cli_value {
        Some(v) => format!("{key} = {}  # command line", quote_list(v)),
        None => format!("{key} = {}  # {}", quote_list(file_value), from(key)),
    };
    let _ = writeln!(out, "{}", sel("select", cli.select, &settings.select));
    let _ = writeln!(
        out,
        "{}",
        sel(
            "extend-select",
            (!cli.extend_select.is_empty()).then_some(cli.extend_select),
            &settings.extend_select
        )
    );
    let _ = writeln!(
        out,
        "{}",
        sel(
            "ignore",
            (!cli.ignore.is_empty()).then_some(cli.ignore),
            &settings.ignore
        )
    );
    if !settings.preset_ignore.is_empty() {
        let _ = writeln!(
            out,
            "# the preset turns off: {}",
            settings.preset_ignore.join(", ")
        );
    }
    // Tenancy conventions.
    for (key, get) in CONVENTION_KEYS {
        let value = get(&settings.conventions);
        let source = if keys.contains(*key) {
            file_label.clone()
        } else if let Some((name, c)) = &preset
            && get(c) != get(&defaults)
        {
            format!("preset {name}")
        } else {
            "default".to_string()
        };
        let _ = writeln!(out, "{key} = {value}  # {source}");
    }
    for key in [
        "exclude",
        "extend-exclude",
        "respect-gitignore",
        "per-file-ignores",
        "bypass-allowed-paths",
        "settings-modules",
        "cache-dir",
        "max-file-size",
        "baseline",
    ] {
        let value = match key {
            "respect-gitignore" => settings.respect_gitignore.to_string(),
            "max-file-size" => settings.max_file_size.to_string(),
            "cache-dir" => format!(
                "{:?}",
                settings
                    .cache_dir
                    .as_deref()
                    .map_or(".tenantlint_cache".to_string(), |p| p.display().to_string())
            ),
            "baseline" => format!(
                "{:?}",
                settings.baseline.as_deref().map(&shown).unwrap_or_default()
            ),
            // Glob lists: as written in the file, else the built-in ones.
            _ => match table.get(key) {
                Some(v) => v.to_string(),
                None if key == "extend-exclude" => "[]".to_string(),
                None if key == "per-file-ignores" => "{}".to_string(),
                None => "(built-in, see the README)".to_string(),
            },
        };
        let _ = writeln!(out, "{key} = {value}  # {}", from(key));
    }
    let modules: Vec<String> = files
        .iter()
        .filter(|p| settings.is_settings_module(p))
        .map(|p| shown(p))
        .collect();
    let _ = writeln!(
        out,
        "# settings modules found ({}): {}",
        modules.len(),
        if modules.is_empty() {
            "none".to_string()
        } else {
            modules.join(", ")
        }
    );
    out
}

/// The `-v` summary of the project index: what tenantlint understood of the project.
pub fn index_summary(index: &crate::index::Index, settings: &Settings, cwd: &Path) -> String {
    let conv = index.conv();
    let (mut models, mut owned, mut global) = (0, 0, 0);
    let mut managers: Vec<String> = Vec::new();
    for id in index.all_ids() {
        let info = index.info(id);
        if info.is_model && !info.abstract_ {
            models += 1;
            if info.is_global {
                global += 1;
            } else if info.tenant.is_some() {
                owned += 1;
            }
        }
        if info.is_manager && info.scoped {
            managers.push(index.qualname(id).to_string());
        }
    }
    managers.sort();
    managers.dedup();
    let cache = conv.tenant_cache.as_str();
    let cache_found = match cache.rsplit_once('.') {
        Some((module, _)) => index.file_of_module(module).is_some(),
        None => index.find_symbol(cache).is_some(),
    };
    let cache_at = index
        .find_symbol(cache)
        .map(|(m, n)| format!("{m}.{n}"))
        .unwrap_or_default();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "root: {} (config: {})",
        crate::report::display_path(&settings.root, cwd),
        settings
            .config_file
            .as_deref()
            .map_or("none, the embedded defaults".to_string(), |p| {
                crate::report::display_path(p, cwd)
            })
    );
    let _ = writeln!(out, "files indexed: {}", index.len());
    let _ = writeln!(
        out,
        "Django models (concrete): {models}, tenant-owned: {owned}, global: {global} (tenant model: {})",
        conv.tenant_model
    );
    let shown: Vec<&str> = managers.iter().take(10).map(String::as_str).collect();
    let _ = writeln!(
        out,
        "scoped managers found: {}{}{}",
        managers.len(),
        if shown.is_empty() { "" } else { ": " },
        shown.join(", ") + if managers.len() > 10 { ", ..." } else { "" }
    );
    let _ = writeln!(
        out,
        "tenant cache `{cache}`: {}",
        if cache_found && !cache_at.is_empty() {
            format!("found ({cache_at})")
        } else {
            "not found in the project".to_string()
        }
    );
    out
}
