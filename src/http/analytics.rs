//! Pin analytics for the HTTP side: the roll-up the admin API answers, the status page draws
//! and the metrics publish, read the same way — the store's rows for the period, rolled up with
//! the templates of the routes in force (the live configuration's, file and API ones).

use crate::http::HttpState;
use crate::rollup::{Dimension, Period, Rollup, RouteTemplates, roll_up};
use crate::store::StoreResult;

/// The routes in force with their templates; a server without a live configuration (built for
/// one test) knows none, so its Pins group under "route not configured".
pub fn route_templates(state: &HttpState) -> RouteTemplates {
    let Some(live) = &state.live else {
        return RouteTemplates::default();
    };
    let view = live.view();
    RouteTemplates::new(view.routes.iter().map(|route| {
        let text = |key: &str| route.settings.get(key).and_then(|v| v.as_str());
        (route.name.clone(), text("title"), text("description"))
    }))
}

/// The roll-up of `period` by `by`. One read of every row in the period (Pins × days).
pub async fn rollup(state: &HttpState, by: Dimension, period: Period) -> StoreResult<Rollup> {
    let rows = state.store.pin_days(period.from_day, period.to_day).await?;
    Ok(roll_up(&rows, by, period, &route_templates(state)))
}
