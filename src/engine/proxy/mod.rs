//! The proxy's rules: sessions for any origin, handed over in request headers.
//!
//! Request: the session headers a client sent and the session cookie are stripped, and the
//! request goes to `ORIGIN` with `X-Session-Id`, `X-Session-Data`, `X-Session-New` and the
//! signed `X-Session-Signature`. Response: `X-Session-Update` (a base64url merge patch),
//! `X-Session-Action` and `X-Session-Timeout` are taken from the origin and never passed on,
//! and an origin Set-Cookie for the session cookie's name is dropped. Headers come in as a
//! list of pairs and go back as [`HeaderEdits`] to the platform's own copy (one string each
//! way in the JavaScript layer, [`block`]), so the platform makes one call each way and
//! decides nothing.

pub mod block;
pub mod handoff;
pub mod headers;
pub mod origin;
pub mod protocol;

use crate::engine::log::{self, Level};
use crate::engine::proxy::handoff::{Handoff, HandoffSigner};
use crate::engine::proxy::origin::{origin_path, parse_origin};
use crate::engine::session::cookies;
use crate::engine::{Config, Error, LockingMode, Session, Signer};
use protocol::UserAction;

/// Header name/value pairs in order (a header may repeat).
pub type HeaderList = Vec<(String, String)>;

/// Everything the proxy needs, parsed and validated from the worker's vars and secrets.
pub struct ProxySettings {
    /// Session config.
    pub config: Config,
    /// Cookie signer built from `SESSION_SECRET`.
    pub signer: Signer,
    /// Base URL requests are forwarded to (`ORIGIN`), without a trailing slash.
    pub origin: String,
    /// `ORIGIN`'s path (`""` or `/base`), the start of every signed request target.
    pub origin_path: String,
    /// Signs the hand-off to the origin (`SESSION_ORIGIN_SECRET`, or derived).
    pub handoff: HandoffSigner,
}

impl ProxySettings {
    /// Reads the settings through `get` (a var or secret by name). Every error names its
    /// variable.
    pub fn from_vars(get: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let config = Config::from_vars(&get)?;
        if config.locking == LockingMode::Explicit {
            return Err(Error::Config(
                "SESSION_LOCKING=explicit needs handler code to acquire and release (the JS or Rust library); the proxy takes implicit, early or none".into(),
            ));
        }
        let secret = get("SESSION_SECRET").unwrap_or_default();
        let signer = Signer::from_list(&secret)?;
        let origin = parse_origin(get("ORIGIN").as_deref())?;
        let handoff =
            HandoffSigner::from_secrets(get("SESSION_ORIGIN_SECRET").as_deref(), &secret)?;
        Ok(ProxySettings {
            origin_path: origin_path(&origin).to_owned(),
            config,
            signer,
            origin,
            handoff,
        })
    }
}

/// The client's request as the platform sees it. Its headers are pairs of any string type:
/// the platform lends the ones of its header block, tests own theirs.
pub struct Incoming<'a, H: AsRef<str> = String> {
    /// The method as the client spelled it.
    pub method: &'a str,
    /// The URL's path.
    pub path: &'a str,
    /// The URL's query with its `?`, or `""`.
    pub search: &'a str,
    /// The URL's host name.
    pub hostname: &'a str,
    /// The request's headers.
    pub headers: &'a [(H, H)],
}

/// Changes to a header list, which the platform applies to its own copy of the headers (so
/// the headers it already holds are never rebuilt): every header named in `remove` goes
/// (names compare case-insensitively), then `append` is appended in order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct HeaderEdits {
    /// Names to delete, each once.
    pub remove: Vec<String>,
    /// Headers to add after the deletions.
    pub append: HeaderList,
}

impl HeaderEdits {
    fn remove_name(&mut self, name: &str) {
        if !self.remove.iter().any(|n| n.eq_ignore_ascii_case(name)) {
            self.remove.push(name.to_owned());
        }
    }

    /// `headers` with the edits applied, as the platform's `Headers` would hold them.
    pub fn applied_to(&self, headers: &[(String, String)]) -> HeaderList {
        let mut out: HeaderList = headers
            .iter()
            .filter(|(k, _)| !self.remove.iter().any(|n| n.eq_ignore_ascii_case(k)))
            .cloned()
            .collect();
        out.extend(self.append.iter().cloned());
        out
    }
}

/// The request to send to the origin.
#[derive(Debug)]
pub struct Outgoing {
    /// Full URL at the origin.
    pub url: String,
    /// What to change in the client's headers to get the origin's.
    pub edits: HeaderEdits,
}

/// Builds the origin request for `req` carrying `session`, signed at `now_s` (Unix seconds).
pub fn forward<H: AsRef<str>>(
    s: &ProxySettings,
    req: &Incoming<H>,
    session: &Session,
    now_s: u64,
) -> Outgoing {
    let names = &s.config.headers;
    let mut edits = HeaderEdits::default();
    let mut cookie_header = String::new();
    for (k, v) in req.headers {
        let (k, v) = (k.as_ref(), v.as_ref());
        if k.eq_ignore_ascii_case("cookie") {
            if !cookie_header.is_empty() {
                cookie_header.push_str("; ");
            }
            cookie_header.push_str(v);
            edits.remove_name(k);
        } else if names.is_session_header(k)
            || k.eq_ignore_ascii_case("host")
            || k.eq_ignore_ascii_case("content-length")
        {
            edits.remove_name(k);
        }
    }
    let headers = &mut edits.append;
    if let Some(c) = cookies::strip_cookie(&cookie_header, &s.config.cookie.name) {
        headers.push(("cookie".into(), c));
    }
    headers.push(("x-forwarded-host".into(), req.hostname.to_owned()));
    let data = protocol::encode_session_data(session);
    let new = if session.is_new() { "1" } else { "" };
    let signed = Handoff {
        method: req.method,
        target: &[s.origin_path.as_str(), req.path, req.search].concat(),
        id: session.id().as_str(),
        data: &data,
        new,
    };
    let signature = s.handoff.sign(now_s, &signed);
    headers.push((names.id.clone(), session.id().as_str().to_owned()));
    if !new.is_empty() {
        headers.push((names.new.clone(), new.into()));
    }
    headers.push((names.signature.clone(), signature));
    headers.push((names.data.clone(), data));
    Outgoing {
        url: [s.origin.as_str(), req.path, req.search].concat(),
        edits,
    }
}

/// What the origin's status allows: a 101 must carry a WebSocket (a Response cannot be built
/// with status 101 otherwise), 200-599 carry a body; the runtime rejects anything else, so it
/// is refused here, before anything is saved.
pub fn check_status(status: u16, has_socket: bool) -> Result<(), Error> {
    match status {
        101 if has_socket => Ok(()),
        101 => Err(Error::Origin("101 without a WebSocket".into())),
        200..=599 => Ok(()),
        _ => Err(Error::Origin(format!(
            "status {status} cannot be passed on"
        ))),
    }
}

/// Applies the origin's user binding, patch, action and timeout to `session` and returns the
/// edits that make the client's headers of the origin's (session headers and session
/// Set-Cookies out, `Vary: Cookie` in) and what to do to the user's other sessions after the
/// commit. Only the exact header names are applied: another spelling of a session header
/// (`X_Session_Update`) may be a client's header that the origin reflected back, so it is
/// stripped, never applied. A malformed patch or action fails the whole exchange before anything is
/// written.
pub fn take_origin<H: AsRef<str>>(
    s: &ProxySettings,
    session: &mut Session,
    headers: impl IntoIterator<Item = (H, H)>,
) -> Result<(HeaderEdits, Option<UserAction>), Error> {
    let names = &s.config.headers;
    let mut update = None;
    let mut action = None;
    let mut timeout = None;
    let mut user = None;
    let mut client = None;
    let mut edits = HeaderEdits::default();
    let mut kept_cookies = HeaderList::new();
    let mut dropped_cookie = false;
    for (k, v) in headers {
        let (k, v) = (k.as_ref(), v.as_ref());
        if names.is_session_header(k) {
            let lk = k.to_ascii_lowercase();
            if lk == names.update {
                update = Some(v.to_owned());
            } else if lk == names.action {
                action = Some(v.to_owned());
            } else if lk == names.timeout {
                timeout = Some(v.to_owned());
            } else if lk == names.user {
                user = Some(v.to_owned());
            } else if lk == names.client {
                client = Some(v.to_owned());
            }
            edits.remove_name(k);
        } else if k.eq_ignore_ascii_case("set-cookie") {
            if cookies::sets_cookie_named(v, &s.config.cookie.name) {
                let msg = "dropped an origin Set-Cookie for the session cookie";
                log::emit(Level::Warn, "origin_cookie_dropped", msg);
                dropped_cookie = true;
            } else {
                kept_cookies.push((k.to_owned(), v.to_owned()));
            }
        }
    }
    if dropped_cookie {
        // a Set-Cookie cannot be deleted alone: all go, and the others come back
        edits.remove_name("set-cookie");
        edits.append = kept_cookies;
    }
    if let Some(u) = &user {
        protocol::apply_user(session, u, client.as_deref())?;
    }
    let after = protocol::apply_origin(session, update.as_deref(), action.as_deref())?;
    if let Some(t) = timeout {
        protocol::apply_timeout(session, &t)?;
    }
    edits.append.push(("vary".into(), "Cookie".into()));
    Ok((edits, after))
}

/// The edits of the client's headers once the commit is done: `edits` from [`take_origin`],
/// plus the session's Set-Cookie when there is one, in which case the response must not be
/// cached (`Cache-Control: private, no-store` replaces the origin's).
pub fn client_headers(mut edits: HeaderEdits, set_cookie: Option<String>) -> HeaderEdits {
    if let Some(c) = set_cookie {
        edits.remove_name("cache-control");
        edits.append.push(("set-cookie".into(), c));
        edits
            .append
            .push(("cache-control".into(), "private, no-store".into()));
    }
    edits
}
