//! Class definitions: bases, fields, managers, `Meta` options.

use super::*;

impl<'a> Extractor<'a, '_> {
    pub(super) fn class_fact(&self, class: &ast::StmtClassDef) -> ClassFact {
        let mut fact = ClassFact {
            name: class.name.id.clone(),
            name_span: self.loc.span(class.name.range),
            bases: class
                .arguments
                .as_ref()
                .map(|a| a.args.iter().map(to_ref).collect())
                .unwrap_or_default(),
            assigns: Default::default(),
            methods: Default::default(),
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
}

/// The string value of the first of `names` assigned directly in `body`.
pub(super) fn string_attr(body: &[Stmt], names: &[&str]) -> Option<String> {
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

pub(super) fn meta_facts(meta: &ast::StmtClassDef) -> MetaFacts {
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
