//! A workers-rs worker with sessions from edge-sessions, used as a library: a visit counter
//! with implicit locking, the same counter under explicit locking, login (regenerate),
//! logout (destroy), and the sweep from the cron trigger.
#![forbid(unsafe_code)]

use edge_sessions::platform::library::{SessionScope, Sessions};
use edge_sessions::Error;
use serde_json::json;
use worker::{event, Context, Env, Request, Response, ScheduleContext, ScheduledEvent};

/// The Durable Object class must be exported by the worker; it comes compiled in with the
/// crate, and this re-export names it.
pub use edge_sessions::platform::SessionLock;

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let result = async {
        let sessions = Sessions::from_env(&env)?;
        let mut scope = sessions.start(&req)?;
        match handle(&req, &mut scope).await {
            Ok(resp) => scope.commit(resp, &ctx).await,
            Err(e) => {
                scope.abandon().await; // never leave the lock to its lease
                Err(e)
            }
        }
    }
    .await;
    match result {
        Ok(r) => Ok(r),
        Err(e) => Sessions::error_response(&e),
    }
}

fn count_of(session: &edge_sessions::Session) -> u64 {
    session.get("count").and_then(|v| v.as_u64()).unwrap_or(0)
}

fn json(v: serde_json::Value) -> Result<Response, Error> {
    Response::from_json(&v).map_err(|e| Error::Backend(e.to_string()))
}

async fn handle(req: &Request, scope: &mut SessionScope) -> Result<Response, Error> {
    match req.path().as_str() {
        "/count" => {
            let session = scope.session().await?; // SESSION_LOCKING=implicit locks here
            let n = count_of(session) + 1;
            session.set("count", n.into())?;
            json(json!({ "count": n, "isNew": session.is_new() }))
        }
        "/explicit" => {
            scope.acquire_lock().await?; // loads under the lock
            let session = scope.session().await?;
            let n = count_of(session) + 1;
            session.set("count", n.into())?;
            scope.release_lock().await?; // saves under the lock, then releases
            json(json!({ "count": n }))
        }
        "/login" => {
            let session = scope.session().await?;
            session.regenerate()?;
            session.set("user", "ann".into())?;
            json(json!({ "ok": true }))
        }
        "/login-redirect" => {
            // the usual login: new id, user stored, then a redirect (immutable headers)
            let session = scope.session().await?;
            session.regenerate()?;
            session.set("user", "ann".into())?;
            let to = req
                .url()
                .map_err(|e| Error::Backend(e.to_string()))?
                .join("/whoami");
            let to = to.map_err(|e| Error::Backend(e.to_string()))?;
            Response::redirect_with_status(to, 302).map_err(|e| Error::Backend(e.to_string()))
        }
        "/logout" => {
            scope.session().await?.destroy();
            json(json!({ "ok": true }))
        }
        _ => {
            let session = scope.session().await?;
            json(json!({ "data": session.data(), "isNew": session.is_new() }))
        }
    }
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    match Sessions::from_env(&env) {
        Ok(s) => match s.sweep().await {
            Ok(line) => worker::console_log!("{line}"),
            Err(e) => worker::console_error!("sweep failed: {e}"),
        },
        Err(e) => worker::console_error!("session config: {e}"),
    }
}
