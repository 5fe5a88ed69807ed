//! `pinbridge report`: Pin analytics rolled up over a period, as a table, CSV or JSON. While
//! the service runs it holds the store, so the roll-up comes from its admin API
//! (`GET /api/v1/analytics`); otherwise the command reads the store and rolls up itself. Both
//! paths print the same [`Rollup`] the same way.

use std::sync::Arc;

use anyhow::Context;

use super::CommandError;
use super::service;
use super::sources::{AdminClient, failed};
use crate::cli::{ReportArgs, ReportFormat};
use crate::clock::{Clock, SystemClock};
use crate::config::Config;
use crate::rollup::period::day_of;
use crate::rollup::{Dimension, Period, Rollup, roll_up, table};
use crate::store::Store;

pub async fn run(config: &Config, args: ReportArgs) -> Result<(), CommandError> {
    let by: Dimension = args.by.parse().map_err(CommandError::Usage)?;
    let today = day_of(SystemClock.now_ms());
    let period = Period::from_query(
        args.since.as_deref(),
        args.from.as_deref(),
        args.to.as_deref(),
        today,
    )
    .map_err(|e| CommandError::Usage(e.to_string()))?;
    let rollup = match service::running(config, args.server.clone()).await? {
        Some(api) => from_service(&api, by, period).await?,
        None => from_store(config, by, period).await?,
    };
    print!("{}", render(&rollup, args.format));
    Ok(())
}

/// The roll-up in the asked format, ending with a line break.
pub fn render(rollup: &Rollup, format: ReportFormat) -> String {
    match format {
        ReportFormat::Table => table::text(rollup),
        ReportFormat::Csv => table::csv(rollup),
        ReportFormat::Json => serde_json::to_string_pretty(rollup).unwrap_or_default() + "\n",
    }
}

async fn from_service(
    api: &AdminClient,
    by: Dimension,
    period: Period,
) -> Result<Rollup, CommandError> {
    // The days are sent as dates, so the service's clock cannot shift the period.
    let path = format!(
        "api/v1/analytics?by={}&from={}&to={}",
        by.name(),
        crate::rollup::period::date_of(period.from_day),
        crate::rollup::period::date_of(period.to_day)
    );
    api.get_as(&path).await.map_err(failed)
}

async fn from_store(
    config: &Config,
    by: Dimension,
    period: Period,
) -> Result<Rollup, CommandError> {
    let store: Arc<dyn Store> = crate::store::open::open_configured(&config.store, None)
        .await
        .with_context(|| crate::store::open::describe(&config.store))?;
    let rows = store.pin_days(period.from_day, period.to_day).await;
    store.close().await.context("closing the store")?;
    let rows = rows.context("reading Pin analytics")?;
    let templates = crate::routing::route_templates(config);
    Ok(roll_up(&rows, by, period, &templates))
}
