//! The configuration a service starts with: the file plus the runtime records in the store.
//!
//! When the records no longer fit the file (the file now defines an id an API source has, or
//! drops a source an API route names), the service still starts, on the file alone, and says
//! so in the reload status and the log: refusing to start would take every source down for a
//! conflict that can be fixed through the API or the file while running.

use std::sync::Arc;

use crate::clock::SharedClock;
use crate::config::{Config, ConfigProblem};
use crate::pinterest::vault::Vault;
use crate::store::{ConfigRecord, Store};

use super::Live;
use super::effective::{self, Effective};
use super::parts::{Factory, Parts};
use super::runtime::Runtime;
use super::status::{Reload, Trigger};

/// What [`Live`] is made from once the runtime exists.
pub struct LiveStart {
    factory: Factory,
    file_tree: toml::Table,
    records: Vec<ConfigRecord>,
    effective: Effective,
    reload: Reload,
    vault: Option<Arc<Vault>>,
}

impl LiveStart {
    pub fn into_live(
        self,
        store: Arc<dyn Store>,
        clock: SharedClock,
        runtime: Arc<Runtime>,
    ) -> Live {
        Live::new(
            store,
            clock,
            runtime,
            self.factory,
            self.file_tree,
            self.records,
            &self.effective,
            self.reload,
            self.vault,
        )
    }
}

fn joined(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The store's records with their secrets opened; with a vault, records an older build stored
/// with plain secrets are sealed first (each rewrite is one transaction, so a crash leaves
/// every record either plain or sealed, and both read).
async fn read_records(
    store: &dyn Store,
    vault: Option<&Vault>,
) -> anyhow::Result<Vec<ConfigRecord>> {
    let stored = store
        .config_records()
        .await
        .map_err(|e| anyhow::anyhow!("reading the runtime configuration records: {e}"))?;
    if let Some(vault) = vault {
        let plain: Vec<ConfigRecord> = stored
            .iter()
            .filter(|r| super::sealing::has_plain_secret(r))
            .map(|r| super::sealing::seal(vault, r))
            .collect();
        if !plain.is_empty() {
            store
                .write_config_records(&plain, &[])
                .await
                .map_err(|e| anyhow::anyhow!("sealing the secrets of runtime records: {e}"))?;
            tracing::info!(
                records = plain.len(),
                "Secrets of runtime configuration records are now sealed."
            );
        }
    } else if stored.iter().any(super::sealing::has_plain_secret) {
        tracing::warn!(
            "Runtime configuration records keep secrets in plain text: set PINBRIDGE_TOKEN_KEY (or store.token_keys) to seal them at rest."
        );
    }
    stored
        .iter()
        .map(|r| super::sealing::open(vault, r).map_err(anyhow::Error::from))
        .collect()
}

/// Merge the store's records into `config`'s file tree and build the parts to run.
pub async fn initial(
    config: &Config,
    store: &dyn Store,
    now: i64,
    vault: Option<Arc<Vault>>,
) -> anyhow::Result<(LiveStart, Parts)> {
    let factory = Factory::new(
        crate::sources::feed::Fetcher::with_limits(config.fetch.limits())
            .with_user_agent(config.fetch_user_agent()),
    );
    let records = read_records(store, vault.as_deref()).await?;
    let with_records =
        effective::build(&config.tree.0, &records).and_then(|e| Ok((factory.parts(&e)?, e)));
    let (parts, effective, reload) = match with_records {
        Ok((parts, effective)) => (
            parts,
            effective,
            Reload {
                at: now,
                ok: true,
                trigger: Trigger::Start,
                problems: Vec::new(),
            },
        ),
        Err(problems) if !records.is_empty() => {
            tracing::error!(
                problems = %joined(&problems),
                "The sources and routes made through the API do not fit the config file; starting with the file alone."
            );
            let effective = effective::build(&config.tree.0, &[])
                .map_err(|p| anyhow::anyhow!("the configuration: {}", joined(&p)))?;
            let parts = factory
                .parts(&effective)
                .map_err(|p| anyhow::anyhow!("setting up sources: {}", joined(&p)))?;
            let reload = Reload {
                at: now,
                ok: false,
                trigger: Trigger::Start,
                problems,
            };
            (parts, effective, reload)
        }
        Err(problems) => anyhow::bail!("setting up sources: {}", joined(&problems)),
    };
    Ok((
        LiveStart {
            factory,
            file_tree: config.tree.0.clone(),
            // Kept even when not applied: fixing the file brings them back on the next reload.
            records,
            effective,
            reload,
            vault,
        },
        parts,
    ))
}
