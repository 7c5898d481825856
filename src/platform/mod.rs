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
pub mod proxy;
pub mod sweep_job;

pub use lock_object::SessionLock;

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
