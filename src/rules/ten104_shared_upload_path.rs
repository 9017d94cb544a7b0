//! TEN104 shared-upload-path: a `FileField`/`ImageField` on a tenant-owned model whose
//! `upload_to` is a constant (a string, a module-level string constant, `os.path.join` of
//! strings, a `strftime` date pattern) or missing, so every tenant's files share one folder.
//!
//! Not flagged: a callable `upload_to` (a function, `partial(...)`, an instance of a class), an
//! expression that cannot be read statically (f-strings, concatenations), a project field class
//! with its own `__init__`/`generate_filename`, a field with a tenant-aware `storage=`, and fields of every model when the settings install a tenant-aware
//! default storage. No fix: the right path depends on the project's storage layout.

use super::Context;
use crate::diagnostics::Diagnostic;
use crate::facts::{Binding, CallRef, ExprRef, Lit};
use crate::index::{ClassId, ClassLike, Index, Resolved};
use crate::registry::{FixAvailability, Rule, RuleMeta};

const FILE_FIELD: &str = "django.db.models.FileField";
const IMAGE_FIELD: &str = "django.db.models.ImageField";

/// Methods with which a project subclass of `FileField` may compute its own upload path.
const PATH_METHODS: &[&str] = &["__init__", "generate_filename"];

pub static META: RuleMeta = RuleMeta {
    code: "TEN104",
    name: "shared-upload-path",
    summary: "A file field on a tenant-owned model whose `upload_to` is one folder shared by every tenant",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN104.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(SharedUploadPath);

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let index = ctx.index;
    // Whether the settings install a tenant-aware default storage: computed only if needed.
    for (ci, class) in ctx.facts.classes.iter().enumerate() {
        let id = ClassId {
            file: ctx.file,
            class: ci as u32,
        };
        let info = index.info(id);
        // Abstract tenant-owned bases too: the field is reported where it is declared.
        if !info.needs_scoping() {
            continue;
        }
        for assign in &class.assigns {
            let Some(call) = assign.value.as_call() else {
                continue;
            };
            let Some(kind) = file_field_kind(index, ctx.file, &call.func) else {
                continue;
            };
            // A project field with its own `__init__` or `generate_filename` may supply or
            // rewrite the path (e.g. prefix the tenant): its `upload_to` says nothing for sure.
            if kind.custom {
                continue;
            }
            let upload_to = keyword(call, "upload_to").or_else(|| {
                // `FileField(verbose_name=None, name=None, upload_to="", ...)`; `ImageField` takes
                // `width_field` third.
                (!kind.image).then(|| call.args.get(2)).flatten()
            });
            let constant = match upload_to {
                None => String::new(),
                Some(e) => match constant_str(index, ctx.file, e) {
                    Some(s) => s,
                    None => continue,
                },
            };
            if let Some(storage) = keyword(call, "storage") {
                if is_tenant_storage(index, ctx.file, storage) {
                    continue;
                }
            } else if *ctx
                .shared
                .tenant_default_storage
                .get_or_init(|| settings_tenant_storage(ctx))
            {
                continue;
            }
            let field_kind = if kind.image {
                "Image field"
            } else {
                "File field"
            };
            let what = if constant.is_empty() {
                match upload_to {
                    None => "has no `upload_to`, so every tenant's files land in the storage root"
                        .to_string(),
                    Some(_) => {
                        "has an empty `upload_to`, so every tenant's files land in the storage root"
                            .to_string()
                    }
                }
            } else if constant.contains('%') {
                format!(
                    "has the constant `upload_to` \"{constant}\": its date folders are shared by every tenant"
                )
            } else {
                format!(
                    "has the constant `upload_to` \"{constant}\": one folder shared by every tenant"
                )
            };
            let message = format!(
                "{field_kind} `{}.{}` of a tenant-owned model {what}; pass a function that puts the tenant in the path (`upload_to=tenant_upload_path`)",
                class.name, assign.name
            );
            out.push(
                Diagnostic::new(
                    RULE,
                    message,
                    ctx.path().to_path_buf(),
                    assign.value_span,
                )
                .with_help(Some(
                    "e.g. `def tenant_upload_path(instance, filename): return f\"tenants/{instance.tenant_id}/documents/{filename}\"`"
                        .into(),
                )),
            );
        }
    }
}

struct FieldKind {
    image: bool,
    /// A project subclass that defines `__init__` or `generate_filename` (it may supply or
    /// rewrite the upload path, and its positional arguments are unknown).
    custom: bool,
}

/// Is `func` Django's `FileField`/`ImageField`, or a project subclass of one?
fn file_field_kind(index: &Index, file: u32, func: &ExprRef) -> Option<FieldKind> {
    match index.class_like(file, func) {
        ClassLike::External(p) => external_kind(index, &p).map(|image| FieldKind {
            image,
            custom: false,
        }),
        ClassLike::Class(c) => {
            let mut custom = false;
            for r in index.ancestors(Resolved::Class(c)) {
                match &r {
                    Resolved::Class(c)
                        if index
                            .class(*c)
                            .methods
                            .iter()
                            .any(|m| PATH_METHODS.contains(&m.as_str())) =>
                    {
                        custom = true;
                    }
                    Resolved::External(p) => {
                        if let Some(image) = external_kind(index, p) {
                            return Some(FieldKind { image, custom });
                        }
                    }
                    _ => {}
                }
            }
            None
        }
        _ => None,
    }
}

/// Third-party file fields that take Django's `upload_to` (and store in the default storage
/// unless given `storage=`): `(dotted path, is an image field)`.
const THIRD_PARTY_FILE_FIELDS: &[(&str, bool)] = &[
    ("stdimage.models.StdImageField", true),
    ("stdimage.StdImageField", true),
    ("stdimage.models.JPEGField", true),
    ("easy_thumbnails.fields.ThumbnailerField", false),
    ("easy_thumbnails.fields.ThumbnailerImageField", true),
    ("sorl.thumbnail.ImageField", true),
    ("sorl.thumbnail.fields.ImageField", true),
    ("imagekit.models.ProcessedImageField", true),
    ("imagekit.models.fields.ProcessedImageField", true),
    ("django_resized.ResizedImageField", true),
    ("django_resized.forms.ResizedImageField", true),
    ("versatileimagefield.fields.VersatileImageField", true),
    ("private_storage.fields.PrivateFileField", false),
    ("private_storage.fields.PrivateImageField", true),
];

/// `Some(is_image)` for Django's file fields, the known third-party ones, and `file-fields`
/// (read as image fields: only a keyword `upload_to` is taken as the path).
fn external_kind(index: &Index, path: &str) -> Option<bool> {
    match path {
        FILE_FIELD => return Some(false),
        IMAGE_FIELD => return Some(true),
        _ => {}
    }
    if let Some(&(_, image)) = THIRD_PARTY_FILE_FIELDS.iter().find(|(p, _)| *p == path) {
        return Some(image);
    }
    let last = path.rsplit('.').next().unwrap_or(path);
    index
        .conv()
        .file_fields
        .iter()
        .any(|f| crate::index::config_matches(f, last, path))
        .then_some(true)
}

fn keyword<'a>(call: &'a CallRef, name: &str) -> Option<&'a ExprRef> {
    call.keywords
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

/// The string an `upload_to` value always is, if it is a constant.
fn constant_str(index: &Index, file: u32, expr: &ExprRef) -> Option<String> {
    constant_str_depth(index, file, expr, 0)
}

fn constant_str_depth(index: &Index, file: u32, expr: &ExprRef, depth: u32) -> Option<String> {
    if depth > 8 {
        return None;
    }
    match expr {
        ExprRef::Str(s) => Some(s.clone()),
        // A module-level string constant, here or imported.
        ExprRef::Name(_) | ExprRef::Attr(..) => match index.resolve_expr(file, expr) {
            Resolved::Symbol { file: sf, name } => match index.facts(sf).binding(&name) {
                Some(Binding::Assign(value @ ExprRef::Str(_))) => {
                    constant_str_depth(index, sf, value, depth + 1)
                }
                _ => None,
            },
            _ => None,
        },
        // `os.path.join("a", "b")`
        ExprRef::Call(call) => {
            let path = index.path_of(&index.resolve_expr(file, &call.func))?;
            if !matches!(path.as_str(), "os.path.join" | "posixpath.join") || call.args.is_empty() {
                return None;
            }
            let parts: Option<Vec<String>> = call
                .args
                .iter()
                .map(|a| constant_str_depth(index, file, a, depth + 1))
                .collect();
            let parts = parts?;
            Some(parts.join("/"))
        }
        _ => None,
    }
}

/// Does a name (of a storage class, instance or factory) say it is tenant-aware?
fn tenant_named(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    last.to_ascii_lowercase().contains("tenant")
}

/// `storage=TenantFileSystemStorage()`, `storage=tenant_storage`, `storage=get_tenant_storage`, or
/// an instance of a project class that inherits a tenant-named storage.
fn is_tenant_storage(index: &Index, file: u32, expr: &ExprRef) -> bool {
    let target = match expr {
        ExprRef::Call(call) => &call.func,
        other => other,
    };
    let resolved = index.resolve_expr(file, target);
    if let Some(p) = index.path_of(&resolved).or_else(|| target.dotted())
        && tenant_named(&p)
    {
        return true;
    }
    let Resolved::Class(c) = resolved else {
        return false;
    };
    index.ancestors(Resolved::Class(c)).any(|r| match &r {
        Resolved::Class(c) => tenant_named(&index.class(*c).name),
        Resolved::External(p) => tenant_named(p),
        _ => false,
    })
}

/// Do the project's settings modules install a tenant-aware default storage
/// (`DEFAULT_FILE_STORAGE`, or `STORAGES["default"]["BACKEND"]`, naming a tenant storage such as
/// django-tenants' `TenantFileSystemStorage`)? Only files that assign one of those names are
/// matched against `settings-modules`. Once per run (see [`super::Shared`]).
fn settings_tenant_storage(ctx: &Context) -> bool {
    for (fi, facts) in ctx.index.files() {
        for s in &facts.settings {
            if s.augmented {
                continue;
            }
            let backend = match s.name.as_str() {
                "DEFAULT_FILE_STORAGE" => s.value.as_str(),
                "STORAGES" => s
                    .value
                    .get("default")
                    .and_then(|d| d.get("BACKEND"))
                    .and_then(Lit::as_str),
                _ => continue,
            };
            if backend.is_some_and(tenant_named)
                && ctx.settings.is_settings_module(ctx.index.path(fi))
            {
                return true;
            }
        }
    }
    false
}
