//! `SessionLock`'s rules: the Durable Object that is each session's single serialization point.
//!
//! One object per session id. It holds the FIFO lock (leases, fencing), owns the authoritative
//! record in its own storage (so every read sees the previous write, whatever KV's
//! consistency), applies changes with the record rules, and mirrors the record to KV through
//! its alarm at most once a second per key. The alarm also removes the session when it
//! expires. All state that must survive a restart is in storage; the lock fails safe on a
//! restart: old leases are gone, so their holders' writes are refused.
//!
//! [`LockObject`] is the whole object, generic over [`ObjectHost`]: the storage, alarm, KV and
//! clock calls of whichever runtime class wraps it (the JavaScript class in `js/`, or the
//! workers-rs class). Natively it runs on a test host (tests/object.rs).

pub mod lock;
pub mod recent;
pub mod throttle;
pub mod user;

use std::cell::{Cell, RefCell};

use serde::{Deserialize, Serialize};

use crate::engine::log::{self, Level};
use crate::engine::object::recent::RecentCalls;
use crate::engine::object::throttle::{mirror_needed, next_slot, WriteSlot};
use crate::engine::object::user::{check_user, index_name, Binding, Listed, UserIndex};
use crate::engine::session::record::Change;
use crate::engine::session::record::{apply_op, Applied, Record};
use crate::engine::wire::{ApplyMsg, BeginMsg, DestroyedAnswer, IdMsg, Op, Reply, SweepAnswer};
use crate::engine::wire::{UserAddMsg, UserMsg, WireError};
use crate::engine::worker::retry::mirror_backoff;
use crate::engine::worker::store::Begun;
use crate::engine::{Config, Error, FifoLock, SessionId, StoreParams};

/// What a session lock object needs from its runtime. Every storage call may fail; the object
/// then answers an opaque backend error and reloads from storage next time.
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait ObjectHost {
    /// Wall-clock time in Unix milliseconds.
    fn now(&self) -> u64;
    /// Resolves after `ms` milliseconds (the lock's wait timeout).
    async fn sleep(&self, ms: u64);
    /// Reads a key of the object's own storage.
    async fn get(&self, key: &str) -> Result<Option<String>, Error>;
    /// Writes a key of the object's own storage.
    async fn put(&self, key: &str, value: String) -> Result<(), Error>;
    /// Deletes a key of the object's own storage.
    async fn delete(&self, key: &str) -> Result<(), Error>;
    /// Sets the object's one alarm to fire at `at` (Unix ms).
    async fn set_alarm(&self, at: u64) -> Result<(), Error>;
    /// Removes the alarm, then all of the object's storage.
    async fn delete_all(&self) -> Result<(), Error>;
    /// Writes the KV mirror: `value` under `key`, expiring at `expiration` (Unix seconds),
    /// with `metadata` (JSON text).
    async fn kv_put(
        &self,
        key: &str,
        value: String,
        expiration: u64,
        metadata: String,
    ) -> Result<(), Error>;
    /// Deletes the KV mirror (idempotent).
    async fn kv_delete(&self, key: &str) -> Result<(), Error>;
    /// Calls `op` on another object of this class, named `name` (a session's object asks its
    /// user's index; the index asks sessions' objects to die). Resolves to the JSON reply.
    async fn call(&self, name: &str, op: Op, body: String) -> Result<String, Error>;
}

/// The KV key of a session's mirror.
pub fn kv_key(prefix: &str, id: &SessionId) -> String {
    format!("{prefix}{}", id.as_str())
}

/// How long KV keeps a session's key past the expiry it was told (seconds): a day.
pub const KV_GRACE_S: u64 = 86_400;

/// The KV expiration (Unix seconds) for a mirror written at `now_ms`: the record's expiry plus
/// [`KV_GRACE_S`], and at least 61 s ahead (KV refuses less than 60 s). The grace keeps the
/// key of a session whose later expiry KV has not been told yet (a write does not reach KV:
/// the object's alarm at the old expiry does) until that alarm and a few sweeps have run, and
/// still lets KV drop a dead session's key by itself if both failed.
pub fn kv_expiration(record: &Record, now_ms: u64) -> u64 {
    (record.expires / 1000 + 1 + KV_GRACE_S).max(now_ms / 1000 + 61)
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

const REC: &str = "rec";
const WHO: &str = "who";
/// A user index object's entries.
const IDX: &str = "idx";

/// One session's lock object.
pub struct LockObject<H> {
    host: H,
    lock: FifoLock,
    slot: RefCell<Slot>,
    identity: RefCell<Option<Identity>>,
    identity_saved: Cell<bool>,
    last_kv_write: Cell<Option<u64>>,
    /// Consecutive failed KV mirror writes or deletes, for the backoff.
    mirror_failures: Cell<u32>,
    alarm_at: Cell<Option<u64>>,
    recent: RefCell<RecentCalls>,
    /// As a user's index (named `user:<uid>`): its entries, loaded once.
    index: RefCell<Option<UserIndex>>,
}

impl<H: ObjectHost> LockObject<H> {
    /// A new incarnation of the object (after a start or a restart).
    pub fn new(host: H) -> Self {
        // tokens from this incarnation start above any an earlier one issued
        let lock = FifoLock::for_incarnation(host.now());
        LockObject {
            host,
            lock,
            slot: RefCell::new(Slot::Unknown),
            identity: RefCell::new(None),
            identity_saved: Cell::new(false),
            last_kv_write: Cell::new(None),
            mirror_failures: Cell::new(0),
            alarm_at: Cell::new(None),
            recent: RefCell::new(RecentCalls::default()),
            index: RefCell::new(None),
        }
    }

    /// The lock, for tests and diagnostics.
    pub fn lock(&self) -> &FifoLock {
        &self.lock
    }

    /// Answers one call: `body` is the operation's JSON message; the answer is a JSON
    /// [`Reply`]. Failures are answered too (logged here, opaque on the wire).
    pub async fn call(&self, op: Op, body: &str) -> String {
        match op {
            Op::Begin => serve(body, |m| self.begin(m)).await,
            Op::Apply => serve(body, |m| self.apply_then_release(m)).await,
            Op::Release => serve(body, |m| async move { Ok(self.release(&m)) }).await,
            Op::Sweep => serve(body, |m| self.sweep(m)).await,
            Op::Kill => {
                serve(
                    body,
                    |m| async move { self.kill(m).await.map(|()| Done {}) },
                )
                .await
            }
            Op::UserAdd => {
                serve(
                    body,
                    |m| async move { self.user_add(m).await.map(|()| Done {}) },
                )
                .await
            }
            Op::UserRemove => {
                serve(body, |m| async move {
                    self.user_remove(m).await.map(|()| Done {})
                })
                .await
            }
            Op::UserList => serve(body, |m| self.user_list(m)).await,
            Op::UserDestroy => serve(body, |m| self.user_destroy(m)).await,
        }
    }

    /// `apply`, then the release the caller asked for, whatever the outcome.
    async fn apply_then_release(&self, m: ApplyMsg) -> Result<Done, Error> {
        let r = self.apply(&m).await;
        if let (true, Some(l)) = (m.release, m.lease) {
            self.lock.release(l.token, self.host.now());
        }
        r.map(|()| Done {})
    }

    /// `release`: the lease, and whatever the call `caller` was granted or waits for.
    fn release(&self, m: &IdMsg) -> Done {
        let now = self.host.now();
        if let Some(l) = m.lease {
            self.lock.release(l.token, now);
        }
        if let Some(c) = &m.caller {
            self.lock.release_caller(c, now);
        }
        Done {}
    }

    /// Answers a `begin` like [`Self::call`], also giving the token of the lease it granted,
    /// so the runtime class can tie the lease to the caller's RPC session.
    pub async fn begin_leased(&self, body: &str) -> (String, Option<u64>) {
        match read::<BeginMsg>(body) {
            Ok(m) => {
                let r = self.begin(m).await;
                let token = r.as_ref().ok().and_then(|b| b.lease.map(|l| l.token));
                (encode(r), token)
            }
            Err(e) => (encode::<()>(Err(e)), None),
        }
    }

    /// Releases the lease `token` (its caller's RPC session ended); a stale token is ignored.
    pub fn release_token(&self, token: u64) {
        self.lock.release(token, self.host.now());
    }

    /// Answers a call by operation name (the workers-rs class routes paths here); an unknown
    /// name is a backend error.
    pub async fn call_named(&self, name: &str, body: &str) -> String {
        match Op::parse(name) {
            Some(op) => self.call(op, body).await,
            None => encode::<()>(Err(Error::Backend(format!(
                "unknown lock object operation {name}"
            )))),
        }
    }

    /// Parses the id on the wire and remembers who this object is.
    fn remember(&self, sid: &str, params: &StoreParams) -> Result<SessionId, Error> {
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
    async fn current(&self) -> Result<Option<Record>, Error> {
        if !matches!(*self.slot.borrow(), Slot::Unknown) {
            return Ok(self.cached());
        }
        let text = self.host.get(REC).await?;
        let loaded = match text.as_deref().map(Record::decode) {
            Some(Ok(r)) => Slot::Present(r),
            Some(Err(why)) => {
                let msg = format!("session record discarded: {why}");
                log::emit(Level::Warn, "record_discarded", &msg);
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

    async fn begin(&self, msg: BeginMsg) -> Result<Begun, Error> {
        self.remember(&msg.sid, &msg.params)?;
        let lease = if msg.lock {
            let now = || self.host.now();
            let sleep = |ms| self.host.sleep(ms);
            let (wait, lease) = (msg.params.wait_ms, msg.params.lease_ms);
            Some(
                self.lock
                    .acquire_as(Some(&msg.rid), now, wait, lease, sleep)
                    .await?,
            )
        } else {
            None
        };
        match self.current().await {
            Ok(rec) => {
                let now = self.host.now();
                Ok(Begun {
                    lease,
                    record: rec.filter(|r| !r.is_expired(now)),
                })
            }
            Err(e) => {
                if let Some(l) = lease {
                    self.lock.release(l.token, self.host.now());
                }
                Err(e)
            }
        }
    }

    async fn apply(&self, msg: &ApplyMsg) -> Result<(), Error> {
        let r = self.apply_checked(msg).await;
        let stored = matches!(*self.slot.borrow(), Slot::Present(_));
        if r.is_err() && !stored && self.identity_saved.get() {
            // refused with nothing (known to be) stored: the identity saved on the way must not
            // stay behind; the alarm purges it if no record is there, and mirrors one if it is
            let _ = self.set_alarm_before(self.host.now()).await;
        }
        r
    }

    async fn apply_checked(&self, msg: &ApplyMsg) -> Result<(), Error> {
        if self.recent.borrow().completed(&msg.rid) {
            return Ok(()); // a retry of a call that was applied: answer it again
        }
        self.remember(&msg.sid, &msg.params)?;
        // Who this object is goes to storage before any record, so the alarm can always mirror
        // and purge what was written.
        self.save_identity().await?;
        // A bound session is listed in its user's index before it is stored, so a stored bound
        // session can always be found by a "log out everywhere". Listed first, before the
        // record is read: no await may fall between reading the record and updating the slot
        // (a kill or another write may land during any await).
        let listed = match binding_of(&msg.change) {
            Some(b) => {
                let created = match &msg.change {
                    Change::Create { record, .. } => record.created,
                    _ => self.current().await?.map_or(0, |r| r.created),
                };
                self.index_add(&msg.sid, created, b, &msg.params).await?;
                Some(b.user.clone())
            }
            None => None,
        };
        let current = self.current().await?;
        let now = self.host.now();
        let checked = match &msg.lease {
            Some(l) => self.lock.check(l.token, now),
            None => Ok(()),
        };
        let applied = checked
            .and_then(|()| apply_op(&msg.params.to_config(), current.as_ref(), &msg.change, now));
        let applied = match applied {
            Ok(a) => a,
            Err(e) => {
                if let Some(uid) = listed {
                    // refused after all (a kill, a lost lease): take the listing back
                    let _ = self.index_remove(&uid, &msg.sid, &msg.params).await;
                }
                return Err(e);
            }
        };
        let unbound = match (&applied, current.as_ref().and_then(|c| c.user.clone())) {
            (Applied::Deleted, Some(u)) => Some(u),
            (Applied::Stored(r), Some(u)) if r.user.as_deref() != Some(u.as_str()) => Some(u),
            _ => None,
        };
        // Update the in-memory slot before awaiting storage so any interleaved request sees
        // it; on a storage failure the slot is reset and reloaded from storage next time.
        let persisted = match &applied {
            Applied::Stored(r) => {
                *self.slot.borrow_mut() = Slot::Present(r.clone());
                self.host.put(REC, r.encode()).await
            }
            Applied::Deleted => {
                *self.slot.borrow_mut() = Slot::Absent;
                self.host.delete(REC).await
            }
        };
        if let Err(e) = persisted {
            *self.slot.borrow_mut() = Slot::Unknown;
            return Err(e);
        }
        self.recent.borrow_mut().record(&msg.rid);
        if let Some(uid) = unbound {
            // best effort: a failure leaves an entry for a dead session, which a later
            // "log out everywhere" destroys again harmlessly
            if let Err(e) = self.index_remove(&uid, &msg.sid, &msg.params).await {
                let msg = format!("user index update deferred: {e}");
                log::emit(Level::Warn, "user_index_failed", &msg);
            }
        }
        let after = match &applied {
            Applied::Stored(r) => Some(r),
            Applied::Deleted => None,
        };
        if mirror_needed(current.as_ref(), after) {
            self.schedule_mirror(now).await
        } else {
            Ok(()) // the alarm already set, at or before the expiry KV knows, catches KV up
        }
    }

    /// Asks `uid`'s index to list this session.
    async fn index_add(
        &self,
        sid: &str,
        created: u64,
        bind: &Binding,
        params: &StoreParams,
    ) -> Result<(), Error> {
        let msg = UserAddMsg {
            uid: bind.user.clone(),
            sid: sid.to_owned(),
            created,
            bind: bind.clone(),
            params: params.clone(),
        };
        self.ask::<serde_json::Value>(&index_name(&bind.user), Op::UserAdd, &msg)
            .await
            .map(|_| ())
    }

    /// Asks `uid`'s index to unlist `sid`.
    async fn index_remove(&self, uid: &str, sid: &str, params: &StoreParams) -> Result<(), Error> {
        let msg = UserMsg {
            uid: uid.to_owned(),
            sid: Some(sid.to_owned()),
            params: params.clone(),
        };
        self.ask::<serde_json::Value>(&index_name(uid), Op::UserRemove, &msg)
            .await
            .map(|_| ())
    }

    /// One call to another object, its refusal turned back into the error it was.
    async fn ask<R: serde::de::DeserializeOwned>(
        &self,
        name: &str,
        op: Op,
        msg: &impl Serialize,
    ) -> Result<R, Error> {
        let body = serde_json::to_string(msg).map_err(|e| Error::Backend(e.to_string()))?;
        let text = self.host.call(name, op, body).await?;
        match serde_json::from_str::<Reply<R>>(&text).map_err(|e| Error::Backend(e.to_string()))? {
            Reply::Ok(v) => Ok(v),
            Reply::Err(w) => Err(w.into_error()),
        }
    }

    /// Destroys this session now (its user's index asks): the record is deleted and the lease
    /// revoked, so the holder's write is refused (fencing) and every later request finds no
    /// session; the alarm then purges the KV mirror and storage.
    async fn kill(&self, msg: IdMsg) -> Result<(), Error> {
        self.remember(&msg.sid, &msg.params)?;
        self.save_identity().await?;
        let now = self.host.now();
        if let Some(holder) = self.lock.holder() {
            self.lock.release(holder.token, now);
        }
        *self.slot.borrow_mut() = Slot::Absent;
        if let Err(e) = self.host.delete(REC).await {
            *self.slot.borrow_mut() = Slot::Unknown;
            return Err(e);
        }
        self.set_alarm_before(now).await
    }

    /// The user index's entries, loaded once.
    async fn entries(&self) -> Result<(), Error> {
        if self.index.borrow().is_some() {
            return Ok(());
        }
        let text = self.host.get(IDX).await?;
        let idx = match text.as_deref().map(serde_json::from_str::<UserIndex>) {
            Some(Ok(i)) => i,
            Some(Err(e)) => {
                log::emit(
                    Level::Warn,
                    "record_discarded",
                    &format!("user index discarded: {e}"),
                );
                UserIndex::default()
            }
            None => UserIndex::default(),
        };
        let mut slot = self.index.borrow_mut();
        if slot.is_none() {
            *slot = Some(idx);
        }
        Ok(())
    }

    /// Persists the index as it stands (nothing left: the object keeps no storage).
    async fn save_index(&self) -> Result<(), Error> {
        let text = match &*self.index.borrow() {
            Some(i) if !i.entries.is_empty() => {
                Some(serde_json::to_string(i).map_err(|e| Error::Backend(e.to_string()))?)
            }
            _ => None,
        };
        match text {
            Some(t) => self.host.put(IDX, t).await,
            None => self.host.delete(IDX).await,
        }
    }

    async fn user_add(&self, m: UserAddMsg) -> Result<(), Error> {
        check_user(&m.uid).map_err(|_| Error::Backend("bad user id on the wire".into()))?;
        log::set_level(m.params.log_level);
        self.entries().await?;
        let now = self.host.now();
        let evicted = {
            let mut slot = self.index.borrow_mut();
            let idx = slot.as_mut().expect("loaded above");
            idx.add(&m.sid, m.created, &m.bind, now, m.params.user_cap)
        };
        self.save_index().await?;
        // over the cap: the oldest sessions go (they are unlisted already)
        for sid in evicted {
            if let Err(e) = self.kill_session(&sid, &m.params).await {
                let msg = format!("destroying a session over the user cap failed: {e}");
                log::emit(Level::Warn, "user_index_failed", &msg);
            }
        }
        Ok(())
    }

    async fn user_remove(&self, m: UserMsg) -> Result<(), Error> {
        self.entries().await?;
        let sid = m.sid.unwrap_or_default();
        let removed = self
            .index
            .borrow_mut()
            .as_mut()
            .is_some_and(|i| i.remove(&sid));
        if removed {
            self.save_index().await?;
        }
        Ok(())
    }

    async fn user_list(&self, m: UserMsg) -> Result<Vec<Listed>, Error> {
        self.entries().await?;
        let slot = self.index.borrow();
        Ok(slot
            .as_ref()
            .map(|i| i.listed(m.sid.as_deref()))
            .unwrap_or_default())
    }

    /// Destroys the user's sessions (all, or all but `m.sid`): each session's object kills it,
    /// then it is unlisted. Sessions listed meanwhile (a login racing this) stay listed.
    async fn user_destroy(&self, m: UserMsg) -> Result<DestroyedAnswer, Error> {
        log::set_level(m.params.log_level);
        self.entries().await?;
        let targets = self
            .index
            .borrow()
            .as_ref()
            .map(|i| i.to_destroy(m.sid.as_deref()))
            .unwrap_or_default();
        let results = futures_util::future::join_all(
            targets.iter().map(|sid| self.kill_session(sid, &m.params)),
        )
        .await;
        let mut failed = None;
        let mut destroyed = 0;
        for (sid, r) in targets.iter().zip(results) {
            match r {
                Ok(()) => {
                    destroyed += 1;
                    if let Some(i) = self.index.borrow_mut().as_mut() {
                        i.remove(sid);
                    }
                }
                Err(e) => failed = Some(e),
            }
        }
        self.save_index().await?;
        match failed {
            Some(e) => Err(e),
            None => Ok(DestroyedAnswer { destroyed }),
        }
    }

    /// Asks session `sid`'s object to destroy it.
    async fn kill_session(&self, sid: &str, params: &StoreParams) -> Result<(), Error> {
        let msg = IdMsg {
            sid: sid.to_owned(),
            params: params.clone(),
            lease: None,
            caller: None,
        };
        self.ask::<serde_json::Value>(sid, Op::Kill, &msg)
            .await
            .map(|_| ())
    }

    async fn save_identity(&self) -> Result<(), Error> {
        if self.identity_saved.get() {
            return Ok(());
        }
        let who = self.identity.borrow().clone();
        if let Some(who) = who {
            let text = serde_json::to_string(&who).map_err(|e| Error::Backend(e.to_string()))?;
            // an object woken from hibernation forgot it saved this: a row read is a
            // thousandth of the price of writing the row again
            if self.host.get(WHO).await?.as_deref() != Some(text.as_str()) {
                self.host.put(WHO, text).await?;
            }
            self.identity_saved.set(true);
        }
        Ok(())
    }

    /// Sets the alarm for the next KV mirror write: now, or one second after the last.
    async fn schedule_mirror(&self, now: u64) -> Result<(), Error> {
        let at = match next_slot(self.last_kv_write.get(), now) {
            WriteSlot::Now => now,
            WriteSlot::At(t) => t,
        };
        self.set_alarm_before(at).await
    }

    async fn set_alarm_before(&self, at: u64) -> Result<(), Error> {
        if matches!(self.alarm_at.get(), Some(a) if a <= at) {
            return Ok(());
        }
        self.host.set_alarm(at).await?;
        self.alarm_at.set(Some(at));
        Ok(())
    }

    /// Re-arms the alarm after a failed KV write or delete, backing off (KV answers 429 above
    /// one write per second per key, and an outage should not be hammered).
    async fn retry_mirror_later(&self, now: u64) -> Result<(), Error> {
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
                let text = self.host.get(WHO).await.ok().flatten()?;
                let stored: Identity = serde_json::from_str(&text).ok()?;
                self.identity_saved.set(true);
                *self.identity.borrow_mut() = Some(stored.clone());
                stored
            }
        };
        Some((SessionId::parse(&who.sid)?, who.key_prefix))
    }

    /// Unlists an expired bound session from its user's index; false if that failed (the
    /// purge then waits, so the entry is never left behind).
    async fn unlist_expired(&self, r: &Record, id: &SessionId, prefix: &str) -> bool {
        let Some(uid) = &r.user else { return true };
        let params = StoreParams {
            key_prefix: prefix.to_owned(),
            ..Config::default().store_params()
        };
        match self.index_remove(uid, id.as_str(), &params).await {
            Ok(()) => true,
            Err(e) => {
                let msg = format!("user index update for {} deferred: {e}", id.log_tag());
                log::emit(Level::Warn, "user_index_failed", &msg);
                false
            }
        }
    }

    /// Deletes the session everywhere: object storage and the KV mirror.
    /// The KV mirror goes first: if that fails, the identity stays stored and the alarm,
    /// re-armed here, tries again a second later until the purge is complete.
    async fn purge(&self, id: &SessionId, prefix: &str) -> Result<(), Error> {
        *self.slot.borrow_mut() = Slot::Absent;
        if let Err(e) = self.host.kv_delete(&kv_key(prefix, id)).await {
            let msg = format!("kv mirror delete for {} deferred: {e}", id.log_tag());
            log::emit(Level::Warn, "kv_deferred", &msg);
            return self.retry_mirror_later(self.host.now()).await;
        }
        self.mirror_failures.set(0);
        self.host.delete_all().await?;
        self.identity_saved.set(false);
        self.alarm_at.set(None);
        Ok(())
    }

    /// The alarm: mirror the latest state to KV, or purge an expired session; then re-arm for
    /// the expiry. Idempotent, as alarms are delivered at least once. An error is logged here;
    /// the runtime retries the alarm.
    pub async fn alarm(&self) -> Result<(), Error> {
        let r = self.on_alarm().await;
        if let Err(e) = &r {
            log::emit(
                Level::Error,
                "alarm_failed",
                &format!("session lock alarm: {e}"),
            );
        }
        r
    }

    async fn on_alarm(&self) -> Result<(), Error> {
        self.alarm_at.set(None);
        let Some((id, prefix)) = self.identity().await else {
            return Ok(());
        };
        let now = self.host.now();
        match self.current().await? {
            Some(r) if !r.is_expired(now) => {
                // Counted from the start of the write, so a change that lands while it is in
                // flight is scheduled a full second later (KV's per-key rate).
                self.last_kv_write.set(Some(now));
                let meta =
                    serde_json::to_string(&r.meta()).map_err(|e| Error::Backend(e.to_string()))?;
                let put = self
                    .host
                    .kv_put(
                        &kv_key(&prefix, &id),
                        r.encode(),
                        kv_expiration(&r, now),
                        meta,
                    )
                    .await;
                if let Err(e) = put {
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
            Some(r) => {
                if !self.unlist_expired(&r, &id, &prefix).await {
                    return self.retry_mirror_later(now).await;
                }
                self.purge(&id, &prefix).await
            }
            None => self.purge(&id, &prefix).await,
        }
    }

    async fn sweep(&self, msg: IdMsg) -> Result<SweepAnswer, Error> {
        let id = self.remember(&msg.sid, &msg.params)?;
        let now = self.host.now();
        match self.current().await? {
            Some(r) if !r.is_expired(now) => {
                // KV's metadata was stale; re-mirror instead of deleting a live session
                self.save_identity().await?;
                self.schedule_mirror(now).await?;
                Ok(SweepAnswer { deleted: false })
            }
            expired => {
                if let Some(r) = &expired {
                    if !self.unlist_expired(r, &id, &msg.params.key_prefix).await {
                        return Err(Error::Backend("user index unreachable".into()));
                    }
                }
                self.purge(&id, &msg.params.key_prefix).await?;
                Ok(SweepAnswer { deleted: true })
            }
        }
    }
}

/// The answer of an operation that answers nothing but success: `{}`.
#[derive(Serialize)]
struct Done {}

/// Reads an operation's message, runs it, and answers its result as a [`Reply`].
async fn serve<M, R, F, Fut>(body: &str, op: F) -> String
where
    M: serde::de::DeserializeOwned,
    R: Serialize,
    F: FnOnce(M) -> Fut,
    Fut: std::future::Future<Output = Result<R, Error>>,
{
    match read::<M>(body) {
        Ok(m) => encode(op(m).await),
        Err(e) => encode::<()>(Err(e)),
    }
}

/// The binding a change carries to the user's index: a bound create (a login, or a bound
/// session's regenerate) or a `set_user` update.
fn binding_of(change: &Change) -> Option<&Binding> {
    match change {
        Change::Create { bind, .. } | Change::Update { bind, .. } => bind.as_ref(),
        Change::Delete => None,
    }
}

fn read<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, Error> {
    serde_json::from_str(body).map_err(|e| Error::Backend(format!("bad message: {e}")))
}

/// The wire answer for a result; failures are logged here (details never leave the object).
fn encode<T: Serialize>(r: Result<T, Error>) -> String {
    let reply = match r {
        Ok(v) => Reply::Ok(v),
        Err(e) => {
            if matches!(e, Error::Backend(_) | Error::Config(_) | Error::Internal(_)) {
                let msg = format!("session lock object: {e}");
                log::emit(Level::Error, "storage_failed", &msg);
            }
            Reply::Err(WireError::from_error(&e))
        }
    };
    serde_json::to_string(&reply).unwrap_or_else(|_| r#"{"err":{"error":"backend"}}"#.into())
}
