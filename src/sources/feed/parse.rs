//! Parsing a fetched feed with feed-rs and turning its entries into `Item`s with pinbridge's
//! own dedup keys.
//!
//! Key order (Miniflux's rules): guid / Atom id / JSON id → link → image URL → a hash
//! of title + content. feed-rs invents an id when an entry has none (a hash of link + title, or a
//! random UUID when there is no link either), which must never become a dedup key: a UUID
//! changes on every parse and pins the item again each poll, and a title edit changes the hash.
//! So the parser is given an id generator that returns a sentinel no document can contain
//! (it starts with a NUL, which XML forbids and JSON must escape). feed-rs calls the generator
//! only when the document had no usable id, so `entry.id == NO_ID` means "no guid" exactly.

use std::collections::HashMap;
use std::time::Duration;

use feed_rs::model::{Entry, Feed};
use feed_rs::parser::{Builder, ParseFeedError, Parser};
use url::Url;

use super::charset;
use super::content_base;
use super::depth;
use super::explain;
use super::extras;
use super::images::{self, MinSize};
use super::repair;
use crate::item::{DedupKey, Item, SourceId};
use crate::sources::poll::error::FeedError;

const NO_ID: &str = "\u{0}pinbridge:no-id";

/// A parsed feed: its items oldest first, and the feed's own refresh hint.
#[derive(Clone, Debug, Default)]
pub struct ParsedFeed {
    pub items: Vec<Item>,
    /// RSS `<ttl>`: how long the publisher says the feed may be cached.
    pub ttl: Option<Duration>,
}

/// Parse `body` (raw bytes, as served with `content_type`) fetched from `feed_url` into items
/// of `source`.
///
/// Synchronous on purpose: feed-rs 2.4's parser is not `Send`; callers run this in
/// `spawn_blocking`.
pub fn parse_feed(
    source: &SourceId,
    body: &[u8],
    content_type: Option<&str>,
    feed_url: &Url,
    min_image: MinSize,
) -> Result<ParsedFeed, FeedError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(FeedError::parse("the server sent an empty body"));
    }
    let normalized = charset::normalize(body, content_type);
    let body: &[u8] = &normalized;
    let is_json = body.iter().find(|b| **b == b'<' || **b == b'{') == Some(&b'{');
    // Before feed-rs sees it: a deeply nested document would overflow its recursive parser's
    // stack and abort the process (see depth.rs).
    depth::check(body, is_json, depth::MAX_NESTING)?;
    let base_uri = (!is_json && needs_base_uri(body)).then_some(feed_url.as_str());
    let parser = Builder::new()
        .base_uri(base_uri)
        .id_generator(|_links, _title, _base| NO_ID.to_string())
        .build();
    let feed = parse_skipping_refused_fields(&parser, body)?;
    let own_images = extras::item_images(body, is_json);
    // The side scan must line up with feed-rs's entries; if it does not (odd nesting), it is
    // not used rather than risk giving an item another item's image.
    let own_images = if own_images.len() == feed.entries.len() && !own_images.is_empty() {
        own_images
    } else {
        vec![None; feed.entries.len()]
    };
    // The same for the xml:base in scope at each entry's content (only read when there is one).
    let content_bases = match base_uri {
        Some(_) if memchr::memmem::find(body, b"xml:base").is_some() => {
            content_base::content_bases(body, feed_url)
        }
        _ => Vec::new(),
    };
    let content_bases = if content_bases.len() == feed.entries.len() {
        content_bases
    } else {
        vec![None; feed.entries.len()]
    };
    let ttl = feed
        .ttl
        .map(|minutes| Duration::from_secs(u64::from(minutes) * 60));
    let items = to_items(
        source,
        feed,
        feed_url,
        &own_images,
        &content_bases,
        min_image,
    );
    Ok(ParsedFeed { items, ttl })
}

/// How many times a document is read again without a field feed-rs refused (each round drops
/// every field of one refused kind; a real feed has one or two such kinds at most).
const MAX_REPAIRS: usize = 8;

/// `parser.parse(body)`, but a field feed-rs refuses (an Atom text construct of a type it does
/// not know, an empty inline `<content>`) costs only that field, not the whole feed.
fn parse_skipping_refused_fields(parser: &Parser, body: &[u8]) -> Result<Feed, FeedError> {
    let mut repaired: Option<Vec<u8>> = None;
    let mut rounds = 0;
    loop {
        let current = repaired.as_deref().unwrap_or(body);
        let err = match parser.parse(current) {
            Ok(feed) => return Ok(feed),
            Err(err) => err,
        };
        let fixed = match &err {
            ParseFeedError::ParseError(kind) if rounds < MAX_REPAIRS => {
                repair::without_refused_fields(current, kind)
            }
            _ => None,
        };
        let Some((fixed, skipped)) = fixed else {
            return Err(explain::explain(err, current));
        };
        tracing::debug!(elements = skipped.elements, why = %skipped.why, "Skipped fields feed-rs refused.");
        rounds += 1;
        repaired = Some(fixed);
    }
}

/// Whether feed-rs must be given the feed URL as its base URI to keep this document's URLs.
///
/// feed-rs 2.4 keeps a relative link `href` or image as written (pinbridge makes those absolute
/// itself), but drops a relative `url` attribute (`<enclosure>`, `media:content`) unless it has
/// a base, and a relative `xml:base` means nothing without one. A base has a price: feed-rs then
/// clones it into every element it reads, about 7 % of a parse. So it is set only when the
/// document has `xml:base` or a `url` attribute that does not start with a scheme (a false
/// positive, such as the word "url=" in text, only costs that 7 %).
fn needs_base_uri(body: &[u8]) -> bool {
    use memchr::memmem;
    let skip_space =
        |bytes: &'_ [u8]| -> usize { bytes.iter().take_while(|b| b.is_ascii_whitespace()).count() };
    memmem::find(body, b"xml:base").is_some()
        || memmem::find_iter(body, b"url").any(|at| {
            let rest = &body[at + "url".len()..];
            let rest = &rest[skip_space(rest)..];
            let Some(rest) = rest.strip_prefix(b"=") else {
                return false;
            };
            let rest = &rest[skip_space(rest)..];
            match rest.split_first() {
                Some((b'"' | b'\'', value)) => !starts_with_scheme(&value[skip_space(value)..]),
                _ => false,
            }
        })
}

/// `scheme:` as URLs begin (RFC 3986 §3.1): a letter, then letters, digits, `+`, `-` or `.`.
fn starts_with_scheme(value: &[u8]) -> bool {
    let name = value
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
        .count();
    name > 0 && value[0].is_ascii_alphabetic() && value.get(name) == Some(&b':')
}

fn to_items(
    source: &SourceId,
    feed: Feed,
    feed_url: &Url,
    own_images: &[Option<String>],
    content_bases: &[Option<Url>],
    min_image: MinSize,
) -> Vec<Item> {
    let ids: Vec<Option<&str>> = feed
        .entries
        .iter()
        .map(|e| Some(e.id.trim()).filter(|id| !id.is_empty() && *id != NO_ID))
        .collect();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for id in ids.iter().flatten() {
        *seen.entry(id).or_default() += 1;
    }
    // Identity, link and image first, while the entries are borrowed; then the entries are
    // taken apart so their text moves into the items instead of being copied.
    let heads: Vec<(DedupKey, Option<String>, Option<images::ChosenImage>)> = feed
        .entries
        .iter()
        .enumerate()
        .map(|(position, entry)| {
            let link_url = alternate_link(entry, feed_url);
            let own = own_images.get(position).and_then(|o| o.as_deref());
            let base = link_url.as_ref().unwrap_or(feed_url);
            // URLs in the content are relative to the xml:base in scope there, when there is one.
            let html_base = content_bases.get(position).and_then(Option::as_ref);
            let image = images::choose_with(entry, own, base, html_base.unwrap_or(base), min_image);
            let link = link_url.map(String::from);
            let key = match ids[position] {
                // A guid repeated within one document is not an identity on its own.
                Some(id) if seen.get(id).copied().unwrap_or(0) > 1 => match &link {
                    Some(link) => DedupKey::new("guid", &format!("{id}|{link}")),
                    None => DedupKey::new("guid", &format!("{id}|{position}")),
                },
                Some(id) => DedupKey::new("guid", id),
                None => match (&link, &image) {
                    (Some(link), _) => DedupKey::new("link", link),
                    (None, Some(image)) => DedupKey::new("image", &image.url),
                    (None, None) => DedupKey::from_content(&[
                        entry.title.as_ref().map_or("", |t| t.content.as_str()),
                        entry.summary.as_ref().map_or("", |s| s.content.as_str()),
                        entry
                            .content
                            .as_ref()
                            .and_then(|c| c.body.as_deref())
                            .unwrap_or(""),
                    ]),
                },
            };
            (key, link, image)
        })
        .collect();
    let feed_title = feed
        .title
        .map(|t| trimmed(t.content))
        .filter(|t| !t.is_empty());
    let mut items: Vec<Item> = feed
        .entries
        .into_iter()
        .zip(heads)
        .map(|(entry, (key, link, image))| {
            let mut item = Item::new(source.clone(), key);
            item.title = entry.title.map(|t| trimmed(t.content)).unwrap_or_default();
            let summary = entry.summary.map(|s| trimmed(s.content));
            let content = entry.content.and_then(|c| c.body).map(trimmed);
            item.description = summary
                .filter(|s| !s.is_empty())
                .or(content)
                .unwrap_or_default();
            item.link = link;
            if let Some(image) = image {
                item.image_url = Some(image.url);
                item.image_alt = image.alt;
            }
            item.published_ms = entry
                .published
                .or(entry.updated)
                .map(|t| t.timestamp_millis());
            item.categories = entry
                .categories
                .into_iter()
                .map(|c| trimmed(c.term))
                .filter(|c| !c.is_empty())
                .collect();
            if let Some(author) = entry
                .authors
                .into_iter()
                .map(|a| trimmed(a.name))
                .find(|n| !n.is_empty())
            {
                item.fields.insert("author".into(), author);
            }
            if let Some(feed_title) = &feed_title {
                item.fields.insert("feed_title".into(), feed_title.clone());
            }
            item
        })
        .collect();
    oldest_first(&mut items);
    items
}

/// `text` without surrounding whitespace, reusing its allocation when there is none.
fn trimmed(text: String) -> String {
    if text.trim().len() == text.len() {
        text
    } else {
        text.trim().to_string()
    }
}

/// Feeds list newest first by convention; sort by date when every item has one, else trust
/// the document order reversed.
fn oldest_first(items: &mut [Item]) {
    items.reverse();
    if items.iter().all(|i| i.published_ms.is_some()) {
        items.sort_by_key(|i| i.published_ms);
    }
}

/// The entry's page: the first `alternate` (or rel-less) link that is not a media attachment,
/// made absolute against the feed URL.
fn alternate_link(entry: &Entry, feed_url: &Url) -> Option<Url> {
    entry
        .links
        .iter()
        .filter(|l| {
            l.rel
                .as_deref()
                .is_none_or(|r| r.eq_ignore_ascii_case("alternate"))
        })
        .filter(|l| {
            l.media_type.as_deref().is_none_or(|t| {
                let t = t.to_ascii_lowercase();
                t.starts_with("text/html") || t.starts_with("application/xhtml")
            })
        })
        .find_map(|l| images::absolute_url(&l.href, feed_url))
}

#[cfg(test)]
mod tests {
    use super::needs_base_uri;

    #[test]
    fn a_base_uri_only_for_relative_url_attributes_or_xml_base() {
        for absolute in [
            &br#"<enclosure url="https://x.example/a.jpg"/>"#[..],
            br#"<media:content url = 'HTTP://x.example/a.jpg'/>"#,
            b"<description>the url = is text</description>",
            b"<link>/relative/link</link>",
        ] {
            assert!(
                !needs_base_uri(absolute),
                "{}",
                String::from_utf8_lossy(absolute)
            );
        }
        for relative in [
            &br#"<enclosure url="/img/a.jpg"/>"#[..],
            br#"<media:content url=' //cdn.example/a.jpg'/>"#,
            br#"<enclosure url="&#104;ttps://x.example/a.jpg"/>"#,
            br#"<feed xml:base="https://x.example/">"#,
        ] {
            assert!(
                needs_base_uri(relative),
                "{}",
                String::from_utf8_lossy(relative)
            );
        }
    }
}
