//! Thin adapters from the engine to Cloudflare Workers. Session logic lives in
//! [`crate::engine`]; these modules only move bytes between it and KV, the Durable Object,
//! the origin and the cron trigger.

pub mod do_backend;
pub mod env_config;
#[cfg(feature = "js")]
pub mod js_api;
pub mod kv;
pub mod library;
#[allow(missing_docs)] // the durable_object macro generates undocumented glue
pub mod lock_object;
pub mod log;
pub mod proxy;
pub mod sweep_job;

pub use lock_object::SessionLock;

use crate::engine::Error;

/// The response for a session error: fixed status and opaque body, details only in the log.
pub fn error_response(e: &Error) -> worker::Result<worker::Response> {
    use crate::engine::log::Level;
    match e {
        Error::Config(m) => log::emit(
            Level::Error,
            "misconfigured",
            &format!("sessions misconfigured: {m}"),
        ),
        Error::LockTimeout => log::emit(Level::Warn, "lock_timeout", &format!("sessions: {e}")),
        Error::LeaseLost
        | Error::Gone
        | Error::TooLarge { .. }
        | Error::TooDeep { .. }
        | Error::BadPatch(_) => log::emit(Level::Warn, "refused", &format!("sessions: {e}")),
        Error::Origin(_) => log::emit(Level::Warn, "origin_failed", &format!("sessions: {e}")),
        _ => log::emit(Level::Error, "storage_failed", &format!("sessions: {e}")),
    }
    let mut r = worker::Response::error(e.public_message(), e.status())?;
    r.headers_mut().set("cache-control", "no-store")?;
    Ok(r)
}

/// Adds a commit's Set-Cookie to `headers`, with `Cache-Control: private, no-store` so no
/// shared cache stores it. (`Vary: Cookie` is added to every response that went through a
/// session, before its commit.)
pub fn add_set_cookie(headers: &worker::Headers, set_cookie: &str) -> Result<(), Error> {
    headers.append("set-cookie", set_cookie).map_err(js)?;
    headers
        .set("cache-control", "private, no-store")
        .map_err(js)
}

/// The one conversion of a runtime error: platform failures are backend errors (opaque 5xx).
pub fn js(e: worker::Error) -> Error {
    Error::Backend(e.to_string())
}

/// The request's Cookie header ("" when absent).
pub fn cookie_header(req: &worker::Request) -> String {
    req.headers()
        .get("cookie")
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// The cookie path for this request: CherryPy's `path_header` when configured, else the path.
pub fn cookie_path(req: &worker::Request, cfg: &crate::engine::CookieConfig) -> String {
    let from_header = cfg
        .path_header
        .as_deref()
        .and_then(|h| req.headers().get(h).ok().flatten());
    crate::engine::cookies::cookie_path(cfg, from_header.as_deref()).to_owned()
}

/// Wall-clock time in Unix milliseconds.
pub fn now_ms() -> u64 {
    worker::Date::now().as_millis()
}

/// The proxy worker's entry points (feature `proxy`).
#[cfg(feature = "proxy")]
mod entry {
    use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};
    #[event(fetch)]
    async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
        super::proxy::handle(req, env, ctx).await
    }

    #[event(scheduled)]
    async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
        super::sweep_job::run(&env).await;
    }
}
