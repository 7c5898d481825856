//! `LockCore`: the engine's [`LockObject`] for the JavaScript `SessionLock` class, which
//! forwards each RPC method and its alarm here.

use std::rc::Rc;

use super::task::run;
use wasm_bindgen::prelude::*;

use super::host::JsObjectHost;
use crate::engine::object::LockObject;

/// One session's lock object.
#[wasm_bindgen]
pub struct LockCore {
    object: Rc<LockObject<JsObjectHost>>,
}

#[wasm_bindgen]
impl LockCore {
    /// `host` gives the object's storage, alarm, KV and clock.
    #[wasm_bindgen(constructor)]
    pub fn new(host: JsObjectHost) -> LockCore {
        LockCore {
            object: Rc::new(LockObject::new(host)),
        }
    }

    /// Answers one call: `op` is `begin`, `apply`, `release` or `sweep`, `body` its JSON
    /// message. Resolves to the JSON reply (refusals included); never rejects.
    pub fn call(&self, op: &str, body: String) -> JsValue {
        let object = self.object.clone();
        let op = op.to_owned();
        run(async move { Ok(JsValue::from(object.call_named(&op, &body).await)) })
    }

    /// Answers a `begin`; resolves to `[reply, token]`, the token of the lease granted (or
    /// undefined), so the JavaScript class can tie the lease to the caller's RPC session.
    #[wasm_bindgen(js_name = beginLeased)]
    pub fn begin_leased(&self, body: String) -> JsValue {
        let object = self.object.clone();
        run(async move {
            let (reply, token) = object.begin_leased(&body).await;
            let out = js_sys::Array::new();
            out.push(&JsValue::from(reply));
            out.push(
                &token
                    .map(|t| JsValue::from(t as f64))
                    .unwrap_or(JsValue::UNDEFINED),
            );
            Ok(out.into())
        })
    }

    /// Releases the lease `token` (its caller's RPC session ended); a stale one is ignored.
    #[wasm_bindgen(js_name = releaseToken)]
    pub fn release_token(&self, token: f64) {
        self.object.release_token(token as u64)
    }

    /// Whether no request holds or waits for the lock (the object may then move to a fresh
    /// engine instance without refusing anyone's lease).
    pub fn idle(&self) -> bool {
        let lock = self.object.lock();
        lock.holder().is_none() && lock.waiting() == 0
    }

    /// The alarm: mirror to KV or purge. Rejects on failure so the runtime retries it.
    pub fn alarm(&self) -> JsValue {
        let object = self.object.clone();
        run(async move {
            object
                .alarm()
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(|_| JsValue::from(js_sys::Error::new("session lock alarm failed")))
        })
    }
}
