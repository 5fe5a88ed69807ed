//! Facts feed-rs 2.4 drops that matter for Pins, read from the raw document ourselves:
//! the RSS item-level `<image>` (which Pinterest's own RSS import reads) and JSON Feed's item
//! `image` / `banner_image`. Returned per item in document order, the order feed-rs keeps.

use quick_xml::Reader;
use quick_xml::events::Event;

/// Per item in document order: the item's own image URL (as written, maybe relative).
///
/// Empty (meaning "none found") without parsing when the bytes cannot hold such an image, which
/// is most feeds: the scan would otherwise cost a second pass over every document.
pub fn item_images(body: &[u8], is_json: bool) -> Vec<Option<String>> {
    use memchr::memmem::find;
    if is_json {
        if find(body, b"\"image\"").is_none() && find(body, b"\"banner_image\"").is_none() {
            return Vec::new();
        }
        json_images(body)
    } else {
        // `<image` or `image>`: one pass for both (text like `wp-image-7` is skipped cheaply).
        // (Forward: memchr's reverse search measured several times slower on these bodies.)
        let last_image_tag = memchr::memmem::find_iter(body, b"image")
            .filter(|&at| {
                (at > 0 && body[at - 1] == b'<') || body.get(at + "image".len()) == Some(&b'>')
            })
            .last();
        let Some(last_image_tag) = last_image_tag else {
            return Vec::new();
        };
        // An item-level <image> comes after the first item; the channel's logo comes before.
        let first_item = [&b"<item"[..], b"<entry", b":item", b":entry"]
            .iter()
            .filter_map(|tag| find(&body[..last_image_tag], tag))
            .min();
        match first_item {
            Some(_) => xml_images(body),
            None => Vec::new(),
        }
    }
}

fn json_images(body: &[u8]) -> Vec<Option<String>> {
    // Only the two fields are read; everything else is skipped without building a tree.
    #[derive(serde::Deserialize)]
    struct Feed {
        items: Vec<Item>,
    }
    #[derive(serde::Deserialize)]
    struct Item {
        image: Option<serde_json::Value>,
        banner_image: Option<serde_json::Value>,
    }
    let Ok(feed) = serde_json::from_slice::<Feed>(body) else {
        return Vec::new();
    };
    feed.items
        .into_iter()
        .map(|item| {
            [item.image, item.banner_image]
                .into_iter()
                .find_map(|field| {
                    field
                        .as_ref()
                        .and_then(|v| v.as_str())
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_owned)
                })
        })
        .collect()
}

/// Where the scanner is, relative to the current item.
enum At {
    Outside,
    /// Directly inside an `<item>` / `<entry>` (depth counts nested elements below it).
    InItem {
        depth: usize,
    },
    /// Inside the item's `<image>`: collecting its text, or its `<url>` child's text.
    InImage {
        depth: usize,
        text: String,
        in_url: bool,
    },
}

fn xml_images(body: &[u8]) -> Vec<Option<String>> {
    // A slice reader hands out events that borrow from `body`: no copy per event.
    let mut reader = Reader::from_reader(body);
    reader.config_mut().trim_text(true);
    let mut out: Vec<Option<String>> = Vec::new();
    let mut at = At::Outside;
    loop {
        let event = match reader.read_event() {
            Ok(Event::Eof) | Err(_) => break,
            Ok(event) => event,
        };
        match (&mut at, event) {
            (At::Outside, Event::Start(e)) if is_item(e.local_name().as_ref()) => {
                out.push(None);
                at = At::InItem { depth: 0 };
            }
            (At::Outside, Event::Empty(e)) if is_item(e.local_name().as_ref()) => out.push(None),
            (At::InItem { depth }, Event::Start(e)) => {
                // Only an unprefixed `<image>` directly in the item (not `media:image`, not nested).
                if *depth == 0 && e.name().as_ref() == b"image" {
                    at = At::InImage {
                        depth: 0,
                        text: String::new(),
                        in_url: false,
                    };
                } else {
                    *depth += 1;
                }
            }
            (At::InItem { depth }, Event::End(_)) => {
                if *depth == 0 {
                    at = At::Outside;
                } else {
                    *depth -= 1;
                }
            }
            (At::InImage { depth, in_url, .. }, Event::Start(e)) => {
                *in_url = *depth == 0 && e.local_name().as_ref() == b"url";
                *depth += 1;
            }
            (
                At::InImage {
                    depth,
                    text,
                    in_url,
                },
                Event::End(_),
            ) => {
                if *depth == 0 {
                    let url = text.trim().to_string();
                    if let Some(slot) = out.last_mut()
                        && slot.is_none()
                        && !url.is_empty()
                    {
                        *slot = Some(url);
                    }
                    at = At::InItem { depth: 0 };
                } else {
                    *depth -= 1;
                    *in_url = false;
                }
            }
            // `<image>https://…</image>` or `<image><url>https://…</url>…</image>`: text directly
            // in `<image>` or in its `<url>` child, entity references included.
            (
                At::InImage {
                    depth,
                    text,
                    in_url,
                },
                Event::Text(t),
            ) if *depth == 0 || *in_url => {
                if let Ok(s) = t.decode() {
                    text.push_str(&s);
                }
            }
            (
                At::InImage {
                    depth,
                    text,
                    in_url,
                },
                Event::CData(t),
            ) if *depth == 0 || *in_url => {
                if let Ok(s) = t.decode() {
                    text.push_str(&s);
                }
            }
            (
                At::InImage {
                    depth,
                    text,
                    in_url,
                },
                Event::GeneralRef(r),
            ) if *depth == 0 || *in_url => {
                if let Ok(name) = r.decode()
                    && let Some(c) = resolve_entity(&name)
                {
                    text.push(c);
                }
            }
            _ => {}
        }
    }
    out
}

fn is_item(local: &[u8]) -> bool {
    local == b"item" || local == b"entry"
}

/// The five XML entities and character references (what quick-xml hands back as refs).
fn resolve_entity(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rss_item_image_in_both_forms() {
        let xml = br#"<rss version="2.0"><channel><image><url>https://x/logo.png</url></image>
          <item><title>a</title><image>https://x/a.jpg?w=1&amp;h=2</image></item>
          <item><title>b</title></item>
          <item><image><url>/b.png</url><title>t</title></image></item>
        </channel></rss>"#;
        assert_eq!(
            item_images(xml, false),
            vec![
                Some("https://x/a.jpg?w=1&h=2".into()),
                None,
                Some("/b.png".into())
            ]
        );
    }

    #[test]
    fn json_image_then_banner() {
        let json =
            br#"{"items":[{"id":"1","image":"https://x/1.jpg","banner_image":"https://x/b.jpg"},
            {"id":"2","banner_image":"https://x/2.jpg"},{"id":"3"}]}"#;
        assert_eq!(
            item_images(json, true),
            vec![
                Some("https://x/1.jpg".into()),
                Some("https://x/2.jpg".into()),
                None
            ]
        );
    }

    #[test]
    fn garbage_gives_nothing_and_does_not_panic() {
        assert!(item_images(b"<<<>>>&&&", false).is_empty());
        assert!(item_images(b"{not json", true).is_empty());
    }
}
