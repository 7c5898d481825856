//! The object's alarm: the KV mirror written at most once a second per key (backing off on
//! failures), the purge of an expired, destroyed or regenerated-away session, and the
//! sweep's request to delete an expired one.

use std::rc::Rc;

use crate::engine::log::{self, Level};
use crate::engine::object::settings::Installed;
use crate::engine::object::throttle::{next_slot, WriteSlot};
use crate::engine::object::{kv_expiration, kv_key, Identity, LockObject, ObjectHost, Slot, WHO};
use crate::engine::session::record::Record;
use crate::engine::wire::{IdMsg, ObjectSettings, SweepAnswer};
use crate::engine::worker::retry::mirror_backoff;
use crate::engine::{Config, Error, SessionId};

impl<H: ObjectHost> LockObject<H> {
    /// Sets the alarm for the next KV mirror write: now, or one second after the last.
    pub(super) async fn schedule_mirror(&self, now: u64) -> Result<(), Error> {
        let at = match next_slot(self.last_kv_write.get(), now) {
            WriteSlot::Now => now,
            WriteSlot::At(t) => t,
        };
        self.set_alarm_before(at).await
    }

    pub(super) async fn set_alarm_before(&self, at: u64) -> Result<(), Error> {
        if matches!(self.alarm_at.get(), Some(a) if a <= at) {
            return Ok(());
        }
        self.host.set_alarm(at).await?;
        self.alarm_at.set(Some(at));
        Ok(())
    }

    /// Re-arms the alarm after a failed KV write or delete, backing off (KV answers 429 above
    /// one write per second per key, and an outage should not be hammered).
    pub(super) async fn retry_mirror_later(&self, now: u64) -> Result<(), Error> {
        let failures = self.mirror_failures.get().saturating_add(1);
        self.mirror_failures.set(failures);
        self.alarm_at.set(None);
        self.set_alarm_before(now + mirror_backoff(failures)).await
    }

    /// Who this object is, read from storage once per incarnation if no call said so yet.
    pub(super) async fn load_identity(&self) -> Option<Identity> {
        if let Some(w) = self.identity.borrow().clone() {
            return Some(w);
        }
        let text = self.host.get(WHO).await.ok().flatten()?;
        let stored: Identity = serde_json::from_str(&text).ok()?;
        let mut who = self.identity.borrow_mut();
        if who.is_none() {
            self.identity_saved.set(true);
            *who = Some(stored);
        }
        who.clone()
    }

    pub(super) async fn identity(&self) -> Option<(SessionId, Identity)> {
        let who = self.load_identity().await?;
        Some((SessionId::parse(&who.sid)?, who))
    }

    /// Unlists an expired bound session from its user's index; false if that failed (the
    /// purge then waits, so the entry is never left behind). The index is told with the
    /// settings the record was written with (defaults under its prefix for a row written
    /// before objects kept them).
    pub(super) async fn unlist_expired(&self, r: &Record, id: &SessionId, who: &Identity) -> bool {
        let Some(uid) = &r.user else { return true };
        let settings = match who.settings.as_ref().and_then(|s| s.full.clone()) {
            Some(s) => s,
            None => ObjectSettings {
                key_prefix: who.key_prefix.clone(),
                ..ObjectSettings::of(&Config::default())
            },
        };
        match self.index_remove(uid, id.as_str(), &settings).await {
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
    pub(super) async fn purge(&self, id: &SessionId, prefix: &str) -> Result<(), Error> {
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

    pub(super) async fn on_alarm(&self) -> Result<(), Error> {
        self.alarm_at.set(None);
        let Some((id, who)) = self.identity().await else {
            return Ok(());
        };
        let prefix = who.key_prefix.as_str();
        let now = self.host.now();
        match self.current().await? {
            Some(r) if !r.is_expired(now) => {
                // Counted from the start of the write, so a change that lands while it is in
                // flight is scheduled a full second later (KV's per-key rate).
                self.last_kv_write.set(Some(now));
                let meta = serde_json::to_string(&r.meta())?;
                let put = self
                    .host
                    .kv_put(
                        &kv_key(prefix, &id),
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
                if !self.unlist_expired(&r, &id, &who).await {
                    return self.retry_mirror_later(now).await;
                }
                self.purge(&id, prefix).await
            }
            None => self.purge(&id, prefix).await,
        }
    }

    pub(super) async fn sweep(&self, msg: IdMsg, s: Rc<Installed>) -> Result<SweepAnswer, Error> {
        let id = self.remember(&msg.sid, &s)?;
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
                    let who = self.identity.borrow().clone().expect("remembered above");
                    if !self.unlist_expired(r, &id, &who).await {
                        return Err(Error::Backend("user index unreachable".into()));
                    }
                }
                self.purge(&id, &s.settings.key_prefix).await?;
                Ok(SweepAnswer { deleted: true })
            }
        }
    }
}
