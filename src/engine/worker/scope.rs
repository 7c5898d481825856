//! The handler-facing API both libraries wrap (the JavaScript package and the workers-rs
//! library): settings plus a backend, and one request's [`Scope`] from the cookie to the
//! Set-Cookie. The platforms pass in the request's cookie header and path and send out what
//! [`Finished`] says; every decision is made here.

use std::rc::Rc;

use crate::engine::log::{self, Level};
use crate::engine::session::cookies;
use crate::engine::worker::request::RequestSession;
use crate::engine::worker::store::{self, Backend};
use crate::engine::{CommitMode, Config, Error, Lease, Lifecycle, LockingMode};
use crate::engine::{Session, SessionId, Signer};

/// Session settings and storage for a worker; cheap to clone.
pub struct Sessions<B> {
    config: Rc<Config>,
    signer: Rc<Signer>,
    backend: B,
}

impl<B: Clone> Clone for Sessions<B> {
    fn clone(&self) -> Self {
        Sessions {
            config: self.config.clone(),
            signer: self.signer.clone(),
            backend: self.backend.clone(),
        }
    }
}

impl<B: Backend + Clone> Sessions<B> {
    /// Settings, cookie signer and backend.
    pub fn new(config: Config, signer: Signer, backend: B) -> Self {
        Sessions {
            config: Rc::new(config),
            signer: Rc::new(signer),
            backend,
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The backend (the sweep calls objects through it too).
    pub fn backend(&self) -> &B {
        &self.backend
    }

    /// Begins a request's session: verifies the cookie, touches no storage. `path_header` is
    /// the value of the configured `SESSION_COOKIE_PATH_HEADER`, if the request has it.
    pub fn start(&self, cookie_header: &str, path: &str, path_header: Option<&str>) -> Scope<B> {
        let cfg = &self.config;
        let presented = cookies::select_joined(cookie_header, &cfg.cookie.name, &self.signer);
        Scope {
            sessions: self.clone(),
            inner: RequestSession::new(presented, cfg.locks_path(path)),
            cookie_path: cookies::cookie_path(&cfg.cookie, path_header).to_owned(),
        }
    }
}

impl<T: crate::engine::worker::remote::Transport>
    Sessions<crate::engine::worker::remote::RemoteBackend<T>>
{
    /// The live sessions of user `uid`, oldest first; `current` (the caller's session) is
    /// marked. Ids appear as their hash only.
    pub async fn list_user(
        &self,
        uid: &str,
        current: Option<&SessionId>,
    ) -> Result<Vec<crate::engine::object::user::Listed>, Error> {
        self.backend.user_list(uid, current).await
    }

    /// "Log out everywhere": destroys all of `uid`'s sessions, or all but `except` ("log out
    /// other devices"); returns how many.
    pub async fn destroy_user(
        &self,
        uid: &str,
        except: Option<&SessionId>,
    ) -> Result<usize, Error> {
        self.backend.user_destroy(uid, except).await
    }
}

/// One request's session.
pub struct Scope<B> {
    sessions: Sessions<B>,
    inner: RequestSession,
    cookie_path: String,
}

/// What ending a request produced.
pub struct Finished<B> {
    /// The Set-Cookie value to send, if any.
    pub set_cookie: Option<String>,
    /// What the commit did to the session's life, for audit hooks.
    pub lifecycle: Option<Lifecycle>,
    /// Work left for after the response (`waitUntil`): a lock to release, or a commit.
    pub unlock: Option<Unlock<B>>,
}

/// Work a request leaves for after its response; the lock is held until it is done.
pub enum Unlock<B> {
    /// A read-only request's lock, to release.
    Release {
        /// Where the lock is.
        backend: B,
        /// The lock.
        held: (SessionId, Lease),
    },
    /// A plain update to write, fenced, releasing the lock with it
    /// (`SESSION_COMMIT=after-response`).
    Commit {
        /// The request's session and settings.
        scope: Box<Scope<B>>,
        /// The time the response was built, for the commit.
        now: u64,
    },
}

impl<B: Backend + Clone> Unlock<B> {
    /// Releases the lock or writes the deferred commit. A failed release only lets the lease
    /// run out; a failed late commit is logged (its response is already gone).
    pub async fn run(self) {
        match self {
            Unlock::Release { backend, held } => store::abandon(&backend, Some(held)).await,
            Unlock::Commit { scope, now } => {
                let Scope {
                    sessions, inner, ..
                } = *scope;
                let s = &sessions;
                match inner.finish(&s.backend, &s.config, &s.signer, now).await {
                    Ok((_, still_held)) => store::abandon(&s.backend, still_held).await,
                    Err(e) => {
                        let msg = format!("session commit after the response failed: {e}");
                        log::emit(Level::Error, "late_commit_failed", &msg);
                    }
                }
            }
        }
    }
}

impl<B: Backend + Clone> Scope<B> {
    /// The session, loaded (and locked, for implicit and early locking) on first use.
    pub async fn session(&mut self, now: u64) -> Result<&mut Session, Error> {
        self.inner.load(&self.sessions.backend, now).await
    }

    /// The session if it is already loaded.
    pub fn loaded(&mut self) -> Option<&mut Session> {
        self.inner.loaded()
    }

    /// Whether this request holds the lock.
    pub fn holds_lock(&self) -> bool {
        self.inner.holds_lock()
    }

    /// Explicit locking: take the lock (FIFO, up to `SESSION_LOCK_TIMEOUT`) and reload under it.
    pub async fn acquire(&mut self, now: u64) -> Result<(), Error> {
        if self.sessions.config.locking == LockingMode::None {
            return Err(Error::Usage(
                "acquiring the lock needs SESSION_LOCKING explicit, implicit or early".into(),
            ));
        }
        self.inner.acquire(&self.sessions.backend, now).await
    }

    /// Explicit locking: save the changes made so far under the lock, then release it.
    pub async fn release(&mut self, now: u64) -> Result<(), Error> {
        let s = &self.sessions;
        self.inner.release(&s.backend, &s.config, now).await
    }

    /// Saves what changed and releases the lock (a read-only request's lock comes back in
    /// [`Finished::unlock`]), returning the Set-Cookie and the lifecycle event.
    pub async fn finish(self, now: u64) -> Result<Finished<B>, Error> {
        if self.sessions.config.commit == CommitMode::AfterResponse {
            let s = &self.sessions;
            if let Some(action) = self.inner.after_response_cookie(&s.config, &s.signer, now) {
                let set_cookie = cookies::for_action(&s.config.cookie, action, &self.cookie_path);
                return Ok(Finished {
                    set_cookie,
                    lifecycle: None,
                    unlock: Some(Unlock::Commit {
                        scope: Box::new(self),
                        now,
                    }),
                });
            }
        }
        let Scope {
            sessions,
            mut inner,
            cookie_path,
        } = self;
        let pending = inner.loaded().and_then(|s| s.pending_lifecycle());
        let (action, still_held) = inner
            .finish(&sessions.backend, &sessions.config, &sessions.signer, now)
            .await?;
        let lifecycle = pending.and_then(|p| p.resolve(&action));
        let set_cookie = cookies::for_action(&sessions.config.cookie, action, &cookie_path);
        Ok(Finished {
            set_cookie,
            lifecycle,
            unlock: still_held.map(|held| Unlock::Release {
                backend: sessions.backend.clone(),
                held,
            }),
        })
    }

    /// Ends the request without saving (the handler failed), releasing the lock.
    pub async fn abandon(self) {
        self.inner.abandon(&self.sessions.backend).await
    }
}
