//! Pin analytics rows for the tests of the roll-up's views (report, admin API, status page,
//! metrics): written with `record_pin_days` into the real store, so those tests do not depend
//! on the collector. [`sample`] comes with its figures by source, computed by hand.

use pinbridge::item::{DedupKey, SourceId};
use pinbridge::store::{PinDay, PinMetrics};

/// One Pin's figures for one day: `[impressions, saves, pin clicks, outbound clicks]`.
pub fn pin_day(
    pin: &str,
    source: &str,
    route: &str,
    board: &str,
    categories: &[&str],
    day: i64,
    figures: [u64; 4],
) -> PinDay {
    let [impressions, saves, pin_clicks, outbound_clicks] = figures;
    PinDay {
        pin_id: pin.into(),
        account: "main".into(),
        source: SourceId::new(source),
        item: DedupKey(format!("guid:{pin}")),
        route: route.into(),
        board: board.into(),
        categories: categories.iter().map(|c| c.to_string()).collect(),
        day,
        metrics: PinMetrics {
            impressions,
            saves,
            pin_clicks,
            outbound_clicks,
            video_starts: 0,
        },
    }
}

/// Three Pins from two sources over the last three days before `today` (and one row 40 days
/// back, outside a 30-day period). By source over 30 days:
///
/// | source | Pins | impressions | saves | Pin clicks | outbound | CTR    |
/// |--------|------|-------------|-------|------------|----------|--------|
/// | blog   | 2    | 400         | 8     | 27         | 10       | 2.50%  |
/// | shop   | 1    | 50          | 2     | 9          | 5        | 10.00% |
/// | total  | 3    | 450         | 10    | 36         | 15       | 3.33%  |
///
/// Routes: blog's Pins are on `blog-recipes`, shop's on `routes[0]`. Boards: p1 and p3 on
/// `Dinner`, p2 on `Sweet`. Categories: p1 `soup`, p2 `soup` and `dinner`, p3 none.
pub fn sample(today: i64) -> Vec<PinDay> {
    vec![
        pin_day(
            "p1",
            "blog",
            "blog-recipes",
            "Dinner",
            &["soup"],
            today,
            [120, 3, 10, 6],
        ),
        pin_day(
            "p1",
            "blog",
            "blog-recipes",
            "Dinner",
            &["soup"],
            today - 1,
            [80, 1, 5, 2],
        ),
        pin_day(
            "p2",
            "blog",
            "blog-recipes",
            "Sweet",
            &["soup", "dinner"],
            today - 2,
            [200, 4, 12, 2],
        ),
        pin_day(
            "p3",
            "shop",
            "routes[0]",
            "Dinner",
            &[],
            today,
            [50, 2, 9, 5],
        ),
        pin_day(
            "p3",
            "shop",
            "routes[0]",
            "Dinner",
            &[],
            today - 40,
            [9999, 9999, 9999, 9999],
        ),
    ]
}

/// The UTC day of `ms`.
pub fn day_of(ms: i64) -> i64 {
    ms.div_euclid(86_400_000)
}
