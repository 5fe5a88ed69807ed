//! Pin analytics as the service shows them, over rows written to the real sled store: the
//! admin API's roll-up (`GET /api/v1/analytics`), the status page's analytics card (plain
//! HTTP; `ops_browser_analytics` looks at it in Chromium) and the per-source gauges on
//! `/metrics`.

use serde_json::Value;

use crate::support::analytics::{day_of, pin_day, sample};
use crate::support::ops::{Server, T0, start};

async fn seeded() -> Server {
    let server = start(&["main"], true).await;
    server
        .store
        .record_pin_days(&sample(day_of(T0)))
        .await
        .unwrap();
    server
}

async fn json(server: &Server, path: &str) -> (u16, Value) {
    let answer = server.get(path).await;
    let status = answer.status().as_u16();
    (status, answer.json().await.unwrap())
}

#[tokio::test]
async fn the_api_rolls_up_the_last_30_days_by_source_by_default() {
    let server = seeded().await;
    let (status, body) = json(&server, "/api/v1/analytics").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["by"], "source");
    let groups = body["groups"].as_array().unwrap();
    let figures: Vec<(String, u64, u64, u64, u64, u64)> = groups
        .iter()
        .map(|g| {
            (
                g["key"].as_str().unwrap().to_string(),
                g["pins"].as_u64().unwrap(),
                g["impressions"].as_u64().unwrap(),
                g["saves"].as_u64().unwrap(),
                g["pin_clicks"].as_u64().unwrap(),
                g["outbound_clicks"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        figures,
        [
            ("blog".to_string(), 2, 400, 8, 27, 10),
            ("shop".to_string(), 1, 50, 2, 9, 5),
        ],
        "the row 40 days back is left out: {body}"
    );
    assert_eq!(groups[0]["click_through_rate"], 0.025);
    assert_eq!(groups[1]["click_through_rate"], 0.1);
    assert_eq!(body["total"]["pins"], 3);
    assert_eq!(body["total"]["outbound_clicks"], 15);
    // One series per source, a figure for each of the 30 days, today last.
    let blog = &body["series"][0];
    assert_eq!(blog["source"], "blog");
    let days = blog["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days[29]["impressions"], 120);
    assert_eq!(days[28]["outbound_clicks"], 2);
    assert_eq!(body["to"], days[29]["date"]);
}

#[tokio::test]
async fn the_api_groups_by_category_board_and_route_over_a_chosen_period() {
    let server = seeded().await;
    let (_, body) = json(&server, "/api/v1/analytics?by=category&since=7d").await;
    let keys: Vec<(&str, u64)> = body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| (g["key"].as_str().unwrap(), g["pins"].as_u64().unwrap()))
        .collect();
    // soup: p1 and p2 (8 outbound clicks); p3 has no category (5); dinner: p2 only (2).
    assert_eq!(keys, [("soup", 2), ("(none)", 1), ("dinner", 1)]);

    let (_, body) = json(&server, "/api/v1/analytics?by=board&since=1d").await;
    let board = &body["groups"][0];
    assert_eq!(
        (board["key"].as_str(), board["impressions"].as_u64()),
        (Some("Dinner"), Some(170))
    );
    assert_eq!(
        body["groups"].as_array().unwrap().len(),
        1,
        "only today's rows: {body}"
    );

    // Templates come from the routes in force; this server has no live configuration.
    let (_, body) = json(&server, "/api/v1/analytics?by=template").await;
    assert_eq!(body["groups"][0]["key"], "(route not configured)");

    let today = day_of(T0);
    let date = |day: i64| pinbridge::rollup::period::date_of(day);
    let path = format!(
        "/api/v1/analytics?by=route&from={}&to={}",
        date(today - 45),
        date(today - 35)
    );
    let (_, body) = json(&server, &path).await;
    assert_eq!(body["groups"][0]["key"], "routes[0]");
    assert_eq!(body["groups"][0]["impressions"], 9999);
}

#[tokio::test]
async fn bad_periods_and_groupings_are_refused_with_the_reason() {
    let server = seeded().await;
    for (query, says) in [
        ("by=pin", "cannot group by `pin`"),
        ("since=30", "not a period"),
        ("since=900d", "at most 400 days"),
        ("from=2026-02-30", "not a date"),
        (
            "from=2026-03-02&to=2026-03-01",
            "ends (2026-03-01) before it starts",
        ),
    ] {
        let (status, body) = json(&server, &format!("/api/v1/analytics?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(
            body["error"].as_str().unwrap().contains(says),
            "{query}: {body}"
        );
    }
    let anonymous = reqwest::get(format!("{}/api/v1/analytics", server.base))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[tokio::test]
async fn the_status_page_shows_a_chart_and_the_figures_per_source() {
    let server = seeded().await;
    let html = server.get("/").await.text().await.unwrap();
    let section = &html[html
        .find("id=analytics-section")
        .expect("the analytics card")..];
    let section = &section[..section.find("</section>").unwrap()];
    for source in ["blog", "shop"] {
        assert!(
            section.contains(&format!(
                "<figure class=analytics-chart data-source=\"{source}\"><svg"
            )),
            "a chart for {source}: {section}"
        );
    }
    let today = pinbridge::rollup::period::date_of(day_of(T0));
    assert!(
        section.contains(&format!(
            "<title>{today}: 120 impressions, 6 outbound clicks</title>"
        )),
        "{section}"
    );
    assert!(section.contains(
        "<tr data-source=\"blog\"><td>blog</td><td class=num>2</td><td class=num>400</td><td class=num>8</td><td class=num>27</td><td class=num>10</td><td class=num>2.50%</td></tr>"
    ), "{section}");
    assert!(
        section.contains("<td class=num>3.33%</td>"),
        "the total: {section}"
    );

    // A store without figures says what the card will show and draws no chart.
    let empty = start(&["main"], true).await;
    let html = empty.get("/").await.text().await.unwrap();
    assert!(html.contains("No Pin analytics yet"), "{html}");
    assert!(!html.contains("analytics-chart"));
}

/// A scrape's value of `name{source="…"}`.
fn gauge(text: &str, name: &str, source: &str) -> Option<f64> {
    let prefix = format!("{name}{{source=\"{source}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .map(|v| v.parse().unwrap())
}

#[tokio::test]
async fn metrics_carry_each_sources_figures_over_the_last_30_days() {
    // Source names of their own: the metrics recorder is shared by every test in the process.
    let server = start(&["main"], true).await;
    let today = day_of(T0);
    let rows = [
        pin_day("g1", "gauge-feed", "r", "B", &[], today, [70, 1, 4, 3]),
        pin_day("g2", "gauge-feed", "r", "B", &[], today - 29, [30, 2, 1, 1]),
        pin_day(
            "g2",
            "gauge-feed",
            "r",
            "B",
            &[],
            today - 30,
            [500, 5, 5, 5],
        ),
        pin_day("g3", "gauge-shop", "r", "B", &[], today - 3, [9, 0, 0, 0]),
    ];
    server.store.record_pin_days(&rows).await.unwrap();
    let text = server.get("/metrics").await.text().await.unwrap();
    let feed = |name: &str| gauge(&text, name, "gauge-feed");
    assert_eq!(
        feed("pinbridge_analytics_impressions"),
        Some(100.0),
        "{text}"
    );
    assert_eq!(feed("pinbridge_analytics_saves"), Some(3.0));
    assert_eq!(feed("pinbridge_analytics_pin_clicks"), Some(5.0));
    assert_eq!(feed("pinbridge_analytics_outbound_clicks"), Some(4.0));
    assert_eq!(feed("pinbridge_analytics_pins"), Some(2.0));
    assert_eq!(
        gauge(&text, "pinbridge_analytics_impressions", "gauge-shop"),
        Some(9.0)
    );
    assert!(
        text.contains("# HELP pinbridge_analytics_outbound_clicks "),
        "{text}"
    );

    // Within the refresh interval a scrape reuses the figures; after it they are read again,
    // and a source gone from the window drops to 0.
    let later = [pin_day(
        "g1",
        "gauge-feed",
        "r",
        "B",
        &[],
        today,
        [80, 1, 4, 3],
    )];
    server.store.record_pin_days(&later).await.unwrap();
    let text = server.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        gauge(&text, "pinbridge_analytics_impressions", "gauge-feed"),
        Some(100.0)
    );
    server.clock.advance_ms(27 * 86_400_000);
    let text = server.get("/metrics").await.text().await.unwrap();
    assert_eq!(
        gauge(&text, "pinbridge_analytics_impressions", "gauge-feed"),
        Some(80.0),
        "{text}"
    );
    assert_eq!(
        gauge(&text, "pinbridge_analytics_impressions", "gauge-shop"),
        Some(0.0),
        "{text}"
    );
}
