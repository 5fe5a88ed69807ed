//! Hub discovery (WebSub §4): HTTP `Link` headers first, then `<link>` / `<atom:link>` in the
//! document. The topic is the `rel=self` URL, not the URL that was fetched.

use std::sync::LazyLock;

use regex::Regex;
use url::Url;

/// Where to subscribe and to what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovery {
    /// Every hub advertised, in order; the first is used.
    pub hubs: Vec<Url>,
    /// The `rel=self` URL, or the fetched URL when the publisher named none.
    pub topic: Url,
}

/// Links found in one place (headers or document): hubs and the first `self`.
#[derive(Debug, Default)]
struct Found {
    hubs: Vec<Url>,
    self_url: Option<Url>,
}

impl Found {
    fn add(&mut self, rel: &str, href: &str, base: &Url) {
        let Ok(url) = base.join(href.trim()) else {
            return;
        };
        if !matches!(url.scheme(), "http" | "https") {
            return;
        }
        for token in rel.split_ascii_whitespace() {
            if token.eq_ignore_ascii_case("hub") && !self.hubs.contains(&url) {
                self.hubs.push(url.clone());
            } else if token.eq_ignore_ascii_case("self") && self.self_url.is_none() {
                self.self_url = Some(url.clone());
            }
        }
    }
}

/// Discover hubs and topic from a fetched topic's `Link` header values and body. `None` when no
/// hub is advertised anywhere.
pub fn discover<'a>(
    link_headers: impl IntoIterator<Item = &'a str>,
    body: &[u8],
    fetched: &Url,
) -> Option<Discovery> {
    let mut headers = Found::default();
    for value in link_headers {
        parse_link_header(value, fetched, &mut headers);
    }
    // The spec's order: headers win when they name a hub; the document is read otherwise.
    let found = if headers.hubs.is_empty() {
        let mut document = document_links(body, fetched);
        // A self link only in the headers still names the topic.
        if document.self_url.is_none() {
            document.self_url = headers.self_url;
        }
        document
    } else {
        headers
    };
    if found.hubs.is_empty() {
        return None;
    }
    Some(Discovery {
        hubs: found.hubs,
        topic: found.self_url.unwrap_or_else(|| fetched.clone()),
    })
}

static LINK_VALUE: LazyLock<Regex> = LazyLock::new(|| {
    // `<uri>` followed by `; param` pieces up to the next comma outside quotes.
    Regex::new(r#"<([^>]*)>((?:\s*;\s*[^;,="]+(?:\s*=\s*(?:"[^"]*"|[^;,]*))?)*)"#)
        .expect("static regex")
});
static REL_PARAM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i);\s*rel\s*=\s*(?:"([^"]*)"|([^;,\s]+))"#).expect("static regex")
});

/// RFC 8288 `Link` header: `<https://hub>; rel="hub", <https://topic>; rel=self`.
fn parse_link_header(value: &str, base: &Url, found: &mut Found) {
    for link in LINK_VALUE.captures_iter(value) {
        let (Some(href), Some(params)) = (link.get(1), link.get(2)) else {
            continue;
        };
        if let Some(rel) = REL_PARAM.captures(params.as_str())
            && let Some(rel) = rel.get(1).or_else(|| rel.get(2))
        {
            found.add(rel.as_str(), href.as_str(), base);
        }
    }
}

/// `<link rel="hub">` in HTML or Atom, `<atom:link rel="hub">` in RSS. Read leniently with the
/// HTML parser, which keeps prefixed names and every attribute.
fn document_links(body: &[u8], base: &Url) -> Found {
    let mut found = Found::default();
    let text = String::from_utf8_lossy(body);
    if !text.contains("hub") {
        return found;
    }
    let doc = scraper::Html::parse_document(&text);
    for node in doc.tree.nodes() {
        let Some(el) = node.value().as_element() else {
            continue;
        };
        let name = el.name();
        if name != "link" && !name.ends_with(":link") {
            continue;
        }
        if let (Some(rel), Some(href)) = (el.attr("rel"), el.attr("href")) {
            found.add(rel, href, base);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> Url {
        Url::parse(s).expect("url")
    }

    #[test]
    fn headers_name_hub_and_self() {
        let fetched = url("http://blog.example/feed?utm=1");
        let found = discover(
            [
                r#"<https://hub.example/>; rel="hub", </feed>; rel="self""#,
                "<https://hub2.example/>; rel=hub",
            ],
            b"<rss/>",
            &fetched,
        )
        .expect("hub");
        assert_eq!(
            found.hubs,
            [url("https://hub.example/"), url("https://hub2.example/")]
        );
        assert_eq!(found.topic, url("http://blog.example/feed"));
    }

    #[test]
    fn headers_come_before_the_document() {
        let body = br#"<feed xmlns="http://www.w3.org/2005/Atom"><link rel="hub" href="https://doc-hub.example/"/></feed>"#;
        let found = discover(
            [r#"<https://header-hub.example/>; rel="hub""#],
            body,
            &url("https://b.example/f"),
        )
        .expect("hub");
        assert_eq!(found.hubs, [url("https://header-hub.example/")]);
        assert_eq!(found.topic, url("https://b.example/f"));
    }

    #[test]
    fn rss_atom_link_and_html_link_are_found() {
        let rss = br#"<?xml version="1.0"?><rss xmlns:atom="http://www.w3.org/2005/Atom"><channel>
            <atom:link rel="self" type="application/rss+xml" href="https://b.example/rss"/>
            <atom:link rel="hub" href="https://pubsubhubbub.appspot.com/"/>
            <link>https://b.example/</link><item><link>https://b.example/1</link></item></channel></rss>"#;
        let found = discover([], rss, &url("http://b.example/rss?x")).expect("hub");
        assert_eq!(found.hubs, [url("https://pubsubhubbub.appspot.com/")]);
        assert_eq!(found.topic, url("https://b.example/rss"));
        let html = br#"<html><head><link rel="hub" href="/hub"><link rel="self" href="/page"></head></html>"#;
        let found = discover([], html, &url("https://b.example/x")).expect("hub");
        assert_eq!(found.hubs, [url("https://b.example/hub")]);
        assert_eq!(found.topic, url("https://b.example/page"));
    }

    #[test]
    fn no_hub_anywhere_is_none_and_junk_is_ignored() {
        assert_eq!(
            discover([], b"<rss><channel/></rss>", &url("https://b.example/")),
            None
        );
        assert_eq!(
            discover(
                [r#"garbage, <javascript:alert(1)>; rel="hub""#],
                b"\xff\xfe hub",
                &url("https://b.example/")
            ),
            None
        );
    }
}
