//! One request's session for handler code (the JS module and the Rust library): loaded on
//! first use, as CherryPy loads lazily, with the configured locking, including CherryPy's
//! explicit mode where the handler acquires and releases the lock itself.

use crate::engine::session::record::Change;
use crate::engine::session::signing::Verified;
use crate::engine::session::CookieAction;
use crate::engine::worker::store::{self, Backend, Opened};
use crate::engine::{Config, Error, Lease, Session, SessionId, Signer};

/// A request's session, not touching storage until it is first used.
#[derive(Debug)]
pub struct RequestSession {
    presented: Option<Verified>,
    lock_on_load: bool,
    opened: Option<Opened>,
}

impl RequestSession {
    /// `presented` is the verified cookie, if any; `lock_on_load` is true for implicit and
    /// early locking on a locked path.
    pub fn new(presented: Option<Verified>, lock_on_load: bool) -> Self {
        RequestSession {
            presented,
            lock_on_load,
            opened: None,
        }
    }

    /// Whether this request holds the session's lock.
    pub fn holds_lock(&self) -> bool {
        self.opened.as_ref().is_some_and(|o| o.held.is_some())
    }

    /// The session, loading it (and taking the lock, when configured) on first use.
    pub async fn load<B: Backend>(&mut self, backend: &B, now: u64) -> Result<&mut Session, Error> {
        if self.opened.is_none() {
            let opened =
                store::open(backend, self.presented.clone(), self.lock_on_load, now).await?;
            self.opened = Some(opened);
        }
        Ok(&mut self.opened.as_mut().expect("just loaded").session)
    }

    /// The session if it is loaded.
    pub fn loaded(&mut self) -> Option<&mut Session> {
        self.opened.as_mut().map(|o| &mut o.session)
    }

    /// Explicit locking: takes the lock and reloads the record under it, keeping changes made
    /// so far on top. A session that was never stored has no lock to take (nobody else can
    /// know its id) and this is a no-op.
    pub async fn acquire<B: Backend>(&mut self, backend: &B, now: u64) -> Result<(), Error> {
        if self.holds_lock() {
            return Ok(());
        }
        let Some(opened) = &self.opened else {
            let opened = store::open(backend, self.presented.clone(), true, now).await?;
            self.opened = Some(opened);
            return Ok(());
        };
        if opened.session.regenerated() || opened.session.is_destroyed() {
            return Err(Error::Usage(
                "acquire the session lock before regenerate() or destroy(), not after".into(),
            ));
        }
        if opened.session.is_new() {
            return Ok(());
        }
        let id = opened.session.id().clone();
        let begun = backend.begin(&id, true).await?;
        let lease = begun
            .lease
            .ok_or_else(|| Error::Backend("lock not granted".into()))?;
        let opened = self.opened.as_mut().expect("checked above");
        let pending = opened.session.edits().clone();
        let verified = Verified {
            id: id.clone(),
            needs_resign: opened.session.needs_resign(),
        };
        let mut fresh = Session::open(Some(verified), begun.record, now)?;
        if fresh.is_new() {
            // destroyed or expired meanwhile: we hold a lock on a dead id; let it go
            backend.release(&id, &lease).await?;
            opened.session = fresh;
            return Ok(());
        }
        fresh.replay(pending);
        opened.session = fresh;
        opened.held = Some((id, lease));
        Ok(())
    }

    /// Explicit locking: saves the edits made so far under the lock, then releases it, so
    /// acquire / change / release is a real critical section. Later edits are saved at the end
    /// of the request, merged in order at the session's object like unlocked writes.
    pub async fn release<B: Backend>(
        &mut self,
        backend: &B,
        cfg: &Config,
        now: u64,
    ) -> Result<(), Error> {
        let Some(opened) = self.opened.as_mut() else {
            return Ok(());
        };
        let Some((id, lease)) = opened.held.take() else {
            return Ok(());
        };
        match opened.session.flush_change(now) {
            Some(change) => {
                if let Err(e) = backend.apply(&id, &change, Some(&lease), true).await {
                    // Keep the (now stale) lease: the final commit stays fenced and is refused
                    // too, instead of writing these edits unlocked over a newer holder's.
                    opened.held = Some((id, lease));
                    return Err(e);
                }
                opened.session.mark_flushed(cfg, now);
            }
            None => backend.release(&id, &lease).await?,
        }
        Ok(())
    }

    /// Ends the request: saves what changed and releases the lock. A session that was never
    /// used leaves the cookie alone and costs nothing. Returns the still-held lock of a
    /// read-only request so the caller may release it off the response path.
    pub async fn finish<B: Backend>(
        self,
        backend: &B,
        cfg: &Config,
        signer: &Signer,
        now: u64,
    ) -> Result<(CookieAction, Option<(SessionId, Lease)>), Error> {
        match self.opened {
            None => Ok((CookieAction::Keep, None)),
            Some(opened) => store::commit_deferred(backend, opened, cfg, signer, now).await,
        }
    }

    /// With `SESSION_COMMIT=after-response`: the cookie to send now if this request's commit
    /// may go after the response, that is, a plain update of an existing session held under
    /// the lock, within the size limit. `None` means commit before the response as usual
    /// (nothing to write, no lock, a create, regenerate or destroy, or a refusal to report).
    pub fn after_response_cookie(
        &self,
        cfg: &Config,
        signer: &Signer,
        now: u64,
    ) -> Option<CookieAction> {
        let o = self.opened.as_ref()?;
        let s = &o.session;
        if o.held.is_none() || s.is_new() || s.regenerated() || s.is_destroyed() {
            return None;
        }
        let plan = s.plan(cfg, signer, now).ok()?;
        match plan.ops.as_slice() {
            [(id, Change::Update { .. })] if id == s.id() => Some(plan.cookie),
            _ => None,
        }
    }

    /// Ends the request without saving (the handler failed), releasing the lock.
    pub async fn abandon<B: Backend>(self, backend: &B) {
        if let Some(o) = self.opened {
            store::abandon(backend, o.held).await;
        }
    }
}
