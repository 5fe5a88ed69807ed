//! Progress bars for long CLI work (bulk retry, backfill). Drawn on stderr, and only when
//! stderr is a terminal: piped or captured output (scripts, CI, tests) stays clean.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar over `len` steps labelled `what`; hidden unless stderr is a terminal.
pub fn bar(len: u64, what: &str) -> ProgressBar {
    let target = if std::io::stderr().is_terminal() {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    let bar = ProgressBar::with_draw_target(Some(len), target);
    // The template is a constant: a bad one is a programming error, so fall back to the default.
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec}, {eta} left)")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Print a line to stdout without tearing the bar.
pub fn line(bar: &ProgressBar, text: impl AsRef<str>) {
    bar.suspend(|| println!("{}", text.as_ref()));
}
