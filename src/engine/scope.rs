//! The handler-facing API both libraries wrap (the JavaScript package and the workers-rs
//! library): settings plus a backend, and one request's [`Scope`] from the cookie to the
//! Set-Cookie. The platforms pass in the request's cookie header and path and send out what
//! [`Finished`] says; every decision is made here.

use std::rc::Rc;

use super::request::RequestSession;
use super::store::{self, Backend};
use super::{cookies, Config, Error, Lease, Lifecycle, LockingMode, Session, SessionId, Signer};

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
    /// A read-only request's lock, to release off the response path (`waitUntil`).
    pub unlock: Option<Unlock<B>>,
}

/// A lock still to be released.
pub struct Unlock<B> {
    backend: B,
    held: (SessionId, Lease),
}

impl<B: Backend> Unlock<B> {
    /// Releases the lock (a stale lease is ignored; a failure only shortens nothing: the lease
    /// runs out).
    pub async fn run(self) {
        store::abandon(&self.backend, Some(self.held)).await
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
            return Err(Error::Config(
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
            unlock: still_held.map(|held| Unlock {
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
