//! Payload mappers: one per provider, each turning a verified delivery into an `Item` (or an
//! event to record and ignore), plus small helpers they share.

pub mod ghost;
pub mod shopify;
pub mod woocommerce;
pub mod wordpress;
pub mod wp_webhooks;

use axum::http::HeaderMap;
use serde_json::Value;

use super::fetch::{FetchError, MediaFetcher};
use super::json::FieldError;
use super::mapping::Mapping;
// In a leaf so that `mapping.rs`, which these mappers wrap, does not import them back.
pub use super::mapped::{Mapped, rfc3339_ms};
use super::settings::{Preset, WebhookSettings};
use crate::item::{Item, SourceId};

#[derive(Debug, thiserror::Error)]
pub enum MapError {
    /// The payload could not be read (400).
    #[error(transparent)]
    Field(#[from] FieldError),
    /// A header the mapping needs is missing (400).
    #[error("missing header {0}")]
    MissingHeader(&'static str),
    /// Looking up something the payload refers to failed (503: the sender should retry).
    #[error("featured image lookup failed: {0}")]
    Fetch(#[from] FetchError),
}

/// What a mapper reads.
#[derive(Clone, Copy, Debug)]
pub struct Input<'a> {
    pub source: &'a SourceId,
    pub headers: &'a HeaderMap,
    pub doc: &'a Value,
}

/// The mapper of one source.
#[derive(Clone, Debug)]
pub enum Mapper {
    Shopify(shopify::Shopify),
    Woocommerce,
    Ghost,
    WpWebhooks,
    Wordpress(wordpress::WordPress),
    Generic(Mapping),
}

impl Mapper {
    /// Build the mapper for validated settings. Errors only for settings that did not validate.
    pub fn from_settings(settings: &WebhookSettings) -> Result<Self, String> {
        Ok(match settings.preset {
            Preset::Shopify => Mapper::Shopify(shopify::Shopify::new(
                settings
                    .storefront_url
                    .as_deref()
                    .ok_or("storefront_url is required for preset shopify")?,
            )?),
            Preset::Woocommerce => Mapper::Woocommerce,
            Preset::Ghost => Mapper::Ghost,
            Preset::WpWebhooks => Mapper::WpWebhooks,
            Preset::Wordpress => Mapper::Wordpress(wordpress::WordPress::new(
                settings.site_url.as_deref(),
                settings.allow_private,
            )?),
            Preset::StandardWebhooks
            | Preset::Svix
            | Preset::Github
            | Preset::Stripe
            | Preset::Generic => Mapper::Generic(Mapping::new(
                settings.mapping.clone().ok_or("a mapping is required")?,
            )?),
        })
    }

    pub async fn map(
        &self,
        input: &Input<'_>,
        fetcher: &dyn MediaFetcher,
    ) -> Result<Mapped, MapError> {
        match self {
            Mapper::Shopify(m) => m.map(input),
            Mapper::Woocommerce => woocommerce::map(input),
            Mapper::Ghost => ghost::map(input),
            Mapper::WpWebhooks => wp_webhooks::map(input),
            Mapper::Wordpress(m) => m.map(input, fetcher).await,
            Mapper::Generic(m) => Ok(m.map(input.source, input.doc)?),
        }
    }
}

/// An RFC 3339 date-time as Unix milliseconds.
/// The delivery's topic (from `header`) when it is one of `topics`; otherwise the `Ignored`
/// answer that records it (2xx, nothing pinned).
pub(super) fn topic_or_ignored(
    input: &Input<'_>,
    header: &'static str,
    topics: &[&str],
) -> Result<Result<String, Mapped>, MapError> {
    let topic = crate::sources::webhook::verify::optional_header(input.headers, header)
        .ok_or(MapError::MissingHeader(header))?;
    if topics.contains(&topic.as_str()) {
        return Ok(Ok(topic));
    }
    let id = super::json::At::root(input.doc)
        .get("id")
        .opt_id()
        .ok()
        .flatten();
    Ok(Err(Mapped::Ignored {
        reason: format!(
            "topic {topic} is not handled (only {})",
            topics.join(" and ")
        ),
        reference: Some(match id {
            Some(id) => format!("{topic}:{id}"),
            None => topic,
        }),
    }))
}

/// A zone-less `2018-11-06 14:19:18` or `2018-11-06T14:19:18` taken as UTC (WordPress `*_gmt`).
pub fn naive_utc_ms(text: &str) -> Option<i64> {
    use time::macros::format_description;
    let text = text.trim();
    let t = time::PrimitiveDateTime::parse(
        text,
        format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"),
    )
    .or_else(|_| {
        time::PrimitiveDateTime::parse(
            text,
            format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]"),
        )
    })
    .ok()?;
    i64::try_from(t.assume_utc().unix_timestamp_nanos() / 1_000_000).ok()
}

/// The first `<img src>` in an HTML fragment (made absolute against `base`), with its alt text.
pub fn first_image(html: &str, base: Option<&str>) -> Option<(String, Option<String>)> {
    let fragment = scraper::Html::parse_fragment(html);
    let selector = scraper::Selector::parse("img[src]").ok()?;
    let img = fragment.select(&selector).next()?;
    let src = img.value().attr("src")?.trim();
    if src.is_empty() || src.starts_with("data:") {
        return None;
    }
    let absolute = match url::Url::parse(src) {
        Ok(url) => url,
        Err(_) => url::Url::parse(base?).ok()?.join(src).ok()?,
    };
    if !matches!(absolute.scheme(), "http" | "https") {
        return None;
    }
    let alt = img
        .value()
        .attr("alt")
        .map(str::trim)
        .filter(|a| !a.is_empty())
        .map(str::to_string);
    Some((absolute.to_string(), alt))
}

/// An item by its `status`: pinned when it is `published` (the sender's word for it); any
/// other status is unpublished (skipped, and Pins made while it was published follow the
/// routes' `on_delete`); no status at all is skipped.
pub(crate) fn by_status(item: Item, status: Option<&str>, published: &str) -> Mapped {
    match status {
        Some(s) if s == published => Mapped::item(item, None),
        Some(other) => Mapped::unpublished(item, format!("status is {other:?}, not {published:?}")),
        None => Mapped::item(item, Some("no status: not published".to_string())),
    }
}

/// `Some(s)` for a non-blank string.
pub(crate) fn non_empty(s: Option<&str>) -> Option<String> {
    s.map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_parse_to_millis() {
        assert_eq!(
            rfc3339_ms("2026-01-15T10:00:03.000Z"),
            Some(1_768_471_203_000)
        );
        assert_eq!(
            rfc3339_ms("2021-12-31T19:00:00-05:00"),
            Some(1_640_995_200_000)
        );
        assert_eq!(naive_utc_ms("2026-01-15 10:00:03"), Some(1_768_471_203_000));
        assert_eq!(naive_utc_ms("2026-01-15T10:00:03"), Some(1_768_471_203_000));
        assert_eq!(rfc3339_ms("yesterday"), None);
    }

    #[test]
    fn first_image_resolves_relative_sources() {
        let html = r#"<p>x</p><img src="/a.jpg" alt=" A "><img src="https://e.example/b.jpg">"#;
        assert_eq!(
            first_image(html, Some("https://blog.example/post/")),
            Some(("https://blog.example/a.jpg".into(), Some("A".into())))
        );
        assert_eq!(first_image(html, None), None);
        assert_eq!(first_image("<img src=\"javascript:x\">", None), None);
    }
}
