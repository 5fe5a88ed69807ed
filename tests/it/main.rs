mod pinterest_client;
mod pinterest_oauth;
mod pinterest_openapi;
mod pinterest_spec;
mod pinterest_support;
mod sandbox_api;
