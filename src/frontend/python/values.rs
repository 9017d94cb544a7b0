//! Expressions reduced to the small value types facts keep: references, literals, f-strings,
//! call arguments.

use super::*;

/// Convert an expression to an [`ExprRef`], bounded in depth.
pub fn to_ref(e: &Expr) -> ExprRef {
    to_ref_depth(e, 0)
}

pub(super) fn to_ref_depth(e: &Expr, depth: u32) -> ExprRef {
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

/// The expressions an f-string interpolates (at most 8).
pub(super) fn fstring_hole_exprs(f: &ast::ExprFString) -> Vec<&Expr> {
    let mut out = Vec::new();
    for part in f.value.iter() {
        if let ast::FStringPart::FString(fs) = part {
            for el in fs.elements.iter() {
                if let ast::InterpolatedStringElement::Interpolation(i) = el
                    && out.len() < 8
                {
                    out.push(&*i.expression);
                }
            }
        }
    }
    out
}

/// Marks where an f-string interpolates a value in [`fstring_text`].
pub(super) const HOLE: char = '\u{1}';

/// The literal text of an f-string (all its implicitly concatenated parts), with [`HOLE`] where a
/// value is interpolated.
pub(super) fn fstring_text(f: &ast::ExprFString) -> String {
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
pub(super) fn arg_value(e: &Expr, depth: u32) -> ArgValue {
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

impl<'a> Extractor<'a, '_> {
    pub(super) fn lit(&self, e: &Expr, depth: u32) -> Lit {
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
}
