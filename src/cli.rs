//! The command line. `pinbridge --help` lists the commands.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::{Config, ConfigError};

#[derive(Debug, Parser)]
#[command(
    name = "pinbridge",
    version = crate::telemetry::LONG_VERSION,
    about = "Turns new feed items, shop listings and CMS webhooks into Pinterest Pins, exactly once."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args, Clone)]
pub struct ConfigArg {
    /// Config file [default: $PINBRIDGE_CONFIG, else config/pinbridge.toml]
    #[arg(short = 'c', long = "config", env = "PINBRIDGE_CONFIG", global = true)]
    pub config: Option<PathBuf>,
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
    Serve(ConfigArg),
    /// Validate the config; list every problem and exit 2 if there is one.
    Check {
        #[command(flatten)]
        config: ConfigArg,
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
        #[command(flatten)]
        config: ConfigArg,
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 3)]
        timeout_secs: u64,
    },
    /// Run the local Pinterest API v5 stand-in.
    Sandbox {
        #[arg(long, default_value = "127.0.0.1:8790")]
        listen: SocketAddr,
        /// Writes per minute per token before 429 (none: unlimited).
        #[arg(long)]
        write_quota: Option<u32>,
        /// Fraction of requests answered with a 5xx (0.0–1.0).
        #[arg(long, default_value_t = 0.0)]
        error_rate: f64,
    },
    /// Inspect and repair what the store holds.
    Items {
        #[command(flatten)]
        config: ConfigArg,
        #[command(subcommand)]
        action: ItemsAction,
    },
    /// Fetch one source once and show what would be pinned.
    Poll {
        #[command(flatten)]
        config: ConfigArg,
        #[arg(long)]
        source: String,
        /// Show only; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Authorize a Pinterest account (OAuth) and store its tokens encrypted in the store.
    Auth {
        #[command(flatten)]
        config: ConfigArg,
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
        #[command(flatten)]
        config: ConfigArg,
        /// The running pinbridge [default: http://<server.listen>/ on this machine]
        #[arg(long, env = "PINBRIDGE_SERVER", global = true)]
        server: Option<url::Url>,
        #[command(subcommand)]
        action: SourcesAction,
    },
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
    Pause { id: String },
    /// Poll a paused source again.
    Resume { id: String },
    /// Remove a source added through the API or an import.
    Remove {
        id: String,
        /// What happens to its queued Pins: finish them, or cancel them (to the dead letter).
        #[arg(long, value_enum)]
        queued: Option<QueuedChoice>,
    },
    /// Add a feed source per outline of an OPML file (folders become categories).
    Import {
        file: PathBuf,
        /// Show what would be added and what already exists; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Write the feed sources as OPML (to stdout, or --output FILE).
    Export {
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// What removing a source does with its unfinished jobs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum QueuedChoice {
    Finish,
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
        #[arg(long)]
        source: Option<String>,
        /// Only jobs in this state: pending, leased, retry, unknown, done, dead.
        #[arg(long)]
        state: Option<String>,
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Show one item and its jobs.
    Show { source: String, key: String },
    /// Bring dead-lettered jobs back (by id, several at once, or all of them).
    Retry {
        /// Job ids (as `items list --state dead` shows them).
        jobs: Vec<String>,
        #[arg(long, conflicts_with = "jobs")]
        all_dead: bool,
    },
    /// Forget an item so that it may be pinned again.
    Forget { source: String, key: String },
}
