//! The `pinbridge` binary: parse the command line, set up logging, run the command.

use std::process::ExitCode;

use clap::Parser;
use pinbridge::cli::{Cli, Command};
use pinbridge::commands::{self, CommandError};

/// `--features mimalloc`: the service on mimalloc instead of glibc's allocator, only to repeat
/// the allocator comparisons in docs/BENCHMARKS.md ("Memory", "Webhook acks"); the release
/// keeps glibc's, which held memory far lower with many threads.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story on stdout, a container runtime runs `healthcheck` every
    // few seconds, and completions and the man page are piped into files; keep the logs to
    // warnings there. `-v`/`-q` move from that default; `PINBRIDGE_LOG` overrides both.
    let default_level = match cli.command {
        Command::Demo { .. }
        | Command::Healthcheck { .. }
        | Command::Completions { .. }
        | Command::Man => "warn",
        _ => "info",
    };
    pinbridge::telemetry::init(cli.verbosity.level(default_level));
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
