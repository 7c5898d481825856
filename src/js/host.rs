//! The JavaScript objects the engine calls back into: the Durable Object's storage, alarm and
//! KV ([`ObjectHost`]), the transport to session objects ([`Transport`]) and the KV calls of
//! the sweep ([`SweepStore`]). Each method is one call to a plain JavaScript object that
//! `js/` builds; promises are awaited here.

use js_sys::Promise;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::engine::object::ObjectHost;
use crate::engine::sweep::sweeper::{parse_list, SweepStore};
use crate::engine::sweep::Page;
use crate::engine::wire::Op;
use crate::engine::worker::remote::{Failed, Transport};
use crate::engine::worker::retry::Failure;
use crate::engine::Error;

/// The KV binding name.
pub const KV_BINDING: &str = "SESSIONS";
/// The Durable Object binding name.
pub const LOCKS_BINDING: &str = "SESSION_LOCKS";

#[wasm_bindgen]
extern "C" {
    /// `js/`'s host for one `SessionLock` object.
    pub type JsObjectHost;
    #[wasm_bindgen(method)]
    fn now(this: &JsObjectHost) -> f64;
    #[wasm_bindgen(method, catch)]
    fn get(this: &JsObjectHost, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn put(this: &JsObjectHost, key: &str, value: String) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch)]
    fn delete(this: &JsObjectHost, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = setAlarm)]
    fn set_alarm(this: &JsObjectHost, at: f64) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = deleteAll)]
    fn delete_all(this: &JsObjectHost) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = kvPut)]
    fn kv_put(
        this: &JsObjectHost,
        key: &str,
        value: String,
        expiration: f64,
        metadata: String,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = kvDelete)]
    fn kv_delete(this: &JsObjectHost, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = call)]
    fn call_object(
        this: &JsObjectHost,
        name: &str,
        op: &str,
        body: String,
    ) -> Result<Promise, JsValue>;

    /// `js/`'s transport to session objects: `call(sid, op, body)` is one RPC call.
    pub type JsTransport;
    #[wasm_bindgen(method, catch)]
    fn call(
        this: &JsTransport,
        sid: &str,
        op: &str,
        body: String,
        channel: Option<&str>,
    ) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, js_name = close)]
    fn close_channel(this: &JsTransport, channel: &str) -> bool;
    #[wasm_bindgen(method, js_name = forget)]
    fn forget_channel(this: &JsTransport, channel: &str) -> bool;
    #[wasm_bindgen(method, js_name = sleep)]
    fn transport_sleep(this: &JsTransport, ms: f64) -> Promise;

    /// `js/`'s KV calls for the sweep.
    pub type JsSweepStore;
    #[wasm_bindgen(method, catch, js_name = get)]
    fn kv_get(this: &JsSweepStore, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = put)]
    fn kv_put_text(this: &JsSweepStore, key: &str, value: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = delete)]
    fn kv_delete_key(this: &JsSweepStore, key: &str) -> Result<Promise, JsValue>;
    #[wasm_bindgen(method, catch, js_name = list)]
    fn kv_list(
        this: &JsSweepStore,
        prefix: &str,
        cursor: Option<String>,
        limit: f64,
    ) -> Result<Promise, JsValue>;
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_name = setTimeout)]
    fn set_timeout(f: &js_sys::Function, ms: f64) -> JsValue;
    #[wasm_bindgen(js_name = clearTimeout)]
    fn clear_timeout(id: &JsValue);
}

/// Clears its timer when dropped: a lock waiter granted before its wait timeout must not
/// leave a timer that keeps the object awake (and billed) for the rest of the wait.
struct ClearOnDrop(JsValue);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        clear_timeout(&self.0);
    }
}

/// Resolves after `ms`; dropping it early cancels the timer.
async fn timer(ms: u64) {
    let mut id = JsValue::UNDEFINED;
    let p = Promise::new(&mut |resolve, _| id = set_timeout(&resolve, ms as f64));
    let _clear = ClearOnDrop(id);
    let _ = JsFuture::from(p).await;
}

/// The one conversion of a JavaScript failure: a backend error (opaque 5xx), its message kept
/// for the log.
pub fn backend_error(e: &JsValue) -> Error {
    let msg = e
        .dyn_ref::<js_sys::Error>()
        .map(|e| String::from(e.message()))
        .or_else(|| e.as_string())
        .unwrap_or_else(|| "javascript error".into());
    Error::Backend(msg)
}

/// Awaits a promise-returning call.
async fn settle(p: Result<Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(p?).await
}

async fn done(p: Result<Promise, JsValue>) -> Result<(), Error> {
    settle(p).await.map(|_| ()).map_err(|e| backend_error(&e))
}

async fn text(p: Result<Promise, JsValue>) -> Result<Option<String>, Error> {
    let v = settle(p).await.map_err(|e| backend_error(&e))?;
    Ok(v.as_string())
}

impl ObjectHost for JsObjectHost {
    fn now(&self) -> u64 {
        JsObjectHost::now(self) as u64
    }
    async fn sleep(&self, ms: u64) {
        timer(ms).await
    }
    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        text(JsObjectHost::get(self, key)).await
    }
    async fn put(&self, key: &str, value: String) -> Result<(), Error> {
        done(JsObjectHost::put(self, key, value)).await
    }
    async fn delete(&self, key: &str) -> Result<(), Error> {
        done(JsObjectHost::delete(self, key)).await
    }
    async fn set_alarm(&self, at: u64) -> Result<(), Error> {
        done(JsObjectHost::set_alarm(self, at as f64)).await
    }
    async fn delete_all(&self) -> Result<(), Error> {
        done(JsObjectHost::delete_all(self)).await
    }
    async fn kv_put(
        &self,
        key: &str,
        value: String,
        expiration: u64,
        metadata: String,
    ) -> Result<(), Error> {
        done(JsObjectHost::kv_put(
            self,
            key,
            value,
            expiration as f64,
            metadata,
        ))
        .await
    }
    async fn kv_delete(&self, key: &str) -> Result<(), Error> {
        done(JsObjectHost::kv_delete(self, key)).await
    }
    async fn call(&self, name: &str, op: Op, body: String) -> Result<String, Error> {
        text(self.call_object(name, op.name(), body))
            .await?
            .ok_or_else(|| Error::Backend("object answered a non-string".into()))
    }
}

impl Transport for JsTransport {
    async fn call(
        &self,
        sid: &str,
        op: Op,
        body: String,
        channel: Option<&str>,
    ) -> Result<String, Failed> {
        match settle(JsTransport::call(self, sid, op.name(), body, channel)).await {
            Ok(v) => v.as_string().ok_or_else(|| Failed {
                failure: Failure::Other,
                error: Error::Backend("lock object answered a non-string".into()),
            }),
            Err(e) => Err(Failed {
                failure: crate::marks::classify(&e),
                error: backend_error(&e),
            }),
        }
    }
    fn close(&self, channel: &str) -> bool {
        self.close_channel(channel)
    }
    fn forget(&self, channel: &str) -> bool {
        self.forget_channel(channel)
    }
    async fn sleep(&self, ms: u64) {
        let _ = JsFuture::from(self.transport_sleep(ms as f64)).await;
    }
}

impl SweepStore for JsSweepStore {
    async fn get(&self, key: &str) -> Result<Option<String>, Error> {
        text(self.kv_get(key)).await
    }
    async fn put(&self, key: &str, value: &str) -> Result<(), Error> {
        done(self.kv_put_text(key, value)).await
    }
    async fn delete(&self, key: &str) -> Result<(), Error> {
        done(self.kv_delete_key(key)).await
    }
    async fn list(
        &self,
        prefix: &str,
        cursor: Option<String>,
        limit: usize,
    ) -> Result<Page, Error> {
        let json = text(self.kv_list(prefix, cursor, limit as f64))
            .await?
            .ok_or_else(|| Error::Backend("kv list answered a non-string".into()))?;
        parse_list(&json)
    }
}
