//! `pinbridge man`: the man page (roff), generated from the clap definition so that it says
//! what `--help` says.

use anyhow::Context;
use clap::CommandFactory;

use super::CommandError;
use crate::cli::Cli;

pub fn run() -> Result<(), CommandError> {
    let mut page = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut page)
        .context("rendering the man page")?;
    std::io::Write::write_all(&mut std::io::stdout().lock(), &page)
        .context("writing the man page to stdout")?;
    Ok(())
}
