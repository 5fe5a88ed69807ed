//! Choosing the image a Pin shows, from everything a feed item may carry (missing images are
//! the top complaint about feed-to-Pin tools, so every common place is tried, best first).

use std::sync::LazyLock;

use feed_rs::model::{Entry, MediaContent, MediaThumbnail};
use scraper::Selector;
use url::Url;

use super::img_tags::{attribute, decode_references, img_tags};

/// An image as chosen, with an alt text when the feed gave one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChosenImage {
    pub url: String,
    pub alt: Option<String>,
}

/// Smallest acceptable size, applied only where the feed states a size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MinSize {
    pub width: u32,
    pub height: u32,
}

impl MinSize {
    fn rejects(&self, width: Option<u32>, height: Option<u32>) -> bool {
        width.is_some_and(|w| w < self.width) || height.is_some_and(|h| h < self.height)
    }
}

/// The best image of `entry`, in this order:
/// 1. the largest image `media:content` or image enclosure (feed-rs models both as media
///    content; by width × height when given, else the first);
/// 2. the largest `media:thumbnail` (else the first);
/// 3. an image enclosure link (Atom `rel="enclosure"`, JSON Feed attachment);
/// 4. the item's own image (`own`: RSS item `<image>`, JSON Feed `image` / `banner_image`);
/// 5. the first `<img src>` of the content, then of the summary.
///
/// Relative URLs are resolved against `base` (the item link, else the feed URL); only http(s)
/// results are kept.
pub fn choose(entry: &Entry, own: Option<&str>, base: &Url, min: MinSize) -> Option<ChosenImage> {
    choose_with(entry, own, base, base, min)
}

/// [`choose`], with `<img>` URLs in the content and summary resolved against `html_base` (the
/// `xml:base` in scope at the content) instead of `base`.
pub fn choose_with(
    entry: &Entry,
    own: Option<&str>,
    base: &Url,
    html_base: &Url,
    min: MinSize,
) -> Option<ChosenImage> {
    let resolve = |raw: &str| absolute(raw, base);
    let contents: Vec<&MediaContent> = entry
        .media
        .iter()
        .flat_map(|m| m.content.iter())
        .filter(|c| is_image_content(c))
        .filter(|c| !min.rejects(c.width, c.height))
        .collect();
    // feed-rs has already made these URLs absolute (it drops those it could not).
    let content = largest(&contents, |c| (c.width, c.height))
        .and_then(|c| c.url.clone())
        .and_then(web_url)
        .map(String::from);
    let media_alt = entry.media.iter().find_map(|m| {
        m.description
            .as_ref()
            .or(m.title.as_ref())
            .map(|t| t.content.trim().to_string())
            .filter(|t| !t.is_empty())
    });
    if let Some(url) = content {
        return Some(ChosenImage {
            url,
            alt: media_alt,
        });
    }
    let thumbs: Vec<&MediaThumbnail> = entry
        .media
        .iter()
        .flat_map(|m| m.thumbnails.iter())
        .filter(|t| !min.rejects(t.image.width, t.image.height))
        .collect();
    if let Some(url) =
        largest(&thumbs, |t| (t.image.width, t.image.height)).and_then(|t| resolve(&t.image.uri))
    {
        return Some(ChosenImage {
            url,
            alt: media_alt,
        });
    }
    // Atom `rel="enclosure"` links and JSON Feed attachments arrive as links with a type.
    let linked = entry.links.iter().find_map(|l| {
        let image_type = l
            .media_type
            .as_deref()
            .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("image/"));
        let enclosure = l
            .rel
            .as_deref()
            .is_none_or(|r| r.eq_ignore_ascii_case("enclosure"));
        (image_type && enclosure)
            .then(|| resolve(&l.href))
            .flatten()
    });
    if let Some(url) = linked {
        return Some(ChosenImage { url, alt: None });
    }
    if let Some(url) = own.and_then(resolve) {
        return Some(ChosenImage { url, alt: None });
    }
    let html = [
        entry.content.as_ref().and_then(|c| c.body.as_deref()),
        entry.summary.as_ref().map(|s| s.content.as_str()),
    ];
    html.into_iter()
        .flatten()
        .find_map(|html| first_img(html, html_base))
}

/// The largest by area among those with both dimensions, else the first.
fn largest<'a, T>(
    items: &[&'a T],
    dims: impl Fn(&T) -> (Option<u32>, Option<u32>),
) -> Option<&'a T> {
    let sized = items
        .iter()
        .filter_map(|item| match dims(item) {
            (Some(w), Some(h)) => Some((u64::from(w) * u64::from(h), *item)),
            _ => None,
        })
        // max_by_key keeps the last of equals; reverse so the first of equals wins.
        .rev()
        .max_by_key(|(area, _)| *area)
        .map(|(_, item)| item);
    sized.or_else(|| items.first().copied())
}

const OTHER_EXTENSIONS: &[&str] = &[
    "mp3", "m4a", "mp4", "m4v", "mov", "ogg", "oga", "ogv", "webm", "wav", "pdf", "zip", "flac",
];

/// An image by its type (`image/*`), or, with no type, by an extension that is not clearly
/// something else (many `media:content` elements carry only `medium="image"`, which feed-rs
/// 2.4 does not keep).
fn is_image_content(content: &MediaContent) -> bool {
    let Some(url) = &content.url else {
        return false;
    };
    match &content.content_type {
        Some(mime) => mime.ty().as_str().eq_ignore_ascii_case("image"),
        None => {
            let ext = extension(url.path());
            !ext.is_some_and(|e| OTHER_EXTENSIONS.contains(&e.as_str()))
        }
    }
}

fn extension(path: &str) -> Option<String> {
    let file = path.rsplit('/').next()?;
    let (_, ext) = file.rsplit_once('.')?;
    Some(ext.to_ascii_lowercase())
}

/// `raw` made absolute against `base`; only http(s) URLs survive (no `data:`, `javascript:`).
pub(crate) fn absolute(raw: &str, base: &Url) -> Option<String> {
    absolute_url(raw, base).map(String::from)
}

/// [`absolute`], parsed.
pub(crate) fn absolute_url(raw: &str, base: &Url) -> Option<Url> {
    let raw = raw.trim();
    if raw.is_empty() {
        return None;
    }
    web_url(base.join(raw).ok()?)
}

/// `url` when it is http(s).
fn web_url(url: Url) -> Option<Url> {
    matches!(url.scheme(), "http" | "https").then_some(url)
}

/// The first `<img src>` in an HTML fragment, with its alt text.
///
/// Only the `<img>` tags found by [`img_tags`] are read, not a tree of the whole post. A tag
/// is read by a plain attribute scan, many times faster than html5ever on a long `srcset`;
/// one with a reference that needs HTML's special cases (a legacy one without `;`) goes to
/// the HTML parser.
fn first_img(html: &str, base: &Url) -> Option<ChosenImage> {
    img_tags(html).find_map(|tag| {
        let (src, alt) = scanned_img(tag).or_else(|| parsed_img(tag))?;
        let url = absolute(&src, base)?;
        let alt = alt.map(|a| a.trim().to_string()).filter(|a| !a.is_empty());
        Some(ChosenImage { url, alt })
    })
}

/// `src` and `alt` of one `<img>` tag by the plain scan; `None` when the tag has no `src` or a
/// reference the scan leaves to the parser.
fn scanned_img(tag: &str) -> Option<(String, Option<String>)> {
    let src = decode_references(attribute(tag, "src")?)?.into_owned();
    let alt = match attribute(tag, "alt") {
        Some(alt) => Some(decode_references(alt)?.into_owned()),
        None => None,
    };
    Some((src, alt))
}

/// `src` and `alt` of one `<img>` tag, references decoded, by the HTML parser.
///
/// The parser is given a tag of just those two attributes as written (a `srcset` can be a few
/// KB, and html5ever's cost grows with the tag).
fn parsed_img(tag: &str) -> Option<(String, Option<String>)> {
    static IMG: LazyLock<Selector> =
        LazyLock::new(|| Selector::parse("img[src]").expect("a valid constant selector"));
    let quoted = |raw: &str| {
        // A quoted value cannot hold its own quote, an unquoted one neither.
        let quote = if raw.contains('"') { '\'' } else { '"' };
        format!("{quote}{raw}{quote}")
    };
    let mut short = format!("<img src={}", quoted(attribute(tag, "src")?));
    if let Some(alt) = attribute(tag, "alt") {
        short.push_str(&format!(" alt={}", quoted(alt)));
    }
    short.push('>');
    let fragment = scraper::Html::parse_fragment(&short);
    let img = fragment.select(&IMG).next()?;
    let src = img.value().attr("src")?.to_string();
    Some((src, img.value().attr("alt").map(str::to_string)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(xml_item: &str) -> Entry {
        let doc = format!(
            r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title>{xml_item}</channel></rss>"#
        );
        let feed = feed_rs::parser::parse(doc.as_bytes()).expect("test feed parses");
        feed.entries.into_iter().next().expect("one entry")
    }

    fn base() -> Url {
        Url::parse("https://example.com/blog/post").expect("url")
    }

    fn url_of(xml_item: &str, own: Option<&str>) -> Option<String> {
        choose(&entry(xml_item), own, &base(), MinSize::default()).map(|c| c.url)
    }

    #[test]
    fn largest_media_content_wins() {
        let item = r#"<item><media:content url="https://x/s.jpg" width="100" height="100" type="image/jpeg"/>
            <media:content url="https://x/l.jpg" width="800" height="600" type="image/jpeg"/>
            <media:content url="https://x/v.mp4" width="1920" height="1080" type="video/mp4"/></item>"#;
        assert_eq!(url_of(item, None).as_deref(), Some("https://x/l.jpg"));
    }

    #[test]
    fn thumbnail_only_item_keeps_its_image() {
        let item = r#"<item><title>t</title><media:thumbnail url="https://x/t.jpg" width="240" height="135"/></item>"#;
        assert_eq!(url_of(item, None).as_deref(), Some("https://x/t.jpg"));
    }

    #[test]
    fn image_enclosure_and_audio_enclosure() {
        let item = r#"<item><enclosure url="https://x/a.mp3" type="audio/mpeg" length="1"/>
            <enclosure url="https://x/p.png" type="image/png" length="1"/></item>"#;
        assert_eq!(url_of(item, None).as_deref(), Some("https://x/p.png"));
        let audio =
            r#"<item><enclosure url="https://x/a.mp3" type="audio/mpeg" length="1"/></item>"#;
        assert_eq!(url_of(audio, None), None);
    }

    #[test]
    fn own_image_then_first_img_in_content_relative_to_base() {
        assert_eq!(
            url_of("<item><title>t</title></item>", Some("img/own.jpg")).as_deref(),
            Some("https://example.com/blog/img/own.jpg")
        );
        let item = r#"<item><description><![CDATA[<p>hi <img src="/a.png" alt=" A cat "> <img src="/b.png"></p>]]></description></item>"#;
        let chosen = choose(&entry(item), None, &base(), MinSize::default()).expect("img");
        assert_eq!(chosen.url, "https://example.com/a.png");
        assert_eq!(chosen.alt.as_deref(), Some("A cat"));
    }

    #[test]
    fn data_and_javascript_urls_are_not_images() {
        let item = r#"<item><description><![CDATA[<img src="data:image/png;base64,AAAA"><img src="javascript:x">]]></description></item>"#;
        assert_eq!(url_of(item, None), None);
    }

    #[test]
    fn min_size_skips_small_known_images() {
        let item = r#"<item><media:content url="https://x/s.jpg" width="100" height="100" type="image/jpeg"/>
            <media:thumbnail url="https://x/t.jpg"/></item>"#;
        let min = MinSize {
            width: 200,
            height: 200,
        };
        let chosen = choose(&entry(item), None, &base(), min).expect("thumbnail of unknown size");
        assert_eq!(chosen.url, "https://x/t.jpg");
    }
}
