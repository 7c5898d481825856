//! The Rust library API for workers-rs handlers: the same engine and the same `SessionLock`
//! object as the proxy, driven from your own `#[event(fetch)]`.
//!
//! ```ignore
//! use edge_sessions::platform::library::Sessions;
//!
//! #[event(fetch)]
//! async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
//!     let sessions = Sessions::from_env(&env)?;           // SESSION_* vars + SESSION_SECRET
//!     let mut scope = sessions.start(&req)?;              // verifies the cookie, no storage yet
//!     let session = scope.session().await?;               // loads (and locks) on first use
//!     let n = session.get("n").and_then(|v| v.as_u64()).unwrap_or(0) + 1;
//!     session.set("n", n.into())?;
//!     scope.commit(Response::ok(format!("visit {n}"))?, &ctx).await // save, Set-Cookie, unlock
//! }
//! ```
//! Your crate must also export the Durable Object class: `pub use edge_sessions::platform::SessionLock;`
//! is enough, as the class is compiled in with this crate.

use worker::{Context, Env, Request, Response};

use super::do_backend::{self, DoBackend};
use super::kv::{self, KvSweepStore};
use super::{add_set_cookie, env_config, now_ms};
use crate::engine::sweep::sweeper::{self, SweepReport};
use crate::engine::worker::scope::{self, Finished};
use crate::engine::{Config, Error, Lifecycle, Session, Signer};

/// Session settings and storage for a worker; cheap to clone.
#[derive(Clone)]
pub struct Sessions {
    inner: scope::Sessions<DoBackend>,
}

impl From<Error> for worker::Error {
    fn from(e: Error) -> Self {
        worker::Error::RustError(e.to_string())
    }
}

/// What a [`Sessions::with_session`] handler may fail with: a session error (answered with its
/// own status and opaque body: 503 busy, 409 lease lost, 507 too large...) or any workers-rs
/// error (passed on as the handler's error). `?` converts both.
#[derive(Debug)]
pub enum HandlerError {
    /// A session error.
    Session(Error),
    /// Anything else from the runtime.
    Worker(worker::Error),
}

impl From<Error> for HandlerError {
    fn from(e: Error) -> Self {
        HandlerError::Session(e)
    }
}

impl From<worker::Error> for HandlerError {
    fn from(e: worker::Error) -> Self {
        HandlerError::Worker(e)
    }
}

impl Sessions {
    /// Reads `SESSION_*` vars and the `SESSION_SECRET` secret from `env`.
    pub fn from_env(env: &Env) -> Result<Self, Error> {
        super::log::init();
        let config = env_config::config(env)?;
        env_config::check_bindings(env)?;
        let signer =
            Signer::from_list(&env_config::string_var(env, "SESSION_SECRET").unwrap_or_default())?;
        Ok(Self::new(env.clone(), config, signer))
    }

    /// Uses an explicit config and signer with `env`'s `SESSIONS` and `SESSION_LOCKS` bindings.
    pub fn new(env: Env, config: Config, signer: Signer) -> Self {
        super::log::init();
        let backend = do_backend::backend(env, &config);
        Sessions {
            inner: scope::Sessions::new(config, signer, backend),
        }
    }

    /// The settings in force.
    pub fn config(&self) -> &Config {
        self.inner.config()
    }

    /// Begins a request's session: verifies the cookie, touches no storage.
    pub fn start(&self, req: &Request) -> Result<SessionScope, Error> {
        let headers = req.headers();
        let cookie = headers.get("cookie").ok().flatten().unwrap_or_default();
        let path = web_sys::Url::new(&req.inner().url())
            .map(|u| u.pathname())
            .unwrap_or_else(|_| "/".into());
        let path_header = self
            .config()
            .cookie
            .path_header
            .as_deref()
            .and_then(|h| headers.get(h).ok().flatten());
        Ok(SessionScope {
            inner: self.inner.start(&cookie, &path, path_header.as_deref()),
        })
    }

    /// Runs one expiry sweep with these settings (call it from your `#[event(scheduled)]`);
    /// returns the log line with the counts.
    pub async fn sweep(&self) -> Result<String, Error> {
        self.sweep_report().await.map(|r| r.line)
    }

    /// [`Self::sweep`], also listing the tags (hashes) of the sessions it deleted as expired.
    pub async fn sweep_report(&self) -> Result<SweepReport, Error> {
        let backend = self.inner.backend();
        let store = KvSweepStore(backend.transport().env().kv(kv::BINDING)?);
        sweeper::run(&store, backend, self.config(), now_ms()).await
    }

    /// The live sessions of user `uid` (bound with [`Session::set_user`]), oldest first; the
    /// session of `current` is marked. Ids appear as their hash only.
    pub async fn list_user(
        &self,
        uid: &str,
        current: Option<&mut SessionScope>,
    ) -> Result<Vec<crate::engine::object::user::Listed>, Error> {
        let id = current.and_then(|s| s.loaded().map(|s| s.id().clone()));
        self.inner.list_user(uid, id.as_ref()).await
    }

    /// "Log out everywhere": destroys all of `uid`'s sessions, or all but the session of
    /// `except` ("log out other devices"); returns how many. Each is dead for every later
    /// request, and a request still holding one's lock cannot save anything.
    pub async fn destroy_user(
        &self,
        uid: &str,
        except: Option<&mut SessionScope>,
    ) -> Result<usize, Error> {
        let id = except.and_then(|s| s.loaded().map(|s| s.id().clone()));
        self.inner.destroy_user(uid, id.as_ref()).await
    }

    /// Runs `handler` with the request's session scope and commits its response, like the
    /// JavaScript `withSession`: on every path the lock is released (abandoned without saving
    /// when the handler fails), and session errors become their own opaque response with
    /// their status rather than a generic 500.
    ///
    /// ```ignore
    /// sessions.with_session(&req, &ctx, async |scope| {
    ///     let session = scope.session().await?;
    ///     let n = session.get("n").and_then(|v| v.as_u64()).unwrap_or(0) + 1;
    ///     session.set("n", n.into())?;
    ///     Ok(Response::ok(format!("{n}"))?)
    /// }).await
    /// ```
    pub async fn with_session<F>(
        &self,
        req: &Request,
        ctx: &Context,
        handler: F,
    ) -> worker::Result<Response>
    where
        F: AsyncFnOnce(&mut SessionScope) -> Result<Response, HandlerError>,
    {
        let mut scope = match self.start(req) {
            Ok(s) => s,
            Err(e) => return Self::error_response(&e),
        };
        match handler(&mut scope).await {
            Ok(resp) => match scope.commit(resp, ctx).await {
                Ok(r) => Ok(r),
                Err(e) => Self::error_response(&e),
            },
            Err(e) => {
                scope.abandon().await;
                match e {
                    HandlerError::Session(e) => Self::error_response(&e),
                    HandlerError::Worker(e) => Err(e),
                }
            }
        }
    }

    /// The opaque response for a session error: fixed status and body.
    pub fn error_response(e: &Error) -> worker::Result<Response> {
        super::error_response(e)
    }
}

/// One request's session.
pub struct SessionScope {
    inner: scope::Scope<DoBackend>,
}

impl SessionScope {
    /// The session, loaded (and locked, for implicit/early locking) on first use.
    pub async fn session(&mut self) -> Result<&mut Session, Error> {
        self.inner.session(now_ms()).await
    }

    /// Explicit locking: take the lock (FIFO, up to `SESSION_LOCK_TIMEOUT`) and reload under it.
    pub async fn acquire_lock(&mut self) -> Result<(), Error> {
        self.inner.acquire(now_ms()).await
    }

    /// Explicit locking: save the changes made so far under the lock, then release it.
    pub async fn release_lock(&mut self) -> Result<(), Error> {
        self.inner.release(now_ms()).await
    }

    /// The session if it is already loaded.
    pub fn loaded(&mut self) -> Option<&mut Session> {
        self.inner.loaded()
    }

    /// Whether this request holds the lock.
    pub fn holds_lock(&self) -> bool {
        self.inner.holds_lock()
    }

    /// Saves what changed, adds the Set-Cookie (with `Cache-Control: private, no-store` and
    /// `Vary: Cookie`) and releases the lock; a read-only request's lock is released through
    /// `ctx.wait_until`, off the response path.
    ///
    /// Works on any response, including one whose headers are immutable (`Response::redirect`,
    /// a `fetch()` result): the headers are copied first. Everything that can fail in building
    /// the response happens before the commit writes, so a saved change always reaches the
    /// client with its cookie.
    pub async fn commit(self, resp: Response, ctx: &Context) -> Result<Response, Error> {
        let headers = resp.headers().clone();
        headers.append("vary", "Cookie")?;
        let resp = resp.with_headers(headers);
        if let Some(c) = self.finish(ctx).await? {
            add_set_cookie(resp.headers(), &c)?;
        }
        Ok(resp)
    }

    /// Saves what changed and releases the lock (a read-only request's lock through
    /// `ctx.wait_until`), returning the Set-Cookie value to send, if any. [`Self::commit`] is
    /// this plus the response headers.
    pub async fn finish(self, ctx: &Context) -> Result<Option<String>, Error> {
        self.finish_with_lifecycle(ctx).await.map(|(c, _)| c)
    }

    /// [`Self::finish`], also telling what the commit did to the session's life (created,
    /// regenerated, destroyed), for audit hooks.
    pub async fn finish_with_lifecycle(
        self,
        ctx: &Context,
    ) -> Result<(Option<String>, Option<Lifecycle>), Error> {
        let Finished {
            set_cookie,
            lifecycle,
            unlock,
        } = self.inner.finish(now_ms()).await?;
        if let Some(unlock) = unlock {
            ctx.wait_until(unlock.run());
        }
        Ok((set_cookie, lifecycle))
    }

    /// Ends the request without saving (the handler failed), releasing the lock.
    pub async fn abandon(self) {
        self.inner.abandon().await
    }
}
