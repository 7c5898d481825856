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

use crate::engine::wire::{ApplyMsg, BeginMsg, IdMsg, SweepAnswer, WireError};
use worker::{durable_object, DurableObject, Env, Request, Response, Result, State};

use super::now_ms;
use super::{kv, log};
use crate::engine::log::Level;
use crate::engine::recent::RecentCalls;
use crate::engine::record::{apply_op, Applied, Record};
use crate::engine::retry::mirror_backoff;
use crate::engine::store::Begun;
use crate::engine::throttle::{next_slot, WriteSlot};
use crate::engine::{Error, FifoLock, SessionId, StoreParams};

/// Turns an error into the object's response (status plus wire error; details go to the log).
pub fn error_response(e: &Error) -> Result<Response> {
    if matches!(e, Error::Backend(_) | Error::Config(_)) {
        log::emit(
            Level::Error,
            "storage_failed",
            &format!("session lock object: {e}"),
        );
    }
    Response::from_json(&WireError::from_error(e)).map(|r| r.with_status(e.status()))
}

#[derive(Clone)]
enum Slot {
    Unknown,
    Absent,
    Present(Record),
}

/// Who this object is, persisted so the alarm can mirror after a restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Identity {
    sid: String,
    key_prefix: String,
}

/// The Durable Object class. Bind it as `SESSION_LOCKS` with a SQLite-backed migration.
#[durable_object]
pub struct SessionLock {
    state: State,
    env: Env,
    lock: FifoLock,
    slot: RefCell<Slot>,
    identity: RefCell<Option<Identity>>,
    identity_saved: Cell<bool>,
    last_kv_write: Cell<Option<u64>>,
    /// Consecutive failed KV mirror writes or deletes, for the backoff.
    mirror_failures: Cell<u32>,
    alarm_at: Cell<Option<u64>>,
    recent: RefCell<RecentCalls>,
}

const REC: &str = "rec";
const WHO: &str = "who";

fn storage_err(e: worker::Error) -> Error {
    Error::Backend(format!("durable object storage: {e}"))
}

impl SessionLock {
    /// Parses the id on the wire and remembers who this object is.
    fn remember(&self, sid: &str, params: &StoreParams) -> std::result::Result<SessionId, Error> {
        log::set_level(params.log_level);
        let id = SessionId::parse(sid)
            .ok_or_else(|| Error::Backend("bad session id on the wire".into()))?;
        let mut who = self.identity.borrow_mut();
        if who.is_none() {
            *who = Some(Identity {
                sid: sid.to_owned(),
                key_prefix: params.key_prefix.clone(),
            });
        }
        Ok(id)
    }

    /// The record as it stands (expired records included), loaded once from storage.
    async fn current(&self) -> std::result::Result<Option<Record>, Error> {
        if !matches!(*self.slot.borrow(), Slot::Unknown) {
            return Ok(self.cached());
        }
        let text: Option<String> = self.state.storage().get(REC).await.map_err(storage_err)?;
        let loaded = match text.as_deref().map(Record::decode) {
            Some(Ok(r)) => Slot::Present(r),
            Some(Err(why)) => {
                log::emit(
                    Level::Warn,
                    "record_discarded",
                    &format!("session record discarded: {why}"),
                );
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
        self.remember(&msg.sid, &msg.params)?;
        let lease = if msg.lock {
            let sleep = |ms| worker::Delay::from(Duration::from_millis(ms));
            Some(
                self.lock
                    .acquire_as(
                        Some(&msg.rid),
                        now_ms,
                        msg.params.wait_ms,
                        msg.params.lease_ms,
                        sleep,
                    )
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
        if self.recent.borrow().completed(&msg.rid) {
            return Ok(()); // a retry of a call that was applied: answer it again
        }
        self.remember(&msg.sid, &msg.params)?;
        // Who this object is goes to storage before any record, so the alarm can always mirror
        // and purge what was written. (Before reading `current`: no await may fall between
        // reading the record and updating the slot.)
        self.save_identity().await?;
        let current = self.current().await?;
        let now = now_ms();
        if let Some(l) = &msg.lease {
            self.lock.check(l.token, now)?;
        }
        let applied = apply_op(&msg.params.to_config(), current.as_ref(), &msg.change, now)?;
        // Update the in-memory slot before awaiting storage so any interleaved request sees
        // it; on a storage failure the slot is reset and reloaded from storage next time.
        let storage = self.state.storage();
        let persisted = match &applied {
            Applied::Stored(r) => {
                *self.slot.borrow_mut() = Slot::Present(r.clone());
                storage.put(REC, r.encode()).await
            }
            Applied::Deleted => {
                *self.slot.borrow_mut() = Slot::Absent;
                storage.delete(REC).await.map(|_| ())
            }
        };
        if let Err(e) = persisted {
            *self.slot.borrow_mut() = Slot::Unknown;
            return Err(storage_err(e));
        }
        self.recent.borrow_mut().record(&msg.rid);
        self.schedule_mirror(now).await
    }

    async fn save_identity(&self) -> std::result::Result<(), Error> {
        if self.identity_saved.get() {
            return Ok(());
        }
        let who = self.identity.borrow().clone();
        if let Some(who) = who {
            self.state
                .storage()
                .put(WHO, who)
                .await
                .map_err(storage_err)?;
            self.identity_saved.set(true);
        }
        Ok(())
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
            .map_err(storage_err)?;
        self.alarm_at.set(Some(at));
        Ok(())
    }

    /// Re-arms the alarm after a failed KV write or delete, backing off (KV answers 429 above
    /// one write per second per key, and an outage should not be hammered).
    async fn retry_mirror_later(&self, now: u64) -> std::result::Result<(), Error> {
        let failures = self.mirror_failures.get().saturating_add(1);
        self.mirror_failures.set(failures);
        self.alarm_at.set(None);
        self.set_alarm_before(now + mirror_backoff(failures)).await
    }

    async fn identity(&self) -> Option<(SessionId, String)> {
        let known = self.identity.borrow().clone();
        let who = match known {
            Some(w) => w,
            None => {
                let stored: Identity = self.state.storage().get(WHO).await.ok().flatten()?;
                self.identity_saved.set(true);
                *self.identity.borrow_mut() = Some(stored.clone());
                stored
            }
        };
        Some((SessionId::parse(&who.sid)?, who.key_prefix))
    }

    fn kv(&self) -> std::result::Result<worker::kv::KvStore, Error> {
        self.env
            .kv(kv::BINDING)
            .map_err(|e| Error::Backend(e.to_string()))
    }

    /// Deletes the session everywhere: object storage and the KV mirror.
    /// The KV mirror goes first: if that fails, the identity stays stored and the alarm,
    /// re-armed here, tries again a second later until the purge is complete.
    async fn purge(&self, id: &SessionId, prefix: &str) -> std::result::Result<(), Error> {
        *self.slot.borrow_mut() = Slot::Absent;
        if let Err(e) = kv::delete(&self.kv()?, prefix, id).await {
            let msg = format!("kv mirror delete for {} deferred: {e}", id.log_tag());
            log::emit(Level::Warn, "kv_deferred", &msg);
            return self.retry_mirror_later(now_ms()).await;
        }
        self.mirror_failures.set(0);
        let storage = self.state.storage();
        storage.delete_alarm().await.map_err(storage_err)?;
        storage.delete_all().await.map_err(storage_err)?;
        self.identity_saved.set(false);
        self.alarm_at.set(None);
        Ok(())
    }

    /// The alarm: mirror the latest state to KV, or purge an expired session; then re-arm for
    /// the expiry. Idempotent, as alarms are delivered at least once.
    async fn on_alarm(&self) -> std::result::Result<(), Error> {
        self.alarm_at.set(None);
        let Some((id, prefix)) = self.identity().await else {
            return Ok(());
        };
        let now = now_ms();
        match self.current().await? {
            Some(r) if !r.is_expired(now) => {
                // Counted from the start of the write, so a change that lands while it is in
                // flight is scheduled a full second later (KV's per-key rate).
                self.last_kv_write.set(Some(now));
                if let Err(e) = kv::put(&self.kv()?, &prefix, &id, &r, now).await {
                    let msg = format!("kv mirror write for {} deferred: {e}", id.log_tag());
                    log::emit(Level::Warn, "kv_deferred", &msg);
                    return self.retry_mirror_later(now).await;
                }
                self.mirror_failures.set(0);
                let msg = format!("kv mirror write {} at {now}", id.log_tag());
                log::emit(Level::Debug, "kv_write", &msg);
                self.set_alarm_before(r.expires).await
            }
            // Expired, destroyed or regenerated away: nothing of the session may stay behind,
            // not even who this object was (its raw id), out of the sweep's reach.
            Some(_) | None => self.purge(&id, &prefix).await,
        }
    }

    async fn sweep(&self, msg: IdMsg) -> std::result::Result<SweepAnswer, Error> {
        let id = self.remember(&msg.sid, &msg.params)?;
        let now = now_ms();
        match self.current().await? {
            Some(r) if !r.is_expired(now) => {
                // KV's metadata was stale; re-mirror instead of deleting a live session
                self.save_identity().await?;
                self.schedule_mirror(now).await?;
                Ok(SweepAnswer { deleted: false })
            }
            _ => {
                self.purge(&id, &msg.params.key_prefix).await?;
                Ok(SweepAnswer { deleted: true })
            }
        }
    }

    async fn route(&self, mut req: Request) -> std::result::Result<Response, Error> {
        let path = req.path();
        match path.as_str() {
            "/begin" => {
                let msg: BeginMsg = read(&mut req).await?;
                to_json(&self.begin(msg).await?)
            }
            "/apply" => {
                let msg: ApplyMsg = read(&mut req).await?;
                let result = self.apply(&msg).await;
                if let (true, Some(l)) = (msg.release, msg.lease) {
                    self.lock.release(l.token, now_ms());
                }
                result?;
                to_json(&serde_json::json!({}))
            }
            "/release" => {
                let msg: IdMsg = read(&mut req).await?;
                if let Some(l) = msg.lease {
                    self.lock.release(l.token, now_ms());
                }
                if let Some(c) = &msg.caller {
                    self.lock.release_caller(c, now_ms());
                }
                to_json(&serde_json::json!({}))
            }
            "/sweep" => {
                let msg: IdMsg = read(&mut req).await?;
                to_json(&self.sweep(msg).await?)
            }
            _ => Err(Error::Backend(format!("unknown lock object path {path}"))),
        }
    }
}

/// Reads a message. Text plus serde_json, not `Request::json`, which goes through a JS object
/// and `serde_wasm_bindgen` and costs a boundary crossing per field.
async fn read<T: serde::de::DeserializeOwned>(req: &mut Request) -> std::result::Result<T, Error> {
    let text = req
        .text()
        .await
        .map_err(|e| Error::Backend(format!("bad message: {e}")))?;
    serde_json::from_str(&text).map_err(|e| Error::Backend(format!("bad message: {e}")))
}

fn to_json<T: Serialize>(v: &T) -> std::result::Result<Response, Error> {
    Response::from_json(v).map_err(|e| Error::Backend(e.to_string()))
}

impl DurableObject for SessionLock {
    fn new(state: State, env: Env) -> Self {
        SessionLock {
            state,
            env,
            // tokens from this incarnation start above any an earlier one issued
            lock: FifoLock::for_incarnation(now_ms()),
            slot: RefCell::new(Slot::Unknown),
            identity: RefCell::new(None),
            identity_saved: Cell::new(false),
            last_kv_write: Cell::new(None),
            mirror_failures: Cell::new(0),
            alarm_at: Cell::new(None),
            recent: RefCell::new(RecentCalls::default()),
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
                log::emit(
                    Level::Error,
                    "alarm_failed",
                    &format!("session lock alarm: {e}"),
                );
                Err(worker::Error::RustError("alarm failed".into()))
            }
        }
    }
}
