//! One source's Pin analytics per day as inline SVG: impressions as a shaded line on the left
//! axis, outbound clicks as a second line on their own scale (its top figure on the right),
//! since clicks are a small fraction of impressions and would lie flat on a shared axis (that
//! scale's top, [`clicks_top`], goes in the caption: inside the plot it would cover the lines).
//! Each day carries a hover title with both figures. Drawn with `chart.rs`'s frame and escaping.

use std::fmt::Write;

use super::chart::{BOTTOM, END, HEIGHT, LEFT, TOP, axis_top, empty, escape, frame, open, y_of};
use crate::rollup::SourceSeries;

/// The top of the outbound clicks' scale.
pub fn clicks_top(series: &SourceSeries) -> u64 {
    axis_top(
        series
            .days
            .iter()
            .map(|d| d.outbound_clicks)
            .max()
            .unwrap_or(0),
    )
}

/// The chart of `series`; a period without any impression or click says so instead.
pub fn daily(series: &SourceSeries) -> String {
    let label = format!("Impressions and outbound clicks per day, {}", series.source);
    let days = &series.days;
    let impressions: Vec<u64> = days.iter().map(|d| d.impressions).collect();
    let clicks: Vec<u64> = days.iter().map(|d| d.outbound_clicks).collect();
    let most_seen = impressions.iter().copied().max().unwrap_or(0);
    let most_clicked = clicks.iter().copied().max().unwrap_or(0);
    if most_seen == 0 && most_clicked == 0 {
        return empty(&label, "No impressions or clicks in this period");
    }
    let (first, last) = match (days.first(), days.last()) {
        (Some(first), Some(last)) => (first.date.as_str(), last.date.as_str()),
        _ => ("", ""),
    };
    let (seen_top, clicked_top) = (axis_top(most_seen), clicks_top(series));
    let mut svg = String::new();
    open(&mut svg, &label);
    frame(&mut svg, seen_top, first, last);
    let slot = (END - LEFT) / days.len() as f64;
    // Each day's point sits in the middle of its slot, so one day is drawn in the middle.
    let x_of = |i: usize| LEFT + slot * (i as f64 + 0.5);
    let points = |values: &[u64], top: u64| -> Vec<String> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i), y_of(*v, top)))
            .collect()
    };
    let seen = points(&impressions, seen_top);
    let clicked = points(&clicks, clicked_top);
    let base = HEIGHT - BOTTOM;
    let _ = write!(
        svg,
        "<polygon class=\"area\" points=\"{:.1},{base} {} {:.1},{base}\"/>\
         <polyline class=\"impressions\" points=\"{}\"/>\
         <polyline class=\"clicks\" points=\"{}\"/>",
        x_of(0),
        seen.join(" "),
        x_of(days.len() - 1),
        seen.join(" "),
        clicked.join(" "),
    );
    if let [only] = days.as_slice() {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"/>",
            x_of(0),
            y_of(only.impressions, seen_top)
        );
    }
    // Invisible hover targets, one per day: the figures behind the lines.
    for (i, day) in days.iter().enumerate() {
        let _ = write!(
            svg,
            "<rect class=\"day\" x=\"{:.1}\" y=\"{TOP}\" width=\"{slot:.1}\" height=\"{:.1}\">\
             <title>{}: {} impressions, {} outbound clicks</title></rect>",
            LEFT + slot * i as f64,
            base - TOP,
            escape(&day.date),
            day.impressions,
            day.outbound_clicks,
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::DayFigures;

    fn series(source: &str, figures: &[(u64, u64)]) -> SourceSeries {
        SourceSeries {
            source: source.into(),
            days: figures
                .iter()
                .enumerate()
                .map(|(i, (impressions, outbound_clicks))| DayFigures {
                    date: format!("2026-12-0{}", i + 1),
                    impressions: *impressions,
                    outbound_clicks: *outbound_clicks,
                })
                .collect(),
        }
    }

    #[test]
    fn both_lines_reach_their_own_top_and_each_day_says_its_figures() {
        let svg = daily(&series("blog", &[(0, 0), (100, 1), (40, 4)]));
        // Impressions top at 100, clicks at 5: the 100 reaches the plot's top on the left
        // scale; 4 clicks of 5 sit a fifth below it on theirs.
        assert!(svg.contains(">100</text>"), "{svg}");
        assert_eq!(clicks_top(&series("blog", &[(0, 0), (100, 1), (40, 4)])), 5);
        let top = format!("{TOP:.1}");
        let impressions = svg.split("class=\"impressions\" points=\"").nth(1).unwrap();
        assert!(
            impressions
                .split('"')
                .next()
                .unwrap()
                .contains(&format!(",{top} ")),
            "{svg}"
        );
        let clicks = svg
            .split("polyline class=\"clicks\" points=\"")
            .nth(1)
            .unwrap();
        let four = y_of(4, 5);
        assert!(
            clicks
                .split('"')
                .next()
                .unwrap()
                .ends_with(&format!(",{four:.1}")),
            "{svg}"
        );
        assert!(svg.contains("<title>2026-12-02: 100 impressions, 1 outbound clicks</title>"));
        assert_eq!(svg.matches("<rect class=\"day\"").count(), 3);
    }

    #[test]
    fn a_quiet_period_says_so_and_names_are_escaped() {
        let svg = daily(&series("<blog>", &[(0, 0), (0, 0)]));
        assert!(svg.contains("No impressions or clicks") && !svg.contains("<polyline"));
        assert!(
            svg.contains("&lt;blog&gt;") && !svg.contains("<blog>"),
            "{svg}"
        );
        let svg = daily(&series("one", &[(7, 0)]));
        assert!(svg.contains("<circle"), "one day is a dot: {svg}");
    }
}
