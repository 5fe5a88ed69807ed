//! The one front door for the integration tests: an in-process app ([`app::spawn_app`]), the
//! real binary ([`binary::spawn_binary`]), one loopback feed server ([`feed_server`]), and the
//! narrower harnesses for tests that drive one part (feeds, webhooks, ops router, Pinterest).

pub mod admin;
pub mod app;
pub mod binary;
pub mod config;
pub mod engine;
pub mod feed;
pub mod feed_server;
pub mod live;
pub mod openapi;
pub mod ops;
pub mod pinterest;
pub mod plans;
pub mod replicas;
pub mod shopify;
pub mod sled;
pub mod slow_client;
pub mod wait;
pub mod webhook;
pub mod websub;
