//! The cron sweep: drives the engine's [`Sweep`] planner over the KV listing and asks each
//! expired session's object to delete it (the object re-checks against its authoritative
//! record, so stale KV metadata never kills a live session).

use worker::Env;

use super::do_backend::DoBackend;
use super::{env_config, kv, now_ms};
use crate::engine::log::Level;
use crate::engine::sweep::Sweep;
use crate::engine::{Config, Error};

/// One sweep run; logs its counts. Never panics: a failure leaves the cursor where the next
/// run should resume.
pub async fn run(env: &Env) {
    match sweep(env).await {
        Ok(msg) => super::log::emit(Level::Info, "sweep", &msg),
        Err(e) => super::log::emit(
            Level::Error,
            "sweep_failed",
            &format!("session sweep failed: {e}"),
        ),
    }
}

async fn sweep(env: &Env) -> Result<String, Error> {
    let cfg = env_config::config(env)?;
    super::log::set_level(cfg.log_level);
    sweep_with(&DoBackend::new(env.clone(), &cfg), &cfg).await
}

/// What a sweep run did.
pub struct SweepReport {
    /// The log line with the counts.
    pub line: String,
    /// Tags (hashes) of the sessions it deleted as expired, for audit hooks.
    pub expired: Vec<String>,
}

/// One sweep run over `backend`'s KV namespace with `cfg`'s budget and page size; returns the
/// log line with the counts.
pub async fn sweep_with(backend: &DoBackend, cfg: &Config) -> Result<String, Error> {
    sweep_report(backend, cfg).await.map(|r| r.line)
}

/// [`sweep_with`], also listing the sessions it deleted.
pub async fn sweep_report(backend: &DoBackend, cfg: &Config) -> Result<SweepReport, Error> {
    let store = backend.kv()?;
    let start: Option<String> = store
        .get(kv::SWEEP_CURSOR_KEY)
        .text()
        .await
        .map_err(|e| Error::Backend(e.to_string()))?;
    let mut sweep = Sweep::new(cfg.sweep_budget, now_ms(), &cfg.key_prefix, start.clone());
    sweep.spend(2); // reading and saving the cursor
    let mut kept = 0;
    let mut expired = Vec::new();
    while let Some(cursor) = sweep.next_list() {
        let page = kv::list_page(&store, &cfg.key_prefix, cursor.clone(), cfg.sweep_page).await?;
        let mut failed = false;
        for id in sweep.page(page) {
            match backend.sweep(&id).await {
                Ok(true) => expired.push(id.log_tag()),
                Ok(false) => kept += 1,
                Err(e) => {
                    super::log::emit(
                        Level::Warn,
                        "sweep_failed",
                        &format!("sweep of {} failed: {e}", id.log_tag()),
                    );
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
        let r = match &resume {
            Some(c) => {
                store
                    .put(kv::SWEEP_CURSOR_KEY, c.as_str())
                    .map_err(|e| Error::Backend(e.to_string()))?
                    .execute()
                    .await
            }
            None => store.delete(kv::SWEEP_CURSOR_KEY).await,
        };
        r.map_err(|e| Error::Backend(e.to_string()))?;
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
    Ok(SweepReport { line, expired })
}
