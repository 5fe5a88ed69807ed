//! Odd but honest documents (the kinds found in feedparser's test corpus): each odd field
//! costs only itself, relative URLs follow the `xml:base` in scope, and a document with no feed
//! in it says truly why.

use pinbridge::item::Item;
use pinbridge::sources::feed::parse::ParsedFeed;

use crate::support::feed::parse_fixture;

fn parse(name: &str, url: &str) -> Result<ParsedFeed, String> {
    parse_fixture(name, url)
}

fn images(items: &[Item]) -> Vec<Option<&str>> {
    items.iter().map(|i| i.image_url.as_deref()).collect()
}

#[test]
fn an_img_in_content_resolves_against_the_contents_own_xml_base() {
    let feed = parse("content_xml_base.atom", "https://blog.example/feed.atom").expect("parses");
    assert_eq!(
        images(&feed.items),
        [
            // xml:base="uploads/" on the content, relative to the feed's base, not the link.
            Some("https://blog.example/uploads/dog.png"),
            // An absolute xml:base on the content, not the entry's link directory.
            Some("https://cdn.example/media/2024/09/cat.jpg"),
        ]
    );
    assert_eq!(feed.items[1].image_alt.as_deref(), Some("A cat"));
    // Links still follow their own scope.
    assert_eq!(
        feed.items[1].link.as_deref(),
        Some("https://blog.example/posts/2024/own-base.html")
    );
}

#[test]
fn a_text_construct_of_an_odd_type_skips_only_that_field() {
    let feed = parse("odd_text_types.atom", "https://odd.example/feed").expect("parses");
    let items = &feed.items;
    assert_eq!(items.len(), 2);
    // Oldest first: entry 2, then entry 1.
    assert_eq!(items[0].title, "Plain title");
    assert_eq!(items[0].description, "second");
    assert_eq!(items[0].key.as_str(), "guid:tag:odd.example,2024:2");
    // The base64 title is skipped; the rest of the entry is kept.
    assert_eq!(items[1].title, "");
    assert_eq!(items[1].key.as_str(), "guid:tag:odd.example,2024:1");
    assert_eq!(
        items[1].image_url.as_deref(),
        Some("https://odd.example/1.jpg")
    );
    assert_eq!(items[1].link.as_deref(), Some("https://odd.example/1"));
    // The feed's application/xhtml+xml title is skipped too.
    assert_eq!(items[1].fields.get("feed_title"), None);
}

#[test]
fn an_rss_root_without_a_channel_says_so() {
    let err = parse("rss_no_channel.xml", "https://nochannel.example/rss").expect_err("no feed");
    assert!(err.contains("no <channel>"), "{err}");
    assert!(!err.contains("root is not <rss>"), "{err}");
}
