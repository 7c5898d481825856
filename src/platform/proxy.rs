//! The proxy worker: sessions for any origin, handed over in request headers.
//!
//! Request: verify the cookie, open the session (taking the lock per `SESSION_LOCKING`), strip
//! client-supplied session headers and the session cookie, forward to `ORIGIN` with
//! `X-Session-Id`, `X-Session-Data` and `X-Session-New`. Response: take `X-Session-Update`
//! (a base64url merge patch) and `X-Session-Action` from the origin, never pass them on, drop
//! any origin Set-Cookie for the session cookie's name, commit, and stream the origin's body
//! back with our Set-Cookie. The lock is released on every path.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use worker::{
    Context, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response,
};

use super::do_backend::DoBackend;
use super::env_config::{self, Settings};
use super::{add_session_headers, cookie_header, cookie_path, error_response, now_ms};
use crate::engine::cookies;
use crate::engine::store::{self, Opened};
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

fn js_err(e: worker::Error) -> Error {
    Error::Backend(e.to_string())
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
    if let Err(e) = take_origin_changes(&origin_resp, s, &mut opened, &mut out_headers) {
        return Err(release_later(ctx, &backend, opened, e));
    }
    let cookie_path = cookie_path(&req, &cfg.cookie);
    let (action, still_held) =
        store::commit_deferred(&backend, opened, cfg, &s.signer, now_ms()).await?;
    if still_held.is_some() {
        // read-only request: release off the response path
        let backend = backend.clone();
        ctx.wait_until(async move { store::abandon(&backend, still_held).await });
    }
    let set_cookie = cookies::for_action(&cfg.cookie, action, &cookie_path);
    add_session_headers(&out_headers, set_cookie.as_deref())?;
    let status = origin_resp.status_code();
    // the body stream is handed on, not read: the origin's body streams to the client
    Ok(Response::from_body(origin_resp.body().clone())
        .map_err(js_err)?
        .with_status(status)
        .with_headers(out_headers))
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
        if lk.starts_with(&names.prefix) || lk == "host" || lk == "cookie" || lk == "content-length"
        {
            continue;
        }
        headers.append(&k, &v).map_err(js_err)?;
    }
    if let Some(c) = cookies::strip_cookie(cookie_header, &s.config.cookie.name) {
        headers.set("cookie", &c).map_err(js_err)?;
    }
    headers
        .set("x-forwarded-host", &url.hostname())
        .map_err(js_err)?;
    let data = serde_json::to_vec(session.data()).map_err(|e| Error::Backend(e.to_string()))?;
    headers
        .set(&names.id, session.id().as_str())
        .map_err(js_err)?;
    headers
        .set(&names.data, &URL_SAFE_NO_PAD.encode(data))
        .map_err(js_err)?;
    if session.is_new() {
        headers.set(&names.new, "1").map_err(js_err)?;
    }
    let method = req.method();
    let mut init = RequestInit::new();
    init.with_method(method.clone())
        .with_headers(headers)
        .with_redirect(RequestRedirect::Manual);
    if !matches!(method, Method::Get | Method::Head) {
        init.with_body(req.inner().body().map(Into::into));
    }
    let out = Request::new_with_init(&target, &init).map_err(js_err)?;
    Fetch::Request(out)
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
    for (k, v) in resp.headers().entries() {
        let lk = k.to_ascii_lowercase();
        if lk.starts_with(&names.prefix) {
            if lk == names.update {
                update = Some(v);
            } else if lk == names.action {
                action = Some(v);
            }
            continue;
        }
        if lk == "set-cookie" && cookies::sets_cookie_named(&v, &s.config.cookie.name) {
            worker::console_warn!("dropped an origin Set-Cookie for the session cookie");
            continue;
        }
        out.append(&k, &v).map_err(js_err)?;
    }
    let session = &mut opened.session;
    if let Some(u) = update {
        let bytes = URL_SAFE_NO_PAD.decode(u.trim()).map_err(|_| {
            Error::BadPatch("update header is not base64url without padding".into())
        })?;
        let patch: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::BadPatch(format!("update is not JSON: {e}")))?;
        session.apply_patch(&patch)?;
    }
    match action.as_deref().map(str::trim) {
        None | Some("") => {}
        Some("regenerate") => session.regenerate()?,
        Some("destroy") => session.destroy(),
        Some(_) => return Err(Error::BadPatch("unknown session action".into())),
    }
    Ok(())
}
