//! Property tests: arbitrary bytes and headers never panic a verifier, a mapper or the whole
//! receive path; random signatures never verify; what we sign always does.

use async_trait::async_trait;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use pinbridge::item::SourceId;
use pinbridge::sources::webhook::json::{At, check_pointer};
use pinbridge::sources::webhook::presets::{Input, Mapper};
use pinbridge::sources::webhook::receive::{Hook, prepare};
use pinbridge::sources::webhook::verify::{Request, Verifier, VerifyError};
use pinbridge::sources::webhook::{
    FetchError, MediaFetcher, Preset, Rejection, Scheme, WebhookSettings,
};
use proptest::prelude::*;
use serde_json::Value;

use crate::support::webhook::*;

const WHSEC: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const NOW_MS: i64 = 1_768_471_203_000;

const SCHEMES: [Scheme; 9] = [
    Scheme::Shopify,
    Scheme::Woocommerce,
    Scheme::Ghost,
    Scheme::WpWebhooks,
    Scheme::StandardWebhooks,
    Scheme::Svix,
    Scheme::Github,
    Scheme::Stripe,
    Scheme::Generic,
];

/// Header names any verifier or mapper reads, plus a few others.
const HEADER_NAMES: [&str; 20] = [
    "X-Shopify-Hmac-Sha256",
    "X-Shopify-Topic",
    "X-Shopify-Event-Id",
    "X-Shopify-Shop-Domain",
    "X-WC-Webhook-Signature",
    "X-WC-Webhook-Topic",
    "X-Ghost-Signature",
    "X-WP-Webhook-Signature",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
    "svix-id",
    "svix-timestamp",
    "svix-signature",
    "X-Hub-Signature-256",
    "X-GitHub-Delivery",
    "Stripe-Signature",
    "X-Signature",
    "X-Timestamp",
    "Content-Type",
];

fn verifier(scheme: Scheme) -> Verifier {
    let secret = if matches!(scheme, Scheme::StandardWebhooks | Scheme::Svix) {
        WHSEC
    } else {
        "fuzz-secret"
    };
    let mut s = WebhookSettings::new(Preset::Generic, &[secret]);
    s.scheme = Some(scheme);
    if scheme == Scheme::Generic {
        s.signature_header = Some("X-Signature".into());
        s.signed = Some(pinbridge::sources::webhook::settings::Signed::TimestampBody);
        s.timestamp_header = Some("X-Timestamp".into());
    }
    Verifier::from_settings(&s).unwrap()
}

/// Header values shaped like the real ones, and plain noise.
fn header_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "(t=-?[0-9]{0,22}|v1=[0-9a-f]{0,70}|v0=[a-z]{0,4}|sha256=[0-9a-fA-F]{0,70}|, |,| |=)*",
        "(v1,[A-Za-z0-9+/=]{0,50}|v1a,[A-Za-z0-9+/]{0,8}|v1,| )*",
        "-?[0-9]{0,25}",
        "[A-Za-z0-9+/=]{0,60}",
        "[ -~]{0,80}",
    ]
}

fn headers() -> impl Strategy<Value = HeaderMap> {
    prop::collection::vec(
        (prop::sample::select(HEADER_NAMES.to_vec()), header_value()),
        0..10,
    )
    .prop_map(|pairs| {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            if let Ok(v) = HeaderValue::from_str(&value) {
                map.insert(HeaderName::from_bytes(name.as_bytes()).unwrap(), v);
            }
        }
        map
    })
}

const KEYS: [&str; 44] = [
    "id",
    "title",
    "body_html",
    "handle",
    "images",
    "image",
    "media",
    "preview_image",
    "src",
    "alt",
    "tags",
    "published_at",
    "status",
    "vendor",
    "name",
    "short_description",
    "description",
    "permalink",
    "categories",
    "date_created_gmt",
    "post",
    "current",
    "custom_excerpt",
    "excerpt",
    "url",
    "feature_image",
    "html",
    "primary_author",
    "post_id",
    "ID",
    "post_title",
    "post_content",
    "post_permalink",
    "post_thumbnail",
    "taxonomies",
    "post_date_gmt",
    "post_status",
    "rendered",
    "link",
    "_embedded",
    "wp:featuredmedia",
    "source_url",
    "wp:term",
    "featured_media",
];

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        prop::sample::select(vec!["active", "draft", "publish", "published", ""])
            .prop_map(Value::from),
        "https?://[a-z]{1,8}\\.example/[a-z/]{0,10}".prop_map(Value::String),
        "(<img src=\"[^\"]{0,20}\"( alt=\"[^\"]{0,5}\")?>|<p>|[ -~]{0,10})*"
            .prop_map(Value::String),
        "\\PC{0,20}".prop_map(Value::String),
    ];
    leaf.prop_recursive(5, 96, 8, |inner| {
        let key = prop_oneof![
            prop::sample::select(KEYS.to_vec()).prop_map(String::from),
            "[a-z_]{1,6}"
        ];
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key, inner, 0..10)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A fetcher that answers without a network.
struct StubFetcher;
#[async_trait]
impl MediaFetcher for StubFetcher {
    async fn get_json(&self, url: &url::Url, _: bool) -> Result<Option<Value>, FetchError> {
        Ok(url
            .path()
            .ends_with("/1")
            .then(|| serde_json::json!({"source_url": "https://cdn.example/x.jpg"})))
    }
}

fn mappers() -> Vec<Mapper> {
    let mut generic = settings(
        r#"preset = "generic"
           secret = "s"
           signature_header = "X-Signature"
           mapping = { id = "/id", title = "/post/title", description = "/0/description", link = "/url",
                       image = "/images/0/src", tags = "/tags", published = "/published_at",
                       publish_pointer = "/status", publish_values = ["active", "true", "1"] }"#,
    );
    generic.scheme = Some(Scheme::Generic);
    let mut shopify = shopify_settings("s");
    shopify.shop_domain = None;
    let all = [
        shopify,
        WebhookSettings::new(Preset::Woocommerce, &["s"]),
        WebhookSettings::new(Preset::Ghost, &["s"]),
        WebhookSettings::new(Preset::WpWebhooks, &["s"]),
        WebhookSettings::new(Preset::Wordpress, &["s"]),
        generic,
    ];
    all.iter()
        .map(|s| Mapper::from_settings(s).unwrap())
        .collect()
}

fn topic_headers() -> HeaderMap {
    let mut h = HeaderMap::new();
    h.insert(
        "X-Shopify-Topic",
        HeaderValue::from_static("products/update"),
    );
    h.insert(
        "X-WC-Webhook-Topic",
        HeaderValue::from_static("product.updated"),
    );
    h
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn random_deliveries_never_verify_and_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..512),
        headers in headers(),
        now_offset in -10_000_000_000i64..10_000_000_000,
    ) {
        for scheme in SCHEMES {
            let request = Request { headers: &headers, body: &body, now_ms: NOW_MS + now_offset };
            let result = verifier(scheme).verify(&request);
            prop_assert!(result.is_err(), "{scheme:?} verified a random delivery");
        }
    }

    #[test]
    fn what_we_sign_verifies_and_any_changed_byte_does_not(
        body in prop::collection::vec(any::<u8>(), 1..512),
        skew in -299i64..299,
        flip in any::<prop::sample::Index>(),
    ) {
        let ts = NOW_MS / 1000 + skew;
        let mut headers = HeaderMap::new();
        for (k, v) in sign_standard(WHSEC, "msg_fuzz", ts, &body) {
            headers.insert(HeaderName::from_bytes(k.as_bytes()).unwrap(), HeaderValue::from_str(&v).unwrap());
        }
        let v = verifier(Scheme::StandardWebhooks);
        let signed = v.verify(&Request { headers: &headers, body: &body, now_ms: NOW_MS });
        prop_assert!(signed.is_ok(), "{:?}", signed);
        let mut changed = body.clone();
        changed[flip.index(body.len())] ^= 0x01;
        let tampered = v.verify(&Request { headers: &headers, body: &changed, now_ms: NOW_MS });
        prop_assert_eq!(tampered, Err(VerifyError::BadSignature));
    }

    #[test]
    fn mappers_never_panic_on_any_json(doc in json_value(), wrap_ghost in any::<bool>()) {
        let doc = if wrap_ghost { serde_json::json!({"post": {"current": doc}}) } else { doc };
        let source = SourceId::new("fuzz");
        let headers = topic_headers();
        for mapper in mappers() {
            let input = Input { source: &source, headers: &headers, doc: &doc };
            // Ok or a readable error; a panic fails the test.
            if let Err(e) = futures::executor::block_on(mapper.map(&input, &StubFetcher)) {
                prop_assert!(!e.to_string().is_empty());
            }
        }
    }

    #[test]
    fn pointers_never_panic(pointer in "(/[a-z0-9~]{0,4}){0,5}", doc in json_value()) {
        if check_pointer(&pointer).is_ok() {
            let at = At::root(&doc).pointer(&pointer);
            let _ = (at.opt_str(), at.opt_id(), at.opt_array(), at.scalar_text());
        }
    }

    /// The whole receive path with a valid signature over arbitrary bytes: only ever an item,
    /// a skip, or a 400 naming the problem (never 401, never a panic).
    #[test]
    fn signed_garbage_is_a_400_or_an_item(body in prop_oneof![
        prop::collection::vec(any::<u8>(), 0..256),
        json_value().prop_map(|v| serde_json::to_vec(&v).unwrap()),
    ]) {
        let source = SourceId::new("fuzz");
        let presets = [
            shopify_settings("s"),
            WebhookSettings::new(Preset::Woocommerce, &["s"]),
            WebhookSettings::new(Preset::WpWebhooks, &["s"]),
            WebhookSettings::new(Preset::Wordpress, &["s"]),
        ];
        for settings in presets {
            let header = match settings.preset {
                Preset::Shopify => "X-Shopify-Hmac-Sha256",
                Preset::Woocommerce => "X-WC-Webhook-Signature",
                _ => "X-WP-Webhook-Signature",
            };
            let hook = Hook::new(source.clone(), settings, "fuzz").unwrap();
            let mut headers = topic_headers();
            headers.insert(HeaderName::from_bytes(header.as_bytes()).unwrap(), HeaderValue::from_str(&sign_base64("s", &body)).unwrap());
            let result = futures::executor::block_on(prepare(&hook, &headers, &body, NOW_MS, &StubFetcher));
            match result {
                Ok(_) | Err(Rejection::BadRequest(_)) => {}
                Err(other) => prop_assert!(false, "{:?}: unexpected {other}", hook.settings.preset),
            }
        }
    }
}

#[test]
fn the_fuzz_fetcher_is_used_for_wordpress() {
    // Guards the stub above: a WordPress post with featured_media 1 gets the stub's image.
    let doc = serde_json::json!({"id": 1, "title": {"rendered": "t"}, "status": "publish",
                                 "link": "https://blog.example/?p=1", "featured_media": 1});
    let mapper = Mapper::from_settings(&WebhookSettings::new(Preset::Wordpress, &["s"])).unwrap();
    let source = SourceId::new("fuzz");
    let headers = HeaderMap::new();
    let input = Input {
        source: &source,
        headers: &headers,
        doc: &doc,
    };
    let mapped = futures::executor::block_on(mapper.map(&input, &StubFetcher)).unwrap();
    let pinbridge::sources::webhook::presets::Mapped::Item { item, .. } = mapped else {
        panic!("an item")
    };
    assert_eq!(item.image_url.as_deref(), Some("https://cdn.example/x.jpg"));
}
