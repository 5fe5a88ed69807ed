//! [`Transfer`] on sled: each call hops to a blocking thread (`transfer.rs` does the work); an
//! import waits for the group commit like every other write.

use async_trait::async_trait;

use super::{SledStore, transfer};
use crate::store::{
    ImportCounts, ItemCursor, Job, LinkCursor, Millis, StoreResult, StoredItem, Transfer,
    TransferRecord,
};

#[async_trait]
impl Transfer for SledStore {
    async fn export_items(
        &self,
        after: Option<ItemCursor>,
        limit: usize,
    ) -> StoreResult<Vec<(StoredItem, Vec<Job>)>> {
        self.read(move |inner| transfer::export_items(inner, after.as_ref(), limit))
            .await
    }

    async fn export_links(
        &self,
        after: Option<LinkCursor>,
        limit: usize,
    ) -> StoreResult<Vec<TransferRecord>> {
        self.read(move |inner| transfer::export_links(inner, after.as_ref(), limit))
            .await
    }

    async fn export_small(&self) -> StoreResult<Vec<TransferRecord>> {
        self.read(transfer::export_small).await
    }

    async fn import(&self, batch: Vec<TransferRecord>, now: Millis) -> StoreResult<ImportCounts> {
        self.write(move |inner| transfer::import(inner, &batch, now))
            .await
    }
}
