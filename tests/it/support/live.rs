//! Everything the live-configuration tests use, in one import: the in-process app, the config
//! pieces, signed Shopify deliveries, waiting, and a loopback feed of numbered posts.

pub use super::app::*;
pub use super::config::*;
pub use super::feed_server::FeedServer;
pub use super::shopify::*;
pub use super::wait::*;

/// A feed of `items` numbered posts on loopback, counting its fetches.
pub async fn feed_server(items: usize) -> FeedServer {
    FeedServer::builder(super::feed_server::rss_posts(items))
        .start()
        .await
}
