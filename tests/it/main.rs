mod pinterest_client;
mod pinterest_oauth;
mod pinterest_support;
mod sandbox_api;
