//! Settings parsing and validation as a user meets them: TOML in, named problems out.

use super::*;
use crate::settings::parse_section;

fn parse(text: &str) -> (Option<WebhookSettings>, Vec<String>) {
    let table: toml::Table = toml::from_str(text).expect("test TOML");
    let mut problems = Vec::new();
    let settings: Option<WebhookSettings> = parse_section(table, "sources[0]", &mut problems);
    if let Some(s) = &settings {
        s.validate("sources[0]", &mut problems);
    }
    (settings, problems.iter().map(|p| p.to_string()).collect())
}

#[test]
fn a_shopify_source_with_rotation_parses_with_defaults() {
    let (s, problems) = parse(
        r#"preset = "shopify"
           secret = ["new", "old"]
           storefront_url = "https://shop.example.com""#,
    );
    assert!(problems.is_empty(), "{problems:?}");
    let s = s.unwrap();
    assert_eq!(s.secret.len(), 2);
    assert_eq!(s.max_body_bytes, 1024 * 1024);
    assert_eq!(s.tolerance, Duration::from_secs(300));
    assert_eq!(s.delivery_horizon, Duration::from_secs(7 * 86400));
    assert_eq!(s.effective_scheme(), Scheme::Shopify);
}

#[test]
fn missing_secret_and_storefront_are_named() {
    let (_, problems) = parse(r#"preset = "shopify""#);
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("sources[0].secret: required"))
    );
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("sources[0].storefront_url: required"))
    );
}

#[test]
fn unknown_preset_is_a_problem_not_a_panic() {
    let (s, problems) = parse(
        r#"preset = "shopfy"
                                secret = "x""#,
    );
    assert!(s.is_none());
    assert!(problems[0].contains("shopfy"), "{problems:?}");
}

#[test]
fn standard_webhooks_secrets_must_be_base64_keys() {
    let (_, problems) = parse(
        r#"preset = "svix"
           secret = ["whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "whsec_not*base64"]
           mapping = { id = "/id", title = "/title" }"#,
    );
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(
        problems[0].starts_with("sources[0].secret[1]:"),
        "{problems:?}"
    );
    assert!(
        !problems[0].contains("not*base64"),
        "secret echoed: {problems:?}"
    );
}

#[test]
fn generic_needs_a_header_and_a_valid_mapping() {
    let (_, problems) = parse(
        r#"preset = "generic"
           secret = "s"
           signed = "timestamp.body"
           mapping = { id = "id", title = "/title" }"#,
    );
    let joined = problems.join("\n");
    assert!(
        joined.contains("sources[0].signature_header: required"),
        "{joined}"
    );
    assert!(
        joined.contains("sources[0].timestamp_header: required"),
        "{joined}"
    );
    assert!(joined.contains("sources[0].mapping.id:"), "{joined}");
}

#[test]
fn keys_of_other_presets_are_reported() {
    let (_, problems) = parse(
        r#"preset = "ghost"
           secret = "s"
           storefront_url = "https://x.example"
           prefix = "sha256=""#,
    );
    let joined = problems.join("\n");
    assert!(
        joined.contains("storefront_url: only used with preset shopify"),
        "{joined}"
    );
    assert!(
        joined.contains("prefix: only used with scheme generic"),
        "{joined}"
    );
}

#[test]
fn unknown_keys_and_bad_durations_are_reported() {
    let (_, problems) = parse(
        r#"preset = "ghost"
           secret = "s"
           secert = "typo""#,
    );
    assert!(
        problems
            .iter()
            .any(|p| p == "sources[0].secert: unknown key"),
        "{problems:?}"
    );
    let (_, problems) = parse(
        r#"preset = "ghost"
           secret = "s"
           tolerance = "soon""#,
    );
    assert!(
        problems.iter().any(|p| p.contains("not a duration")),
        "{problems:?}"
    );
}
