//! `pinbridge completions <shell>`: a completion script generated from the clap definition, so
//! it never falls behind the commands.

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use super::CommandError;
use crate::cli::Cli;

pub fn run(shell: Shell) -> Result<(), CommandError> {
    let mut command = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "pinbridge", &mut script);
    std::io::Write::write_all(&mut std::io::stdout().lock(), &script)
        .context("writing the completion script to stdout")?;
    Ok(())
}
