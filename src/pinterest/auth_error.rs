//! Why no usable access token could be had: the token manager returns it and the API error
//! wraps it.

/// Why no usable access token could be had. Never contains a token.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error(
        "the Pinterest access token has expired and cannot be refreshed ({reason}); authorize the account again with `pinbridge auth`"
    )]
    Expired { reason: &'static str },
    #[error("Pinterest refused the token request ({status}{}): {message}; authorize the account again with `pinbridge auth`",
        match .code { Some(c) => format!(", code {c}"), None => String::new() })]
    Rejected {
        status: u16,
        code: Option<i64>,
        message: String,
    },
    #[error("the Pinterest token endpoint is unavailable ({status}): {message}")]
    Unavailable { status: u16, message: String },
    #[error("could not reach the Pinterest token endpoint: {message}")]
    Transport { message: String },
    #[error("the Pinterest token endpoint sent an unreadable answer: {message}")]
    Decode { message: String },
    #[error(
        "the tokens shared with other pinbridge replicas could not be read or stored: {message}"
    )]
    Shared { message: String },
}

impl AuthError {
    /// The token endpoint was unreachable or failing; trying later may work.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            AuthError::Unavailable { .. } | AuthError::Transport { .. } | AuthError::Shared { .. }
        )
    }
}
