mod pinterest_client;
mod pinterest_support;
