//! OPML import and export: real readers' export flavours, problems per line, round trip.

use pinbridge::sources::opml::{self, OpmlFeed};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/opml/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn summary(feeds: &[OpmlFeed]) -> Vec<(String, Option<String>, Vec<String>)> {
    feeds
        .iter()
        .map(|f| (f.url.clone(), f.title.clone(), f.categories.clone()))
        .collect()
}

fn s(text: &str) -> String {
    text.to_string()
}

#[test]
fn feedly_export_gives_feeds_with_their_folder_as_category() {
    let feeds = opml::parse(&fixture("feedly.opml")).expect("valid OPML");
    assert_eq!(
        summary(&feeds),
        vec![
            (
                s("https://www.designsponge.com/feed"),
                Some(s("Design*Sponge")),
                vec![s("Crafts")]
            ),
            (
                s("https://abeautifulmess.com/feed/"),
                Some(s("A Beautiful Mess")),
                vec![s("Crafts")]
            ),
            (
                s("http://feeds.feedburner.com/smittenkitchen"),
                Some(s("Smitten Kitchen")),
                vec![s("Food & Drink")]
            ),
        ]
    );
    assert_eq!(
        feeds[0].html_url.as_deref(),
        Some("https://www.designsponge.com")
    );
    assert_eq!(feeds[0].line, 9, "lines point at the outline");
}

#[test]
fn flat_netnewswire_export_has_no_categories() {
    let feeds = opml::parse(&fixture("netnewswire-flat.opml")).expect("valid OPML");
    assert_eq!(feeds.len(), 3);
    assert!(feeds.iter().all(|f| f.categories.is_empty()));
    assert_eq!(feeds[2].url, "https://feedpress.me/sixcolors?type=xml");
}

#[test]
fn nested_latin1_thunderbird_export_keeps_the_whole_folder_path() {
    let feeds = opml::parse(&fixture("thunderbird-nested.opml")).expect("valid OPML");
    assert_eq!(
        summary(&feeds),
        vec![
            (
                s("https://www.lejournaldelamaison.fr/rss.xml"),
                Some(s("Le Journal de la Maison")),
                vec![s("Maison"), s("Déco")]
            ),
            (
                s("https://www.cotemaison.fr/rss.xml"),
                Some(s("Côté Maison")),
                vec![s("Maison")]
            ),
            (
                s("https://example.org/atom.xml"),
                Some(s("Atom Blog")),
                vec![]
            ),
        ]
    );
}

#[test]
fn categories_with_empty_xml_url_and_feeds_with_children_are_read() {
    let feeds = opml::parse(&fixture("categories-with-xmlurl.opml")).expect("valid OPML");
    assert_eq!(
        summary(&feeds),
        vec![
            (
                s("https://blog.etsy.com/en/feed/"),
                Some(s("Etsy Finds")),
                vec![s("Shops")]
            ),
            (
                s("https://shop.example.com/collections/all.atom"),
                Some(s("Shop News")),
                vec![s("Shops")]
            ),
            (
                s("https://shop.example.com/collections/sale.atom"),
                Some(s("Shop News: Sale")),
                vec![s("Shops"), s("Shop News")]
            ),
            (
                s("https://nofeedtitle.example.net/rss"),
                Some(s("No Title Feed")),
                vec![s("Uncategorized")]
            ),
        ]
    );
}

#[test]
fn every_bad_line_is_named_and_nothing_is_returned() {
    let problems = opml::parse(&fixture("broken.opml")).expect_err("problems");
    let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(text.len(), 3, "{text:#?}");
    assert!(
        text[0].starts_with("line 6: ") && text[0].contains("file:"),
        "{}",
        text[0]
    );
    assert!(
        text[1].starts_with("line 7: ") && text[1].contains("listed twice (first on line 5)"),
        "{}",
        text[1]
    );
    assert!(
        text[2].starts_with("line 8: ") && text[2].contains("not a valid URL"),
        "{}",
        text[2]
    );
}

#[test]
fn malformed_and_foreign_documents_are_refused_with_their_line() {
    let truncated = b"<?xml version=\"1.0\"?>\n<opml version=\"2.0\">\n<body>\n<outline text=\"x\" xmlUrl=\"https://a.example/f\">\n</body>\n</opml>\n";
    let problems = opml::parse(truncated).expect_err("mismatched tags");
    assert!(
        problems[0].message.contains("not well-formed"),
        "{problems:?}"
    );
    assert_eq!(problems[0].line, 5);

    let rss = b"<?xml version=\"1.0\"?>\n<rss version=\"2.0\"><channel/></rss>";
    let problems = opml::parse(rss).expect_err("not OPML");
    assert_eq!(problems[0].line, 2);
    assert!(
        problems[0].message.contains("root element is <rss>"),
        "{problems:?}"
    );

    assert!(opml::parse(b"").is_err());
    assert!(opml::parse(b"<opml version=\"2.0\"><head/></opml>").is_err());
}

#[test]
fn entities_from_a_dtd_are_not_expanded() {
    let doc = br#"<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY big "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA">]>
<opml version="2.0"><body><outline text="&big;" xmlUrl="https://a.example/f"/></body></opml>"#;
    // An undeclared (to the reader) entity is an error, not an expansion.
    assert!(opml::parse(doc).is_err());
}

#[test]
fn export_then_import_gives_the_same_feeds() {
    for name in [
        "feedly.opml",
        "netnewswire-flat.opml",
        "thunderbird-nested.opml",
        "categories-with-xmlurl.opml",
    ] {
        let feeds = opml::parse(&fixture(name)).expect("valid OPML");
        let exported = opml::export(&feeds, "pinbridge sources");
        let again = opml::parse(exported.as_bytes())
            .unwrap_or_else(|p| panic!("{name}: export is not readable: {p:?}\n{exported}"));
        let mut before = summary(&feeds);
        let mut after = summary(&again);
        before.sort();
        after.sort();
        assert_eq!(before, after, "{name} round trip\n{exported}");
    }
}

/// What an import relies on: a feed's `categories` reach every item, so a route's
/// `when.category` can send an OPML folder to a board.
#[tokio::test]
async fn a_feeds_categories_reach_its_items_and_routes_match_them() {
    use crate::support::feed::{fixture, serve, source};
    use axum::routing::get;
    use pinbridge::store::SourceState;
    use pinbridge::sync::route::{RouteRule, Routes, When};

    let router = axum::Router::new().route("/feed.xml", get(|| async { fixture("rss2.xml") }));
    let addr = serve(router).await;
    let feed = source("crafts-blog", &format!("http://{addr}/feed.xml"), |s| {
        s.categories = vec!["Crafts".into(), "Paper".into()];
    });
    let poll = feed
        .poll_once(&SourceState::default())
        .await
        .expect("the feed is served");
    assert!(!poll.items.is_empty());
    let routes = Routes::new(vec![RouteRule {
        name: "crafts".into(),
        source: "*".into(),
        account: "main".into(),
        board: "Crafts board".into(),
        section: None,
        when: When {
            categories: vec!["crafts".into()],
            ..When::default()
        },
    }]);
    for item in &poll.items {
        assert!(
            item.categories.iter().any(|c| c == "Crafts")
                && item.categories.iter().any(|c| c == "Paper"),
            "{:?}",
            item.categories
        );
        assert_eq!(
            routes.targets(item).len(),
            1,
            "the folder's route matches {}",
            item.title
        );
    }
}
