//! The one front door for the integration tests: an in-process app ([`app::spawn_app`]), the
//! real binary ([`binary::spawn_binary`]), one loopback feed server ([`feed_server`]), and the
//! narrower harnesses for tests that drive one part (feeds, webhooks, ops router, Pinterest).

// Front doors: the whole service, in process or as a process.
pub mod app;
pub mod binary;
pub mod child;
pub mod live;
pub mod replicas;

// What they are built from and talk to.
pub mod admin;
pub mod analytics;
pub mod browser;
pub mod config;
pub mod connect;
pub mod feed_server;
pub mod shopify;
pub mod sled;
pub mod slow_client;
pub mod wait;

// One part at a time: feeds, the engine, the ops router, Pinterest, webhooks, WebSub.
pub mod engine;
pub mod feed;
pub mod openapi;
pub mod ops;
pub mod pinterest;
pub mod plans;
pub mod webhook;
pub mod websub;
