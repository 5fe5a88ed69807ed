//! `pinbridge report`'s arguments: the period, the grouping and the output format.

use clap::{Args, ValueEnum};

/// What `pinbridge report` prints and over which days.
#[derive(Debug, Args, Clone)]
pub struct ReportArgs {
    /// The days ending today, UTC: `30d`, `4w` [default: 30d, unless --from/--to are given]
    #[arg(long, conflicts_with_all = ["from", "to"])]
    pub since: Option<String>,
    /// First day, YYYY-MM-DD (UTC) [default: 30 days before --to]
    #[arg(long)]
    pub from: Option<String>,
    /// Last day, YYYY-MM-DD (UTC) [default: today]
    #[arg(long)]
    pub to: Option<String>,
    /// Sum the figures per source, route, board, category (a Pin in several categories counts
    /// in each) or template (the route's title and description templates).
    #[arg(long, default_value = "source",
          value_parser = ["source", "route", "board", "category", "template"])]
    pub by: String,
    /// table for people, csv for spreadsheets, json for programs.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    pub format: ReportFormat,
    /// The running pinbridge [default: the local one when `server.admin_token` is set and it
    /// answers; else the store is opened directly]
    #[arg(long, env = "PINBRIDGE_SERVER")]
    pub server: Option<url::Url>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    Table,
    Csv,
    Json,
}
