//! `LockCore`: the engine's [`LockObject`] for the JavaScript `SessionLock` class, which
//! forwards each RPC method and its alarm here.

use std::rc::Rc;

use super::task::promise;
use js_sys::Promise;
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
    pub fn call(&self, op: &str, body: String) -> Promise {
        let object = self.object.clone();
        let op = op.to_owned();
        promise(async move { Ok(JsValue::from(object.call_named(&op, &body).await)) })
    }

    /// Whether no request holds or waits for the lock (the object may then move to a fresh
    /// engine instance without refusing anyone's lease).
    pub fn idle(&self) -> bool {
        let lock = self.object.lock();
        lock.holder().is_none() && lock.waiting() == 0
    }

    /// The alarm: mirror to KV or purge. Rejects on failure so the runtime retries it.
    pub fn alarm(&self) -> Promise {
        let object = self.object.clone();
        promise(async move {
            object
                .alarm()
                .await
                .map(|()| JsValue::UNDEFINED)
                .map_err(|_| JsValue::from(js_sys::Error::new("session lock alarm failed")))
        })
    }
}
