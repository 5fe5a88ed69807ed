//! Pin analytics, which Pinterest's own sandbox does not serve (`x-sandbox: disabled`):
//! `GET /v5/pins/{pin_id}/analytics` and the beta `GET /v5/pins/analytics?pin_ids=…`, checked
//! as the API describes them (required dates at most 90 days back and 90 days long, required
//! `metric_types` from the documented list, `app_types`, `split_field`, ≤ 100 numeric ids) and
//! answered in the documented shape (`PinAnalyticsResponse`, `BulkPinAnalyticsResponse`) with
//! the figures of `analytics_figures.rs`. Both take from the `org_analytics` quota.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use serde_json::{Map, Value, json};

use super::Inner;
use super::analytics_figures::{Figures, admit_analytics, figures, share};
use super::faults::AuthedUser;
use super::state::State as World;
use super::validation::SbError;
use crate::pinterest::analytics::{
    MAX_BATCH, MAX_DAYS_BACK, MAX_SPAN_DAYS, date_to_day, day_to_date,
};

/// What the sandbox answers the batch call when `batch_analytics` is off. Pinterest does not
/// document how it refuses a beta operation to an app; the status (403), code (3) and wording
/// are the sandbox's own, in the documented `{code, message}` shape.
pub const BATCH_UNAVAILABLE_MESSAGE: &str =
    "This endpoint is currently in beta and not available to this app (sandbox).";

const METRIC_TYPES: &[&str] = &[
    "IMPRESSION",
    "OUTBOUND_CLICK",
    "PIN_CLICK",
    "SAVE",
    "SAVE_RATE",
    "TOTAL_COMMENTS",
    "TOTAL_REACTIONS",
    "USER_FOLLOW",
    "PROFILE_VISIT",
    "VIDEO_MRC_VIEW",
    "VIDEO_10S_VIEW",
    "QUARTILE_95_PERCENT_VIEW",
    "VIDEO_V50_WATCH_TIME",
    "VIDEO_START",
    "VIDEO_AVG_WATCH_TIME",
];
const APP_TYPES: &[&str] = &["MOBILE", "TABLET", "WEB"];

/// A checked request: the days, the metrics, and the app-type keys of the answer.
struct Request {
    from: i64,
    to: i64,
    metrics: Vec<String>,
    keys: Vec<String>,
}

type Answer = Result<Json<Value>, SbError>;

pub(crate) async fn pin_analytics(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    Path(pin_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer {
    let now = sb.clock.now_ms();
    admit_analytics(&sb, &user.id, now)?;
    let pairs = pairs(query.as_deref());
    // The single-Pin operation's documented error codes are its HTTP statuses.
    let invalid = |m: String| SbError::new(StatusCode::BAD_REQUEST, 400, m);
    let request = parse(&pairs, now.div_euclid(86_400_000)).map_err(invalid)?;
    let st = sb.lock();
    let made = made_day(&st, &pin_id, &user.id)
        .ok_or_else(|| SbError::new(StatusCode::NOT_FOUND, 404, "Pin not found."))?;
    Ok(Json(pin_answer(&pin_id, made, &request, now)))
}

pub(crate) async fn pins_analytics(
    State(sb): State<Arc<Inner>>,
    Extension(user): Extension<AuthedUser>,
    RawQuery(query): RawQuery,
) -> Answer {
    if !sb.config.batch_analytics {
        return Err(SbError::new(
            StatusCode::FORBIDDEN,
            3,
            BATCH_UNAVAILABLE_MESSAGE,
        ));
    }
    let now = sb.clock.now_ms();
    admit_analytics(&sb, &user.id, now)?;
    let pairs = pairs(query.as_deref());
    let invalid = |m: String| SbError::bad_request(m);
    let ids = pin_ids(&pairs).map_err(invalid)?;
    let request = parse(&pairs, now.div_euclid(86_400_000)).map_err(invalid)?;
    let st = sb.lock();
    let mut out = Map::new();
    for id in ids {
        let made = made_day(&st, &id, &user.id).ok_or_else(SbError::pin_not_found)?;
        out.insert(id.clone(), pin_answer(&id, made, &request, now));
    }
    Ok(Json(Value::Object(out)))
}

/// The query's pairs, decoded (arrays come as repeated names or comma-separated values).
fn pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn values<'a>(pairs: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    pairs
        .iter()
        .filter(|(k, _)| k == name)
        .flat_map(|(_, v)| v.split(','))
        .filter(|v| !v.is_empty())
        .collect()
}

fn one<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn pin_ids(pairs: &[(String, String)]) -> Result<Vec<String>, String> {
    let ids = values(pairs, "pin_ids");
    if ids.is_empty() {
        return Err("Missing parameter: pin_ids.".into());
    }
    if ids.len() > MAX_BATCH {
        return Err(format!(
            "Invalid parameter: pin_ids holds {} ids; at most {MAX_BATCH} are allowed.",
            ids.len()
        ));
    }
    if let Some(bad) = ids
        .iter()
        .find(|id| !id.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!(
            "Invalid parameter: pin_ids `{bad}` is not a Pin id."
        ));
    }
    Ok(ids.into_iter().map(str::to_string).collect())
}

fn date(pairs: &[(String, String)], name: &str) -> Result<i64, String> {
    let raw = one(pairs, name).ok_or_else(|| format!("Missing parameter: {name}."))?;
    date_to_day(raw).ok_or_else(|| format!("Invalid parameter: {name} `{raw}` is not YYYY-MM-DD."))
}

fn parse(pairs: &[(String, String)], today: i64) -> Result<Request, String> {
    let (from, to) = (date(pairs, "start_date")?, date(pairs, "end_date")?);
    if from < today - MAX_DAYS_BACK {
        return Err(format!(
            "Invalid parameter: start_date cannot be more than {MAX_DAYS_BACK} days back from today."
        ));
    }
    if to < from {
        return Err("Invalid parameter: end_date is before start_date.".into());
    }
    if to - from > MAX_SPAN_DAYS {
        return Err(format!(
            "Invalid parameter: end_date cannot be more than {MAX_SPAN_DAYS} days past start_date."
        ));
    }
    let metrics = values(pairs, "metric_types");
    if metrics.is_empty() {
        return Err("Missing parameter: metric_types.".into());
    }
    if let Some(bad) = metrics.iter().find(|m| !METRIC_TYPES.contains(m)) {
        return Err(format!("Invalid parameter: metric_types `{bad}`."));
    }
    let app_type = one(pairs, "app_types").unwrap_or("ALL");
    if app_type != "ALL" && !APP_TYPES.contains(&app_type) {
        return Err(format!("Invalid parameter: app_types `{app_type}`."));
    }
    let keys = match one(pairs, "split_field").unwrap_or("NO_SPLIT") {
        "NO_SPLIT" => vec![app_type.to_string()],
        "APP_TYPE" if app_type == "ALL" => APP_TYPES.iter().map(|a| a.to_string()).collect(),
        "APP_TYPE" => vec![app_type.to_string()],
        other => return Err(format!("Invalid parameter: split_field `{other}`.")),
    };
    Ok(Request {
        from,
        to,
        metrics: metrics.into_iter().map(str::to_string).collect(),
        keys,
    })
}

/// The UTC day the user's Pin `pin_id` was made, if the sandbox holds it.
fn made_day(st: &World, pin_id: &str, user_id: &str) -> Option<i64> {
    let id: u64 = pin_id.parse().ok()?;
    st.pins
        .iter()
        .find(|p| p.id == id && p.owner == user_id)
        .map(|p| p.created_at.div_euclid(86_400_000))
}

/// One Pin's `PinAnalyticsResponse`: per app-type key, daily, summary and lifetime metrics.
fn pin_answer(pin_id: &str, made: i64, request: &Request, now: i64) -> Value {
    let today = now.div_euclid(86_400_000);
    let id: u64 = pin_id.parse().unwrap_or_default();
    let mut out = Map::new();
    for key in &request.keys {
        let mut total = Figures::default();
        let daily: Vec<Value> = (request.from..=request.to)
            .map(|day| {
                let whole = figures(id, made, day, today);
                let part = Figures {
                    impressions: share(whole.impressions, key),
                    saves: share(whole.saves, key),
                    pin_clicks: share(whole.pin_clicks, key),
                    outbound_clicks: share(whole.outbound_clicks, key),
                };
                total.impressions += part.impressions;
                total.saves += part.saves;
                total.pin_clicks += part.pin_clicks;
                total.outbound_clicks += part.outbound_clicks;
                let status = if day >= today { "PROCESSING" } else { "READY" };
                json!({"date": day_to_date(day), "data_status": status,
                       "metrics": metrics_of(&part, &request.metrics)})
            })
            .collect();
        let lifetime: HashMap<&str, u64> = request
            .metrics
            .iter()
            .filter(|m| m.starts_with("TOTAL_"))
            .map(|m| (m.as_str(), 0))
            .collect();
        out.insert(
            key.clone(),
            json!({"daily_metrics": daily, "summary_metrics": metrics_of(&total, &request.metrics),
                   "lifetime_metrics": lifetime}),
        );
    }
    Value::Object(out)
}

/// The requested metrics of `f` (every sandbox Pin is an image: video metrics are 0).
fn metrics_of(f: &Figures, wanted: &[String]) -> Map<String, Value> {
    wanted
        .iter()
        .map(|m| {
            let value = match m.as_str() {
                "IMPRESSION" => json!(f.impressions),
                "SAVE" => json!(f.saves),
                "PIN_CLICK" => json!(f.pin_clicks),
                "OUTBOUND_CLICK" => json!(f.outbound_clicks),
                "SAVE_RATE" if f.impressions > 0 => {
                    json!(f.saves as f64 / f.impressions as f64)
                }
                _ => json!(0),
            };
            (m.clone(), value)
        })
        .collect()
}
