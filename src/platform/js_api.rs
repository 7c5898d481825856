//! The wasm-bindgen API behind the JavaScript package (`js/`, feature `js`). It is a thin
//! shell over [`super::library`]: JavaScript gets the same lazy loading, locking and commit
//! as Rust handlers. Values cross as JSON text; `js/index.js` turns them into objects.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;
use worker::{Env, Request};

use super::env_config;
use super::library::{SessionScope, Sessions};
use crate::engine::config::VAR_NAMES;
use crate::engine::{Config, Error, Session, Signer};

/// A JavaScript `Error` whose message is for logs, plus `status` and `publicMessage` (opaque,
/// safe to send to a client).
fn js_error(e: Error) -> JsValue {
    let err = js_sys::Error::new(&e.to_string());
    let _ = js_sys::Reflect::set(&err, &"status".into(), &JsValue::from(e.status()));
    let _ = js_sys::Reflect::set(&err, &"publicMessage".into(), &e.public_message().into());
    err.into()
}

fn usage(msg: &str) -> JsValue {
    js_error(Error::Config(msg.to_owned()))
}

/// A value handed over from JavaScript as JSON text.
fn json_value(json: &str) -> Result<serde_json::Value, JsValue> {
    serde_json::from_str(json).map_err(|_| usage("session values must be JSON-serializable"))
}

/// Reads an options object: keys must be config var names; values are strings, numbers or
/// booleans (converted to their string form).
fn read_options(options: &JsValue) -> Result<HashMap<String, String>, JsValue> {
    let mut out = HashMap::new();
    if options.is_undefined() || options.is_null() {
        return Ok(out);
    }
    if !options.is_object() {
        return Err(usage("options must be an object of SESSION_* settings"));
    }
    for entry in js_sys::Object::entries(options.unchecked_ref()).iter() {
        let pair: js_sys::Array = entry.unchecked_into();
        let key = pair.get(0).as_string().unwrap_or_default();
        if !VAR_NAMES.contains(&key.as_str()) {
            return Err(usage(&format!(
                "unknown option {key}; options use the worker var names, e.g. SESSION_TIMEOUT"
            )));
        }
        let v = pair.get(1);
        let text = if let Some(s) = v.as_string() {
            s
        } else if let Some(n) = v.as_f64() {
            n.to_string()
        } else if let Some(b) = v.as_bool() {
            b.to_string()
        } else if v.is_undefined() {
            continue;
        } else {
            return Err(usage(&format!(
                "option {key} must be a string, number or boolean"
            )));
        };
        out.insert(key, text);
    }
    Ok(out)
}

/// Session settings for a JavaScript worker.
#[wasm_bindgen]
pub struct SessionsCore {
    inner: Sessions,
}

#[wasm_bindgen]
impl SessionsCore {
    /// `options` override the `SESSION_*` vars of `env`; a bad value throws a clear error.
    #[wasm_bindgen(constructor)]
    pub fn new(env: Env, options: JsValue) -> Result<SessionsCore, JsValue> {
        let opts = read_options(&options)?;
        let get = |n: &str| {
            opts.get(n)
                .cloned()
                .or_else(|| env_config::string_var(&env, n))
        };
        let config = Config::from_vars(get).map_err(js_error)?;
        super::log::set_level(config.log_level);
        env_config::check_bindings(&env).map_err(js_error)?;
        let signer =
            Signer::from_list(&get("SESSION_SECRET").unwrap_or_default()).map_err(js_error)?;
        Ok(SessionsCore {
            inner: Sessions::new(env, config, signer),
        })
    }

    /// Begins a request's session (verifies the cookie; no storage until first use).
    pub fn start(&self, request: web_sys::Request) -> Result<ScopeCore, JsValue> {
        let scope = self
            .inner
            .start(&Request::from(request))
            .map_err(js_error)?;
        Ok(ScopeCore {
            cell: Rc::new(RefCell::new(Some(scope))),
        })
    }

    /// Runs one expiry sweep.
    /// Resolves to JSON text `{"line": string, "expired": [tag, ...]}`.
    pub fn sweep(&self) -> Promise {
        let s = self.inner.clone();
        future_to_promise(async move {
            let r = s.sweep_report().await.map_err(js_error)?;
            let out = serde_json::json!({ "line": r.line, "expired": r.expired });
            Ok(JsValue::from(out.to_string()))
        })
    }
}

/// One request's session.
#[wasm_bindgen]
pub struct ScopeCore {
    cell: Rc<RefCell<Option<SessionScope>>>,
}

type Cell = Rc<RefCell<Option<SessionScope>>>;

fn take(cell: &Cell) -> Result<SessionScope, JsValue> {
    cell.borrow_mut()
        .take()
        .ok_or_else(|| usage("this session is busy with another call or already committed"))
}

impl ScopeCore {
    fn with<T>(&self, f: impl FnOnce(&mut Session) -> Result<T, Error>) -> Result<T, JsValue> {
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
    fn step<F, Fut>(&self, f: F) -> Promise
    where
        F: FnOnce(SessionScope) -> Fut + 'static,
        Fut: std::future::Future<Output = (SessionScope, Result<JsValue, Error>)> + 'static,
    {
        let cell = self.cell.clone();
        future_to_promise(async move {
            let scope = take(&cell)?;
            let (scope, result) = f(scope).await;
            *cell.borrow_mut() = Some(scope);
            result.map_err(js_error)
        })
    }
}

#[wasm_bindgen]
impl ScopeCore {
    /// Loads the session (taking the lock under implicit or early locking).
    pub fn load(&self) -> Promise {
        self.step(|mut s| async move {
            let r = s.session().await.map(|_| JsValue::UNDEFINED);
            (s, r)
        })
    }

    /// The JSON text of `key`'s value, or undefined.
    pub fn get(&self, key: &str) -> Result<Option<String>, JsValue> {
        self.with(|s| Ok(s.get(key).map(|v| v.to_string())))
    }

    /// Sets `key` to the value in `json`.
    pub fn set(&self, key: &str, json: &str) -> Result<(), JsValue> {
        let value = json_value(json)?;
        self.with(|s| s.set(key, value))
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
    pub fn acquire(&self) -> Promise {
        self.step(|mut s| async move {
            let r = s.acquire_lock().await.map(|()| JsValue::UNDEFINED);
            (s, r)
        })
    }

    /// Explicit locking: release the lock.
    pub fn release(&self) -> Promise {
        self.step(|mut s| async move {
            let r = s.release_lock().await.map(|()| JsValue::UNDEFINED);
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
    pub fn finish(&self, ctx: worker::worker_sys::Context) -> Promise {
        let cell = self.cell.clone();
        future_to_promise(async move {
            let scope = take(&cell)?;
            let ctx = worker::Context::new(ctx);
            let (set_cookie, lifecycle) =
                scope.finish_with_lifecycle(&ctx).await.map_err(js_error)?;
            let out = serde_json::json!({ "setCookie": set_cookie, "lifecycle": lifecycle });
            Ok(JsValue::from(out.to_string()))
        })
    }

    /// Ends the request without saving, releasing the lock.
    pub fn abandon(&self) -> Promise {
        let cell = self.cell.clone();
        future_to_promise(async move {
            let scope = cell.borrow_mut().take();
            if let Some(scope) = scope {
                scope.abandon().await;
            }
            Ok(JsValue::UNDEFINED)
        })
    }
}
