//! Arbitrary input never panics the normalizer, the side scanner or the parser.

use pinbridge::item::SourceId;
use pinbridge::sources::feed::charset::normalize;
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
