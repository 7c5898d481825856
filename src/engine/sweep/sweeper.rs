//! One cron sweep run: drives the [`Sweep`] planner over the KV listing and asks each expired
//! session's object to delete it (the object re-checks against its authoritative record, so
//! stale KV metadata never kills a live session). The KV calls come from a [`SweepStore`].

use serde::Deserialize;

use crate::engine::log::{self, Level};
use crate::engine::session::record::Meta;
use crate::engine::sweep::{ListedKey, Page, Sweep};
use crate::engine::worker::remote::{RemoteBackend, Transport};
use crate::engine::{Config, Error};

/// KV key holding the sweep's resume cursor.
pub const SWEEP_CURSOR_KEY: &str = "sweep:cursor";

/// The KV calls a sweep makes.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait SweepStore {
    /// Reads a key's text.
    async fn get(&self, key: &str) -> Result<Option<String>, Error>;
    /// Writes a key's text (no expiration).
    async fn put(&self, key: &str, value: &str) -> Result<(), Error>;
    /// Deletes a key.
    async fn delete(&self, key: &str) -> Result<(), Error>;
    /// Lists one page of keys under `prefix` with their metadata.
    async fn list(&self, prefix: &str, cursor: Option<String>, limit: usize)
        -> Result<Page, Error>;
}

/// One key of a KV `list()` answer, as the runtime returns it.
#[derive(Deserialize)]
struct KvKey {
    name: String,
    #[serde(default)]
    metadata: Option<serde_json::Value>,
}

/// A KV `list()` answer as JSON (`{keys, list_complete, cursor}`).
#[derive(Deserialize)]
struct KvList {
    keys: Vec<KvKey>,
    list_complete: bool,
    #[serde(default)]
    cursor: Option<String>,
}

/// Reads a KV `list()` answer serialized as JSON into a [`Page`] (metadata that does not
/// decode counts as missing: the planner skips such keys).
pub fn parse_list(json: &str) -> Result<Page, Error> {
    let list: KvList =
        serde_json::from_str(json).map_err(|e| Error::Backend(format!("kv list: {e}")))?;
    Ok(Page {
        keys: list
            .keys
            .into_iter()
            .map(|k| ListedKey {
                meta: k
                    .metadata
                    .and_then(|m| serde_json::from_value::<Meta>(m).ok()),
                name: k.name,
            })
            .collect(),
        cursor: list.cursor.filter(|c| !c.is_empty()),
        complete: list.list_complete,
    })
}

/// A listed key with its metadata, if that decodes (else the planner skips the key).
pub fn listed_key(name: String, metadata: Option<serde_json::Value>) -> ListedKey {
    ListedKey {
        meta: metadata.and_then(|m| serde_json::from_value::<Meta>(m).ok()),
        name,
    }
}

/// What a sweep run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SweepReport {
    /// The log line with the counts.
    pub line: String,
    /// Tags (hashes) of the sessions it deleted as expired, for audit hooks.
    pub expired: Vec<String>,
}

/// One sweep run with `cfg`'s budget and page size, resuming where the last run stopped.
pub async fn run<K: SweepStore, T: Transport>(
    kv: &K,
    objects: &RemoteBackend<T>,
    cfg: &Config,
    now: u64,
) -> Result<SweepReport, Error> {
    let start = kv.get(SWEEP_CURSOR_KEY).await?;
    let mut sweep = Sweep::new(cfg.sweep_budget, now, &cfg.key_prefix, start.clone());
    sweep.spend(2); // reading and saving the cursor
    let mut kept = 0;
    let mut expired = Vec::new();
    while let Some(cursor) = sweep.next_list() {
        let page = kv
            .list(&cfg.key_prefix, cursor.clone(), cfg.sweep_page)
            .await?;
        let mut failed = false;
        for id in sweep.page(page) {
            match objects.sweep(&id).await {
                Ok(true) => expired.push(id.log_tag()),
                Ok(false) => kept += 1,
                Err(e) => {
                    let msg = format!("sweep of {} failed: {e}", id.log_tag());
                    log::emit(Level::Warn, "sweep_failed", &msg);
                    failed = true;
                }
            }
        }
        if failed {
            sweep.retry_page(cursor);
        }
    }
    let resume = sweep.resume_cursor().map(str::to_owned);
    if resume != start {
        match &resume {
            Some(c) => kv.put(SWEEP_CURSOR_KEY, c).await?,
            None => kv.delete(SWEEP_CURSOR_KEY).await?,
        }
    }
    let s = sweep.stats();
    let line = format!(
        "session sweep: pages={} listed={} deleted={} kept_live={} skipped={} ops={} resume={}",
        s.pages,
        s.listed,
        s.deleted - kept,
        kept,
        s.skipped,
        sweep.used(),
        if resume.is_some() {
            "next run"
        } else {
            "from start"
        }
    );
    log::emit(Level::Info, "sweep", &line);
    Ok(SweepReport { line, expired })
}

/// [`run`], logging a failure instead of returning it (a cron handler has no one to tell; the
/// cursor stays where the next run should resume).
pub async fn run_logged<K: SweepStore, T: Transport>(
    kv: &K,
    objects: &RemoteBackend<T>,
    cfg: &Config,
    now: u64,
) -> Option<SweepReport> {
    match run(kv, objects, cfg, now).await {
        Ok(r) => Some(r),
        Err(e) => {
            let msg = format!("session sweep failed: {e}");
            log::emit(Level::Error, "sweep_failed", &msg);
            None
        }
    }
}
