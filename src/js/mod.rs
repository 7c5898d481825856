//! The wasm-bindgen API behind the JavaScript layer in `js/` (feature `js`): the proxy worker
//! and the JavaScript package. It is a narrow, string-based surface over [`crate::engine`]:
//! a few calls per request, JSON text for structured values, no per-header crossings. The
//! JavaScript side does the platform work (Request and Response, `fetch`, Durable Object RPC,
//! storage, alarms, KV) and decides nothing.

mod host;
mod lock;
mod proxy;
mod sessions;
mod task;

use std::collections::HashMap;

use wasm_bindgen::prelude::*;

use crate::engine::config::VAR_NAMES;
use crate::engine::log::{self, Level};
use crate::engine::Error;

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console, js_name = error)]
    fn console_error(s: &str);
    #[wasm_bindgen(js_namespace = console, js_name = warn)]
    fn console_warn(s: &str);
    #[wasm_bindgen(js_namespace = console, js_name = log)]
    fn console_log(s: &str);
    #[wasm_bindgen(js_namespace = console, js_name = debug)]
    fn console_debug(s: &str);
}

fn console(level: Level, line: &str) {
    match level {
        Level::Error => console_error(line),
        Level::Warn => console_warn(line),
        Level::Info => console_log(line),
        Level::Debug => console_debug(line),
    }
}

thread_local! {
    static ON_TRAP: std::cell::RefCell<Option<js_sys::Function>> = const { std::cell::RefCell::new(None) };
    static PANIC_ARMED: std::cell::Cell<u8> = const { std::cell::Cell::new(0) };
}

/// Runs when the module is instantiated: log lines go to the console, and a panic is logged
/// and reported to the JavaScript layer (through [`on_trap`]) before the instance traps, so
/// the layer can fail the requests waiting on this instance and start a fresh one.
#[wasm_bindgen(start)]
pub fn start() {
    log::set_sink(console);
    std::panic::set_hook(Box::new(|info| {
        log::emit(
            Level::Error,
            "engine_panic",
            &format!("engine panicked: {info}"),
        );
        task::fail_polling_task();
        ON_TRAP.with(|f| {
            if let Some(f) = f.borrow().as_ref() {
                let _ = f.call0(&JsValue::NULL);
            }
        });
    }));
}

/// Registers the function called when this instance panics (just before it traps).
#[wasm_bindgen(js_name = onTrap)]
pub fn on_trap(f: js_sys::Function) {
    ON_TRAP.with(|slot| *slot.borrow_mut() = Some(f));
}

/// Test hook: makes the next session call of this instance panic, `1` in a synchronous call
/// (reading a value), `2` while loading (inside an awaited step). Used by the trap tests only.
#[doc(hidden)]
#[wasm_bindgen(js_name = __armPanicForTest)]
pub fn arm_panic_for_test(kind: u8) {
    PANIC_ARMED.with(|a| a.set(kind));
}

/// Panics if the test hook armed `kind`.
fn panic_if_armed(kind: u8) {
    if PANIC_ARMED.with(|a| a.get()) == kind {
        PANIC_ARMED.with(|a| a.set(0));
        panic!("panic armed by a test");
    }
}

/// Wall-clock time in Unix milliseconds.
fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A JavaScript `Error` for a session error, logged here by kind: its message is for logs;
/// `status` and `publicMessage` (opaque, safe to send) are for the response.
fn js_error(e: Error) -> JsValue {
    log::report(&e);
    let err = js_sys::Error::new(&e.to_string());
    let _ = js_sys::Reflect::set(&err, &"status".into(), &JsValue::from(e.status()));
    let _ = js_sys::Reflect::set(&err, &"publicMessage".into(), &e.public_message().into());
    err.into()
}

fn usage(msg: &str) -> JsValue {
    js_error(Error::Usage(msg.to_owned()))
}

/// A value handed over from JavaScript as JSON text.
fn json_value(json: &str) -> Result<serde_json::Value, JsValue> {
    serde_json::from_str(json).map_err(|_| usage("session values must be JSON-serializable"))
}

/// The settings a worker gives: `options` (keys must be config var names; strings, numbers or
/// booleans) over `env`'s string vars and secrets.
fn read_settings(env: &JsValue, options: &JsValue) -> Result<HashMap<String, String>, JsValue> {
    let mut out = HashMap::new();
    for name in VAR_NAMES
        .iter()
        .chain(["ORIGIN", "SESSION_ORIGIN_SECRET"].iter())
    {
        if let Some(v) = js_sys::Reflect::get(env, &JsValue::from_str(name))
            .ok()
            .and_then(|v| v.as_string())
        {
            out.insert((*name).to_owned(), v);
        }
    }
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
        } else if v.as_f64().is_some() {
            // JavaScript's own number formatting: Rust's f64 Display would link 14 KB of
            // float printing into the wasm for this one line
            String::from(
                js_sys::Number::unchecked_from_js(v)
                    .to_string_with_radix(10)
                    .unwrap_throw(),
            )
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

/// Fails with a clear configuration error when the KV namespace or the Durable Object
/// binding is missing, so a deployment without them is refused on its first request instead
/// of failing later in an alarm or answering an unexplained 503.
fn check_bindings(env: &JsValue) -> Result<(), Error> {
    let has = |name: &str| {
        js_sys::Reflect::get(env, &JsValue::from_str(name))
            .map(|v| v.is_object())
            .unwrap_or(false)
    };
    if !has(host::KV_BINDING) {
        return Err(Error::Config(format!(
            "the KV namespace binding {} is missing (kv_namespaces in wrangler.toml)",
            host::KV_BINDING
        )));
    }
    if !has(host::LOCKS_BINDING) {
        return Err(Error::Config(format!(
            "the Durable Object binding {} (class SessionLock) is missing (durable_objects in wrangler.toml)",
            host::LOCKS_BINDING
        )));
    }
    Ok(())
}
