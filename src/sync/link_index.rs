//! Link normalisation for the link index (one Pin per link per board).
//!
//! The same product reaches pinbridge from several sources with slightly different links: a
//! feed adds `utm_*` tracking, a webhook builds the link from the shop's domain in another case,
//! a page anchor is appended. Normalising makes those one key: scheme and host lowercase
//! (the `url` crate does that, and drops a default port), the fragment dropped, `utm_*`
//! parameters dropped, every other parameter kept in its order (they may select a variant).
//! Paths keep their case: servers may treat `/Shoe` and `/shoe` as different pages.

use url::Url;

/// The key a link is indexed under. A link that does not parse as an absolute URL is only
/// trimmed (it is still a stable key).
pub fn normalise_link(link: &str) -> String {
    let trimmed = link.trim();
    let Ok(mut url) = Url::parse(trimmed) else {
        return trimmed.to_string();
    };
    url.set_fragment(None);
    if url.query().is_some() {
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| !k.to_ascii_lowercase().starts_with("utm_"))
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        if kept.is_empty() {
            url.set_query(None);
        } else {
            url.query_pairs_mut().clear().extend_pairs(kept);
        }
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::normalise_link;

    #[test]
    fn scheme_and_host_are_lowercased_and_the_default_port_dropped() {
        assert_eq!(
            normalise_link("HTTPS://Shop.Example.COM:443/products/Red-Shoe"),
            "https://shop.example.com/products/Red-Shoe"
        );
    }

    #[test]
    fn fragments_and_utm_parameters_are_dropped() {
        assert_eq!(
            normalise_link("https://shop.example/p/1?utm_source=feed&UTM_Medium=rss#reviews"),
            "https://shop.example/p/1"
        );
    }

    #[test]
    fn other_parameters_are_kept_in_order() {
        assert_eq!(
            normalise_link("https://shop.example/p/1?variant=42&utm_campaign=x&size=M"),
            "https://shop.example/p/1?variant=42&size=M"
        );
        assert_ne!(
            normalise_link("https://shop.example/p/1?variant=42"),
            normalise_link("https://shop.example/p/1?variant=43"),
        );
    }

    #[test]
    fn a_feed_link_and_a_webhook_link_to_one_product_are_one_key() {
        assert_eq!(
            normalise_link("https://shop.example/products/mug?utm_source=rss&utm_medium=feed"),
            normalise_link("https://SHOP.example/products/mug"),
        );
    }

    #[test]
    fn paths_keep_their_case_and_text_that_is_not_a_url_is_trimmed() {
        assert_ne!(
            normalise_link("https://a.example/Shoe"),
            normalise_link("https://a.example/shoe")
        );
        assert_eq!(normalise_link("  not a url "), "not a url");
    }
}
