//! `image_from_page`: for an item with no image at all, the linked page's `og:image` (or
//! `twitter:image`, or `<link rel="image_src">`), fetched through the same guarded, capped
//! fetcher as the feed itself.

use url::Url;

use super::FeedSource;
use super::images::absolute;
use crate::ingest::context::KnownItems;
use crate::sources::poll::fetch::FetchOptions;

/// Pages are read only as far as their `<head>` matters; a page larger than this is cut off
/// (the fetch fails and the item simply stays without an image).
const MAX_PAGE_BYTES: u64 = 2 * 1024 * 1024;

/// At most this many pages are read per poll, so a feed with many image-less items cannot turn
/// one poll into hundreds of requests. The rest are tried on later polls only if still new.
pub const MAX_PAGES_PER_POLL: usize = 10;

impl FeedSource {
    /// The image the page at `link` advertises, if any. Failures are logged and give `None`.
    pub async fn image_from_page(&self, link: &str) -> Option<String> {
        let url = Url::parse(link).ok()?;
        let settings = self.settings();
        let opts = FetchOptions {
            accept: "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5",
            etag: None,
            last_modified: None,
            timeout: settings.timeout,
            connect_timeout: settings.connect_timeout,
            max_body_bytes: MAX_PAGE_BYTES.min(settings.max_body_bytes),
            user_agent: settings.user_agent.clone(),
            allow_private: settings.allow_private,
        };
        let response = match self.fetcher.get(&url, &opts).await {
            Ok(response) => response,
            Err(err) => {
                tracing::debug!(source = %self.id(), page = %crate::sources::poll::error::redact(&url), error = %err, "No image from the page.");
                return None;
            }
        };
        let base = response.url;
        let body = response.body;
        // scraper's document is not Send: parse off the async threads and return only the URL.
        tokio::task::spawn_blocking(move || meta_image(&String::from_utf8_lossy(&body), &base))
            .await
            .ok()
            .flatten()
    }
}

/// The advertised image of an HTML page, made absolute against `base`.
pub fn meta_image(html: &str, base: &Url) -> Option<String> {
    let doc = scraper::Html::parse_document(html);
    let candidates = [
        ("meta[property=\"og:image:secure_url\"]", "content"),
        ("meta[property=\"og:image\"]", "content"),
        ("meta[property=\"og:image:url\"]", "content"),
        ("meta[name=\"twitter:image\"]", "content"),
        ("meta[name=\"twitter:image:src\"]", "content"),
        ("link[rel=\"image_src\"]", "href"),
    ];
    candidates.iter().find_map(|(selector, attr)| {
        let selector = scraper::Selector::parse(selector).ok()?;
        doc.select(&selector)
            .find_map(|el| el.value().attr(attr).and_then(|v| absolute(v, base)))
    })
}

/// Give image-less items (from index `from` on: earlier ones are baseline and never pinned)
/// their page's image. A known item keeps the image it was recorded with, so its fingerprint
/// does not flip between "with page image" and "without" from poll to poll.
pub(crate) async fn fill_page_images<K: KnownItems + ?Sized>(
    source: &FeedSource,
    known: &K,
    items: &mut [crate::item::Item],
    from: usize,
) -> Result<(), crate::store::StoreError> {
    if !source.settings().image_from_page {
        return Ok(());
    }
    let mut fetched = 0;
    for item in items.iter_mut().skip(from) {
        if item.image_url.is_some() {
            continue;
        }
        let Some(link) = item.link.clone() else {
            continue;
        };
        if let Some(recorded) = known.known_item(source.id(), &item.key).await? {
            item.image_url = recorded.item.image_url;
            continue;
        }
        if fetched == MAX_PAGES_PER_POLL {
            continue;
        }
        fetched += 1;
        item.image_url = source.image_from_page(&link).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn og_image_then_twitter_then_image_src() {
        let base = Url::parse("https://site.example/posts/1").expect("url");
        let page = r#"<html><head><meta name="twitter:image" content="https://site.example/tw.jpg">
            <meta property="og:image" content="/og.jpg"></head></html>"#;
        assert_eq!(
            meta_image(page, &base).as_deref(),
            Some("https://site.example/og.jpg")
        );
        let page = r#"<html><head><link rel="image_src" href="img/src.png"></head></html>"#;
        assert_eq!(
            meta_image(page, &base).as_deref(),
            Some("https://site.example/posts/img/src.png")
        );
        assert_eq!(meta_image("<html><p>nothing</p></html>", &base), None);
        let page = r#"<meta property="og:image" content="javascript:alert(1)">"#;
        assert_eq!(meta_image(page, &base), None);
    }
}
