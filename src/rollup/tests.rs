//! The roll-up against figures computed by hand from a small set of rows.

use super::period::{date_of, parse_date};
use super::table;
use super::*;
use crate::item::{DedupKey, SourceId};
use crate::store::{PinDay, PinMetrics};

fn row(pin: &str, source: &str, route: &str, board: &str, categories: &[&str]) -> PinDay {
    PinDay {
        pin_id: pin.into(),
        account: "main".into(),
        source: SourceId::new(source),
        item: DedupKey(format!("item-of-{pin}")),
        route: route.into(),
        board: board.into(),
        categories: categories.iter().map(|c| c.to_string()).collect(),
        day: 0,
        metrics: PinMetrics::default(),
    }
}

fn on(mut row: PinDay, day: i64, figures: [u64; 4]) -> PinDay {
    let [impressions, saves, pin_clicks, outbound_clicks] = figures;
    row.day = day;
    row.metrics = PinMetrics {
        impressions,
        saves,
        pin_clicks,
        outbound_clicks,
        video_starts: 0,
    };
    row
}

/// Four Pins over days 99..=106; the period is 100..=106.
fn rows() -> Vec<PinDay> {
    let p1 = row("p1", "blog", "recipes", "Dinner", &["soup", "dinner"]);
    let p2 = row("p2", "blog", "desserts", "Sweet", &["dessert"]);
    let p3 = row("p3", "shop", "products", "Dinner", &[]);
    let p4 = row("p4", "shop", "gone", "Gifts", &["dinner", "dinner"]);
    vec![
        on(p1.clone(), 100, [100, 2, 10, 5]),
        on(p1, 101, [50, 1, 4, 1]),
        on(p2, 101, [200, 0, 8, 2]),
        on(p3.clone(), 102, [40, 3, 6, 8]),
        // Before the period: left out.
        on(p3, 99, [1000, 1000, 1000, 1000]),
        on(p4, 106, [0, 0, 0, 0]),
    ]
}

fn templates() -> RouteTemplates {
    RouteTemplates::new([
        ("recipes".to_string(), Some("{{ title }}"), None),
        ("desserts".to_string(), None, None),
        (
            "products".to_string(),
            Some("{{ title }} · {{ price }}"),
            None,
        ),
    ])
}

fn period() -> Period {
    Period::new(100, 106).unwrap()
}

fn group(key: &str, pins: u64, figures: [u64; 4], rate: Option<f64>) -> Group {
    Group {
        key: key.into(),
        pins,
        impressions: figures[0],
        saves: figures[1],
        pin_clicks: figures[2],
        outbound_clicks: figures[3],
        click_through_rate: rate,
    }
}

#[test]
fn by_source_sums_each_sources_pins_and_rates_outbound_clicks_over_impressions() {
    let rollup = roll_up(&rows(), Dimension::Source, period(), &templates());
    assert_eq!(
        rollup.groups,
        vec![
            // 8 outbound clicks each: more impressions first.
            group("blog", 2, [350, 3, 22, 8], Some(8.0 / 350.0)),
            group("shop", 2, [40, 3, 6, 8], Some(0.2)),
        ]
    );
    assert_eq!(
        rollup.total,
        group("total", 4, [390, 6, 28, 16], Some(16.0 / 390.0))
    );
    assert_eq!(
        (rollup.from.as_str(), rollup.to.as_str()),
        ("1970-04-11", "1970-04-17")
    );
}

#[test]
fn a_pin_counts_in_each_of_its_categories_once() {
    let rollup = roll_up(&rows(), Dimension::Category, period(), &templates());
    assert_eq!(
        rollup.groups,
        vec![
            group(group::NO_CATEGORY, 1, [40, 3, 6, 8], Some(0.2)),
            // p1 and p4 (listed twice on p4's item, counted once).
            group("dinner", 2, [150, 3, 14, 6], Some(0.04)),
            group("soup", 1, [150, 3, 14, 6], Some(0.04)),
            group("dessert", 1, [200, 0, 8, 2], Some(0.01)),
        ]
    );
    // The total still counts every Pin once.
    assert_eq!(rollup.total.pins, 4);
    assert_eq!(rollup.total.impressions, 390);
}

#[test]
fn by_template_routes_with_the_same_text_share_a_group() {
    let rollup = roll_up(&rows(), Dimension::Template, period(), &templates());
    assert_eq!(
        rollup.groups,
        vec![
            group(
                "{{ title }} | {{ description }}",
                2,
                [350, 3, 22, 8],
                Some(8.0 / 350.0)
            ),
            group(
                "{{ title }} · {{ price }} | {{ description }}",
                1,
                [40, 3, 6, 8],
                Some(0.2)
            ),
            // No impressions: no rate, not NaN.
            group(group::UNKNOWN_ROUTE, 1, [0, 0, 0, 0], None),
        ]
    );
}

#[test]
fn by_board_and_by_route() {
    let rollup = roll_up(&rows(), Dimension::Board, period(), &templates());
    assert_eq!(
        rollup.groups,
        vec![
            group("Dinner", 2, [190, 6, 20, 14], Some(14.0 / 190.0)),
            group("Sweet", 1, [200, 0, 8, 2], Some(0.01)),
            group("Gifts", 1, [0, 0, 0, 0], None),
        ]
    );
    let rollup = roll_up(&rows(), Dimension::Route, period(), &templates());
    let keys: Vec<&str> = rollup.groups.iter().map(|g| g.key.as_str()).collect();
    assert_eq!(keys, ["products", "recipes", "desserts", "gone"]);
    assert_eq!(
        rollup.groups[1],
        group("recipes", 1, [150, 3, 14, 6], Some(0.04))
    );
}

#[test]
fn each_source_has_a_figure_for_every_day_of_the_period() {
    let rollup = roll_up(&rows(), Dimension::Source, period(), &templates());
    let blog = &rollup.series[0];
    assert_eq!(blog.source, "blog");
    let figures: Vec<(u64, u64)> = blog
        .days
        .iter()
        .map(|d| (d.impressions, d.outbound_clicks))
        .collect();
    assert_eq!(
        figures,
        [(100, 5), (250, 3), (0, 0), (0, 0), (0, 0), (0, 0), (0, 0)]
    );
    assert_eq!(blog.days[0].date, "1970-04-11");
    let shop = &rollup.series[1];
    assert_eq!(
        (shop.days[2].impressions, shop.days[2].outbound_clicks),
        (40, 8)
    );
    assert_eq!(rollup.series.len(), 2);
}

#[test]
fn no_rows_make_an_empty_rollup_without_a_rate() {
    let rollup = roll_up(&[], Dimension::Source, period(), &templates());
    assert!(rollup.groups.is_empty() && rollup.series.is_empty());
    assert_eq!(rollup.total, group("total", 0, [0, 0, 0, 0], None));
    assert!(table::text(&rollup).contains("No figures for this period"));
}

#[test]
fn periods_are_days_ending_today_or_date_pairs() {
    assert_eq!(
        Period::since("30d", 106).unwrap(),
        Period::new(77, 106).unwrap()
    );
    assert_eq!(Period::since("2w", 106).unwrap().days(), 14);
    assert_eq!(
        Period::since("1d", 106).unwrap(),
        Period::new(106, 106).unwrap()
    );
    for bad in ["0d", "30", "d", "30x", "-3d", ""] {
        assert!(Period::since(bad, 106).is_err(), "{bad}");
    }
    assert_eq!(Period::since("500d", 106), Err(PeriodError::TooLong(500)));
    assert_eq!(parse_date("2000-01-01").unwrap(), 10_957);
    assert_eq!(date_of(10_957), "2000-01-01");
    assert_eq!(date_of(parse_date("2026-12-07").unwrap()), "2026-12-07");
    assert!(parse_date("2026-13-01").is_err());
    let between = Period::from_query(None, Some("2000-01-01"), Some("2000-01-31"), 0).unwrap();
    assert_eq!((between.from_day, between.days()), (10_957, 31));
    assert!(matches!(
        Period::from_query(None, Some("2000-02-01"), Some("2000-01-31"), 0),
        Err(PeriodError::Backwards { .. })
    ));
    assert_eq!(
        Period::from_query(None, None, None, 106).unwrap().days(),
        30
    );
    assert_eq!("category".parse::<Dimension>(), Ok(Dimension::Category));
    assert!(
        "pin"
            .parse::<Dimension>()
            .unwrap_err()
            .contains("source, route")
    );
}

#[test]
fn the_table_aligns_figures_and_the_csv_quotes_keys() {
    let rollup = roll_up(&rows(), Dimension::Source, period(), &templates());
    let text = table::text(&rollup);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "Pin analytics by source, 1970-04-11 to 1970-04-17 (UTC)"
    );
    assert_eq!(
        lines[1],
        "source  pins  impressions  saves  pin clicks  outbound clicks     CTR"
    );
    assert_eq!(
        lines[2],
        "blog       2          350      3          22                8   2.29%"
    );
    assert!(lines[4].starts_with("-----"), "{text}");
    assert_eq!(
        lines[5],
        "total      4          390      6          28               16   4.10%"
    );
    let rollup = roll_up(&rows(), Dimension::Template, period(), &templates());
    let csv = table::csv(&rollup);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "template,pins,impressions,saves,pin_clicks,outbound_clicks,click_through_rate"
    );
    assert_eq!(
        lines[1],
        "{{ title }} | {{ description }},2,350,3,22,8,0.022857"
    );
    assert_eq!(lines[3], "(route not configured),1,0,0,0,0,");
    let mut quoted = rollup.clone();
    quoted.groups[0].key = "a, \"b\"".into();
    assert!(table::csv(&quoted).contains("\"a, \"\"b\"\"\",2,"));
}
