//! The address guard: a feed URL (or a redirect, or a linked page) may not make pinbridge
//! fetch from loopback, private networks, cloud metadata endpoints and other non-public
//! addresses, unless the source says `allow_private = true`.
//!
//! The check runs on the addresses the connection will actually use: a DNS resolver that
//! drops non-public answers is installed in the client, so what was checked is what is dialled
//! (no DNS-rebinding gap). reqwest skips the resolver for IP-literal URLs, so those are checked
//! before each request, and redirects are followed by hand (`fetch.rs`) so every hop passes
//! here again. Proxies from the environment are disabled in guarded clients: through a proxy the
//! target's address would never be seen.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};

use super::error::{FeedError, redact};

/// Why `ip` is not a public unicast address, or `None` when it is.
pub fn non_public_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => v4_reason(v4),
        IpAddr::V6(v6) => v6_reason(v6),
    }
}

fn v4_reason(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    Some(match (a, b, c) {
        (0, _, _) => "an unspecified (\"this network\") address",
        (10, _, _) | (172, 16..=31, _) | (192, 168, _) => "a private network address",
        (100, 64..=127, _) => "a carrier-grade NAT address",
        (127, _, _) => "a loopback address",
        (169, 254, _) => "a link-local address (cloud metadata lives here)",
        (192, 0, 0) => "an IETF protocol address",
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => "a documentation address",
        (192, 88, 99) => "a 6to4 relay address",
        (198, 18..=19, _) => "a benchmarking address",
        (224..=239, _, _) => "a multicast address",
        (240..=255, _, _) => "a reserved or broadcast address",
        _ => return None,
    })
}

fn v6_reason(ip: Ipv6Addr) -> Option<&'static str> {
    let seg = ip.segments();
    if ip.is_unspecified() {
        return Some("an unspecified address");
    }
    if ip.is_loopback() {
        return Some("a loopback address");
    }
    // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d: judge the v4.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return v4_reason(v4);
    }
    if seg[..6] == [0; 6] {
        return Some("a deprecated IPv4-compatible address");
    }
    // IPv4-translated ::ffff:0:a.b.c.d (SIIT, RFC 7915) also reaches the embedded IPv4 address.
    if seg[..6] == [0, 0, 0, 0, 0xffff, 0] {
        return v4_reason(embedded_v4(seg[6], seg[7]));
    }
    // NAT64 (64:ff9b::/96) reaches the embedded IPv4 address: judge that.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return v4_reason(embedded_v4(seg[6], seg[7]));
    }
    if seg[0] == 0x64 && seg[1] == 0xff9b && seg[2] == 1 {
        return Some("a local-use NAT64 address");
    }
    // 6to4 (2002::/16) carries an IPv4 address in bits 16..48.
    if seg[0] == 0x2002 {
        return v4_reason(embedded_v4(seg[1], seg[2]));
    }
    Some(match seg[0] {
        // The rest of ::/8 is reserved by the IETF (only the forms above are in use).
        0x0000..=0x00ff => "a reserved address",
        0xfc00..=0xfdff => "a unique local (private) address",
        0xfe80..=0xfebf => "a link-local address",
        0xfec0..=0xfeff => "a site-local address",
        0xff00..=0xffff => "a multicast address",
        0x0100 if seg[1..4] == [0, 0, 0] => "a discard-only address",
        0x2001 if seg[1] == 0x0db8 => "a documentation address",
        0x2001 if seg[1] == 0x0002 && seg[2] == 0 => "a benchmarking address",
        // 2001::/23: IETF protocol assignments (Teredo, ORCHID, …).
        0x2001 if seg[1] < 0x0200 => "an IETF protocol address",
        0x3fff if seg[1] < 0x1000 => "a documentation address",
        _ => return None,
    })
}

fn embedded_v4(hi: u16, lo: u16) -> Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// The error a guarded resolver returns; found again in reqwest's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {ip}, {reason}")]
pub struct NonPublic {
    pub host: String,
    pub ip: IpAddr,
    pub reason: &'static str,
}

/// Resolves with the system resolver and keeps only public addresses.
#[derive(Debug, Default)]
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let all: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut first_refused = None;
            let public: Vec<SocketAddr> = all
                .into_iter()
                .filter(|addr| match non_public_reason(addr.ip()) {
                    None => true,
                    Some(reason) => {
                        first_refused.get_or_insert((addr.ip(), reason));
                        false
                    }
                })
                .collect();
            match (public.is_empty(), first_refused) {
                (true, Some((ip, reason))) => Err(Box::new(NonPublic { host, ip, reason }) as _),
                _ => Ok(Box::new(public.into_iter()) as Addrs),
            }
        })
    }
}

/// Install the guard in a client builder unless private addresses are allowed.
pub(crate) fn guard(
    builder: reqwest::ClientBuilder,
    allow_private: bool,
) -> reqwest::ClientBuilder {
    if allow_private {
        builder
    } else {
        builder.dns_resolver(Arc::new(GuardedResolver)).no_proxy()
    }
}

/// Checks what the resolver cannot see: the scheme, and hosts written as IP literals.
pub(crate) fn check_url(url: &Url, allow_private: bool) -> Result<(), FeedError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FeedError::Blocked {
            url: redact(url),
            reason: "only http and https can be fetched".into(),
        });
    }
    if allow_private {
        return Ok(());
    }
    let ip = match url.host() {
        Some(Host::Ipv4(v4)) => IpAddr::V4(v4),
        Some(Host::Ipv6(v6)) => IpAddr::V6(v6),
        _ => return Ok(()),
    };
    match non_public_reason(ip) {
        None => Ok(()),
        Some(reason) => Err(blocked(url, ip, reason)),
    }
}

fn blocked(url: &Url, ip: IpAddr, reason: &str) -> FeedError {
    FeedError::Blocked {
        url: redact(url),
        reason: format!(
            "{ip} is {reason}; set `allow_private = true` on the source if this is intended"
        ),
    }
}

/// The guard's refusal inside a reqwest error, as a `Blocked` error.
pub(crate) fn blocked_in(err: &reqwest::Error) -> Option<FeedError> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(np) = e.downcast_ref::<NonPublic>() {
            let url = err.url().map(redact).unwrap_or_else(|| np.host.clone());
            return Some(FeedError::Blocked {
                url,
                reason: format!(
                    "{} resolves to {}, {}; set `allow_private = true` on the source if this is intended",
                    np.host, np.ip, np.reason
                ),
            });
        }
        cause = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(ip: &str) -> Option<&'static str> {
        non_public_reason(ip.parse().expect("ip"))
    }

    #[test]
    fn non_public_v4_ranges_are_refused() {
        for ip in [
            "0.0.0.0",
            "10.1.2.3",
            "100.64.0.1",
            "100.127.255.255",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.19.255.255",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
        ] {
            assert!(reason(ip).is_some(), "{ip} should be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.0",
            "172.15.0.1",
            "172.32.0.1",
            "192.0.3.1",
            "198.20.0.1",
            "2606:4700::1111",
            "2a00:1450:4001::200e",
            "64:ff9b::808:808",
            "2002:0808:0808::1",
            "::ffff:8.8.8.8",
        ] {
            assert_eq!(reason(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn non_public_v6_ranges_and_embedded_v4_are_refused() {
        for ip in [
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::7f00:1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b:1::1",
            "2002:7f00:0001::1",
            "2002:c0a8:0101::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "2001:2::1",
            "2001::1",
            "100::1",
            "3fff::1",
        ] {
            assert!(reason(ip).is_some(), "{ip} should be refused");
        }
    }

    #[test]
    fn ipv4_embedded_in_ipv6_is_judged_by_the_ipv4_address() {
        for ip in [
            // IPv4-mapped, every private v4 range.
            "::ffff:0:0",
            "::ffff:a00:1",
            "::ffff:ac10:1",
            "::ffff:c0a8:101",
            "::ffff:a9fe:a9fe",
            "::ffff:100.64.0.1",
            // IPv4-translated (SIIT, ::ffff:0:0:0/96).
            "::ffff:0:127.0.0.1",
            "::ffff:0:10.0.0.1",
            "::ffff:0:169.254.169.254",
            // IPv4-compatible.
            "::10.0.0.1",
            "::169.254.169.254",
            // NAT64 well-known prefix and 6to4 with a private v4 inside.
            "64:ff9b::10.0.0.1",
            "64:ff9b::192.168.0.1",
            "64:ff9b::0.0.0.0",
            "2002:a00:1::1",
            "2002:a9fe:a9fe::",
            "2002:ac10:1::1",
            // The rest of ::/8 is reserved.
            "::1:0:0:1",
            "0:0:0:1::1",
            "::fffe:7f00:1",
        ] {
            assert!(reason(ip).is_some(), "{ip} should be refused");
            let url = format!("http://[{ip}]/feed");
            assert!(
                check_url(&Url::parse(&url).expect("url"), false).is_err(),
                "{url} should be refused before sending"
            );
        }
        // The same forms around a public v4 address are public.
        for ip in ["::ffff:0:8.8.8.8", "64:ff9b::1.1.1.1", "2002:101:101::1"] {
            assert_eq!(reason(ip), None, "{ip} is public");
        }
    }

    #[test]
    fn ip_literals_and_schemes_are_checked_before_sending() {
        let check = |u: &str, allow| check_url(&Url::parse(u).expect("url"), allow);
        let err = check("http://127.0.0.1:8080/feed", false).expect_err("loopback");
        assert!(err.to_string().contains("loopback"), "{err}");
        assert!(check("http://[::ffff:169.254.169.254]/", false).is_err());
        // The url crate normalises odd IPv4 spellings, so they are caught too.
        assert!(check("http://0x7f.1/", false).is_err());
        assert!(check("http://2130706433/", false).is_err());
        assert!(check("http://127.0.0.1/", true).is_ok());
        assert!(check("http://example.com/", false).is_ok());
        assert!(check("file:///etc/passwd", true).is_err());
    }
}
