//! A roll-up as people and spreadsheets read it: an aligned text table with a total line, or
//! CSV (RFC 4180 quoting) with the rate as a fraction. `pinbridge report` and the demo print
//! these; JSON is the [`Rollup`] itself.

use super::group::{Group, Rollup};

const HEADERS: [&str; 6] = [
    "pins",
    "impressions",
    "saves",
    "pin clicks",
    "outbound clicks",
    "CTR",
];

/// The rate as a percentage with two decimals; `-` without impressions.
pub fn percent(rate: Option<f64>) -> String {
    rate.map_or_else(|| "-".to_string(), |r| format!("{:.2}%", r * 100.0))
}

fn cells(group: &Group) -> Vec<String> {
    vec![
        group.key.clone(),
        group.pins.to_string(),
        group.impressions.to_string(),
        group.saves.to_string(),
        group.pin_clicks.to_string(),
        group.outbound_clicks.to_string(),
        percent(group.click_through_rate),
    ]
}

/// The table, its period on the first line; figures right-aligned, one line per group and a
/// total line. No groups: a line saying there were no figures.
pub fn text(rollup: &Rollup) -> String {
    let mut out = format!(
        "Pin analytics by {}, {} to {} (UTC)\n",
        rollup.by.name(),
        rollup.from,
        rollup.to
    );
    if rollup.groups.is_empty() {
        out.push_str("No figures for this period: no Pin analytics were collected yet.\n");
        return out;
    }
    let mut header = vec![rollup.by.name().to_string()];
    header.extend(HEADERS.iter().map(|h| h.to_string()));
    let mut lines = vec![header];
    lines.extend(rollup.groups.iter().map(cells));
    lines.push(cells(&rollup.total));
    let widths: Vec<usize> = (0..lines[0].len())
        .map(|col| {
            lines
                .iter()
                .map(|l| l[col].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for (index, line) in lines.iter().enumerate() {
        if index == lines.len() - 1 {
            let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            out.push_str(&"-".repeat(rule));
            out.push('\n');
        }
        let mut text = String::new();
        for (col, cell) in line.iter().enumerate() {
            let pad = widths[col] - cell.chars().count();
            if col == 0 {
                text.push_str(cell);
                text.push_str(&" ".repeat(pad));
            } else {
                text.push_str("  ");
                text.push_str(&" ".repeat(pad));
                text.push_str(cell);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    }
    out
}

/// One CSV field: quoted when it holds a comma, a quote or a line break.
fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// CSV with a header line; the total is not a line (a sum a spreadsheet makes itself, and by
/// category it is not the sum of the lines). The rate is a fraction, empty without impressions.
pub fn csv(rollup: &Rollup) -> String {
    let mut out = format!(
        "{},pins,impressions,saves,pin_clicks,outbound_clicks,click_through_rate\n",
        rollup.by.name()
    );
    for g in &rollup.groups {
        let rate = g
            .click_through_rate
            .map_or_else(String::new, |r| format!("{r:.6}"));
        out.push_str(&format!(
            "{},{},{},{},{},{},{}\n",
            field(&g.key),
            g.pins,
            g.impressions,
            g.saves,
            g.pin_clicks,
            g.outbound_clicks,
            rate
        ));
    }
    out
}
