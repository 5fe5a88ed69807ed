//! The status page's templates (files beside this one, built into the binary) rendered with
//! minijinja, HTML auto-escaping on for every value: a source name, an error or a Pin title
//! can never add markup. Only the server-drawn charts are passed as markup.

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, Error, ErrorKind, Value, context};

use super::analytics::Card;
use super::chart;
use super::item::ItemPage;
use super::view::{DAY_MS, PIN_WINDOW, View};
use super::when;

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| AutoEscape::Html);
    // minijinja's own HTML escaping also writes `/` as `&#x2f;`: correct, but URLs in the
    // page source then read badly. Strings get the five escapes that matter in element content
    // and quoted attributes; everything else goes through minijinja's formatter.
    env.set_formatter(|out, state, value| match value.as_str() {
        Some(text) if !value.is_safe() && matches!(state.auto_escape(), AutoEscape::Html) => out
            .write_str(&chart::escape(text))
            .map_err(|_| Error::from(ErrorKind::WriteFailure)),
        _ => minijinja::escape_formatter(out, state, value),
    });
    env.add_filter("segment", path_segment);
    for (name, source) in [
        ("base.html", include_str!("templates/base.html")),
        ("style.css", include_str!("templates/style.css")),
        ("login.html", include_str!("templates/login.html")),
        ("page.html", include_str!("templates/page.html")),
        ("item.html", include_str!("templates/item.html")),
        ("missing.html", include_str!("templates/missing.html")),
    ] {
        // The templates are part of the binary; a broken one fails the unit tests below.
        if let Err(e) = env.add_template(name, source) {
            tracing::error!(template = name, error = %e, "Status page template does not parse.");
        }
    }
    env
}

/// `text` as one URL path segment: everything but letters, digits and `-._~` percent-encoded
/// (minijinja's `urlencode` keeps `/`, which would split an account name into segments).
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn render(name: &str, values: Value) -> String {
    environment()
        .get_template(name)
        .and_then(|template| template.render(values))
        .unwrap_or_else(|e| {
            tracing::error!(template = name, error = %e, "Status page did not render.");
            "<!doctype html><title>pinbridge</title><p>The status page could not be rendered; \
             see the log."
                .into()
        })
}

/// The page for a visitor who has not signed in: the sign-in form only.
pub fn login() -> String {
    render("login.html", context! {})
}

/// One item's Pins and what became of them.
pub fn item(page: &ItemPage) -> String {
    render("item.html", context! { item => Value::from(Serde(page)) })
}

/// The answer for an item the store does not hold.
pub fn missing(source: &str, key: &str) -> String {
    render("missing.html", context! { source => source, key => key })
}

/// The signed-in page.
pub fn page(view: &View, analytics: &Card) -> String {
    let now = view.now_ms;
    let hour_names: Vec<String> = (0..24)
        .map(|i| when::clock_time(now - (23 - i) * 3_600_000, now))
        .map(|at| format!("hour to {at}"))
        .collect();
    let pins_chart = chart::bars(
        "Pins made per hour, last 24 hours",
        &view.pins_per_hour,
        &hour_names,
        ("24 h ago", "now"),
        "No Pins made in the last 24 hours",
    );
    let backlog_chart = chart::line(
        "Backlog over the last day",
        &view.backlog_samples,
        (now - DAY_MS, now),
        ("24 h ago", "now"),
        "No samples yet",
    );
    render(
        "page.html",
        context! {
            view => Value::from(Serde(view)),
            window => PIN_WINDOW,
            pins_chart => Value::from_safe_string(pins_chart),
            backlog_chart => Value::from_safe_string(backlog_chart),
            analytics => Value::from(Serde(analytics)),
            analytics_charts => analytics
                .charts
                .iter()
                .map(|(source, svg, clicks_top)| context! {
                    source => source,
                    svg => Value::from_safe_string(svg.clone()),
                    clicks_top => clicks_top,
                })
                .collect::<Vec<Value>>(),
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let env = environment();
        for name in [
            "base.html",
            "style.css",
            "login.html",
            "page.html",
            "item.html",
            "missing.html",
        ] {
            assert!(env.get_template(name).is_ok(), "{name}");
        }
        let html = login();
        assert!(
            html.contains("id=login") && html.contains("action=/ui/login"),
            "{html}"
        );
    }

    #[test]
    fn a_path_segment_keeps_plain_names_and_encodes_the_rest() {
        assert_eq!(path_segment("main-2.x_y~"), "main-2.x_y~");
        assert_eq!(path_segment("a/b c\"<"), "a%2Fb%20c%22%3C");
        assert_eq!(path_segment("é"), "%C3%A9");
    }

    #[test]
    fn values_are_escaped_and_charts_are_not() {
        let mut env = environment();
        env.add_template("t", "<p title=\"{{ a }}\">{{ a }}</p>{{ b }}{{ n }}")
            .unwrap();
        let html = env
            .get_template("t")
            .unwrap()
            .render(context! {
                a => "<x> & \"'/",
                b => Value::from_safe_string("<svg/>".into()),
                n => 3,
            })
            .unwrap();
        let text = "&lt;x&gt; &amp; &quot;&#39;/";
        assert_eq!(html, format!("<p title=\"{text}\">{text}</p><svg/>3"));
    }
}
