//! Whether a PostgreSQL URL protects the connection: without `sslmode=verify-full` (or
//! `verify-ca`), anyone on the path to a remote server can read the password and the data, or
//! answer in the server's place (`prefer` and `require` do not check the certificate).

use std::net::IpAddr;

/// A warning for a URL whose connection to a non-loopback host is not verified TLS, or `None`.
/// The message names the host, never the URL (it may hold a password).
pub fn tls_warning(url: &str) -> Option<String> {
    let parsed = url::Url::parse(url).ok()?;
    let param = |name: &str| {
        parsed
            .query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let host = match param("host") {
        // libpq's `host=` query parameter wins; a path there is a Unix socket.
        Some(h) if h.starts_with('/') => return None,
        Some(h) => h,
        None => parsed.host_str().unwrap_or("").to_string(),
    };
    if host.is_empty() || is_loopback(&host) {
        return None;
    }
    let mode = param("sslmode").unwrap_or_else(|| "prefer".into());
    if matches!(mode.as_str(), "verify-full" | "verify-ca") {
        return None;
    }
    Some(format!(
        "store.url connects to {host} with sslmode={mode}: the server's certificate is not checked, \
         so the password and the data can be read or altered on the way; add \
         `sslmode=verify-full` (and `sslrootcert=…` if the CA is not in the system store)"
    ))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::tls_warning;

    #[test]
    fn remote_hosts_without_verified_tls_are_warned_about() {
        for url in [
            "postgres://u:hunter2@db.example.com/pinbridge",
            "postgres://u:hunter2@db.example.com/pinbridge?sslmode=require",
            "postgresql://u@10.0.0.5:5432/p?sslmode=prefer",
        ] {
            let warning = tls_warning(url).unwrap_or_else(|| panic!("no warning for {url}"));
            assert!(warning.contains("sslmode=verify-full"), "{warning}");
            assert!(!warning.contains("hunter2"), "{warning}");
        }
    }

    #[test]
    fn loopback_sockets_and_verified_tls_are_fine() {
        for url in [
            "postgres://u:p@localhost/p",
            "postgres://u:p@127.0.0.1:5432/p",
            "postgres://u:p@[::1]/p",
            "postgres://u:p@db.example.com/p?sslmode=verify-full",
            "postgres://u:p@db.example.com/p?sslmode=verify-ca",
            "postgres:///p?host=/var/run/postgresql",
        ] {
            assert_eq!(tls_warning(url), None, "{url}");
        }
    }
}
