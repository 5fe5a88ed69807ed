//! `GET /analytics`: Pin analytics rolled up over a period, the figures `pinbridge report`
//! prints while the service runs.

use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use super::ApiError;
use super::answers::ErrorBody;
use crate::http::HttpState;
use crate::rollup::period::day_of;
use crate::rollup::{Dimension, Period, Rollup};

/// The period and the grouping.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct AnalyticsQuery {
    /// The days ending today (UTC): `30d`, `4w`. Wins over `from` and `to`.
    pub since: Option<String>,
    /// First day, `YYYY-MM-DD` (UTC) [default: 30 days before `to`].
    pub from: Option<String>,
    /// Last day, `YYYY-MM-DD` (UTC) [default: today].
    pub to: Option<String>,
    /// `source` (default), `route`, `board`, `category` (a Pin in several categories counts
    /// in each) or `template` (the route's title and description templates).
    pub by: Option<String>,
}

/// Impressions, saves, Pin clicks, outbound clicks and click-through rate of the Pins
/// pinbridge made, summed per source, route, board, category or template over a period (the
/// last 30 days unless asked otherwise), with each source's figures per day.
#[utoipa::path(get, path = "/analytics", tag = "analytics", params(AnalyticsQuery),
    responses((status = 200, description = "The roll-up.", body = Rollup),
        (status = 400, description = "A query parameter is not valid.", body = ErrorBody),
        (status = 401, description = "Missing or wrong admin token.", body = ErrorBody)))]
pub async fn analytics(
    State(state): State<HttpState>,
    Query(query): Query<AnalyticsQuery>,
) -> Result<Json<Rollup>, ApiError> {
    let bad = |message: String| ApiError::new(StatusCode::BAD_REQUEST, message);
    let by = match query.by.as_deref() {
        None | Some("") => Dimension::Source,
        Some(text) => text.parse().map_err(bad)?,
    };
    let today = day_of(state.clock.now_ms());
    let period = Period::from_query(
        query.since.as_deref(),
        query.from.as_deref(),
        query.to.as_deref(),
        today,
    )
    .map_err(|e| bad(e.to_string()))?;
    Ok(Json(
        crate::http::analytics::rollup(&state, by, period).await?,
    ))
}
