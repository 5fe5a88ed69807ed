//! What Etsy's Open API v3 answers (listing pages, shops, listings with images and price) and
//! how a listing becomes an `Item` keyed by `listing:<id>`.

use serde::Deserialize;

use crate::item::{DedupKey, Item, SourceId};

#[derive(Deserialize)]
pub(super) struct Page<T> {
    #[serde(default)]
    pub(super) count: Option<u64>,
    pub(super) results: Vec<T>,
}

#[derive(Deserialize)]
pub(super) struct ListingRef {
    pub(super) listing_id: u64,
}

#[derive(Deserialize)]
pub(super) struct ShopRef {
    pub(super) shop_id: u64,
    #[serde(default)]
    pub(super) shop_name: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Listing {
    pub(super) listing_id: u64,
    #[serde(default)]
    pub(super) title: Option<String>,
    #[serde(default)]
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) state: Option<String>,
    #[serde(default)]
    pub(super) url: Option<String>,
    #[serde(default)]
    pub(super) tags: Vec<String>,
    #[serde(default)]
    pub(super) price: Option<Money>,
    #[serde(default)]
    pub(super) original_creation_timestamp: Option<i64>,
    #[serde(default)]
    pub(super) created_timestamp: Option<i64>,
    #[serde(default)]
    pub(super) images: Vec<Image>,
}

#[derive(Deserialize)]
pub(super) struct Money {
    pub(super) amount: i64,
    pub(super) divisor: i64,
    pub(super) currency_code: String,
}

#[derive(Deserialize)]
pub(super) struct Image {
    #[serde(default)]
    pub(super) url_fullxfull: Option<String>,
    #[serde(default)]
    pub(super) rank: Option<i64>,
    #[serde(default)]
    pub(super) alt_text: Option<String>,
}

/// The dedup key of a listing: its id survives renewals, which give it new timestamps.
pub fn listing_key(id: u64) -> DedupKey {
    DedupKey::new("listing", &id.to_string())
}

pub(super) fn created_ms(l: &Listing) -> Option<i64> {
    l.original_creation_timestamp
        .or(l.created_timestamp)
        .map(|s| s.saturating_mul(1000))
}

pub(super) fn to_item(source: &SourceId, l: Listing) -> Item {
    let mut item = Item::new(source.clone(), listing_key(l.listing_id));
    item.published_ms = created_ms(&l);
    item.title = l.title.unwrap_or_default();
    item.description = l.description.unwrap_or_default();
    item.link = l.url.filter(|u| !u.trim().is_empty());
    // Rank 1 is the listing's main photo; without ranks, the first.
    let image = l
        .images
        .into_iter()
        .filter(|i| i.url_fullxfull.is_some())
        .min_by_key(|i| i.rank.unwrap_or(i64::MAX));
    if let Some(image) = image {
        item.image_url = image.url_fullxfull;
        item.image_alt = image.alt_text.filter(|a| !a.trim().is_empty());
    }
    if let Some(price) = l.price {
        item.fields
            .insert("price".into(), format_price(price.amount, price.divisor));
        item.fields.insert("currency".into(), price.currency_code);
    }
    item.fields
        .insert("listing_id".into(), l.listing_id.to_string());
    item.categories = l.tags;
    item
}

/// `amount / divisor` as a decimal: 1250 / 100 → "12.50". Exact for power-of-ten divisors.
pub fn format_price(amount: i64, divisor: i64) -> String {
    if divisor <= 1 {
        return amount.to_string();
    }
    let digits = divisor.checked_ilog10().unwrap_or(0);
    if 10i64.checked_pow(digits) == Some(divisor) {
        let sign = if amount < 0 { "-" } else { "" };
        let abs = amount.unsigned_abs();
        let d = divisor.unsigned_abs();
        return format!(
            "{sign}{}.{:0width$}",
            abs / d,
            abs % d,
            width = digits as usize
        );
    }
    format!("{:.2}", amount as f64 / divisor as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_exact_decimals() {
        assert_eq!(format_price(1250, 100), "12.50");
        assert_eq!(format_price(5, 100), "0.05");
        assert_eq!(format_price(-1999, 100), "-19.99");
        assert_eq!(format_price(7, 1), "7");
        assert_eq!(format_price(10, 3), "3.33");
    }

    #[test]
    fn the_rank_one_image_and_tags_make_the_item() {
        let listing: Listing = serde_json::from_value(serde_json::json!({
            "listing_id": 77, "title": "Mug", "url": "https://www.etsy.com/listing/77/mug",
            "tags": ["mug", "ceramic"], "price": {"amount": 2400, "divisor": 100, "currency_code": "EUR"},
            "created_timestamp": 1700000000,
            "images": [
                {"url_fullxfull": "https://i.etsystatic.com/2.jpg", "rank": 2},
                {"url_fullxfull": "https://i.etsystatic.com/1.jpg", "rank": 1, "alt_text": "A blue mug"}
            ]
        }))
        .unwrap();
        let item = to_item(&SourceId::new("etsy"), listing);
        assert_eq!(item.key.as_str(), "listing:77");
        assert_eq!(
            item.image_url.as_deref(),
            Some("https://i.etsystatic.com/1.jpg")
        );
        assert_eq!(item.image_alt.as_deref(), Some("A blue mug"));
        assert_eq!(item.fields["price"], "24.00");
        assert_eq!(item.fields["currency"], "EUR");
        assert_eq!(item.categories, ["mug", "ceramic"]);
        assert_eq!(item.published_ms, Some(1_700_000_000_000));
    }
}
