//! The Rust library for workers-rs workers (feature `workers-rs`): thin adapters from the
//! engine to workers-rs types. Session logic lives in [`crate::engine`]; these modules only
//! move bytes between it and KV, the `SessionLock` object and the handler's Request and
//! Response.

pub mod do_backend;
pub mod env_config;
pub mod kv;
pub mod library;
#[allow(missing_docs)] // the durable_object macro generates undocumented glue
pub mod lock_object;
pub mod log;

pub use lock_object::SessionLock;

use crate::engine::Error;

/// The response for a session error: fixed status and opaque body, details only in the log.
pub fn error_response(e: &Error) -> worker::Result<worker::Response> {
    crate::engine::log::report(e);
    let mut r = worker::Response::error(e.public_message(), e.status())?;
    r.headers_mut().set("cache-control", "no-store")?;
    Ok(r)
}

/// Adds a commit's Set-Cookie to `headers`, with `Cache-Control: private, no-store` so no
/// shared cache stores it. (`Vary: Cookie` is added to every response that went through a
/// session, before its commit.)
pub fn add_set_cookie(headers: &worker::Headers, set_cookie: &str) -> Result<(), Error> {
    headers.append("set-cookie", set_cookie)?;
    headers
        .set("cache-control", "private, no-store")
        .map_err(Error::from)
}

/// The one conversion of a runtime error: platform failures are backend errors (opaque 5xx).
impl From<worker::Error> for Error {
    fn from(e: worker::Error) -> Self {
        Error::Backend(e.to_string())
    }
}

/// The same for KV's own error type.
impl From<worker::kv::KvError> for Error {
    fn from(e: worker::kv::KvError) -> Self {
        Error::Backend(e.to_string())
    }
}

/// Wall-clock time in Unix milliseconds.
pub fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}
