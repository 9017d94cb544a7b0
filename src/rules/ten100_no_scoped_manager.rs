//! TEN100 no-scoped-manager: the project has tenant-owned models but no tenant-scoped manager
//! anywhere (scoping lives in views, admin or API mixins, or is missing). One project-level
//! finding, at the first tenant-owned model, instead of one TEN101 per model.

use super::Context;
use crate::diagnostics::{Diagnostic, Related};
use crate::index::{ClassId, Index};
use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN100",
    name: "no-scoped-manager",
    summary: "The project has tenant-owned models but no tenant-scoped manager anywhere",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN100.md"),
};
pub const RULE: Rule = Rule(&META);

rule_check!(NoScopedManager);

/// How the project scopes its models, computed once per run.
#[derive(Debug, Default)]
pub struct ProjectScoping {
    /// A project class is a scoped manager, or some model has a scoped manager.
    pub any_scoped: bool,
    /// Concrete tenant-owned models, first by path and position.
    pub owned: Vec<ClassId>,
}

impl ProjectScoping {
    pub fn compute(index: &Index) -> ProjectScoping {
        let mut out = ProjectScoping::default();
        for (file, facts) in index.files() {
            for ci in 0..facts.classes.len() {
                let id = ClassId {
                    file,
                    class: ci as u32,
                };
                let info = index.info(id);
                if (info.scoped && info.is_manager) || info.managers.iter().any(|m| m.scoped) {
                    out.any_scoped = true;
                }
                if info.has_own_tenant() && !info.abstract_ {
                    out.owned.push(id);
                }
            }
        }
        out.owned.sort_by(|a, b| {
            index
                .path(a.file)
                .cmp(index.path(b.file))
                .then(a.class.cmp(&b.class))
        });
        out
    }

    /// Managers are not how this project scopes: TEN100 replaces the per-model TEN101. Not when
    /// `manager-import` names a scoped manager from a library (the TEN101 fix can add it).
    pub fn managerless(&self, index: &Index) -> bool {
        !self.any_scoped && !self.owned.is_empty() && index.conv().manager_import.is_empty()
    }

    /// TEN100 reports it: managerless, and `scoped-managers` not emptied on purpose.
    pub fn reported(&self, index: &Index) -> bool {
        self.managerless(index) && !index.conv().scoped_managers.is_empty()
    }
}

pub fn scoping<'a>(ctx: &'a Context) -> &'a ProjectScoping {
    ctx.shared
        .project_scoping
        .get_or_init(|| ProjectScoping::compute(ctx.index))
}

fn check(ctx: &Context, out: &mut Vec<Diagnostic>) {
    let index = ctx.index;
    let scoping = scoping(ctx);
    if !scoping.reported(index) {
        return;
    }
    let first = scoping.owned[0];
    if first.file != ctx.file {
        return;
    }
    let class = index.class(first);
    let n = scoping.owned.len();
    let managers = index.conv().scoped_managers.join("`, `");
    let message = format!(
        "{n} tenant-owned model{} (`{}`{}) but no tenant-scoped manager (`{managers}`) anywhere in the project: every query through their managers sees every tenant's rows",
        if n == 1 { "" } else { "s" },
        class.name,
        if n > 1 { ", ..." } else { "" },
    );
    let related = scoping.owned.iter().skip(1).take(9).map(|&m| {
        Related::new(
            index.path(m.file).to_path_buf(),
            index.class(m).name_span,
            format!("tenant-owned model `{}`", index.class(m).name),
        )
    });
    out.push(
        Diagnostic::new(RULE, message, ctx.path().to_path_buf(), class.name_span)
            .with_related(related)
            .with_help(Some(
                "Give the models a tenant-scoped default manager and name its class in `scoped-managers`; if the project scopes queries elsewhere on purpose (views, admin or API mixins), set `scoped-managers = []`".to_string(),
            )),
    );
}
