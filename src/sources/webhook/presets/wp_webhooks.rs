//! The WP Webhooks plugin's `post_create` / `post_update` payload → `Item` keyed by post id,
//! only for `post_status = publish`.

use super::{Input, MapError, Mapped, naive_utc_ms};
use crate::item::{DedupKey, Item};
use crate::sources::webhook::json::At;

pub fn map(input: &Input<'_>) -> Result<Mapped, MapError> {
    let root = At::root(input.doc);
    let post = root.get("post");
    let id = match root.get("post_id").opt_id()? {
        Some(id) => id,
        None => post.get("ID").req_id()?,
    };
    let mut item = Item::new(input.source.clone(), DedupKey::new("post", &id));
    item.title = post.get("post_title").req_str()?.to_string();
    item.description = match post.get("post_excerpt").opt_text()? {
        Some(excerpt) => excerpt.to_string(),
        None => post
            .get("post_content")
            .opt_str()?
            .unwrap_or("")
            .to_string(),
    };
    item.link = root.get("post_permalink").opt_text()?.map(str::to_string);
    // The plugin sends `false` when the post has no thumbnail.
    item.image_url = root.get("post_thumbnail").opt_text()?.map(str::to_string);
    // taxonomies: { category: { slug: { name, … } }, post_tag: { … } }; PHP sends [] when empty.
    if let Some(taxonomies) = root.get("taxonomies").value().and_then(|v| v.as_object()) {
        for terms in taxonomies.values().filter_map(|t| t.as_object()) {
            for term in terms.values() {
                if let Some(name) = term.get("name").and_then(|n| n.as_str()) {
                    item.categories.push(name.to_string());
                }
            }
        }
    }
    item.published_ms = post.get("post_date_gmt").opt_str()?.and_then(naive_utc_ms);
    item.updated_ms = post
        .get("post_modified_gmt")
        .opt_str()?
        .and_then(naive_utc_ms);
    let skip = match post.get("post_status").opt_str()? {
        Some("publish") => None,
        Some(other) => Some(format!("post_status is {other:?}, not \"publish\"")),
        None => Some("no post_status: not published".to_string()),
    };
    Ok(Mapped::item(item, skip))
}
