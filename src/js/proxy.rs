//! `ProxyCore`: the proxy worker's rules for `js/proxy.js`. The JavaScript side passes the
//! request's parts and header blocks (`engine::proxy::block`) in, sends what comes back, and
//! decides nothing.

use std::rc::Rc;

use super::task::run;
use wasm_bindgen::prelude::*;

use super::host::{JsSweepStore, JsTransport};
use super::sessions::{ScopeCore, SessionsCore};
use super::{check_bindings, js_error, now_ms, read_settings};
use crate::engine::proxy::block::HeaderRefs;
use crate::engine::proxy::protocol::UserAction;
use crate::engine::proxy::{self, block, Incoming, ProxySettings};
use crate::engine::sweep::sweeper;
use crate::engine::Error;

/// The proxy's settings and sessions, parsed once per isolate.
#[wasm_bindgen]
pub struct ProxyCore {
    settings: Rc<ProxySettings>,
    sessions: SessionsCore,
}

fn headers_from(text: &str) -> Result<HeaderRefs<'_>, JsValue> {
    block::decode(text).map_err(js_error)
}

#[wasm_bindgen]
impl ProxyCore {
    /// Reads `ORIGIN`, `SESSION_SECRET`, `SESSION_ORIGIN_SECRET` and the `SESSION_*` vars of
    /// `env`; a bad or missing value throws an error naming it.
    #[wasm_bindgen(constructor)]
    pub fn new(env: JsValue, transport: JsTransport) -> Result<ProxyCore, JsValue> {
        let vars = read_settings(&env, &JsValue::UNDEFINED)?;
        let settings = ProxySettings::from_vars(|n| vars.get(n).cloned()).map_err(js_error)?;
        check_bindings(&env).map_err(js_error)?;
        let sessions = SessionsCore::new(env, JsValue::UNDEFINED, transport)?;
        Ok(ProxyCore {
            settings: Rc::new(settings),
            sessions,
        })
    }

    /// The request header that gives the cookie path, if configured.
    #[wasm_bindgen(getter, js_name = pathHeader)]
    pub fn path_header(&self) -> Option<String> {
        self.sessions.path_header()
    }

    /// Begins a request's session (verifies the cookie; no storage yet).
    pub fn start(&self, cookie: &str, path: &str, path_header: Option<String>) -> ScopeCore {
        self.sessions.start(cookie, path, path_header)
    }

    /// Loads (and locks, per `SESSION_LOCKING`) the session, then resolves to the origin
    /// request as a block of header edits whose first field is the URL: the client's session
    /// headers, Host and session cookie out, the signed hand-off in.
    pub fn forward(
        &self,
        scope: &ScopeCore,
        method: String,
        path: String,
        search: String,
        hostname: String,
        headers: String,
    ) -> JsValue {
        let settings = self.settings.clone();
        let cell = scope.cell();
        run(async move {
            let headers = headers_from(&headers)?;
            let req = Incoming {
                method: &method,
                path: &path,
                search: &search,
                hostname: &hostname,
                headers: &headers,
            };
            let out = ScopeCore::loaded_then(cell, |s| {
                Ok(proxy::forward(&settings, &req, s, now_ms() / 1000))
            })
            .await?;
            Ok(JsValue::from(block::encode_edits(&[&out.url], &out.edits)))
        })
    }

    /// Takes the origin's answer and commits, in one call: refuses a status that cannot be
    /// passed on, applies the session headers, saves, releases the lock (a read-only
    /// request's by disposing its lease's RPC stub), and, if the origin asked, destroys the
    /// user's other sessions (or all of them) before the response goes out. Resolves to the
    /// edits of the origin's headers for the client, the session's Set-Cookie included, as a
    /// block; a read completes at once, without a promise. Throws before anything is saved
    /// when the answer is unusable.
    pub fn respond(
        &self,
        scope: &ScopeCore,
        status: u16,
        has_socket: bool,
        headers: &str,
        ctx: JsValue,
    ) -> Result<JsValue, JsValue> {
        proxy::check_status(status, has_socket).map_err(js_error)?;
        let headers = headers_from(headers)?;
        let (out, after) = scope.with(|s| {
            let (out, after) = proxy::take_origin(&self.settings, s, headers)?;
            let uid = || s.user().map(str::to_owned).unwrap_or_default();
            Ok((out, after.map(|a| (a, uid(), s.id().clone()))))
        })?;
        let cell = scope.cell();
        let sessions = self.sessions.inner.clone();
        Ok(run(async move {
            let (set_cookie, _) = ScopeCore::finish_scope(cell, ctx).await?;
            if let Some((action, uid, id)) = after {
                let except = match action {
                    UserAction::DestroyAll => None,
                    UserAction::DestroyOthers => Some(&id),
                };
                sessions
                    .destroy_user(&uid, except)
                    .await
                    .map_err(js_error)?;
            }
            let out = proxy::client_headers(out, set_cookie);
            Ok(JsValue::from(block::encode_edits(&[], &out)))
        }))
    }

    /// One expiry sweep (the cron trigger). Never rejects: a failure is logged, and the
    /// cursor stays where the next run should resume.
    pub fn sweep(&self, store: JsSweepStore) -> JsValue {
        let s = self.sessions.inner.clone();
        run(async move {
            sweeper::run_logged(&store, s.backend(), s.config(), now_ms()).await;
            Ok(JsValue::UNDEFINED)
        })
    }
}

/// The opaque body and status for an error the JavaScript side caught that did not come from
/// the engine (a failed `fetch` to the origin): logged here, answered 502.
#[wasm_bindgen(js_name = originFailed)]
pub fn origin_failed(message: &str) -> JsValue {
    js_error(Error::Origin(message.to_owned()))
}
