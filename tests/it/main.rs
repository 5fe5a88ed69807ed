mod config_check;
mod pinterest_client;
mod pinterest_oauth;
mod pinterest_support;
mod store_conformance;
mod store_crash;
mod store_sled;
mod sync_e2e;
