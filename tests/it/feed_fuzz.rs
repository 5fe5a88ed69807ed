//! Arbitrary input never panics the normalizer, the side scanner or the parser, and no nesting
//! depth or document size can overflow the parser's stack: a document is either parsed or
//! refused with a reason.

use pinbridge::item::SourceId;
use pinbridge::sources::feed::charset::normalize;
use pinbridge::sources::feed::depth::MAX_NESTING;
use pinbridge::sources::feed::images::MinSize;
use pinbridge::sources::feed::parse::parse_feed;
use proptest::prelude::*;
use url::Url;

fn run(body: &[u8], content_type: Option<&str>) {
    let _ = normalize(body, content_type);
    let url = Url::parse("https://fuzz.example/feed").expect("url");
    let _ = parse_feed(
        &SourceId::new("f"),
        body,
        content_type,
        &url,
        MinSize::default(),
    );
}

/// Fragments that steer random input into the interesting paths.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>".to_string()),
        Just("<?xml encoding='utf-16'?>".to_string()),
        Just("<rss>".to_string()),
        Just("<rss version=''>".to_string()),
        Just("<channel><title>t</title>".to_string()),
        Just("<item>".to_string()),
        Just("</item>".to_string()),
        Just("<image><url>".to_string()),
        Just("</url></image>".to_string()),
        Just("<guid>g</guid>".to_string()),
        Just("<link>/x</link>".to_string()),
        Just("<![CDATA[<img src=x>]]>".to_string()),
        Just("&amp;&#x41;&#99999999;&bogus;".to_string()),
        Just("<feed xmlns=\"http://www.w3.org/2005/Atom\"><entry>".to_string()),
        Just("{\"version\":\"https://jsonfeed.org/version/1.1\",\"items\":[{\"id\":1,\"image\":\"x\"}".to_string()),
        "[^\u{0}]{0,12}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_do_not_panic(body in proptest::collection::vec(any::<u8>(), 0..512),
                                    charset in proptest::option::of("[a-z0-9-]{0,12}")) {
        let ct = charset.map(|c| format!("text/xml; charset={c}"));
        run(&body, ct.as_deref());
    }

    #[test]
    fn feed_shaped_input_does_not_panic(parts in proptest::collection::vec(fragment(), 0..24),
                                        latin in any::<bool>()) {
        let text = parts.concat();
        let body = if latin { text.chars().map(|c| (c as u32 % 256) as u8).collect() } else { text.into_bytes() };
        run(&body, None);
    }
}

/// Elements that feed-rs handles recursively (or skips), to nest in random orders.
fn nesting_tag() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("media:content"),
        Just("media:group"),
        Just("div"),
        Just("content"),
        Just("x:unknown"),
    ]
}

/// An RSS or Atom document with one entry whose body nests `tags` in order (closed in reverse),
/// each level optionally padded with text to grow the document.
fn nested_document(atom: bool, tags: &[&str], pad: usize) -> Vec<u8> {
    let (head, tail) = if atom {
        (
            r#"<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"><title>t</title><entry><id>e</id>"#,
            "</entry></feed>",
        )
    } else {
        (
            r#"<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>t</title><item><guid>e</guid>"#,
            "</item></channel></rss>",
        )
    };
    let filler = "p".repeat(pad);
    let mut doc = String::from(head);
    for tag in tags {
        doc.push_str(&format!(
            "<{tag} url=\"https://cdn.example/a.jpg\">{filler}"
        ));
    }
    for tag in tags.iter().rev() {
        doc.push_str(&format!("</{tag}>"));
    }
    doc.push_str(tail);
    doc.into_bytes()
}

proptest! {
    // Each case can be a few hundred KB: fewer cases, every one on the stack tokio threads get.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_depth_is_parsed_or_refused_with_the_reason(
        tags in proptest::collection::vec(nesting_tag(), 0..6000),
        pad in 0usize..40,
        atom in any::<bool>(),
    ) {
        let body = nested_document(atom, &tags, pad);
        let url = Url::parse("https://fuzz.example/feed").expect("url");
        // The nesting of the entry's parents: feed > entry, or rss > channel > item.
        let depth = tags.len() + if atom { 2 } else { 3 };
        let outcome = std::thread::Builder::new()
            .stack_size(2 * 1024 * 1024)
            .spawn(move || {
                parse_feed(&SourceId::new("f"), &body, None, &url, MinSize::default())
                    .map(|p| p.items.len())
                    .map_err(|e| e.to_string())
            })
            .expect("thread")
            .join()
            .expect("no panic");
        if depth > MAX_NESTING {
            let err = outcome.expect_err("too deep is refused");
            prop_assert!(err.contains(&format!("nested deeper than {MAX_NESTING}")), "{}", err);
        } else {
            prop_assert_eq!(outcome, Ok(1));
        }
    }

    #[test]
    fn wide_and_large_documents_parse(items in 1usize..400, pad in 0usize..3000) {
        // Size without depth is not refused: many items, long text.
        let text = "x".repeat(pad);
        let mut doc = String::from(r#"<rss version="2.0"><channel><title>t</title>"#);
        for i in 0..items {
            doc.push_str(&format!("<item><guid>{i}</guid><description>{text}</description></item>"));
        }
        doc.push_str("</channel></rss>");
        let url = Url::parse("https://fuzz.example/feed").expect("url");
        let parsed = parse_feed(&SourceId::new("f"), doc.as_bytes(), None, &url, MinSize::default());
        prop_assert_eq!(parsed.map(|p| p.items.len()).map_err(|e| e.to_string()), Ok(items));
    }
}
