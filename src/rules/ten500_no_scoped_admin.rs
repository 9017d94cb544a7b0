//! TEN500 no-scoped-admin: the project registers tenant-owned models in Django's admin, and no
//! admin class of any of them scopes its queryset (no tenant admin mixin, no `get_queryset`).
//! Either the admin is for the operators of the service (global on purpose) or every staff
//! user sees every tenant: one project-level finding, at the first registration, instead of
//! one TEN501 per registration.

use super::Context;
use super::ten501_tenant_unaware_admin::{AdminKind, registrations};
use crate::diagnostics::{Diagnostic, Related};
use crate::index::{ClassId, FileId, Index};
use crate::locate::Span;
use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN500",
    name: "no-scoped-admin",
    summary: "Tenant-owned models are registered in the admin and no admin class scopes its queryset",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN500.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(NoScopedAdmin);

/// How the project's admin treats tenant-owned models, computed once per run.
#[derive(Debug, Default)]
pub struct AdminScoping {
    /// Registrations of tenant-owned models whose admin class does not scope, by path and
    /// position: (file, span of the model argument, first tenant-owned model).
    pub unscoped: Vec<(FileId, Span, ClassId)>,
    /// Some registration of a tenant-owned model is scoped, or has an admin class whose bases
    /// cannot be seen into (it may scope).
    pub any_scoped: bool,
}

impl AdminScoping {
    pub fn compute(index: &Index) -> AdminScoping {
        let mut out = AdminScoping::default();
        for (file, facts) in index.files() {
            // Only files calling `register` (a call or a decorator) register anything.
            if !facts.calls_name("register") {
                continue;
            }
            let sites = facts.sites();
            for reg in registrations(index, file, facts, &sites) {
                match reg.kind {
                    AdminKind::Unscoped => out.unscoped.push((file, reg.span, reg.models[0])),
                    AdminKind::Scoped | AdminKind::Unknown => out.any_scoped = true,
                }
            }
        }
        out.unscoped.sort_by(|a, b| {
            index
                .path(a.0)
                .cmp(index.path(b.0))
                .then(a.1.start.cmp(&b.1.start))
        });
        out
    }

    /// No registration of a tenant-owned model scopes: TEN500 replaces the per-registration
    /// TEN501.
    pub fn aggregated(&self) -> bool {
        !self.any_scoped && !self.unscoped.is_empty()
    }
}

pub fn admin_scoping<'a>(ctx: &'a Context) -> &'a AdminScoping {
    ctx.shared
        .admin_scoping
        .get_or_init(|| AdminScoping::compute(ctx.index))
}

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let index = ctx.index;
    let scoping = admin_scoping(ctx);
    if !scoping.aggregated() {
        return;
    }
    let (file, span, model) = scoping.unscoped[0];
    if file != ctx.file {
        return;
    }
    let n = scoping.unscoped.len();
    let message = format!(
        "{n} admin registration{} of tenant-owned models (`{}`{}) and no admin class of the project scopes its queryset: the admin shows every tenant's rows to whoever can open it",
        if n == 1 { "" } else { "s" },
        index.class(model).name,
        if n > 1 { ", ..." } else { "" },
    );
    let related = scoping.unscoped.iter().skip(1).take(9).map(|&(f, s, m)| {
        Related::new(
            index.path(f).to_path_buf(),
            s,
            format!("`{}` registered unscoped", index.class(m).name),
        )
    });
    out.push(
        Diagnostic::new(RULE, message, ctx.path().to_path_buf(), span)
            .with_related(related)
            .with_help(Some(
                "If only the service's operators use the admin, ignore TEN500 (`ignore = [\"TEN500\"]`); otherwise scope the admin classes in a shared mixin named in `tenant-admin-mixins`, or override `get_queryset`".to_string(),
            )),
    );
}
