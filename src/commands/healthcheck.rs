//! `pinbridge healthcheck`: ask the running pinbridge for `/healthz` on its configured listen
//! address. Container HEALTHCHECKs use it instead of curl, so the runtime image needs no shell
//! tools and the check follows `server.listen` instead of a port written into the Dockerfile.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use anyhow::Context;

use super::CommandError;
use crate::config::Config;

pub async fn run(config: &Config, timeout_secs: u64) -> Result<(), CommandError> {
    let target = local_target(config.server.listen);
    let url = format!("http://{target}/healthz");
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(timeout_secs.max(1)))
        // A proxy from the environment must not answer for the local process.
        .no_proxy()
        .build()
        .context("building the HTTP client")?;
    let response = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("no answer from {url}"))?;
    let status = response.status();
    if !status.is_success() {
        return Err(anyhow::anyhow!("{url} answered {status}").into());
    }
    println!("{url}: {status}");
    Ok(())
}

/// The address to call for a listen address: a wildcard (`0.0.0.0`, `[::]`) listens on
/// loopback too, and loopback is the one address sure to reach this host's process.
fn local_target(listen: SocketAddr) -> SocketAddr {
    let ip = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, listen.port())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listen_addresses_are_called_on_loopback() {
        let target = |s: &str| local_target(s.parse().unwrap()).to_string();
        assert_eq!(target("0.0.0.0:8080"), "127.0.0.1:8080");
        assert_eq!(target("[::]:9000"), "[::1]:9000");
        assert_eq!(target("10.0.0.5:8081"), "10.0.0.5:8081");
    }
}
