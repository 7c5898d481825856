//! The proxy worker: sessions for any origin, handed over in request headers.
//!
//! Request: verify the cookie, open the session (taking the lock per `SESSION_LOCKING`), strip
//! client-supplied session headers and the session cookie, forward to `ORIGIN` with
//! `X-Session-Id`, `X-Session-Data` and `X-Session-New`. Response: take `X-Session-Update`
//! (a base64url merge patch) and `X-Session-Action` from the origin, never pass them on, drop
//! any origin Set-Cookie for the session cookie's name, commit, and stream the origin's body
//! back with our Set-Cookie. The lock is released on every path.

use worker::{Context, Env, Fetch, Headers, Request, Response};

use super::do_backend::DoBackend;
use super::env_config::{self, Settings};
use super::{add_set_cookie, cookie_header, cookie_path, error_response, js, now_ms};
use crate::engine::handoff::Handoff;
use crate::engine::store::{self, Opened};
use crate::engine::{cookies, protocol};
use crate::engine::{Error, Session};

/// Entry point for every request.
pub async fn handle(req: Request, env: Env, ctx: Context) -> worker::Result<Response> {
    let settings = match env_config::settings(&env) {
        Ok(s) => s,
        Err(e) => return error_response(&e),
    };
    match proxy(req, env, &ctx, &settings).await {
        Ok(r) => Ok(r),
        Err(e) => error_response(&e),
    }
}

async fn proxy(req: Request, env: Env, ctx: &Context, s: &Settings) -> Result<Response, Error> {
    let cfg = &s.config;
    // The runtime's own URL parser: linking the `url` crate would cost ~40 KB of wasm.
    let url = web_sys::Url::new(&req.inner().url())
        .map_err(|_| Error::Backend("unparsable request url".into()))?;
    let cookie_header = cookie_header(&req);
    let presented = cookies::select_joined(&cookie_header, &cfg.cookie.name, &s.signer);
    let backend = DoBackend::new(env, cfg);
    let lock = cfg.locks_path(&url.pathname());
    let mut opened = store::open(&backend, presented, lock, now_ms()).await?;

    // From here the lock may be held: every exit below commits or abandons.
    let origin_resp = match forward(&req, &url, &cookie_header, s, &opened.session).await {
        Ok(r) => r,
        Err(e) => return Err(release_later(ctx, &backend, opened, e)),
    };
    let mut out_headers = Headers::new();
    let taken = take_origin_changes(&origin_resp, s, &mut opened, &mut out_headers)
        .and_then(|()| out_headers.append("vary", "Cookie").map_err(js));
    if let Err(e) = taken {
        return Err(release_later(ctx, &backend, opened, e));
    }
    // Any status passes through: 101 (a WebSocket upgrade) carries the origin's socket, as a
    // Response cannot be built with status 101 otherwise; 200-599 carry the body stream. The
    // runtime rejects anything else, so it is refused here, before anything is saved.
    let status = origin_resp.status_code();
    let body = match status {
        101 => match origin_resp.websocket() {
            Some(ws) => Passed::Socket(ws),
            None => {
                let e = Error::Origin("101 without a WebSocket".into());
                return Err(release_later(ctx, &backend, opened, e));
            }
        },
        200..=599 => Passed::Body(origin_resp.body().clone()),
        _ => {
            let e = Error::Origin(format!("status {status} cannot be passed on"));
            return Err(release_later(ctx, &backend, opened, e));
        }
    };
    let cookie_path = cookie_path(&req, &cfg.cookie);
    let (action, still_held) =
        store::commit_deferred(&backend, opened, cfg, &s.signer, now_ms()).await?;
    if still_held.is_some() {
        // read-only request: release off the response path
        let backend = backend.clone();
        ctx.wait_until(async move { store::abandon(&backend, still_held).await });
    }
    if let Some(c) = cookies::for_action(&cfg.cookie, action, &cookie_path) {
        add_set_cookie(&out_headers, &c)?;
    }
    let out = match body {
        Passed::Socket(ws) => Response::from_websocket(ws).map_err(js)?,
        // the body stream is handed on, not read: the origin's body streams to the client
        Passed::Body(b) => Response::from_body(b).map_err(js)?.with_status(status),
    };
    Ok(out.with_headers(out_headers))
}

/// What the client gets from the origin besides headers.
enum Passed {
    /// A WebSocket upgrade's socket.
    Socket(worker::WebSocket),
    /// The body of any other response.
    Body(worker::ResponseBody),
}

/// Releases the lock in the background (it must outlive a failed response) and passes the
/// error on.
fn release_later(ctx: &Context, backend: &DoBackend, opened: Opened, e: Error) -> Error {
    let backend = backend.clone();
    let held = opened.held;
    ctx.wait_until(async move { store::abandon(&backend, held).await });
    e
}

async fn forward(
    req: &Request,
    url: &web_sys::Url,
    cookie_header: &str,
    s: &Settings,
    session: &Session,
) -> Result<Response, Error> {
    let names = &s.config.headers;
    let target = format!("{}{}{}", s.origin, url.pathname(), url.search());
    let headers = Headers::new();
    for (k, v) in req.headers().entries() {
        let lk = k.to_ascii_lowercase();
        if names.is_session_header(&k) || lk == "host" || lk == "cookie" || lk == "content-length" {
            continue;
        }
        headers.append(&k, &v).map_err(js)?;
    }
    if let Some(c) = cookies::strip_cookie(cookie_header, &s.config.cookie.name) {
        headers.set("cookie", &c).map_err(js)?;
    }
    headers
        .set("x-forwarded-host", &url.hostname())
        .map_err(js)?;
    headers.set(&names.id, session.id().as_str()).map_err(js)?;
    let data = protocol::encode_data(session.data());
    headers.set(&names.data, &data).map_err(js)?;
    let new = if session.is_new() { "1" } else { "" };
    if !new.is_empty() {
        headers.set(&names.new, new).map_err(js)?;
    }
    // The method goes on as the client spelled it (PROPFIND, MKCOL, QUERY, ...), with its
    // body: workers-rs's `Method` knows only the common verbs, so the request is built with
    // the runtime's own types.
    let raw = req.inner();
    let method = raw.method();
    let init = web_sys::RequestInit::new();
    init.set_method(&method);
    init.set_headers(headers.as_ref());
    init.set_redirect(web_sys::RequestRedirect::Manual);
    if !method.eq_ignore_ascii_case("GET") && !method.eq_ignore_ascii_case("HEAD") {
        if let Some(body) = raw.body() {
            init.set_body(&body);
        }
    }
    let signed = Handoff {
        method: &method,
        target: &format!("{}{}{}", s.origin_path, url.pathname(), url.search()),
        id: session.id().as_str(),
        data: &data,
        new,
    };
    let signature = s.handoff.sign(now_ms() / 1000, &signed);
    headers.set(&names.signature, &signature).map_err(js)?;
    let out = web_sys::Request::new_with_str_and_init(&target, &init)
        .map_err(|e| Error::Origin(format!("request not forwardable: {e:?}")))?;
    Fetch::Request(Request::from(out))
        .send()
        .await
        .map_err(|e| Error::Origin(e.to_string()))
}

/// Copies the origin's headers to `out`, minus session headers and session Set-Cookies, and
/// applies the origin's patch and action to the session. A malformed patch or action fails
/// the whole exchange before anything is written.
fn take_origin_changes(
    resp: &Response,
    s: &Settings,
    opened: &mut Opened,
    out: &mut Headers,
) -> Result<(), Error> {
    let names = &s.config.headers;
    let mut update = None;
    let mut action = None;
    let mut timeout = None;
    for (k, v) in resp.headers().entries() {
        let lk = k.to_ascii_lowercase();
        if names.is_session_header(&k) {
            if lk == names.update {
                update = Some(v);
            } else if lk == names.action {
                action = Some(v);
            } else if lk == names.timeout {
                timeout = Some(v);
            }
            continue;
        }
        if lk == "set-cookie" && cookies::sets_cookie_named(&v, &s.config.cookie.name) {
            super::log::emit(
                crate::engine::log::Level::Warn,
                "origin_cookie_dropped",
                "dropped an origin Set-Cookie for the session cookie",
            );
            continue;
        }
        out.append(&k, &v).map_err(js)?;
    }
    protocol::apply_origin(&mut opened.session, update.as_deref(), action.as_deref())?;
    match timeout {
        Some(t) => protocol::apply_timeout(&mut opened.session, &t),
        None => Ok(()),
    }
}
