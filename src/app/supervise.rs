//! Runs the assembled service: starts the pollers (through the runtime), the sync engine and
//! the HTTP listeners, and on shutdown drains them within one grace period.

use std::sync::Arc;

use anyhow::Context;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::App;
use crate::http::{self, HttpState};

impl App {
    /// Serve HTTP on `listener` and run pollers and the engine until `shutdown` is cancelled;
    /// then stop accepting, let in-flight requests and work finish (both within the one grace
    /// period: slow clients cannot hold shutdown past it) and close the store.
    pub async fn run(
        self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let mut tasks = JoinSet::new();
        self.runtime.start(self.parts, shutdown.clone()).await;
        crate::live::triggers::reload_on_sighup(self.live.clone(), shutdown.clone());
        if self.watch_config {
            crate::live::triggers::watch_file(
                self.live.clone(),
                crate::live::triggers::WATCH_INTERVAL,
                shutdown.clone(),
            );
        }
        let engine_token = shutdown.child_token();
        let engine = self.engine.clone();
        tasks.spawn(async move { engine.run(engine_token).await });

        if let Some(collector) = self.analytics {
            tasks.spawn(collector.run(shutdown.child_token()));
        }
        tasks.spawn(count_sync_events(
            self.engine.subscribe(),
            shutdown.child_token(),
        ));
        let mut state = HttpState::new(self.store.clone(), self.clock.clone());
        state.draining = shutdown.clone();
        state.accounts = Arc::new(self.accounts);
        state.account_limits = Arc::new(self.account_limits);
        tasks.spawn(http::status::sample_backlog(
            self.store.clone(),
            self.clock.clone(),
            state.backlog.clone(),
            shutdown.child_token(),
        ));
        state.retention = Arc::new(http::status::RetentionStatus::new(self.keep_payloads));
        tasks.spawn(super::retention::run(
            self.store.clone(),
            self.clock.clone(),
            self.retention_every,
            state.retention.clone(),
            shutdown.child_token(),
        ));
        state.admin = self.admin;
        state.metrics = crate::telemetry::metrics_handle();
        state.live = Some(self.live.clone());
        state.public_url = self.public_url;
        state.connect = Some(self.connect);
        let hooks = self.runtime.router();
        let limits = self.limits;
        let public = match &self.admin_listener {
            Some(_) => http::public_router(state.clone(), hooks),
            None => http::router(state.clone(), hooks),
        };
        tracing::info!(address = ?listener.local_addr().ok(), "Listening.");
        let public = http::serve::serve(listener, public, limits, shutdown.clone());
        let admin = async {
            match self.admin_listener {
                Some(listener) => {
                    tracing::info!(address = ?listener.local_addr().ok(), "Admin API, status page and metrics listening.");
                    let router = http::admin_router(state);
                    http::serve::serve(listener, router, limits, shutdown.clone()).await
                }
                None => Ok(()),
            }
        };
        let grace = self.shutdown_grace;
        let runtime = self.runtime.clone();
        // Tasks drain while the servers finish their last requests: one grace period for both.
        let drain = async {
            shutdown.cancelled().await;
            let drained = tokio::time::timeout(grace, async {
                while tasks.join_next().await.is_some() {}
                runtime.join().await;
            })
            .await;
            if drained.is_err() {
                tracing::warn!(?grace, "Some tasks did not stop within the grace period.");
                tasks.abort_all();
            }
        };
        let serving = async {
            let served = futures::future::try_join(public, admin).await;
            // A server that fails stops the service rather than leaving it half up.
            shutdown.cancel();
            served
        };
        let (served, ()) = tokio::join!(serving, drain);
        served.context("HTTP server failed")?;

        self.store.close().await.context("closing the store")?;
        tracing::info!("Stopped.");
        Ok(())
    }
}

/// Count Pins created and jobs dead-lettered (`pinbridge_pins_total{outcome}`) from the
/// engine's events, until shutdown.
async fn count_sync_events(
    mut events: tokio::sync::broadcast::Receiver<crate::sync::SyncEvent>,
    shutdown: CancellationToken,
) {
    use crate::sync::SyncEvent;
    use tokio::sync::broadcast::error::RecvError;
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => return,
            event = events.recv() => event,
        };
        match event {
            Ok(SyncEvent::PinCreated {
                account,
                reconciled,
                ..
            }) => {
                let outcome = if reconciled { "reconciled" } else { "created" };
                metrics::counter!("pinbridge_pins_total", "account" => account, "outcome" => outcome).increment(1);
            }
            Ok(SyncEvent::Dead { .. }) => {
                metrics::counter!("pinbridge_pins_total", "account" => "", "outcome" => "failed")
                    .increment(1);
            }
            Ok(SyncEvent::Retrying { .. }) => {
                metrics::counter!("pinbridge_pin_retries_total").increment(1);
            }
            Err(RecvError::Lagged(n)) => tracing::debug!(missed = n, "Metrics missed sync events."),
            Err(RecvError::Closed) => return,
        }
    }
}
