//! The `pinbridge` binary: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::Parser;
use pinbridge::cli::{Cli, Command};
use pinbridge::commands::{self, CommandError};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story on stdout, and a container runtime runs `healthcheck`
    // every few seconds; keep the logs to warnings there.
    let level = match cli.command {
        Command::Demo { .. } | Command::Healthcheck { .. } => "warn",
        _ => "info",
    };
    pinbridge::telemetry::init(level);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(commands::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            if let CommandError::Runtime(err) = &e {
                for cause in err.chain().skip(1) {
                    eprintln!("  caused by: {cause}");
                }
            }
            ExitCode::from(e.exit_code())
        }
    }
}
