//! A workers-rs worker with sessions from edge-sessions, used as a library: a visit counter
//! with implicit locking, the same counter under explicit locking, login (regenerate),
//! logout (destroy), and the sweep from the cron trigger.
#![forbid(unsafe_code)]

use edge_sessions::platform::library::{HandlerError, SessionScope, Sessions};
use edge_sessions::Error;
use serde_json::json;
use worker::{event, Context, Env, Request, Response, ScheduleContext, ScheduledEvent};

/// The Durable Object class must be exported by the worker; it comes compiled in with the
/// crate, and this re-export names it.
pub use edge_sessions::platform::SessionLock;

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let sessions = match Sessions::from_env(&env) {
        Ok(s) => s,
        Err(e) => return Sessions::error_response(&e),
    };
    // load, run the handler, commit (save + Set-Cookie + unlock) on every path; session
    // errors keep their status (503 busy, 409 lease lost, 507 too large)
    sessions
        .with_session(&req, &ctx, async |scope| {
            handle(&req, &sessions, scope).await
        })
        .await
}

fn count_of(session: &edge_sessions::Session) -> u64 {
    session.get("count").and_then(|v| v.as_u64()).unwrap_or(0)
}

fn json(v: serde_json::Value) -> Result<Response, HandlerError> {
    Ok(Response::from_json(&v)?)
}

async fn handle(
    req: &Request,
    sessions: &Sessions,
    scope: &mut SessionScope,
) -> Result<Response, HandlerError> {
    match req.path().as_str() {
        "/login-user" => {
            // login bound to a user, so "log out other devices" can find this session
            let user = req
                .url()?
                .query_pairs()
                .find(|(k, _)| k == "user")
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            let session = scope.session().await?;
            session.regenerate()?;
            session.set_user(&user, Some("rust example"))?;
            json(json!({ "user": user }))
        }
        "/sessions" => {
            let user = scope.session().await?.user().unwrap_or_default().to_owned();
            let list = sessions.list_user(&user, Some(scope)).await?;
            json(json!(list))
        }
        "/logout-others" => {
            let user = scope.session().await?.user().unwrap_or_default().to_owned();
            let n = sessions.destroy_user(&user, Some(scope)).await?;
            json(json!({ "destroyed": n }))
        }
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
                .url()?
                .join("/whoami")
                .map_err(|e| Error::Backend(e.to_string()))?;
            Ok(Response::redirect_with_status(to, 302)?)
        }
        "/too-big" => {
            // over SESSION_MAX_BYTES: refused whole at commit, answered 507 (not a generic 500)
            scope
                .session()
                .await?
                .set("big", "x".repeat(10_000).into())?;
            json(json!({ "ok": true }))
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
