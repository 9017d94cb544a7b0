//! Colours of the text formats (`concise`, `grouped`, `--statistics`), as ruff colours them:
//! paths bold, the `:` separators cyan, codes bold red, `[*]` cyan, counts bold. Styles are
//! [`anstyle`] styles; whether to use them at all is decided once per run (`cli::use_color`).

use std::fmt::Display;

use anstyle::{AnsiColor, Style};

pub const PATH: Style = Style::new().bold();
pub const SEP: Style = AnsiColor::Cyan.on_default();
pub const CODE: Style = AnsiColor::Red.on_default().bold();
pub const FIXABLE: Style = AnsiColor::Cyan.on_default();
pub const COUNT: Style = Style::new().bold();

/// Paints text with a style when colour is on; plain text otherwise.
#[derive(Clone, Copy, Debug)]
pub struct Paint(pub bool);

impl Paint {
    pub fn paint(self, text: impl Display, style: Style) -> String {
        if self.0 {
            format!("{style}{text}{style:#}")
        } else {
            text.to_string()
        }
    }
}
