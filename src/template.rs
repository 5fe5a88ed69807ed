//! Pin fields from item fields: minijinja templates per route, HTML stripped, cut to the API's
//! limits on a character boundary.

use std::collections::BTreeMap;

use minijinja::{Environment, Value};

use crate::item::Item;

/// Pinterest's limits (PinCreate in the official OpenAPI description), in characters.
pub const TITLE_MAX: usize = 100;
pub const DESCRIPTION_MAX: usize = 800;
pub const ALT_TEXT_MAX: usize = 500;
pub const LINK_MAX: usize = 2048;

/// Instructions (and, at about 64 bytes each, memory) one render may use. A real Pin template
/// uses a few hundred; a runtime route's template comes from the admin API and must not be
/// able to spin or grow forever inside a sync worker.
const FUEL: u64 = 50_000;
/// Nesting of macro calls and includes: enough for any real template, far below a stack overflow.
const RECURSION_LIMIT: usize = 32;
/// The longest template source accepted (a Pin description is 800 characters).
const TEMPLATE_MAX_BYTES: usize = 16 * 1024;

const DEFAULT_TITLE: &str = "{{ title }}";
const DEFAULT_DESCRIPTION: &str = "{{ description }}";
const DEFAULT_LINK: &str = "{{ link }}";
const DEFAULT_ALT_TEXT: &str = "{{ image_alt or title }}";

/// The rendered text fields of a Pin.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PinText {
    pub title: Option<String>,
    pub description: Option<String>,
    pub link: Option<String>,
    pub alt_text: Option<String>,
}

/// A route's compiled templates.
#[derive(Debug)]
pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compile templates from their sources (`None`: the default); on failure, the key and a
    /// readable message. A route's templates: `RouteConfig::templates`.
    pub fn from_sources(
        title: Option<&str>,
        description: Option<&str>,
        link: Option<&str>,
        alt_text: Option<&str>,
    ) -> Result<Templates, (&'static str, String)> {
        let mut env = Environment::new();
        // Pin fields are plain text: escaping would turn "&" into "&amp;" on Pinterest.
        env.set_auto_escape_callback(|_| minijinja::AutoEscape::None);
        env.set_fuel(Some(FUEL));
        env.set_recursion_limit(RECURSION_LIMIT);
        for (key, source, default) in [
            ("title", title, DEFAULT_TITLE),
            ("description", description, DEFAULT_DESCRIPTION),
            ("link", link, DEFAULT_LINK),
            ("alt_text", alt_text, DEFAULT_ALT_TEXT),
        ] {
            let source = source.unwrap_or(default);
            if source.len() > TEMPLATE_MAX_BYTES {
                return Err((
                    key,
                    format!(
                        "the template is {} bytes; keep it under {TEMPLATE_MAX_BYTES}",
                        source.len()
                    ),
                ));
            }
            env.add_template_owned(key, source.to_string())
                .map_err(|e| (key, format!("not a valid template: {e}")))?;
        }
        Ok(Templates { env })
    }

    /// Render the Pin's text fields for `item`.
    pub fn render(&self, item: &Item) -> Result<PinText, String> {
        let ctx = item_context(item);
        let render = |name: &str| -> Result<String, String> {
            self.env
                .get_template(name)
                .and_then(|t| t.render(&ctx))
                .map_err(|e| format!("template `{name}` failed: {e}"))
        };
        let title = cut(&plain_text(&render("title")?), TITLE_MAX);
        let description = cut(&plain_text(&render("description")?), DESCRIPTION_MAX);
        let alt_text = cut(&plain_text(&render("alt_text")?), ALT_TEXT_MAX);
        let link = render("link")?.trim().to_string();
        Ok(PinText {
            title: non_empty(title),
            description: non_empty(description),
            // A cut URL points somewhere else: a link over the limit is left off instead.
            link: non_empty(link).filter(|l| l.chars().count() <= LINK_MAX),
            alt_text: non_empty(alt_text),
        })
    }
}

fn non_empty(s: String) -> Option<String> {
    if s.is_empty() { None } else { Some(s) }
}

fn item_context(item: &Item) -> Value {
    let published = item.published_ms.and_then(|ms| {
        time::OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
    });
    let opt = |v: &Option<String>| v.clone().map(Value::from).unwrap_or(Value::UNDEFINED);
    // Extra fields (price, vendor, …) first, so the standard names always win.
    let mut ctx: BTreeMap<String, Value> = item
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    let fields: BTreeMap<String, Value> = item
        .fields
        .iter()
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    ctx.insert("fields".into(), Value::from(fields));
    ctx.insert("title".into(), Value::from(item.title.clone()));
    ctx.insert("description".into(), Value::from(item.description.clone()));
    ctx.insert("link".into(), opt(&item.link));
    ctx.insert("image_url".into(), opt(&item.image_url));
    ctx.insert("image_alt".into(), opt(&item.image_alt));
    ctx.insert("categories".into(), Value::from(item.categories.clone()));
    ctx.insert("tags".into(), Value::from(item.categories.join(", ")));
    ctx.insert("source".into(), Value::from(item.source.as_str()));
    ctx.insert("key".into(), Value::from(item.key.as_str()));
    ctx.insert("published".into(), opt(&published));
    Value::from(ctx)
}

/// Text without HTML tags, entities decoded, whitespace collapsed.
pub fn plain_text(input: &str) -> String {
    let text: String = if input.contains('<') || input.contains('&') {
        let fragment = scraper::Html::parse_fragment(input);
        let mut out = String::new();
        for node in fragment.root_element().descendants() {
            if let Some(text) = node.value().as_text() {
                out.push_str(text);
            } else if let Some(element) = node.value().as_element() {
                // Block elements separate words that the markup kept apart.
                if matches!(
                    element.name(),
                    "p" | "br" | "div" | "li" | "h1" | "h2" | "h3" | "h4"
                ) {
                    out.push(' ');
                }
            }
        }
        out
    } else {
        input.to_string()
    };
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Cut to at most `max` characters, on a character boundary, ending in "…" when cut.
pub fn cut(input: &str, max: usize) -> String {
    if input.chars().count() <= max {
        return input.to_string();
    }
    let kept: String = input.chars().take(max.saturating_sub(1)).collect();
    // Prefer to end at a word boundary when one is near.
    let trimmed = match kept.rfind(' ') {
        Some(pos) if kept[..pos].chars().count() + 20 >= max => kept[..pos].to_string(),
        _ => kept,
    };
    format!("{}…", trimmed.trim_end())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::item::{DedupKey, SourceId};

    fn item() -> Item {
        let mut item = Item::new(SourceId::new("shop"), DedupKey::new("product", "1"));
        item.title = "Lemon &amp; <b>Cake</b>".into();
        item.description = "<p>Bright.</p><p>Moist&nbsp;crumb.</p>".into();
        item.link = Some("https://example.com/p/1".into());
        item.image_url = Some("https://example.com/1.jpg".into());
        item.fields.insert("price".into(), "12.00".into());
        item
    }

    #[test]
    fn defaults_strip_html_and_decode_entities() {
        let t = Templates::from_sources(None, None, None, None).unwrap();
        let text = t.render(&item()).unwrap();
        assert_eq!(text.title.as_deref(), Some("Lemon & Cake"));
        assert_eq!(text.description.as_deref(), Some("Bright. Moist crumb."));
        assert_eq!(text.link.as_deref(), Some("https://example.com/p/1"));
        assert_eq!(text.alt_text.as_deref(), Some("Lemon & Cake"));
    }

    #[test]
    fn custom_templates_see_extra_fields() {
        let t =
            Templates::from_sources(Some("{{ title }} – ${{ price }}"), None, None, None).unwrap();
        assert_eq!(
            t.render(&item()).unwrap().title.as_deref(),
            Some("Lemon & Cake – $12.00")
        );
    }

    #[test]
    fn cuts_on_a_character_boundary_within_the_limit() {
        let long = "é".repeat(150);
        let out = cut(&long, TITLE_MAX);
        assert_eq!(out.chars().count(), TITLE_MAX);
        assert!(out.ends_with('…'));
        let mut big = item();
        big.description = "word ".repeat(400);
        let t = Templates::from_sources(None, None, None, None).unwrap();
        let d = t.render(&big).unwrap().description.unwrap();
        assert!(d.chars().count() <= DESCRIPTION_MAX);
    }

    #[test]
    fn an_overlong_link_is_left_off_not_cut() {
        let mut it = item();
        it.link = Some(format!("https://example.com/{}", "a".repeat(3000)));
        let t = Templates::from_sources(None, None, None, None).unwrap();
        assert_eq!(t.render(&it).unwrap().link, None);
    }

    #[test]
    fn a_template_that_would_loop_for_ages_runs_out_of_fuel() {
        // 10^15 iterations without a budget: the render would never return.
        let looping = "{% for a in range(100000) %}{% for b in range(100000) %}\
                       {% for c in range(100000) %}x{% endfor %}{% endfor %}{% endfor %}";
        let t = Templates::from_sources(Some(looping), None, None, None).unwrap();
        let err = t.render(&item()).unwrap_err();
        assert!(err.contains("template `title` failed"), "{err}");
        assert!(err.contains("fuel"), "{err}");
    }

    #[test]
    fn endless_recursion_and_huge_templates_are_refused() {
        let recursive = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}";
        let t = Templates::from_sources(None, Some(recursive), None, None).unwrap();
        let err = t.render(&item()).unwrap_err();
        assert!(err.contains("template `description` failed"), "{err}");
        let huge = "x".repeat(TEMPLATE_MAX_BYTES + 1);
        let err = Templates::from_sources(None, None, Some(&huge), None).unwrap_err();
        assert_eq!(err.0, "link");
        assert!(err.1.contains("keep it under"), "{}", err.1);
    }

    #[test]
    fn a_broken_template_is_reported_with_its_key() {
        let err = Templates::from_sources(Some("{{ title"), None, None, None).unwrap_err();
        assert_eq!(err.0, "title");
    }
}
