//! The demo's last step: what the Pins earned. Pinterest reports a day's figures once the day
//! is over (the sandbox, like the real API, marks today `PROCESSING`), so right after the
//! Pins are made there is nothing to report. The demo runs on a [`DemoClock`] shared by the
//! sandbox and the bridge, moves it a week ahead, lets the bridge's own analytics collector
//! (which notices the jump at once) fetch that week from the sandbox, and prints the roll-up
//! by source — the table `pinbridge report` prints.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::clock::{Clock, Millis, SystemClock};
use crate::config::Config;
use crate::rollup::period::day_of;
use crate::rollup::{Dimension, Period, Rollup, roll_up, table};
use crate::store::Store;

/// How far the clock moves: a week of figures.
pub const WEEK_MS: Millis = 7 * 86_400_000;
/// The demo's account (`config/demo.toml`).
const ACCOUNT: &str = "demo";
/// A collection of a few Pins takes well under a second; this allows a slow CI machine.
const DEADLINE: Duration = Duration::from_secs(60);

/// The wall clock plus an offset the demo moves forward.
#[derive(Default)]
pub struct DemoClock {
    offset: AtomicI64,
}

impl DemoClock {
    pub fn skip(&self, ms: Millis) {
        self.offset.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for DemoClock {
    fn now_ms(&self) -> Millis {
        SystemClock.now_ms() + self.offset.load(Ordering::SeqCst)
    }
}

/// Move the clock a week ahead, wait until the collector has fetched every Pin it watches,
/// print the roll-up by source and return it.
pub async fn collect_and_report(
    store: &dyn Store,
    clock: &Arc<DemoClock>,
    config: &Config,
) -> anyhow::Result<Rollup> {
    println!();
    println!(
        "A week later (the demo moves its clock ahead: Pinterest reports a day once it is over),"
    );
    println!("pinbridge's analytics collector fetches what the Pins earned from the sandbox:");
    clock.skip(WEEK_MS);
    let jumped = clock.now_ms();
    tokio::time::timeout(DEADLINE, async {
        loop {
            let watches = store.pin_watches(ACCOUNT).await?;
            // Fetched after the jump: the collection that sees the week's figures is done.
            if !watches.is_empty()
                && watches
                    .iter()
                    .all(|w| w.fetched_at.is_some_and(|at| at >= jumped))
            {
                return anyhow::Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .context("the analytics collection did not finish in time")??;
    let today = day_of(clock.now_ms());
    let period = Period::last(30, today)?;
    let rows = store
        .pin_days(period.from_day, period.to_day)
        .await
        .context("reading the collected analytics")?;
    let rollup = roll_up(
        &rows,
        Dimension::Source,
        period,
        &crate::routing::route_templates(config),
    );
    println!();
    print!("{}", table::text(&rollup));
    if rollup.total.impressions == 0 {
        bail!("the collection stored no figures");
    }
    Ok(rollup)
}
