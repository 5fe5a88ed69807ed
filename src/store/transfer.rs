//! Export, import and copy: the whole store as a stream of [`TransferRecord`]s, read page by
//! page in key order and written in batches, so a store of any size moves in constant memory.
//!
//! The file format is JSON Lines: a header line (`{"format":"pinbridge-export","version":1,…}`)
//! then one record per line. Import writes only what is absent (importing twice changes
//! nothing) and refuses a file of a newer format version than it reads.

use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};

use super::{ConfigRecord, ImportCounts, Millis, PinDay, Store, StoreError, TransferRecord};

/// The header's `format` value.
pub const FORMAT: &str = "pinbridge-export";
/// The newest format version this build writes and reads.
pub const VERSION: u32 = 1;
/// Records read from or written to a store at a time.
const PAGE: usize = 500;

/// The first line of an export.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub format: String,
    pub version: u32,
    pub exported_at: Millis,
    /// Items in the store when the export began (for the importer's progress bar).
    #[serde(default)]
    pub items: u64,
}

/// Why an export, import or copy stopped.
#[derive(Debug, thiserror::Error)]
pub enum TransferError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the export failed: {0}")]
    Write(std::io::Error),
    #[error("reading line {line} failed: {error}")]
    Read { line: u64, error: std::io::Error },
    #[error(
        "line {line} is not a pinbridge export record ({error}); the file may be cut short or edited. Records before it were imported; importing again after fixing the file only adds what is missing"
    )]
    BadLine { line: u64, error: String },
    #[error("this is not a pinbridge export: the first line is not its header ({0})")]
    NoHeader(String),
    #[error(
        "the export has format version {found}, newer than this pinbridge reads ({VERSION}); import it with the pinbridge version that wrote it, or a newer one"
    )]
    TooNew { found: u32 },
    #[error(
        "the destination store already holds {items} items; add --merge to copy into it anyway"
    )]
    NotEmpty { items: u64 },
}

/// Every record of a store, a page at a time, in order: runtime config records, adopted
/// boards and source states, the link index, the items with their jobs, then the Pins' daily
/// analytics.
pub struct Pages<'a> {
    store: &'a dyn Store,
    stage: Stage,
    after_link: Option<super::LinkCursor>,
    after_item: Option<super::ItemCursor>,
    after_day: Option<super::PinDayCursor>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Config,
    Small,
    Links,
    Items,
    PinDays,
    Done,
}

impl<'a> Pages<'a> {
    pub fn new(store: &'a dyn Store) -> Self {
        Self {
            store,
            stage: Stage::Config,
            after_link: None,
            after_item: None,
            after_day: None,
        }
    }

    /// The next page of records; `None` at the end.
    pub async fn next(&mut self) -> Result<Option<Vec<TransferRecord>>, StoreError> {
        loop {
            match self.stage {
                Stage::Config => {
                    self.stage = Stage::Small;
                    let records = self.store.config_records().await?;
                    return Ok(Some(
                        records
                            .into_iter()
                            .map(|record| TransferRecord::Config { record })
                            .collect(),
                    ));
                }
                Stage::Small => {
                    self.stage = Stage::Links;
                    return Ok(Some(self.store.export_small().await?));
                }
                Stage::Links => {
                    let page = self
                        .store
                        .export_links(self.after_link.take(), PAGE)
                        .await?;
                    if page.len() < PAGE {
                        self.stage = Stage::Items;
                    }
                    if let Some(TransferRecord::Link {
                        account,
                        board,
                        link,
                        ..
                    }) = page.last()
                    {
                        self.after_link = Some((account.clone(), board.clone(), link.clone()));
                    }
                    if !page.is_empty() {
                        return Ok(Some(page));
                    }
                }
                Stage::Items => {
                    let page = self
                        .store
                        .export_items(self.after_item.take(), PAGE)
                        .await?;
                    if page.len() < PAGE {
                        self.stage = Stage::PinDays;
                    }
                    if let Some((item, _)) = page.last() {
                        self.after_item = Some((item.item.source.clone(), item.item.key.clone()));
                    }
                    if !page.is_empty() {
                        return Ok(Some(
                            page.into_iter()
                                .map(|(item, jobs)| TransferRecord::Item {
                                    item: Box::new(item),
                                    jobs,
                                })
                                .collect(),
                        ));
                    }
                }
                Stage::PinDays => {
                    let page = self
                        .store
                        .export_pin_days(self.after_day.take(), PAGE)
                        .await?;
                    if page.len() < PAGE {
                        self.stage = Stage::Done;
                    }
                    if let Some(row) = page.last() {
                        self.after_day = Some((row.day, row.pin_id.clone()));
                    }
                    if !page.is_empty() {
                        return Ok(Some(
                            page.into_iter()
                                .map(|row| TransferRecord::PinDay { row: Box::new(row) })
                                .collect(),
                        ));
                    }
                }
                Stage::Done => return Ok(None),
            }
        }
    }
}

/// Write `store` to `out` as JSON Lines; `progress` gets the number of items written so far.
/// Returns how many records were written.
pub async fn export(
    store: &dyn Store,
    out: &mut dyn Write,
    now: Millis,
    mut progress: impl FnMut(u64),
) -> Result<u64, TransferError> {
    let header = Header {
        format: FORMAT.into(),
        version: VERSION,
        exported_at: now,
        items: store.stats().await?.items,
    };
    write_line(out, &header)?;
    let (mut records, mut items) = (0u64, 0u64);
    let mut pages = Pages::new(store);
    while let Some(page) = pages.next().await? {
        for record in &page {
            write_line(out, record)?;
            records += 1;
            if matches!(record, TransferRecord::Item { .. }) {
                items += 1;
            }
        }
        progress(items);
    }
    out.flush().map_err(TransferError::Write)?;
    Ok(records)
}

fn write_line(out: &mut dyn Write, value: &impl Serialize) -> Result<(), TransferError> {
    serde_json::to_writer(&mut *out, value)
        .map_err(|e| TransferError::Write(std::io::Error::other(e)))?;
    out.write_all(b"\n").map_err(TransferError::Write)
}

/// Writes records into a store in batches, config records through `ConfigRecords` (only those
/// absent), analytics rows through `Analytics` (an upsert: the same row twice is one row),
/// everything else through `Transfer::import`.
pub struct Importer<'a> {
    store: &'a dyn Store,
    now: Millis,
    batch: Vec<TransferRecord>,
    config: Option<Vec<ConfigRecord>>,
    days: Vec<PinDay>,
    pub counts: ImportCounts,
    /// Items handed to the importer so far (progress).
    pub items: u64,
}

impl<'a> Importer<'a> {
    pub fn new(store: &'a dyn Store, now: Millis) -> Self {
        Self {
            store,
            now,
            batch: Vec::with_capacity(PAGE),
            config: None,
            days: Vec::new(),
            counts: ImportCounts::default(),
            items: 0,
        }
    }

    pub async fn push(&mut self, record: TransferRecord) -> Result<(), TransferError> {
        match record {
            TransferRecord::Config { record } => self.config_record(record).await?,
            TransferRecord::PinDay { row } => {
                self.days.push(*row);
                if self.days.len() >= PAGE {
                    self.flush().await?;
                }
            }
            record => {
                if matches!(record, TransferRecord::Item { .. }) {
                    self.items += 1;
                }
                self.batch.push(record);
                if self.batch.len() >= PAGE {
                    self.flush().await?;
                }
            }
        }
        Ok(())
    }

    async fn config_record(&mut self, record: ConfigRecord) -> Result<(), TransferError> {
        if self.config.is_none() {
            self.config = Some(self.store.config_records().await?);
        }
        let present = self.config.as_ref().is_some_and(|have| {
            have.iter()
                .any(|r| r.kind == record.kind && r.id == record.id)
        });
        if present {
            self.counts.present += 1;
            return Ok(());
        }
        self.store
            .write_config_records(std::slice::from_ref(&record), &[])
            .await?;
        self.config.get_or_insert_default().push(record);
        self.counts.written += 1;
        Ok(())
    }

    /// Write what is batched; call once more at the end.
    pub async fn flush(&mut self) -> Result<(), TransferError> {
        if !self.days.is_empty() {
            let days = std::mem::take(&mut self.days);
            self.store.record_pin_days(&days).await?;
            self.counts.written += days.len() as u64;
        }
        if self.batch.is_empty() {
            return Ok(());
        }
        let batch = std::mem::replace(&mut self.batch, Vec::with_capacity(PAGE));
        let done = self.store.import(batch, self.now).await?;
        self.counts.add(done);
        Ok(())
    }
}

/// Read a JSON Lines export from `input` into `store`. `on_header` sees the header (to size a
/// progress bar); `progress` gets the number of items read so far.
pub async fn import(
    store: &dyn Store,
    input: impl BufRead,
    now: Millis,
    on_header: impl FnOnce(&Header),
    mut progress: impl FnMut(u64),
) -> Result<ImportCounts, TransferError> {
    let mut lines = input.lines();
    let first = match lines.next() {
        Some(line) => line.map_err(|error| TransferError::Read { line: 1, error })?,
        None => return Err(TransferError::NoHeader("the file is empty".into())),
    };
    let header: Header =
        serde_json::from_str(&first).map_err(|e| TransferError::NoHeader(e.to_string()))?;
    if header.format != FORMAT {
        return Err(TransferError::NoHeader(format!(
            "format `{}`, expected `{FORMAT}`",
            header.format
        )));
    }
    if header.version > VERSION {
        return Err(TransferError::TooNew {
            found: header.version,
        });
    }
    on_header(&header);
    let mut importer = Importer::new(store, now);
    for (index, line) in lines.enumerate() {
        let number = index as u64 + 2;
        let line = line.map_err(|error| TransferError::Read {
            line: number,
            error,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let record: TransferRecord = match serde_json::from_str(&line) {
            Ok(record) => record,
            Err(e) => {
                // What came before the bad line is kept, as the message says.
                importer.flush().await?;
                return Err(TransferError::BadLine {
                    line: number,
                    error: e.to_string(),
                });
            }
        };
        importer.push(record).await?;
        progress(importer.items);
    }
    importer.flush().await?;
    Ok(importer.counts)
}

/// Copy every record of `from` into `to` (the same stream as export then import, without a
/// file). Refuses a destination that holds items unless `merge`.
pub async fn copy(
    from: &dyn Store,
    to: &dyn Store,
    merge: bool,
    now: Millis,
    mut progress: impl FnMut(u64),
) -> Result<ImportCounts, TransferError> {
    let items = to.stats().await?.items;
    if items > 0 && !merge {
        return Err(TransferError::NotEmpty { items });
    }
    let mut importer = Importer::new(to, now);
    let mut pages = Pages::new(from);
    while let Some(page) = pages.next().await? {
        for record in page {
            importer.push(record).await?;
        }
        progress(importer.items);
    }
    importer.flush().await?;
    Ok(importer.counts)
}
