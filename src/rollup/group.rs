//! The roll-up: daily rows per Pin summed into one group per source, route, board, category
//! or template, plus a per-day series per source.
//!
//! - **Pins** counts the distinct Pins with a row in the period, once per group.
//! - **Categories**: a Pin in several categories counts in each of them (its figures too), so
//!   by category the groups may add up to more than the total; a Pin without one is `(none)`.
//! - **Templates**: a row names its route; the template is that route's title and description
//!   templates in the configuration in force now (`RouteTemplates`), so two routes with the same
//!   text share a group. A route no longer configured shows as `(route not configured)`.
//! - **Click-through rate** is outbound clicks / impressions; without impressions there is no
//!   rate (`null`), never a division by zero.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::period::{Period, date_of};
use crate::store::PinDay;

/// What the rows are grouped by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Dimension {
    #[default]
    Source,
    Route,
    Board,
    Category,
    Template,
}

impl Dimension {
    pub const ALL: [Dimension; 5] = [
        Dimension::Source,
        Dimension::Route,
        Dimension::Board,
        Dimension::Category,
        Dimension::Template,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Dimension::Source => "source",
            Dimension::Route => "route",
            Dimension::Board => "board",
            Dimension::Category => "category",
            Dimension::Template => "template",
        }
    }
}

impl FromStr for Dimension {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Dimension::ALL
            .into_iter()
            .find(|d| d.name() == text)
            .ok_or_else(|| {
                let names: Vec<&str> = Dimension::ALL.iter().map(|d| d.name()).collect();
                format!("cannot group by `{text}`: use one of {}", names.join(", "))
            })
    }
}

/// Each configured route's template, by route name: the text that groups `by template`.
#[derive(Clone, Debug, Default)]
pub struct RouteTemplates(HashMap<String, String>);

/// Shown for a route the configuration no longer has.
pub const UNKNOWN_ROUTE: &str = "(route not configured)";
/// The category of a Pin whose item had none.
pub const NO_CATEGORY: &str = "(none)";

impl RouteTemplates {
    /// From `(route name, title template, description template)`; a missing template is the
    /// default one, written as the template engine reads it.
    pub fn new<'a>(
        routes: impl IntoIterator<Item = (String, Option<&'a str>, Option<&'a str>)>,
    ) -> Self {
        RouteTemplates(
            routes
                .into_iter()
                .map(|(name, title, description)| {
                    let title = title.unwrap_or("{{ title }}");
                    let description = description.unwrap_or("{{ description }}");
                    (name, format!("{title} | {description}"))
                })
                .collect(),
        )
    }

    fn of(&self, route: &str) -> &str {
        self.0.get(route).map_or(UNKNOWN_ROUTE, String::as_str)
    }
}

/// One group's figures over the period.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Group {
    /// The source id, route name, board, category or template.
    pub key: String,
    /// Distinct Pins with figures in the period.
    pub pins: u64,
    pub impressions: u64,
    pub saves: u64,
    pub pin_clicks: u64,
    pub outbound_clicks: u64,
    /// Outbound clicks / impressions; `null` without impressions.
    pub click_through_rate: Option<f64>,
}

/// One day of a source's series.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DayFigures {
    /// `YYYY-MM-DD` (UTC).
    pub date: String,
    pub impressions: u64,
    pub outbound_clicks: u64,
}

/// A source's figures per day, every day of the period (zeros included), oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceSeries {
    pub source: String,
    pub days: Vec<DayFigures>,
}

/// A roll-up over a period.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rollup {
    pub by: Dimension,
    /// First and last day covered, `YYYY-MM-DD` (UTC), both included.
    pub from: String,
    pub to: String,
    /// Most outbound clicks first, then most impressions, then by key.
    pub groups: Vec<Group>,
    /// All Pins together, each counted once whatever the grouping.
    pub total: Group,
    /// Per source, by source id.
    pub series: Vec<SourceSeries>,
}

/// Sums and the distinct Pins behind them (borrowed from the rows: no copies per row).
#[derive(Default)]
struct Tally<'a> {
    pins: HashSet<&'a str>,
    impressions: u64,
    saves: u64,
    pin_clicks: u64,
    outbound_clicks: u64,
}

impl<'a> Tally<'a> {
    fn add(&mut self, row: &'a PinDay) {
        self.pins.insert(&row.pin_id);
        let m = &row.metrics;
        self.impressions = self.impressions.saturating_add(m.impressions);
        self.saves = self.saves.saturating_add(m.saves);
        self.pin_clicks = self.pin_clicks.saturating_add(m.pin_clicks);
        self.outbound_clicks = self.outbound_clicks.saturating_add(m.outbound_clicks);
    }

    fn group(self, key: String) -> Group {
        let click_through_rate =
            (self.impressions > 0).then(|| self.outbound_clicks as f64 / self.impressions as f64);
        Group {
            key,
            pins: self.pins.len() as u64,
            impressions: self.impressions,
            saves: self.saves,
            pin_clicks: self.pin_clicks,
            outbound_clicks: self.outbound_clicks,
            click_through_rate,
        }
    }
}

/// The keys a row counts under: one, or one per category.
fn keys_of<'a>(row: &'a PinDay, by: Dimension, templates: &'a RouteTemplates) -> Vec<&'a str> {
    match by {
        Dimension::Source => vec![row.source.as_str()],
        Dimension::Route => vec![&row.route],
        Dimension::Board => vec![&row.board],
        Dimension::Template => vec![templates.of(&row.route)],
        Dimension::Category if row.categories.is_empty() => vec![NO_CATEGORY],
        Dimension::Category => {
            // A category listed twice on one item still counts the Pin once in it.
            let distinct: BTreeSet<&str> = row.categories.iter().map(String::as_str).collect();
            distinct.into_iter().collect()
        }
    }
}

/// Roll `rows` up by `by` over `period`; rows outside the period are left out.
pub fn roll_up(
    rows: &[PinDay],
    by: Dimension,
    period: Period,
    templates: &RouteTemplates,
) -> Rollup {
    let mut groups: HashMap<&str, Tally> = HashMap::new();
    let mut total = Tally::default();
    let mut series: BTreeMap<&str, BTreeMap<i64, (u64, u64)>> = BTreeMap::new();
    for row in rows.iter().filter(|r| period.contains(r.day)) {
        for key in keys_of(row, by, templates) {
            groups.entry(key).or_default().add(row);
        }
        total.add(row);
        let day = series
            .entry(row.source.as_str())
            .or_default()
            .entry(row.day)
            .or_default();
        day.0 = day.0.saturating_add(row.metrics.impressions);
        day.1 = day.1.saturating_add(row.metrics.outbound_clicks);
    }
    let mut groups: Vec<Group> = groups
        .into_iter()
        .map(|(key, tally)| tally.group(key.to_string()))
        .collect();
    groups.sort_by(|a, b| {
        (b.outbound_clicks, b.impressions)
            .cmp(&(a.outbound_clicks, a.impressions))
            .then_with(|| a.key.cmp(&b.key))
    });
    let series = series
        .into_iter()
        .map(|(source, by_day)| SourceSeries {
            source: source.to_string(),
            days: (period.from_day..=period.to_day)
                .map(|day| {
                    let (impressions, outbound_clicks) =
                        by_day.get(&day).copied().unwrap_or_default();
                    DayFigures {
                        date: date_of(day),
                        impressions,
                        outbound_clicks,
                    }
                })
                .collect(),
        })
        .collect();
    Rollup {
        by,
        from: date_of(period.from_day),
        to: date_of(period.to_day),
        groups,
        total: total.group("total".into()),
        series,
    }
}
