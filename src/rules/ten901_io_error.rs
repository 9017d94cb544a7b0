//! TEN901 io-error: a file that cannot be read, or is not UTF-8 text. Reported by the engine for
//! every file whose facts record an I/O problem (see `ten900_syntax_error` for the shared check).

use crate::registry::{FixAvailability, Rule, RuleMeta};

pub static META: RuleMeta = RuleMeta {
    code: "TEN901",
    name: "io-error",
    summary: "A file that cannot be read or is not UTF-8",
    fix: FixAvailability::None,
    doc: include_str!("../../rules/TEN901.md"),
};
pub const RULE: Rule = Rule(&META);
