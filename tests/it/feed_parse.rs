//! Feed documents → Items: keys, titles, links, images, order, and readable parse errors.

use pinbridge::item::{DedupKey, Item, SourceId};
use pinbridge::sources::feed::images::MinSize;
use pinbridge::sources::feed::parse::{ParsedFeed, parse_feed};
use url::Url;

use crate::support::feed::{fixture, parse_fixture};

fn parse(name: &str, url: &str) -> ParsedFeed {
    parse_fixture(name, url).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn keys(items: &[Item]) -> Vec<&str> {
    items.iter().map(|i| i.key.as_str()).collect()
}

fn links(items: &[Item]) -> Vec<Option<&str>> {
    items.iter().map(|i| i.link.as_deref()).collect()
}

fn images(items: &[Item]) -> Vec<Option<&str>> {
    items.iter().map(|i| i.image_url.as_deref()).collect()
}

#[test]
fn rss2_items_oldest_first_with_keys_links_and_images() {
    let feed = parse("rss2.xml", "https://shed.example/feed.xml");
    let items = &feed.items;
    assert_eq!(
        items.iter().map(|i| i.title.as_str()).collect::<Vec<_>>(),
        ["Seed swap", "Compost basics", "Spring bulbs"]
    );
    assert_eq!(
        keys(items),
        [
            "link:https://shed.example/posts/seeds",
            "guid:https://shed.example/posts/compost",
            "guid:urn:shed:3",
        ]
    );
    assert_eq!(
        images(items),
        [
            // item <image> (not modelled by feed-rs) beats the <img> in the description
            Some("https://cdn.shed.example/seeds.jpg"),
            // relative enclosure resolved against the feed URL
            Some("https://shed.example/img/compost.png"),
            // the largest media:content
            Some("https://cdn.shed.example/bulbs-large.jpg"),
        ]
    );
    let bulbs = &items[2];
    assert_eq!(
        bulbs.link.as_deref(),
        Some("https://shed.example/posts/bulbs")
    );
    assert_eq!(bulbs.categories, ["bulbs", "spring"]);
    assert_eq!(
        bulbs.fields.get("author").map(String::as_str),
        Some("Ada Gardener")
    );
    assert_eq!(
        bulbs.fields.get("feed_title").map(String::as_str),
        Some("Potting Shed")
    );
    // HTML is kept for the template layer to strip.
    assert_eq!(bulbs.description, "<p>Tulips &amp; daffodils</p>");
    assert_eq!(bulbs.published_ms, Some(1_712_138_400_000));
    assert_eq!(feed.ttl, Some(std::time::Duration::from_secs(3600)));
}

#[test]
fn atom_entries_with_and_without_id() {
    let feed = parse("atom.xml", "https://knit.example/feed.atom");
    let items = &feed.items;
    assert_eq!(
        keys(items),
        [
            "link:https://knit.example/guides/yarn",
            "guid:tag:knit.example,2024:2"
        ]
    );
    assert_eq!(
        links(items),
        [
            Some("https://knit.example/guides/yarn"),
            Some("https://knit.example/patterns/cable"),
        ]
    );
    assert_eq!(
        images(items),
        [
            Some("https://knit.example/img/yarn-thumb.jpg"),
            Some("https://knit.example/img/cable.jpg"),
        ]
    );
    assert_eq!(
        items[1].fields.get("author").map(String::as_str),
        Some("Bea Purl")
    );
    assert_eq!(items[1].categories, ["patterns"]);
    assert_eq!(items[0].description, "<p>From lace to jumbo.</p>");
}

#[test]
fn json_feed_image_and_banner_image_are_used() {
    let feed = parse("jsonfeed.json", "https://bake.example/feed.json");
    let items = &feed.items;
    assert_eq!(keys(items), ["guid:bake-1", "guid:bake-2"]);
    assert_eq!(
        images(items),
        [
            Some("https://bake.example/scones-banner.jpg"),
            Some("https://bake.example/sourdough.jpg"),
        ]
    );
    assert_eq!(
        items[1].link.as_deref(),
        Some("https://bake.example/sourdough")
    );
    assert_eq!(items[1].description, "A slow loaf");
    assert_eq!(items[0].description, "Cold butter.");
    assert_eq!(items[1].categories, ["bread"]);
    assert_eq!(
        items[1].fields.get("author").map(String::as_str),
        Some("Cy Baker")
    );
}

#[test]
fn rss1_items_keyed_by_link_with_image_from_description() {
    let feed = parse("rss1.rdf", "https://birds.example/index.rdf");
    let items = &feed.items;
    assert_eq!(
        keys(items),
        [
            "link:https://birds.example/robin",
            "link:https://birds.example/wren"
        ]
    );
    assert_eq!(
        images(items),
        [None, Some("https://birds.example/photos/wren.jpg")]
    );
    assert_eq!(items[1].image_alt.as_deref(), Some("A wren"));
}

#[test]
fn items_without_guid_or_link_keep_the_same_keys_on_every_parse() {
    // feed-rs gives an item with neither guid nor link a random UUID on each parse; our keys
    // must not move, or every poll would pin it again.
    let first = parse("no_ids.xml", "https://anon.example/feed.xml");
    let second = parse("no_ids.xml", "https://anon.example/feed.xml");
    assert_eq!(keys(&first.items), keys(&second.items));
    let by_title = |title: &str| {
        first
            .items
            .iter()
            .find(|i| i.title == title)
            .unwrap_or_else(|| panic!("{title}"))
            .key
            .clone()
    };
    assert_eq!(
        by_title("Only text"),
        DedupKey::from_content(&["Only text", "No guid, no link, no image.", ""])
    );
    assert_eq!(
        by_title("Only an image").as_str(),
        "image:https://anon.example/only.jpg"
    );
    // A guid repeated within one document is combined with the link, as Miniflux does.
    assert_eq!(
        by_title("Repeated guid one").as_str(),
        "guid:dup|https://anon.example/one"
    );
    assert_eq!(
        by_title("Repeated guid two").as_str(),
        "guid:dup|https://anon.example/two"
    );
}

#[test]
fn media_thumbnail_only_item_keeps_its_image() {
    // feed-rs 3.0.0 drops a media object that has only a media:thumbnail; 2.4.0 keeps it.
    // This is why Cargo.toml pins feed-rs =2.4.0: upgrading must keep this test green.
    let feed = parse("thumbnail_only.xml", "https://news.example/rss");
    assert_eq!(
        images(&feed.items),
        [Some("https://news.example/story.jpg")]
    );
}

fn parse_error(body: &[u8]) -> String {
    parse_feed(
        &SourceId::new("s"),
        body,
        None,
        &Url::parse("https://x.example/feed").expect("url"),
        MinSize::default(),
    )
    .expect_err("should not parse")
    .to_string()
}

#[test]
fn bad_documents_give_readable_errors() {
    let malformed = parse_error(&fixture("malformed.xml"));
    assert!(
        malformed.starts_with("could not read the feed: malformed XML"),
        "{malformed}"
    );
    let html = parse_error(&fixture("html_page.html"));
    assert!(html.contains("HTML page, not a feed"), "{html}");
    assert!(html.contains("https://shed.example/feed.xml"), "{html}");
    let empty = parse_error(b"  \n ");
    assert!(empty.contains("empty body"), "{empty}");
    let json = parse_error(br#"{"version": "https://jsonfeed.org/version/1.1", "items": [}"#);
    assert!(json.contains("malformed JSON Feed"), "{json}");
    let other = parse_error(b"<svg xmlns='http://www.w3.org/2000/svg'/>");
    assert!(other.contains("no RSS, Atom or JSON Feed"), "{other}");
}

#[test]
fn declared_latin1_feed_is_decoded() {
    let feed = parse("latin1.xml", "https://cafe.example/feed");
    assert_eq!(feed.items[0].title, "Crème brûlée");
    assert_eq!(
        feed.items[0].fields.get("feed_title").map(String::as_str),
        Some("Café notes")
    );
}

#[test]
fn header_charset_and_rss_without_version() {
    // No XML declaration, no version on <rss>, windows-1251 named only by the HTTP header.
    let feed = parse_feed(
        &SourceId::new("s"),
        &fixture("cp1251_no_version.xml"),
        Some("application/rss+xml; charset=windows-1251"),
        &Url::parse("https://sad.example/rss").expect("url"),
        MinSize::default(),
    )
    .expect("parses");
    assert_eq!(feed.items[0].title, "Розы");
    assert_eq!(feed.items[0].key.as_str(), "guid:roses");
}

#[test]
fn wordpress_images_come_from_the_post_html_as_a_reader_sees_it() {
    let feed = parse("wordpress.xml", "https://garden.example/feed/");
    let items = &feed.items;
    assert_eq!(
        keys(items),
        [
            "guid:https://garden.example/?p=101",
            "guid:https://garden.example/?p=102",
            "guid:https://garden.example/?p=103",
        ]
    );
    let chosen: Vec<(Option<&str>, Option<&str>)> = items
        .iter()
        .map(|i| (i.image_url.as_deref(), i.image_alt.as_deref()))
        .collect();
    assert_eq!(
        chosen,
        [
            // unquoted and single-quoted attributes; relative src against the post's link
            (
                Some("https://garden.example/wp-content/uploads/2024/03/sill.jpg"),
                Some("Lettuce \"Lollo\"")
            ),
            // `<img` inside <script> is not an image; upper-case tag; `&amp;` in the URL and
            // `&ndash;` in the alt decoded, and a legacy `&copy` without `;` (left to the HTML
            // parser) as a browser reads it
            (
                Some("https://i0.wp.example/garden.example/beds.jpg?resize=1024%2C683&ssl=1"),
                Some("The beds in March \u{2013} before sowing \u{a9} Robin")
            ),
            // a commented-out image and a data: placeholder are passed over for the real
            // image a lazy-loading plugin keeps in <noscript>; `&#8211;` decoded in the alt
            (
                Some("https://garden.example/wp-content/uploads/2024/03/tomatoes.jpg"),
                Some("Tomato seedlings \u{2013} week 3")
            ),
        ]
    );
    // No <description>: the post HTML is the description.
    assert_eq!(
        items[0].description,
        "<p title=\"a > b\">Lettuce on the sill.</p><img class=alignleft src=/wp-content/uploads/2024/03/sill.jpg alt='Lettuce \"Lollo\"'>"
    );
    // HTML (a CDATA section's `&#8230;` included) is kept for the template layer to render.
    assert_eq!(
        items[2].description,
        "Three varieties under the lamp&#8230;"
    );
}

#[test]
fn xml_base_relative_to_the_feed_url_resolves_links_and_images() {
    let feed = parse("xml_base.atom", "https://field.example/feed.atom");
    let items = &feed.items;
    assert_eq!(
        links(items),
        [
            Some("https://photos.example/field/beetles"),
            Some("https://field.example/journal/2024/moths.html"),
        ]
    );
    assert_eq!(
        images(items),
        [
            // the first <img> of the content, against the entry's link
            Some("https://photos.example/field/beetle.png"),
            // a relative media:content url under two nested relative xml:base values
            Some("https://field.example/journal/2024/img/moth.jpg"),
        ]
    );
}
