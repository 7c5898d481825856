//! The runtime's marks on a failed Durable Object call (`retryable`, `overloaded`), read once
//! for both adapters (the JavaScript layer's RPC transport and the workers-rs fetch transport);
//! the engine decides what they mean ([`crate::engine::worker::retry`]).

use wasm_bindgen::JsValue;

use crate::engine::worker::retry::Failure;

/// How a call failed, from the error the runtime threw.
pub fn classify(e: &JsValue) -> Failure {
    let flag = |name: &str| {
        js_sys::Reflect::get(e, &name.into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false)
    };
    if flag("overloaded") {
        Failure::Overloaded
    } else if flag("retryable") {
        Failure::Retryable
    } else {
        Failure::Other
    }
}
