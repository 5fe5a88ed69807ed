//! Pinterest API v5: the client the sync engine uses (`client`, `oauth`, `model`, `error`) and a
//! local, stateful stand-in for the API (`sandbox`) for tests, `pinbridge demo` and
//! `pinbridge sandbox`. The client never retries on its own except one repeat after a token refresh.

pub mod analytics;
pub mod auth_error;
pub mod client;
pub mod error;
pub mod model;
pub mod oauth;
pub mod sandbox;
pub mod vault;

pub use client::PinterestClient;
pub use error::ApiError;
pub use oauth::{Credentials, TokenManager, Tokens};
