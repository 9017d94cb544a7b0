//! TEN601 NAME: SUMMARY
//!
//! Not implemented yet.

use super::Context;
use crate::diagnostics::Diagnostic;

pub fn check(_ctx: &Context, _out: &mut Vec<Diagnostic>) {}
