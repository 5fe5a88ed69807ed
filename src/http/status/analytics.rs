//! The status page's analytics card: over the last 30 days, a chart per source (impressions
//! and outbound clicks per day, `daily_chart.rs`) and the roll-up by source as a table with the
//! click-through rate. The roll-up is the one kept for the gauges (`http::recent_analytics`),
//! read from the store at most every 5 minutes, not on every page view.

use serde::Serialize;

use super::daily_chart;
use crate::http::HttpState;
use crate::rollup::Group;
use crate::rollup::table::percent;

#[derive(Serialize)]
pub struct Row {
    pub key: String,
    pub pins: u64,
    pub impressions: u64,
    pub saves: u64,
    pub pin_clicks: u64,
    pub outbound_clicks: u64,
    /// `1.25%`, or `-` without impressions.
    pub rate: String,
}

impl Row {
    fn new(group: &Group) -> Row {
        Row {
            key: group.key.clone(),
            pins: group.pins,
            impressions: group.impressions,
            saves: group.saves,
            pin_clicks: group.pin_clicks,
            outbound_clicks: group.outbound_clicks,
            rate: percent(group.click_through_rate),
        }
    }
}

#[derive(Serialize)]
pub struct Card {
    pub from: String,
    pub to: String,
    pub rows: Vec<Row>,
    pub total: Row,
    /// The store did not answer: the card says so instead of showing zeros.
    pub error: Option<String>,
    /// Per source, by source id: the source, its chart (SVG markup, drawn here) and the top
    /// of the chart's outbound clicks scale.
    #[serde(skip)]
    pub charts: Vec<(String, String, u64)>,
}

pub async fn build(state: &HttpState) -> Card {
    match state.recent_analytics.by_source(state).await {
        Ok(rollup) => Card {
            from: rollup.from.clone(),
            to: rollup.to.clone(),
            rows: rollup.groups.iter().map(Row::new).collect(),
            total: Row::new(&rollup.total),
            error: None,
            charts: rollup
                .series
                .iter()
                .map(|s| {
                    let svg = daily_chart::daily(s);
                    (s.source.clone(), svg, daily_chart::clicks_top(s))
                })
                .collect(),
        },
        Err(e) => Card {
            from: String::new(),
            to: String::new(),
            rows: Vec::new(),
            total: Row::new(&Group::default()),
            error: Some(format!("the store did not answer: {e}")),
            charts: Vec::new(),
        },
    }
}
