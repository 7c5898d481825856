//! The backend contract and the request lifecycle every adapter shares.
//!
//! A [`Backend`] is the session's serialization point: it loads a record (optionally after
//! taking the lock), applies [`Change`]s with the fencing check, and releases the lock.
//! [`open`] and [`commit`] are the one lifecycle the proxy, the JS bindings and the Rust
//! library all run, so all three get the same fixation rejection, change tracking and lock
//! discipline.

use crate::engine::session::record::{Change, Record};
use crate::engine::session::signing::Verified;
use crate::engine::session::{CookieAction, Session};
use crate::engine::{Config, Error, Lease, SessionId, Signer};

/// What [`Backend::begin`] returns.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Begun {
    /// The lease, when a lock was requested.
    pub lease: Option<Lease>,
    /// The live record, if any.
    pub record: Option<Record>,
}

/// A session store with a per-id lock (CherryPy's storage classes plus its lock methods).
#[allow(async_fn_in_trait)] // single-threaded wasm: no Send bound wanted
pub trait Backend {
    /// Takes the lock on `id` when `lock` is true (waiting FIFO, up to the configured wait),
    /// then loads the record. One call, so a lock-and-load costs one round trip.
    async fn begin(&self, id: &SessionId, lock: bool) -> Result<Begun, Error>;
    /// Applies a change to `id`. With a lease, refuses unless it is the current one
    /// ([`Error::LeaseLost`]); with `release`, releases the lease afterwards, even on error.
    async fn apply(
        &self,
        id: &SessionId,
        change: &Change,
        lease: Option<&Lease>,
        release: bool,
    ) -> Result<(), Error>;
    /// Releases a lease (a stale one is ignored).
    async fn release(&self, id: &SessionId, lease: &Lease) -> Result<(), Error>;
}

/// A shared backend is a backend (handler scopes hold a clone of theirs).
impl<B: Backend> Backend for std::rc::Rc<B> {
    async fn begin(&self, id: &SessionId, lock: bool) -> Result<Begun, Error> {
        (**self).begin(id, lock).await
    }
    async fn apply(
        &self,
        id: &SessionId,
        change: &Change,
        lease: Option<&Lease>,
        release: bool,
    ) -> Result<(), Error> {
        (**self).apply(id, change, lease, release).await
    }
    async fn release(&self, id: &SessionId, lease: &Lease) -> Result<(), Error> {
        (**self).release(id, lease).await
    }
}

/// A session opened for one request, with the lock it holds.
#[derive(Debug)]
pub struct Opened {
    /// The session.
    pub session: Session,
    /// The id whose lock is held, and the lease.
    pub held: Option<(SessionId, Lease)>,
}

/// Opens the session for a request. A request with no valid cookie costs no storage call at
/// all (no lookups for forged ids, no writes for anonymous visitors). When the presented id
/// turns out to be unknown, its lock is released at once: the request now works on a fresh id.
pub async fn open<B: Backend>(
    backend: &B,
    presented: Option<Verified>,
    lock: bool,
    now: u64,
) -> Result<Opened, Error> {
    let Some(v) = presented else {
        return Ok(Opened {
            session: Session::fresh()?,
            held: None,
        });
    };
    let begun = backend.begin(&v.id, lock).await?;
    let id = v.id.clone();
    let session = match Session::open(Some(v), begun.record, now) {
        Ok(s) => s,
        Err(e) => {
            if let Some(l) = &begun.lease {
                let _ = backend.release(&id, l).await;
            }
            return Err(e);
        }
    };
    let held = match begun.lease {
        Some(l) if session.is_new() => {
            backend.release(&id, &l).await?;
            None
        }
        Some(l) => Some((id, l)),
        None => None,
    };
    Ok(Opened { session, held })
}

/// Ends a request: plans, applies the changes in order, and releases the lock on every path.
/// Returns the cookie action for the response. On error nothing more is written and the lock
/// is still released.
pub async fn commit<B: Backend>(
    backend: &B,
    opened: Opened,
    cfg: &Config,
    signer: &Signer,
    now: u64,
) -> Result<CookieAction, Error> {
    let (action, still_held) = commit_deferred(backend, opened, cfg, signer, now).await?;
    abandon(backend, still_held).await;
    Ok(action)
}

/// Like [`commit`], but when no write carried the release (a read-only request), hands the
/// still-held lock back instead of releasing it, so a platform can release it off the response
/// path (the proxy uses `wait_until`). On error the lock is released before returning.
///
/// A lost lease is handled by what the request was doing:
/// - an unchanged session's expiry refresh is skipped (the response goes out; nothing the
///   user did is lost);
/// - a destroy takes the lock again and destroys: logout always wins;
/// - a regenerate retries once under a fresh lock (reloading the data and re-applying this
///   request's edits), then gives up;
/// - any other change is refused ([`Error::LeaseLost`]): a newer holder may have written.
pub async fn commit_deferred<B: Backend>(
    backend: &B,
    opened: Opened,
    cfg: &Config,
    signer: &Signer,
    now: u64,
) -> Result<(CookieAction, Option<(SessionId, Lease)>), Error> {
    let Opened { session, mut held } = opened;
    let plan = match session.plan(cfg, signer, now) {
        Ok(p) => p,
        Err(e) => {
            abandon(backend, held).await;
            return Err(e);
        }
    };
    let mut cookie = plan.cookie;
    for (id, change) in &plan.ops {
        let lease = take_lease(&mut held, id);
        let Err(e) = apply_releasing(backend, id, change, lease).await else {
            continue;
        };
        match (e, lease) {
            (Error::LeaseLost, Some(_)) if change.is_refresh_only() => cookie = CookieAction::Keep,
            (Error::LeaseLost, Some(_)) if session.is_destroyed() => {
                let begun = backend.begin(id, true).await?;
                apply_releasing(backend, id, change, begun.lease).await?;
            }
            (Error::LeaseLost, Some(_)) if session.regenerated() => {
                let cookie =
                    regenerate_relocked(backend, &session, &plan.ops, cfg, signer, now).await?;
                return Ok((cookie, None));
            }
            (e, _) => {
                abandon(backend, held).await;
                undo_creates(backend, &plan.ops, id).await;
                return Err(e);
            }
        }
    }
    Ok((cookie, held))
}

/// After a failed commit, deletes the records this commit created before `failed_at` (a
/// regenerate's new id whose old id could not be deleted), so the failed request leaves one
/// live copy of the session, not two. Best effort: nobody was told the new id anyway.
async fn undo_creates<B: Backend>(backend: &B, ops: &[(SessionId, Change)], failed_at: &SessionId) {
    for (id, change) in ops {
        if id == failed_at {
            break;
        }
        if matches!(change, Change::Create { .. }) {
            let _ = backend.apply(id, &Change::Delete, None, false).await;
        }
    }
}

/// The lease of `held` if it is on `id`; taking it, since the write on `id` releases it.
fn take_lease(held: &mut Option<(SessionId, Lease)>, id: &SessionId) -> Option<Lease> {
    match held {
        Some((hid, lease)) if hid == id => {
            let lease = *lease;
            *held = None;
            Some(lease)
        }
        _ => None,
    }
}

/// Applies `change`, releasing `lease` with it. A call that fails may have failed before the
/// object saw it, so the lease is then released explicitly as well (a stale token is
/// ignored): a refused or failed write never leaves the lock held.
async fn apply_releasing<B: Backend>(
    backend: &B,
    id: &SessionId,
    change: &Change,
    lease: Option<Lease>,
) -> Result<(), Error> {
    let r = backend
        .apply(id, change, lease.as_ref(), lease.is_some())
        .await;
    if let (Err(_), Some(l)) = (&r, &lease) {
        let _ = backend.release(id, l).await;
    }
    r
}

/// A regenerate whose lease on the old id was lost: remove the new record (it was built from
/// data read under the lost lease), take the old id's lock again, reload, re-apply this
/// request's edits, regenerate and commit once more. A second failure is final.
async fn regenerate_relocked<B: Backend>(
    backend: &B,
    session: &Session,
    first_ops: &[(SessionId, Change)],
    cfg: &Config,
    signer: &Signer,
    now: u64,
) -> Result<CookieAction, Error> {
    let old = session.original_id().cloned().ok_or(Error::LeaseLost)?;
    for (id, change) in first_ops {
        if matches!(change, Change::Create { .. }) {
            let _ = backend.apply(id, &Change::Delete, None, false).await;
        }
    }
    let begun = backend.begin(&old, true).await?;
    let lease = begun
        .lease
        .ok_or_else(|| Error::Backend("lock not granted".into()))?;
    let mut held = Some((old.clone(), lease));
    let verified = Verified {
        id: old,
        needs_resign: false,
    };
    let retried = Session::open(Some(verified), begun.record, now).and_then(|mut fresh| {
        if fresh.is_new() {
            return Err(Error::Gone); // destroyed meanwhile: nothing to move
        }
        fresh.replay(session.edits().clone());
        fresh.rebind(session.binding().cloned());
        fresh.regenerate()?;
        fresh.plan(cfg, signer, now)
    });
    let plan = match retried {
        Ok(p) => p,
        Err(e) => {
            abandon(backend, held).await;
            return Err(e);
        }
    };
    for (id, change) in &plan.ops {
        let lease = take_lease(&mut held, id);
        if let Err(e) = apply_releasing(backend, id, change, lease).await {
            abandon(backend, held).await;
            undo_creates(backend, &plan.ops, id).await;
            return Err(e);
        }
    }
    abandon(backend, held).await;
    Ok(plan.cookie)
}

/// Releases a held lock without saving (origin failure, bad patch, handler error).
pub async fn abandon<B: Backend>(backend: &B, held: Option<(SessionId, Lease)>) {
    if let Some((id, lease)) = held {
        let _ = backend.release(&id, &lease).await;
    }
}
