//! Is a pinbridge service running for this config? Commands that read or repair the store
//! (`items`, `poll --dry-run`) ask its admin API when it is, since the service holds the store
//! (a sled store allows one process), and open the store themselves when it is not.

use secrecy::SecretString;

use super::CommandError;
use super::sources::{AdminClient, ApiError, local_base};
use crate::config::Config;

fn token(config: &Config) -> Option<SecretString> {
    config.server.admin_token.clone()
}

/// The admin API of the running service, or `None` when the command should use the store.
///
/// With `--server` (or `PINBRIDGE_SERVER`) the service must answer: that is what was asked
/// for. Without it, the local service is asked when `server.admin_token` is set; nothing
/// listening there means no service runs, and the store is opened instead.
pub async fn running(
    config: &Config,
    server: Option<url::Url>,
) -> Result<Option<AdminClient>, CommandError> {
    let explicit = server.is_some();
    let Some(token) = token(config) else {
        if explicit {
            return Err(CommandError::Usage(
                "--server needs `server.admin_token` (or PINBRIDGE_SERVER__ADMIN_TOKEN): set the token the running pinbridge uses".into(),
            ));
        }
        return Ok(None);
    };
    let api = AdminClient::new(server.unwrap_or_else(|| local_base(config)), token);
    // The public description needs no token: this only asks whether anyone answers.
    match api.get("api/v1/openapi.json").await {
        Err(ApiError::Unreachable { .. }) if !explicit => Ok(None),
        Err(e @ ApiError::Unreachable { .. }) => Err(CommandError::Runtime(e.into())),
        _ => Ok(Some(api)),
    }
}

/// One path segment, percent-encoded: dedup keys are often URLs (`/`, `?`, `#`).
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::segment;

    #[test]
    fn a_url_key_is_one_segment() {
        assert_eq!(
            segment("link:https://e.com/a?b=1#c"),
            "link%3Ahttps%3A%2F%2Fe.com%2Fa%3Fb%3D1%23c"
        );
        assert_eq!(segment("guid-1_a.b~"), "guid-1_a.b~");
        assert_eq!(segment("é"), "%C3%A9");
    }
}
