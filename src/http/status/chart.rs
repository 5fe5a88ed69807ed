//! Small charts as inline SVG, drawn on the server (the page runs no scripts): a bar chart
//! (Pins made per hour) and a line over time (the backlog); `daily_chart.rs` draws the
//! analytics chart with these parts. The SVG scales to its box through
//! its `viewBox`, so it fits a phone as well as a desktop.

use std::fmt::Write;

use crate::clock::Millis;

pub(super) const WIDTH: f64 = 480.0;
pub(super) const HEIGHT: f64 = 140.0;
/// Room for the y-axis figure on the left and the time labels below.
pub(super) const LEFT: f64 = 36.0;
pub(super) const BOTTOM: f64 = 18.0;
pub(super) const TOP: f64 = 8.0;
/// Room on the right, so a point at "now" is drawn whole.
const RIGHT: f64 = 6.0;
/// Where the plot ends on the right.
pub(super) const END: f64 = WIDTH - RIGHT;

/// The top of the y axis for data whose largest value is `max`: the next 1, 2 or 5 times a
/// power of ten, so the axis reads as a round number (and never 0, so empty data draws flat).
pub fn axis_top(max: u64) -> u64 {
    let mut step = 1u64;
    loop {
        for top in [step, step.saturating_mul(2), step.saturating_mul(5)] {
            if top >= max {
                return top;
            }
        }
        if step > u64::MAX / 10 {
            return u64::MAX;
        }
        step *= 10;
    }
}

/// Text made safe inside SVG/HTML markup (in element content and quoted attributes).
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn plot_height() -> f64 {
    HEIGHT - BOTTOM - TOP
}

/// The y coordinate of `value` on an axis topped at `top`.
pub(super) fn y_of(value: u64, top: u64) -> f64 {
    TOP + plot_height() * (1.0 - value as f64 / top.max(1) as f64)
}

pub(super) fn open(svg: &mut String, label: &str) {
    let label = escape(label);
    let _ = write!(
        svg,
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{label}\">\
         <title>{label}</title>"
    );
}

/// Axis lines, the top figure and the two end labels under the plot.
pub(super) fn frame(svg: &mut String, top: u64, first: &str, last: &str) {
    let base = HEIGHT - BOTTOM;
    let _ = write!(
        svg,
        "<line class=\"axis\" x1=\"{LEFT}\" y1=\"{base}\" x2=\"{END}\" y2=\"{base}\"/>\
         <line class=\"grid\" x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{END}\" y2=\"{TOP}\"/>\
         <text x=\"{x}\" y=\"{ty}\" text-anchor=\"end\">{top}</text>\
         <text x=\"{x}\" y=\"{base}\" text-anchor=\"end\">0</text>\
         <text x=\"{LEFT}\" y=\"{HEIGHT}\">{first}</text>\
         <text x=\"{END}\" y=\"{HEIGHT}\" text-anchor=\"end\">{last}</text>",
        x = LEFT - 4.0,
        ty = TOP + 8.0,
        first = escape(first),
        last = escape(last),
    );
}

pub(super) fn empty(label: &str, message: &str) -> String {
    let mut svg = String::new();
    open(&mut svg, label);
    let _ = write!(
        svg,
        "<text class=\"empty\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text></svg>",
        WIDTH / 2.0,
        HEIGHT / 2.0,
        escape(message)
    );
    svg
}

/// One bar per value, left to right (oldest first); each bar says its value when hovered.
/// `names` label the bars' tooltips (same length as `values`); `first` and `last` go under the
/// ends of the axis. All zero or no values: the chart says `nothing`.
pub fn bars(
    label: &str,
    values: &[u64],
    names: &[String],
    ends: (&str, &str),
    nothing: &str,
) -> String {
    let max = values.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return empty(label, nothing);
    }
    let top = axis_top(max);
    let mut svg = String::new();
    open(&mut svg, label);
    frame(&mut svg, top, ends.0, ends.1);
    let slot = (END - LEFT) / values.len() as f64;
    for (i, value) in values.iter().enumerate() {
        let y = y_of(*value, top);
        let name = names.get(i).map(String::as_str).unwrap_or("");
        let _ = write!(
            svg,
            "<rect x=\"{:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\"><title>{}: {value}</title></rect>",
            LEFT + slot * i as f64 + slot * 0.1,
            slot * 0.8,
            HEIGHT - BOTTOM - y,
            escape(name),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line through `points` (time, value) over the window `from..=to`, with the area under it
/// shaded. No points: the chart says `nothing`; one point draws a dot.
pub fn line(
    label: &str,
    points: &[(Millis, u64)],
    window: (Millis, Millis),
    ends: (&str, &str),
    nothing: &str,
) -> String {
    let (from, to) = window;
    let inside: Vec<(Millis, u64)> = points
        .iter()
        .copied()
        .filter(|(at, _)| *at >= from && *at <= to)
        .collect();
    if inside.is_empty() {
        return empty(label, nothing);
    }
    let top = axis_top(inside.iter().map(|(_, v)| *v).max().unwrap_or(0));
    let span = (to - from).max(1) as f64;
    let x_of = |at: Millis| LEFT + (END - LEFT) * (at - from) as f64 / span;
    let mut svg = String::new();
    open(&mut svg, label);
    frame(&mut svg, top, ends.0, ends.1);
    let path: Vec<String> = inside
        .iter()
        .map(|(at, v)| format!("{:.1},{:.1}", x_of(*at), y_of(*v, top)))
        .collect();
    if let [only] = inside.as_slice() {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{}</title></circle>",
            x_of(only.0),
            y_of(only.1, top),
            only.1
        );
    } else {
        let base = HEIGHT - BOTTOM;
        let (first, last) = (x_of(inside[0].0), x_of(inside[inside.len() - 1].0));
        let _ = write!(
            svg,
            "<polygon class=\"area\" points=\"{first:.1},{base} {} {last:.1},{base}\"/>\
             <polyline points=\"{}\"/>",
            path.join(" "),
            path.join(" ")
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_axis_tops_at_a_round_number_at_or_above_the_largest_value() {
        assert_eq!(axis_top(0), 1);
        assert_eq!(axis_top(1), 1);
        assert_eq!(axis_top(3), 5);
        assert_eq!(axis_top(7), 10);
        assert_eq!(axis_top(11), 20);
        assert_eq!(axis_top(48_664), 50_000);
        assert_eq!(axis_top(u64::MAX), u64::MAX);
    }

    #[test]
    fn the_tallest_bar_reaches_the_scale_and_a_zero_bar_is_flat() {
        let names = vec!["a".to_string(), "b".to_string()];
        let svg = bars("pins", &[0, 10], &names, ("-24 h", "now"), "none");
        // Top at 10: the 10 bar starts at the plot's top and fills its height.
        let full = plot_height();
        assert!(svg.contains(&format!("y=\"{TOP:.1}\" width")), "{svg}");
        assert!(svg.contains(&format!("height=\"{full:.1}\"")), "{svg}");
        assert!(svg.contains("height=\"0.0\""), "{svg}");
        assert!(svg.contains("<title>b: 10</title>"), "{svg}");
        assert!(svg.contains(">10</text>"), "the axis says its top: {svg}");
    }

    #[test]
    fn no_data_draws_a_message_instead_of_a_chart() {
        let svg = bars("pins", &[], &[], ("", ""), "No Pins in the last 24 hours");
        assert!(svg.contains("No Pins in the last 24 hours") && !svg.contains("<rect"));
        let svg = bars("pins", &[0, 0, 0], &[], ("", ""), "nothing");
        assert!(svg.contains("nothing") && !svg.contains("<rect"));
        let svg = line("backlog", &[], (0, 10), ("", ""), "no samples yet");
        assert!(svg.contains("no samples yet") && !svg.contains("<polyline"));
        // Points outside the window are not drawn.
        let svg = line("backlog", &[(50, 3)], (0, 10), ("", ""), "no samples yet");
        assert!(svg.contains("no samples yet"), "{svg}");
    }

    #[test]
    fn one_point_is_a_dot_and_more_are_a_line_scaled_over_the_window() {
        let svg = line("backlog", &[(5, 4)], (0, 10), ("", ""), "none");
        assert!(
            svg.contains("<circle") && !svg.contains("<polyline"),
            "{svg}"
        );
        let svg = line("backlog", &[(0, 0), (10, 5)], (0, 10), ("", ""), "none");
        let base = HEIGHT - BOTTOM;
        assert!(
            svg.contains(&format!("points=\"{LEFT:.1},{base:.1} {END:.1},{TOP:.1}\"")),
            "from the bottom-left to the top-right: {svg}"
        );
    }

    #[test]
    fn labels_are_escaped() {
        let names = vec!["<script>".to_string()];
        let svg = bars("a \"b\" <c>", &[1], &names, ("<x>", "&y"), "none");
        assert!(!svg.contains("<script>") && !svg.contains("<c>") && !svg.contains("<x>"));
        assert!(svg.contains("&lt;script&gt;") && svg.contains("&quot;b&quot;"));
        assert!(svg.contains("&amp;y"));
        let svg = line("<l>", &[], (0, 1), ("", ""), "<none>");
        assert!(!svg.contains("<l>") && svg.contains("&lt;none&gt;"));
    }
}
