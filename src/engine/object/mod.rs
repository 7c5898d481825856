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

mod index;
pub mod lock;
mod mirror;
pub mod recent;
pub mod settings;
pub mod throttle;
pub mod user;

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use crate::engine::log::{self, Level};
use crate::engine::object::recent::RecentCalls;
use crate::engine::object::settings::{Installed, SettingsCache};
use crate::engine::object::throttle::mirror_needed;
use crate::engine::object::user::{index_name, Binding, UserIndex};
use crate::engine::session::record::Change;
use crate::engine::session::record::{apply_op, Applied, Record};
use crate::engine::wire::{ApplyMsg, BeginMsg, IdMsg, Op, Reply};
use crate::engine::wire::{Message, ObjectSettings, SettingsRef, UserAddMsg, UserMsg, WireError};
use crate::engine::worker::store::Begun;
use crate::engine::{Error, FifoLock, SessionId};

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

/// Who this object is, and the settings its record was last written with, persisted so the
/// alarm can mirror after a restart and a later incarnation knows its callers' settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Identity {
    sid: String,
    key_prefix: String,
    /// Absent in rows written before the object kept its settings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    settings: Option<SettingsRef>,
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
    /// The callers' settings this incarnation holds.
    settings: SettingsCache,
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
            settings: SettingsCache::default(),
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
            Op::Begin => self.serve(body, |m, s| self.begin(m, s)).await,
            Op::Apply => self.serve(body, |m, s| self.apply_then_release(m, s)).await,
            Op::Release => match read::<IdMsg>(body) {
                Ok(m) => encode(Ok(self.release(&m))),
                Err(e) => encode::<()>(Err(e)),
            },
            Op::Sweep => self.serve(body, |m, s| self.sweep(m, s)).await,
            Op::Kill => {
                let kill = |m, s| async move { self.kill(m, s).await.map(|()| Done {}) };
                self.serve(body, kill).await
            }
            Op::UserAdd => {
                let add = |m, s| async move { self.user_add(m, s).await.map(|()| Done {}) };
                self.serve(body, add).await
            }
            Op::UserRemove => {
                let remove = |m, _| async move { self.user_remove(m).await.map(|()| Done {}) };
                self.serve(body, remove).await
            }
            Op::UserList => self.serve(body, |m, _| self.user_list(m)).await,
            Op::UserDestroy => self.serve(body, |m, s| self.user_destroy(m, s)).await,
        }
    }

    /// `apply`, then the release the caller asked for, whatever the outcome.
    async fn apply_then_release(&self, m: ApplyMsg, s: Rc<Installed>) -> Result<Done, Error> {
        let r = self.apply(&m, &s).await;
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
        let m = match read::<BeginMsg>(body) {
            Ok(m) => m,
            Err(e) => return (encode::<()>(Err(e)), None),
        };
        let Some(s) = self.settings_for(&m.settings).await else {
            return (settings_unknown(), None);
        };
        let r = self.begin(m, s).await;
        let token = r.as_ref().ok().and_then(|b| b.lease.map(|l| l.token));
        (encode(r), token)
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

    /// Reads an operation's message, finds the settings it names, runs it, and answers its
    /// result as a [`Reply`]; a version this incarnation does not hold is refused with
    /// [`WireError::SETTINGS`], and the caller sends the settings.
    async fn serve<M, R, F, Fut>(&self, body: &str, op: F) -> String
    where
        M: serde::de::DeserializeOwned + Message,
        R: Serialize,
        F: FnOnce(M, Rc<Installed>) -> Fut,
        Fut: std::future::Future<Output = Result<R, Error>>,
    {
        let m = match read::<M>(body) {
            Ok(m) => m,
            Err(e) => return encode::<()>(Err(e)),
        };
        match self.settings_for(m.settings()).await {
            Some(s) => encode(op(m, s).await),
            None => settings_unknown(),
        }
    }

    /// The settings `r` names: sent with it, held by this incarnation, or the copy this
    /// object persisted with its record (read once, on the first call of an incarnation).
    async fn settings_for(&self, r: &SettingsRef) -> Option<Rc<Installed>> {
        if let Some(s) = self.settings.resolve(r) {
            if r.full.is_some() {
                log::set_level(s.settings.log_level);
            }
            return Some(s);
        }
        let who = self.load_identity().await?;
        match who.settings {
            Some(SettingsRef {
                v,
                full: Some(full),
            }) if v == r.v => {
                log::set_level(full.log_level);
                Some(self.settings.install(v, full))
            }
            _ => None,
        }
    }

    /// A read that had to send its settings (this object's record was written with other
    /// settings, or before objects kept them) persists them with who this object is, so its
    /// later reads name them by version only. Best effort: the read goes on if that fails.
    async fn keep_settings(&self, sid: &str, s: &Installed) {
        let kept = match self.remember(sid, s) {
            Ok(_) => self.save_identity().await,
            Err(e) => Err(e),
        };
        if let Err(e) = kept {
            let msg = format!("keeping the callers' settings deferred: {e}");
            log::emit(Level::Warn, "settings_deferred", &msg);
        }
    }

    /// Parses the id on the wire and remembers who this object is, with the settings its
    /// next write is made with (persisted by [`Self::save_identity`]).
    fn remember(&self, sid: &str, s: &Installed) -> Result<SessionId, Error> {
        let id = SessionId::parse(sid)
            .ok_or_else(|| Error::Backend("bad session id on the wire".into()))?;
        let mut who = self.identity.borrow_mut();
        let current = who.as_ref().and_then(|w| w.settings.as_ref()).map(|r| r.v);
        if who.is_none() || current != Some(s.v) {
            *who = Some(Identity {
                sid: sid.to_owned(),
                key_prefix: s.settings.key_prefix.clone(),
                settings: Some(SettingsRef {
                    v: s.v,
                    full: Some(s.settings.clone()),
                }),
            });
            self.identity_saved.set(false);
        }
        Ok(id)
    }

    /// The record as it stands (expired records included), loaded once from storage.
    async fn current(&self) -> Result<Option<Record>, Error> {
        self.load().await?;
        Ok(self.cached())
    }

    /// Loads the record into the slot, once.
    async fn load(&self) -> Result<(), Error> {
        if !matches!(*self.slot.borrow(), Slot::Unknown) {
            return Ok(());
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
        Ok(())
    }

    fn cached(&self) -> Option<Record> {
        match &*self.slot.borrow() {
            Slot::Present(r) => Some(r.clone()),
            _ => None,
        }
    }

    async fn begin(&self, msg: BeginMsg, s: Rc<Installed>) -> Result<Begun, Error> {
        SessionId::parse(&msg.sid)
            .ok_or_else(|| Error::Backend("bad session id on the wire".into()))?;
        let lease = if msg.lock {
            let now = || self.host.now();
            let sleep = |ms| self.host.sleep(ms);
            let (wait, lease) = (s.settings.wait_ms, s.settings.lease_ms);
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
                if msg.settings.full.is_some() && rec.is_some() {
                    self.keep_settings(&msg.sid, &s).await;
                }
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

    async fn apply(&self, msg: &ApplyMsg, s: &Installed) -> Result<(), Error> {
        let r = self.apply_checked(msg, s).await;
        let stored = matches!(*self.slot.borrow(), Slot::Present(_));
        if r.is_err() && !stored && self.identity_saved.get() {
            // refused with nothing (known to be) stored: the identity saved on the way must not
            // stay behind; the alarm purges it if no record is there, and mirrors one if it is
            let _ = self.set_alarm_before(self.host.now()).await;
        }
        r
    }

    async fn apply_checked(&self, msg: &ApplyMsg, s: &Installed) -> Result<(), Error> {
        if self.recent.borrow().completed(&msg.rid) {
            return Ok(()); // a retry of a call that was applied: answer it again
        }
        self.remember(&msg.sid, s)?;
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
                self.index_add(&msg.sid, created, b, &s.settings).await?;
                Some(b.user.clone())
            }
            None => None,
        };
        self.load().await?;
        let now = self.host.now();
        let checked = match &msg.lease {
            Some(l) => self.lock.check(l.token, now),
            None => Ok(()),
        };
        // Applied to the slot's record in place of a copy of it: from reading it to updating
        // the slot below there is no await, so nothing can land in between.
        let outcome = {
            let slot = self.slot.borrow();
            let current = match &*slot {
                Slot::Present(r) => Some(r),
                _ => None,
            };
            checked
                .and_then(|()| apply_op(&s.config, current, &msg.change, now))
                .map(|applied| {
                    let before = current.and_then(|c| c.user.as_deref());
                    let unbound = match (&applied, before) {
                        (Applied::Deleted, Some(u)) => Some(u.to_owned()),
                        (Applied::Stored(r), Some(u)) if r.user.as_deref() != Some(u) => {
                            Some(u.to_owned())
                        }
                        _ => None,
                    };
                    let after = match &applied {
                        Applied::Stored(r) => Some(r),
                        Applied::Deleted => None,
                    };
                    let mirror = mirror_needed(current, after);
                    (applied, unbound, mirror)
                })
        };
        let (applied, unbound, mirror) = match outcome {
            Ok(o) => o,
            Err(e) => {
                if let Some(uid) = listed {
                    // refused after all (a kill, a lost lease): take the listing back
                    let _ = self.index_remove(&uid, &msg.sid, &s.settings).await;
                }
                return Err(e);
            }
        };
        // Update the in-memory slot before awaiting storage so any interleaved request sees
        // it; on a storage failure the slot is reset and reloaded from storage next time.
        let persisted = match applied {
            Applied::Stored(r) => {
                let text = r.encode();
                *self.slot.borrow_mut() = Slot::Present(r);
                self.host.put(REC, text).await
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
            if let Err(e) = self.index_remove(&uid, &msg.sid, &s.settings).await {
                let msg = format!("user index update deferred: {e}");
                log::emit(Level::Warn, "user_index_failed", &msg);
            }
        }
        if mirror {
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
        settings: &ObjectSettings,
    ) -> Result<(), Error> {
        let msg = UserAddMsg {
            uid: bind.user.clone(),
            sid: sid.to_owned(),
            created,
            bind: bind.clone(),
            settings: SettingsRef::full(settings),
        };
        self.ask::<serde_json::Value>(&index_name(&bind.user), Op::UserAdd, &msg)
            .await
            .map(|_| ())
    }

    /// Asks `uid`'s index to unlist `sid`.
    async fn index_remove(
        &self,
        uid: &str,
        sid: &str,
        settings: &ObjectSettings,
    ) -> Result<(), Error> {
        let msg = UserMsg {
            uid: uid.to_owned(),
            sid: Some(sid.to_owned()),
            settings: SettingsRef::full(settings),
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
        let body = serde_json::to_string(msg)?;
        let text = self.host.call(name, op, body).await?;
        match serde_json::from_str::<Reply<R>>(&text)? {
            Reply::Ok(v) => Ok(v),
            Reply::Err(w) => Err(w.into_error()),
        }
    }

    /// Destroys this session now (its user's index asks): the record is deleted and the lease
    /// revoked, so the holder's write is refused (fencing) and every later request finds no
    /// session; the alarm then purges the KV mirror and storage.
    async fn kill(&self, msg: IdMsg, s: Rc<Installed>) -> Result<(), Error> {
        self.remember(&msg.sid, &s)?;
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

    async fn save_identity(&self) -> Result<(), Error> {
        if self.identity_saved.get() {
            return Ok(());
        }
        let who = self.identity.borrow().clone();
        if let Some(who) = who {
            let text = serde_json::to_string(&who)?;
            // an object woken from hibernation forgot it saved this: a row read is a
            // thousandth of the price of writing the row again
            if self.host.get(WHO).await?.as_deref() != Some(text.as_str()) {
                self.host.put(WHO, text).await?;
            }
            self.identity_saved.set(true);
        }
        Ok(())
    }
}

/// The answer of an operation that answers nothing but success: `{}`.
#[derive(Serialize)]
struct Done {}

/// The refusal of a call naming settings this incarnation does not hold.
fn settings_unknown() -> String {
    serde_json::to_string(&Reply::<()>::Err(WireError::settings_unknown()))
        .unwrap_or_else(|_| r#"{"err":{"error":"settings"}}"#.into())
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
