//! `SessionsCore` and `ScopeCore`: the JavaScript package's sessions, over the engine's
//! [`Sessions`] and [`Scope`] with objects reached through a [`JsTransport`]. Values cross as
//! JSON text; `js/index.js` turns them into objects.

use std::cell::RefCell;
use std::rc::Rc;

use super::task::{promise, run};
use wasm_bindgen::prelude::*;

use super::host::{JsSweepStore, JsTransport};
use super::{check_bindings, js_error, json_value, now_ms, read_settings, usage};
use crate::engine::sweep::sweeper;
use crate::engine::worker::remote::RemoteBackend;
use crate::engine::worker::scope::{Scope, Sessions, Unlock};
use crate::engine::{Config, Error, Session, SessionId, Signer};

type Backend = RemoteBackend<JsTransport>;

/// Session settings for a JavaScript worker.
#[wasm_bindgen]
pub struct SessionsCore {
    pub(super) inner: Sessions<Backend>,
}

#[wasm_bindgen]
impl SessionsCore {
    /// `options` override the `SESSION_*` vars of `env`; a bad value throws a clear error.
    /// `transport` reaches the `SessionLock` objects.
    #[wasm_bindgen(constructor)]
    pub fn new(
        env: JsValue,
        options: JsValue,
        transport: JsTransport,
    ) -> Result<SessionsCore, JsValue> {
        let vars = read_settings(&env, &options)?;
        let config = Config::from_vars(|n| vars.get(n).cloned()).map_err(js_error)?;
        crate::engine::log::set_level(config.log_level);
        check_bindings(&env).map_err(js_error)?;
        let secret = vars.get("SESSION_SECRET").cloned().unwrap_or_default();
        let signer = Signer::from_list(&secret).map_err(js_error)?;
        let backend = RemoteBackend::new(transport, &config);
        Ok(SessionsCore {
            inner: Sessions::new(config, signer, backend),
        })
    }

    /// The request header that gives the cookie path (`SESSION_COOKIE_PATH_HEADER`), if set.
    #[wasm_bindgen(getter, js_name = pathHeader)]
    pub fn path_header(&self) -> Option<String> {
        self.inner.config().cookie.path_header.clone()
    }

    /// Begins a request's session (verifies the cookie; no storage until first use).
    pub fn start(&self, cookie: &str, path: &str, path_header: Option<String>) -> ScopeCore {
        ScopeCore::new(self.inner.start(cookie, path, path_header.as_deref()))
    }

    /// The live sessions of user `uid` as JSON text (`[{id, created, bound, client, current}]`,
    /// ids as their hash), the session `current` (an id) marked.
    #[wasm_bindgen(js_name = listUser)]
    pub fn list_user(&self, uid: String, current: Option<String>) -> JsValue {
        let s = self.inner.clone();
        run(async move {
            let current = current.as_deref().and_then(SessionId::parse);
            let list = s
                .list_user(&uid, current.as_ref())
                .await
                .map_err(js_error)?;
            serde_json::to_string(&list)
                .map(JsValue::from)
                .map_err(|e| js_error(Error::Internal(e.to_string())))
        })
    }

    /// Destroys user `uid`'s sessions, all or all but `except` (an id); resolves to how many.
    #[wasm_bindgen(js_name = destroyUser)]
    pub fn destroy_user(&self, uid: String, except: Option<String>) -> JsValue {
        let s = self.inner.clone();
        run(async move {
            let except = except.as_deref().and_then(SessionId::parse);
            let n = s
                .destroy_user(&uid, except.as_ref())
                .await
                .map_err(js_error)?;
            Ok(JsValue::from(n as f64))
        })
    }

    /// Runs one expiry sweep over `store` (the KV namespace's calls). Resolves to JSON text
    /// `{"line": string, "expired": [tag, ...]}`.
    pub fn sweep(&self, store: JsSweepStore) -> JsValue {
        let s = self.inner.clone();
        run(async move {
            let r = sweeper::run(&store, s.backend(), s.config(), now_ms())
                .await
                .map_err(js_error)?;
            let out = serde_json::json!({ "line": r.line, "expired": r.expired });
            Ok(JsValue::from(out.to_string()))
        })
    }
}

pub(super) type Cell = Rc<RefCell<Option<Scope<Backend>>>>;

/// One request's session.
#[wasm_bindgen]
pub struct ScopeCore {
    cell: Cell,
}

fn take(cell: &Cell) -> Result<Scope<Backend>, JsValue> {
    cell.borrow_mut()
        .take()
        .ok_or_else(|| usage("this session is busy with another call or already committed"))
}

/// The work a request leaves for after its response. A read-only request's release runs now:
/// it is the disposal of the lease's RPC stub, no call and no wait (measured: handing it to
/// `waitUntil` cost more CPU than the release itself). A deferred commit
/// (`SESSION_COMMIT=after-response`) goes to `ctx.waitUntil`, off the response path, or runs
/// now when there is no context to keep it alive.
async fn release_later(ctx: &JsValue, unlock: Option<Unlock<Backend>>) {
    let Some(unlock) = unlock else { return };
    if let Unlock::Release { .. } = unlock {
        return unlock.run().await;
    }
    let wait_until = js_sys::Reflect::get(ctx, &"waitUntil".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    match wait_until {
        Some(f) => {
            let p = promise(async move {
                unlock.run().await;
                Ok(JsValue::UNDEFINED)
            });
            let _ = f.call1(ctx, &p);
        }
        None => unlock.run().await,
    }
}

impl ScopeCore {
    pub(super) fn new(scope: Scope<Backend>) -> Self {
        ScopeCore {
            cell: Rc::new(RefCell::new(Some(scope))),
        }
    }

    pub(super) fn with<T>(
        &self,
        f: impl FnOnce(&mut Session) -> Result<T, Error>,
    ) -> Result<T, JsValue> {
        let mut slot = self.cell.borrow_mut();
        let scope = slot
            .as_mut()
            .ok_or_else(|| usage("this session is busy or already committed"))?;
        let session = scope
            .loaded()
            .ok_or_else(|| usage("call await load() before using the session"))?;
        f(session).map_err(js_error)
    }

    /// Runs an async step that needs the scope by value, putting it back afterwards.
    fn step<F, Fut>(&self, f: F) -> JsValue
    where
        F: FnOnce(Scope<Backend>) -> Fut + 'static,
        Fut: std::future::Future<Output = (Scope<Backend>, Result<JsValue, Error>)> + 'static,
    {
        let cell = self.cell.clone();
        run(async move {
            let scope = take(&cell)?;
            let (scope, result) = f(scope).await;
            *cell.borrow_mut() = Some(scope);
            result.map_err(js_error)
        })
    }

    /// Saves and releases the lock (a read-only request's lock through `ctx.waitUntil`);
    /// resolves to the Set-Cookie value (or null) and the lifecycle event.
    pub(super) async fn finish_scope(
        cell: Cell,
        ctx: JsValue,
    ) -> Result<(Option<String>, Option<crate::engine::Lifecycle>), JsValue> {
        let scope = take(&cell)?;
        let done = scope.finish(now_ms()).await.map_err(js_error)?;
        release_later(&ctx, done.unlock).await;
        Ok((done.set_cookie, done.lifecycle))
    }

    pub(super) fn cell(&self) -> Cell {
        self.cell.clone()
    }

    /// Loads the scope's session (taking the lock per the settings), then runs `f` on it.
    pub(super) async fn loaded_then<T>(
        cell: Cell,
        f: impl FnOnce(&mut Session) -> Result<T, Error>,
    ) -> Result<T, JsValue> {
        let mut scope = take(&cell)?;
        let r = match scope.session(now_ms()).await {
            Ok(session) => f(session),
            Err(e) => Err(e),
        };
        *cell.borrow_mut() = Some(scope);
        r.map_err(js_error)
    }
}

#[wasm_bindgen]
impl ScopeCore {
    /// Loads the session (taking the lock under implicit or early locking).
    pub fn load(&self) -> JsValue {
        self.step(|mut s| async move {
            super::panic_if_armed(2);
            let r = s.session(now_ms()).await.map(|_| JsValue::UNDEFINED);
            (s, r)
        })
    }

    /// The JSON text of `key`'s value, or undefined.
    pub fn get(&self, key: &str) -> Result<Option<String>, JsValue> {
        super::panic_if_armed(1);
        self.with(|s| Ok(s.get(key).map(|v| v.to_string())))
    }

    /// Sets `key` to the value in `json`.
    pub fn set(&self, key: &str, json: &str) -> Result<(), JsValue> {
        let value = json_value(json)?;
        self.with(|s| s.set(key, value))
    }

    /// Binds the session to user `uid` (with an optional client description).
    #[wasm_bindgen(js_name = setUser)]
    pub fn set_user(&self, uid: &str, client: Option<String>) -> Result<(), JsValue> {
        self.with(|s| s.set_user(uid, client.as_deref()))
    }

    /// The user the session is bound to, if any.
    pub fn user(&self) -> Result<Option<String>, JsValue> {
        self.with(|s| Ok(s.user().map(str::to_owned)))
    }

    /// "Remember me": this session's own idle timeout (a duration like `30d`).
    #[wasm_bindgen(js_name = setTimeout)]
    pub fn set_timeout(&self, duration: &str) -> Result<(), JsValue> {
        let d =
            crate::engine::duration::parse_duration("setTimeout", duration).map_err(js_error)?;
        self.with(|s| s.set_timeout(d))
    }

    /// Stores a flash value (JSON text) until it is read once.
    pub fn flash(&self, key: &str, json: &str) -> Result<(), JsValue> {
        let value = json_value(json)?;
        self.with(|s| s.flash(key, value))
    }

    /// Reads a flash value (JSON text) and removes it, or undefined.
    #[wasm_bindgen(js_name = takeFlash)]
    pub fn take_flash(&self, key: &str) -> Result<Option<String>, JsValue> {
        self.with(|s| Ok(s.take_flash(key).map(|v| v.to_string())))
    }

    /// Deletes `key`; true if it was there.
    pub fn remove(&self, key: &str) -> Result<bool, JsValue> {
        self.with(|s| Ok(s.delete(key)))
    }

    /// Whether `key` is set.
    pub fn has(&self, key: &str) -> Result<bool, JsValue> {
        self.with(|s| Ok(s.contains(key)))
    }

    /// All keys.
    pub fn keys(&self) -> Result<Vec<String>, JsValue> {
        self.with(|s| Ok(s.keys().cloned().collect()))
    }

    /// The whole data as JSON text.
    #[wasm_bindgen(js_name = dataJson)]
    pub fn data_json(&self) -> Result<String, JsValue> {
        self.with(|s| Ok(serde_json::Value::Object(s.data().clone()).to_string()))
    }

    /// The session id (after regenerate, the new one).
    pub fn id(&self) -> Result<String, JsValue> {
        self.with(|s| Ok(s.id().as_str().to_owned()))
    }

    /// True when this request started the session.
    #[wasm_bindgen(js_name = isNew)]
    pub fn is_new(&self) -> Result<bool, JsValue> {
        self.with(|s| Ok(s.is_new()))
    }

    /// New id, same data; the old id dies at commit.
    pub fn regenerate(&self) -> Result<(), JsValue> {
        self.with(|s| s.regenerate())
    }

    /// Deletes the data server-side and expires the cookie at commit.
    pub fn destroy(&self) -> Result<(), JsValue> {
        self.with(|s| {
            s.destroy();
            Ok(())
        })
    }

    /// Explicit locking: acquire the lock (and reload under it).
    pub fn acquire(&self) -> JsValue {
        self.step(|mut s| async move {
            let r = s.acquire(now_ms()).await.map(|()| JsValue::UNDEFINED);
            (s, r)
        })
    }

    /// Explicit locking: release the lock.
    pub fn release(&self) -> JsValue {
        self.step(|mut s| async move {
            let r = s.release(now_ms()).await.map(|()| JsValue::UNDEFINED);
            (s, r)
        })
    }

    /// Whether this request holds the lock.
    #[wasm_bindgen(js_name = holdsLock)]
    pub fn holds_lock(&self) -> bool {
        self.cell.borrow().as_ref().is_some_and(|s| s.holds_lock())
    }

    /// Saves and releases the lock; resolves to JSON text `{"setCookie": string|null,
    /// "lifecycle": {...}|null}`. The JavaScript side prepares the response (copying immutable
    /// headers) before calling this, so nothing can fail after the write.
    pub fn finish(&self, ctx: JsValue) -> JsValue {
        let cell = self.cell.clone();
        run(async move {
            let (set_cookie, lifecycle) = ScopeCore::finish_scope(cell, ctx).await?;
            let out = serde_json::json!({ "setCookie": set_cookie, "lifecycle": lifecycle });
            Ok(JsValue::from(out.to_string()))
        })
    }

    /// Ends the request without saving, releasing the lock. Safe to call after a commit.
    pub fn abandon(&self) -> JsValue {
        let cell = self.cell.clone();
        run(async move {
            let scope = cell.borrow_mut().take();
            if let Some(scope) = scope {
                scope.abandon().await;
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}
