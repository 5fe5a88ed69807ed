//! Hiding secrets in URLs and internal addresses in error texts before they are shown or stored.
//!
//! Feed and shop URLs often carry credentials in their query (`?token=…`, `?key=…`), and
//! resolver or connect errors name the private addresses a fetch reached or was refused. Both
//! end up on the status page, in the admin API, in logs and in CLI output; every one of those
//! goes through this module, so there is one rule: query *values* become `REDACTED` (the keys
//! stay, so the operator can still tell which URL it is), a password in the URL becomes
//! `REDACTED`, and IP addresses in error texts become `[address hidden]`.

use std::sync::LazyLock;

use regex::Regex;

/// What a hidden query value or password reads as.
pub const REDACTED: &str = "REDACTED";
/// What a hidden IP address reads as.
pub const HIDDEN_ADDRESS: &str = "[address hidden]";

/// Absolute URLs inside free text: up to whitespace, quotes, angle brackets or a closing
/// parenthesis (reqwest writes `error sending request for url (https://…)`).
static URL_IN_TEXT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b[a-z][a-z0-9+.-]*://[^\s"'<>()]+"#).expect("a valid URL pattern")
});

/// Candidate address tokens: runs of characters an IP address, its brackets, port and zone
/// are made of. Each is checked by parsing, so words like `reqwest::Error` or times like
/// `12:30:00` are left alone.
static TOKEN: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"[0-9A-Za-z:.%\[\]]+").expect("a valid token pattern"));

/// `raw` with every query value and any password (or a lone user name, usually a key)
/// replaced by [`REDACTED`]. Text that is not
/// an absolute URL is returned with the URLs inside it redacted (see [`text`]).
pub fn url(raw: &str) -> String {
    let Ok(mut parsed) = url::Url::parse(raw) else {
        return text(raw);
    };
    if parsed.password().is_some() {
        let _ = parsed.set_password(Some(REDACTED));
    } else if !parsed.username().is_empty() {
        // A user name without a password is usually an API key (`https://KEY@host/`).
        let _ = parsed.set_username(REDACTED);
    }
    if let Some(query) = parsed.query() {
        // Rebuilt by hand rather than with `query_pairs_mut`, which would percent-encode the
        // keys differently from how the operator wrote them.
        let hidden: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) => format!("{key}={REDACTED}"),
                None if pair.is_empty() => String::new(),
                None => pair.to_string(),
            })
            .collect();
        parsed.set_query(Some(&hidden.join("&")));
    }
    parsed.to_string()
}

/// A request path for the log: a WebSub callback's token (`/websub/{source}/{token}`) is a
/// capability, so whoever reads the logs must not learn it.
pub fn callback_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path
        .strip_prefix("/websub/")
        .and_then(|rest| rest.split_once('/'))
    {
        Some((source, _token)) => format!("/websub/{source}/{REDACTED}").into(),
        None => path.into(),
    }
}

/// `message` with every URL in it passed through [`url`].
pub fn text(message: &str) -> String {
    URL_IN_TEXT
        .replace_all(message, |found: &regex::Captures<'_>| {
            let found = &found[0];
            match url::Url::parse(found) {
                Ok(_) => url(found),
                Err(_) => found.to_string(),
            }
        })
        .into_owned()
}

/// An error text fit to store and show: URLs redacted and IP addresses hidden. For poll
/// errors, which name the addresses a feed's host resolved to or a connect attempt reached.
pub fn error(message: &str) -> String {
    let redacted = text(message);
    TOKEN
        .replace_all(&redacted, |found: &regex::Captures<'_>| {
            let token = &found[0];
            let trimmed = token.trim_end_matches(['.', ':']);
            if is_address(trimmed) {
                format!("{HIDDEN_ADDRESS}{}", &token[trimmed.len()..])
            } else {
                token.to_string()
            }
        })
        .into_owned()
}

/// An IP address, optionally bracketed, with an optional `:port` and `%zone`.
fn is_address(token: &str) -> bool {
    use std::net::IpAddr;
    let parses = |host: &str| {
        let host = host.split('%').next().unwrap_or(host);
        host.contains(['.', ':']) && host.parse::<IpAddr>().is_ok()
    };
    match token.strip_prefix('[') {
        Some(rest) => parses(rest.split(']').next().unwrap_or(rest)),
        // `10.0.0.5:443`: an IPv4 address with a port.
        None => parses(token) || token.rsplit_once(':').is_some_and(|(host, _)| parses(host)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_and_passwords_are_redacted_keys_stay() {
        assert_eq!(
            url("https://shop.example/feed.xml?token=secret&page=2"),
            "https://shop.example/feed.xml?token=REDACTED&page=REDACTED"
        );
        assert_eq!(
            url("https://user:pw@shop.example/f"),
            "https://user:REDACTED@shop.example/f"
        );
        assert_eq!(
            callback_path("/websub/blog/abc123"),
            "/websub/blog/REDACTED"
        );
        assert_eq!(callback_path("/websub/blog"), "/websub/blog");
        assert_eq!(callback_path("/hooks/shop"), "/hooks/shop");
        assert_eq!(
            url("https://sk_live_123@shop.example/f"),
            "https://REDACTED@shop.example/f"
        );
        assert_eq!(
            url("https://shop.example/feed.xml"),
            "https://shop.example/feed.xml"
        );
        assert_eq!(url("https://a.example/?flag"), "https://a.example/?flag");
    }

    #[test]
    fn urls_inside_text_are_redacted() {
        let message = "error sending request for url (https://a.example/f?key=abc123): boom";
        let shown = text(message);
        assert!(!shown.contains("abc123"), "{shown}");
        assert!(
            shown.contains("https://a.example/f?key=REDACTED"),
            "{shown}"
        );
        assert_eq!(text("no url here"), "no url here");
    }

    #[test]
    fn error_texts_hide_ip_addresses_but_not_times() {
        let shown = error(
            "feeds.internal resolves to 10.1.2.3, a private address; tried [fd00::1]:443, 10.0.0.5:80 and fe80::1%eth0 at 12:30:00 (reqwest::Error)",
        );
        assert!(!shown.contains("10.0.0.5"), "{shown}");
        assert!(shown.contains("reqwest::Error"), "{shown}");
        assert!(!shown.contains("10.1.2.3"), "{shown}");
        assert!(!shown.contains("fd00::1"), "{shown}");
        assert!(!shown.contains("fe80::1"), "{shown}");
        assert!(shown.contains("12:30:00"), "{shown}");
        assert!(shown.contains("feeds.internal resolves to [address hidden]"));
    }
}
