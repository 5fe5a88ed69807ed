//! A WordPress REST post (`/wp/v2/posts/<id>` shape) → `Item` keyed by post id.
//!
//! The featured image is `_embedded["wp:featuredmedia"][0].source_url` when the sender embedded
//! it, otherwise it is looked up at `{site}/wp-json/wp/v2/media/{featured_media}` through the
//! injected [`MediaFetcher`].

use url::Url;

use super::{Input, MapError, Mapped, by_status, naive_utc_ms, non_empty};
use crate::item::{DedupKey, Item};
use crate::sources::webhook::fetch::MediaFetcher;
use crate::sources::webhook::json::At;

#[derive(Clone, Debug)]
pub struct WordPress {
    site: Option<Url>,
    /// The source's `allow_private`: whether the lookup may reach loopback or private addresses.
    allow_private: bool,
}

impl WordPress {
    pub fn new(site_url: Option<&str>, allow_private: bool) -> Result<Self, String> {
        let site = site_url
            .map(|s| Url::parse(s.trim()).map_err(|e| format!("site_url is not a URL: {e}")))
            .transpose()?;
        Ok(Self {
            site,
            allow_private,
        })
    }

    pub async fn map(
        &self,
        input: &Input<'_>,
        fetcher: &dyn MediaFetcher,
    ) -> Result<Mapped, MapError> {
        let (mut item, status, media_id) = read(input)?;
        // Drafts are recorded without a lookup: no request for something that will not be pinned.
        if item.image_url.is_none() && status.as_deref() == Some("publish") {
            let url = media_id.and_then(|id| self.media_url(item.link.as_deref(), id));
            if let Some(url) = url
                && let Some(doc) = fetcher.get_json(&url, self.allow_private).await?
            {
                let media = At::root(&doc);
                item.image_url = media
                    .get("source_url")
                    .opt_text()
                    .ok()
                    .flatten()
                    .map(str::to_string);
                item.image_alt = non_empty(media.get("alt_text").opt_str().ok().flatten());
            }
        }
        // Trashed, draft, private: skipped, and Pins made while it was published follow the
        // routes' `on_delete`.
        Ok(by_status(item, status.as_deref(), "publish"))
    }

    /// `{site}/wp-json/wp/v2/media/{id}`; the site is `site_url`, else the post link's origin.
    fn media_url(&self, link: Option<&str>, id: u64) -> Option<Url> {
        let mut site = match &self.site {
            Some(site) => site.clone(),
            None => {
                let link = Url::parse(link?).ok()?;
                Url::parse(&link.origin().ascii_serialization()).ok()?
            }
        };
        if !matches!(site.scheme(), "http" | "https") {
            return None;
        }
        if !site.path().ends_with('/') {
            let path = format!("{}/", site.path());
            site.set_path(&path);
        }
        site.join(&format!("wp-json/wp/v2/media/{id}")).ok()
    }
}

/// The item, its status, and the attachment id still to look up.
fn read(input: &Input<'_>) -> Result<(Item, Option<String>, Option<u64>), MapError> {
    let root = At::root(input.doc);
    let id = root.get("id").req_id()?;
    let mut item = Item::new(input.source.clone(), DedupKey::new("post", &id));
    item.title = root.get("title").get("rendered").req_str()?.to_string();
    item.description = root
        .get("excerpt")
        .get("rendered")
        .opt_str()?
        .unwrap_or("")
        .to_string();
    item.link = root.get("link").opt_text()?.map(str::to_string);
    let embedded = root.get("_embedded").get("wp:featuredmedia").index(0);
    item.image_url = embedded.get("source_url").opt_text()?.map(str::to_string);
    item.image_alt = non_empty(embedded.get("alt_text").opt_str()?);
    // Terms are only names when embedded (`_embedded["wp:term"]`: one list per taxonomy).
    let terms = root.get("_embedded").get("wp:term");
    for t in 0..terms.opt_array()?.len() {
        let taxonomy = terms.index(t);
        for i in 0..taxonomy.opt_array()?.len() {
            if let Some(name) = taxonomy.index(i).get("name").opt_text()? {
                item.categories.push(name.to_string());
            }
        }
    }
    item.published_ms = root.get("date_gmt").opt_str()?.and_then(naive_utc_ms);
    item.updated_ms = root.get("modified_gmt").opt_str()?.and_then(naive_utc_ms);
    let media_id = root
        .get("featured_media")
        .value()
        .and_then(|v| v.as_u64())
        .filter(|id| *id > 0);
    let status = root.get("status").opt_str()?.map(str::to_string);
    Ok((item, status, media_id))
}
