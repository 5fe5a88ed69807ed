//! Ghost `post.published` → `Item` keyed by post id. The image is `feature_image`, else the
//! first `<img>` in the post's HTML. Only `status = published` posts become Pins; a post no
//! longer published (`post.unpublished`) and a deleted one (`post.deleted`: an empty
//! `current`, the post in `previous`) are removed (their Pins follow the routes' `on_delete`).

use super::{Input, MapError, Mapped, by_status, first_image, non_empty, rfc3339_ms};
use crate::item::{DedupKey, Item};
use crate::sources::webhook::json::At;

pub fn map(input: &Input<'_>) -> Result<Mapped, MapError> {
    let post = At::root(input.doc).get("post").get("current");
    if post.get("id").opt_id()?.is_none()
        && let Some(id) = At::root(input.doc)
            .get("post")
            .get("previous")
            .get("id")
            .opt_id()?
    {
        return Ok(Mapped::Removed {
            key: DedupKey::new("post", &id),
            reason: "post deleted".into(),
        });
    }
    let id = post.get("id").req_id()?;
    let mut item = Item::new(input.source.clone(), DedupKey::new("post", &id));
    item.title = post.get("title").req_str()?.to_string();
    item.description = match post.get("custom_excerpt").opt_text()? {
        Some(text) => text.to_string(),
        None => post.get("excerpt").opt_str()?.unwrap_or("").to_string(),
    };
    let url = post.get("url").opt_text()?;
    item.link = url.map(str::to_string);
    match post.get("feature_image").opt_text()? {
        Some(image) => {
            item.image_url = Some(image.to_string());
            item.image_alt = non_empty(post.get("feature_image_alt").opt_str()?);
        }
        None => {
            if let Some((src, alt)) = first_image(post.get("html").opt_str()?.unwrap_or(""), url) {
                item.image_url = Some(src);
                item.image_alt = alt;
            }
        }
    }
    let tags = post.get("tags");
    for i in 0..tags.opt_array()?.len() {
        if let Some(name) = tags.index(i).get("name").opt_text()? {
            item.categories.push(name.to_string());
        }
    }
    if let Some(author) = post.get("primary_author").get("name").opt_text()? {
        item.fields.insert("author".into(), author.to_string());
    }
    item.published_ms = post.get("published_at").opt_str()?.and_then(rfc3339_ms);
    item.updated_ms = post.get("updated_at").opt_str()?.and_then(rfc3339_ms);
    Ok(by_status(item, post.get("status").opt_str()?, "published"))
}
