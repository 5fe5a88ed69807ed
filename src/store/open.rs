//! Opening the store a config names: PostgreSQL when `[store] url` is set, else the embedded
//! sled store at `[store] path`. Every command that reads or repairs the store goes through
//! here, so none of them looks at a sled directory while the service runs on PostgreSQL.

use std::sync::Arc;

use secrecy::ExposeSecret;

use super::postgres::PgStore;
use super::sled::{SledOptions, SledStore};
use super::{Store, StoreResult};
use crate::clock::SharedClock;
use crate::settings::StoreConfig;

/// Connections a command or the service keeps to PostgreSQL.
const PG_CONNECTIONS: u32 = 16;

/// Open the configured store.
pub async fn open_configured(
    config: &StoreConfig,
    clock: Option<SharedClock>,
) -> StoreResult<Arc<dyn Store>> {
    if let Some(url) = &config.url {
        if let Some(warning) = super::postgres::tls_warning(url.expose_secret()) {
            tracing::warn!(%warning, "The PostgreSQL connection is not protected as configured.");
        }
        return Ok(Arc::new(
            PgStore::connect(url.expose_secret(), PG_CONNECTIONS).await?,
        ));
    }
    Ok(Arc::new(
        SledStore::open_async(config.path.clone(), sled_options(config), clock).await?,
    ))
}

/// The sled settings `[store]` gives: for the configured store, and for a sled store that
/// `store copy` creates (so a copy is how an existing store changes its compression).
pub fn sled_options(config: &StoreConfig) -> SledOptions {
    SledOptions {
        cache_capacity_bytes: config.cache_capacity_mb * 1024 * 1024,
        compression: config.compression,
        engine: config.engine,
        ..SledOptions::default()
    }
}

/// What to say when a command cannot open the configured store.
pub fn describe(config: &StoreConfig) -> String {
    match &config.url {
        Some(_) => "connecting to the PostgreSQL store (`store.url`)".to_string(),
        None => format!(
            "opening the store at {} (is `pinbridge serve` running? it holds the sled store open: stop it first, or use the admin API)",
            config.path.display()
        ),
    }
}
