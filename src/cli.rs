//! The command line. `pinbridge --help` lists the commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};

use crate::config::{Config, ConfigError};

mod report_args;
mod store_actions;
pub use report_args::{ReportArgs, ReportFormat};
pub use store_actions::{BoardsAction, StoreAction};

/// Shown after the options of `pinbridge --help`: where to start, where settings come from and
/// what the exit status means, so a first run needs no other page.
const FIRST_STEPS: &str = "\
First steps:
  pinbridge demo                   try it: no account, no network, prints the Pins it made
  pinbridge check                  validate the config (every problem at once)
  pinbridge auth --account NAME    authorize a Pinterest account
  pinbridge serve                  run the service

Configuration comes from -c FILE, else $PINBRIDGE_CONFIG, else config/pinbridge.toml when it
exists, else the environment alone (PINBRIDGE_* variables, as in a container). PINBRIDGE_*
variables override the file. PINBRIDGE_LOG (e.g. info,pinbridge=debug) overrides -v/-q.

Exit status: 0 ok, 1 runtime failure, 2 bad config or usage.";

#[derive(Debug, Parser)]
#[command(
    name = "pinbridge",
    version = crate::telemetry::LONG_VERSION,
    about = "Turns new feed items, shop listings and CMS webhooks into Pinterest Pins, exactly once.",
    after_help = FIRST_STEPS
)]
pub struct Cli {
    #[command(flatten)]
    pub config: ConfigArg,
    #[command(flatten)]
    pub verbosity: Verbosity,
    #[command(subcommand)]
    pub command: Command,
}

/// `-c` lives on the top-level command and is global, so it may come before or after the
/// subcommand (`pinbridge -c x.toml check` and `pinbridge check -c x.toml` are the same).
/// The global options sort last (`display_order` 900+) so that a subcommand's help starts with
/// its own options.
#[derive(Debug, Args, Clone)]
pub struct ConfigArg {
    /// Config file [default: $PINBRIDGE_CONFIG, else config/pinbridge.toml, else the
    /// environment alone]
    #[arg(
        short = 'c',
        long = "config",
        env = "PINBRIDGE_CONFIG",
        global = true,
        display_order = 900
    )]
    pub config: Option<PathBuf>,
}

/// `-v`/`-q`: how much the command logs. `PINBRIDGE_LOG` (or `RUST_LOG`) wins when set.
#[derive(Debug, Args, Clone, Default)]
pub struct Verbosity {
    /// Log more: -v debug, -vv trace.
    #[arg(
        short = 'v',
        long = "verbose",
        action = ArgAction::Count,
        global = true,
        conflicts_with = "quiet",
        display_order = 901
    )]
    pub verbose: u8,
    /// Log less: -q warnings and errors, -qq errors only.
    #[arg(
        short = 'q',
        long = "quiet",
        action = ArgAction::Count,
        global = true,
        display_order = 902
    )]
    pub quiet: u8,
}

impl Verbosity {
    /// The log filter for this run, given the command's own default level.
    pub fn level(&self, default: &'static str) -> &'static str {
        match (self.verbose, self.quiet) {
            (0, 0) => default,
            (1, _) => "debug",
            (2.., _) => "trace",
            (0, 1) => "warn",
            (0, 2..) => "error",
        }
    }
}

impl ConfigArg {
    pub fn path(&self) -> PathBuf {
        self.config
            .clone()
            .unwrap_or_else(|| PathBuf::from("config/pinbridge.toml"))
    }

    /// The one way every command loads its configuration, so that a container configured by
    /// `PINBRIDGE_*` variables alone runs `check`, `auth` or `items` exactly as it runs `serve`:
    /// a named file (`-c`, `$PINBRIDGE_CONFIG`) must exist; without one the default file is
    /// used when present, else the environment alone.
    pub fn load(&self) -> Result<LoadedConfig, ConfigError> {
        let path = self.path();
        let config = Config::load_or_env(&path, self.config.is_some())?;
        let file = (self.config.is_some() || path.exists()).then_some(path);
        Ok(LoadedConfig { config, file })
    }
}

/// A loaded configuration and the file it came from (`None`: the environment alone).
#[derive(Debug)]
pub struct LoadedConfig {
    pub config: Config,
    pub file: Option<PathBuf>,
}

impl LoadedConfig {
    /// Where the settings came from, for messages (`config/pinbridge.toml`, or the environment).
    pub fn origin(&self) -> String {
        match &self.file {
            Some(file) => file.display().to_string(),
            None => "environment (PINBRIDGE_* variables, no config file)".into(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run everything: HTTP server, pollers and sync engine, until SIGTERM/SIGINT.
    Serve,
    /// Validate the config; list every problem and exit 2 if there is one.
    Check {
        /// Also check tokens and resolve boards against the Pinterest API.
        #[arg(long)]
        online: bool,
    },
    /// Try pinbridge with no account and no network: a local Pinterest sandbox, a sample feed
    /// and a webhook; prints the Pins made and exits.
    Demo {
        /// Keep the store here instead of a temporary directory.
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Ask the running pinbridge at `server.listen` for `/healthz`: exit 0 when it answers
    /// 200, else 1. For container HEALTHCHECKs, which then follow the configured port.
    Healthcheck {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3)]
        timeout_secs: u64,
    },
    /// Run the local Pinterest API v5 stand-in.
    Sandbox {
        /// Address to serve the stand-in API on.
        #[arg(long, default_value = "127.0.0.1:8790")]
        listen: SocketAddr,
        /// Writes per minute per token before 429 (none: unlimited).
        #[arg(long)]
        write_quota: Option<u32>,
        /// Fraction of requests answered with a 5xx (0.0–1.0).
        #[arg(long, default_value_t = 0.0)]
        error_rate: f64,
    },
    /// Inspect and repair what the store holds (through the running service's admin API when
    /// one runs, else in the store itself).
    Items {
        /// The running pinbridge [default: the local one when `server.admin_token` is set and
        /// it answers; else the store is opened directly]
        #[arg(long, env = "PINBRIDGE_SERVER", global = true)]
        server: Option<url::Url>,
        #[command(subcommand)]
        action: ItemsAction,
    },
    /// Pin analytics summed by source, route, board, category or template over a period:
    /// impressions, saves, Pin clicks, outbound clicks and click-through rate (through the
    /// running service's admin API when one runs, else from the store itself).
    Report(ReportArgs),
    /// Copy the store elsewhere (sled → PostgreSQL).
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
    /// Prime the link index from a board's existing Pins.
    Boards {
        #[command(subcommand)]
        action: BoardsAction,
    },
    /// Fetch one source once and show what would be pinned.
    Poll {
        /// The `[[sources]]` id to fetch.
        #[arg(long)]
        source: String,
        /// Show only; write nothing. Asks the running service when one runs.
        #[arg(long)]
        dry_run: bool,
        /// The running pinbridge, for --dry-run [default: the local one when
        /// `server.admin_token` is set and it answers]
        #[arg(long, env = "PINBRIDGE_SERVER")]
        server: Option<url::Url>,
    },
    /// Authorize a Pinterest account (OAuth) and store its tokens encrypted in the store.
    Auth {
        /// The `[[accounts]]` name to authorize.
        #[arg(long)]
        account: String,
        /// Receive the redirect on this local address (http://ADDR/oauth/callback). Without
        /// it, paste the address the browser was sent to.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// The redirect URI registered for the app [default: the --listen callback, else
        /// server.public_url + /oauth/callback].
        #[arg(long)]
        redirect_uri: Option<url::Url>,
        /// Pinterest's authorize page (the sandbox serves one at /oauth/).
        #[arg(long, default_value = "https://www.pinterest.com/oauth/")]
        authorize_url: url::Url,
    },
    /// Manage the sources of a running pinbridge (through its admin API), and import or
    /// export feed subscriptions as OPML.
    Sources {
        /// The running pinbridge [default: http://<server.listen>/ on this machine]
        #[arg(long, env = "PINBRIDGE_SERVER", global = true)]
        server: Option<url::Url>,
        #[command(subcommand)]
        action: SourcesAction,
    },
    /// Print a shell completion script: `pinbridge completions bash > /etc/bash_completion.d/pinbridge`.
    Completions {
        /// The shell to complete in.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `pinbridge man > pinbridge.1; man ./pinbridge.1`.
    Man,
}

#[derive(Debug, Subcommand)]
pub enum SourcesAction {
    /// List every source with its origin (file or api) and state.
    List,
    /// Add a source: `pinbridge sources add feed url=https://example.com/feed.xml interval=30m`.
    Add {
        /// feed, webhook, etsy or shopify.
        kind: String,
        /// The source id [default: made from the url's host].
        #[arg(long)]
        id: Option<String>,
        /// KEY=VALUE pairs with the keys of a `[[sources]]` entry.
        settings: Vec<String>,
    },
    /// Stop polling a source (its webhook answers 404) until resumed; survives restarts.
    Pause {
        /// The source id (as `sources list` shows it).
        id: String,
    },
    /// Poll a paused source again.
    Resume {
        /// The source id (as `sources list` shows it).
        id: String,
    },
    /// Remove a source added through the API or an import.
    Remove {
        /// The source id (as `sources list` shows it).
        id: String,
        /// What happens to its queued Pins: finish them, or cancel them (to the dead letter).
        #[arg(long, value_enum)]
        queued: Option<QueuedChoice>,
    },
    /// Add a feed source per outline of an OPML file (folders become categories).
    Import {
        /// The OPML file to read.
        file: PathBuf,
        /// Show what would be added and what already exists; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the feed sources as OPML (to stdout, or --output FILE).
    Export {
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// What removing a source does with its unfinished jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum QueuedChoice {
    /// Send the queued Pins, then forget the source.
    Finish,
    /// Cancel the queued Pins (they go to the dead letter).
    Cancel,
}

impl QueuedChoice {
    pub fn as_str(self) -> &'static str {
        match self {
            QueuedChoice::Finish => "finish",
            QueuedChoice::Cancel => "cancel",
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum ItemsAction {
    /// List items (newest first) with their jobs.
    List {
        /// Only this source's items (its `[[sources]]` id).
        #[arg(long)]
        source: Option<String>,
        /// Only jobs in this state (lists jobs instead of items).
        #[arg(long, value_enum)]
        state: Option<JobStateArg>,
        /// At most this many lines.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show one item and its jobs.
    Show {
        /// The item's source id.
        source: String,
        /// The item's dedup key (as `items list` shows it).
        key: String,
    },
    /// Bring dead-lettered jobs back (by id, several at once, or all of them).
    Retry {
        /// Job ids (as `items list --state dead` shows them).
        jobs: Vec<String>,
        /// Every dead-lettered job.
        #[arg(long, conflicts_with = "jobs")]
        all_dead: bool,
    },
    /// Forget an item so that it may be pinned again.
    Forget {
        /// The item's source id.
        source: String,
        /// The item's dedup key (as `items list` shows it).
        key: String,
    },
    /// Write the whole store as JSON Lines (items, fingerprints, jobs and their Pins, link
    /// index, adopted boards, source states, runtime config records), for backups and moves.
    Export {
        /// Write to this file instead of stdout.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Read an export into the store; what is already there is left alone (importing twice
    /// changes nothing).
    Import {
        /// The export file (`-` for stdin).
        file: PathBuf,
    },
}

/// The job states `items list --state` accepts: the store's state names, so that a typo is a
/// usage error listing them rather than an empty list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum JobStateArg {
    /// Waiting to be sent.
    Pending,
    /// Being sent by a worker right now.
    Leased,
    /// Failed; tried again later.
    Retry,
    /// Sent, answer lost: reconciled against Pinterest before any resend.
    Unknown,
    /// Pinned.
    Done,
    /// Given up (the dead letter); `items retry` brings it back.
    Dead,
}

impl JobStateArg {
    /// The store's name for this state (as `JobState::name` spells it).
    pub fn name(self) -> &'static str {
        match self {
            JobStateArg::Pending => "pending",
            JobStateArg::Leased => "leased",
            JobStateArg::Retry => "retry",
            JobStateArg::Unknown => "unknown",
            JobStateArg::Done => "done",
            JobStateArg::Dead => "dead",
        }
    }
}
