//! `SessionLock`: the Durable Object that is each session's single serialization point.
//!
//! One object per session id. It holds the FIFO lock (leases, fencing), owns the authoritative
//! record in its own storage (so every read sees the previous write, whatever KV's
//! consistency), applies changes with the engine's rules, and mirrors the record to KV through
//! its alarm at most once a second per key. The alarm also removes the session when it
//! expires. All state that must survive a restart is in storage; the lock fails safe on a
//! restart: old leases are gone, so their holders' writes are refused.

use std::cell::{Cell, RefCell};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use super::env_config;
use super::kv;
use super::now_ms;
use crate::engine::record::{apply_op, Applied, Change, Record};
use crate::engine::store::Begun;
use crate::engine::throttle::{next_slot, WriteSlot};
use crate::engine::{Config, Error, FifoLock, Lease, SessionId};

/// `POST /begin`: lock (optionally) and load.
#[derive(Debug, Serialize, Deserialize)]
pub struct BeginMsg {
    /// Session id (the object's name).
    pub sid: String,
    /// Take the lock first.
    pub lock: bool,
}

/// `POST /apply`: apply a change, fenced by `lease`, then release if asked.
#[derive(Debug, Serialize, Deserialize)]
pub struct ApplyMsg {
    /// Session id.
    pub sid: String,
    /// The change.
    pub change: Change,
    /// The caller's lease, if it holds the lock.
    pub lease: Option<Lease>,
    /// Release the lease afterwards, whatever the outcome.
    pub release: bool,
}

/// `POST /release` and `POST /sweep` carry this.
#[derive(Debug, Serialize, Deserialize)]
pub struct IdMsg {
    /// Session id.
    pub sid: String,
    /// Lease to release (for `/release`).
    pub lease: Option<Lease>,
}

/// Answer of `/sweep`.
#[derive(Debug, Serialize, Deserialize)]
pub struct SweepAnswer {
    /// True if the session was expired (or absent) and is now deleted everywhere.
    pub deleted: bool,
}

/// Error codes on the wire between the worker and the object.
pub fn error_code(e: &Error) -> &'static str {
    match e {
        Error::LockTimeout => "lock_timeout",
        Error::LeaseLost => "lease_lost",
        Error::Gone => "gone",
        Error::TooLarge { .. } => "too_large",
        Error::Config(_) => "config",
        _ => "backend",
    }
}

/// Turns an error into the object's response (status plus code; details go to the log).
pub fn error_response(e: &Error) -> Result<Response> {
    if matches!(e, Error::Backend(_) | Error::Config(_)) {
        worker::console_error!("session lock object: {e}");
    }
    Response::from_json(&serde_json::json!({ "error": error_code(e) }))
        .map(|r| r.with_status(e.status()))
}

#[derive(Clone)]
enum Slot {
    Unknown,
    Absent,
    Present(Record),
}

/// The Durable Object class. Bind it as `SESSION_LOCKS` with a SQLite-backed migration.
#[durable_object]
pub struct SessionLock {
    state: State,
    env: Env,
    config: std::result::Result<Config, String>,
    lock: FifoLock,
    slot: RefCell<Slot>,
    sid: RefCell<Option<SessionId>>,
    sid_saved: Cell<bool>,
    last_kv_write: Cell<Option<u64>>,
    alarm_at: Cell<Option<u64>>,
}

const REC: &str = "rec";
const SID: &str = "sid";

impl SessionLock {
    fn cfg(&self) -> std::result::Result<&Config, Error> {
        self.config.as_ref().map_err(|e| Error::Config(e.clone()))
    }

    fn remember(&self, sid: &str) -> std::result::Result<SessionId, Error> {
        let id = SessionId::parse(sid)
            .ok_or_else(|| Error::Backend("bad session id on the wire".into()))?;
        self.sid.borrow_mut().get_or_insert_with(|| id.clone());
        Ok(id)
    }

    fn storage_err(e: worker::Error) -> Error {
        Error::Backend(format!("durable object storage: {e}"))
    }

    /// The record as it stands (expired records included), loading it once from storage.
    async fn current(&self) -> std::result::Result<Option<Record>, Error> {
        if !matches!(*self.slot.borrow(), Slot::Unknown) {
            return Ok(self.cached());
        }
        let text: Option<String> = self
            .state
            .storage()
            .get(REC)
            .await
            .map_err(Self::storage_err)?;
        let loaded = match text.as_deref().map(Record::decode) {
            Some(Ok(r)) => Slot::Present(r),
            Some(Err(why)) => {
                worker::console_warn!("session record discarded: {why}");
                Slot::Absent
            }
            None => Slot::Absent,
        };
        let mut slot = self.slot.borrow_mut();
        if let Slot::Unknown = *slot {
            *slot = loaded; // a concurrent load may have won; keep the first
        }
        drop(slot);
        Ok(self.cached())
    }

    fn cached(&self) -> Option<Record> {
        match &*self.slot.borrow() {
            Slot::Present(r) => Some(r.clone()),
            _ => None,
        }
    }

    async fn begin(&self, msg: BeginMsg) -> std::result::Result<Begun, Error> {
        let cfg = self.cfg()?;
        self.remember(&msg.sid)?;
        let lease = if msg.lock {
            let wait = cfg.lock_wait.as_millis() as u64;
            Some(
                self.lock
                    .acquire(now_ms, wait, |ms| {
                        worker::Delay::from(Duration::from_millis(ms))
                    })
                    .await?,
            )
        } else {
            None
        };
        match self.current().await {
            Ok(rec) => {
                let now = now_ms();
                Ok(Begun {
                    lease,
                    record: rec.filter(|r| !r.is_expired(now)),
                })
            }
            Err(e) => {
                if let Some(l) = lease {
                    self.lock.release(l.token, now_ms());
                }
                Err(e)
            }
        }
    }

    async fn apply(&self, msg: &ApplyMsg) -> std::result::Result<(), Error> {
        let cfg = self.cfg()?;
        let id = self.remember(&msg.sid)?;
        let current = self.current().await?;
        let now = now_ms();
        if let Some(l) = &msg.lease {
            self.lock.check(l.token, now)?;
        }
        let applied = apply_op(cfg, current.as_ref(), &msg.change, now)?;
        // Update the in-memory slot before awaiting storage so any interleaved request sees
        // it; on a storage failure the slot is reset and reloaded from storage next time.
        let storage = self.state.storage();
        let persisted = match &applied {
            Applied::Stored(r) => {
                *self.slot.borrow_mut() = Slot::Present(r.clone());
                let mut res = storage.put(REC, r.encode()).await;
                if res.is_ok() && !self.sid_saved.get() {
                    res = storage.put(SID, id.as_str()).await;
                    self.sid_saved.set(res.is_ok());
                }
                res
            }
            Applied::Deleted => {
                *self.slot.borrow_mut() = Slot::Absent;
                storage.delete(REC).await.map(|_| ())
            }
        };
        if let Err(e) = persisted {
            *self.slot.borrow_mut() = Slot::Unknown;
            return Err(Self::storage_err(e));
        }
        if matches!(applied, Applied::Deleted) && !self.sid_saved.get() {
            // never stored here: still make sure no mirror lingers
            let _ = storage.put(SID, id.as_str()).await;
            self.sid_saved.set(true);
        }
        self.schedule_mirror(now).await
    }

    /// Sets the alarm for the next KV mirror write: now, or one second after the last.
    async fn schedule_mirror(&self, now: u64) -> std::result::Result<(), Error> {
        let at = match next_slot(self.last_kv_write.get(), now) {
            WriteSlot::Now => now,
            WriteSlot::At(t) => t,
        };
        self.set_alarm_before(at).await
    }

    async fn set_alarm_before(&self, at: u64) -> std::result::Result<(), Error> {
        if matches!(self.alarm_at.get(), Some(a) if a <= at) {
            return Ok(());
        }
        let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at as f64));
        self.state
            .storage()
            .set_alarm(worker::ScheduledTime::new(date))
            .await
            .map_err(Self::storage_err)?;
        self.alarm_at.set(Some(at));
        Ok(())
    }

    async fn known_sid(&self) -> Option<SessionId> {
        if let Some(id) = self.sid.borrow().clone() {
            return Some(id);
        }
        let stored: Option<String> = self.state.storage().get(SID).await.ok().flatten();
        let id = stored.as_deref().and_then(SessionId::parse)?;
        *self.sid.borrow_mut() = Some(id.clone());
        self.sid_saved.set(true);
        Some(id)
    }

    /// Deletes the session everywhere: object storage and the KV mirror.
    async fn purge(&self, id: &SessionId, prefix: &str) -> std::result::Result<(), Error> {
        *self.slot.borrow_mut() = Slot::Absent;
        self.state
            .storage()
            .delete_all()
            .await
            .map_err(Self::storage_err)?;
        self.sid_saved.set(false);
        let store = self
            .env
            .kv(kv::BINDING)
            .map_err(|e| Error::Backend(e.to_string()))?;
        kv::delete(&store, prefix, id).await
    }

    /// The alarm: mirror the latest state to KV, or purge an expired session; then re-arm for
    /// the expiry. Idempotent, as alarms are delivered at least once.
    async fn on_alarm(&self) -> std::result::Result<(), Error> {
        self.alarm_at.set(None);
        let cfg = self.cfg()?;
        let Some(id) = self.known_sid().await else {
            return Ok(());
        };
        let now = now_ms();
        let store = self
            .env
            .kv(kv::BINDING)
            .map_err(|e| Error::Backend(e.to_string()))?;
        match self.current().await? {
            Some(r) if !r.is_expired(now) => {
                if let Err(e) = kv::put(&store, &cfg.key_prefix, &id, &r, now).await {
                    worker::console_warn!("kv mirror write for {} deferred: {e}", id.log_tag());
                    return self.set_alarm_before(now + 1_000).await;
                }
                self.last_kv_write.set(Some(now));
                self.set_alarm_before(r.expires).await
            }
            Some(_) => self.purge(&id, &cfg.key_prefix).await,
            None => kv::delete(&store, &cfg.key_prefix, &id).await,
        }
    }

    async fn sweep(&self, msg: IdMsg) -> std::result::Result<SweepAnswer, Error> {
        let cfg = self.cfg()?;
        let id = self.remember(&msg.sid)?;
        let now = now_ms();
        match self.current().await? {
            Some(r) if !r.is_expired(now) => {
                // KV's metadata was stale; re-mirror instead of deleting a live session
                self.schedule_mirror(now).await?;
                Ok(SweepAnswer { deleted: false })
            }
            _ => {
                self.purge(&id, &cfg.key_prefix).await?;
                Ok(SweepAnswer { deleted: true })
            }
        }
    }

    async fn route(&self, mut req: Request) -> std::result::Result<Response, Error> {
        let path = req.path();
        let bad = |e: worker::Error| Error::Backend(format!("bad message: {e}"));
        match path.as_str() {
            "/begin" => {
                let msg: BeginMsg = req.json().await.map_err(bad)?;
                to_json(&self.begin(msg).await?)
            }
            "/apply" => {
                let msg: ApplyMsg = req.json().await.map_err(bad)?;
                let result = self.apply(&msg).await;
                if let (true, Some(l)) = (msg.release, msg.lease) {
                    self.lock.release(l.token, now_ms());
                }
                result?;
                to_json(&serde_json::json!({}))
            }
            "/release" => {
                let msg: IdMsg = req.json().await.map_err(bad)?;
                if let Some(l) = msg.lease {
                    self.lock.release(l.token, now_ms());
                }
                to_json(&serde_json::json!({}))
            }
            "/sweep" => {
                let msg: IdMsg = req.json().await.map_err(bad)?;
                to_json(&self.sweep(msg).await?)
            }
            _ => Err(Error::Backend(format!("unknown lock object path {path}"))),
        }
    }
}

fn to_json<T: Serialize>(v: &T) -> std::result::Result<Response, Error> {
    Response::from_json(v).map_err(|e| Error::Backend(e.to_string()))
}

impl DurableObject for SessionLock {
    fn new(state: State, env: Env) -> Self {
        let config = env_config::config(&env).map_err(|e| e.to_string());
        let lease_ms = config
            .as_ref()
            .map(|c| c.lock_lease)
            .unwrap_or(Duration::from_secs(30));
        // Tokens from this incarnation start above any issued by an earlier one: the floor is
        // the start time in microseconds, and no object grants a million leases a second.
        let floor = now_ms().saturating_mul(1_000);
        SessionLock {
            state,
            env,
            config,
            lock: FifoLock::new(floor, lease_ms.as_millis() as u64),
            slot: RefCell::new(Slot::Unknown),
            sid: RefCell::new(None),
            sid_saved: Cell::new(false),
            last_kv_write: Cell::new(None),
            alarm_at: Cell::new(None),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        match self.route(req).await {
            Ok(r) => Ok(r),
            Err(e) => error_response(&e),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        match self.on_alarm().await {
            Ok(()) => Response::ok("ok"),
            Err(e) => {
                worker::console_error!("session lock alarm: {e}");
                Err(worker::Error::RustError("alarm failed".into()))
            }
        }
    }
}
